"""The permission requests a host's view shows: "Bob asks to speak", with Grant and Deny.

:class:`PendingRequests` is fed by the client's ``permissionRequest`` listener (its own
thread) and read by the view's ``refresh`` (the refresher thread), so it locks. It keeps
one call's open requests, one per user (a new request of the same user replaces the
older); a request closes when the host answers it in this view or when the user's
permissions change (``permissionsUpdated``: someone answered it, here or elsewhere).
There is no "denied" on the wire (as in Stream): Deny only closes the request here.
"""

from __future__ import annotations

import threading
from typing import Any

from streamcall_widget.engine.permissions import PermissionRequestEvent, PermissionsUpdatedEvent

__all__ = ["PendingRequests"]


class PendingRequests:
    """One call's open permission requests, as the ``call`` trait's ``permission_requests``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cid: str | None = None
        self._open: dict[str, PermissionRequestEvent] = {}

    def add(self, request: PermissionRequestEvent) -> None:
        """Keep ``request``; another call's request starts the list afresh."""
        with self._lock:
            if request.cid != self._cid:
                self._cid, self._open = request.cid, {}
            self._open.pop(request.user_id, None)
            self._open[request.user_id] = request

    def settled(self, update: PermissionsUpdatedEvent) -> None:
        """``update.user_id``'s permissions changed: their request was answered."""
        with self._lock:
            if update.cid == self._cid:
                self._open.pop(update.user_id, None)

    def close(self, user_id: str) -> None:
        """The host answered ``user_id``'s request in this view."""
        with self._lock:
            self._open.pop(user_id, None)

    def follow(self, cid: str | None) -> None:
        """The view shows call ``cid`` (None: none): another call's requests are dropped."""
        with self._lock:
            if cid != self._cid:
                self._cid, self._open = cid, {}

    def snapshot(self) -> list[dict[str, Any]]:
        """The open requests, oldest first: ``{user_id, name, permissions}``."""
        with self._lock:
            return [
                {"user_id": r.user_id, "name": r.name, "permissions": list(r.permissions)}
                for r in self._open.values()
            ]
