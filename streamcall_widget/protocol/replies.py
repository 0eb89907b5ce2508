"""Coordinator-to-client replies: the ``data`` of each ``result`` frame, typed.

The coordinator builds these Structs and the client decodes into the same ones, so the two
ends cannot drift (they used to: the client re-declared the auth result and the query page
against dicts built in the server). :data:`REPLIES` says which reply each request gets;
``None`` means the result's ``data`` is ``null`` (the request only causes events).
"""

from __future__ import annotations

import msgspec

from . import requests as rq
from .models import CallResponse, UserData

__all__ = [
    "REPLIES",
    "REPLY_TYPES",
    "AuthResult",
    "CallResponse",
    "CallsPage",
    "OnlineUsersPage",
    "PingResult",
    "PushRegistration",
    "ResumeResult",
    "ResumedSession",
    "ServerLimits",
    "UsersPage",
]


class ServerLimits(msgspec.Struct, kw_only=True):
    """The limits the coordinator announces in its auth result."""

    max_message_bytes: int
    """A larger client message closes the connection with 1009."""
    rate_per_second: float
    """Sustained client messages per second before ``RATE_LIMITED``."""
    idle_timeout: float
    """Seconds without a client message before the coordinator closes the connection."""
    session_grace: float = 0.0
    """Seconds the call sessions of a dropped connection wait for ``session.resume``
    (0 from a server that cannot resume)."""


class AuthResult(msgspec.Struct, kw_only=True):
    """What the coordinator answers to ``auth``."""

    connection_id: str
    """This connection's id; name it in ``session.resume`` after a drop."""
    user: UserData
    """The user as stored, upserted from ``auth.user``."""
    protocol_version: int
    server_time: str
    """The server's clock (RFC 3339), to estimate skew."""
    limits: ServerLimits | None = None
    """None from a server that announces no limits: then nothing is sent to keep alive."""
    resume_token: str | None = None
    """A secret that lets this user take this connection's sessions back after a drop
    (``session.resume``); None from a server that cannot resume. Keep it private."""


class PingResult(msgspec.Struct, kw_only=True):
    """What ``ping`` answers."""

    server_time: str


class CallsPage(msgspec.Struct, kw_only=True):
    """One page of ``calls.query``."""

    calls: list[CallResponse]
    next: str | None = None
    """The cursor of the next page; None on the last one."""


class UsersPage(msgspec.Struct, kw_only=True):
    """What ``users.query`` answers: the known users among those asked for."""

    users: list[UserData]


class OnlineUsersPage(msgspec.Struct, kw_only=True):
    """One page of ``users.online``: other users of the app with a live connection."""

    users: list[UserData]
    next: str | None = None
    """The cursor of the next page; None on the last one."""


class ResumedSession(msgspec.Struct, kw_only=True, frozen=True):
    """One call session a ``session.resume`` moved to the new connection."""

    cid: str
    session_id: str
    """The participant session id, the same as before the drop."""


class ResumeResult(msgspec.Struct, kw_only=True):
    """What ``session.resume`` answers: the sessions this connection now holds again."""

    sessions: list[ResumedSession]
    """One per call the old connection had joined and that still holds its session
    (a call that ended or a session replaced meanwhile is left out)."""


class PushRegistration(msgspec.Struct, kw_only=True):
    """What ``push.register`` and ``push.unregister`` answer: the user's registration now
    (both names null: none, rings reach the user only while connected)."""

    push_provider_name: str | None = None
    voip_provider_name: str | None = None


REPLY_TYPES: tuple[type[msgspec.Struct], ...] = (
    AuthResult,
    PingResult,
    CallResponse,
    CallsPage,
    UsersPage,
    OnlineUsersPage,
    ResumeResult,
    PushRegistration,
)
"""Every reply shape. Not a tagged union: the request a result answers says which."""

REPLIES: dict[type[rq.Request], type[msgspec.Struct] | None] = {
    rq.Auth: AuthResult,
    rq.ResumeSession: ResumeResult,
    rq.Ping: PingResult,
    rq.GetOrCreateCall: CallResponse,
    rq.GetCall: CallResponse,
    rq.RingCall: CallResponse,
    rq.AcceptCall: CallResponse,
    rq.RejectCall: CallResponse,
    rq.JoinCall: CallResponse,
    rq.LeaveCall: CallResponse,
    rq.EndCall: CallResponse,
    rq.UpdateCall: CallResponse,
    rq.UpdateMembers: CallResponse,
    rq.SendSignal: None,
    rq.PublishTrack: None,
    rq.RequestPermissions: None,
    rq.UpdatePermissions: None,
    rq.PinParticipant: None,
    rq.UnpinParticipant: None,
    rq.StartRecording: None,
    rq.StopRecording: None,
    rq.GoLive: CallResponse,
    rq.StopLive: CallResponse,
    rq.SendCustomEvent: None,
    rq.HoldCall: None,
    rq.SendDtmf: None,
    rq.SendMessage: None,
    rq.SendInfo: None,
    rq.SendData: None,
    rq.QueryCalls: CallsPage,
    rq.QueryUsers: UsersPage,
    rq.OnlineUsers: OnlineUsersPage,
    rq.RegisterPush: PushRegistration,
    rq.UnregisterPush: PushRegistration,
}
"""Request type -> the Struct its result's ``data`` decodes into (None: ``data`` is null)."""
