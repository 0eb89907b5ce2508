"""A client that stops reading is cut off; everyone else keeps their events."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

import pytest

from streamcall_widget.coordinator import Coordinator, Limits, mint_token

from .conftest import APP, FakeClock, Login


@pytest.fixture
def limits() -> Limits:
    """A small send buffer and no rate limit, so the test fills it quickly."""
    return Limits(
        send_buffer_bytes=64 * 1024, rate_per_second=1e6, rate_burst=10**6, max_violations=10**6
    )


def _masked_text_frame(payload: bytes) -> bytes:
    """A client-to-server text frame (clients must mask, RFC 6455 section 5.3)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _raw_login_that_never_reads(coordinator: Coordinator, clock: FakeClock) -> socket.socket:
    """Log in as 'slow' over a raw socket with a tiny receive buffer, then stop reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", coordinator.port))
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{coordinator.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, handshake.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await loop.sock_recv(sock, 1)
    assert response.startswith(b"HTTP/1.1 101"), response
    auth = {
        "type": "auth",
        "id": "a1",
        "api_key": APP.api_key,
        "token": mint_token(APP.api_secret, "slow", now=clock()),
        "user": {"id": "slow"},
    }
    await loop.sock_sendall(sock, _masked_text_frame(json.dumps(auth).encode()))
    return sock


async def test_client_that_stops_reading_is_disconnected_others_unaffected(
    coordinator: Coordinator, clock: FakeClock, login: Login
) -> None:
    """Past send_buffer_bytes the stalled member is dropped; bob gets every event in order."""
    alice = await login("alice")
    bob = await login("bob")
    slow = await _raw_login_that_never_reads(coordinator, clock)
    try:
        await alice.request(
            "call.get_or_create",
            call_type="default",
            call_id="busyroom",
            members=[{"user_id": "bob"}, {"user_id": "slow"}],
        )
        payload = "x" * 8000
        sent = 0
        for sent in range(1, 3001):
            await alice.request(
                "call.send_event", cid="default:busyroom", custom={"n": sent, "p": payload}
            )
            online = await alice.request("users.query", user_ids=["slow"])
            if not online["users"][0]["online"]:
                break
        else:
            pytest.fail("the stalled client was never disconnected")
        numbers: list[int] = []
        while len(numbers) < sent:
            event = await bob.next_event("custom")
            numbers.append(event["custom"]["n"])
        assert numbers == list(range(1, sent + 1))
        assert bob.seqs == list(range(1, len(bob.seqs) + 1))
        assert coordinator.connection_count == 2
    finally:
        slow.close()
