"""The media links of a call's current session, and how long they outlive it.

A call opens its transport when it joins and replaces it when it rejoins with a new
session. While the coordinator socket is down the links stay up, so media flows on; when
another session only dropped its socket (``participant_left`` with reason
``disconnected``) its link is kept for :data:`LINGER` seconds, or until that user is back
with a new session. Every ``MediaConfig.stats_interval`` the links are graded from RTCP
(``connection_quality``), the local participant getting the worst grade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiortc.contrib.media import MediaRelay

from streamcall_widget.protocol.models import Signal

from .listeners import ErrorSink
from .mesh import MeshTransport
from .participants import Participant, ParticipantTable
from .quality import ConnectionQuality
from .remote_media import RemoteMedia
from .rtc_config import MediaConfig
from .transport import DataReceived, MediaTransport, SendSignal

__all__ = ["LINGER", "SessionLinks"]

logger = logging.getLogger(__name__)

LINGER = 20.0
"""Seconds a link to a session that dropped its socket is kept: longer than a client's
reconnection attempts (about 16 s), so its media flows on while it reconnects."""

_QUALITY_ORDER = [
    ConnectionQuality.POOR,
    ConnectionQuality.UNSPECIFIED,
    ConnectionQuality.GOOD,
    ConnectionQuality.EXCELLENT,
]


class SessionLinks:
    """The transport of a call's session, lingering links, and link grades."""

    def __init__(
        self,
        *,
        config: MediaConfig,
        participants: ParticipantTable,
        remote: RemoteMedia,
        send_signal: SendSignal,
        on_data: DataReceived,
        report: ErrorSink,
        relay: MediaRelay,
    ) -> None:
        self._config = config
        self._on_data = on_data
        self._relay = relay
        self._participants = participants
        self._remote = remote
        self._send_signal = send_signal
        self._report = report
        self.transport: MediaTransport | None = None
        """The current session's transport (a :class:`MeshTransport` today)."""
        self.session_id: str | None = None
        self._departed: dict[str, Participant] = {}
        self._lingering: dict[str, asyncio.TimerHandle] = {}
        self._grading: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._early: list[tuple[str, str, Signal]] = []
        self._ready = False

    async def open(self, session_id: str) -> MediaTransport:
        """The transport of a new session; the previous session's links close after it is
        in place, so no signal to the new session finds no transport."""
        previous = self.transport
        self._lingering_closed()
        self.session_id = session_id
        self._ready = False
        self.transport = MeshTransport(
            session_id,
            config=self._config,
            send_signal=self._send_signal,
            on_started=self._remote.started,
            on_ended=self._remote.ended,
            on_data=self._on_data,
            report=self._report,
            relay=self._relay,
        )
        if self._grading is None:
            self._grading = asyncio.get_running_loop().create_task(self._grade())
        transport = self.transport
        if previous is not None:
            await previous.close()
        return transport

    async def ready(self) -> None:
        """The session's tracks are published: apply the signals that came for it before
        (so an early offer is answered with them, not renegotiated right after)."""
        self._ready = True
        early, self._early = self._early, []
        for to_session_id, from_session_id, signal in early:
            if to_session_id == self.session_id:
                await self.receive_signal(to_session_id, from_session_id, signal)

    def joined(self, participant: Participant, connect: bool) -> None:
        """Another session joined: a departed session of the same user is dropped, and the
        new one connected if ``connect``."""
        for old, departed in list(self._departed.items()):
            if departed.user_id == participant.user_id:
                self._end_linger(old)
        if connect and self.transport is not None:
            task = asyncio.get_running_loop().create_task(
                self.transport.session_joined(participant.session_id)
            )
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report("connecting to a participant", task.exception() or RuntimeError())

    def left(self, session_id: str, participant: Participant | None, reason: str) -> None:
        """Another session left; one that only dropped its socket lingers."""
        if self.transport is None:
            return
        if reason == "disconnected" and participant is not None:
            self._departed[session_id] = participant
            loop = asyncio.get_running_loop()
            self._lingering[session_id] = loop.call_later(LINGER, self._end_linger, session_id)
        else:
            self.transport.session_left(session_id)

    def _end_linger(self, session_id: str) -> None:
        self._departed.pop(session_id, None)
        timer = self._lingering.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        if self.transport is not None:
            self.transport.session_left(session_id)

    def who(self, session_id: str) -> Participant | None:
        """The participant of ``session_id``, or its last snapshot while its link lingers."""
        return self._participants.get(session_id) or self._departed.get(session_id)

    async def receive_signal(
        self, to_session_id: str, from_session_id: str, signal: Signal
    ) -> None:
        """A negotiation message for one of this client's sessions: the current one's
        transport takes it; one for a session whose join reply is still being processed
        waits for :meth:`ready`; one for a session left behind is dropped."""
        if self.transport is not None and self.session_id == to_session_id and self._ready:
            await self.transport.receive_signal(from_session_id, signal)
        elif to_session_id != self.session_id or not self._ready:
            self._early = [*self._early[-31:], (to_session_id, from_session_id, signal)]

    async def _grade(self) -> None:
        while True:
            await asyncio.sleep(self._config.stats_interval)
            if self.transport is None:
                continue
            grades = await self.transport.link_quality()
            for session_id, grade in grades.items():
                self._participants.update(session_id, connection_quality=grade)
            if self.session_id is not None and grades:
                worst = min(grades.values(), key=_QUALITY_ORDER.index)
                self._participants.update(self.session_id, connection_quality=worst)

    def _lingering_closed(self) -> None:
        for timer in self._lingering.values():
            timer.cancel()
        self._lingering.clear()
        self._departed.clear()

    async def close(self) -> None:
        """Close every link and stop grading."""
        for task in [self._grading, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._grading = None
        self._lingering_closed()
        self._early.clear()
        transport, self.transport = self.transport, None
        if transport is not None:
            await transport.close()
