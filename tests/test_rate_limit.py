"""The per-connection rate limiter: a burst beyond it is refused, sustained abuse disconnects.

The limiter runs on the coordinator's clock, which here is the fake clock: tokens refill
only when the test moves it, so every count below is exact.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from streamcall_widget.coordinator import Coordinator, Limits
from streamcall_widget.errors import RateLimited

from .conftest import FakeClock, Login
from .wsclient import WsClient

RATE = 5
BURST = 5
MAX_VIOLATIONS = 3
POLICY_VIOLATION = 1008


@pytest.fixture
def limits() -> Limits:
    """A tiny bucket: 5 messages at once, 5 per second, 3 refusals tolerated."""
    return Limits(rate_per_second=RATE, rate_burst=BURST, max_violations=MAX_VIOLATIONS)


def _ping(request_id: str) -> str:
    return json.dumps({"type": "ping", "id": request_id})


async def _barrier(client: WsClient) -> None:
    assert "server_time" in await client.request("ping")


def _rate_limited(frame: dict[str, Any], request_id: str | None) -> bool:
    return (frame["type"], frame["id"], frame["code"], frame["name"]) == (
        "error",
        request_id,
        RateLimited.code,
        RateLimited.name,
    )


async def test_burst_beyond_limit_is_rate_limited(login: Login, clock: FakeClock) -> None:
    """The burst passes; each message beyond it is answered RATE_LIMITED; refill restores it."""
    alice = await login("alice")
    for _ in range(BURST):
        await alice.request("ping")
    for _ in range(MAX_VIOLATIONS):
        with pytest.raises(RateLimited):
            await alice.request("ping")
    assert alice.close_code is None

    clock.advance(1.0)  # refills RATE tokens
    for _ in range(RATE):
        await alice.request("ping")
    assert alice.close_code is None
    assert not alice.ws.closed


async def test_rate_limited_reply_echoes_id_even_for_malformed(
    login: Login, clock: FakeClock
) -> None:
    """Refusals echo the id when readable and answer malformed frames too (id null)."""
    alice = await login("alice")
    for n in range(BURST):
        await alice.send_raw(_ping(f"ok{n}"))
    await alice.send_raw(_ping("over"))
    await alice.send_raw("{not json")
    frames = [await alice.next_event() for _ in range(BURST + 2)]
    assert [f["type"] for f in frames[:BURST]] == ["result"] * BURST
    assert [f["id"] for f in frames[:BURST]] == [f"ok{n}" for n in range(BURST)]
    assert _rate_limited(frames[BURST], "over")
    assert _rate_limited(frames[BURST + 1], None)
    clock.advance(1.0)
    await _barrier(alice)
    assert alice.drain() == []


async def test_sustained_abuse_closes_1008(
    coordinator: Coordinator, login: Login, clock: FakeClock
) -> None:
    """Past max_violations the socket is closed with 1008, every refusal answered first."""
    bob = await login("bob")
    alice = await login("alice")
    await alice.request(
        "call.get_or_create", call_type="default", call_id="c1", members=[{"user_id": "bob"}]
    )
    await bob.next_event("call.created")
    alice.drain()
    ids = [f"p{n}" for n in range(BURST - 1 + MAX_VIOLATIONS + 1 + 5)]
    for request_id in ids:
        with contextlib.suppress(ConnectionError):
            await alice.send_raw(_ping(request_id))
    assert await alice.wait_closed(timeout=5.0) == POLICY_VIOLATION

    frames = alice.drain()
    allowed = BURST - 1  # the call.get_or_create spent one token
    assert [(f["type"], f["id"]) for f in frames[:allowed]] == [
        ("result", i) for i in ids[:allowed]
    ]
    refused = frames[allowed:]
    # Each of the MAX_VIOLATIONS tolerated refusals and the one that closes is answered.
    assert len(refused) == MAX_VIOLATIONS + 1, refused
    for frame, request_id in zip(refused, ids[allowed:], strict=False):
        assert _rate_limited(frame, request_id), frame

    # bob, on his own connection, is unaffected: his whole burst is still his.
    for _ in range(BURST - 1):
        await bob.request("ping")
    members = await bob.request("call.get", cid="default:c1")
    assert sorted(m["user_id"] for m in members["members"]) == ["alice", "bob"]
    assert bob.close_code is None
    assert coordinator.connection_count == 1


async def test_other_client_unaffected_while_one_is_limited(login: Login, clock: FakeClock) -> None:
    """One connection being rate limited does not spend another connection's tokens."""
    alice = await login("alice")
    bob = await login("bob")
    for _ in range(BURST):
        await alice.request("ping")
    with pytest.raises(RateLimited):
        await alice.request("ping")
    for _ in range(BURST):
        await bob.request("ping")
    with pytest.raises(RateLimited):
        await bob.request("ping")
    assert alice.close_code is None
    assert bob.close_code is None
