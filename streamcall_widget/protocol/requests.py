"""Client-to-coordinator requests.

Every request is a JSON object with a ``type`` (the tag below) and an ``id`` chosen by the
client (1 to 64 characters); the coordinator answers each with exactly one ``result`` or
``error`` frame carrying the same ``id``. The first request on a connection must be
``auth``. Call-scoped requests name the call by its ``cid`` (``"type:id"``).
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

import msgspec

from .call_types import Capability
from .headers import Headers
from .models import (
    Custom,
    MemberInput,
    RejectReason,
    SettingsOverride,
    Signal,
    TrackType,
    UserId,
    UserInput,
)
from .push import MAX_PROVIDER_NAME, PROVIDER_NAME

__all__ = [
    "REQUEST_TYPES",
    "AcceptCall",
    "AnyRequest",
    "Auth",
    "EndCall",
    "GetCall",
    "GetOrCreateCall",
    "GoLive",
    "HoldCall",
    "JoinCall",
    "LeaveCall",
    "OnlineUsers",
    "PinParticipant",
    "Ping",
    "PublishTrack",
    "QueryCalls",
    "QueryUsers",
    "RegisterPush",
    "RejectCall",
    "Request",
    "RequestPermissions",
    "ResumeSession",
    "RingCall",
    "SendCustomEvent",
    "SendData",
    "SendDtmf",
    "SendInfo",
    "SendMessage",
    "SendSignal",
    "StartRecording",
    "StopLive",
    "StopRecording",
    "UnpinParticipant",
    "UnregisterPush",
    "UpdateCall",
    "UpdateMembers",
    "UpdatePermissions",
]

RequestId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Cid = Annotated[str, msgspec.Meta(min_length=3, max_length=130, pattern=r"^[a-z_]+:[\w\-]+$")]
CallId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\w\-]+$")]
ProviderName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_PROVIDER_NAME, pattern=PROVIDER_NAME)
]


class Request(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=True):
    """Base of every request: the ``id`` the reply will echo."""

    id: RequestId


class Auth(Request, tag="auth"):
    """Authenticate the connection; must be the first message."""

    api_key: str
    token: str
    user: UserInput
    protocol_version: int = 1


class ResumeSession(Request, tag="session.resume"):
    """Take back the call sessions of a dropped connection of the same user.

    Send it right after ``auth`` on the new connection, naming the old connection and the
    ``resume_token`` its auth result gave. The sessions come back as they were (same
    session ids, published tracks, pins); other members see no leave and no join.
    """

    connection_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """The ``connection_id`` of the dropped connection's auth result."""
    resume_token: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """The secret ``resume_token`` of that same auth result."""


class Ping(Request, tag="ping"):
    """Keep an idle connection open; answered with the server time."""


class GetOrCreateCall(Request, tag="call.get_or_create"):
    """Get a call, creating it with these members and settings if it does not exist."""

    call_type: str
    call_id: CallId
    members: list[MemberInput] = []
    custom: Custom = {}
    settings_override: SettingsOverride | None = None
    ring: bool = False
    """Ring the other members once the call exists."""
    video: bool | None = None
    """Ring as a video call (defaults to the call's ``video_enabled``)."""
    team: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """The team the new call belongs to (ignored for an existing call)."""


class CallRequest(Request):
    """A request about one existing call."""

    cid: Cid


class GetCall(CallRequest, tag="call.get"):
    """The call as the asking user sees it."""


class RingCall(CallRequest, tag="call.ring"):
    """Ring members of an existing call (all other members when ``member_ids`` is empty)."""

    member_ids: list[UserId] = []
    video: bool | None = None


class AcceptCall(CallRequest, tag="call.accept"):
    """Accept the call that is ringing this user."""

    headers: Headers = {}


class RejectCall(CallRequest, tag="call.reject"):
    """Reject a ringing call; the caller rejecting is a cancel."""

    reason: RejectReason = RejectReason.DECLINE
    headers: Headers = {}


class JoinCall(CallRequest, tag="call.join"):
    """Join the call's session; the reply's ``session_id`` names this connection's session."""


class LeaveCall(CallRequest, tag="call.leave"):
    """Leave the call's session."""

    headers: Headers = {}


class EndCall(CallRequest, tag="call.end"):
    """End the call for everyone (needs ``end-call``)."""

    headers: Headers = {}


class UpdateCall(CallRequest, tag="call.update"):
    """Change custom data or settings (needs ``update-call``)."""

    custom: Custom | None = None
    settings_override: SettingsOverride | None = None


class UpdateMembers(CallRequest, tag="call.update_members"):
    """Add or remove members (needs ``update-call-member``)."""

    add: list[MemberInput] = []
    remove: list[UserId] = []


class SendSignal(CallRequest, tag="call.signal"):
    """Relay a WebRTC negotiation message to another joined session of the call."""

    session_id: str
    signal: Signal


class PublishTrack(CallRequest, tag="call.publish_track"):
    """Announce that this session publishes (or stopped publishing) a track: mute/unmute."""

    track_type: TrackType
    published: bool


class RequestPermissions(CallRequest, tag="call.request_permissions"):
    """Ask the call's moderators for capabilities (send-audio, send-video, screenshare)."""

    permissions: list[Capability]


class UpdatePermissions(CallRequest, tag="call.update_permissions"):
    """Grant or revoke capabilities of one user in this call (needs update-call-permissions)."""

    user_id: UserId
    grant: list[Capability] = []
    revoke: list[Capability] = []


class PinParticipant(CallRequest, tag="call.pin"):
    """Pin a session for everyone (needs ``pin-for-everyone``)."""

    session_id: str
    user_id: UserId


class UnpinParticipant(CallRequest, tag="call.unpin"):
    """Remove a pin for everyone (needs ``pin-for-everyone``)."""

    session_id: str
    user_id: UserId


class StartRecording(CallRequest, tag="call.start_recording"):
    """Mark the call as recording (needs ``start-record-call``)."""


class StopRecording(CallRequest, tag="call.stop_recording"):
    """Mark the call as not recording (needs ``stop-record-call``)."""


class GoLive(CallRequest, tag="call.go_live"):
    """Leave backstage: everyone with ``join-call`` may now join (needs ``update-call``)."""


class StopLive(CallRequest, tag="call.stop_live"):
    """Go back to backstage (needs ``update-call``)."""


class SendCustomEvent(CallRequest, tag="call.send_event"):
    """Fan free JSON data out to every member of the call (needs ``send-event``)."""

    custom: Custom


class HoldCall(CallRequest, tag="call.hold"):
    """Put this joined session on hold (``on_hold``) or take it off: recorded on the
    participant and announced to every member (``call.participant_hold``)."""

    on_hold: bool


DtmfDigit = Annotated[str, msgspec.Meta(pattern=r"^[0-9*#A-D]$")]
"""One DTMF digit: ``0``-``9``, ``*``, ``#``, ``A``-``D`` (upper case on the wire)."""


class SendDtmf(CallRequest, tag="call.dtmf"):
    """One DTMF digit this joined session is playing now, for the other members' ears and
    listeners (``call.dtmf`` event); the tone itself travels in the session's audio."""

    digit: DtmfDigit
    duration_ms: Annotated[int, msgspec.Meta(ge=40, le=6000)] = 100


class SendMessage(CallRequest, tag="call.send_message"):
    """A chat message to every joined session of the call, the sender's own included
    (needs ``send-event`` and a joined session; at most 4 KiB of UTF-8, not blank)."""

    text: str


class SendInfo(CallRequest, tag="call.send_info"):
    """An INFO message (seed 001's ``sendInfo``) to every other joined session: a MIME
    type, a body and ``X-`` headers (needs ``send-event`` and a joined session)."""

    mime_type: str
    body: str = ""
    headers: Headers = {}


class SendData(CallRequest, tag="call.send_data"):
    """Data to the other joined sessions, or to one user's or one session's (``to``);
    exactly one of ``text`` and ``binary`` (base64 in JSON), at most 32 KiB (needs
    ``send-event`` and a joined session)."""

    text: str | None = None
    binary: bytes | None = None
    to: str | None = None
    """A user id or a session id joined to the call; None: every other session."""


class SortParam(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One sort key of a query."""

    field: str
    direction: int = -1
    """1 ascending, -1 descending."""


class QueryCalls(Request, tag="calls.query"):
    """Calls the user may read, filtered, sorted and paged (see docs/protocol.md)."""

    filter_conditions: dict[str, Any] = {}
    sort: list[SortParam] = []
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 25
    next: str | None = None


class QueryUsers(Request, tag="users.query"):
    """Users by id with their presence (``online``)."""

    user_ids: Annotated[list[UserId], msgspec.Meta(max_length=100)]


class OnlineUsers(Request, tag="users.online"):
    """The other users of the app who have a live connection now: who can be called.

    Ordered by user id; ``next`` is the previous page's cursor. A connection with a
    call-restricted token (``call_cids``) sees only members of those calls.
    """

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    next: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    """The ``next`` of the previous page: users after it come next."""


class RegisterPush(Request, tag="push.register"):
    """Ring this user through push providers while they have no live connection.

    Names one or both of the coordinator's providers (seed 000's ``pushProviderName`` and
    ``voipProviderName``). The registration belongs to the user of this app and replaces any
    earlier one: registering again, from this or another connection, changes nothing twice.
    It outlives this connection (a dropped socket, a stopped kernel) until
    ``push.unregister``.
    """

    push_provider_name: ProviderName | None = None
    """The provider for ordinary notices (a missed call, a ring when no VoIP one is set)."""
    voip_provider_name: ProviderName | None = None
    """The provider for ring notices (a phone's VoIP push, which can show a call screen)."""


class UnregisterPush(Request, tag="push.unregister"):
    """Forget this user's push registration: rings reach them only while connected again."""


AnyRequest = (
    Auth
    | ResumeSession
    | Ping
    | GetOrCreateCall
    | GetCall
    | RingCall
    | AcceptCall
    | RejectCall
    | JoinCall
    | LeaveCall
    | EndCall
    | UpdateCall
    | UpdateMembers
    | SendSignal
    | PublishTrack
    | RequestPermissions
    | UpdatePermissions
    | PinParticipant
    | UnpinParticipant
    | StartRecording
    | StopRecording
    | GoLive
    | StopLive
    | SendCustomEvent
    | HoldCall
    | SendDtmf
    | SendMessage
    | SendInfo
    | SendData
    | QueryCalls
    | QueryUsers
    | OnlineUsers
    | RegisterPush
    | UnregisterPush
)
"""Every request type, as one tagged union."""

REQUEST_TYPES: tuple[type[Request], ...] = get_args(AnyRequest)
