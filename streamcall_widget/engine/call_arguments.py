"""Public call arguments to wire values, and a call's wire description to a ``CallEvent``.

Pure functions used by ``StreamCall``'s call methods: they check what a user passed
(raising ``InvalidArguments`` that says what is allowed) and shape it for the protocol.
"""

from __future__ import annotations

from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.call_types import CALL_TYPES, RingSettings
from streamcall_widget.protocol.lifecycle import CallEvent, CallMember, CallState
from streamcall_widget.protocol.models import CallResponse, SettingsOverride

__all__ = ["call_info", "cid_of", "ring_settings"]


def ring_settings(timeout_ms: int | None) -> SettingsOverride | None:
    """The settings override for one ring timeout (None: the call type's)."""
    if timeout_ms is None:
        return None
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool):
        raise InvalidArguments(
            f"ring_timeout_ms must be an integer of milliseconds, not {timeout_ms!r}"
        )
    try:
        ring = RingSettings(
            auto_cancel_timeout_ms=timeout_ms,
            incoming_call_timeout_ms=timeout_ms,
            missed_call_timeout_ms=timeout_ms,
        )
    except ValueError as exc:
        raise InvalidArguments(f"ring_timeout_ms: {exc}") from None
    return SettingsOverride(ring=ring)


def cid_of(call_id: str, call_type: str) -> str:
    """The cid a public ``call_id`` names: a ``type:id`` cid as it is, a bare id with
    ``call_type`` (which must be a known call type)."""
    if not isinstance(call_id, str) or not call_id:
        raise InvalidArguments("call_id must be a non-empty string")
    if ":" in call_id:
        return call_id
    if call_type not in CALL_TYPES:
        raise InvalidArguments(f"unknown call type {call_type!r}; allowed: {', '.join(CALL_TYPES)}")
    return f"{call_type}:{call_id}"


def call_info(response: CallResponse) -> CallEvent:
    """A call this client does not hold, as ``get_call_info`` shows it: ``ended``,
    ``ringing``, ``session_started`` (someone is in it) or ``created``, with its caller,
    members, custom data and the number of participants."""
    data = response.call
    session = data.session
    count = len(session.participants) if session is not None else 0
    if data.ended_at is not None:
        state = CallState.ENDED
    elif data.ringing:
        state = CallState.RINGING
    elif count:
        state = CallState.SESSION_STARTED
    else:
        state = CallState.CREATED
    return CallEvent(
        call_id=data.id,
        call_type=data.type,
        state=state,
        caller=CallMember.from_user(data.created_by),
        members=tuple(CallMember.from_member(m) for m in response.members),
        custom=dict(data.custom),
        count=count,
    )
