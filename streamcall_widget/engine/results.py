"""What ``StreamCall`` methods resolve to, shaped like the plugin's responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamcall_widget.protocol.lifecycle import CallMember
from streamcall_widget.protocol.models import CallResponse, parse_iso

__all__ = [
    "CallSummary",
    "CameraEnabled",
    "CurrentUser",
    "DynamicApiKey",
    "ErrorReport",
    "MicrophoneEnabled",
    "QueryCallsResult",
    "SuccessResponse",
]


@dataclass(frozen=True)
class SuccessResponse:
    """The operation was carried out (failures raise instead)."""

    success: bool = True


@dataclass(frozen=True)
class CameraEnabled:
    """``is_camera_enabled()``."""

    enabled: bool


@dataclass(frozen=True)
class MicrophoneEnabled:
    """``is_microphone_enabled()``."""

    enabled: bool


@dataclass(frozen=True)
class DynamicApiKey:
    """``get_dynamic_api_key()``: the key that overrides the configured one, if any."""

    api_key: str | None
    has_dynamic_key: bool


@dataclass(frozen=True)
class CurrentUser:
    """``get_current_user()``."""

    user_id: str
    name: str
    image_url: str
    is_logged_in: bool


@dataclass(frozen=True)
class CallSummary:
    """A call as the coordinator keeps it (``query_calls()``, ``get_or_create_call()``);
    times are epoch seconds."""

    cid: str
    """``type:id``."""
    id: str
    """The call's id within its type."""
    type: str
    """The call type (``default``, ``audio_room``...)."""
    created_by: CallMember
    """Who created the call."""
    members: tuple[CallMember, ...]
    """The call's members, with their roles."""
    created_at: float
    """When the call was created."""
    ended_at: float | None
    """When the call ended for everyone (None: not ended)."""
    started_at: float | None
    """When its current (or last) session started (None: nobody joined yet)."""
    participant_count: int
    """How many sessions are in the call now."""
    ringing: bool
    """Whether a ring is under way."""
    custom: dict[str, Any] = field(default_factory=dict)
    """The call's custom data."""
    own_capabilities: tuple[str, ...] = ()
    """What the asking user may do in the call."""
    created: bool = False
    """Whether this very request created the call (``get_or_create_call``)."""

    @classmethod
    def from_response(cls, response: CallResponse) -> CallSummary:
        """The public view of a wire ``CallResponse``."""
        data, session = response.call, response.call.session
        started = session.started_at if session is not None else None
        return cls(
            cid=data.cid,
            id=data.id,
            type=data.type,
            created_by=CallMember.from_user(data.created_by),
            members=tuple(CallMember.from_member(m) for m in response.members),
            created_at=parse_iso(data.created_at),
            ended_at=parse_iso(data.ended_at) if data.ended_at else None,
            started_at=parse_iso(started) if started else None,
            participant_count=len(session.participants) if session is not None else 0,
            ringing=data.ringing,
            custom=dict(data.custom),
            own_capabilities=tuple(str(c) for c in response.own_capabilities),
            created=response.created,
        )


@dataclass(frozen=True)
class QueryCallsResult:
    """One page of ``query_calls()``; pass ``next`` back for the following page."""

    calls: tuple[CallSummary, ...]
    """The calls found, in the order asked."""
    next: str | None
    """The cursor of the next page (None: this is the last)."""


@dataclass(frozen=True)
class ErrorReport:
    """The ``error`` event: something failed that must not stop the engine."""

    where: str
    """What was running: a listener, a hook, opening a device..."""
    error: BaseException
