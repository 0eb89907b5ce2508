"""One call as the local user lives it: its phase, and the ``callEvent`` payloads it emits.

Sans-I/O, like the rest of :mod:`streamcall_widget.protocol`: the engine feeds in what the
user did (``ring_outgoing``, ``joining``, ``joined``, ``leaving``, ``left``) and what the
coordinator said (``receive(event)``) and gets back the :class:`CallEvent` values to hand
to listeners. Each phase change is computed in one place (:meth:`CallLifecycle._move`),
checked against the allowed transitions, logged as ``"%s -> %s"`` and emitted only when it
changes; a local action in the wrong phase raises ``InvalidState`` naming the phase.

The ``state`` words are the Stream Call plugin's ``CallState`` values, so they read the
same in Python, in widget traits and in the plugin's documentation.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from streamcall_widget.errors import InvalidState

from .events import (
    AnyEvent,
    CallAccepted,
    CallCreated,
    CallEnded,
    CallMissed,
    CallRejected,
    CallSessionStarted,
    ParticipantJoined,
    ParticipantLeft,
    TrackPublished,
    TrackUnpublished,
)
from .models import MemberData, TrackType, UserData

__all__ = [
    "PHASES",
    "CallEvent",
    "CallLifecycle",
    "CallMember",
    "CallState",
    "Direction",
    "IncomingCall",
    "track_state",
]

logger = logging.getLogger(__name__)


class CallState(enum.StrEnum):
    """The plugin's CallState words: a call's phase, or what just happened to it."""

    IDLE = "idle"
    RINGING = "ringing"
    JOINING = "joining"
    RECONNECTING = "reconnecting"
    JOINED = "joined"
    LEAVING = "leaving"
    LEFT = "left"
    CREATED = "created"
    SESSION_STARTED = "session_started"
    REJECTED = "rejected"
    PARTICIPANT_COUNTS = "participant_counts"
    MISSED = "missed"
    ACCEPTED = "accepted"
    ENDED = "ended"
    CAMERA_ENABLED = "camera_enabled"
    CAMERA_DISABLED = "camera_disabled"
    SPEAKER_ENABLED = "speaker_enabled"
    SPEAKER_DISABLED = "speaker_disabled"
    MICROPHONE_ENABLED = "microphone_enabled"
    MICROPHONE_DISABLED = "microphone_disabled"
    OUTGOING_CALL_ENDED = "outgoing_call_ended"
    LOCAL_SHARE_CREATED = "local_share_created"
    LOCAL_SHARE_CLOSED = "local_share_closed"
    SCREEN_SHARE_CREATED = "screen_share_created"
    SCREEN_SHARE_CLOSED = "screen_share_closed"
    HELD = "held"
    UNHELD = "unheld"
    DEAFENED = "deafened"
    UNDEAFENED = "undeafened"
    PINNED = "pinned"
    UNPINNED = "unpinned"
    UNKNOWN = "unknown"


class Direction(enum.StrEnum):
    """How the local user came to the call."""

    OUTGOING = "outgoing"
    """The user called (``call()``)."""
    INCOMING = "incoming"
    """The user was rung."""
    JOINED = "joined"
    """The user joined an existing call by id (``join_call()``)."""


@dataclass(frozen=True)
class CallMember:
    """A member of a call, as the plugin's ``CallMember``."""

    user_id: str
    """The member's user id (always present)."""
    name: str | None = None
    """Display name."""
    image_url: str | None = None
    """Avatar URL."""
    role: str | None = None
    """The member's role in the call (``call_member``, ``host``, ``admin``...)."""

    @classmethod
    def from_user(cls, user: UserData, role: str | None = None) -> CallMember:
        """The member view of a wire user."""
        return cls(user.id, user.name, user.image, role)

    @classmethod
    def from_member(cls, member: MemberData) -> CallMember:
        """The member view of a wire member."""
        return cls.from_user(member.user, member.role)


@dataclass(frozen=True)
class CallEvent:
    """The ``callEvent`` payload: one state change of one call."""

    call_id: str
    """The call's id (the part of the cid after ``type:``)."""
    state: CallState
    """What the call is now, or what just happened to it."""
    user_id: str | None = None
    """The user who caused the change (who accepted, rejected, muted...)."""
    reason: str | None = None
    """Why, where one is known (``decline``, ``timeout``, ``busy``, ``cancel``, ``left``...)."""
    caller: CallMember | None = None
    """Who is calling (incoming and outgoing rings)."""
    members: tuple[CallMember, ...] = ()
    """The call's members, where the event carries them."""
    custom: dict[str, Any] = field(default_factory=dict)
    """The call's custom data."""
    count: int | None = None
    """The number of participants, for ``participant_counts``."""
    call_type: str = "default"
    """The call's type (with ``call_id``, its cid is ``f"{call_type}:{call_id}"``)."""
    headers: dict[str, str] = field(default_factory=dict)
    """The ``X-`` headers the user sent with the action (seed 001's ``headers`` of
    ``answer``, ``reject`` and ``hangup``): on ``accepted``, ``rejected``, ``ended`` and
    ``participant_counts`` (a leave); empty otherwise."""


@dataclass(frozen=True)
class IncomingCall:
    """The ``incomingCall`` payload."""

    cid: str
    """The call's full id, e.g. ``default:123``."""
    caller: CallMember
    """Who is calling."""
    custom: dict[str, Any] = field(default_factory=dict)
    """The call's custom data."""
    type: str = "incoming"
    """Always ``incoming``."""
    video: bool = True
    """Whether the caller asked for video."""


_ALLOWED: dict[CallState, frozenset[CallState]] = {
    CallState.IDLE: frozenset({CallState.RINGING, CallState.JOINING, CallState.LEFT}),
    CallState.RINGING: frozenset({CallState.JOINING, CallState.LEFT}),
    CallState.JOINING: frozenset(
        {CallState.JOINED, CallState.RECONNECTING, CallState.LEAVING, CallState.LEFT}
    ),
    CallState.JOINED: frozenset({CallState.RECONNECTING, CallState.LEAVING, CallState.LEFT}),
    CallState.RECONNECTING: frozenset({CallState.JOINED, CallState.LEAVING, CallState.LEFT}),
    CallState.LEAVING: frozenset({CallState.LEFT}),
    CallState.LEFT: frozenset(),
}

PHASES = frozenset(_ALLOWED)
"""The CallState words that are a call's phase; the others say what happened to it."""

_TRACK_STATES = {
    (TrackType.VIDEO, True): CallState.CAMERA_ENABLED,
    (TrackType.VIDEO, False): CallState.CAMERA_DISABLED,
    (TrackType.AUDIO, True): CallState.MICROPHONE_ENABLED,
    (TrackType.AUDIO, False): CallState.MICROPHONE_DISABLED,
    (TrackType.SCREEN_SHARE, True): CallState.SCREEN_SHARE_CREATED,
    (TrackType.SCREEN_SHARE, False): CallState.SCREEN_SHARE_CLOSED,
}


def track_state(track_type: TrackType, published: bool) -> CallState | None:
    """The CallState word for a camera, microphone or screen share turning on or off, as
    others see it (None: other tracks)."""
    return _TRACK_STATES.get((track_type, published))


class CallLifecycle:
    """The phase of one call for the local user, and the events its changes emit."""

    def __init__(
        self,
        cid: str,
        self_user_id: str,
        direction: Direction,
        *,
        caller: CallMember | None = None,
        members: tuple[CallMember, ...] = (),
        custom: dict[str, Any] | None = None,
    ) -> None:
        self.call_type, _, self.call_id = cid.partition(":")
        self.cid = cid
        self.self_user_id = self_user_id
        self.direction = direction
        self.caller = caller
        self.members = members
        self.custom = custom if custom is not None else {}
        self.phase = CallState.IDLE
        self.previous_phase: CallState | None = None
        """The phase before the last change (None while the call is still ``idle``)."""
        self.participant_count = 0
        """Participants in the session; the engine keeps it current before ``receive``."""
        self.accepted_by: str | None = None
        self.reason: str | None = None
        """Why the phase last changed, when the change had a reason (why the call was left)."""

    # -- what the local user does ---------------------------------------------------------

    def ringing(self) -> list[CallEvent]:
        """The call rings: rung (incoming) or ringing others (outgoing)."""
        return [self._move(CallState.RINGING, user_id=self._caller_id())]

    def accepting(self, started: bool = True) -> None:
        """This client is accepting the ring (``started=False``: the accept failed).

        Marked before the request goes out, so the coordinator's ``call.accepted`` echo is
        told apart from the same user accepting on another device.
        """
        self.accepted_by = self.self_user_id if started else None

    def accepted(self) -> list[CallEvent]:
        """The local user accepted the ring (the coordinator's echo is then not repeated)."""
        return [self._event(CallState.ACCEPTED, user_id=self.self_user_id)]

    def joining(self) -> list[CallEvent]:
        """The engine starts joining the call's session."""
        return [self._move(CallState.JOINING, user_id=self.self_user_id)]

    def joined(self) -> list[CallEvent]:
        """The session is joined (media connects peer by peer from here)."""
        return [self._move(CallState.JOINED, user_id=self.self_user_id)]

    def reconnecting(self, reason: str) -> list[CallEvent]:
        """The coordinator connection dropped; the engine is getting back into the call."""
        return [self._move(CallState.RECONNECTING, user_id=self.self_user_id, reason=reason)]

    def leaving(self) -> list[CallEvent]:
        """The local user hangs up."""
        return [self._move(CallState.LEAVING, user_id=self.self_user_id)]

    def left(self, reason: str = "left") -> list[CallEvent]:
        """The local user is out of the call (idempotent)."""
        if self.phase is CallState.LEFT:
            return []
        return [self._move(CallState.LEFT, user_id=self.self_user_id, reason=reason)]

    def note(self, state: CallState, **fields: Any) -> CallEvent:
        """An event that is not a phase change (camera/microphone/speaker toggles)."""
        return self._event(state, **fields)

    @property
    def active(self) -> bool:
        """Whether the call is neither idle nor over."""
        return self.phase not in (CallState.IDLE, CallState.LEFT)

    @property
    def in_session(self) -> bool:
        """Whether the local user is (getting) into the call's media session."""
        return self.phase in (CallState.JOINING, CallState.JOINED, CallState.RECONNECTING)

    # -- what the coordinator says -------------------------------------------------------

    def receive(self, event: AnyEvent) -> list[CallEvent]:  # noqa: PLR0911 - one case per event
        """The callEvents one coordinator event of this call means for the local user."""
        match event:
            case CallCreated():
                return [self._event(CallState.CREATED, user_id=event.call.created_by.id)]
            case CallAccepted():
                if event.user.id == self.accepted_by == self.self_user_id:
                    return []
                self.accepted_by = event.user.id
                out = [
                    self._event(
                        CallState.ACCEPTED, user_id=event.user.id, headers=dict(event.headers)
                    )
                ]
                if self._rung_here():  # someone else, or this user on another device
                    mine = event.user.id == self.self_user_id
                    out += self.left("accepted_elsewhere" if mine else "accepted_by_other")
                return out
            case CallRejected() | CallMissed():
                state = CallState.REJECTED if isinstance(event, CallRejected) else CallState.MISSED
                headers = dict(event.headers) if isinstance(event, CallRejected) else {}
                out = [
                    self._event(state, user_id=event.user.id, reason=event.reason, headers=headers)
                ]
                if self._rung_here() and event.user.id == self.self_user_id:
                    out += self.left(str(event.reason))
                return out
            case CallEnded():
                return self._ended(event)
            case CallSessionStarted():
                return [self._event(CallState.SESSION_STARTED)]
            case ParticipantJoined() | ParticipantLeft():
                return [
                    self._event(
                        CallState.PARTICIPANT_COUNTS,
                        user_id=event.participant.user_id,
                        reason=getattr(event, "reason", "joined"),
                        count=self.participant_count,
                        headers=dict(getattr(event, "headers", {})),
                    )
                ]
            case TrackPublished() | TrackUnpublished():
                published = isinstance(event, TrackPublished)
                toggled = track_state(event.track_type, published)
                if toggled is None:
                    return []
                reason = None if published else getattr(event, "reason", None)
                return [self._event(toggled, user_id=event.user_id, reason=reason)]
        return []

    def _ended(self, event: CallEnded) -> list[CallEvent]:
        ender = event.user.id if event.user is not None else None
        ringing_out = self.direction is Direction.OUTGOING and self.phase is CallState.RINGING
        state = CallState.OUTGOING_CALL_ENDED if ringing_out else CallState.ENDED
        out = [self._event(state, user_id=ender, reason=event.reason, headers=dict(event.headers))]
        if self.phase is CallState.LEAVING:
            return out
        return out + self.left(event.reason)

    def _rung_here(self) -> bool:
        return self.direction is Direction.INCOMING and self.phase is CallState.RINGING

    def _caller_id(self) -> str | None:
        return self.caller.user_id if self.caller is not None else None

    # -- the one place a phase changes ---------------------------------------------------

    def _move(self, new: CallState, **fields: Any) -> CallEvent:
        assert new in PHASES
        if new not in _ALLOWED[self.phase]:
            raise InvalidState(f"call {self.cid} is {self.phase.value}; cannot become {new.value}")
        logger.debug("call %s: %s -> %s", self.cid, self.phase.value, new.value)
        self.previous_phase, self.phase = self.phase, new
        self.reason = _text(fields.get("reason"))
        return self._event(new, **fields)

    def _event(self, state: CallState, **fields: Any) -> CallEvent:
        fields["reason"] = _text(fields.get("reason"))
        return CallEvent(
            call_id=self.call_id,
            call_type=self.call_type,
            state=state,
            caller=self.caller,
            members=self.members,
            custom=self.custom,
            **fields,
        )

    def status(self) -> CallEvent:
        """The call's current phase as a callEvent (``get_call_status``)."""
        return self._event(self.phase, count=self.participant_count)


def _text(reason: object) -> str | None:
    """A reason as plain text (a wire ``RejectReason`` is a ``str`` enum: its value)."""
    return None if reason is None else str(reason)
