"""What the three widgets share: the client, strings, errors and page requests.

A widget is traits and wiring. The page sends requests (``{kind, id, ...}``); the widget
maps each kind to one engine call and answers with exactly one ``reply``. Engine state comes
back through ``refresh()``, which the refresher thread calls on engine events and 10 times a
second, so the page shows the engine's state, never a guess of its own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

import anywidget
import traitlets

from streamcall_widget.engine.client import StreamCall
from streamcall_widget.engine.listeners import ListenerHandle
from streamcall_widget.engine.results import ErrorReport
from streamcall_widget.errors import InputError, StreamCallError

from .assets import load_css
from .refresher import refresher
from .strings import strings_for

__all__ = ["EngineWidget", "error_snapshot", "shows_errors"]

logger = logging.getLogger(__name__)

Handler = Callable[[Any, dict[str, Any]], "Future[Any] | None"]

Params = ParamSpec("Params")
Result = TypeVar("Result")
Widget = TypeVar("Widget", bound="EngineWidget")


def error_snapshot(error: BaseException) -> dict[str, Any]:
    """The ``error`` trait (and a failed reply's ``error``) for an exception."""
    if isinstance(error, StreamCallError):
        return {"code": error.code, "name": error.name, "message": error.reason}
    return {"code": -1, "name": type(error).__name__, "message": str(error)}


def shows_errors(
    method: Callable[Concatenate[Widget, Params], Result],
) -> Callable[Concatenate[Widget, Params], Result]:
    """Make a widget method's failure show on the page too, not only as a traceback.

    Called from Python (``view.toggle_screen_share()`` in a cell), the method's error (raised
    at once, or the engine future's when it fails later) also goes to the ``error`` trait,
    which every view of the widget shows on its error line.
    """

    @functools.wraps(method)
    def shown(widget: Widget, /, *args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            result = method(widget, *args, **kwargs)
        except Exception as exc:
            widget.error = error_snapshot(exc)
            raise
        if isinstance(result, Future):
            result.add_done_callback(widget.show_failure)
        return result

    return shown


class EngineWidget(anywidget.AnyWidget):
    """A widget showing one StreamCall's state and forwarding the page's requests."""

    _css = load_css()

    language = traitlets.Unicode("en").tag(sync=True)
    """The language of the widget's words (``en``, ``fr``, or one given in ``strings``)."""
    _strings = traitlets.Dict().tag(sync=True)
    error = traitlets.Dict().tag(sync=True)
    """The last error: ``{code, name, message}``; ``{}`` when none."""

    requests: ClassVar[dict[str, Handler]] = {}
    """Page request kind → handler returning the engine's future (or None when done)."""

    def __init__(
        self,
        client: StreamCall | None = None,
        *,
        language: str = "en",
        strings: Mapping[str, Mapping[str, str]] | None = None,
        **traits: Any,
    ) -> None:
        self.client = client if client is not None else StreamCall()
        self._string_overrides = dict(strings or {})
        super().__init__(
            language=language, _strings=strings_for(language, self._string_overrides), **traits
        )
        self.on_msg(self._on_page_message)
        self._listeners: list[ListenerHandle] = [
            self.client.add_listener("callEvent", self._on_engine_event),
            self.client.add_listener("incomingCall", self._on_engine_event),
            self.client.add_listener("error", self._on_engine_error),
        ]
        refresher.add(self)

    @traitlets.validate("language")
    def _check_language(self, proposal: dict[str, Any]) -> str:
        language = proposal["value"]
        self._strings = strings_for(language, self._string_overrides)  # raises if unknown
        return str(language)

    def refresh(self) -> None:
        """Copy the engine's state into the traits (the refresher thread calls this)."""

    def _on_engine_event(self, _payload: object) -> None:
        refresher.wake()

    def _on_engine_error(self, report: ErrorReport) -> None:
        self.error = error_snapshot(report.error)

    def show_failure(self, done: Future[Any]) -> None:
        """Show a finished engine future's error on the page (nothing when it succeeded)."""
        error = None if done.cancelled() else done.exception()
        if error is not None:
            self.error = error_snapshot(error)

    # -- page requests -------------------------------------------------------------------

    def _on_page_message(self, _widget: object, content: Any, buffers: list[bytes]) -> None:
        if not isinstance(content, dict) or self.receive(content, buffers):
            return
        request_id = content.get("id")
        kind = content.get("kind")
        handler = self.requests.get(kind) if isinstance(kind, str) else None
        if handler is None:
            allowed = ", ".join(sorted(self.requests))
            self._fail(request_id, InputError(f"unknown request {kind!r}; allowed: {allowed}"))
            return
        try:
            pending = handler(self, content)
        except Exception as exc:  # bad input raised before reaching the engine
            self._fail(request_id, exc)
            return
        if pending is None:
            self._succeed(request_id)
        else:
            pending.add_done_callback(lambda done: self._settle(request_id, done))

    def receive(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """Handle a message that is not a request (media flow); True when consumed."""
        return False

    def _settle(self, request_id: object, done: Future[Any]) -> None:
        error = done.exception()
        if error is None:
            self._succeed(request_id)
        else:
            self._fail(request_id, error)
        refresher.wake()

    def _succeed(self, request_id: object) -> None:
        self.error = {}
        self.send({"kind": "reply", "id": request_id, "ok": True})

    def _fail(self, request_id: object, error: BaseException) -> None:
        logger.info("request %s failed: %s", request_id, error)
        self.error = error_snapshot(error)
        self.send({"kind": "reply", "id": request_id, "ok": False, "error": self.error})

    def close(self) -> None:
        """Stop showing the engine (the StreamCall itself stays open)."""
        refresher.discard(self)
        for handle in self._listeners:
            handle.remove()
        self._listeners = []
        super().close()
