"""Talking inside a call: chat messages, INFO messages, data and custom events.

The methods are a mixin of :class:`~streamcall_widget.engine.call.Call`; what arrives is
handed to the client's listeners as the frozen dataclasses below (``message``, ``info``,
``data`` and ``custom`` events).

**Paths.** Messages, INFO messages and custom events go through the coordinator only: it
orders them (everyone sees a chat in the same order, the sender's own message included),
checks their form and size, and stores nothing. Data goes over the WebRTC data channel of
each mesh link where one is open (peer to peer, no coordinator load, ``via="datachannel"``)
and through the coordinator to every session that has none (not open yet, closed, or a
transport without channels; ``via="coordinator"``), so nothing is dropped silently. The
two paths are each ordered, but data to one session may switch path between two sends.

**Limits.** The sizes of :mod:`streamcall_widget.protocol.messaging` (the coordinator
checks the same), and per call a token bucket for data (:data:`DATA_RATE`) and one for
messages and INFO (:data:`MESSAGE_RATE`): a send over the rate raises ``RateLimited``
and sends nothing; the coordinator's own per-connection limit applies on its path too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from streamcall_widget.coordinator.limits import RateLimiter
from streamcall_widget.errors import InvalidArguments, InvalidState, RateLimited
from streamcall_widget.protocol.events import (
    AnyEvent,
    CustomEvent,
    DataReceived,
    InfoReceived,
    MessageReceived,
)
from streamcall_widget.protocol.headers import check_headers
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.messaging import (
    check_body,
    check_custom,
    check_data,
    check_mime_type,
    check_text,
)
from streamcall_widget.protocol.requests import (
    Request,
    SendCustomEvent,
    SendData,
    SendInfo,
    SendMessage,
)

from .call_parts import CallParts
from .results import SuccessResponse
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from .participants import Participant, ParticipantTable

__all__ = [
    "CALL_MESSAGE_EVENTS",
    "DATA_RATE",
    "MESSAGE_RATE",
    "CallCustomEvent",
    "CallDataPacket",
    "CallInfo",
    "CallMessage",
    "CallMessaging",
    "MessagingHost",
]

T = TypeVar("T")

CALL_MESSAGE_EVENTS = ("message", "info", "data", "custom")
"""The listener events of this module: :class:`CallMessage`, :class:`CallInfo`,
:class:`CallDataPacket` and :class:`CallCustomEvent`."""

DATA_RATE = (50.0, 100)
"""``send_data`` per call: 50 sends a second, bursts of 100."""
MESSAGE_RATE = (5.0, 20)
"""``send_message`` and ``send_info`` per call: 5 a second, bursts of 20."""


@dataclass(frozen=True)
class CallMessage:
    """A chat message of the call (the ``message`` event), the local user's own included."""

    cid: str
    """The call (``type:id``)."""
    user_id: str
    """Who wrote it."""
    name: str
    """Their display name (the user id when they have none)."""
    text: str
    sent_at: str
    """When the coordinator took it (RFC 3339): the order everyone sees."""
    session_id: str
    """The sender's session."""
    own: bool
    """Whether this client's session sent it (a chat panel shows it on the right)."""


@dataclass(frozen=True)
class CallInfo:
    """An INFO message from another participant (the ``info`` event; seed 001's
    ``sendInfo``)."""

    cid: str
    user_id: str
    session_id: str
    mime_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    """Its ``X-`` headers."""


@dataclass(frozen=True)
class CallDataPacket:
    """Data from another participant (the ``data`` event; seed 002's data handler)."""

    cid: str
    user_id: str
    session_id: str
    """The sender's session."""
    data: bytes | str
    """As sent: ``bytes`` stay bytes, ``str`` stays str."""
    via: Literal["datachannel", "coordinator"]
    """The path it took: the link's WebRTC data channel, or the coordinator."""


@dataclass(frozen=True)
class CallCustomEvent:
    """A custom event a member sent to the call (the ``custom`` event; ``send_event``)."""

    cid: str
    user_id: str
    name: str
    custom: dict[str, Any]
    sent_at: str
    """When the coordinator took it (RFC 3339)."""


class MessagingHost(CallParts):
    """What the mixin reads from the call and its client (declared for type checking)."""

    if TYPE_CHECKING:
        _participants: ParticipantTable

        def _who(self, session_id: str) -> Participant | None: ...


class CallMessaging(MessagingHost):
    """``send_message``, ``send_info``, ``send_data``, ``send_event`` and their delivery."""

    async def _send_request(self, request: Request) -> None:
        await self._host.request(request, type(None))

    def _notify(self, event: str, payload: object) -> None:
        self._host.notify(event, payload)

    @threadsafe
    async def send_message(self, text: str) -> SuccessResponse:
        """Send a chat message to everyone in the call (seed 001's ``sendMessage``): a
        non-blank ``str`` of at most 4 KiB. Every session, this one included, gets it as a
        ``message`` event, in the order the coordinator took it."""
        request = SendMessage(id="", cid=self.cid, text=check_text(text))
        self._joined_session("send a message")
        self._take("message", MESSAGE_RATE)
        await self._send_request(request)
        return SuccessResponse()

    @threadsafe
    async def send_info(
        self, mime_type: str, body: str, headers: dict[str, str] | None = None
    ) -> SuccessResponse:
        """Send an INFO message to the others (seed 001's ``sendInfo``): ``mime_type`` is
        ``type/subtype`` with optional ``;name=value`` parameters (else ``InvalidMimeType``),
        ``body`` at most 16 KiB, ``headers`` up to 16 whose names start with ``X-``."""
        request = SendInfo(
            id="",
            cid=self.cid,
            mime_type=check_mime_type(mime_type),
            body=check_body(body),
            headers=check_headers(headers),
        )
        self._joined_session("send an INFO message")
        self._take("message", MESSAGE_RATE)
        await self._send_request(request)
        return SuccessResponse()

    @threadsafe
    async def send_data(self, data: bytes | str, to: str | None = None) -> SuccessResponse:
        """Send ``data`` (``bytes`` or ``str``, at most 32 KiB) to every other participant,
        or to ``to`` alone (a user id or a session id in the call): over the WebRTC data
        channel of each link that has one open, through the coordinator to the others."""
        payload = check_data(data)
        own = self._joined_session("send data")
        targets = self._targets(own, to)
        self._take("data", DATA_RATE)
        transport = self._links.transport
        missed = [
            p
            for p in targets
            if transport is None or not transport.send_data(p.session_id, payload)
        ]
        text, binary = (payload, None) if isinstance(payload, str) else (None, payload)
        if missed and len(missed) == len(targets) and to is None:
            await self._send_request(SendData(id="", cid=self.cid, text=text, binary=binary))
            return SuccessResponse()
        for participant in missed:
            await self._send_request(
                SendData(id="", cid=self.cid, text=text, binary=binary, to=participant.session_id)
            )
        return SuccessResponse()

    @threadsafe
    async def send_event(self, custom: dict[str, Any]) -> SuccessResponse:
        """Send a custom event (free JSON, at most 32 KiB) to every member of the call;
        they get it as a ``custom`` event (needs the ``send-event`` capability)."""
        request = SendCustomEvent(id="", cid=self.cid, custom=check_custom(custom))
        if self.state is CallState.LEFT:
            raise InvalidState(f"call {self.cid} is over; custom events go to calls in progress")
        await self._send_request(request)
        return SuccessResponse()

    # -- checks ------------------------------------------------------------------------

    def _joined_session(self, doing: str) -> str:
        own = self.session_id
        if own is None or self.state is not CallState.JOINED:
            raise InvalidState(f"call {self.cid} is {self.state.value}; join it to {doing}")
        return own

    def _targets(self, own: str, to: object) -> list[Participant]:
        others = [p for p in self._participants.all() if p.session_id != own]
        if to is None:
            return others
        chosen = [p for p in others if to in (p.session_id, p.user_id)]
        if not isinstance(to, str) or not chosen:
            named = ", ".join(f"{p.user_id} ({p.session_id})" for p in others) or "nobody"
            raise InvalidArguments(
                f"to={to!r} is no other participant of {self.cid}; use a user id or a "
                f"session id of: {named}, or None for everyone"
            )
        return chosen

    def _take(self, bucket: str, rate: tuple[float, int]) -> None:
        now = time.monotonic()
        rates: dict[str, RateLimiter] = vars(self).setdefault("_rates", {})
        limiter = rates.setdefault(bucket, RateLimiter(rate[0], rate[1], now))
        if not limiter.allow(now):
            what = "send_data" if bucket == "data" else "send_message and send_info"
            raise RateLimited(
                f"{what} in {self.cid}: at most {rate[0]:g} a second (bursts of {rate[1]}); "
                "nothing was sent, try again shortly"
            )

    # -- delivery (engine loop) ------------------------------------------------------------

    def _messaging_event(self, event: AnyEvent) -> bool:
        """Hand a message, INFO, data or custom event to the listeners; False for others."""
        match event:
            case MessageReceived():
                self._notify(
                    "message",
                    CallMessage(
                        cid=event.cid,
                        user_id=event.user.id,
                        name=event.user.name or event.user.id,
                        text=event.text,
                        sent_at=event.created_at,
                        session_id=event.session_id,
                        own=event.session_id == self.session_id,
                    ),
                )
            case InfoReceived():
                self._notify(
                    "info",
                    CallInfo(
                        event.cid,
                        event.user.id,
                        event.session_id,
                        event.mime_type,
                        event.body,
                        dict(event.headers),
                    ),
                )
            case DataReceived():
                data = event.text if event.text is not None else event.binary
                if data is not None:
                    self._notify(
                        "data",
                        CallDataPacket(
                            event.cid, event.user.id, event.session_id, data, "coordinator"
                        ),
                    )
            case CustomEvent():
                self._notify(
                    "custom",
                    CallCustomEvent(
                        cid=event.cid,
                        user_id=event.user.id,
                        name=event.user.name or event.user.id,
                        custom=dict(event.custom),
                        sent_at=event.created_at,
                    ),
                )
            case _:
                return False
        return True

    def _data_arrived(self, session_id: str, data: bytes | str) -> None:
        """Data over a link's data channel (from a session this call knows)."""
        sender = self._who(session_id)
        user_id = sender.user_id if sender is not None else ""
        self._notify("data", CallDataPacket(self.cid, user_id, session_id, data, "datachannel"))
