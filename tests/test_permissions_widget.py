"""CallView's raise hand, permission notices and go live against real clients and a
recorded page."""

from __future__ import annotations

from streamcall_widget.widgets import CallView

from .engine_helpers import Clients, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def test_audio_room_host_goes_live_and_answers_a_raised_hand(clients: Clients, page: Page) -> None:
    """alice hosts an audio room from her view: Go live, bob (a listener, no microphone
    button) raises his hand, alice sees the request, denies it, then grants the next one;
    bad answers get typed replies and change nothing."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    host, listener = CallView(alice.sc), CallView(bob.sc)
    try:
        reply = page.request(listener, "raise_hand")
        assert reply["error"]["name"] == "INVALID_STATE"
        alice.sc.call(["bob"], type="audio_room", ring=False, call_id="room").result(15)
        wait_for(lambda: host.call.get("state") == "joined", "alice joined")
        assert (host.call["can_go_live"], host.call["live"]) == (True, False)
        assert page.request(host, "live")["ok"]
        wait_for(lambda: host.call["live"], "the room live")

        bob.sc.join_call("room", "audio_room").result(15)
        wait_for(lambda: listener.call.get("state") == "joined", "bob joined")
        assert listener.call["can_send_audio"] is False
        assert listener.call["can_go_live"] is False
        assert page.request(listener, "raise_hand")["ok"]
        asked = [{"user_id": "bob", "name": "Bob", "permissions": ["send-audio"]}]
        wait_for(lambda: host.call["permission_requests"] == asked, "bob's hand at alice")
        assert listener.call["permission_requests"] == []

        assert page.request(host, "deny_permissions", user_id="bob", permissions=["send-audio"])[
            "ok"
        ]
        assert host.call["permission_requests"] == []
        assert page.request(listener, "raise_hand")["ok"]
        wait_for(lambda: host.call["permission_requests"] == asked, "bob's hand again")
        bad = page.request(host, "grant_permissions", user_id="bob", permissions=["fly"])
        assert bad["error"]["name"] == "INVALID_ARGUMENTS"
        assert "send-audio" in bad["error"]["message"]
        assert host.call["permission_requests"] == asked
        granted = page.request(host, "grant_permissions", user_id="bob", permissions=["send-audio"])
        assert granted["ok"]
        wait_for(lambda: listener.call["can_send_audio"], "bob may speak")
        wait_for(lambda: host.call["permission_requests"] == [], "the request answered")

        assert page.request(host, "live")["ok"]
        wait_for(lambda: not host.call["live"], "the room back in backstage")
    finally:
        host.close()
        listener.close()
