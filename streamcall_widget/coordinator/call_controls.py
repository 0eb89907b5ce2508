"""Call controls of one joined session: hold and DTMF digits.

``call.hold`` records on the sender's own participant that it is (no longer) on hold and
tells every member (``call.participant_hold``), so a late joiner and a resumed session read
it in the participant data. ``call.dtmf`` fans one digit out to the other members
(``call.dtmf``) while the sender plays its tone in its audio. Both need a joined session of
the call on the sending connection (so a member's); nothing reaches a non-member.
"""

from __future__ import annotations

from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.models import iso

from .context import Context, Delivery, Registry
from .state import CallRecord, ConnectionRecord, Participant

__all__ = ["HANDLERS"]


def hold(ctx: Context, conn: ConnectionRecord, req: rq.HoldCall, now: float) -> None:
    """``call.hold``: this session goes on hold or comes back (nothing if it already is)."""
    call, participant = _joined_member(ctx, conn, req.cid, "go on hold")
    if participant.on_hold == req.on_hold:
        return
    participant.on_hold = req.on_hold
    ctx.emit_to_members(
        call,
        ev.ParticipantHold(
            cid=call.cid,
            created_at=iso(now),
            session_id=participant.session_id,
            user_id=participant.user_id,
            on_hold=req.on_hold,
        ),
    )
    ctx.save(call)


def dtmf(ctx: Context, conn: ConnectionRecord, req: rq.SendDtmf, now: float) -> None:
    """``call.dtmf``: one digit to every other member (not back to the sender's user)."""
    call, participant = _joined_member(ctx, conn, req.cid, "send DTMF digits")
    event = ev.DtmfReceived(
        cid=call.cid,
        created_at=iso(now),
        session_id=participant.session_id,
        user_id=participant.user_id,
        digit=req.digit,
        duration_ms=req.duration_ms,
    )
    for user_id in call.members:
        if user_id != conn.user_id:
            ctx.deliver(Delivery(call.app, user_id, event))


def _joined_member(
    ctx: Context, conn: ConnectionRecord, cid: str, doing: str
) -> tuple[CallRecord, Participant]:
    """The call and this connection's session in it: DOES_NOT_EXIST for a call the user
    cannot see, INVALID_STATE without a joined session (joining makes one a member, and a
    member removed loses the session: a joined session is always a member's)."""
    call = ctx.visible_call(conn, cid)
    session_id = conn.sessions.get(call.cid)
    if session_id is None or session_id not in call.participants:
        raise InvalidState(f"join {call.cid} before you {doing}")
    return call, call.participants[session_id]


HANDLERS: Registry = {
    rq.HoldCall: hold,
    rq.SendDtmf: dtmf,
}
