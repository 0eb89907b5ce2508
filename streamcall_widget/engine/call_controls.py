"""Hold, deaf and DTMF of one call: a base class of :class:`~streamcall_widget.engine.call.Call`.

**Hold** (seed 001 ``hold(enable)``/``isOnHold``, seed 004 ``hold``/``unhold``/``toggleHold``)
stops media both ways without renegotiating. The holder sends nothing: each peer's sender
keeps its track, which waits instead of reading frames
(:meth:`~streamcall_widget.engine.transport.MediaTransport.hold_sending`); its remote
media is dropped before levels, hooks, the page and the speakers
(:meth:`~streamcall_widget.engine.remote_media.RemoteMedia.gate`). The coordinator records
the hold on the holder's participant (``call.hold``) and tells everyone; the others then
stop sending to the holder on their own link to it (in the mesh every peer connection has
its own senders) and see ``held``/``unheld``. Unholding resumes both ways at once, the
video senders starting with a keyframe. A rejoin (a new session) holds again.

**Deaf** (seed 004 ``deaf``/``undeaf``) drops the remote audio only, before anything plays
or reads it, while this side keeps sending its own: unlike muting (nothing sent) and the
speaker choice (where sound plays).

**DTMF** (seed 001 ``sendDTMF``, seed 004 ``dtmf``) plays each digit's dual tone in the
microphone's outgoing audio (:mod:`~streamcall_widget.engine.tones`) and sends the digit as
data (``call.dtmf``), so the others hear it and their ``dtmf`` listeners get a
:class:`~streamcall_widget.engine.dtmf.DtmfEvent` as it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, TypeVar

from streamcall_widget.errors import InvalidArguments, InvalidState
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import TrackType
from streamcall_widget.protocol.requests import HoldCall, SendDtmf

from .call_core import DtmfHeard, HoldChanged
from .call_parts import CallParts
from .dtmf import PAUSE, PAUSE_MS, parse_tones
from .results import SuccessResponse
from .threadsafe import threadsafe
from .tones import ToneOverlay

if TYPE_CHECKING:
    from .remote_media import RemoteMedia
    from .transport import MediaTransport

__all__ = ["CallControls"]

T = TypeVar("T")

_TONE_SLACK = 1.0
"""Seconds a digit may take beyond its duration before its tone is given up (the
microphone's source stalled): the digit was sent as data all the same."""


class CallControls(CallParts):
    """Hold, deaf and DTMF methods; the call provides what is declared here."""

    _remote: RemoteMedia
    _on_hold = False
    _deaf = False
    _dtmf_lock: asyncio.Lock | None = None

    if TYPE_CHECKING:

        def _require_session(self, doing: str) -> MediaTransport: ...

    @property
    def is_on_hold(self) -> bool:
        """Whether this client holds the call (seed 001 ``isOnHold``)."""
        return self._on_hold

    @property
    def is_deaf(self) -> bool:
        """Whether this client hears nothing of the call (:meth:`deaf`)."""
        return self._deaf

    # -- hold ---------------------------------------------------------------------------

    @threadsafe
    async def hold(self, enable: bool = True) -> SuccessResponse:
        """Put the call on hold (``enable=False``: take it off): no media flows to or from
        this client, the others see ``held`` (joined calls only; holding a held call
        changes nothing)."""
        if not isinstance(enable, bool):
            raise InvalidArguments(f"enable must be True or False, not {enable!r}")
        return await self._hold(enable)

    @threadsafe
    async def unhold(self) -> SuccessResponse:
        """Take the call off hold: media flows both ways again at once."""
        return await self._hold(False)

    @threadsafe
    async def toggle_hold(self) -> SuccessResponse:
        """Hold the call if it is not held, else take it off hold (seed 004)."""
        return await self._hold(not self._on_hold)

    async def _hold(self, enable: bool) -> SuccessResponse:
        self._require_session("put it on hold" if enable else "take it off hold")
        if enable == self._on_hold:
            return SuccessResponse()
        self._on_hold = enable  # first: a second call meanwhile finds it done
        try:
            await self._host.request(HoldCall(id="", cid=self.cid, on_hold=enable), type(None))
        except BaseException:
            self._on_hold = not enable
            raise
        if self._core.session_id is not None:
            self._core.participants.update(self._core.session_id, on_hold=enable)
        self._gate_media()
        state = CallState.HELD if enable else CallState.UNHELD
        self._emit([self.lifecycle.note(state, user_id=self.user_id)])
        return SuccessResponse()

    async def _hold_again(self) -> None:
        """A new session starts off hold at the coordinator: hold it too if the user held
        the call before the rejoin."""
        session_id = self._core.session_id
        if self._on_hold and session_id is not None:
            await self._host.request(HoldCall(id="", cid=self.cid, on_hold=True), type(None))
            self._core.participants.update(session_id, on_hold=True)

    def _sending_held(self, session_id: str) -> bool:
        """Whether nothing may be sent to ``session_id``: we hold, or it is on hold."""
        other = self._core.participants.get(session_id)
        return self._on_hold or (other is not None and other.on_hold)

    def _gate_media(self) -> None:
        """Apply hold and deaf to what is received and sent, now and for later links."""
        if self._on_hold:
            self._remote.gate(frozenset({"audio", "video"}))
        else:
            self._remote.gate(frozenset({"audio"}) if self._deaf else frozenset())
        transport = self._links.transport
        if transport is not None:
            transport.hold_sending(self._sending_held)

    def _control(self, action: HoldChanged | DtmfHeard) -> None:
        """Carry out a control action of the call core."""
        if isinstance(action, HoldChanged):
            self._gate_media()
        else:
            self._host.notify("dtmf", action.event)

    # -- deaf ---------------------------------------------------------------------------

    @threadsafe
    async def deaf(self) -> SuccessResponse:
        """Stop hearing the call: no remote audio reaches the page, the speakers or the
        remote-audio hooks; the others still hear this client (see :meth:`undeaf`)."""
        return self._set_deaf(True)

    @threadsafe
    async def undeaf(self) -> SuccessResponse:
        """Hear the call again."""
        return self._set_deaf(False)

    def _set_deaf(self, deaf: bool) -> SuccessResponse:
        if self.lifecycle.phase is CallState.LEFT:
            raise InvalidState(f"call {self.cid} is left; there is nothing to hear")
        if deaf != self._deaf:
            self._deaf = deaf
            self._gate_media()
            state = CallState.DEAFENED if deaf else CallState.UNDEAFENED
            self._emit([self.lifecycle.note(state, user_id=self.user_id)])
        return SuccessResponse()

    # -- DTMF ---------------------------------------------------------------------------

    @threadsafe
    async def send_dtmf(
        self, tones: str, duration_ms: int = 100, gap_ms: int = 70
    ) -> SuccessResponse:
        """Play DTMF ``tones`` (``0``-``9 * # A``-``D``, lower case accepted, ``,`` = 2 s
        pause), each digit ``duration_ms`` long and followed by ``gap_ms`` of the
        microphone; resolves once all were played. Calls queue: their digits never mix."""
        digits = parse_tones(tones, duration_ms, gap_ms)
        self._require_session("send DTMF tones")
        if self._on_hold:
            raise InvalidState(f"call {self.cid} is on hold; take it off hold to send tones")
        if self._dtmf_lock is None:
            self._dtmf_lock = asyncio.Lock()
        async with self._dtmf_lock:
            for digit in digits:
                if digit == PAUSE:
                    await asyncio.sleep(PAUSE_MS / 1000)
                    continue
                self._require_session("send DTMF tones")
                await self._play_digit(digit, duration_ms)
                await asyncio.sleep(gap_ms / 1000)
        return SuccessResponse()

    async def _play_digit(self, digit: str, duration_ms: int) -> None:
        """Send ``digit`` as data, then play its tone in the microphone's audio."""
        track = self._streams.sent().get(TrackType.AUDIO)
        if track is None or not track.enabled or track.source is None:
            raise InvalidState(
                f"no microphone audio is sent in {self.cid}; DTMF tones travel in it: "
                "turn the microphone on first"
            )
        request = SendDtmf(id="", cid=self.cid, digit=digit, duration_ms=duration_ms)
        await self._host.request(request, type(None))
        played: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished() -> None:
            if not played.done():
                played.set_result(None)

        overlay = ToneOverlay(digit, duration_ms, finished)
        track.overlay = overlay
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(played, duration_ms / 1000 + _TONE_SLACK)
        finally:
            if track.overlay is overlay:
                track.overlay = None
