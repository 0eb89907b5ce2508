"""The coordinator's in-memory records of users, connections and calls.

Plain mutable records owned by :class:`~.control.CallControl`; they turn themselves into
the wire shapes of :mod:`streamcall_widget.protocol.models` and back (for the call store).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamcall_widget.protocol.call_types import (
    REQUESTABLE,
    CallSettings,
    CallType,
    Capability,
    Role,
    call_type,
)
from streamcall_widget.protocol.models import (
    CallData,
    CallSettingsData,
    Custom,
    MemberData,
    ParticipantCount,
    ParticipantData,
    PinData,
    SessionData,
    TrackType,
    UserData,
    iso,
    parse_iso,
)
from streamcall_widget.protocol.ringing import Ring

__all__ = [
    "CallRecord",
    "ConnectionRecord",
    "Member",
    "Participant",
    "UserRecord",
    "record_from_data",
]


@dataclass
class UserRecord:
    """A user of one app, upserted each time they connect."""

    id: str
    created_at: float
    updated_at: float
    name: str | None = None
    image: str | None = None
    custom: Custom = field(default_factory=dict)
    role: str = "user"
    connections: set[str] = field(default_factory=set)
    push_provider: str | None = None
    """The push provider this user registered (``push.register``), if any."""
    voip_provider: str | None = None
    """The VoIP provider this user registered, if any."""

    @property
    def push_registered(self) -> bool:
        """Whether a ring can reach this user through a push provider while offline."""
        return self.push_provider is not None or self.voip_provider is not None

    def to_data(self) -> UserData:
        """The wire shape, with presence."""
        return UserData(
            id=self.id,
            name=self.name,
            image=self.image,
            custom=self.custom,
            role=self.role,
            online=bool(self.connections),
            created_at=iso(self.created_at),
            updated_at=iso(self.updated_at),
        )


@dataclass
class ConnectionRecord:
    """One authenticated WebSocket connection."""

    id: str
    app: str
    user_id: str
    role: str
    """Global role from the token: ``user`` or ``admin``."""
    call_cids: frozenset[str] | None
    """Calls a restricted (call) token gives access to; None for an unrestricted token."""
    sessions: dict[str, str] = field(default_factory=dict)
    """cid -> session id this connection holds in that call."""
    resume_digest: str = ""
    """SHA-256 (hex) of the resume token its auth result gave; empty: cannot be resumed."""


@dataclass
class Member:
    """A member of a call."""

    user_id: str
    role: Role
    created_at: float
    custom: Custom = field(default_factory=dict)


@dataclass
class Participant:
    """A joined session."""

    session_id: str
    user_id: str
    connection_id: str
    joined_at: float
    published: set[TrackType] = field(default_factory=set)
    on_hold: bool = False


@dataclass
class CallRecord:
    """A call of one app: durable fields (stored) and live ones (session, ring)."""

    app: str
    type: CallType
    id: str
    created_by: str
    created_at: float
    updated_at: float
    settings: CallSettings
    custom: Custom = field(default_factory=dict)
    team: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    backstage: bool = False
    recording: bool = False
    recorder: str | None = None
    """The session writing the recording: when it leaves, the recording stops."""
    ended_at: float | None = None
    pins: list[PinData] = field(default_factory=list)
    grants: dict[str, set[Capability]] = field(default_factory=dict)
    revokes: dict[str, set[Capability]] = field(default_factory=dict)
    session_id: str | None = None
    session_started_at: float | None = None
    session_ended_at: float | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    accepted_by: dict[str, str] = field(default_factory=dict)
    rejected_by: dict[str, str] = field(default_factory=dict)
    missed_by: dict[str, str] = field(default_factory=dict)
    ring: Ring | None = None
    ring_video: bool = True
    """Whether the current ring is a video call."""
    rung: bool = False
    """Whether the call was ever rung: a rung call of two members is one-to-one."""
    pushed: set[str] = field(default_factory=set)
    """Callees of the current ring who were rung through push and have not answered yet:
    each gets a ``call.missed`` notice when the ring ends without them."""

    @property
    def cid(self) -> str:
        """``type:id``."""
        return f"{self.type.name}:{self.id}"

    @property
    def ringing(self) -> bool:
        """True while a ring is in progress."""
        return self.ring is not None and not self.ring.over

    @property
    def ongoing(self) -> bool:
        """True while someone is joined."""
        return bool(self.participants)

    @property
    def one_to_one(self) -> bool:
        """A rung call between exactly two members: one party leaving ends it."""
        return self.rung and len(self.members) == 2

    def session_of(self, user_id: str) -> list[Participant]:
        """The joined sessions of ``user_id``."""
        return [p for p in self.participants.values() if p.user_id == user_id]

    def role_of(self, user_id: str, global_role: str, call_cids: frozenset[str] | None) -> Role:
        """The user's role in this call."""
        if global_role == Role.ADMIN:
            return Role.ADMIN
        member = self.members.get(user_id)
        if member is not None:
            return member.role
        if call_cids is not None and self.cid in call_cids:
            return Role.CALL_MEMBER
        return Role.USER

    def capabilities(self, conn: ConnectionRecord) -> set[Capability]:
        """What ``conn``'s user may do in this call now."""
        role = self.role_of(conn.user_id, conn.role, conn.call_cids)
        caps = set(self.type.capabilities(role)) | self.grants.get(conn.user_id, set())
        return caps - self.revokes.get(conn.user_id, set())

    def to_data(self, users: dict[str, UserRecord]) -> CallData:
        """The wire shape."""
        session = None
        if self.session_id is not None:
            session = SessionData(
                id=self.session_id,
                started_at=iso(self.session_started_at) if self.session_started_at else None,
                ended_at=iso(self.session_ended_at) if self.session_ended_at else None,
                participants=[self.participant_data(p, users) for p in self.participants.values()],
                participant_count=ParticipantCount(total=len(self.participants)),
                accepted_by=dict(self.accepted_by),
                rejected_by=dict(self.rejected_by),
                missed_by=dict(self.missed_by),
            )
        return CallData(
            cid=self.cid,
            id=self.id,
            type=self.type.name,
            created_by=users[self.created_by].to_data(),
            created_at=iso(self.created_at),
            updated_at=iso(self.updated_at),
            custom=self.custom,
            settings=CallSettingsData(
                video_enabled=self.settings.video_enabled,
                backstage_enabled=self.settings.backstage_enabled,
                ring=self.settings.ring,
            ),
            backstage=self.backstage,
            team=self.team,
            recording=self.recording,
            ringing=self.ringing,
            ring_video=self.ring_video if self.rung else None,
            ended_at=iso(self.ended_at) if self.ended_at is not None else None,
            session=session,
            pins=list(self.pins),
        )

    def members_data(self, users: dict[str, UserRecord]) -> list[MemberData]:
        """Members in the wire shape, oldest first."""
        return [
            MemberData(
                user_id=m.user_id,
                user=users[m.user_id].to_data(),
                role=m.role,
                custom=m.custom,
                created_at=iso(m.created_at),
            )
            for m in self.members.values()
        ]

    def participant_data(self, p: Participant, users: dict[str, UserRecord]) -> ParticipantData:
        """One participant in the wire shape."""
        member = self.members.get(p.user_id)
        return ParticipantData(
            user_id=p.user_id,
            session_id=p.session_id,
            user=users[p.user_id].to_data(),
            joined_at=iso(p.joined_at),
            published_tracks=sorted(p.published),
            roles=[member.role] if member else [],
            on_hold=p.on_hold,
            send_capabilities=self.send_capabilities(p.user_id, users),
        )

    def send_capabilities(self, user_id: str, users: dict[str, UserRecord]) -> list[Capability]:
        """What ``user_id`` may send in this call now, as every receiver is told."""
        caps = self.capabilities(ConnectionRecord("", self.app, user_id, users[user_id].role, None))
        return sorted(c for c in caps if c in REQUESTABLE)


def record_from_data(app: str, call: CallData, members: list[MemberData]) -> CallRecord:
    """Rebuild a stored call's durable part (its session is restored by the caller)."""
    ended = parse_iso(call.ended_at) if call.ended_at else None
    return CallRecord(
        app=app,
        type=call_type(call.type),
        id=call.id,
        created_by=call.created_by.id,
        created_at=parse_iso(call.created_at),
        updated_at=parse_iso(call.updated_at),
        settings=CallSettings(
            video_enabled=call.settings.video_enabled,
            backstage_enabled=call.settings.backstage_enabled,
            ring=call.settings.ring,
        ),
        custom=call.custom,
        team=call.team,
        members={
            m.user_id: Member(m.user_id, Role(m.role), parse_iso(m.created_at), m.custom)
            for m in members
        },
        backstage=call.backstage,
        recording=call.recording,
        ended_at=ended,
        pins=[],
    )
