"""A recorded comm for widget tests: what a widget sends, and page messages fed to it.

ipywidgets opens each widget's comm through ``comm.create_comm``; the ``page`` fixture
replaces it with :class:`RecordingComm`, which keeps every message the widget publishes
(state updates and custom messages with their buffers) and lets a test deliver a custom
message as the page would, through the same handler path ipywidgets uses. At the end the
fixture checks that none of our widgets was left open (a leak-checking comm, as anywidget's
tests do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from .engine_helpers import wait_for

__all__ = ["Page", "RecordingComm", "Sent"]


@dataclass(frozen=True)
class Sent:
    """One message a widget published."""

    msg_type: str
    data: dict[str, Any]
    buffers: list[bytes]

    @property
    def custom(self) -> dict[str, Any] | None:
        """The content of a custom message, None for state updates."""
        if self.data.get("method") == "custom":
            content: dict[str, Any] = self.data["content"]
            return content
        return None


class RecordingComm(BaseComm):
    """A comm that records what is published instead of sending it to a kernel client."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        state = (kwargs.get("data") or {}).get("state", {})
        self.model = str(state.get("_anywidget_id") or state.get("_model_name", ""))
        """Which widget this comm is for (``module.Class`` for our anywidgets)."""
        super().__init__(**kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        """Record the message (any thread: media is sent from the frame thread)."""
        with self._lock:
            self.sent.append(Sent(msg_type, dict(data or {}), [bytes(b) for b in buffers or []]))

    def customs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Custom messages sent so far (of ``kind``)."""
        with self._lock:
            sent = list(self.sent)
        found = [s.custom for s in sent if s.custom is not None]
        return [c for c in found if kind is None or c.get("kind") == kind]

    def messages(self, kind: str) -> list[Sent]:
        """Custom messages of ``kind`` with their buffers."""
        with self._lock:
            sent = list(self.sent)
        return [s for s in sent if s.custom is not None and s.custom.get("kind") == kind]


class Page:
    """The page's side of the widgets made during one test."""

    def __init__(self) -> None:
        self.comms: list[RecordingComm] = []
        self._ids = 0

    def create_comm(self, **kwargs: Any) -> RecordingComm:
        """Stands in for ``comm.create_comm``."""
        made = RecordingComm(**kwargs)
        self.comms.append(made)
        return made

    @staticmethod
    def comm_of(widget: Any) -> RecordingComm:
        """The recording comm of ``widget``."""
        assert isinstance(widget.comm, RecordingComm)
        return widget.comm

    def send(self, widget: Any, content: dict[str, Any], buffers: list[bytes] = ()) -> None:  # type: ignore[assignment]
        """Deliver a custom message from the page to ``widget``."""
        self.comm_of(widget).handle_msg(
            {
                "content": {"data": {"method": "custom", "content": content}},
                "buffers": list(buffers),
            }
        )

    def request(self, widget: Any, kind: str, **fields: Any) -> dict[str, Any]:
        """Send request ``kind`` as the page does and wait for its reply."""
        self._ids += 1
        request_id = f"r{self._ids}"
        self.send(widget, {"kind": kind, "id": request_id, **fields})
        return wait_for(
            lambda: next(
                (r for r in self.comm_of(widget).customs("reply") if r["id"] == request_id),
                None,
            ),
            f"the reply to {kind}",
        )

    def set_trait(self, widget: Any, name: str, value: Any) -> None:
        """Change a synced trait as the page does (an ``update`` from the front end)."""
        self.comm_of(widget).handle_msg(
            {"content": {"data": {"method": "update", "state": {name: value}}}, "buffers": []}
        )


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    """Widgets made in the test talk to a recorded page; none may be left open."""
    recorded = Page()
    create: Callable[..., BaseComm] = recorded.create_comm
    monkeypatch.setattr(comm, "create_comm", create)
    yield recorded
    ours = [c for c in recorded.comms if c.model.startswith("streamcall_widget.")]
    still_open = [c.model for c in ours if not c._closed]
    assert not still_open, f"widgets left open: {still_open}"
