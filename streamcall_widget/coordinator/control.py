"""Call control: the coordinator's rules, with no I/O, behind one small facade.

:class:`CallControl` takes authenticated requests and the current time, dispatches each
through a handler registry (request type -> the function of its rule family) and returns
the reply's data; the events to deliver, the push notices to send and the store writes
to make pile up and are drained with :meth:`take_deliveries`, :meth:`take_notices` and
:meth:`take_writes` after each step (the websockets sans-I/O pattern). Timers (rings,
grace periods of dropped connections) fire from :meth:`tick`, which the server calls at
:meth:`next_deadline`. Membership and capabilities are checked on every call-scoped
request, so nothing of a call reaches a non-member. New ids come from an injected
:data:`~.ids.IdSource`, so tests are exact.

The families, one module each: :mod:`.calls` (create, update), :mod:`.ring` (ring,
accept, reject, timers), :mod:`.sessions` (join, leave, end), :mod:`.media` (signal,
publish), :mod:`.moderation` (members, permissions, pins), :mod:`.broadcast` (recording,
live, custom events), :mod:`.call_controls` (hold, DTMF), :mod:`.reads` (ping, get,
queries), :mod:`.resume` (connections and session resume), :mod:`.push_rules` (push
registrations and the notices rings send to offline users); shared state and helpers in
:mod:`.context`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.models import UserData, UserInput
from streamcall_widget.protocol.push import AnyNotice

from . import (
    broadcast,
    call_controls,
    calls,
    media,
    moderation,
    push_rules,
    reads,
    resume,
    ring,
    sessions,
)
from .context import Context, Delivery, Registry
from .ids import IdSource, random_ids
from .persist import restore, stored_call
from .state import ConnectionRecord
from .store import CallStore, SaveCall, StoreWrite

__all__ = ["HANDLERS", "CallControl", "Delivery"]

DEFAULT_SESSION_GRACE = 30.0


def _registry(*families: Registry) -> Registry:
    merged: Registry = {}
    for family in families:
        twice = merged.keys() & family.keys()
        if twice:
            raise RuntimeError(f"requests handled by two families: {sorted(map(str, twice))}")
        merged.update(family)
    return merged


HANDLERS: Registry = _registry(
    calls.HANDLERS,
    ring.HANDLERS,
    sessions.HANDLERS,
    media.HANDLERS,
    moderation.HANDLERS,
    broadcast.HANDLERS,
    call_controls.HANDLERS,
    reads.HANDLERS,
    resume.HANDLERS,
    push_rules.HANDLERS,
)
"""Every request but ``auth`` (the server's own) -> its handler."""


class CallControl:
    """The coordinator's state and rules for every app it serves."""

    def __init__(
        self,
        store: CallStore,
        *,
        now: float,
        ids: IdSource = random_ids,
        session_grace: float = DEFAULT_SESSION_GRACE,
        push_providers: frozenset[str] = frozenset(),
    ) -> None:
        """Restore what ``store`` kept (read here, once, before serving); writes go out
        through :meth:`take_writes`, never to ``store`` directly. ``push_providers`` are
        the provider names users may register for push with."""
        self._ctx = Context(ids, session_grace=session_grace, push_providers=push_providers)
        restore(
            self._ctx,
            store.load(),
            store.load_connections(),
            store.load_push_registrations(),
            now,
        )
        self._handlers: dict[type[rq.Request], Callable[[ConnectionRecord, Any, float], Any]] = {
            kind: functools.partial(handler, self._ctx) for kind, handler in HANDLERS.items()
        }

    @property
    def _connections(self) -> dict[str, ConnectionRecord]:
        """Live connections (tests look connections up by user)."""
        return self._ctx.connections

    def new_id(self) -> str:
        """A fresh connection id."""
        return self._ctx.ids("connection")

    # -- connections --------------------------------------------------------------------

    def connect(
        self,
        app: str,
        connection_id: str,
        user: UserInput,
        *,
        role: str,
        call_cids: Iterable[str] | None,
        now: float,
    ) -> tuple[UserData, str]:
        """Register an authenticated connection and upsert its user; returns the user and
        the connection's secret resume token (for the auth result only)."""
        return resume.connect(
            self._ctx, app, connection_id, user, role=role, call_cids=call_cids, now=now
        )

    def disconnect(self, connection_id: str, now: float) -> None:
        """The client closed on purpose: its sessions leave with reason ``disconnected``."""
        resume.disconnect(self._ctx, connection_id, now)

    def detach(self, connection_id: str, now: float) -> None:
        """The connection dropped: its sessions wait for a resume for the grace period."""
        resume.detach(self._ctx, connection_id, now)

    def connection_ids(self, app: str, user_id: str) -> set[str]:
        """Live connections of a user (empty if none)."""
        user = self._ctx.app(app).users.get(user_id)
        return user.connections if user is not None else set()

    @property
    def session_grace(self) -> float:
        """Seconds a dropped connection's sessions wait for ``session.resume``."""
        return self._ctx.session_grace

    # -- requests -----------------------------------------------------------------------

    def handle(self, connection_id: str, request: rq.Request, now: float) -> Any:
        """Apply one request of an authenticated connection; returns the reply's data.

        Raises a :class:`~streamcall_widget.errors.StreamCallError` (and changes nothing)
        when the request is not allowed or not valid now.
        """
        conn = self._ctx.connections[connection_id]
        handler = self._handlers.get(type(request))
        if handler is None:
            raise InvalidState(f"{type(request).__name__} is only valid as the first message")
        return handler(conn, request, now)

    # -- outputs ------------------------------------------------------------------------

    def take_deliveries(self) -> list[Delivery]:
        """Events produced since the last call, in order."""
        out, self._ctx.outbox = self._ctx.outbox, []
        return out

    def take_notices(self) -> list[AnyNotice]:
        """Push notices produced since the last call, in order."""
        out, self._ctx.notices = self._ctx.notices, []
        return out

    def take_writes(self) -> list[StoreWrite]:
        """Store writes due since the last call, in order: connection records first, then
        each changed call once, however many times it changed."""
        ctx = self._ctx
        writes = ctx.writes
        writes.extend(SaveCall(call.app, stored_call(ctx, call)) for call in ctx.dirty.values())
        ctx.writes, ctx.dirty = [], {}
        return writes

    def take_superseded(self) -> list[str]:
        """Live connections whose sessions a resume took over: close them."""
        out, self._ctx.superseded = self._ctx.superseded, []
        return out

    # -- timers -------------------------------------------------------------------------

    def timers_changed(self) -> bool:
        """Whether a ring or a grace period started or ended since the last call."""
        changed, self._ctx.timers_changed = self._ctx.timers_changed, False
        return changed

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has timers to fire."""
        deadlines = (ring.next_ring_deadline(self._ctx), resume.next_expiry(self._ctx))
        due = [d for d in deadlines if d is not None]
        return min(due, default=None)

    def tick(self, now: float) -> None:
        """Fire the ring timers and end the grace periods due at ``now``."""
        ring.tick_rings(self._ctx, now)
        resume.expire(self._ctx, now)
