"""CallView's hold, deaf and keypad requests against real clients and a recorded page."""

from __future__ import annotations

from streamcall_widget import DtmfEvent
from streamcall_widget.widgets import CallView

from .engine_helpers import Clients, Recorder, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def test_call_view_holds_deafens_and_sends_tones(clients: Clients, page: Page) -> None:
    """Without a call each request gets InvalidState; in one, ``hold`` and ``deaf`` toggle
    (the call trait and the other side's tile follow) and ``dtmf`` sends its tones; bad
    tones get an InvalidArguments reply and the call goes on."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    view = CallView(bob.sc)
    try:
        for kind in ("hold", "deaf", "dtmf"):
            reply = page.request(view, kind, tones="1")
            assert not reply["ok"]
            assert reply["error"]["name"] == "INVALID_STATE"
        heard: Recorder[DtmfEvent] = Recorder()
        alice.sc.add_listener("dtmf", heard)
        call = alice.sc.call(["bob"], ring=False, call_id="desk").result(15)
        bob.sc.join_call("desk").result(15)
        wait_for(lambda: view.call.get("state") == "joined", "joined")
        assert (view.call["on_hold"], view.call["deaf"]) == (False, False)

        assert page.request(view, "hold")["ok"]
        wait_for(lambda: view.call["on_hold"], "bob on hold in the call trait")
        wait_for(lambda: any(p.on_hold for p in call.participants), "alice sees bob on hold")
        assert page.request(view, "hold")["ok"]
        wait_for(lambda: not view.call["on_hold"], "bob off hold")

        call.hold().result(15)
        wait_for(
            lambda: any(t["on_hold"] for t in view.participants if not t["is_local"]),
            "alice's tile on hold",
        )
        call.unhold().result(15)

        assert page.request(view, "deaf")["ok"]
        wait_for(lambda: view.call["deaf"], "bob deaf")
        assert page.request(view, "deaf")["ok"]
        wait_for(lambda: not view.call["deaf"], "bob hears again")

        bad = page.request(view, "dtmf", tones="9z")
        assert not bad["ok"]
        assert bad["error"]["name"] == "INVALID_ARGUMENTS"
        assert "A-D" in bad["error"]["message"]
        assert page.request(view, "dtmf", tones="9")["ok"]
        wait_for(lambda: [e.digit for e in heard.items] == ["9"], "alice told of 9")
        assert view.call["state"] == "joined"
    finally:
        view.close()
