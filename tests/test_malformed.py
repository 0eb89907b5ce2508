"""Malformed input: a flood of broken frames never hurts the server or a healthy call.

Every malformed frame is answered by exactly one error (its id echoed when the frame had a
readable one), the server keeps serving, and a call relaying signals and custom events at
the same time sees every message, in order, with contiguous event seqs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from streamcall_widget.coordinator import Coordinator, Limits
from streamcall_widget.errors import InputError, StreamCallError, UnknownMessageType

from .conftest import Login
from .wsclient import WsClient

FLOOD = 10_000
MESSAGE_TOO_BIG = 1009


@pytest.fixture
def limits() -> Limits:
    """Rate limits out of the way: this module floods on purpose."""
    return Limits(rate_per_second=100_000, rate_burst=100_000, max_violations=10**9)


@dataclass(frozen=True)
class Bad:
    """One malformed frame and the error it must be answered with."""

    data: str | bytes
    """str goes out as a TEXT frame, bytes as a BINARY frame."""
    reply_id: str | None
    error: type[StreamCallError]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CANDIDATE_LINE = "candidate:1 1 udp 2122260223 10.0.0.1 9 typ host"

BAD_SIGNALS: dict[str, dict[str, Any]] = {
    # A browser's RTCIceCandidate.toJSON(), camelCase, sent as it is.
    "camel-case-candidate": {
        "kind": "candidate",
        "candidate": CANDIDATE_LINE,
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "abcd",
    },
    "unknown-field": {"kind": "offer", "sdp": "v=0\r\n", "type": "offer"},
    "offer-without-sdp": {"kind": "offer"},
    "answer-with-empty-sdp": {"kind": "answer", "sdp": ""},
    "offer-with-candidate": {"kind": "offer", "sdp": "v=0\r\n", "candidate": CANDIDATE_LINE},
    "candidate-without-line": {"kind": "candidate", "sdp_mid": "0"},
    "candidate-with-sdp": {"kind": "candidate", "candidate": CANDIDATE_LINE, "sdp": "v=0"},
    "negative-mline-index": {
        "kind": "candidate",
        "candidate": CANDIDATE_LINE,
        "sdp_mline_index": -1,
    },
    "mid-not-a-string": {"kind": "candidate", "candidate": CANDIDATE_LINE, "sdp_mid": 0},
    "end-of-candidates-with-line": {"kind": "end_of_candidates", "candidate": CANDIDATE_LINE},
    "sdp-not-a-string": {"kind": "offer", "sdp": ["v=0"]},
}
"""Signal payloads the coordinator refuses (INPUT_ERROR), by name."""


def _bad_signal(signal: dict[str, Any]) -> Callable[[str], Bad]:
    """A call.signal frame carrying ``signal``."""
    return lambda i: Bad(
        json.dumps(
            {
                "type": "call.signal",
                "id": i,
                "cid": "default:healthy",
                "session_id": "s",
                "signal": signal,
            }
        ),
        i,
        InputError,
    )


def _kinds() -> list[Callable[[str], Bad]]:
    """Builders of malformed frames; each takes a unique id to embed where it can."""
    input_error, unknown = InputError, UnknownMessageType
    return [
        # Not JSON at all.
        lambda i: Bad('{"type": "ping", "id": "' + i + '"', None, input_error),
        lambda i: Bad("not json " + i, None, input_error),
        lambda i: Bad('{"type":"ping","id":"' + i + '"} trailing', None, input_error),
        lambda i: Bad("\ufeff" + json.dumps({"type": "ping", "id": i}), None, input_error),
        lambda i: Bad("{'type': 'ping', 'id': '" + i + "'}", None, input_error),
        # JSON, but not an object.
        lambda i: Bad(json.dumps([{"type": "ping", "id": i}]), None, input_error),
        lambda i: Bad("12345", None, input_error),
        lambda i: Bad(json.dumps(i), None, input_error),
        lambda i: Bad("null", None, input_error),
        lambda i: Bad("true", None, input_error),
        # Empty and blank frames, text and binary.
        lambda i: Bad("", None, input_error),
        lambda i: Bad(b"", None, input_error),
        lambda i: Bad("   \n\t ", None, input_error),
        # Null bytes: raw in the text (invalid JSON), escaped inside the type (unknown type).
        lambda i: Bad('{"type":"ping","id":"' + i + '\x00"}', None, input_error),
        lambda i: Bad("\x00", None, input_error),
        lambda i: Bad(json.dumps({"type": "ping\u0000", "id": i}), i, unknown),
        # Unknown or missing type.
        lambda i: Bad(json.dumps({"type": "call.explode", "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"type": 5, "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"type": ["auth"], "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"type": {"name": "ping"}, "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"type": [], "id": [i]}), None, unknown),
        lambda i: Bad(json.dumps({"type": True, "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"type": "PING", "id": i}), i, unknown),
        lambda i: Bad(json.dumps({"id": i, "cid": "default:x"}), i, input_error),
        # Missing, unreadable or over-long ids.
        lambda i: Bad(json.dumps({"type": "ping"}), None, input_error),
        lambda i: Bad(json.dumps({"type": "ping", "id": 17}), None, input_error),
        lambda i: Bad(json.dumps({"type": "ping", "id": ""}), None, input_error),
        lambda i: Bad(json.dumps({"type": "ping", "id": [i]}), None, input_error),
        lambda i: Bad(json.dumps({"type": "ping", "id": i + "x" * 64}), None, input_error),
        # Wrong field types and missing required fields.
        lambda i: Bad(json.dumps({"type": "call.get", "id": i, "cid": 5}), i, input_error),
        lambda i: Bad(json.dumps({"type": "call.get", "id": i}), i, input_error),
        lambda i: Bad(json.dumps({"type": "call.get", "id": i, "cid": "no colon"}), i, input_error),
        lambda i: Bad(
            json.dumps({"type": "call.get", "id": i, "cid": "default:" + "x" * 200}),
            i,
            input_error,
        ),
        lambda i: Bad(
            json.dumps({"type": "users.query", "id": i, "user_ids": "alice"}), i, input_error
        ),
        lambda i: Bad(
            json.dumps(
                {
                    "type": "call.signal",
                    "id": i,
                    "cid": "default:healthy",
                    "session_id": "s",
                    "signal": {"kind": "bogus"},
                }
            ),
            i,
            input_error,
        ),
        *(_bad_signal(signal) for signal in BAD_SIGNALS.values()),
        lambda i: Bad(
            json.dumps({"type": "call.get_or_create", "id": i, "call_type": "default"}),
            i,
            input_error,
        ),
        # Unknown fields.
        lambda i: Bad(json.dumps({"type": "ping", "id": i, "extra": 1}), i, input_error),
        lambda i: Bad(
            json.dumps({"type": "call.get", "id": i, "cid": "default:healthy", "admin": True}),
            i,
            input_error,
        ),
        # Huge numbers.
        lambda i: Bad(
            '{"type":"calls.query","id":"' + i + '","limit":' + "9" * 400 + "}", i, input_error
        ),
        lambda i: Bad(
            '{"type":"call.signal","id":"'
            + i
            + '","cid":"default:healthy","session_id":"s",'
            + '"signal":{"kind":"candidate","sdp_mline_index":1e999}}',
            i,
            input_error,
        ),
        lambda i: Bad('{"type":"calls.query","id":"' + i + '","limit":-1e400}', i, input_error),
        # Deep nesting, at the top and inside a field.
        lambda i: Bad(_nested(5_000), None, input_error),
        lambda i: Bad(
            '{"type":"call.send_event","id":"'
            + i
            + '","cid":"default:healthy","custom":{"a":'
            + _nested(5_000)
            + "}}",
            None,
            input_error,
        ),
        # Invalid UTF-8 in a BINARY frame: after the JSON, at the start, inside a string.
        lambda i: Bad(json.dumps({"type": "ping", "id": i}).encode() + b"\xff", None, input_error),
        lambda i: Bad(b"\xc3\x28" + i.encode(), None, input_error),
        lambda i: Bad(b'{"type":"ping","id":"' + i.encode() + b'\xff"}', None, input_error),
        # Invalid UTF-8 in the id of an otherwise invalid request (the id cannot be echoed).
        lambda i: Bad(b'{"type":"call.nope","id":"' + i.encode() + b'\xff"}', None, input_error),
        lambda i: Bad(
            b'{"type":"call.get","cid":5,"id":"' + i.encode() + b'\xfe"}', None, input_error
        ),
        # A well-formed frame in a BINARY frame is still checked like text.
        lambda i: Bad(json.dumps({"type": "nope", "id": i}).encode(), i, unknown),
    ]


KIND_NAMES = (
    "unterminated-json",
    "not-json",
    "trailing-garbage",
    "bom",
    "single-quotes",
    "array",
    "number",
    "string",
    "null",
    "true",
    "empty-text",
    "empty-binary",
    "whitespace",
    "raw-null-byte-in-string",
    "lone-null-byte",
    "escaped-null-in-type",
    "unknown-type",
    "non-string-type",
    "list-type",
    "object-type",
    "list-type-list-id",
    "boolean-type",
    "uppercase-type",
    "missing-type",
    "missing-id",
    "numeric-id",
    "empty-id",
    "list-id",
    "overlong-id",
    "cid-wrong-type",
    "cid-missing",
    "cid-bad-pattern",
    "cid-too-long",
    "user-ids-not-list",
    "signal-bad-kind",
    *(f"signal-{name}" for name in BAD_SIGNALS),
    "get-or-create-missing-call-id",
    "unknown-field",
    "unknown-field-admin",
    "huge-integer",
    "float-overflow-1e999",
    "negative-float-overflow",
    "deep-nesting-top-level",
    "deep-nesting-in-field",
    "binary-invalid-utf8-after-json",
    "binary-invalid-utf8-at-start",
    "binary-invalid-utf8-in-string",
    "binary-invalid-utf8-in-id-unknown-type",
    "binary-invalid-utf8-in-id-wrong-field",
    "binary-unknown-type",
)
KINDS: list[tuple[str, Callable[[str], Bad]]] = list(zip(KIND_NAMES, _kinds(), strict=True))


def _flood_frames(count: int) -> list[Bad]:
    return [KINDS[n % len(KINDS)][1](f"f{n}") for n in range(count)]


async def _send(client: WsClient, data: str | bytes) -> None:
    await client.send_raw(data)


async def _barrier(*clients: WsClient) -> None:
    """Every frame the server queued for these clients before now has arrived."""
    for client in clients:
        assert "server_time" in await client.request("ping")


async def _healthy_call(login: Login, call_id: str) -> tuple[WsClient, WsClient, str, str]:
    alice = await login("alice")
    bob = await login("bob")
    cid = f"default:{call_id}"
    await alice.request(
        "call.get_or_create", call_type="default", call_id=call_id, members=[{"user_id": "bob"}]
    )
    a = await alice.request("call.join", cid=cid)
    b = await bob.request("call.join", cid=cid)
    return alice, bob, a["session_id"], b["session_id"]


def _assert_contiguous(client: WsClient) -> None:
    assert client.seqs == list(range(1, len(client.seqs) + 1))


def _assert_replies(frames: list[Bad], replies: list[dict[str, Any]]) -> None:
    """Exactly one reply per frame, in order, with the expected id, code and name."""
    assert len(replies) == len(frames)
    for n, (bad, reply) in enumerate(zip(frames, replies, strict=True)):
        expected = {
            "type": "error",
            "id": bad.reply_id,
            "code": bad.error.code,
            "name": bad.error.name,
        }
        got = {k: reply.get(k) for k in expected}
        assert got == expected, f"frame {n}: {bad.data[:80]!r}: {reply}"
        assert isinstance(reply["message"], str)
        assert reply["message"]


async def test_malformed_flood_is_answered_and_harmless(
    coordinator: Coordinator, login: Login
) -> None:
    """10 000 malformed frames each get one error; a concurrent call relays everything in order."""
    alice, bob, a_session, b_session = await _healthy_call(login, "healthy")
    alice.drain()
    bob.drain()
    flooder = await login("flooder")
    frames = _flood_frames(FLOOD)
    signals = 300
    customs = 100

    async def flood() -> None:
        for n, bad in enumerate(frames):
            await _send(flooder, bad.data)
            if n % 50 == 0:
                await asyncio.sleep(0)

    async def relay_alice() -> None:
        for n in range(signals):
            candidate = {"kind": "candidate", "candidate": f"candidate:{n}", "sdp_mline_index": 0}
            await alice.request(
                "call.signal", cid="default:healthy", session_id=b_session, signal=candidate
            )

    async def relay_bob() -> None:
        for n in range(signals):
            offer = {"kind": "offer", "sdp": f"v=0 {n}"}
            await bob.request(
                "call.signal", cid="default:healthy", session_id=a_session, signal=offer
            )
            if n % 3 == 0:
                await bob.request("call.send_event", cid="default:healthy", custom={"n": n // 3})

    await asyncio.gather(flood(), relay_alice(), relay_bob())
    assert customs == len(range(0, signals, 3))
    await _barrier(flooder, alice, bob)

    replies = flooder.drain()
    _assert_replies(frames, replies)
    assert flooder.seqs == []

    bob_events = bob.drain()
    got_candidates = [e["signal"]["candidate"] for e in bob_events if e["type"] == "call.signal"]
    assert got_candidates == [f"candidate:{n}" for n in range(signals)]
    assert all(
        e["from_session_id"] == a_session and e["session_id"] == b_session
        for e in bob_events
        if e["type"] == "call.signal"
    )
    alice_events = alice.drain()
    got_offers = [e["signal"]["sdp"] for e in alice_events if e["type"] == "call.signal"]
    assert got_offers == [f"v=0 {n}" for n in range(signals)]
    for events in (alice_events, bob_events):
        custom = [e["custom"]["n"] for e in events if e["type"] == "custom"]
        assert custom == list(range(customs))
        assert {e["type"] for e in events} == {"call.signal", "custom"}
    _assert_contiguous(alice)
    _assert_contiguous(bob)

    # After the flood: the call still relays, the server is healthy, new logins work.
    await alice.request(
        "call.signal",
        cid="default:healthy",
        session_id=b_session,
        signal={"kind": "end_of_candidates"},
    )
    after = await bob.next_event("call.signal")
    assert after["signal"] == {"kind": "end_of_candidates"}
    _assert_contiguous(bob)
    async with (
        aiohttp.ClientSession() as http,
        http.get(coordinator.http_url + "/health") as response,
    ):
        assert response.status == 200
        health = await response.json()
    assert health["status"] == "ok"
    assert health["connections"] == 3
    carol = await login("carol")
    assert "server_time" in await carol.request("ping")
    # The flooder itself is still connected and served normally.
    assert "server_time" in await flooder.request("ping")


@pytest.mark.parametrize("bad", [kind("k1") for _, kind in KINDS], ids=KIND_NAMES)
async def test_each_malformed_kind_is_answered_once(login: Login, bad: Bad) -> None:
    """Each kind of malformed frame alone gets exactly its one error; the socket stays open."""
    client = await login("alice")
    await _send(client, bad.data)
    await _barrier(client)
    _assert_replies([bad], client.drain())
    assert client.close_code is None


async def test_invalid_utf8_inside_string_in_binary_frame(login: Login) -> None:
    """Invalid UTF-8 inside a JSON string (BINARY frame) is INPUT_ERROR, not a dropped socket."""
    client = await login("alice")
    await client.send_raw(b'{"type":"ping","id":"\xff"}')
    await _barrier(client)
    _assert_replies([Bad(b"", None, InputError)], client.drain())


async def test_deep_nesting_inside_a_field(login: Login) -> None:
    """JSON nested 5 000 deep inside a field is INPUT_ERROR, not a crashed handler."""
    client = await login("alice")
    frame = json.dumps({"type": "ping", "id": "deep"})[:-1] + ',"x":' + _nested(5_000) + "}"
    await client.send_raw(frame)
    await _barrier(client)
    _assert_replies([Bad(b"", None, InputError)], client.drain())


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\xfd",
        b'{"type":"ping","id":"t1"}\xc3',
        b'{"type":"ping","id":"\xff"}',
        b'{"type":"call.nope","id":"\xff"}',
    ],
    ids=["garbage", "after-json", "inside-string", "inside-id-of-unknown-type"],
)
async def test_invalid_utf8_in_text_frame(
    coordinator: Coordinator, login: Login, data: bytes
) -> None:
    """A TEXT frame with invalid UTF-8 is answered INPUT_ERROR and the socket stays open.

    The server reads TEXT frames as raw bytes (``decode_text=False``) and lets the JSON
    parser judge them, so it answers with an error rather than failing with 1007.
    """
    client = await login("alice")
    bystander = await login("bob")
    await client.ws.send_frame(data, aiohttp.WSMsgType.TEXT)
    await _barrier(client)
    _assert_replies([Bad(data, None, InputError)], client.drain())
    assert client.close_code is None
    await _barrier(bystander)
    async with (
        aiohttp.ClientSession() as http,
        http.get(coordinator.http_url + "/health") as response,
    ):
        assert response.status == 200


async def test_frame_at_size_limit_is_read(login: Login, limits: Limits) -> None:
    """A frame of exactly max_message_bytes (the limit the auth reply announces) is read."""
    client = await login("alice")
    at_limit = '{"type":"ping","id":"big","x":"' + "a" * limits.max_message_bytes
    at_limit = at_limit[: limits.max_message_bytes - 2] + '"}'
    assert len(at_limit.encode()) == limits.max_message_bytes
    await client.send_raw(at_limit)
    await _barrier(client)
    _assert_replies([Bad(at_limit, "big", InputError)], client.drain())
    assert client.close_code is None


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
async def test_oversize_frame_closes_with_1009(
    coordinator: Coordinator, login: Login, limits: Limits, binary: bool
) -> None:
    """A frame over max_message_bytes closes that socket with 1009; others are unaffected."""
    bystander = await login("bob")
    client = await login("alice")
    await _barrier(client)
    oversize = "x" * (limits.max_message_bytes + 1)
    await client.send_raw(oversize.encode() if binary else oversize)
    assert await client.wait_closed(timeout=5.0) == MESSAGE_TOO_BIG
    assert client.drain() == []
    await _barrier(bystander)
    assert coordinator.connection_count == 1
    fresh = await login("carol")
    await _barrier(fresh)


@pytest.mark.parametrize("bad", [kind("first") for _, kind in KINDS], ids=KIND_NAMES)
async def test_malformed_first_message_refused_cleanly(coordinator: Coordinator, bad: Bad) -> None:
    """A malformed first frame gets its one error, then a 1008 close, and no login."""
    client = await WsClient.open(coordinator.url)
    try:
        await _send(client, bad.data)
        assert await client.wait_closed(timeout=5.0) == 1008
        _assert_replies([bad], client.drain())
    finally:
        await client.close()
    assert coordinator.connection_count == 0


async def test_camel_case_signal_is_refused_naming_the_field(login: Login) -> None:
    """A browser's camelCase candidate is refused, not relayed with its fields dropped: the
    error names the field, the message's path and the names allowed there; the sender's
    session is unharmed."""
    alice, bob, _a_session, b_session = await _healthy_call(login, "camel")
    with pytest.raises(
        InputError,
        match=r"unknown field `sdpMid` - at `\$\.signal`; allowed fields: kind, sdp, "
        r"candidate, sdp_mid, sdp_mline_index",
    ):
        await alice.request(
            "call.signal",
            cid="default:camel",
            session_id=b_session,
            signal={"kind": "candidate", "candidate": CANDIDATE_LINE, "sdpMid": "0"},
        )
    with pytest.raises(InputError, match="signal kind 'offer' needs a non-empty 'sdp'"):
        await alice.request(
            "call.signal", cid="default:camel", session_id=b_session, signal={"kind": "offer"}
        )
    assert [e["type"] for e in bob.drain() if e["type"] == "call.signal"] == []


async def test_candidate_without_mid_or_index_is_relayed_and_null_means_absent(
    login: Login,
) -> None:
    """sdp_mid and sdp_mline_index are optional: a candidate without them, or with them
    null, is relayed; nulls arrive as absent fields."""
    alice, bob, _a_session, b_session = await _healthy_call(login, "bare")
    bare = {"kind": "candidate", "candidate": CANDIDATE_LINE}
    full = {**bare, "sdp_mid": "0", "sdp_mline_index": 0}
    for signal in (bare, {**bare, "sdp_mid": None, "sdp_mline_index": None}, full):
        await alice.request("call.signal", cid="default:bare", session_id=b_session, signal=signal)
    got = []
    for _ in range(3):
        got.append((await bob.next_event("call.signal"))["signal"])
    assert got == [bare, bare, full]
