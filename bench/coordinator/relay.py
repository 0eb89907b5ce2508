"""Relay throughput: ``call.signal`` frames from A to B through the coordinator, vs echo.

The sender keeps at most ``window`` frames in flight (sent, not yet counted at the
receiver) and the run ends when the receiver has counted all ``n``. The counter is the
same function for both servers: a received text frame containing ``"call.signal"`` counts
(the coordinator delivers ``{"type":"event",...,"event":{"type":"call.signal",...}}`` to B;
the echo server returns the request frame itself, whose type is ``call.signal``). With the
coordinator the sender also receives one ``result`` per request, which is checked for errors
but not counted. Throughput is ``n`` over the time from the first send to the last count.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from streamcall_widget.coordinator import mint_token

from .wire import Conn

__all__ = ["CANDIDATE", "RelayPair", "coordinator_pair", "echo_pair", "pump", "signal_frame"]

_CANDIDATE_HEAD = (
    "candidate:842163049 1 udp 1677729535 203.0.113.47 50123 typ srflx "
    "raddr 192.168.1.23 rport 50123 generation 0 ufrag EsAw network-id 1 network-cost 10"
)
CANDIDATE = _CANDIDATE_HEAD + " x-pad " + "a" * (300 - len(_CANDIDATE_HEAD) - 7)
"""A 300-character ICE candidate line (a realistic srflx candidate, padded)."""


def signal_frame(cid: str, session_id: str) -> tuple[str, str]:
    """The ``call.signal`` request as (text before the request id, text after it)."""
    head = '{"type":"call.signal","id":"'
    tail = (
        f'","cid":"{cid}","session_id":"{session_id}","signal":{{"kind":"candidate",'
        f'"candidate":"{CANDIDATE}","sdp_mid":"0","sdp_mline_index":0}}}}'
    )
    return head, tail


@dataclass
class RelayPair:
    """Who sends, who counts, and the frame: the same shape for both servers."""

    sender: Conn
    receiver: Conn
    frame: tuple[str, str]

    @property
    def conns(self) -> list[Conn]:
        """Every connection of the pair (one for echo)."""
        return [self.sender] if self.receiver is self.sender else [self.sender, self.receiver]


async def coordinator_pair(
    session: aiohttp.ClientSession, url: str, api_key: str, secret: str
) -> RelayPair:
    """Two logged-in users A and B, both joined to one call; A signals B's session."""
    conns: list[Conn] = []
    try:
        for user in ("relay-a", "relay-b"):
            ws = await session.ws_connect(url, compress=0, max_msg_size=0)
            conn = Conn(ws)
            conns.append(conn)
            token = mint_token(secret, user)
            await conn.request("auth", api_key=api_key, token=token, user={"id": user})
        a, b = conns
        await a.request(
            "call.get_or_create",
            call_type="default",
            call_id="relay",
            members=[{"user_id": "relay-b"}],
        )
        await a.request("call.join", cid="default:relay")
        joined = await b.request("call.join", cid="default:relay")
    except BaseException:
        for conn in conns:
            await conn.close()
        raise
    return RelayPair(a, b, signal_frame("default:relay", joined["session_id"]))


async def echo_pair(session: aiohttp.ClientSession, url: str, session_id: str) -> RelayPair:
    """One connection to the echo server, sending the coordinator's frame to itself."""
    ws = await session.ws_connect(url, compress=0, max_msg_size=0)
    conn = Conn(ws)
    return RelayPair(conn, conn, signal_frame("default:relay", session_id))


async def pump(pair: RelayPair, n: int, window: int, timeout: float = 120.0) -> float:
    """Relay ``n`` frames with at most ``window`` in flight; returns messages per second."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    credit = asyncio.Semaphore(window)
    count = 0

    def on_frame(data: str) -> bool:
        nonlocal count
        if '"call.signal"' in data:
            count += 1
            credit.release()
            if count == n and not done.done():
                done.set_result(time.perf_counter())
            return True
        if '"type":"error"' in data and not done.done():
            done.set_exception(RuntimeError(f"the server refused a relayed frame: {data[:300]}"))
        return True

    for conn in pair.conns:
        conn.on_frame = on_frame
    head, tail = pair.frame
    send = pair.sender.ws.send_str
    try:
        start = time.perf_counter()
        for i in range(n):
            await credit.acquire()
            if done.done():
                break
            await send(f"{head}m{i}{tail}")
        end = await asyncio.wait_for(done, timeout)
    finally:
        for conn in pair.conns:
            conn.on_frame = None
    return n / (end - start)
