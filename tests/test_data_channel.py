"""The data channel of mesh links: made with the first description on both sides, open
once DTLS is up, carrying bytes and text both ways, also after a glare at the start (the
polite side's rolled-back offer already had the channel's section)."""

from __future__ import annotations

import asyncio

import pytest

from streamcall_widget.engine.mesh import MeshTransport
from streamcall_widget.engine.synthetic import SyntheticMicrophone
from streamcall_widget.protocol.models import TrackType

from .engine_helpers import DEADLINE
from .test_engine_negotiation import End, Wire, camera, wire

__all__ = ["wire"]


async def _open(transport: MeshTransport, session_id: str) -> None:
    async with asyncio.timeout(DEADLINE):
        # The channel is made during negotiation: nothing to wait on before it exists.
        while not ((peer := transport.peers.get(session_id)) and peer.data and peer.data.open):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _arrived(end: End, count: int) -> None:
    async with asyncio.timeout(DEADLINE):
        while len(end.data) < count:  # noqa: ASYNC110 - filled by the transport's callback
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("b_sends", ["audio", "audio and video"])
async def test_after_a_glare_at_the_start_the_channel_carries_data_both_ways(
    wire: Wire, b_sends: str
) -> None:
    """Both sides offer at once when they meet; the polite side (a) rolls back and answers:
    the channel still opens, and bytes and text arrive in order, each side sending to the
    other. When b sends video too, b's offer puts the channel's section at another index
    than a's rolled-back offer did, so a must forget the section id it had chosen."""
    a, b = End(wire, "a-session"), End(wire, "b-session")
    await a.transport.publish(TrackType.AUDIO, SyntheticMicrophone(frequency=440.0))
    await b.transport.publish(TrackType.AUDIO, SyntheticMicrophone(frequency=880.0))
    if b_sends == "audio and video":
        await b.transport.publish(TrackType.VIDEO, camera(0x0B01))
    wire.hold()
    await a.transport.session_joined("b-session")
    await b.transport.session_joined("a-session")
    await b.transport.peers["a-session"].negotiate()  # a foreign client offering on join
    wire.release()
    await _open(a.transport, "b-session")
    await _open(b.transport, "a-session")
    assert a.transport.peers["b-session"].glares >= 1

    assert a.transport.send_data("b-session", b"\x00\x01")
    assert a.transport.send_data("b-session", "two")
    assert b.transport.send_data("a-session", "back")
    assert not a.transport.send_data("c-session", "nobody")  # no link: the caller falls back
    await _arrived(b, 2)
    await _arrived(a, 1)
    assert b.data == [("a-session", b"\x00\x01"), ("a-session", "two")]
    assert a.data == [("b-session", "back")]
    assert wire.failures == []
    assert a.errors == b.errors == []
