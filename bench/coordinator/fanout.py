"""Ring fan-out latency with many connected users, vs echo round trips with as many idle
connections.

Ring: ``users`` authenticated connections; for each sample a random caller sends
``call.get_or_create`` with ``ring: true`` and ``callees`` random other members of a new
call, and the latency is the time from just before the send to the arrival of the
``call.ring`` event at the (last) callee, stamped by the client's reader on receipt. The
caller then cancels the ring (``call.reject``, reason ``cancel``: untimed) and the next
sample starts only once every member got ``call.ended``, so every sample finds nothing
queued in the server: latency, not queueing.

Baseline: ``users`` idle connections to the echo server; for each sample one random
connection sends a frame of the same size as the ring request and waits for the echo.

Two pacings, each for both servers. ``awake``: the client busy-polls its event loop while it
waits and starts the next sample as soon as the previous one is fully over, so neither core
sleeps for long. ``idle``: the client sleeps in epoll while it waits and pauses 3 ms between
samples, so both cores go idle. On a virtual machine an idle vCPU is halted and waking it can
take up to a host timer tick (4 ms here); the ``idle`` figures include that wake-up, the
``awake`` figures show the servers' own latency.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import aiohttp

from streamcall_widget.coordinator import mint_token

from .wire import Conn, open_many

__all__ = [
    "IDLE_GAP_SECONDS",
    "RingSample",
    "echo_round_trips",
    "login_users",
    "open_idle",
    "ring_frame",
    "ring_latencies",
]

IDLE_GAP_SECONDS = 0.003
"""Pause between samples in the ``idle`` pacing: long enough for both cores to go idle."""

_T = TypeVar("_T")


def user_id(i: int) -> str:
    """The id of the benchmark's i-th user."""
    return f"u{i:05d}"


def ring_frame(request_id: str, call_id: str, callees: Sequence[str]) -> str:
    """The ``call.get_or_create`` request that creates a call and rings ``callees``."""
    return json.dumps(
        {
            "type": "call.get_or_create",
            "id": request_id,
            "call_type": "default",
            "call_id": call_id,
            "members": [{"user_id": u} for u in callees],
            "ring": True,
        },
        separators=(",", ":"),
    )


async def login_users(
    session: aiohttp.ClientSession, url: str, api_key: str, secret: str, users: int
) -> list[Conn]:
    """``users`` authenticated connections, opened 100 at a time."""

    async def login(i: int) -> Conn:
        ws = await session.ws_connect(url, compress=0, max_msg_size=0, heartbeat=None)
        conn = Conn(ws)
        try:
            uid = user_id(i)
            token = mint_token(secret, uid)
            await conn.request("auth", timeout=30.0, api_key=api_key, token=token, user={"id": uid})
        except BaseException:
            await conn.close()
            raise
        return conn

    return await open_many(users, login)


async def open_idle(session: aiohttp.ClientSession, url: str, count: int) -> list[Conn]:
    """``count`` plain connections (the echo server has no authentication)."""

    async def connect(_: int) -> Conn:
        return Conn(await session.ws_connect(url, compress=0, max_msg_size=0, heartbeat=None))

    return await open_many(count, connect)


@dataclass(frozen=True)
class RingSample:
    """One ring: to the first and to the last callee's ``call.ring``, and to the caller's
    reply, in seconds from the send."""

    first: float
    last: float
    reply: float


async def _settle(future: asyncio.Future[_T], timeout: float, *, busy: bool) -> _T:
    """Await ``future``; with ``busy`` poll the event loop instead of sleeping in epoll, so
    this core never idles (see the module docstring)."""
    async with asyncio.timeout(timeout):
        if busy:
            while not future.done():  # noqa: ASYNC110 - busy-polling on purpose
                await asyncio.sleep(0)
        return await future


async def _pause(seconds: float, *, busy: bool) -> None:
    """Wait ``seconds``; with ``busy`` keep polling the event loop meanwhile."""
    if not busy:
        await asyncio.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:  # noqa: ASYNC110 - busy-polling on purpose
        await asyncio.sleep(0)


async def ring_latencies(
    conns: Sequence[Conn],
    *,
    callees: int,
    samples: int,
    warmup: int,
    tag: str,
    rng: random.Random,
    awake: bool,
    timeout: float = 10.0,
) -> list[RingSample]:
    """Ring ``callees`` random users ``samples`` times (after ``warmup`` untimed rings).

    After each sample the caller cancels the ring and the next sample starts only once every
    member has received the resulting ``call.ended`` (nothing is left queued in the server).
    ``awake``: the client busy-polls and starts the next ring at once; otherwise it sleeps
    in epoll and pauses ``IDLE_GAP_SECONDS`` between rings."""
    out: list[RingSample] = []
    for i in range(warmup + samples):
        picked = rng.sample(range(len(conns)), callees + 1)
        caller = conns[picked[0]]
        targets = [conns[t] for t in picked[1:]]
        call_id = f"{tag}-{i}"
        cid = f"default:{call_id}"
        rings = asyncio.gather(*(t.expect_event("call.ring", cid) for t in targets))
        request_id = caller.next_id("g")
        reply = caller.expect_reply(request_id)
        frame = ring_frame(request_id, call_id, [user_id(t) for t in picked[1:]])
        sent = time.perf_counter()
        await caller.ws.send_str(frame)
        times = await _settle(rings, timeout, busy=awake)
        answered = await _settle(reply, timeout, busy=awake)
        if i >= warmup:
            out.append(RingSample(min(times) - sent, max(times) - sent, answered.at - sent))
        ended = asyncio.gather(*(c.expect_event("call.ended", cid) for c in (caller, *targets)))
        cancel_id = caller.next_id("c")
        cancelled = caller.expect_reply(cancel_id)
        await caller.ws.send_str(
            json.dumps({"type": "call.reject", "id": cancel_id, "cid": cid, "reason": "cancel"})
        )
        await _settle(cancelled, timeout, busy=awake)
        await _settle(ended, timeout, busy=awake)
        await _pause(0.0 if awake else IDLE_GAP_SECONDS, busy=awake)
    return out


async def echo_round_trips(
    conns: Sequence[Conn],
    *,
    callees: int,
    samples: int,
    warmup: int,
    tag: str,
    rng: random.Random,
    awake: bool,
    timeout: float = 10.0,
) -> list[float]:
    """Round trips of a ring-request-sized frame on random idle echo connections, paced
    like :func:`ring_latencies` with the same ``awake`` setting."""
    out: list[float] = []
    for i in range(warmup + samples):
        picked = rng.sample(range(len(conns)), callees + 1)
        conn = conns[picked[0]]
        request_id = conn.next_id("g")
        echoed = conn.expect_reply(request_id)
        frame = ring_frame(request_id, f"{tag}-{i}", [user_id(t) for t in picked[1:]])
        sent = time.perf_counter()
        await conn.ws.send_str(frame)
        reply = await _settle(echoed, timeout, busy=awake)
        if i >= warmup:
            out.append(reply.at - sent)
        await _pause(0.0 if awake else IDLE_GAP_SECONDS, busy=awake)
    return out
