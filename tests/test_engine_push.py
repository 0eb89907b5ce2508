"""``login(push_config=...)`` on real clients: a stopped kernel is still rung through its
push provider (a real webhook), answers by logging in again, and ``logout()`` stops it;
the LoginPanel and ``phone()`` pass their ``push_config`` through."""

from __future__ import annotations

import pytest

from streamcall_widget import CallState, PushNotificationsConfig
from streamcall_widget.coordinator.embedded import PUSH_PROVIDERS_ENV
from streamcall_widget.errors import DoesNotExist
from streamcall_widget.widgets import LoginPanel, phone

from .engine_helpers import RESULT, Clients, wait_for
from .webhook import Webhook
from .widget_helpers import Page, page

__all__ = ["page"]


def test_push_config_rings_a_closed_client_until_logout(
    monkeypatch: pytest.MonkeyPatch, clients: Clients
) -> None:
    """An unknown provider fails the login as a whole; with real ones, bob's client closes
    (his kernel stops) and alice's ring reaches his VoIP webhook while her call stays
    ringing; bob logging in again is rung and accepts. After his ``logout()`` a ring
    misses him ``offline`` at once and nothing more is posted."""
    with Webhook() as hook:
        monkeypatch.setenv(PUSH_PROVIDERS_ENV, f"fcm={hook.url('fcm')},voip={hook.url('voip')}")
        alice = clients("alice")  # starts the embedded coordinator, which reads the variable
        bob = clients("bob", login=False)
        unknown = PushNotificationsConfig(push_provider_name="apns")
        with pytest.raises(DoesNotExist, match=r"no push provider 'apns'.*it has: fcm, voip"):
            bob.sc.login("bob", push_config=unknown).result(RESULT)
        assert bob.sc.status == "logged_out"
        config = PushNotificationsConfig(push_provider_name="fcm", voip_provider_name="voip")
        bob.sc.login("bob", push_config=config).result(RESULT)
        assert bob.sc.push_config == config
        bob.sc.close()

        outgoing = alice.sc.call(["bob"], video=False).result(RESULT)
        (ring,) = hook.wait(1)
        assert (ring.path, ring.notice["type"], ring.notice["cid"]) == (
            "/voip",
            "call.ring",
            outgoing.cid,
        )
        assert (ring.notice["user_id"], ring.notice["caller"]["id"]) == ("bob", "alice")
        bob_again = clients("bob")
        bob_again.wait_ringing(outgoing.cid)
        answered = bob_again.sc.accept_call().result(RESULT)
        outgoing.wait_until(CallState.JOINED).result(RESULT)
        assert answered.state is CallState.JOINED
        assert alice.phases(outgoing.id) == [
            ("ringing", "alice", None),
            ("joining", "alice", None),
            ("joined", "alice", None),
        ]
        assert [t for t in alice.triples(outgoing.id) if t[0] in ("accepted", "missed")] == [
            ("accepted", "bob", None)
        ]
        alice.sc.end_call().result(RESULT)
        bob_again.wait_event(CallState.LEFT, call_id=outgoing.id)

        bob_again.sc.logout().result(RESULT)
        again = alice.sc.call(["bob"]).result(RESULT)
        alice.wait_event(CallState.LEFT, "alice", again.id)
        assert alice.phases(again.id) == [("ringing", "alice", None), ("left", "alice", "offline")]
        assert [r.notice["type"] for r in hook.received] == ["call.ring", "call.answered"]


def test_login_panel_and_phone_log_in_with_their_push_config(
    monkeypatch: pytest.MonkeyPatch, clients: Clients, page: Page
) -> None:
    """LoginPanel's Log in registers its ``push_config`` and Log out ends it; ``phone()``
    hands it to its panel; anything but a PushNotificationsConfig fails the login."""
    monkeypatch.setenv(PUSH_PROVIDERS_ENV, "fcm=http://127.0.0.1:9/push")
    bob = clients("bob", login=False)
    wrong = LoginPanel(bob.sc, user_id="bob", push_config="fcm")  # type: ignore[arg-type]
    try:
        refused = page.request(wrong, "login", token="")
        assert refused["error"]["name"] == "INVALID_ARGUMENTS"
        assert (
            "push_config must be a PushNotificationsConfig or None, not str"
            in (refused["error"]["message"])
        )
        assert bob.sc.status == "logged_out"
    finally:
        wrong.close()
    config = PushNotificationsConfig(push_provider_name="fcm")
    box = phone(bob.sc, user_id="bob", push_config=config)
    try:
        assert box.login.push_config == config
        assert page.request(box.login, "login", token="")["ok"]
        wait_for(lambda: box.login.status == "logged_in", "bob logged in")
        assert bob.sc.push_config == config
        assert page.request(box.login, "logout")["ok"]
        wait_for(lambda: box.login.status == "logged_out", "bob logged out")
        assert bob.sc.push_config is None
    finally:
        box.close()
