"""Authentication of a WebSocket connection: tokens, first message, timeouts, Origin, apps.

Every case runs a real client against the real coordinator and reads the raw frames, so
what is asserted is exactly what another language's client would see on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from streamcall_widget.coordinator import Coordinator, Limits, mint_token
from streamcall_widget.errors import (
    AuthenticationError,
    DoesNotExist,
    InputError,
    InvalidState,
    StreamCallError,
    TokenExpired,
    TokenNotValidYet,
    TokenSignatureInvalid,
    TokenUsedBeforeIssuedAt,
    UnknownApiKey,
    UnsupportedProtocol,
    UserMismatch,
)

from .conftest import APP, OTHER_APP, FakeClock, Login
from .wsclient import WsClient

POLICY_VIOLATION = 1008
GOING_AWAY = 1001
VICTIM = "victim"
"""The user every bad login claims to be."""


@pytest.fixture
def limits() -> Limits:
    """A short auth timeout so the silent-socket test is quick."""
    return Limits(auth_timeout=0.3)


# -- token builders: (api_key, token, user id sent) ------------------------------------

TokenCase = Callable[[], tuple[str, str, str]]


def _hs256(claims: dict[str, Any], secret: str = APP.api_secret) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _expired() -> tuple[str, str, str]:
    now = int(time.time())
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": now - 600, "exp": now - 60}), VICTIM


def _future_iat() -> tuple[str, str, str]:
    now = int(time.time())
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": now + 600}), VICTIM


def _future_nbf() -> tuple[str, str, str]:
    now = int(time.time())
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": now, "nbf": now + 600}), VICTIM


def _bad_signature() -> tuple[str, str, str]:
    claims = {"user_id": VICTIM, "iat": int(time.time())}
    return APP.api_key, _hs256(claims, "not-the-app-secret-" + "z" * 32), VICTIM


def _tampered_payload() -> tuple[str, str, str]:
    good = mint_token(APP.api_secret, "someone-else")
    header, _, signature = good.split(".")
    forged = _b64({"user_id": VICTIM, "iat": int(time.time())})
    return APP.api_key, f"{header}.{forged}.{signature}", VICTIM


def _alg_none() -> tuple[str, str, str]:
    header = _b64({"alg": "none", "typ": "JWT"})
    payload = _b64({"user_id": VICTIM, "iat": int(time.time())})
    return APP.api_key, f"{header}.{payload}.", VICTIM


def _hs512() -> tuple[str, str, str]:
    claims = {"user_id": VICTIM, "iat": int(time.time())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the secret is sized for HS256
        token = jwt.encode(claims, APP.api_secret, algorithm="HS512")
    return APP.api_key, token, VICTIM


def _missing_user_id() -> tuple[str, str, str]:
    return APP.api_key, _hs256({"iat": int(time.time())}), VICTIM


def _non_string_user_id() -> tuple[str, str, str]:
    return APP.api_key, _hs256({"user_id": 7, "iat": int(time.time())}), VICTIM


def _missing_iat() -> tuple[str, str, str]:
    return APP.api_key, _hs256({"user_id": VICTIM}), VICTIM


def _string_iat() -> tuple[str, str, str]:
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": str(int(time.time()))}), VICTIM


def _string_exp_in_the_future() -> tuple[str, str, str]:
    now = int(time.time())
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": now, "exp": str(now + 600)}), VICTIM


def _fractional_nbf() -> tuple[str, str, str]:
    now = int(time.time())
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": now, "nbf": now - 0.5}), VICTIM


def _boolean_iat() -> tuple[str, str, str]:
    return APP.api_key, _hs256({"user_id": VICTIM, "iat": True}), VICTIM


def _not_a_jwt() -> tuple[str, str, str]:
    return APP.api_key, "definitely.not.a-jwt", VICTIM


def _user_mismatch() -> tuple[str, str, str]:
    return APP.api_key, mint_token(APP.api_secret, "intruder"), VICTIM


def _unknown_api_key() -> tuple[str, str, str]:
    return "no-such-key", mint_token(APP.api_secret, VICTIM), VICTIM


def _other_apps_secret() -> tuple[str, str, str]:
    return APP.api_key, mint_token(OTHER_APP.api_secret, VICTIM), VICTIM


TOKEN_CASES: list[tuple[TokenCase, type[StreamCallError]]] = [
    (_expired, TokenExpired),
    (_future_iat, TokenUsedBeforeIssuedAt),
    (_future_nbf, TokenNotValidYet),
    (_bad_signature, TokenSignatureInvalid),
    (_tampered_payload, TokenSignatureInvalid),
    (_alg_none, TokenSignatureInvalid),
    (_hs512, TokenSignatureInvalid),
    (_missing_user_id, AuthenticationError),
    (_non_string_user_id, AuthenticationError),
    (_missing_iat, AuthenticationError),
    (_string_iat, AuthenticationError),
    (_string_exp_in_the_future, AuthenticationError),
    (_fractional_nbf, AuthenticationError),
    (_boolean_iat, AuthenticationError),
    (_not_a_jwt, AuthenticationError),
    (_user_mismatch, UserMismatch),
    (_unknown_api_key, UnknownApiKey),
    (_other_apps_secret, TokenSignatureInvalid),
]


# -- helpers ----------------------------------------------------------------------------


def _frame(type_: str, id_: str, **fields: Any) -> str:
    return json.dumps({"type": type_, "id": id_, **fields})


async def _send_then_collect(url: str, *frames: str) -> tuple[list[dict[str, Any]], int | None]:
    """Open a socket, send ``frames`` back to back, and return every frame until close."""
    client = await WsClient.open(url)
    try:
        await client.send_raw(frames[0])
        for frame in frames[1:]:
            # The server may already have closed the socket: that is the point.
            with contextlib.suppress(ConnectionError):
                await client.send_raw(frame)
        code = await client.wait_closed(timeout=5.0)
        return client.drain(), code
    finally:
        await client.close()


def _assert_single_error(
    received: list[dict[str, Any]], request_id: str | None, error: type[StreamCallError]
) -> None:
    assert len(received) == 1, received
    frame = received[0]
    assert frame["type"] == "error"
    assert frame["id"] == request_id
    assert (frame["code"], frame["name"]) == (error.code, error.name)
    assert isinstance(frame["message"], str)
    assert frame["message"]


SNEAKY_CREATE = _frame(
    "call.get_or_create",
    "a2",
    call_type="default",
    call_id="sneaky",
    members=[{"user_id": "bob"}],
    ring=True,
)
"""Sent right after a bad auth: had it been processed, bob would be rung and see the call."""


async def _assert_nothing_processed(bob: WsClient) -> None:
    users = await bob.request("users.query", user_ids=[VICTIM, "intruder", "someone-else"])
    assert users == {"users": []}
    with pytest.raises(DoesNotExist):
        await bob.request("call.get", cid="default:sneaky")
    assert bob.drain() == []


# -- the token matrix -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error"), TOKEN_CASES, ids=[case.__name__.strip("_") for case, _ in TOKEN_CASES]
)
async def test_bad_token_is_refused_and_socket_closed(
    coordinator: Coordinator,
    login: Login,
    build: TokenCase,
    error: type[StreamCallError],
) -> None:
    """A bad token gets exactly one error of its kind, close 1008, and nothing is processed."""
    bob = await login("bob")
    api_key, token, user_id = build()
    auth = _frame("auth", "a1", api_key=api_key, token=token, user={"id": user_id})

    received, code = await _send_then_collect(coordinator.url, auth, SNEAKY_CREATE)

    _assert_single_error(received, "a1", error)
    if build in (_string_iat, _string_exp_in_the_future, _fractional_nbf, _boolean_iat):
        assert "must be an integer" in received[0]["message"]
    assert code == POLICY_VIOLATION
    await _assert_nothing_processed(bob)
    assert coordinator.connection_count == 1


async def test_good_token_logs_in_and_shows_online(
    coordinator: Coordinator, login: Login, clock: FakeClock
) -> None:
    """The control case: a valid token authenticates and the user is online to others."""
    bob = await login("bob")
    token = mint_token(APP.api_secret, "alice", now=clock())
    auth = _frame(
        "auth", "a1", api_key=APP.api_key, token=token, user={"id": "alice", "name": "Alice"}
    )
    alice = await WsClient.open(coordinator.url)
    try:
        await alice.send_raw(auth)
        reply = await alice.next_event("result")
        assert reply["id"] == "a1"
        assert reply["data"]["user"]["id"] == "alice"
        assert reply["data"]["protocol_version"] == 1
        assert isinstance(reply["data"]["connection_id"], str)
        users = await bob.request("users.query", user_ids=["alice"])
        online = [(u["id"], u["name"], u["online"]) for u in users["users"]]
        assert online == [("alice", "Alice", True)]
    finally:
        await alice.close()


async def test_token_with_small_clock_skew_is_accepted(coordinator: Coordinator) -> None:
    """A token issued a couple of seconds in the future is within the leeway and accepted."""
    token = _hs256({"user_id": "alice", "iat": int(time.time()) + 2})
    client = await WsClient.open(coordinator.url)
    try:
        data = await client.request("auth", api_key=APP.api_key, token=token, user={"id": "alice"})
        assert data["user"]["id"] == "alice"
    finally:
        await client.close()


# -- the first message ------------------------------------------------------------------


async def test_first_message_not_auth_is_refused(coordinator: Coordinator, login: Login) -> None:
    """A call request before auth gets AUTHENTICATION_ERROR with its id, then close 1008."""
    bob = await login("bob")
    received, code = await _send_then_collect(
        coordinator.url, _frame("call.get", "g1", cid="default:sneaky"), SNEAKY_CREATE
    )
    _assert_single_error(received, "g1", AuthenticationError)
    assert code == POLICY_VIOLATION
    await _assert_nothing_processed(bob)


async def test_first_message_malformed_is_refused(coordinator: Coordinator) -> None:
    """A first frame that is not JSON gets INPUT_ERROR (no id), then close 1008."""
    received, code = await _send_then_collect(coordinator.url, "{not json", SNEAKY_CREATE)
    _assert_single_error(received, None, InputError)
    assert code == POLICY_VIOLATION


async def test_silent_socket_closed_after_auth_timeout(coordinator: Coordinator) -> None:
    """A socket that never authenticates is closed with 1008 once auth_timeout passes."""
    client = await WsClient.open(coordinator.url)
    try:
        code = await client.wait_closed(timeout=5.0)
        assert code == POLICY_VIOLATION
        assert client.drain() == []
        assert coordinator.connection_count == 0
    finally:
        await client.close()


async def test_second_auth_is_invalid_state(
    coordinator: Coordinator, login: Login, clock: FakeClock
) -> None:
    """auth on an authenticated connection is INVALID_STATE; the connection stays usable."""
    alice = await login("alice")
    token = mint_token(APP.api_secret, "alice", now=clock())
    with pytest.raises(InvalidState):
        await alice.request("auth", api_key=APP.api_key, token=token, user={"id": "alice"})
    other = mint_token(APP.api_secret, "mallory", now=clock())
    with pytest.raises(InvalidState):
        await alice.request("auth", api_key=APP.api_key, token=other, user={"id": "mallory"})
    assert "server_time" in await alice.request("ping")
    users = await alice.request("users.query", user_ids=["alice", "mallory"])
    assert [u["id"] for u in users["users"]] == ["alice"]
    assert coordinator.connection_count == 1


@pytest.mark.parametrize("version", [0, 2, 99])
async def test_unsupported_protocol_version(
    coordinator: Coordinator, login: Login, clock: FakeClock, version: int
) -> None:
    """auth with another protocol_version gets UNSUPPORTED_PROTOCOL, close 1008, no login."""
    bob = await login("bob")
    token = mint_token(APP.api_secret, VICTIM, now=clock())
    auth = _frame(
        "auth",
        "a1",
        api_key=APP.api_key,
        token=token,
        user={"id": VICTIM},
        protocol_version=version,
    )
    received, code = await _send_then_collect(coordinator.url, auth, SNEAKY_CREATE)
    _assert_single_error(received, "a1", UnsupportedProtocol)
    assert code == POLICY_VIOLATION
    await _assert_nothing_processed(bob)


# -- idle timeout -----------------------------------------------------------------------


@pytest.mark.parametrize("limits", [Limits(idle_timeout=0.3)])
async def test_idle_connection_is_closed(coordinator: Coordinator, login: Login) -> None:
    """An authenticated connection that sends nothing is closed (1001) after idle_timeout."""
    alice = await login("alice")
    assert await alice.wait_closed(timeout=5.0) == GOING_AWAY
    for _ in range(100):
        if coordinator.connection_count == 0:
            break
        await asyncio.sleep(0.01)
    assert coordinator.connection_count == 0


@pytest.mark.parametrize("limits", [Limits(idle_timeout=0.3)])
async def test_ping_keeps_connection_alive(coordinator: Coordinator, login: Login) -> None:
    """Pings more often than idle_timeout keep the connection open well past it."""
    alice = await login("alice")
    for _ in range(10):  # 1 s in all, more than three idle timeouts
        await asyncio.sleep(0.1)
        assert "server_time" in await alice.request("ping")
    assert alice.close_code is None
    assert not alice.ws.closed
    assert coordinator.connection_count == 1
    assert await alice.wait_closed(timeout=5.0) == GOING_AWAY


# -- Origin -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://evil.example:443",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "null",
    ],
)
async def test_foreign_origin_is_refused(coordinator: Coordinator, origin: str) -> None:
    """A browser Origin outside the allowed list gets HTTP 403 on the upgrade."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await WsClient.open(coordinator.url, Origin=origin)
    assert caught.value.status == 403
    assert coordinator.connection_count == 0


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8888", "http://localhost:8888", "https://localhost:443"]
)
async def test_loopback_origin_is_accepted(
    coordinator: Coordinator, clock: FakeClock, origin: str
) -> None:
    """A page served from this machine may connect and authenticate."""
    client = await WsClient.open(coordinator.url, Origin=origin)
    try:
        token = mint_token(APP.api_secret, "alice", now=clock())
        data = await client.request("auth", api_key=APP.api_key, token=token, user={"id": "alice"})
        assert data["user"]["id"] == "alice"
        assert coordinator.connection_count == 1
    finally:
        await client.close()


async def test_no_origin_is_accepted(coordinator: Coordinator, login: Login) -> None:
    """A non-browser client (no Origin header) may connect and authenticate."""
    alice = await login("alice")
    assert "server_time" in await alice.request("ping")
    assert coordinator.connection_count == 1


# -- apps are isolated ------------------------------------------------------------------


async def test_apps_are_isolated(login: Login) -> None:
    """A user of another app cannot see or join a call, nor see users, of this app."""
    alice = await login("alice")
    bob = await login("bob")
    created = await alice.request(
        "call.get_or_create",
        call_type="default",
        call_id="shared",
        members=[{"user_id": "bob"}],
    )
    assert created["created"] is True
    await alice.request("call.join", cid="default:shared")
    await bob.next_event("call.created")
    bob.drain()
    alice.drain()

    carol = await login("carol", app=OTHER_APP)
    # A user of the other app with the same id as the creator is a different user.
    twin = await login("alice", app=OTHER_APP)
    for outsider in (carol, twin):
        for request in ("call.get", "call.join", "call.accept", "call.end"):
            with pytest.raises(DoesNotExist):
                await outsider.request(request, cid="default:shared")
        with pytest.raises(DoesNotExist):
            await outsider.request(
                "call.send_event", cid="default:shared", custom={"hello": "from outside"}
            )
        listed = await outsider.request("calls.query")
        assert listed["calls"] == []
    seen = await carol.request("users.query", user_ids=["bob", "carol"])
    assert [u["id"] for u in seen["users"]] == ["carol"]
    twin_view = await carol.request("users.query", user_ids=["alice"])
    assert [u["online"] for u in twin_view["users"]] == [True]

    # The same cid in the other app is another call entirely.
    other = await twin.request("call.get_or_create", call_type="default", call_id="shared")
    assert other["created"] is True
    assert [m["user_id"] for m in other["members"]] == ["alice"]
    assert other["call"]["session"] is None

    seen_here = await alice.request("users.query", user_ids=["carol", "bob"])
    assert [u["id"] for u in seen_here["users"]] == ["bob"]
    mine = await alice.request("call.get", cid="default:shared")
    assert sorted(m["user_id"] for m in mine["members"]) == ["alice", "bob"]
    assert mine["call"]["session"]["participant_count"]["total"] == 1
    await alice.request("ping")
    await bob.request("ping")
    assert alice.drain() == []
    assert bob.drain() == []
