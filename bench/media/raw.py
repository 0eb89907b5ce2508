"""The baseline: the same 1:1 call in raw aiortc, two RTCPeerConnections wired by hand.

Alice offers and bob answers in this process (no signaling server, no STUN: host
candidates only, as StreamCall's default). Both send the synthetic camera and microphone;
each receiver reads its remote tracks and turns every frame into a numpy array (rgb24
video, samples for audio), the work StreamCall does to hand frames to ``on_remote_video`` /
``on_remote_audio``. The video codec order is set with the same ``prefer_codec`` call
StreamCall makes (a thin wrapper over aiortc's ``setCodecPreferences``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import av
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamcall_widget.engine.codecs import prefer_codec
from streamcall_widget.engine.synthetic import SyntheticCamera, SyntheticMicrophone

from .tally import FPS, HEIGHT, TONE_HZ, WIDTH, Arrivals

__all__ = ["RawPair", "open_raw"]


@dataclass
class RawPair:
    """Two connected peer connections and their receivers (a :class:`~.tally.Pair`)."""

    started: float
    alice: RTCPeerConnection
    bob: RTCPeerConnection
    at_bob: Arrivals = field(default_factory=Arrivals)
    at_alice: Arrivals = field(default_factory=Arrivals)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        """Stop the readers, then close both connections."""
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await self.alice.close()
        await self.bob.close()


async def _read(track: MediaStreamTrack, arrivals: Arrivals) -> None:
    """Receive ``track`` to its end, each frame as an array, as an application would."""
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            if isinstance(frame, av.VideoFrame):
                frame.to_ndarray(format="rgb24")
                arrivals.on_video()
            elif isinstance(frame, av.AudioFrame):
                frame.to_ndarray()
                arrivals.on_audio()


def _video_transceiver_prefers(pc: RTCPeerConnection, codec: str) -> None:
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            prefer_codec(transceiver, codec)


async def open_raw(codec: str) -> RawPair:
    """Create, wire and start both peer connections; the clock starts before creating them.

    Returns once both descriptions are applied; frames follow once ICE and DTLS are done."""
    started = time.perf_counter()
    config = RTCConfiguration(iceServers=[])
    pair = RawPair(started, RTCPeerConnection(config), RTCPeerConnection(config))
    try:
        await _connect(pair, codec)
    except BaseException:
        await pair.close()
        raise
    return pair


async def _connect(pair: RawPair, codec: str) -> None:
    """Add both sides' tracks and readers, then offer, answer and apply the answer."""
    for pc, label, arrivals in (
        (pair.alice, "alice", pair.at_alice),
        (pair.bob, "bob", pair.at_bob),
    ):
        pc.addTrack(SyntheticMicrophone(frequency=TONE_HZ))
        pc.addTrack(SyntheticCamera(label, width=WIDTH, height=HEIGHT, fps=FPS, stamp=None))

        def on_track(track: MediaStreamTrack, arrivals: Arrivals = arrivals) -> None:
            pair.readers.append(asyncio.ensure_future(_read(track, arrivals)))

        pc.on("track", on_track)
    _video_transceiver_prefers(pair.alice, codec)
    await pair.alice.setLocalDescription(await pair.alice.createOffer())
    await pair.bob.setRemoteDescription(pair.alice.localDescription)
    _video_transceiver_prefers(pair.bob, codec)
    await pair.bob.setLocalDescription(await pair.bob.createAnswer())
    await pair.alice.setRemoteDescription(pair.bob.localDescription)
