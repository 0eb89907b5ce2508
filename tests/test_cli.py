"""The ``streamcall`` command: ``token`` in-process, ``serve`` as a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import jwt
import pytest

from streamcall_widget.cli import main
from streamcall_widget.coordinator import mint_token

from .wsclient import WsClient

STREAMCALL = Path(sys.executable).parent / "streamcall"
SECRET = "S" * 32
"""A secret long enough for HS256 (PyJWT warns below 32 bytes)."""


def test_token_prints_decodable_jwt(capsys: pytest.CaptureFixture[str]) -> None:
    """``streamcall token`` prints an HS256 JWT for the user with iat and exp = iat + ttl."""
    assert main(["token", "--user", "bob", "--api-secret", SECRET, "--ttl", "60"]) == 0
    out = capsys.readouterr().out.strip()
    claims = jwt.decode(out, SECRET, algorithms=["HS256"])
    assert claims["user_id"] == "bob"
    assert isinstance(claims["iat"], int)
    assert claims["exp"] == claims["iat"] + 60
    assert "role" not in claims
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(out, "other" * 8, algorithms=["HS256"])


def test_token_with_role_and_no_expiry(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --ttl the token has no exp; --role admin is carried in the claims."""
    assert main(["token", "--user", "root", "--api-secret", SECRET, "--role", "admin"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin"
    assert "exp" not in claims


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> dict[str, object]:
    """Poll /health until it answers (the process must not exit meanwhile)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(160):
            assert proc.returncode is None, "streamcall serve exited early"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        body: dict[str, object] = await response.json()
                        return body
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def start_serve(
    port: int, db: Path, api_key: str, api_secret: str, *, stderr: int
) -> asyncio.subprocess.Process:
    """``streamcall serve`` on 127.0.0.1:``port`` with this app and database file."""
    return await asyncio.create_subprocess_exec(
        str(STREAMCALL),
        "serve",
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--api-secret",
        api_secret,
        "--db",
        str(db),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )


async def test_serve_health_login_and_sigterm(tmp_path: Path) -> None:
    """``streamcall serve`` answers /health, accepts a login and exits 0 on SIGTERM."""
    port = free_port()
    db = tmp_path / "serve.sqlite3"
    proc = await start_serve(port, db, "k", "s" * 32, stderr=asyncio.subprocess.PIPE)
    try:
        health = await wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        assert health["status"] == "ok"
        token = mint_token("s" * 32, "alice")
        client = await WsClient.login(f"ws://127.0.0.1:{port}/ws", "k", token, "alice")
        try:
            (me,) = (await client.request("users.query", user_ids=["alice"]))["users"]
            assert me["online"] is True
            created = await client.request("call.get_or_create", call_type="default", call_id="c1")
            assert created["created"] is True
        finally:
            await client.close()
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 8)
        assert proc.stderr is not None
        stderr = (await proc.stderr.read()).decode()
        assert code == 0, stderr
        assert f"ws://127.0.0.1:{port}/ws" in stderr
        assert db.exists()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
