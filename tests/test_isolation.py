"""Membership isolation, randomized: a non-member never acts on a call nor hears of it.

Hypothesis generates interleavings of the members' legitimate actions (ring, accept,
join, signal, custom events, publish, leave) with every call-scoped request mallory can
think of. Each example runs a fresh coordinator and fresh clients; the invariants are
that each of mallory's call requests fails with DOES_NOT_EXIST or NOT_ALLOWED, that she
receives no event at all, and that members receive every relay addressed to them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamcall_widget.coordinator import Coordinator, CoordinatorConfig, Limits, mint_token
from streamcall_widget.errors import DoesNotExist, NotAllowed, StreamCallError

from .conftest import APP
from .wsclient import WsClient

MEMBERS = ("alice", "bob", "carol")
MALLORY_ACTIONS = (
    "call.get",
    "call.get_or_create",
    "call.join",
    "call.leave",
    "call.accept",
    "call.reject",
    "call.end",
    "call.ring",
    "call.signal",
    "call.update",
    "call.update_members",
    "call.update_permissions",
    "call.send_event",
    "call.send_message",
    "call.send_info",
    "call.send_data",
    "call.publish_track",
    "call.pin",
    "call.unpin",
    "call.request_permissions",
    "call.start_recording",
    "call.stop_recording",
    "call.go_live",
    "call.stop_live",
)
MEMBER_ACTIONS = (
    "ring",
    "accept",
    "reject",
    "join",
    "leave",
    "signal",
    "event",
    "publish",
    "message",
)

Op = tuple[str, str, str]
"""(actor, action, target): actor is a member or "mallory"; target a member (or unused)."""

member_ops = st.tuples(
    st.sampled_from(MEMBERS), st.sampled_from(MEMBER_ACTIONS), st.sampled_from(MEMBERS)
)
mallory_ops = st.tuples(
    st.just("mallory"),
    st.sampled_from((*MALLORY_ACTIONS, "calls.query")),
    st.sampled_from(MEMBERS),
)
scenarios = st.tuples(
    st.sampled_from(("default", "audio")),
    st.lists(st.one_of(member_ops, mallory_ops), min_size=1, max_size=40),
)


@dataclass
class _World:
    """What the members did, to check what each of them must have received."""

    cid: str
    call_id: str
    clients: dict[str, WsClient]
    sessions: dict[str, str] = field(default_factory=dict)
    signals_to: dict[str, list[str]] = field(default_factory=dict)
    customs: list[int] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _mallory_fields(world: _World, action: str, target: str) -> dict[str, Any]:
    """A well-formed request of ``action`` aimed at the call (and a real session if any)."""
    session = world.sessions.get(target, uuid.uuid4().hex)
    extra: dict[str, dict[str, Any]] = {
        "call.signal": {"session_id": session, "signal": {"kind": "offer", "sdp": "evil"}},
        "call.update": {"custom": {"owned": True}},
        "call.update_members": {
            "add": [{"user_id": "mallory", "role": "admin"}],
            "remove": [target],
        },
        "call.update_permissions": {"user_id": "mallory", "grant": ["send-audio", "send-video"]},
        "call.send_event": {"custom": {"spam": True}},
        "call.send_message": {"text": "spam"},
        "call.send_info": {"mime_type": "text/plain", "body": "spam"},
        "call.send_data": {"text": "spam", "to": target},
        "call.publish_track": {"track_type": "audio", "published": True},
        "call.pin": {"session_id": session, "user_id": target},
        "call.unpin": {"session_id": session, "user_id": target},
        "call.request_permissions": {"permissions": ["send-audio"]},
        "call.ring": {"member_ids": [target]},
        "call.reject": {"reason": "decline"},
    }
    if action == "call.get_or_create":
        return {
            "call_type": world.cid.split(":")[0],
            "call_id": world.call_id,
            "members": [{"user_id": "mallory", "role": "admin"}],
            "ring": True,
        }
    return {"cid": world.cid, **extra.get(action, {})}


async def _mallory(world: _World, mallory: WsClient, action: str, target: str) -> None:
    if action == "calls.query":
        listed = await mallory.request("calls.query")
        assert all(c["call"]["cid"] != world.cid for c in listed["calls"])
        return
    try:
        reply = await mallory.request(action, **_mallory_fields(world, action, target))
    except (DoesNotExist, NotAllowed) as exc:
        world.refused.append((action, exc.name))
        return
    raise AssertionError(f"mallory's {action} succeeded: {reply}")


async def _member(world: _World, actor: str, action: str, target: str) -> None:
    """One legitimate action; refusals of the moment (nothing ringing...) are fine."""
    client = world.clients[actor]
    cid = world.cid
    try:
        match action:
            case "ring":
                members = [target] if target != actor else []
                await client.request("call.ring", cid=cid, member_ids=members)
            case "accept":
                await client.request("call.accept", cid=cid)
            case "reject":
                await client.request("call.reject", cid=cid)
            case "join":
                joined = await client.request("call.join", cid=cid)
                world.sessions[actor] = joined["session_id"]
            case "leave":
                await client.request("call.leave", cid=cid)
                world.sessions.pop(actor, None)
            case "signal":
                n = sum(len(v) for v in world.signals_to.values())
                sdp = f"v=0 {n}"
                await client.request(
                    "call.signal",
                    cid=cid,
                    session_id=world.sessions.get(target, "none"),
                    signal={"kind": "offer", "sdp": sdp},
                )
                world.signals_to.setdefault(target, []).append(sdp)
            case "event":
                n = len(world.customs)
                await client.request("call.send_event", cid=cid, custom={"n": n})
                world.customs.append(n)
            case "publish":
                await client.request(
                    "call.publish_track", cid=cid, track_type="audio", published=True
                )
            case "message":
                await client.request("call.send_message", cid=cid, text=f"from {actor}")
    except DoesNotExist as exc:
        # A member is never treated as an outsider of a call they belong to; only a
        # signal's target session may be missing.
        if action != "signal":
            raise AssertionError(f"{actor}'s {action} was DOES_NOT_EXIST") from exc
    except StreamCallError:
        pass  # refusals of the moment: nothing ringing, not joined, already ringing...


async def _scenario(call_type: str, ops: list[Op]) -> None:
    config = CoordinatorConfig(apps=(APP,), limits=Limits())
    async with Coordinator(config) as server:
        clients: dict[str, WsClient] = {}
        try:
            for user in (*MEMBERS, "mallory"):
                token = mint_token(APP.api_secret, user)
                clients[user] = await WsClient.login(server.url, APP.api_key, token, user)
            call_id = uuid.uuid4().hex[:12]
            world = _World(f"{call_type}:{call_id}", call_id, clients)
            created = await clients["alice"].request(
                "call.get_or_create",
                call_type=call_type,
                call_id=call_id,
                members=[{"user_id": "bob"}, {"user_id": "carol"}],
            )
            assert created["created"] is True
            for actor, action, target in ops:
                if actor == "mallory":
                    await _mallory(world, clients["mallory"], action, target)
                else:
                    await _member(world, actor, action, target)
            await _check(world)
        finally:
            for client in clients.values():
                await client.close()


async def _check(world: _World) -> None:
    clients = world.clients
    mallory = clients["mallory"]
    for client in clients.values():
        assert "server_time" in await client.request("ping")  # all events are in by now
    assert mallory.drain() == []
    assert mallory.seqs == []
    for _, name in world.refused:
        assert name in (DoesNotExist.name, NotAllowed.name)
    for user in MEMBERS:
        client = clients[user]
        events = client.drain()
        assert client.seqs == list(range(1, len(events) + 1))
        assert events[0]["type"] == "call.created"
        assert all(e["cid"] == world.cid for e in events)
        signals = [e["signal"]["sdp"] for e in events if e["type"] == "call.signal"]
        assert signals == world.signals_to.get(user, [])
        customs = [e["custom"]["n"] for e in events if e["type"] == "custom"]
        assert customs == world.customs
        assert all("mallory" not in str(e) for e in events)
    listed = await clients["alice"].request("call.get", cid=world.cid)
    assert sorted(m["user_id"] for m in listed["members"]) == sorted(MEMBERS)
    assert listed["call"]["custom"] == {}


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios)
def test_non_member_never_acts_on_or_hears_of_a_call(scenario: tuple[str, list[Op]]) -> None:
    """Mallory's every call request fails DOES_NOT_EXIST/NOT_ALLOWED and she gets no event."""
    call_type, ops = scenario
    asyncio.run(_scenario(call_type, ops))


def test_mallory_refused_everything_in_a_live_call() -> None:
    """In a ringing, joined call with sessions, each of mallory's requests is refused."""
    ops: list[Op] = [
        ("alice", "ring", "bob"),
        ("bob", "accept", "alice"),
        ("alice", "join", "alice"),
        ("bob", "join", "bob"),
        ("alice", "signal", "bob"),
        ("bob", "event", "alice"),
        ("carol", "join", "carol"),
        ("alice", "publish", "alice"),
    ]
    ops += [("mallory", action, "bob") for action in (*MALLORY_ACTIONS, "calls.query")]
    ops += [("carol", "signal", "alice"), ("alice", "event", "alice"), ("bob", "leave", "bob")]
    asyncio.run(_scenario("default", ops))
