"""Media negotiation and publishing: ``call.signal`` and ``call.publish_track``.

Signals go to exactly one session (its connection), never to the rest of the call. A
signal for a session whose connection dropped and may still resume is held (up to
:data:`MAX_HELD_SIGNALS`) and delivered when it resumes, instead of being lost.
"""

from __future__ import annotations

from streamcall_widget.errors import DoesNotExist, InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.models import TRACK_CAPABILITY, iso

from .context import Context, Delivery, Registry, require
from .participants import set_track
from .state import ConnectionRecord

__all__ = ["HANDLERS", "MAX_HELD_SIGNALS"]

MAX_HELD_SIGNALS = 64
"""Signals kept for one dropped connection while it may resume; more are refused."""


def signal(ctx: Context, conn: ConnectionRecord, req: rq.SendSignal, now: float) -> None:
    """``call.signal``: relay one negotiation message to another joined session."""
    call = ctx.visible_call(conn, req.cid)
    own = conn.sessions.get(call.cid)
    if own is None:
        raise InvalidState(f"join {call.cid} before sending signals in it")
    target = call.participants.get(req.session_id)
    if target is None or target.session_id == own:
        raise DoesNotExist(f"no other joined session {req.session_id!r} in {call.cid}")
    delivery = Delivery(
        call.app,
        target.user_id,
        ev.SignalReceived(
            cid=call.cid,
            created_at=iso(now),
            session_id=target.session_id,
            from_session_id=own,
            from_user_id=conn.user_id,
            signal=req.signal,
        ),
        connection_id=target.connection_id,
    )
    held = ctx.detached.get(target.connection_id)
    if held is None:
        ctx.deliver(delivery)
        return
    if len(held.pending) >= MAX_HELD_SIGNALS:
        raise InvalidState(
            f"session {target.session_id!r} is reconnecting and already has "
            f"{MAX_HELD_SIGNALS} signals waiting; send again once it is back"
        )
    held.pending.append(delivery)


def publish_track(ctx: Context, conn: ConnectionRecord, req: rq.PublishTrack, now: float) -> None:
    """``call.publish_track``: this session publishes (unmute) or stops a track (mute)."""
    call = ctx.visible_call(conn, req.cid)
    session_id = conn.sessions.get(call.cid)
    if session_id is None:
        raise InvalidState(f"join {call.cid} before publishing tracks")
    if req.published:
        require(call, conn, TRACK_CAPABILITY[req.track_type])
    participant = call.participants[session_id]
    set_track(ctx, call, participant, req.track_type, published=req.published, now=now)


HANDLERS: Registry = {
    rq.SendSignal: signal,
    rq.PublishTrack: publish_track,
}
