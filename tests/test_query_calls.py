"""calls.query: filters, sorting, cursor paging, errors, visibility, and history on restart."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from streamcall_widget.coordinator import Coordinator, CoordinatorConfig, mint_token
from streamcall_widget.errors import InputError
from streamcall_widget.protocol.models import iso

from .conftest import APP, FakeClock, Login
from .flows import create
from .wsclient import WsClient


async def cids(client: WsClient, **query: Any) -> list[str]:
    """The cids one calls.query returns, in order (a single page)."""
    result = await client.request("calls.query", **query)
    assert result["next"] is None
    return [c["call"]["cid"] for c in result["calls"]]


@pytest.fixture
async def world(login: Login, clock: FakeClock) -> dict[str, Any]:
    """Five calls created a minute apart by alice, bob and carol; their creation times."""
    alice = await login("alice")
    bob = await login("bob")
    carol = await login("carol")
    times: dict[str, str] = {}
    for creator, call_type, call_id, members in (
        (alice, "default", "d1", ["bob"]),
        (alice, "audio", "a1", ["carol"]),
        (bob, "default", "d2", ["alice"]),
        (alice, "livestream", "l1", []),
        (carol, "default", "d3", ["bob"]),
    ):
        clock.advance(60)
        created = await create(creator, call_id, members, call_type)
        times[f"{call_type}:{call_id}"] = created["call"]["created_at"]
        assert created["call"]["created_at"] == iso(clock())
    return {"alice": alice, "bob": bob, "carol": carol, "times": times}


async def test_filter_by_type(world: dict[str, Any]) -> None:
    """type equality and $in select those types among the calls alice may read."""
    alice: WsClient = world["alice"]
    assert await cids(alice, filter_conditions={"type": "default"}) == ["default:d2", "default:d1"]
    assert await cids(alice, filter_conditions={"type": {"$in": ["audio", "livestream"]}}) == [
        "livestream:l1",
        "audio:a1",
    ]
    assert await cids(alice, filter_conditions={"type": {"$eq": "audio"}}) == ["audio:a1"]


async def test_filter_by_members_and_creator(world: dict[str, Any]) -> None:
    """members $in matches any listed member; created_by matches the creator's id."""
    alice: WsClient = world["alice"]
    assert await cids(alice, filter_conditions={"members": {"$in": ["carol"]}}) == ["audio:a1"]
    assert await cids(alice, filter_conditions={"members": {"$in": ["bob", "carol"]}}) == [
        "default:d2",
        "audio:a1",
        "default:d1",
    ]
    assert await cids(alice, filter_conditions={"created_by": "bob"}) == ["default:d2"]
    assert await cids(alice, filter_conditions={"created_by": "alice", "type": "default"}) == [
        "default:d1"
    ]


async def test_filter_ongoing_and_ended(world: dict[str, Any]) -> None:
    """ongoing is true only while someone is joined; ended only after call.end."""
    alice: WsClient = world["alice"]
    await alice.request("call.join", cid="default:d1")
    await alice.request("call.end", cid="audio:a1")
    assert await cids(alice, filter_conditions={"ongoing": True}) == ["default:d1"]
    assert await cids(alice, filter_conditions={"ongoing": False}) == [
        "livestream:l1",
        "default:d2",
        "audio:a1",
    ]
    assert await cids(alice, filter_conditions={"ended": True}) == ["audio:a1"]
    await alice.request("call.leave", cid="default:d1")
    assert await cids(alice, filter_conditions={"ongoing": True}) == []


async def test_filter_created_at_range(world: dict[str, Any]) -> None:
    """created_at $gte/$lt with RFC 3339 strings select the calls created in that window."""
    alice: WsClient = world["alice"]
    times: dict[str, str] = world["times"]
    window = {"created_at": {"$gte": times["audio:a1"], "$lt": times["livestream:l1"]}}
    assert await cids(alice, filter_conditions=window) == ["default:d2", "audio:a1"]
    after = {"created_at": {"$gt": times["default:d2"]}}
    assert await cids(alice, filter_conditions=after) == ["livestream:l1"]
    upto = {"created_at": {"$lte": times["audio:a1"]}}
    assert await cids(alice, filter_conditions=upto) == ["audio:a1", "default:d1"]
    offset = times["default:d1"].replace("Z", "+00:00")
    assert await cids(alice, filter_conditions={"created_at": {"$lt": offset}}) == []


async def test_sort_created_at_both_directions(world: dict[str, Any]) -> None:
    """Sorting by created_at ascending and descending orders the readable calls both ways."""
    alice: WsClient = world["alice"]
    ascending = ["default:d1", "audio:a1", "default:d2", "livestream:l1"]
    assert await cids(alice, sort=[{"field": "created_at", "direction": 1}]) == ascending
    descending = await cids(alice, sort=[{"field": "created_at", "direction": -1}])
    assert descending == ascending[::-1]
    assert await cids(alice) == descending
    assert await cids(alice, sort=[{"field": "cid", "direction": 1}]) == sorted(ascending)


async def test_only_readable_calls_returned(world: dict[str, Any]) -> None:
    """Each user sees the calls they are members of plus livestreams, never others'."""
    assert sorted(await cids(world["carol"])) == ["audio:a1", "default:d3", "livestream:l1"]
    assert sorted(await cids(world["bob"])) == [
        "default:d1",
        "default:d2",
        "default:d3",
        "livestream:l1",
    ]
    result = await world["alice"].request("calls.query", filter_conditions={"cid": "default:d3"})
    assert result["calls"] == []


async def _pages(client: WsClient, limit: int, **query: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        result = await client.request("calls.query", limit=limit, next=cursor, **query)
        pages.append([c["call"]["cid"] for c in result["calls"]])
        cursor = result["next"]
        if cursor is None:
            return pages
        assert len(pages) < 10, "paging does not terminate"


@pytest.mark.parametrize("direction", [1, -1])
async def test_paging_three_pages(login: Login, clock: FakeClock, direction: int) -> None:
    """limit 2 over 5 calls pages 2, 2, 1 with no duplicates or omissions, in sort order."""
    alice = await login("alice")
    made = []
    for i in range(5):
        clock.advance(10)
        await create(alice, f"p{i}", [])
        made.append(f"default:p{i}")
    sort = [{"field": "created_at", "direction": direction}]
    pages = await _pages(alice, 2, sort=sort)
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [cid for page in pages for cid in page]
    assert flat == (made if direction == 1 else made[::-1])


async def test_paging_through_ties(login: Login) -> None:
    """Calls created at the same instant page on the cid tie-break without loss or repeats."""
    alice = await login("alice")
    for i in range(5):
        await create(alice, f"t{i}", [])
    pages = await _pages(alice, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [cid for page in pages for cid in page] == [f"default:t{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"filter_conditions": {"colour": "red"}}, "'colour'"),
        ({"filter_conditions": {"type": {"$regex": "de.*"}}}, "'$regex'"),
        ({"filter_conditions": {"created_at": {"$in": ["x"]}}}, "'$in'"),
        ({"filter_conditions": {"created_at": {"$gte": "yesterday"}}}, "created_at $gte"),
        ({"filter_conditions": {"created_at": {"$gte": "2026-01-01T00:00:00"}}}, "time zone"),
        ({"filter_conditions": {"ongoing": "yes"}}, "'ongoing'"),
        ({"filter_conditions": {"members": {"$gt": "bob"}}}, "members $gt"),
        ({"filter_conditions": {"type": {}}}, "no operator"),
        ({"sort": [{"field": "custom", "direction": 1}]}, "'custom'"),
        ({"sort": [{"field": "cid", "direction": 0}]}, "must be 1 or -1"),
        ({"next": "%%% not a cursor %%%"}, "'next'"),
        ({"limit": 0}, "$.limit"),
        ({"limit": 101}, "$.limit"),
    ],
)
async def test_bad_query_is_input_error(login: Login, query: dict[str, Any], needle: str) -> None:
    """A bad filter field, operator, value, sort, cursor or limit is INPUT_ERROR naming it."""
    alice = await login("alice")
    await create(alice, "c1", [])
    with pytest.raises(InputError) as info:
        await alice.request("calls.query", **query)
    assert needle in info.value.reason


async def test_cursor_from_another_sort_refused(login: Login) -> None:
    """A cursor whose key does not fit the query's sort is INPUT_ERROR."""
    alice = await login("alice")
    await create(alice, "c1", [])
    foreign = base64.urlsafe_b64encode(json.dumps([1.0, "a", "b"]).encode()).decode()
    with pytest.raises(InputError, match="does not match"):
        await alice.request("calls.query", next=foreign)


async def test_history_survives_restart(tmp_path: Path, clock: FakeClock) -> None:
    """Calls, members and ended state written to SQLite are queryable by a new coordinator."""
    db = str(tmp_path / "history.sqlite3")
    config = CoordinatorConfig(apps=(APP,), db=db)

    async def connect(server: Coordinator, user_id: str) -> WsClient:
        token = mint_token(APP.api_secret, user_id, now=clock())
        return await WsClient.login(server.url, APP.api_key, token, user_id, name=user_id.title())

    async with Coordinator(config, clock=clock) as first:
        alice = await connect(first, "alice")
        try:
            await create(alice, "old", ["bob"], custom={"topic": "history"})
            await alice.request("call.join", cid="default:old")
            await alice.request("call.end", cid="default:old")
            clock.advance(60)
            await create(alice, "open", ["carol"], call_type="audio")
            await alice.request("call.join", cid="audio:open")
            before = await alice.request("calls.query")
        finally:
            await alice.close()

    async with Coordinator(config, clock=clock) as second:
        alice = await connect(second, "alice")
        try:
            after = await alice.request("calls.query")
            assert [c["call"]["cid"] for c in after["calls"]] == ["audio:open", "default:old"]
            by_cid = {c["call"]["cid"]: c for c in after["calls"]}
            prior = {c["call"]["cid"]: c for c in before["calls"]}
            old, opened = by_cid["default:old"], by_cid["audio:open"]
            assert [(m["user_id"], m["role"]) for m in old["members"]] == [
                ("alice", "host"),
                ("bob", "call_member"),
            ]
            assert [(m["user_id"], m["role"]) for m in opened["members"]] == [
                ("alice", "host"),
                ("carol", "call_member"),
            ]
            assert old["call"]["ended_at"] == prior["default:old"]["call"]["ended_at"]
            assert old["call"]["ended_at"] is not None
            assert old["call"]["custom"] == {"topic": "history"}
            assert old["call"]["created_at"] == prior["default:old"]["call"]["created_at"]
            assert opened["call"]["ended_at"] is None
            assert await cids(alice, filter_conditions={"ended": True}) == ["default:old"]
            # No live session survives a restart.
            assert await cids(alice, filter_conditions={"ongoing": True}) == []
            bob = await connect(second, "bob")
            try:
                assert await cids(bob) == ["default:old"]
            finally:
                await bob.close()
        finally:
            await alice.close()


async def test_team_is_stored_and_filterable(login: Login) -> None:
    """A call's team comes back in call.team and calls.query filters on it."""
    alice = await login("alice")
    created = await create(alice, "t-red", ["bob"], team="red")
    assert created["call"]["team"] == "red"
    await create(alice, "t-blue", ["bob"], team="blue")
    await create(alice, "t-none", ["bob"])
    assert await cids(alice, filter_conditions={"team": "red"}) == ["default:t-red"]
    assert sorted(await cids(alice, filter_conditions={"team": {"$in": ["red", "blue"]}})) == [
        "default:t-blue",
        "default:t-red",
    ]
    assert await cids(alice, filter_conditions={"team": ""}) == ["default:t-none"]


async def test_member_ids_must_be_valid_user_ids(login: Login) -> None:
    """A member id with a space is refused at parse time, naming the field."""
    alice = await login("alice")
    with pytest.raises(InputError, match="user_id"):
        await create(alice, "badmember", ["b o b"])
