"""The data shapes the wire carries: users, members, calls, sessions, participants.

All names are snake_case; timestamps are RFC 3339 strings in UTC (``2026-11-20T10:00:00.000Z``)
so that any language reads them without a custom decoder.
"""

from __future__ import annotations

import enum
import functools
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from .call_types import Capability, RingSettings

__all__ = [
    "TRACK_CAPABILITY",
    "CallData",
    "CallResponse",
    "CallSettingsData",
    "Custom",
    "MemberData",
    "MemberInput",
    "ParticipantCount",
    "ParticipantData",
    "PinData",
    "RejectReason",
    "SdpMLineIndex",
    "SessionData",
    "SettingsOverride",
    "Signal",
    "SignalKind",
    "TrackType",
    "UserData",
    "UserId",
    "UserInput",
    "iso",
    "parse_iso",
]

Custom = dict[str, Any]
"""Free JSON data attached to users, members, calls and custom events."""

UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\w\-@.]+$")]
"""A user id: 1 to 128 letters, digits, ``_``, ``-``, ``@`` or ``.``."""


def iso(timestamp: float) -> str:
    """RFC 3339 UTC text for a POSIX timestamp, millisecond precision."""
    return _iso_ms(int(timestamp * 1000))


@functools.lru_cache(maxsize=4096)
def _iso_ms(millis: int) -> str:
    # Cached per millisecond: the coordinator stamps every event and re-serialises the
    # same record timestamps many times; strftime is the costliest part of an event.
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def parse_iso(text: str) -> float:
    """POSIX timestamp of RFC 3339 text (``Z`` or an offset); ValueError if it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone; use RFC 3339 with Z or an offset")
    return moment.timestamp()


class TrackType(enum.StrEnum):
    """Kinds of media a participant publishes."""

    AUDIO = "audio"
    VIDEO = "video"
    SCREEN_SHARE = "screen_share"
    SCREEN_SHARE_AUDIO = "screen_share_audio"


TRACK_CAPABILITY: dict[TrackType, Capability] = {
    TrackType.AUDIO: Capability.SEND_AUDIO,
    TrackType.VIDEO: Capability.SEND_VIDEO,
    TrackType.SCREEN_SHARE: Capability.SCREENSHARE,
    TrackType.SCREEN_SHARE_AUDIO: Capability.SCREENSHARE,
}
"""The capability sending each track type needs (the coordinator refuses to publish it
without; receivers drop it from a sender without)."""


class RejectReason(enum.StrEnum):
    """Why a ring did not lead to a conversation (Stream's reasons, and ``offline``: the
    callee had no live connection when the ring began, so was never rung)."""

    BUSY = "busy"
    OFFLINE = "offline"
    DECLINE = "decline"
    CANCEL = "cancel"
    TIMEOUT = "timeout"


class SignalKind(enum.StrEnum):
    """WebRTC negotiation messages relayed between two sessions."""

    OFFER = "offer"
    ANSWER = "answer"
    CANDIDATE = "candidate"
    END_OF_CANDIDATES = "end_of_candidates"


SdpMLineIndex = Annotated[int, msgspec.Meta(ge=0)]
"""The index of an m-line in the SDP (0 for the first)."""


class Signal(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One negotiation message; the coordinator validates its shape and relays it unchanged.

    Only these snake_case fields exist: a browser's ``RTCIceCandidate.toJSON()`` must be
    renamed (``sdpMid`` -> ``sdp_mid``, ``sdpMLineIndex`` -> ``sdp_mline_index``); any other
    field is refused, never silently dropped. ``null`` means the same as leaving a field out.
    Each kind takes its own fields only: ``offer`` and ``answer`` an ``sdp``; ``candidate`` a
    ``candidate`` line and optionally ``sdp_mid`` and ``sdp_mline_index``;
    ``end_of_candidates`` optionally ``sdp_mid`` and ``sdp_mline_index``.
    """

    kind: SignalKind
    sdp: str | None = None
    """The session description: required for ``offer`` and ``answer``, absent otherwise."""
    candidate: str | None = None
    """An ICE candidate line (``candidate:...``): required for ``candidate``, absent otherwise."""
    sdp_mid: str | None = None
    """Media id of the candidate's m-line (``candidate``, ``end_of_candidates``; optional)."""
    sdp_mline_index: SdpMLineIndex | None = None
    """Index of the candidate's m-line (``candidate``, ``end_of_candidates``; optional)."""

    def __post_init__(self) -> None:
        """Refuse a field that does not belong to the kind, or a missing required one.

        A ValueError here becomes msgspec's ValidationError naming the path (``$.signal``),
        hence an INPUT_ERROR on the wire, like every other malformed field.
        """
        description = self.kind in (SignalKind.OFFER, SignalKind.ANSWER)
        present = {
            name
            for name in ("sdp", "candidate", "sdp_mid", "sdp_mline_index")
            if getattr(self, name) is not None
        }
        allowed = {"sdp"} if description else {"sdp_mid", "sdp_mline_index"}
        if self.kind is SignalKind.CANDIDATE:
            allowed.add("candidate")
        extra = sorted(present - allowed)
        if extra:
            raise ValueError(
                f"signal kind {self.kind.value!r} takes no {', '.join(extra)}; "
                f"its fields: kind, {', '.join(sorted(allowed))}"
            )
        if description and not self.sdp:
            raise ValueError(f"signal kind {self.kind.value!r} needs a non-empty 'sdp'")
        if self.kind is SignalKind.CANDIDATE and not self.candidate:
            raise ValueError(
                "signal kind 'candidate' needs a non-empty 'candidate' line "
                "(the end of gathering is kind 'end_of_candidates')"
            )


class UserInput(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The user a client connects as; upserted by the coordinator."""

    id: UserId
    name: str | None = None
    image: str | None = None
    custom: Custom = {}


class UserData(msgspec.Struct, kw_only=True):
    """A user as the coordinator knows them."""

    id: str
    name: str | None = None
    image: str | None = None
    custom: Custom = {}
    role: str = "user"
    """The user's global role from their token (``user`` or ``admin``)."""
    online: bool = False
    created_at: str = ""
    updated_at: str = ""


class MemberInput(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A member to add to a call."""

    user_id: UserId
    role: str | None = None
    """``call_member`` (default), ``host`` or ``admin``."""
    custom: Custom = {}


class MemberData(msgspec.Struct, kw_only=True):
    """A member of a call: a user who may be rung and see the call."""

    user_id: str
    user: UserData
    role: str
    custom: Custom = {}
    created_at: str = ""


class ParticipantData(msgspec.Struct, kw_only=True):
    """A joined session of a call (one user may have several over time)."""

    user_id: str
    session_id: str
    user: UserData
    joined_at: str
    published_tracks: list[TrackType] = []
    roles: list[str] = []
    on_hold: bool = False
    """Whether the session is on hold (``call.hold``): it sends and receives no media."""
    send_capabilities: list[Capability] | None = None
    """What the session's user may send now (``send-audio``, ``send-video``,
    ``screenshare``); a receiver drops media of a type not listed (see
    ``call.permissions_updated``). None: the coordinator does not say."""


class ParticipantCount(msgspec.Struct, kw_only=True, frozen=True):
    """Summary counts of a session."""

    total: int = 0
    anonymous: int = 0


class PinData(msgspec.Struct, kw_only=True):
    """A participant pinned for everyone."""

    user_id: str
    session_id: str


class SessionData(msgspec.Struct, kw_only=True):
    """The live part of a call: who is in it now and how the ring went."""

    id: str
    started_at: str | None = None
    ended_at: str | None = None
    participants: list[ParticipantData] = []
    participant_count: ParticipantCount = ParticipantCount()
    accepted_by: dict[str, str] = {}
    """user_id -> when they accepted."""
    rejected_by: dict[str, str] = {}
    """user_id -> reject reason."""
    missed_by: dict[str, str] = {}
    """user_id -> when they were marked missed."""


class CallSettingsData(msgspec.Struct, kw_only=True):
    """The settings a call runs with."""

    video_enabled: bool
    backstage_enabled: bool
    ring: RingSettings


class SettingsOverride(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Per-call overrides of the call type's settings; unset fields keep the default."""

    video_enabled: bool | None = None
    backstage_enabled: bool | None = None
    ring: RingSettings | None = None


class CallData(msgspec.Struct, kw_only=True):
    """A call: identity, settings, custom data and its current session."""

    cid: str
    id: str
    type: str
    created_by: UserData
    created_at: str
    updated_at: str
    custom: Custom
    settings: CallSettingsData
    backstage: bool
    """True while a backstage call is not live."""
    team: str | None = None
    """The team the call belongs to (Stream's multi-tenancy); filterable in queries."""
    recording: bool = False
    ringing: bool = False
    ring_video: bool | None = None
    """Whether the call's last ring was a video call; null if it was never rung (or since a
    coordinator restart): call histories show audio or video from it."""
    ended_at: str | None = None
    session: SessionData | None = None
    pins: list[PinData] = []


class CallResponse(msgspec.Struct, kw_only=True):
    """What call requests answer with: the call as the asking user sees it."""

    call: CallData
    members: list[MemberData]
    own_capabilities: list[Capability]
    created: bool = False
    """For get_or_create: whether this request created the call."""
    session_id: str | None = None
    """For join: the session this connection now holds."""
