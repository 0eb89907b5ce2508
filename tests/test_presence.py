"""``users.online`` against the real coordinator: who a logged-in user can call now."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamcall_widget.coordinator import Coordinator, mint_token
from streamcall_widget.errors import InputError

from .conftest import APP, OTHER_APP, FakeClock, Login
from .flows import create
from .wsclient import WsClient


def ids(page: dict[str, Any]) -> list[str]:
    """The user ids of a ``users.online`` page, in the order given."""
    return [u["id"] for u in page["users"]]


async def online_without(client: WsClient, gone: str) -> list[str]:
    """The online ids once ``gone``'s closed socket has reached the coordinator."""
    listed = ids(await client.request("users.online"))
    for _ in range(500):
        if gone not in listed:
            break
        await asyncio.sleep(0.01)
        listed = ids(await client.request("users.online"))
    return listed


async def test_online_users_of_the_same_app_without_yourself(login: Login) -> None:
    """Alice sees the other users online in her app, by id, with names and presence; never
    herself, never another app's users; a user who logs out disappears."""
    alice = await login("alice", name="Alice")
    bob_first = await login("bob", name="Bob")
    bob_second = await login("bob", name="Bob")
    await login("carol")
    intruder = await login("zed", app=OTHER_APP)
    await login("mallory", app=OTHER_APP)

    page = await alice.request("users.online")
    assert ids(page) == ["bob", "carol"]
    assert page["next"] is None
    assert (page["users"][0]["name"], page["users"][0]["online"]) == ("Bob", True)
    assert ids(await intruder.request("users.online")) == ["mallory"]

    await bob_first.close()
    assert ids(await alice.request("users.online")) == ["bob", "carol"]  # still connected
    await bob_second.close()
    assert await online_without(alice, "bob") == ["carol"]


async def test_online_users_pages_by_id(login: Login) -> None:
    """``limit`` cuts the list; ``next`` continues after the last id; bad limits refused."""
    alice = await login("alice")
    for user in ("dan", "bob", "erin", "carol"):
        await login(user)
    first = await alice.request("users.online", limit=3)
    assert (ids(first), first["next"]) == (["bob", "carol", "dan"], "dan")
    second = await alice.request("users.online", limit=3, next=first["next"])
    assert (ids(second), second["next"]) == (["erin"], None)
    for bad in (0, 101):
        with pytest.raises(InputError, match="limit"):
            await alice.request("users.online", limit=bad)


async def test_call_token_sees_only_members_of_its_calls(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """A call-restricted token lists only the online members of its calls."""
    alice = await login("alice")
    await login("bob")
    await login("carol")
    await create(alice, "c1", ["bob"])
    token = mint_token(APP.api_secret, "guest", call_cids=["default:c1"], now=clock())
    guest = await WsClient.login(coordinator.url, APP.api_key, token, "guest")
    try:
        assert ids(await guest.request("users.online")) == ["alice", "bob"]
    finally:
        await guest.close()
