"""Telling the world: recording, backstage/live, custom events, messages, INFO and data.

``call.start_recording`` / ``call.stop_recording`` mark the call recording and tell every
member (``call.recording_started`` / ``call.recording_stopped``). The file is written by the
client that asked (see :mod:`streamcall_widget.engine.recording`), so only a session joined
to the call may start one, it is the call's ``recorder``, and the recording stops for
everyone when that session leaves (:func:`~.participants.remove_participant`). Stopping
needs ``stop-record-call``; the recorder's client finishes its file when it hears it.
``call.go_live`` / ``call.stop_live`` move a backstage call
in and out of live; ``call.send_event`` fans free JSON out to every member.

``call.send_message``, ``call.send_info`` and ``call.send_data`` go from a joined session
to joined sessions only (a member who is not in the call's session gets nothing), in the
order taken, stored nowhere; their sizes and forms are checked by
:mod:`streamcall_widget.protocol.messaging`, the rules the engine applies before sending.
A recipient whose connection dropped and may resume gets them on resume (held like
signals, up to :data:`~.media.MAX_HELD_SIGNALS`; beyond that they are dropped for it).
"""

from __future__ import annotations

from streamcall_widget.errors import DoesNotExist, InvalidArguments, InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.messaging import (
    check_body,
    check_custom,
    check_data,
    check_mime_type,
    check_text,
)
from streamcall_widget.protocol.models import CallResponse, iso

from .context import Context, Delivery, Registry
from .media import MAX_HELD_SIGNALS
from .state import CallRecord, ConnectionRecord, Participant

__all__ = ["HANDLERS"]


def start_recording(
    ctx: Context, conn: ConnectionRecord, req: rq.StartRecording, now: float
) -> None:
    """``call.start_recording``."""
    _set_recording(ctx, conn, req.cid, recording=True, now=now)


def stop_recording(ctx: Context, conn: ConnectionRecord, req: rq.StopRecording, now: float) -> None:
    """``call.stop_recording``."""
    _set_recording(ctx, conn, req.cid, recording=False, now=now)


def _set_recording(
    ctx: Context, conn: ConnectionRecord, cid: str, *, recording: bool, now: float
) -> None:
    needed = Capability.START_RECORD_CALL if recording else Capability.STOP_RECORD_CALL
    call = ctx.call(conn, cid, needed)
    if call.recording == recording:
        raise InvalidState(f"call {cid} is {'already' if recording else 'not'} recording")
    session = conn.sessions.get(call.cid)
    if recording and session is None:
        raise InvalidState(f"join {cid} before recording it: the recorder is a joined session")
    call.recording, call.recorder = recording, session if recording else None
    kind = ev.RecordingStarted if recording else ev.RecordingStopped
    ctx.emit_to_members(call, kind(cid=call.cid, created_at=iso(now)))
    ctx.updated(call, now, announce=False)


def go_live(ctx: Context, conn: ConnectionRecord, req: rq.GoLive, now: float) -> CallResponse:
    """``call.go_live``: leave backstage, so everyone with ``join-call`` may join."""
    call = ctx.call(conn, req.cid, Capability.UPDATE_CALL)
    if not call.backstage:
        raise InvalidState(f"call {call.cid} is already live")
    call.backstage = False
    ctx.emit_to_members(
        call, ev.LiveStarted(cid=call.cid, created_at=iso(now), call=call.to_data(ctx.users(call)))
    )
    ctx.updated(call, now)
    return ctx.response(call, conn)


def stop_live(ctx: Context, conn: ConnectionRecord, req: rq.StopLive, now: float) -> CallResponse:
    """``call.stop_live``: back to backstage."""
    call = ctx.call(conn, req.cid, Capability.UPDATE_CALL)
    if call.backstage:
        raise InvalidState(f"call {call.cid} is not live")
    call.backstage = True
    ctx.updated(call, now)
    return ctx.response(call, conn)


def send_event(ctx: Context, conn: ConnectionRecord, req: rq.SendCustomEvent, now: float) -> None:
    """``call.send_event``: free data to every member."""
    call = ctx.call(conn, req.cid, Capability.SEND_EVENT)
    check_custom(req.custom)
    user = ctx.users(call)[conn.user_id].to_data()
    ctx.emit_to_members(
        call, ev.CustomEvent(cid=call.cid, created_at=iso(now), user=user, custom=req.custom)
    )


def send_message(ctx: Context, conn: ConnectionRecord, req: rq.SendMessage, now: float) -> None:
    """``call.send_message``: a chat message to every joined session, the sender's too
    (so every session shows the same order)."""
    call, own = _joined(ctx, conn, req.cid, "send messages")
    check_text(req.text)
    event = ev.MessageReceived(
        cid=call.cid,
        created_at=iso(now),
        user=ctx.users(call)[conn.user_id].to_data(),
        session_id=own,
        text=req.text,
    )
    _send_to(ctx, call, list(call.participants.values()), event)


def send_info(ctx: Context, conn: ConnectionRecord, req: rq.SendInfo, now: float) -> None:
    """``call.send_info``: an INFO message to every other joined session."""
    call, own = _joined(ctx, conn, req.cid, "send INFO messages")
    event = ev.InfoReceived(
        cid=call.cid,
        created_at=iso(now),
        user=ctx.users(call)[conn.user_id].to_data(),
        session_id=own,
        mime_type=check_mime_type(req.mime_type),
        body=check_body(req.body),
        headers=req.headers,
    )
    _send_to(ctx, call, [p for p in call.participants.values() if p.session_id != own], event)


def send_data(ctx: Context, conn: ConnectionRecord, req: rq.SendData, now: float) -> None:
    """``call.send_data``: data to the other joined sessions, or to ``to`` alone."""
    call, own = _joined(ctx, conn, req.cid, "send data")
    if (req.text is None) == (req.binary is None):
        raise InvalidArguments("call.send_data needs exactly one of text and binary")
    check_data(req.text if req.text is not None else req.binary)
    others = [p for p in call.participants.values() if p.session_id != own]
    if req.to is not None:
        others = [p for p in others if req.to in (p.session_id, p.user_id)]
        if not others:
            raise DoesNotExist(
                f"{req.to!r} is no other user or session joined to {call.cid}; send to one "
                "of its participants, or to everyone with no target"
            )
    event = ev.DataReceived(
        cid=call.cid,
        created_at=iso(now),
        user=ctx.users(call)[conn.user_id].to_data(),
        session_id=own,
        text=req.text,
        binary=req.binary,
        to=req.to,
    )
    _send_to(ctx, call, others, event)


def _joined(ctx: Context, conn: ConnectionRecord, cid: str, doing: str) -> tuple[CallRecord, str]:
    """The call and the sender's session in it: only joined sessions talk in a call."""
    call = ctx.call(conn, cid, Capability.SEND_EVENT)
    own = conn.sessions.get(call.cid)
    if own is None:
        raise InvalidState(f"join {call.cid} before you {doing} in it")
    return call, own


def _send_to(ctx: Context, call: CallRecord, targets: list[Participant], event: ev.Event) -> None:
    """``event`` to each target session's connection; held for one that may resume."""
    for target in targets:
        delivery = Delivery(call.app, target.user_id, event, connection_id=target.connection_id)
        held = ctx.detached.get(target.connection_id)
        if held is None:
            ctx.deliver(delivery)
        elif len(held.pending) < MAX_HELD_SIGNALS:
            held.pending.append(delivery)


HANDLERS: Registry = {
    rq.StartRecording: start_recording,
    rq.StopRecording: stop_recording,
    rq.GoLive: go_live,
    rq.StopLive: stop_live,
    rq.SendCustomEvent: send_event,
    rq.SendMessage: send_message,
    rq.SendInfo: send_info,
    rq.SendData: send_data,
}
