"""Connections coming and going, and sessions that survive a dropped socket.

A connection that closes on purpose (the client's close frame, 1000 or 1001) is gone: its
sessions leave at once with reason ``disconnected``. A connection that drops (no close
frame, a server-side close, a coordinator restart) is *detached* instead: its sessions stay
in their calls, unchanged, for ``session_grace`` seconds. Within that time a new connection
of the same user sends ``session.resume`` with the old connection id and its secret resume
token, and takes the sessions back; nobody else sees a leave or a join. After it, they
leave for good (``disconnected``), which ends a one-to-one call.

Resume tokens: 256 random bits from the injected id source, handed out once in the auth
result, kept only as a SHA-256 digest and compared in constant time; each connection has its
own, so a token is spent by the resume that uses it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from streamcall_widget.errors import InvalidState, NotAllowed, SessionNotFound
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.models import UserData, UserInput
from streamcall_widget.protocol.replies import ResumedSession, ResumeResult

from .context import Context, Delivery, Detached, Registry
from .participants import depart
from .ring import ring_late_arrival
from .state import ConnectionRecord, UserRecord
from .store import DeleteConnection, SaveConnection, StoredConnection

__all__ = [
    "HANDLERS",
    "connect",
    "detach",
    "digest",
    "disconnect",
    "expire",
    "next_expiry",
    "stored_connection",
]


def digest(token: str) -> str:
    """What is kept of a resume token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def stored_connection(conn: ConnectionRecord) -> StoredConnection:
    """The store's record of a connection (no sessions: calls keep who holds which)."""
    return StoredConnection(
        id=conn.id,
        app=conn.app,
        user_id=conn.user_id,
        role=conn.role,
        call_cids=sorted(conn.call_cids) if conn.call_cids is not None else None,
        resume_digest=conn.resume_digest,
    )


def connect(
    ctx: Context,
    app: str,
    connection_id: str,
    user: UserInput,
    *,
    role: str,
    call_cids: Iterable[str] | None,
    now: float,
) -> tuple[UserData, str]:
    """Register an authenticated connection and upsert its user; returns the user and the
    connection's resume token (to hand to the client, never to keep)."""
    users = ctx.app(app).users
    record = users.get(user.id)
    if record is None:
        record = users[user.id] = UserRecord(id=user.id, created_at=now, updated_at=now)
    record.name, record.image, record.custom = user.name, user.image, user.custom
    record.role, record.updated_at = role, now
    record.connections.add(connection_id)
    token = ctx.ids("resume_token")
    conn = ConnectionRecord(
        id=connection_id,
        app=app,
        user_id=user.id,
        role=role,
        call_cids=frozenset(call_cids) if call_cids is not None else None,
        resume_digest=digest(token),
    )
    ctx.connections[connection_id] = conn
    ctx.writes.append(SaveConnection(stored_connection(conn)))
    ring_late_arrival(ctx, app, user.id, connection_id, now)
    return record.to_data(), token


def disconnect(ctx: Context, connection_id: str, now: float) -> None:
    """A connection closed for good: its sessions leave now (``disconnected``)."""
    conn = _close(ctx, connection_id)
    if conn is not None:
        _leave_all(ctx, conn, now)


def detach(ctx: Context, connection_id: str, now: float) -> None:
    """A connection dropped: its sessions wait ``session_grace`` seconds for a resume."""
    conn = _close(ctx, connection_id)
    if conn is None:
        return
    if not conn.sessions or not conn.resume_digest or ctx.session_grace <= 0:
        _leave_all(ctx, conn, now)
        return
    ctx.detached[conn.id] = Detached(conn, now + ctx.session_grace)
    ctx.timers_changed = True


def _close(ctx: Context, connection_id: str) -> ConnectionRecord | None:
    conn = ctx.connections.pop(connection_id, None)
    if conn is not None:
        ctx.apps[conn.app].users[conn.user_id].connections.discard(connection_id)
    return conn


def _leave_all(ctx: Context, conn: ConnectionRecord, now: float) -> None:
    calls = ctx.apps[conn.app].calls
    for cid, session_id in list(conn.sessions.items()):
        call = calls.get(cid)
        if call is not None and session_id in call.participants:
            depart(ctx, call, session_id, "disconnected", now)
    conn.sessions.clear()
    ctx.writes.append(DeleteConnection(conn.id))


def resume(ctx: Context, conn: ConnectionRecord, req: rq.ResumeSession, now: float) -> ResumeResult:
    """``session.resume``: take a dropped (or replaced) connection's sessions back."""
    if conn.sessions:
        raise InvalidState("resume first: this connection has already joined a call")
    held = ctx.detached.get(req.connection_id)
    old = held.connection if held is not None else ctx.connections.get(req.connection_id)
    if (
        old is None
        or old.id == conn.id
        or old.app != conn.app
        or not old.resume_digest
        or not hmac.compare_digest(old.resume_digest, digest(req.resume_token))
    ):
        raise SessionNotFound(
            f"no connection {req.connection_id!r} to resume (unknown, expired or a wrong "
            "token); join your calls again"
        )
    if old.user_id != conn.user_id:
        raise NotAllowed(f"connection {req.connection_id!r} belongs to another user")
    if held is not None:
        del ctx.detached[old.id]
        ctx.timers_changed = True
    else:  # still open on our side (a half-open socket): the new connection replaces it
        ctx.superseded.append(old.id)
    calls = ctx.apps[conn.app].calls
    resumed: list[ResumedSession] = []
    for cid, session_id in sorted(old.sessions.items()):
        call = calls.get(cid)
        participant = call.participants.get(session_id) if call is not None else None
        if call is None or participant is None or participant.connection_id != old.id:
            continue
        if conn.call_cids is not None and cid not in conn.call_cids:
            depart(ctx, call, session_id, "disconnected", now)
            continue
        participant.connection_id = conn.id
        conn.sessions[cid] = session_id
        ctx.save(call)
        resumed.append(ResumedSession(cid=cid, session_id=session_id))
    old.sessions.clear()
    old.resume_digest = ""
    ctx.writes.append(DeleteConnection(old.id))
    for pending in held.pending if held is not None else ():
        ctx.deliver(Delivery(pending.app, pending.user_id, pending.event, connection_id=conn.id))
    return ResumeResult(sessions=resumed)


def next_expiry(ctx: Context) -> float | None:
    """When the next grace period runs out."""
    return min((d.expires_at for d in ctx.detached.values()), default=None)


def expire(ctx: Context, now: float) -> None:
    """Grace periods over at ``now``: those sessions leave for good (``disconnected``)."""
    for connection_id, held in sorted(ctx.detached.items()):
        if held.expires_at <= now:
            del ctx.detached[connection_id]
            ctx.timers_changed = True
            _leave_all(ctx, held.connection, now)


HANDLERS: Registry = {rq.ResumeSession: resume}
