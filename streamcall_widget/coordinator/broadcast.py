"""Telling the world: recording, backstage/live, and custom events.

``call.start_recording`` / ``call.stop_recording`` flip the call's recording flag (the
recorder itself is a client); ``call.go_live`` / ``call.stop_live`` move a backstage call
in and out of live; ``call.send_event`` fans free JSON out to every member.
"""

from __future__ import annotations

from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.models import CallResponse, iso

from .context import Context, Registry
from .state import ConnectionRecord

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
    call.recording = recording
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
    user = ctx.users(call)[conn.user_id].to_data()
    ctx.emit_to_members(
        call, ev.CustomEvent(cid=call.cid, created_at=iso(now), user=user, custom=req.custom)
    )


HANDLERS: Registry = {
    rq.StartRecording: start_recording,
    rq.StopRecording: stop_recording,
    rq.GoLive: go_live,
    rq.StopLive: stop_live,
    rq.SendCustomEvent: send_event,
}
