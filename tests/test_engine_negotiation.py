"""The mesh transport's negotiation with real aiortc peers, signals passed by hand.

Two :class:`MeshTransport` objects (or one and a bare aiortc peer standing for a foreign
client) talk through a :class:`Wire` that can hold messages back, so two offers really
cross. Media is synthetic and read back by the stamp in its pixels.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.engine.mesh import MeshTransport
from streamcall_widget.engine.rtc_config import MediaConfig
from streamcall_widget.engine.stamp import read_stamp
from streamcall_widget.engine.synthetic import SyntheticCamera, SyntheticMicrophone
from streamcall_widget.engine.tracks import TrackRef
from streamcall_widget.protocol.models import Signal, SignalKind, TrackType

from .engine_helpers import DEADLINE

CAMERA_A, SCREEN_A, CAMERA_B, SCREEN_B = 0x0A01, 0x0A02, 0x0B01, 0x0B02


class Wire:
    """Carries signals between sessions in order; ``hold()`` keeps them until ``release()``."""

    def __init__(self) -> None:
        self.ends: dict[str, MeshTransport] = {}
        self._held: list[tuple[str, str, Signal]] | None = None
        self._queue: asyncio.Queue[tuple[str, str, Signal]] = asyncio.Queue()
        self._pump = asyncio.get_running_loop().create_task(self._run())
        self.failures: list[BaseException] = []

    async def send(self, from_id: str, to_id: str, signal: Signal) -> None:
        if self._held is not None:
            self._held.append((from_id, to_id, signal))
        else:
            self._queue.put_nowait((from_id, to_id, signal))

    def hold(self) -> None:
        self._held = []

    def release(self) -> None:
        held, self._held = self._held or [], None
        for message in held:
            self._queue.put_nowait(message)

    async def _run(self) -> None:
        while True:
            from_id, to_id, signal = await self._queue.get()
            try:
                await self.ends[to_id].receive_signal(from_id, signal)
            except Exception as exc:
                self.failures.append(exc)

    async def close(self) -> None:
        self._pump.cancel()
        for end in self.ends.values():
            await end.close()


class End:
    """One session's transport and the remote tracks it has seen start and end."""

    def __init__(self, wire: Wire, session_id: str) -> None:
        self.started: dict[TrackRef, MediaStreamTrack] = {}
        self.ended: list[TrackRef] = []
        self.data: list[tuple[str, bytes | str]] = []
        """What arrived over the data channels: (from session, data)."""
        self.errors: list[tuple[str, BaseException]] = []
        self._changed = asyncio.Event()

        async def send(to_id: str, signal: Signal) -> None:
            await wire.send(session_id, to_id, signal)

        self.transport = MeshTransport(
            session_id,
            config=MediaConfig(),
            send_signal=send,
            on_started=self._started,
            on_ended=self._ended,
            on_data=lambda session_id, data: self.data.append((session_id, data)),
            report=lambda where, exc: self.errors.append((where, exc)),
            relay=MediaRelay(),
        )
        wire.ends[session_id] = self.transport

    def _started(self, ref: TrackRef, track: MediaStreamTrack) -> None:
        self.started[ref] = track
        self._changed.set()

    def _ended(self, ref: TrackRef) -> None:
        self.ended.append(ref)
        self._changed.set()

    async def until(self, ready: Callable[[], bool]) -> None:
        """Wait until ``ready()``, checked whenever a remote track starts or ends."""
        async with asyncio.timeout(DEADLINE):
            while not ready():
                self._changed.clear()
                await self._changed.wait()

    async def track(self, ref: TrackRef) -> MediaStreamTrack:
        """The remote track ``ref``, once it has started."""
        await self.until(lambda: ref in self.started)
        return self.started[ref]


async def stamps(track: MediaStreamTrack, count: int = 5) -> set[int | None]:
    """The stamps of the next ``count`` frames of a video track."""
    seen: set[int | None] = set()
    async with asyncio.timeout(DEADLINE):
        for _ in range(count):
            frame = await track.recv()
            assert isinstance(frame, av.VideoFrame)
            seen.add(read_stamp(frame.to_ndarray(format="rgb24")))
    return seen


async def wait_stamp(track: MediaStreamTrack, stamp: int) -> None:
    """Wait until five frames in a row of ``track`` carry ``stamp``."""
    async with asyncio.timeout(DEADLINE):
        while await stamps(track) != {stamp}:
            pass


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    made = Wire()
    yield made
    await made.close()
    assert made.failures == []


def camera(stamp: int) -> SyntheticCamera:
    return SyntheticCamera(f"cam {stamp:x}", width=320, height=240, fps=15, stamp=stamp)


async def test_an_audio_only_offer_is_answered_and_the_answerer_then_offers_its_video(
    wire: Wire,
) -> None:
    """The offer carries audio only; the answer comes, and the answerer's camera, which
    had no section to go in, follows in an offer of its own."""
    a, b = End(wire, "a-session"), End(wire, "b-session")
    await a.transport.publish(TrackType.AUDIO, SyntheticMicrophone(frequency=440.0))
    await b.transport.publish(TrackType.AUDIO, SyntheticMicrophone(frequency=880.0))
    await b.transport.publish(TrackType.VIDEO, camera(CAMERA_B))
    await b.transport.session_joined("a-session")  # the larger id waits for the offer
    await a.transport.session_joined("b-session")  # the smaller one offers: audio only

    await wait_stamp(await a.track(TrackRef("b-session", TrackType.VIDEO)), CAMERA_B)
    heard = await b.track(TrackRef("a-session", TrackType.AUDIO))
    async with asyncio.timeout(DEADLINE):
        assert isinstance(await heard.recv(), av.AudioFrame)
    assert TrackRef("a-session", TrackType.VIDEO) not in b.started
    assert a.errors == b.errors == []


def _lone_transport(sent: list[Signal], errors: list[BaseException]) -> MeshTransport:
    """Our transport facing a foreign peer: what it sends and reports is kept."""

    async def send(to_id: str, signal: Signal) -> None:
        sent.append(signal)

    return MeshTransport(
        "z-session",
        config=MediaConfig(),
        send_signal=send,
        on_started=lambda ref, track: None,
        on_ended=lambda ref: None,
        on_data=lambda session_id, data: None,
        report=lambda where, exc: errors.append(exc),
        relay=MediaRelay(),
    )


async def test_a_foreign_video_only_offer_is_answered_with_our_camera() -> None:
    """A bare aiortc peer (as a browser would) offers to receive video only: our side
    answers, sending its camera in that one section and nothing it was not asked for."""
    answers: list[Signal] = []
    ours = _lone_transport(answers, [])
    foreign = RTCPeerConnection()
    received: list[MediaStreamTrack] = []
    foreign.on("track", received.append)
    try:
        await ours.publish(TrackType.AUDIO, SyntheticMicrophone())
        await ours.publish(TrackType.VIDEO, camera(CAMERA_A))
        foreign.addTransceiver("video", direction="recvonly")
        await foreign.setLocalDescription(await foreign.createOffer())
        offer = Signal(kind=SignalKind.OFFER, sdp=foreign.localDescription.sdp)
        await ours.receive_signal("browser", offer)

        (answer, *more) = answers
        assert answer.kind is SignalKind.ANSWER
        assert answer.sdp is not None
        assert answer.sdp.count("m=video") == 1
        assert "m=audio" not in answer.sdp
        await foreign.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        assert [track.kind for track in received] == ["video"]
        await wait_stamp(received[0], CAMERA_A)
        # Our microphone found no section: we offer it next; the foreign peer may ignore it.
        assert [m.kind for m in more] == [SignalKind.OFFER]
    finally:
        await ours.close()
        await foreign.close()


async def test_a_trickled_candidate_naming_no_m_line_is_taken() -> None:
    """A candidate signal without sdp_mid and sdp_mline_index (the wire allows both out) is
    added to the bundled transport, not refused."""
    errors: list[BaseException] = []
    ours = _lone_transport([], errors)
    foreign = RTCPeerConnection()
    try:
        foreign.addTransceiver("video", direction="recvonly")
        foreign.addTransceiver("audio", direction="recvonly")
        await foreign.setLocalDescription(await foreign.createOffer())
        sdp = foreign.localDescription.sdp
        await ours.receive_signal("browser", Signal(kind=SignalKind.OFFER, sdp=sdp))
        line = next(x for x in sdp.splitlines() if x.startswith("a=candidate:"))
        trickled = Signal(kind=SignalKind.CANDIDATE, candidate=line.removeprefix("a="))
        await ours.receive_signal("browser", trickled)
        assert errors == []
    finally:
        await ours.close()
        await foreign.close()


async def connected(wire: Wire) -> tuple[End, End]:
    """Two sessions sending each other their camera, media flowing."""
    a, b = End(wire, "a-session"), End(wire, "b-session")
    await a.transport.publish(TrackType.VIDEO, camera(CAMERA_A))
    await b.transport.publish(TrackType.VIDEO, camera(CAMERA_B))
    await b.transport.session_joined("a-session")
    await a.transport.session_joined("b-session")
    await wait_stamp(await a.track(TrackRef("b-session", TrackType.VIDEO)), CAMERA_B)
    await wait_stamp(await b.track(TrackRef("a-session", TrackType.VIDEO)), CAMERA_A)
    return a, b


async def test_a_track_added_mid_call_arrives_and_ends_when_unpublished_twice(
    wire: Wire,
) -> None:
    """A screen published mid-call renegotiates and arrives beside the camera; unpublished,
    it ends at the other side; published again (the same transceiver), it arrives again."""
    a, b = await connected(wire)
    screen = TrackRef("a-session", TrackType.SCREEN_SHARE)
    peer = a.transport.peers["b-session"]
    for round_ in range(2):
        await a.transport.publish(TrackType.SCREEN_SHARE, camera(SCREEN_A))
        await wait_stamp(await b.track(screen), SCREEN_A)
        await wait_stamp(b.started[TrackRef("a-session", TrackType.VIDEO)], CAMERA_A)
        await a.transport.unpublish(TrackType.SCREEN_SHARE)
        await b.until(lambda: b.ended.count(screen) > round_)  # noqa: B023 - awaited here
        del b.started[screen]
    assert len(peer.transceivers()) == 2  # the camera's and the screen's, reused
    assert a.errors == b.errors == []


@pytest.mark.parametrize("when", ["at the start", "mid-call", "mid-call, one side adding"])
async def test_glare_converges_the_polite_side_rolls_back(wire: Wire, when: str) -> None:
    """Both sides offer at once; the polite one (smaller session id) rolls back and
    answers, then offers again; each ends up receiving what the other sends."""
    if when == "at the start":
        a, b = End(wire, "a-session"), End(wire, "b-session")
        await a.transport.publish(TrackType.VIDEO, camera(CAMERA_A))
        await b.transport.publish(TrackType.VIDEO, camera(CAMERA_B))
        wire.hold()
        await a.transport.session_joined("b-session")
        await b.transport.session_joined("a-session")
        await b.transport.peers["a-session"].negotiate()  # a foreign client offering on join
        await a.transport.publish(TrackType.SCREEN_SHARE, camera(SCREEN_A))
    elif when == "mid-call":
        a, b = await connected(wire)
        wire.hold()
        await asyncio.gather(
            a.transport.publish(TrackType.SCREEN_SHARE, camera(SCREEN_A)),
            b.transport.publish(TrackType.SCREEN_SHARE, camera(SCREEN_B)),
        )
    else:  # the polite side's offer has a section the other's lacks
        a, b = await connected(wire)
        wire.hold()
        await a.transport.publish(TrackType.SCREEN_SHARE, camera(SCREEN_A))
        await b.transport.peers["a-session"].negotiate()
    wire.release()

    await wait_stamp(await b.track(TrackRef("a-session", TrackType.VIDEO)), CAMERA_A)
    await wait_stamp(await b.track(TrackRef("a-session", TrackType.SCREEN_SHARE)), SCREEN_A)
    await wait_stamp(await a.track(TrackRef("b-session", TrackType.VIDEO)), CAMERA_B)
    if when == "mid-call":
        await wait_stamp(await a.track(TrackRef("b-session", TrackType.SCREEN_SHARE)), SCREEN_B)
    assert wire.failures == []
    polite, impolite = a.transport.peers["b-session"], b.transport.peers["a-session"]
    assert (polite.polite, impolite.polite) == (True, False)
    assert polite.glares >= 1
    assert impolite.glares >= 1
    assert a.errors == b.errors == []
