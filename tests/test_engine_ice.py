"""ICE configuration: servers validated, and a silent STUN server does not stop a call."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice import ice

from streamcall_widget import CallState, IceServer, StreamCall
from streamcall_widget.engine.ice import forget_mdns
from streamcall_widget.errors import InputError


@pytest.mark.parametrize(
    ("urls", "username", "credential", "message"),
    [
        ((), None, None, "at least one URL"),
        (("http://example.test",), None, None, "must start with stun:, turn: or turns:"),
        (("turn:127.0.0.1:3478",), None, None, "needs a username and a credential"),
        (("turns:127.0.0.1:5349",), "user", None, "needs a username and a credential"),
    ],
)
def test_bad_ice_server_is_refused(
    urls: tuple[str, ...], username: str | None, credential: str | None, message: str
) -> None:
    """An ICE server without URLs, with another scheme, or TURN without credentials fails."""
    with pytest.raises(InputError, match=message):
        IceServer(urls, username, credential)


@pytest.fixture
def silent_stun() -> Iterator[str]:
    """A UDP port on loopback that receives STUN requests and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"stun:127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_call_connects_with_a_stun_server_that_never_answers(
    tmp_path: Path, silent_stun: str
) -> None:
    """With an unresponsive STUN server configured, gathering gives up on it and media flows."""
    servers = (IceServer((silent_stun,)),)
    alice = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path, ice_servers=servers)
    bob = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path, ice_servers=servers)
    try:
        alice.login("alice").result(10)
        bob.login("bob").result(10)
        call = alice.call(["bob"], ring=False).result(10)
        bob_call = bob.join_call(call.id).result(10)
        arrived = threading.Event()

        def seen(_participant: object, _frame: Any) -> None:
            arrived.set()

        bob_call.on_remote_video(seen)
        assert arrived.wait(30), "no video with a silent STUN server configured"
        assert bob_call.state is CallState.JOINED
    finally:
        bob.close()
        alice.close()


def test_mdns_resolution_works_again_on_a_new_engine_loop() -> None:
    """A browser's ``.local`` candidates go through aioice's one mDNS responder, whose lock
    belongs to the loop that first used it: on a second loop (all clients closed, a new
    one made) it fails, unless the engine forgets it when the loop starts."""

    async def resolve_once() -> None:
        owner = object()
        await ice.get_or_create_mdns_protocol(owner)
        await ice.unref_mdns_protocol(owner)

    async def two_at_once() -> None:
        """Two ``.local`` names resolved together: the second waits on the lock, which
        binds the lock to the running loop."""
        await resolve_once()  # makes the lock
        await ice._mdns.lock.acquire()
        second = asyncio.ensure_future(resolve_once())
        await asyncio.sleep(0)
        ice._mdns.lock.release()
        await second

    forget_mdns()
    asyncio.run(two_at_once())
    with pytest.raises(RuntimeError, match="different event loop"):
        asyncio.run(two_at_once())
    forget_mdns()
    asyncio.run(two_at_once())
