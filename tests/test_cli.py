"""The ``streamcall`` command: ``token`` in-process, ``serve`` as a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import warnings
from pathlib import Path

import aiohttp
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from streamcall_widget.cli import DEFAULT_TOKEN_TTL, main
from streamcall_widget.coordinator import mint_token
from streamcall_widget.protocol.push import webhook_key

from .ports import free_port
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


def test_token_expires_after_a_day_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --ttl the token expires 24 h after it was issued; --role is in the claims."""
    assert main(["token", "--user", "root", "--api-secret", SECRET, "--role", "admin"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin"
    assert claims["exp"] == claims["iat"] + DEFAULT_TOKEN_TTL == claims["iat"] + 86_400


def test_token_ttl_zero_never_expires(capsys: pytest.CaptureFixture[str]) -> None:
    """``--ttl 0`` mints a token with no exp, as the help says."""
    assert main(["token", "--user", "root", "--api-secret", SECRET, "--ttl", "0"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert "exp" not in claims


@pytest.mark.parametrize("ttl", ["-5", "soon", "nan"])
def test_token_bad_ttl_is_refused(ttl: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative or non-numeric --ttl is a usage error naming what is allowed; no token."""
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "--user", "root", "--api-secret", SECRET, "--ttl", ttl])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--ttl" in captured.err


def test_push_key_is_derived_from_the_secret_and_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``push-key`` prints the webhook key notices are signed with: derived from the secret,
    not the secret; with no secret and no embedded coordinator it exits 2 saying so."""
    assert main(["push-key", "--api-secret", SECRET]) == 0
    key = capsys.readouterr().out.strip()
    assert key == webhook_key(SECRET)
    assert len(key) == 64
    assert key != SECRET
    assert key != webhook_key("T" * 32)
    monkeypatch.delenv("STREAMCALL_API_SECRET", raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    assert main(["push-key"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "streamcall push-key: no --api-secret and no embedded coordinator" in captured.err


def test_serve_refuses_a_short_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """``serve`` with a secret under 32 bytes exits 2 before listening, saying what to do."""
    assert main(["serve", "--port", "0", "--api-key", "k", "--api-secret", "s" * 31]) == 2
    err = capsys.readouterr().err
    assert "31 bytes" in err
    assert "at least 32" in err
    assert "--allow-weak-secret" in err


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--push-provider", "fcm"], "", "push provider 'fcm': expected NAME=URL"),
        (["--push-provider", "fcm=ftp://relay.example/push"], "", "is not an http:// or https://"),
        (
            ["--push-provider", "a=http://h.example", "--push-provider", "a=http://h.example"],
            "",
            "'a' is given twice",
        ),
        ([], "ok=https://h.example,bad", "push provider 'bad': expected NAME=URL"),
    ],
    ids=["no-url", "not-http", "twice", "env"],
)
def test_serve_refuses_a_bad_push_provider(
    flags: list[str],
    env: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A --push-provider (or STREAMCALL_PUSH_PROVIDERS entry) not written NAME=URL with an
    http(s) URL exits 2 before listening, naming the expected form (or the name given
    twice)."""
    monkeypatch.setenv("STREAMCALL_PUSH_PROVIDERS", env)
    assert main(["serve", "--port", "0", "--db", ":memory:", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err


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
    port: int, db: Path, api_key: str, api_secret: str, *flags: str, stderr: int
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
        *flags,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )


@pytest.mark.parametrize(
    ("secret", "flags"),
    [
        ("s" * 32, ()),
        (
            "weak",
            (
                "--allow-weak-secret",
                "--session-grace",
                "7.5",
                "--push-provider",
                "fcm=http://127.0.0.1:9/push",
            ),
        ),
    ],
    ids=["strong", "weak-short-grace"],
)
async def test_serve_health_login_and_sigterm(
    tmp_path: Path, secret: str, flags: tuple[str, ...]
) -> None:
    """``streamcall serve`` answers /health, accepts a login and exits 0 on SIGTERM; a weak
    secret runs only with --allow-weak-secret, and says so in the log; --session-grace is
    what the auth result announces; with --push-provider, /health counts its notices and
    the provider can be registered with."""
    port = free_port()
    db = tmp_path / "serve.sqlite3"
    proc = await start_serve(port, db, "k", secret, *flags, stderr=asyncio.subprocess.PIPE)
    try:
        health = await wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        assert health["status"] == "ok"
        assert health.get("push") == ({"sent": 0, "failed": 0, "dropped": 0} if flags else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the weak case
            token = mint_token(secret, "alice")
        client = await WsClient.login(f"ws://127.0.0.1:{port}/ws", "k", token, "alice")
        try:
            assert client.auth["limits"]["session_grace"] == (7.5 if flags else 30.0)
            (me,) = (await client.request("users.query", user_ids=["alice"]))["users"]
            assert me["online"] is True
            created = await client.request("call.get_or_create", call_type="default", call_id="c1")
            assert created["created"] is True
            if flags:
                registered = await client.request("push.register", push_provider_name="fcm")
                assert registered == {"push_provider_name": "fcm", "voip_provider_name": None}
        finally:
            await client.close()
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 8)
        assert proc.stderr is not None
        stderr = (await proc.stderr.read()).decode()
        assert code == 0, stderr
        assert f"ws://127.0.0.1:{port}/ws" in stderr
        assert ("tokens can be forged" in stderr) == bool(flags)
        assert db.exists()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
