"""What happens to the people in a call's session: leaving, being ended, publishing tracks.

Shared by several rule families: a session leaves on ``call.leave`` (:mod:`.sessions`), on a
removal (:mod:`.moderation`), on a disconnect or an expired grace period (:mod:`.resume`);
a call ends on ``call.end``, a failed ring (:mod:`.ring`) or when one party of a one-to-one
call is gone (:func:`depart`, here).
"""

from __future__ import annotations

from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol.headers import Headers
from streamcall_widget.protocol.models import TrackType, UserData, iso
from streamcall_widget.protocol.push import MissedReason

from .context import Context
from .push_rules import ring_ended_for
from .state import CallRecord, Participant

__all__ = ["DEPARTURES", "depart", "end_call", "remove_participant", "set_track"]

DEPARTURES = frozenset({"left", "disconnected"})
"""Reasons a party leaves for good by their own doing (not replaced, not removed)."""


def remove_participant(
    ctx: Context,
    call: CallRecord,
    session_id: str,
    reason: str,
    now: float,
    *,
    announce: bool = True,
    headers: Headers | None = None,
) -> Participant:
    """Take one session out of the call (``call.session_participant_left`` with ``reason``
    and the leaver's ``headers`` unless ``announce`` is off); the last one out ends the call
    session."""
    participant = call.participants.pop(session_id)
    holder = ctx.connections.get(participant.connection_id)
    if holder is None and participant.connection_id in ctx.detached:
        holder = ctx.detached[participant.connection_id].connection
    if holder is not None and holder.sessions.get(call.cid) == session_id:
        del holder.sessions[call.cid]
    users = ctx.users(call)
    call.pins = [p for p in call.pins if p.session_id != session_id]
    if call.recorder == session_id:  # nobody writes it any more: everyone's REC goes off
        call.recording, call.recorder = False, None
        ctx.emit_to_members(call, ev.RecordingStopped(cid=call.cid, created_at=iso(now)))
    if announce:
        ctx.emit_to_members(
            call,
            ev.ParticipantLeft(
                cid=call.cid,
                created_at=iso(now),
                session_id=call.session_id or "",
                participant=call.participant_data(participant, users),
                reason=reason,
                headers=headers or {},
            ),
        )
    if not call.participants and call.session_id is not None:
        call.session_ended_at = now
        ctx.emit_to_members(
            call,
            ev.CallSessionEnded(
                cid=call.cid,
                created_at=iso(now),
                call=call.to_data(users),
                session_id=call.session_id,
            ),
        )
    ctx.save(call)
    return participant


def depart(
    ctx: Context,
    call: CallRecord,
    session_id: str,
    reason: str,
    now: float,
    *,
    headers: Headers | None = None,
) -> None:
    """A party leaves for good (``left`` or ``disconnected``). In a one-to-one call (a rung
    call of two members) the one who remains is not left alone in it: the call ends, with
    ``user`` = who left, the same ``reason`` and the leaver's ``headers``. Group calls go on."""
    leaver = remove_participant(ctx, call, session_id, reason, now, headers=headers)
    remaining = {p.user_id for p in call.participants.values()}
    if (
        reason in DEPARTURES
        and call.one_to_one
        and call.ended_at is None
        and remaining
        and leaver.user_id not in remaining
    ):
        by = ctx.users(call)[leaver.user_id].to_data()
        end_call(ctx, call, by, reason, now, headers=headers)


def end_call(
    ctx: Context,
    call: CallRecord,
    by: UserData | None,
    reason: str,
    now: float,
    *,
    headers: Headers | None = None,
) -> None:
    """End the call for everyone: ``call.ended`` (with the ender's ``headers``), then every
    session out without a ``participant_left`` each (and ``call.session_ended``); a ring
    under way stops."""
    call.ended_at = now
    if call.ring is not None and not call.ring.over:
        for user_id in sorted(call.pushed):
            ring_ended_for(ctx, call, user_id, MissedReason.CANCEL, now)
        call.ring = None
    if (call.app, call.cid) in ctx.ringing:
        ctx.ringing.discard((call.app, call.cid))
        ctx.timers_changed = True
    users = ctx.users(call)
    ctx.emit_to_members(
        call,
        ev.CallEnded(
            cid=call.cid,
            created_at=iso(now),
            call=call.to_data(users),
            user=by,
            reason=reason,
            headers=headers or {},
        ),
    )
    for session_id in list(call.participants):
        remove_participant(ctx, call, session_id, "ended", now, announce=False)
    ctx.updated(call, now, announce=False)


def set_track(
    ctx: Context,
    call: CallRecord,
    participant: Participant,
    track: TrackType,
    *,
    published: bool,
    now: float,
    reason: str = "muted",
) -> None:
    """Mark a track (un)published and tell the members; nothing if it already was."""
    if (track in participant.published) == published:
        return
    if published:
        participant.published.add(track)
        event: ev.Event = ev.TrackPublished(
            cid=call.cid,
            created_at=iso(now),
            session_id=participant.session_id,
            user_id=participant.user_id,
            track_type=track,
        )
    else:
        participant.published.discard(track)
        event = ev.TrackUnpublished(
            cid=call.cid,
            created_at=iso(now),
            session_id=participant.session_id,
            user_id=participant.user_id,
            track_type=track,
            reason=reason,
        )
    ctx.emit_to_members(call, event)
