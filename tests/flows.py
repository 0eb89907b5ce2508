"""Shared steps of the coordinator tests: create a call, wait for events, read them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .wsclient import WsClient


async def settle(*clients: WsClient) -> None:
    """Wait until every event produced so far has reached each client."""
    for client in clients:
        await client.request("ping")


def types(events: list[dict[str, Any]]) -> list[str]:
    """The ``type`` of each event, in order."""
    return [e["type"] for e in events]


async def events_of(*clients: WsClient) -> list[list[dict[str, Any]]]:
    """Settle, then drain each client."""
    await settle(*clients)
    return [c.drain() for c in clients]


async def create(
    client: WsClient, call_id: str, members: list[str], call_type: str = "default", **fields: Any
) -> dict[str, Any]:
    """get_or_create a call with these members."""
    result: dict[str, Any] = await client.request(
        "call.get_or_create",
        call_type=call_type,
        call_id=call_id,
        members=[{"user_id": m} for m in members],
        **fields,
    )
    return result


async def alice_and_bob_joined(
    login: Callable[..., Awaitable[WsClient]], call_id: str
) -> tuple[WsClient, WsClient, str]:
    """alice creates ``default:call_id`` with bob, both join; returns them and bob's session."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, call_id, ["bob"])
    await alice.request("call.join", cid=f"default:{call_id}")
    joined = await bob.request("call.join", cid=f"default:{call_id}")
    return alice, bob, str(joined["session_id"])
