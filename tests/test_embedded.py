"""The embedded coordinator: discovery file, find_running, dev tokens and stale files."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from streamcall_widget.coordinator import EmbeddedCoordinator, find_running, start_embedded
from streamcall_widget.coordinator.embedded import DISCOVERY_NAME, Discovery

from .wsclient import WsClient


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedCoordinator]:
    """An embedded coordinator advertising itself in tmp_path."""
    server = await start_embedded(runtime_dir=tmp_path)
    try:
        yield server
    finally:
        await server.stop()


async def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    return proc.pid


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def write_discovery(path: Path, pid: int, port: int) -> Discovery:
    """Write a discovery file pointing at ``port`` for process ``pid``."""
    found = Discovery(
        url=f"ws://127.0.0.1:{port}/ws",
        http_url=f"http://127.0.0.1:{port}",
        api_key="stale-key",
        api_secret="stale-secret",
        pid=pid,
    )
    path.write_text(json.dumps(found.__dict__))
    return found


async def test_serves_on_loopback_and_writes_private_discovery(
    embedded: EmbeddedCoordinator, tmp_path: Path
) -> None:
    """It listens on 127.0.0.1 with a real port and writes a 0600 file with url, keys and pid."""
    coordinator = embedded.coordinator
    assert coordinator.config.host == "127.0.0.1"
    assert coordinator.port != 0
    assert coordinator.url == f"ws://127.0.0.1:{coordinator.port}/ws"
    path = tmp_path / DISCOVERY_NAME
    assert embedded.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["url"] == coordinator.url
    assert data["http_url"] == coordinator.http_url
    assert data["api_key"] == embedded.app.api_key
    assert data["api_secret"] == embedded.app.api_secret
    assert data["pid"] == os.getpid()
    assert os.listdir(tmp_path) == [DISCOVERY_NAME]


async def test_find_running_and_health(embedded: EmbeddedCoordinator, tmp_path: Path) -> None:
    """find_running returns the advertised coordinator, whose /health answers ok."""
    found = await find_running(tmp_path)
    assert found == embedded.discovery
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{found.http_url}/health") as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok"
    assert body["protocol_version"] == 1


async def test_dev_token_logs_in(embedded: EmbeddedCoordinator) -> None:
    """POST /dev/token mints a token that authenticates that user over the WebSocket."""
    found = embedded.discovery
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{found.http_url}/dev/token", json={"api_key": found.api_key, "user_id": "bob"}
        ) as response:
            assert response.status == 200
            token = (await response.json())["token"]
        async with session.post(
            f"{found.http_url}/dev/token", json={"api_key": "wrong", "user_id": "bob"}
        ) as refused:
            assert refused.status == 400
    client = await WsClient.login(found.url, found.api_key, token, "bob")
    try:
        (me,) = (await client.request("users.query", user_ids=["bob"]))["users"]
        assert me["online"] is True
        assert embedded.coordinator.connection_count == 1
    finally:
        await client.close()


async def test_stop_removes_file(tmp_path: Path) -> None:
    """Stopping removes the discovery file, after which find_running finds nothing."""
    server = await start_embedded(runtime_dir=tmp_path)
    path = tmp_path / DISCOVERY_NAME
    assert path.exists()
    await server.stop()
    assert not path.exists()
    assert await find_running(tmp_path) is None


async def test_missing_or_garbage_file_ignored(tmp_path: Path) -> None:
    """No file or an unreadable file means nothing is running."""
    assert await find_running(tmp_path) is None
    (tmp_path / DISCOVERY_NAME).write_text("{not json")
    assert await find_running(tmp_path) is None


async def test_stale_file_of_dead_process_ignored_and_replaced(tmp_path: Path) -> None:
    """A file whose pid is dead is ignored, and start_embedded replaces it with its own."""
    path = tmp_path / DISCOVERY_NAME
    write_discovery(path, await dead_pid(), closed_port())
    assert await find_running(tmp_path) is None
    server = await start_embedded(runtime_dir=tmp_path)
    try:
        assert json.loads(path.read_text())["pid"] == os.getpid()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert await find_running(tmp_path) == server.discovery
    finally:
        await server.stop()
    assert not path.exists()


async def test_live_pid_without_health_ignored(tmp_path: Path) -> None:
    """A file naming a live process that serves no /health is ignored."""
    write_discovery(tmp_path / DISCOVERY_NAME, os.getpid(), closed_port())
    assert await find_running(tmp_path) is None


async def test_stop_keeps_a_newer_coordinators_file(tmp_path: Path) -> None:
    """Stopping an older coordinator does not delete a file another one has since written."""
    older = await start_embedded(runtime_dir=tmp_path)
    newer = await start_embedded(runtime_dir=tmp_path)
    try:
        await older.stop()
        assert await find_running(tmp_path) == newer.discovery
    finally:
        await newer.stop()
    assert not (tmp_path / DISCOVERY_NAME).exists()
