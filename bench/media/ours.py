"""Our product: the same 1:1 call between two ``StreamCall`` clients in this process.

Both clients use the synthetic camera and microphone devices. Alice's client starts the
embedded coordinator (on 127.0.0.1, port 0) and bob's finds it through the discovery file
in the shared runtime directory. Both log in and choose the video codec before the clock
starts; the timed setup runs from ``alice.call(...)`` (no ring) to bob's first remote video
frame, bob joining as soon as ``call()`` returns. Frames are counted in ``on_remote_video``
/ ``on_remote_audio`` hooks, which get numpy arrays.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamcall_widget import CallState, StreamCall
from streamcall_widget.engine.devices import (
    SYNTHETIC_CAMERA,
    SYNTHETIC_MICROPHONE,
    SYNTHETIC_SCREEN,
)
from streamcall_widget.errors import InvalidState

from .tally import Arrivals

__all__ = ["OursPair", "open_ours"]


@dataclass
class OursPair:
    """Two StreamCall clients in one call (a :class:`~.tally.Pair`)."""

    alice: StreamCall
    bob: StreamCall
    started: float = 0.0
    at_bob: Arrivals = field(default_factory=Arrivals)
    at_alice: Arrivals = field(default_factory=Arrivals)

    async def close(self) -> None:
        """Alice ends the call for everyone (if it got that far), then both clients shut
        down."""
        try:
            with contextlib.suppress(InvalidState):
                await self.alice.end_call()
        finally:
            await asyncio.to_thread(self.bob.close)
            await asyncio.to_thread(self.alice.close)


def _client(runtime_dir: Path) -> StreamCall:
    """A client on the embedded coordinator of ``runtime_dir``, with synthetic devices."""
    return StreamCall(
        runtime_dir=runtime_dir, camera=SYNTHETIC_CAMERA.id, microphone=SYNTHETIC_MICROPHONE.id
    )


async def open_ours(codec: str, runtime_dir: Path, screen: bool = False) -> OursPair:
    """Log both clients in, then time the call from ``alice.call`` on; with ``screen``,
    alice also shares the synthetic screen once joined (a second video track)."""
    pair = OursPair(_client(runtime_dir), _client(runtime_dir))
    try:
        await pair.alice.login(user_id="alice", name="Alice")
        await pair.bob.login(user_id="bob", name="Bob")
        await pair.alice.set_video_codec(codec)
        await pair.bob.set_video_codec(codec)
        pair.started = time.perf_counter()
        call = await pair.alice.call(user_ids=["bob"], ring=False, video=True)
        call.on_remote_video(pair.at_alice.on_video)
        call.on_remote_audio(pair.at_alice.on_audio)
        joined = await pair.bob.join_call(call.id, "default")
        joined.on_remote_video(pair.at_bob.on_video)
        joined.on_remote_audio(pair.at_bob.on_audio)
        if screen:
            await call.wait_until(CallState.JOINED)
            await call.start_screen_share(SYNTHETIC_SCREEN.id)
    except BaseException:
        await pair.close()
        raise
    return pair
