"""Being in a call's session: ``call.join``, ``call.leave`` and ``call.end``.

A connection holds at most one session per call; joining again (from any connection of the
same user) replaces the user's previous session. Joining while rung accepts the ring; the
caller leaving a ring under way cancels it; one party leaving a one-to-one call ends it
(:func:`~.participants.depart`).
"""

from __future__ import annotations

from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability, Role
from streamcall_widget.protocol.models import CallResponse, RejectReason, iso

from .context import Context, Registry, require
from .participants import depart, end_call, remove_participant
from .ring import apply_ring
from .state import ConnectionRecord, Member, Participant

__all__ = ["HANDLERS"]


def join(ctx: Context, conn: ConnectionRecord, req: rq.JoinCall, now: float) -> CallResponse:
    """``call.join``: this connection gets a new session in the call."""
    call = ctx.visible_call(conn, req.cid)
    if call.ended_at is not None:
        raise InvalidState(f"call {call.cid} has ended and cannot be joined")
    require(call, conn, Capability.JOIN_BACKSTAGE if call.backstage else Capability.JOIN_CALL)
    users = ctx.users(call)
    if conn.user_id not in call.members:
        # A call token (call_cids) makes its holder a member; anyone else joins as a user.
        role = Role.CALL_MEMBER if conn.call_cids is not None else Role.USER
        call.members[conn.user_id] = Member(conn.user_id, role, now)
        ctx.emit_to_members(
            call,
            ev.MemberAdded(
                cid=call.cid,
                created_at=iso(now),
                members=[m for m in call.members_data(users) if m.user_id == conn.user_id],
            ),
        )
    for old in call.session_of(conn.user_id):
        remove_participant(ctx, call, old.session_id, "replaced", now)
    if call.ring is not None and call.ring.status.get(conn.user_id) in ("ringing", "offline"):
        apply_ring(ctx, call, call.ring.accept(conn.user_id, now), now)
    session_id = ctx.ids("session")
    participant = Participant(session_id, conn.user_id, conn.id, now)
    first = not call.participants
    call.participants[session_id] = participant
    conn.sessions[call.cid] = session_id
    if first:
        call.session_id = ctx.ids("call_session")
        call.session_started_at, call.session_ended_at = now, None
        ctx.emit_to_members(
            call,
            ev.CallSessionStarted(
                cid=call.cid,
                created_at=iso(now),
                call=call.to_data(users),
                session_id=call.session_id,
            ),
        )
    ctx.emit_to_members(
        call,
        ev.ParticipantJoined(
            cid=call.cid,
            created_at=iso(now),
            session_id=call.session_id or "",
            participant=call.participant_data(participant, users),
        ),
    )
    ctx.save(call)
    return ctx.response(call, conn, session_id=session_id)


def leave(ctx: Context, conn: ConnectionRecord, req: rq.LeaveCall, now: float) -> CallResponse:
    """``call.leave``: this connection's session leaves (the caller's leave cancels a ring)."""
    call = ctx.visible_call(conn, req.cid)
    session_id = conn.sessions.get(call.cid)
    if session_id is None:
        raise InvalidState(f"{conn.user_id} has not joined {call.cid} on this connection")
    depart(ctx, call, session_id, "left", now, headers=req.headers)
    if call.ringing and call.ring is not None and call.ring.caller == conn.user_id:
        cancelled = call.ring.reject(conn.user_id, RejectReason.CANCEL, now)
        apply_ring(ctx, call, cancelled, now, headers=req.headers)
    ctx.save(call)
    return ctx.response(call, conn)


def end(ctx: Context, conn: ConnectionRecord, req: rq.EndCall, now: float) -> CallResponse:
    """``call.end``: the call ends for everyone."""
    call = ctx.call(conn, req.cid, Capability.END_CALL)
    if call.ended_at is not None:
        raise InvalidState(f"call {call.cid} has already ended")
    by = ctx.users(call)[conn.user_id].to_data()
    end_call(ctx, call, by, "ended", now, headers=req.headers)
    return ctx.response(call, conn)


HANDLERS: Registry = {
    rq.JoinCall: join,
    rq.LeaveCall: leave,
    rq.EndCall: end,
}
