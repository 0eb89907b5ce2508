"""Coordinator-to-client events, with Stream's event names.

Each event is the ``event`` field of an ``event`` frame; its ``type`` is one of the tags
below. Every call event carries the call's ``cid`` and ``created_at``, and reaches only the
call's members (a ``call.signal`` only the one session it is addressed to).
"""

from __future__ import annotations

from typing import get_args

import msgspec

from .call_types import Capability
from .headers import Headers
from .models import (
    CallData,
    Custom,
    MemberData,
    ParticipantData,
    RejectReason,
    Signal,
    TrackType,
    UserData,
)

__all__ = [
    "EVENT_TYPES",
    "AnyEvent",
    "CallAccepted",
    "CallCreated",
    "CallEnded",
    "CallMissed",
    "CallPinned",
    "CallRejected",
    "CallRing",
    "CallSessionEnded",
    "CallSessionStarted",
    "CallUnpinned",
    "CallUpdated",
    "CustomEvent",
    "DataReceived",
    "DtmfReceived",
    "Event",
    "InfoReceived",
    "LiveStarted",
    "MemberAdded",
    "MemberRemoved",
    "MessageReceived",
    "ParticipantHold",
    "ParticipantJoined",
    "ParticipantLeft",
    "PermissionRequest",
    "PermissionsUpdated",
    "RecordingStarted",
    "RecordingStopped",
    "SignalReceived",
    "TrackPublished",
    "TrackUnpublished",
]


class Event(msgspec.Struct, tag_field="type", kw_only=True):
    """Base of every event."""

    cid: str
    created_at: str


class CallCreated(Event, tag="call.created"):
    """A call the user is a member of was created."""

    call: CallData
    members: list[MemberData]


class CallRing(Event, tag="call.ring"):
    """The user is being rung; ``user`` is the caller."""

    call: CallData
    members: list[MemberData]
    user: UserData
    video: bool


class CallAccepted(Event, tag="call.accepted"):
    """``user`` accepted the ring; other callees stop ringing."""

    call: CallData
    user: UserData
    headers: Headers = {}
    """What the accepting user sent with ``call.accept``."""


class CallRejected(Event, tag="call.rejected"):
    """``user`` rejected the ring (``cancel`` when ``user`` is the caller)."""

    call: CallData
    user: UserData
    reason: RejectReason
    headers: Headers = {}
    """What the rejecting user sent with ``call.reject`` (or the caller with ``call.leave``)."""


class CallMissed(Event, tag="call.missed"):
    """``user`` did not answer: offline, timed out or busy (``reason``)."""

    call: CallData
    user: UserData
    reason: RejectReason


class CallEnded(Event, tag="call.ended"):
    """The call ended: ended by ``user``, or the ring failed (``reason``)."""

    call: CallData
    user: UserData | None = None
    reason: str = "ended"
    headers: Headers = {}
    """What ``user`` sent with ``call.end`` or with the ``call.leave`` that ended the call."""


class CallUpdated(Event, tag="call.updated"):
    """Custom data, settings or backstage changed (recording has its own events)."""

    call: CallData


class CallSessionStarted(Event, tag="call.session_started"):
    """The first participant joined."""

    call: CallData
    session_id: str


class CallSessionEnded(Event, tag="call.session_ended"):
    """The last participant left."""

    call: CallData
    session_id: str


class ParticipantJoined(Event, tag="call.session_participant_joined"):
    """A session joined the call."""

    session_id: str
    participant: ParticipantData


class ParticipantLeft(Event, tag="call.session_participant_left"):
    """A session left; ``reason`` is ``left``, ``replaced`` (same user joined again),
    ``disconnected`` or ``removed`` (a call that ends sends ``call.ended`` instead)."""

    session_id: str
    participant: ParticipantData
    reason: str
    headers: Headers = {}
    """What the participant sent with ``call.leave``."""


class MemberAdded(Event, tag="call.member_added"):
    """Members were added."""

    members: list[MemberData]


class MemberRemoved(Event, tag="call.member_removed"):
    """Members were removed; removed users receive this once more, then nothing."""

    user_ids: list[str]


class PermissionRequest(Event, tag="call.permission_request"):
    """``user`` asks for capabilities; sent to users who may grant them."""

    user: UserData
    permissions: list[Capability]


class PermissionsUpdated(Event, tag="call.permissions_updated"):
    """``user_id``'s capabilities in this call changed."""

    user_id: str
    own_capabilities: list[Capability]


class CallPinned(Event, tag="call.pinned"):
    """A session was pinned for everyone."""

    session_id: str
    user_id: str


class CallUnpinned(Event, tag="call.unpinned"):
    """A pin was removed."""

    session_id: str
    user_id: str


class RecordingStarted(Event, tag="call.recording_started"):
    """The call is now recording."""


class RecordingStopped(Event, tag="call.recording_stopped"):
    """The call stopped recording."""


class LiveStarted(Event, tag="call.live_started"):
    """A backstage call went live."""

    call: CallData


class TrackPublished(Event, tag="call.track_published"):
    """A session started publishing a track (unmute)."""

    session_id: str
    user_id: str
    track_type: TrackType


class TrackUnpublished(Event, tag="call.track_unpublished"):
    """A session stopped publishing a track (mute, or permission revoked)."""

    session_id: str
    user_id: str
    track_type: TrackType
    reason: str = "muted"


class SignalReceived(Event, tag="call.signal"):
    """A negotiation message from ``from_session_id`` to this connection's ``session_id``."""

    session_id: str
    from_session_id: str
    from_user_id: str
    signal: Signal


class CustomEvent(Event, tag="custom"):
    """Free data a member sent to the call."""

    user: UserData
    custom: Custom


class ParticipantHold(Event, tag="call.participant_hold"):
    """A session of the call was put on hold (``on_hold``) or taken off it."""

    session_id: str
    user_id: str
    on_hold: bool


class DtmfReceived(Event, tag="call.dtmf"):
    """A session plays one DTMF digit now (its tone is in that session's audio)."""

    session_id: str
    user_id: str
    digit: str
    duration_ms: int


class MessageReceived(Event, tag="call.message"):
    """A chat message; every joined session gets it, the sender's own included, in the
    order the coordinator took them."""

    user: UserData
    session_id: str
    """The sender's session."""
    text: str


class InfoReceived(Event, tag="call.info"):
    """An INFO message from another joined session."""

    user: UserData
    session_id: str
    """The sender's session."""
    mime_type: str
    body: str
    headers: Headers


class DataReceived(Event, tag="call.data"):
    """Data from another joined session (exactly one of ``text`` and ``binary``)."""

    user: UserData
    session_id: str
    """The sender's session."""
    text: str | None = None
    binary: bytes | None = None
    to: str | None = None
    """The ``to`` of the request: this session or user alone; None: everyone."""


AnyEvent = (
    CallCreated
    | CallRing
    | CallAccepted
    | CallRejected
    | CallMissed
    | CallEnded
    | CallUpdated
    | CallSessionStarted
    | CallSessionEnded
    | ParticipantJoined
    | ParticipantLeft
    | MemberAdded
    | MemberRemoved
    | PermissionRequest
    | PermissionsUpdated
    | CallPinned
    | CallUnpinned
    | RecordingStarted
    | RecordingStopped
    | LiveStarted
    | TrackPublished
    | TrackUnpublished
    | SignalReceived
    | CustomEvent
    | ParticipantHold
    | DtmfReceived
    | MessageReceived
    | InfoReceived
    | DataReceived
)
"""Every event type, as one tagged union."""

EVENT_TYPES: tuple[type[Event], ...] = get_args(AnyEvent)
