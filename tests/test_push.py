"""Push notifications on the wire: the real coordinator on port 0 POSTing signed notices
to a real webhook, real WebSocket clients ringing a callee whose connection is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from streamcall_widget.coordinator import Coordinator, CoordinatorConfig, mint_token
from streamcall_widget.coordinator.push import PushStats
from streamcall_widget.errors import DoesNotExist, InputError
from streamcall_widget.protocol.models import iso
from streamcall_widget.protocol.push import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
    webhook_key,
)

from .conftest import APP, OTHER_APP, FakeClock, Login
from .flows import create, events_of, types
from .ports import free_port
from .webhook import Webhook
from .wsclient import WsClient


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


def push_config(tmp_path: Path, webhook: Webhook) -> CoordinatorConfig:
    """The conftest's coordinator with four providers: two that accept, one that answers
    500 and one where nothing listens."""
    providers = {
        "fcm": webhook.url("fcm"),
        "voip": webhook.url("voip"),
        "broken": webhook.url("fail"),
        "gone": f"http://127.0.0.1:{free_port()}/push",
    }
    return CoordinatorConfig(
        apps=(APP, OTHER_APP), db=str(tmp_path / "calls.sqlite3"), push_providers=providers
    )


@pytest.fixture
async def coordinator(
    tmp_path: Path, clock: FakeClock, webhook: Webhook
) -> AsyncIterator[Coordinator]:
    async with Coordinator(push_config(tmp_path, webhook), clock=clock) as server:
        yield server


async def sent(coordinator: Coordinator) -> PushStats:
    """Wait until the notices queued so far are sent (or failed); the sender's counts."""
    assert coordinator.push is not None
    await coordinator.push.join()
    return coordinator.push.stats


async def test_offline_callee_is_rung_through_push_and_answers_by_logging_in(
    login: Login, coordinator: Coordinator, clock: FakeClock, webhook: Webhook
) -> None:
    """Bob registers, his connection goes; alice rings him: his VoIP webhook gets a signed
    ``call.ring`` with exactly the call, him and alice's profile, and the call stays
    ringing (no ``offline`` miss). Registered users who are not members, or of another
    app, get nothing. Bob logs in during the ring, is rung, accepts and both join."""
    bob = await login("bob", name="Bob")
    both = {"push_provider_name": "fcm", "voip_provider_name": "voip"}
    for _ in range(2):  # the same registration again changes nothing
        registered = await bob.request(
            "push.register", push_provider_name="fcm", voip_provider_name="voip"
        )
        assert registered == both
    await bob.close()
    carol = await login("carol")
    await carol.request("push.register", push_provider_name="fcm")
    await carol.close()
    other_bob = await login("bob", app=OTHER_APP)
    await other_bob.request("push.register", push_provider_name="fcm")
    await other_bob.close()

    alice = await login("alice", name="Alice", image="https://example.org/alice.png")
    created = await create(alice, "c1", ["bob"], ring=True, video=False)
    assert created["call"]["ringing"] is True
    assert await sent(coordinator) == PushStats(sent=1)
    (ring,) = webhook.received
    assert ring.path == "/voip"
    assert ring.notice == {
        "type": "call.ring",
        "provider": "voip",
        "kind": "voip",
        "app": APP.api_key,
        "cid": "default:c1",
        "call_type": "default",
        "call_id": "c1",
        "user_id": "bob",
        "caller": {"id": "alice", "name": "Alice", "image": "https://example.org/alice.png"},
        "video": False,
        "created_at": iso(clock()),
        "expires_at": iso(clock() + 30),
    }
    timestamp = ring.headers[TIMESTAMP_HEADER]
    assert timestamp == str(int(clock()))
    signed = ring.headers[SIGNATURE_HEADER]
    assert verify(webhook_key(APP.api_secret), timestamp, ring.body, signed, now=clock())
    assert not verify(webhook_key(OTHER_APP.api_secret), timestamp, ring.body, signed, now=clock())
    assert not verify(APP.api_secret, timestamp, ring.body, signed, now=clock())  # not the secret
    (a,) = await events_of(alice)
    assert types(a) == ["call.created"]

    bob = await login("bob", name="Bob")
    rung = await bob.next_event("call.ring")
    assert (rung["cid"], rung["user"]["id"]) == ("default:c1", "alice")
    await bob.request("call.accept", cid="default:c1")
    await alice.request("call.join", cid="default:c1")
    joined = await bob.request("call.join", cid="default:c1")
    assert [p["user_id"] for p in joined["call"]["session"]["participants"]] == ["alice", "bob"]
    (a,) = await events_of(alice)
    assert types(a)[0] == "call.accepted"
    assert (a[0]["user"]["id"], a[0]["call"]["ringing"]) == ("bob", False)
    assert await sent(coordinator) == PushStats(sent=2)  # he accepted: no missed notice,
    rung_at, answered = webhook.received  # but his phone is told to stop ringing
    assert (answered.path, answered.notice["type"]) == ("/fcm", "call.answered")
    assert (answered.notice["provider"], answered.notice["kind"]) == ("fcm", "push")
    same = ("cid", "user_id", "caller", "video", "expires_at")
    assert [answered.notice[k] for k in same] == [rung_at.notice[k] for k in same]
    assert "reason" not in answered.notice


async def test_timeout_sends_missed_and_logout_unregisters(
    login: Login, coordinator: Coordinator, clock: FakeClock, webhook: Webhook
) -> None:
    """Unanswered, the ring times out: bob's push webhook gets ``call.missed`` (timeout)
    and the call ends ``timeout``, not ``offline``. After ``push.unregister`` the next
    ring misses him ``offline`` at once and posts nothing."""
    bob = await login("bob")
    await bob.request("push.register", push_provider_name="fcm")
    await bob.close()
    alice = await login("alice")
    await create(alice, "c1", ["bob"], ring=True)
    clock.advance(30)
    coordinator.run_timers()
    (a,) = await events_of(alice)
    assert types(a) == ["call.created", "call.missed", "call.ended"]
    assert (a[1]["user"]["id"], a[1]["reason"], a[2]["reason"]) == ("bob", "timeout", "timeout")
    assert await sent(coordinator) == PushStats(sent=2)
    ring, missed = webhook.received
    assert (ring.path, ring.notice["type"], ring.notice["kind"]) == ("/fcm", "call.ring", "push")
    assert (missed.path, missed.notice["type"]) == ("/fcm", "call.missed")
    assert missed.notice["reason"] == "timeout"
    assert missed.notice["created_at"] == iso(clock())
    assert verify(
        webhook_key(APP.api_secret),
        missed.headers[TIMESTAMP_HEADER],
        missed.body,
        missed.headers[SIGNATURE_HEADER],
        now=clock(),
    )

    bob = await login("bob")
    assert await bob.request("push.unregister") == {
        "push_provider_name": None,
        "voip_provider_name": None,
    }
    await bob.close()
    await create(alice, "c2", ["bob"], ring=True)
    (a,) = await events_of(alice)
    assert types(a) == ["call.created", "call.missed", "call.ended"]
    assert (a[1]["reason"], a[2]["reason"]) == ("offline", "offline")
    assert await sent(coordinator) == PushStats(sent=2)


async def test_register_refusals_on_the_wire(login: Login) -> None:
    """An unknown provider is DOES_NOT_EXIST naming this coordinator's providers; a name
    that breaks the form is INPUT_ERROR; neither name is INVALID_ARGUMENTS."""
    bob = await login("bob")
    with pytest.raises(DoesNotExist) as unknown:
        await bob.request("push.register", voip_provider_name="apns")
    assert unknown.value.reason == (
        "no push provider 'apns' on this coordinator; it has: broken, fcm, gone, voip"
    )
    with pytest.raises(InputError, match="push_provider_name"):
        await bob.request("push.register", push_provider_name="no spaces")
    with pytest.raises(InputError, match="needs push_provider_name, voip_provider_name or both"):
        await bob.request("push.register")


async def test_failing_providers_are_counted_and_ringing_goes_on(
    login: Login, coordinator: Coordinator, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider answering 500 and one nobody listens at each fail one notice, counted and
    logged (with the status); the call still rings both callees, and bob logging in is
    rung."""
    bob = await login("bob")
    await bob.request("push.register", voip_provider_name="broken")
    await bob.close()
    carol = await login("carol")
    await carol.request("push.register", push_provider_name="gone")
    await carol.close()
    alice = await login("alice")
    created = await create(alice, "c1", ["bob", "carol"], ring=True)
    assert created["call"]["ringing"] is True
    assert await sent(coordinator) == PushStats(failed=2)
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("coordinator.push")]
    assert "push provider 'broken' answered 500: call.ring notice for bob lost" in logged
    assert any(m.startswith("push provider 'gone' unreachable (") for m in logged)
    (a,) = await events_of(alice)
    assert types(a) == ["call.created"]
    bob = await login("bob")
    assert (await bob.next_event("call.ring"))["cid"] == "default:c1"


async def test_registrations_outlive_a_restart(
    tmp_path: Path, clock: FakeClock, webhook: Webhook
) -> None:
    """The SQLite store keeps registrations: bob, registered and gone, is rung through push
    by a coordinator restarted on the same file (a provider no longer configured dropped
    from his registration); carol, who unregistered, is missed ``offline``."""
    config = push_config(tmp_path, webhook)
    async with Coordinator(config, clock=clock) as first:
        bob = await WsClient.login(first.url, APP.api_key, token("bob", clock), "bob")
        await bob.request("push.register", push_provider_name="broken", voip_provider_name="voip")
        await bob.close()
        carol = await WsClient.login(first.url, APP.api_key, token("carol", clock), "carol")
        await carol.request("push.register", push_provider_name="fcm")
        await carol.request("push.unregister")
        await carol.close()
    fewer = {k: v for k, v in config.push_providers.items() if k != "voip"}
    async with Coordinator(replace(config, push_providers=fewer), clock=clock) as second:
        alice = await WsClient.login(second.url, APP.api_key, token("alice", clock), "alice")
        try:
            await create(alice, "c1", ["bob", "carol"], ring=True)
            assert await sent(second) == PushStats(failed=1)
            assert [r.notice["provider"] for r in webhook.received] == ["broken"]
            (a,) = await events_of(alice)
            assert [(e["user"]["id"], e["reason"]) for e in a if e["type"] == "call.missed"] == [
                ("carol", "offline")
            ]
        finally:
            await alice.close()


def token(user_id: str, clock: FakeClock) -> str:
    return mint_token(APP.api_secret, user_id, now=clock())
