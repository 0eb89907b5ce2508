"""The dialer of CallView's idle screen: who is online, the call history, ``dial``.

:class:`DialerWidget` is the base CallView builds on: it keeps ``_online_users`` and
``_call_history`` filled from the engine (``online_users()``, ``call_history()``) and
answers the page's ``dial`` (ring one or several users, audio or video). The lists are
reloaded on login, when a call of the user is over (so a missed call appears at once) and
every few seconds while the page says the dialer is on screen (``_dialer_shown``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, ClassVar

import traitlets

from streamcall_widget.engine.call import Call
from streamcall_widget.engine.presence import PastCall, User
from streamcall_widget.errors import InvalidArguments, InvalidState
from streamcall_widget.protocol.lifecycle import CallEvent, CallState

from .base import EngineWidget, Handler
from .refresher import refresher

__all__ = ["HISTORY_SIZE", "RELOAD_PERIOD", "DialerWidget", "dial_arguments"]

logger = logging.getLogger(__name__)

HISTORY_SIZE = 20
"""How many past calls the dialer lists."""
RELOAD_PERIOD = 5.0
"""Seconds between two reloads of the lists while the dialer is on screen."""


def dial_arguments(message: dict[str, Any], me: str | None) -> tuple[list[str], bool]:
    """The callees and the video flag of a ``dial`` request, checked: at least one user id,
    not yourself, ``video`` a boolean, and logged in."""
    if me is None:
        raise InvalidState("log in before calling anyone")
    user_ids = message.get("user_ids")
    if (
        not isinstance(user_ids, list)
        or not user_ids
        or not all(isinstance(u, str) and u.strip() for u in user_ids)
    ):
        raise InvalidArguments(
            f"dial needs user_ids: a non-empty list of user ids to call, not {user_ids!r}"
        )
    video = message.get("video", True)
    if not isinstance(video, bool):
        raise InvalidArguments(f"dial's video must be true or false, not {video!r}")
    callees = list(dict.fromkeys(u.strip() for u in user_ids))
    if me in callees:
        raise InvalidArguments(f"you ({me}) cannot call yourself; pick someone else")
    return callees, video


def _user_row(user: User) -> dict[str, Any]:
    return {"user_id": user.user_id, "name": user.name or user.user_id, "image": user.image or ""}


def _history_row(past: PastCall) -> dict[str, Any]:
    return {
        "call_id": past.call_id,
        "others": [{"user_id": m.user_id, "name": m.name or m.user_id} for m in past.others],
        "direction": past.direction.value,
        "at": past.at,
        "video": past.video,
        "duration": past.duration,
    }


def _dial(view: DialerWidget, message: dict[str, Any]) -> Future[Call]:
    user = view.client.user
    callees, video = dial_arguments(message, user.id if user is not None else None)
    return view.client.call(callees, video=video)


class DialerWidget(EngineWidget):
    """An EngineWidget with the dialer's lists and requests (CallView's base)."""

    _dialer_shown = traitlets.Bool(False).tag(sync=True)
    """Set by the page: a view shows the dialer now (the lists are then reloaded every
    :data:`RELOAD_PERIOD` seconds)."""
    _dialer_user = traitlets.Unicode("").tag(sync=True)
    """The logged-in user's id (``""`` when logged out: the dialer says to log in)."""
    _online_users = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The other users online: ``{user_id, name, image}``, by user id."""
    _call_history = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Past calls, most recent first: ``{call_id, others: [{user_id, name}], direction
    (placed, received, missed), at (POSIX seconds), video, duration (seconds or null)}``."""

    requests: ClassVar[dict[str, Handler]] = {"dial": _dial}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loading = threading.Lock()
        self._again = False
        """A reload was asked while one ran: run another when it ends."""
        self._seen_user = ""
        self._loaded_at = 0.0
        """time.monotonic() of the last reload."""
        super().__init__(*args, **kwargs)
        self._listeners.append(self.client.add_listener("callEvent", self._on_call_event))
        self._watch = _DialerWatch(self)
        refresher.add(self._watch)

    def reload_dialer(self) -> None:
        """Fetch the online users and the call history again (once more after the fetch
        under way, if one is)."""
        user = self.client.user
        self._dialer_user = user.id if user is not None else ""
        if user is None:
            self._online_users, self._call_history = [], []
            return
        self._loaded_at = time.monotonic()
        if not self._loading.acquire(blocking=False):
            self._again = True
            return
        self._again = False
        online = self.client.online_users()
        history = self.client.call_history(HISTORY_SIZE)
        online.add_done_callback(
            lambda _online: history.add_done_callback(lambda _: self._loaded(online, history))
        )

    def _loaded(self, online: Future[list[User]], history: Future[list[PastCall]]) -> None:
        try:
            self._online_users = [_user_row(u) for u in online.result()]
            self._call_history = [_history_row(p) for p in history.result()]
        except Exception as exc:  # logged out meanwhile, connection lost: keep the lists
            logger.info("dialer lists not refreshed: %s", exc)
        finally:
            self._loading.release()
        if self._again:
            self.reload_dialer()

    def _on_call_event(self, event: CallEvent) -> None:
        """A call of this user is over: it belongs in the history now."""
        user = self.client.user
        if event.state is CallState.LEFT and user is not None and event.user_id == user.id:
            self.reload_dialer()

    def check_transitions(self) -> None:
        """Reload on login, logout or a change of user, and periodically while shown."""
        user = self.client.user
        now = user.id if user is not None else ""
        if now != self._seen_user:
            self._seen_user = now
            self.reload_dialer()
        elif self._dialer_shown and time.monotonic() - self._loaded_at >= RELOAD_PERIOD:
            self.reload_dialer()

    def close(self) -> None:
        """Stop watching for logins, then close the widget (its listeners go with it)."""
        refresher.discard(self._watch)
        super().close()


class _DialerWatch:
    """What the refresher thread polls for the dialer: logins and the reload period (kept
    apart from the widget's own ``refresh()``, which shows the call)."""

    def __init__(self, view: DialerWidget) -> None:
        self._view = view

    def refresh(self) -> None:
        self._view.check_transitions()
