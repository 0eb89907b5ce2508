"""The state every rule family shares, and the lookups and outputs they all use.

:class:`Context` is the coordinator's whole state (apps with their users and calls, live
and dropped connections, rings under way) plus its outputs (events to deliver, push
notices to send, store writes to make). The rule families (:mod:`.calls`, :mod:`.ring`,
:mod:`.sessions`, :mod:`.media`, :mod:`.moderation`, :mod:`.broadcast`,
:mod:`.call_controls`, :mod:`.reads`, :mod:`.resume`, :mod:`.push_rules`) are plain
functions over a Context; no function here or there does I/O or reads a clock: the time
comes in as ``now`` and new ids come from the injected :data:`~.ids.IdSource`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamcall_widget.errors import DoesNotExist, NotAllowed
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability, Role
from streamcall_widget.protocol.models import CallResponse, iso
from streamcall_widget.protocol.push import AnyNotice

from .ids import IdSource
from .state import CallRecord, ConnectionRecord, UserRecord
from .store import StoreWrite

__all__ = [
    "App",
    "Context",
    "Delivery",
    "Detached",
    "Handler",
    "Registry",
    "global_role",
    "require",
]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one user of one app: all their connections, or just ``connection_id``."""

    app: str
    user_id: str
    event: ev.Event
    connection_id: str | None = None


class App:
    """Users and calls of one API key; apps never see each other."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.calls: dict[str, CallRecord] = {}


@dataclass
class Detached:
    """A connection that dropped while holding call sessions: they wait for a resume."""

    connection: ConnectionRecord
    """The dropped connection, its ``sessions`` still naming the calls it had joined."""
    expires_at: float
    """When its sessions leave for good (reason ``disconnected``)."""
    pending: list[Delivery] = field(default_factory=list)
    """Signals addressed to its sessions meanwhile, delivered on resume."""


Handler = Callable[["Context", ConnectionRecord, Any, float], Any]
"""handler(ctx, connection, request, now) -> the reply's data (a Struct, or None)."""

Registry = dict[type[rq.Request], Handler]
"""Request type -> the handler of its rule family."""


class Context:
    """Everything the rules read and change, and what they produce for the server."""

    def __init__(
        self, ids: IdSource, *, session_grace: float, push_providers: frozenset[str] = frozenset()
    ) -> None:
        self.ids = ids
        """Where new connection, session and call-session ids and resume tokens come from."""
        self.session_grace = session_grace
        """Seconds a dropped connection's sessions wait for ``session.resume``."""
        self.apps: dict[str, App] = {}
        self.connections: dict[str, ConnectionRecord] = {}
        """Live (authenticated, open) connections by id."""
        self.detached: dict[str, Detached] = {}
        """Dropped connections whose sessions wait for a resume, by connection id."""
        self.ringing: set[tuple[str, str]] = set()
        """(app, cid) of every call with a ring under way (its timers are live)."""
        self.timers_changed = False
        """A ring or a grace period started or ended: the next deadline moved."""
        self.push_providers = push_providers
        """Names of the push providers this coordinator sends notices to."""
        self.outbox: list[Delivery] = []
        self.notices: list[AnyNotice] = []
        """Push notices to send (to the providers' webhooks, by the server)."""
        self.dirty: dict[tuple[str, str], CallRecord] = {}
        """Calls changed since the last store write, written once each."""
        self.writes: list[StoreWrite] = []
        """Connection records to store or forget (calls are written from ``dirty``)."""
        self.superseded: list[str] = []
        """Live connections whose sessions a resume took: the server closes them."""

    # -- lookups ------------------------------------------------------------------------

    def app(self, key: str) -> App:
        """The app of this API key, created empty on first use."""
        app = self.apps.get(key)
        if app is None:
            app = self.apps[key] = App()
        return app

    def users(self, call: CallRecord) -> dict[str, UserRecord]:
        """The users of the call's app."""
        return self.apps[call.app].users

    def ensure_user(self, app: App, user_id: str, now: float) -> UserRecord:
        """The user, created bare if this app has never seen them (e.g. added as a member)."""
        user = app.users.get(user_id)
        if user is None:
            user = app.users[user_id] = UserRecord(id=user_id, created_at=now, updated_at=now)
        return user

    def visible_call(self, conn: ConnectionRecord, cid: str) -> CallRecord:
        """The call if ``conn`` may see it at all; the same error whether absent or hidden."""
        call = self.app(conn.app).calls.get(cid)
        hidden = conn.call_cids is not None and cid not in conn.call_cids
        if (
            call is None
            or hidden
            or (
                conn.user_id not in call.members
                and not call.capabilities(conn) & {Capability.READ_CALL, Capability.JOIN_CALL}
            )
        ):
            raise DoesNotExist(f"no call {cid!r} that {conn.user_id} can see")
        return call

    def call(self, conn: ConnectionRecord, cid: str, capability: Capability) -> CallRecord:
        """The visible call, if ``conn`` has ``capability`` in it (else NOT_ALLOWED)."""
        call = self.visible_call(conn, cid)
        require(call, conn, capability)
        return call

    def in_other_call(self, app: str, user_id: str, cid: str) -> bool:
        """Whether the user holds a session (live or waiting for a resume) in another call."""
        user = self.apps[app].users[user_id]
        held = [self.connections[c] for c in user.connections]
        held += [
            d.connection
            for d in self.detached.values()
            if d.connection.app == app and d.connection.user_id == user_id
        ]
        return any(other != cid for conn in held for other in conn.sessions)

    def response(
        self,
        call: CallRecord,
        conn: ConnectionRecord,
        *,
        created: bool = False,
        session_id: str | None = None,
    ) -> CallResponse:
        """The call as ``conn``'s user sees it: the reply of most call requests."""
        users = self.users(call)
        return CallResponse(
            call=call.to_data(users),
            members=call.members_data(users),
            own_capabilities=sorted(call.capabilities(conn)),
            created=created,
            session_id=session_id,
        )

    # -- outputs ------------------------------------------------------------------------

    def deliver(self, delivery: Delivery) -> None:
        """Queue one delivery."""
        self.outbox.append(delivery)

    def emit_to_members(self, call: CallRecord, event: ev.Event) -> None:
        """Queue ``event`` for every member of the call (every connection of each)."""
        self.outbox.extend(Delivery(call.app, user_id, event) for user_id in call.members)

    def save(self, call: CallRecord) -> None:
        """Mark the call for the next store write."""
        self.dirty[call.app, call.cid] = call

    def updated(self, call: CallRecord, now: float, *, announce: bool = True) -> None:
        """The call's durable fields changed: stamp, store and (unless told not to) say so."""
        call.updated_at = now
        if announce:
            self.emit_to_members(
                call,
                ev.CallUpdated(
                    cid=call.cid, created_at=iso(now), call=call.to_data(self.users(call))
                ),
            )
        self.save(call)


def require(call: CallRecord, conn: ConnectionRecord, capability: Capability) -> None:
    """NOT_ALLOWED unless ``conn``'s user has ``capability`` in the call."""
    if capability not in call.capabilities(conn):
        raise NotAllowed(f"{conn.user_id} lacks the {capability} capability in {call.cid}")


def global_role(conn: ConnectionRecord) -> Role:
    """The connection's role outside any call: ``admin`` or ``user``."""
    return Role.ADMIN if conn.role == Role.ADMIN else Role.USER
