"""The chat of the call a view shows: the last messages and how many are unread.

:class:`ChatLog` is fed by the client's ``message`` listener (its own thread) and read by
the view's ``refresh`` (the refresher thread), so it locks; it keeps one call's chat and
starts empty when a message of another call arrives or the view shows another call.
"""

from __future__ import annotations

import threading
from typing import Any

from streamcall_widget.engine.messaging import CallMessage

__all__ = ["CHAT_LENGTH", "ChatLog"]

CHAT_LENGTH = 200
"""Messages a view keeps (the oldest go first)."""


class ChatLog:
    """One call's last :data:`CHAT_LENGTH` messages as the ``chat`` trait's dicts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cid: str | None = None
        self._messages: list[dict[str, Any]] = []
        self._unread = 0

    def add(self, message: CallMessage) -> None:
        """Keep ``message``; another call's message starts a new chat. A message of one's
        own is never unread."""
        with self._lock:
            if message.cid != self._cid:
                self._start(message.cid)
            self._messages = [*self._messages[-(CHAT_LENGTH - 1) :], _snapshot(message)]
            self._unread = 0 if message.own else self._unread + 1

    def follow(self, cid: str | None) -> None:
        """The view shows call ``cid`` (None: none): a chat of another call is dropped."""
        with self._lock:
            if cid != self._cid:
                self._start(cid)

    def read(self) -> None:
        """The person saw the chat: nothing is unread."""
        with self._lock:
            self._unread = 0

    def snapshot(self) -> tuple[list[dict[str, Any]], int]:
        """The messages, oldest first, and the unread count."""
        with self._lock:
            return list(self._messages), self._unread

    def _start(self, cid: str | None) -> None:
        self._cid, self._messages, self._unread = cid, [], 0


def _snapshot(message: CallMessage) -> dict[str, Any]:
    return {
        "user_id": message.user_id,
        "name": message.name,
        "text": message.text,
        "sent_at": message.sent_at,
        "own": message.own,
    }
