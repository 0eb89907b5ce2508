"""Call types: their default settings and what each role may do in them.

A call type (``default``, ``audio``, ``audio_room``, ``livestream``, ``development``) fixes
the defaults a call starts with (camera on or off, ring timeouts, backstage) and a grant
table from role to capabilities. A call can override the settings, never the grants; grants
are changed per user per call through permission updates.

Roles inside a call: ``admin`` (a user whose token says so), ``host`` (the creator),
``call_member`` (added as a member), ``user`` (anyone else).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import msgspec

from streamcall_widget.errors import InputError

__all__ = [
    "CALL_TYPES",
    "REQUESTABLE",
    "RING_TIMEOUT_DEFAULT_MS",
    "RING_TIMEOUT_MAX_MS",
    "RING_TIMEOUT_MIN_MS",
    "CallSettings",
    "CallType",
    "Capability",
    "RingSettings",
    "Role",
    "call_type",
]

RING_TIMEOUT_MIN_MS = 5_000
RING_TIMEOUT_MAX_MS = 180_000
RING_TIMEOUT_DEFAULT_MS = 30_000


class Capability(enum.StrEnum):
    """What a user may do in a call; the values are Stream's capability names."""

    CREATE_CALL = "create-call"
    READ_CALL = "read-call"
    JOIN_CALL = "join-call"
    JOIN_BACKSTAGE = "join-backstage"
    SEND_AUDIO = "send-audio"
    SEND_VIDEO = "send-video"
    SCREENSHARE = "screenshare"
    END_CALL = "end-call"
    UPDATE_CALL = "update-call"
    UPDATE_CALL_MEMBER = "update-call-member"
    UPDATE_CALL_PERMISSIONS = "update-call-permissions"
    PIN_FOR_EVERYONE = "pin-for-everyone"
    START_RECORD_CALL = "start-record-call"
    STOP_RECORD_CALL = "stop-record-call"
    SEND_EVENT = "send-event"


#: Capabilities a participant may ask for with a permission request.
REQUESTABLE = frozenset({Capability.SEND_AUDIO, Capability.SEND_VIDEO, Capability.SCREENSHARE})


class Role(enum.StrEnum):
    """A user's role inside one call."""

    ADMIN = "admin"
    HOST = "host"
    CALL_MEMBER = "call_member"
    USER = "user"


class RingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Ring timeouts, each 5 000 to 180 000 ms."""

    auto_cancel_timeout_ms: int = RING_TIMEOUT_DEFAULT_MS
    """Caller side: the ring is dropped with reason ``timeout`` if nobody accepted by then."""
    incoming_call_timeout_ms: int = RING_TIMEOUT_DEFAULT_MS
    """Callee side: a callee who neither accepts nor rejects misses the call (``timeout``)."""
    missed_call_timeout_ms: int = RING_TIMEOUT_DEFAULT_MS
    """Accepted for Stream compatibility, with no effect here: a callee who is offline when
    the ring begins misses the call at once (reason ``offline``)."""

    def __post_init__(self) -> None:
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if not RING_TIMEOUT_MIN_MS <= value <= RING_TIMEOUT_MAX_MS:
                # ValueError: msgspec turns it into a ValidationError naming the field path.
                raise ValueError(
                    f"ring setting {field}={value} is out of range; allowed "
                    f"{RING_TIMEOUT_MIN_MS}..{RING_TIMEOUT_MAX_MS} ms"
                )


class CallSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The settings a call runs with: its type's defaults, then the call's overrides."""

    video_enabled: bool = True
    """Whether participants start with the camera on."""
    backstage_enabled: bool = False
    """While the call is not live only users with ``join-backstage`` may join."""
    ring: RingSettings = RingSettings()


class CallType(msgspec.Struct, frozen=True, kw_only=True):
    """One call type: its name, default settings and the grant table."""

    name: str
    settings: CallSettings
    grants: Mapping[Role, frozenset[Capability]]

    def capabilities(self, role: Role) -> frozenset[Capability]:
        """Capabilities the role has in calls of this type."""
        return self.grants.get(role, frozenset())


_ALL = frozenset(Capability)
_MEDIA = frozenset({Capability.SEND_AUDIO, Capability.SEND_VIDEO, Capability.SCREENSHARE})
_MEMBER = frozenset(
    {Capability.READ_CALL, Capability.JOIN_CALL, Capability.SEND_EVENT, Capability.CREATE_CALL}
)
_HOST = _ALL
_USER = frozenset({Capability.CREATE_CALL})


def _meeting(name: str, *, video: bool) -> CallType:
    return CallType(
        name=name,
        settings=CallSettings(video_enabled=video),
        grants={
            Role.ADMIN: _ALL,
            Role.HOST: _HOST,
            Role.CALL_MEMBER: _MEMBER | _MEDIA | {Capability.END_CALL},
            Role.USER: _USER,
        },
    )


def _broadcast(name: str, *, video: bool) -> CallType:
    """Backstage types: viewers join and listen; the host (and those granted) send."""
    audience = frozenset({Capability.READ_CALL, Capability.JOIN_CALL, Capability.SEND_EVENT})
    return CallType(
        name=name,
        settings=CallSettings(video_enabled=video, backstage_enabled=True),
        grants={
            Role.ADMIN: _ALL,
            Role.HOST: _HOST,
            Role.CALL_MEMBER: audience | {Capability.CREATE_CALL},
            Role.USER: audience | _USER,
        },
    )


CALL_TYPES: Mapping[str, CallType] = {
    t.name: t
    for t in (
        _meeting("default", video=True),
        _meeting("audio", video=False),
        _broadcast("audio_room", video=False),
        _broadcast("livestream", video=True),
        CallType(
            name="development",
            settings=CallSettings(video_enabled=True),
            grants=dict.fromkeys(Role, _ALL),
        ),
    )
}


def call_type(name: str) -> CallType:
    """The call type called ``name``, or an InputError listing the known ones."""
    try:
        return CALL_TYPES[name]
    except KeyError:
        raise InputError(
            f"unknown call type {name!r}; allowed: {', '.join(sorted(CALL_TYPES))}"
        ) from None
