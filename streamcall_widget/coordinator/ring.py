"""Ringing: ``call.ring``, ``call.accept``, ``call.reject`` and the ring timers.

Each ringing call owns a :class:`~streamcall_widget.protocol.ringing.Ring` (the pure state
machine); these rules start it, feed it answers and timer ticks, and turn its outcomes into
``call.accepted`` / ``call.rejected`` / ``call.missed`` events and, when nobody took the
call, ``call.ended``. A callee still ringing who opens another connection is rung there too
(:func:`ring_late_arrival`). A callee with no live connection who registered for push is
rung through their provider and rings on, so the connection they open to answer is rung
(:mod:`.push_rules` sends the notices); one with neither missed it at once (``offline``)
and is not rung late.
"""

from __future__ import annotations

from streamcall_widget.errors import InputError, InvalidState, NotAllowed
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.headers import Headers
from streamcall_widget.protocol.models import CallResponse, iso
from streamcall_widget.protocol.ringing import (
    Accepted,
    Missed,
    Rejected,
    Ring,
    RingOutcome,
    RingOver,
)

from .context import Context, Delivery, Registry, require
from .participants import end_call
from .push_rules import ring_ended_for, ring_pushed, ring_taken
from .state import CallRecord, ConnectionRecord

__all__ = [
    "HANDLERS",
    "apply_ring",
    "next_ring_deadline",
    "ring",
    "ring_late_arrival",
    "tick_rings",
]


def ring_request(
    ctx: Context, conn: ConnectionRecord, req: rq.RingCall, now: float
) -> CallResponse:
    """``call.ring``: ring members of an existing call."""
    call = ctx.call(conn, req.cid, Capability.JOIN_CALL)
    ring(ctx, call, conn, req.member_ids, video=req.video, now=now)
    return ctx.response(call, conn)


def ring(
    ctx: Context,
    call: CallRecord,
    conn: ConnectionRecord,
    member_ids: list[str],
    *,
    video: bool | None,
    now: float,
) -> None:
    """Start ringing ``member_ids`` (every other member not joined when empty)."""
    if call.ended_at is not None:
        raise InvalidState(f"call {call.cid} has ended; create a new call to ring again")
    if call.ringing:
        raise InvalidState(f"call {call.cid} is already ringing")
    if conn.user_id not in call.members:
        raise NotAllowed(f"only members of {call.cid} can ring it")
    require(call, conn, Capability.JOIN_CALL)
    unknown = [u for u in member_ids if u not in call.members]
    if unknown:
        raise InputError(f"cannot ring {unknown}: not members of {call.cid}; add them first")
    if conn.user_id in member_ids:
        raise InputError(f"{conn.user_id} cannot ring themselves")
    joined = {p.user_id for p in call.participants.values()}
    callees = [u for u in (member_ids or call.members) if u != conn.user_id and u not in joined]
    if not callees:
        raise InvalidState(f"nobody to ring in {call.cid}: every other member is already joined")
    users = ctx.users(call)
    reachable = [u for u in callees if users[u].connections or users[u].push_registered]
    busy = [u for u in callees if ctx.in_other_call(call.app, u, call.cid)]
    started = Ring(conn.user_id, callees, call.settings.ring, now, reachable=reachable, busy=busy)
    call.ring = started
    call.pushed.clear()
    call.rung = True
    call.accepted_by.clear()
    call.rejected_by.clear()
    call.missed_by.clear()
    ctx.ringing.add((call.app, call.cid))
    ctx.timers_changed = True
    call.ring_video = call.settings.video_enabled if video is None else video
    event = ring_event(ctx, call, conn.user_id, now)
    for user_id in started.ringing():
        if user_id not in busy:
            ctx.deliver(Delivery(call.app, user_id, event))
    ring_pushed(ctx, call, started, busy, now)
    apply_ring(ctx, call, started.start(), now)


def ring_event(ctx: Context, call: CallRecord, caller: str, now: float) -> ev.CallRing:
    """The ``call.ring`` event a callee receives."""
    users = ctx.users(call)
    return ev.CallRing(
        cid=call.cid,
        created_at=iso(now),
        call=call.to_data(users),
        members=call.members_data(users),
        user=users[caller].to_data(),
        video=call.ring_video,
    )


def ring_late_arrival(ctx: Context, app: str, user_id: str, connection_id: str, now: float) -> None:
    """A ringing callee who opens another connection (a second kernel) is rung there too."""
    for ring_app, cid in sorted(ctx.ringing):
        call = ctx.apps[ring_app].calls[cid]
        if ring_app == app and call.ring is not None and call.ring.reach(user_id):
            event = ring_event(ctx, call, call.ring.caller, now)
            ctx.deliver(Delivery(app, user_id, event, connection_id=connection_id))


def accept(ctx: Context, conn: ConnectionRecord, req: rq.AcceptCall, now: float) -> CallResponse:
    """``call.accept``: the rung user takes the call (the caller then joins)."""
    call = ctx.call(conn, req.cid, Capability.JOIN_CALL)
    accepted = _active_ring(call, "accept").accept(conn.user_id, now)
    apply_ring(ctx, call, accepted, now, headers=req.headers)
    return ctx.response(call, conn)


def reject(ctx: Context, conn: ConnectionRecord, req: rq.RejectCall, now: float) -> CallResponse:
    """``call.reject``: a callee declines; the caller rejecting cancels the ring."""
    call = ctx.call(conn, req.cid, Capability.READ_CALL)
    ring_now = _active_ring(call, "reject")
    apply_ring(ctx, call, ring_now.reject(conn.user_id, req.reason, now), now, headers=req.headers)
    return ctx.response(call, conn)


def _active_ring(call: CallRecord, action: str) -> Ring:
    if call.ring is None or call.ring.over:
        raise InvalidState(f"nothing is ringing in {call.cid}; there is no ring to {action}")
    return call.ring


def apply_ring(
    ctx: Context,
    call: CallRecord,
    outcomes: list[RingOutcome],
    now: float,
    *,
    headers: Headers | None = None,
) -> None:
    """Turn ring outcomes into events (and the end of the call when nobody took it); the
    ``headers`` of the request that caused them go on its accept or reject."""
    users = ctx.users(call)
    stamp = iso(now)
    for outcome in outcomes:
        event: ev.Event
        if isinstance(outcome, Accepted):
            ring_taken(ctx, call, outcome.user_id, now)
            call.accepted_by[outcome.user_id] = stamp
            event = ev.CallAccepted(
                cid=call.cid,
                created_at=stamp,
                call=call.to_data(users),
                user=users[outcome.user_id].to_data(),
                headers=headers or {},
            )
        elif isinstance(outcome, Rejected):
            ring_ended_for(ctx, call, outcome.user_id, outcome.reason, now)
            call.rejected_by[outcome.user_id] = outcome.reason
            event = ev.CallRejected(
                cid=call.cid,
                created_at=stamp,
                call=call.to_data(users),
                user=users[outcome.user_id].to_data(),
                reason=outcome.reason,
                headers=headers or {},
            )
        elif isinstance(outcome, Missed):
            ring_ended_for(ctx, call, outcome.user_id, outcome.reason, now)
            call.missed_by[outcome.user_id] = stamp
            event = ev.CallMissed(
                cid=call.cid,
                created_at=stamp,
                call=call.to_data(users),
                user=users[outcome.user_id].to_data(),
                reason=outcome.reason,
            )
        else:
            _ring_over(ctx, call, outcome, now)
            continue
        ctx.emit_to_members(call, event)
    if call.ring is not None and call.ring.over:
        ctx.ringing.discard((call.app, call.cid))
        ctx.timers_changed = True
    ctx.save(call)


def _ring_over(ctx: Context, call: CallRecord, outcome: RingOver, now: float) -> None:
    """Nobody took the call: it ends unless someone besides the caller is joined."""
    caller = call.ring.caller if call.ring else call.created_by
    others = [p for p in call.participants.values() if p.user_id != caller]
    if not others and call.ended_at is None:
        end_call(ctx, call, None, str(outcome.reason), now)


def next_ring_deadline(ctx: Context) -> float | None:
    """When the next ring timer is due."""
    deadlines = [
        d
        for app, cid in ctx.ringing
        if (r := ctx.apps[app].calls[cid].ring) and (d := r.next_deadline()) is not None
    ]
    return min(deadlines, default=None)


def tick_rings(ctx: Context, now: float) -> None:
    """Fire the ring timers due at ``now``."""
    for app, cid in sorted(ctx.ringing):
        call = ctx.apps[app].calls[cid]
        if call.ring is not None:
            apply_ring(ctx, call, call.ring.tick(now), now)


HANDLERS: Registry = {
    rq.RingCall: ring_request,
    rq.AcceptCall: accept,
    rq.RejectCall: reject,
}
