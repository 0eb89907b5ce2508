"""``streamcall bot``: a headless participant for demos and tests.

The bot logs in as ``--user``, prints every callEvent and incomingCall as one JSON line on
stdout (so a test or a shell can follow it), accepts rings with ``--auto-accept``, calls
users with ``--call``, sends a media file with ``--play`` (looped) instead of the synthetic
camera and tone, and with ``--echo`` sends back the last video frame and audio it received.
It stops on SIGINT/SIGTERM, or after ``--duration`` seconds. Its options are declared in
:mod:`streamcall_widget.cli`, which imports this module (and so the engine) only to run it.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .engine import Call, Participant, StreamCall
from .errors import StreamCallError
from .protocol.lifecycle import CallEvent, IncomingCall

__all__ = ["run_bot"]

Array = npt.NDArray[Any]


def _json_default(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _say(kind: str, payload: CallEvent | IncomingCall) -> None:
    """One JSON line per event, ``{"event": kind, ...payload fields}``."""
    line = json.dumps({"event": kind, **dataclasses.asdict(payload)}, default=_json_default)
    print(line, flush=True)


class _Echo:
    """Remembers the last remote frame and audio chunk and hands them to the processors."""

    def __init__(self) -> None:
        self.video: Array | None = None
        self.audio: Array | None = None

    def attach(self, call: Call) -> None:
        call.on_remote_video(self._keep_video)
        call.on_remote_audio(self._keep_audio)

    def _keep_video(self, _participant: Participant | None, frame: Array) -> None:
        self.video = frame

    def _keep_audio(self, _participant: Participant | None, samples: Array) -> None:
        self.audio = samples

    def video_out(self, frame: Array) -> Array:
        return self.video if self.video is not None else frame

    def audio_out(self, samples: Array) -> Array:
        """Received audio is interleaved stereo; send its left channel in our frame's shape."""
        received = self.audio
        if received is None:
            return samples
        left = received.reshape(-1)[::2][: samples.size]
        if left.size != samples.size:
            return samples
        return np.ascontiguousarray(left.reshape(samples.shape).astype(samples.dtype))


def run_bot(args: argparse.Namespace) -> int:
    """Run the bot until a signal or ``--duration``; the exit status."""
    play = str(Path(args.play).resolve()) if args.play else None
    client = StreamCall(
        url=args.url,
        api_key=args.api_key,
        runtime_dir=args.runtime_dir,
        media_files=(play,) if play else (),
        camera=f"file:{play}" if play else None,
        microphone=f"file:{play}" if play else None,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    echo = _Echo() if args.echo else None
    try:
        client.add_listener("callEvent", lambda event: _say("callEvent", event))
        client.add_listener("incomingCall", lambda ring: _on_ring(client, ring, args, echo))
        client.add_listener("error", lambda report: print(f"error: {report}", file=sys.stderr))
        if echo is not None:
            client.set_video_processor(echo.video_out).result(10)
            client.set_audio_processor(echo.audio_out).result(10)
        client.login(args.user, name=args.name or args.user, token=args.token).result(30)
        print(json.dumps({"event": "ready", "user_id": args.user}), flush=True)
        if args.call:
            call = client.call(args.call).result(30)
            if echo is not None:
                echo.attach(call)
        stop.wait(args.duration)
    except StreamCallError as exc:
        print(f"streamcall bot: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


def _on_ring(
    client: StreamCall, ring: IncomingCall, args: argparse.Namespace, echo: _Echo | None
) -> None:
    _say("incomingCall", ring)
    if not args.auto_accept:
        return
    try:
        call = client.accept_call(ring.cid).result(30)
    except StreamCallError as exc:
        print(f"streamcall bot: could not accept {ring.cid}: {exc}", file=sys.stderr)
        return
    if echo is not None:
        echo.attach(call)
