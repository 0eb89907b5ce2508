"""What a person meets in the widgets: end reasons in words, the call controls' requests,
a busy callee, the ended call after Log out, errors on the page, the level meter, the
coordinator away.

End reasons and the meter are pure; the rest runs real clients on the embedded coordinator
with the page recorded (``tests/widget_helpers.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamcall_widget import CallState, StreamCall
from streamcall_widget.coordinator import App, mint_token
from streamcall_widget.coordinator.participants import DEPARTURES
from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol.models import RejectReason
from streamcall_widget.widgets import CallView, LoginPanel
from streamcall_widget.widgets.end_reasons import REASON_KEYS, ended_message
from streamcall_widget.widgets.level_meter import RELEASE_PER_SECOND, LevelMeter
from streamcall_widget.widgets.strings import STRINGS

from .engine_helpers import Clients, ServerThread, ring_and_accept, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]

ALICE = {"user_id": "alice", "name": "Alice", "image": ""}
BOB = {"user_id": "bob", "name": "Bob", "image": ""}


def _left(reason: str, direction: str) -> dict[str, object]:
    caller = ALICE if direction == "outgoing" else BOB
    return {"state": "left", "direction": direction, "caller": caller,
            "members": [ALICE, BOB], "reason": reason}  # fmt: skip


def _sentence(call: dict[str, object], user_id: str, language: str = "en") -> str:
    message = ended_message(call, user_id)
    text = STRINGS[language][message["key"]]
    for index, arg in enumerate(message["args"], start=1):
        text = text.replace(f"%{index}$s", arg)
    return text


@pytest.mark.parametrize(
    ("reason", "direction", "says"),
    [
        ("decline", "outgoing", "Bob declined"),
        ("busy", "outgoing", "Bob is busy"),
        ("offline", "outgoing", "Bob is offline"),
        ("timeout", "outgoing", "No answer"),
        ("timeout", "incoming", "Missed call from Bob"),
        ("cancel", "incoming", "Missed call from Bob"),
        ("cancel", "outgoing", "Call cancelled"),
        ("accepted_elsewhere", "incoming", "Answered on another device"),
        ("accepted_by_other", "incoming", "Answered by someone else"),
        ("left", "outgoing", "Call ended"),
        ("connection_lost", "incoming", "Connection lost"),
        ("disconnected", "outgoing", "Bob lost the connection"),
        ("rejected", "outgoing", "Call ended: rejected"),
    ],
)
def test_end_reasons_read_as_a_calling_app_says_them(
    reason: str, direction: str, says: str
) -> None:
    """The name is the other side: the callee for the caller, the caller for the callee."""
    assert _sentence(_left(reason, direction), "alice") == says


def test_every_reason_word_has_a_sentence_in_every_language() -> None:
    """The coordinator's ring outcomes and departures, and the engine's own words, each
    have both sentences, in every bundled language."""
    words = {str(r) for r in RejectReason} | DEPARTURES | {"offline", "ended", "removed"}
    words |= {"replaced", "accepted_elsewhere", "accepted_by_other", "connection_lost"}
    words |= {"join_failed", "logout"}
    assert words <= set(REASON_KEYS)
    for language, strings in STRINGS.items():
        assert set(strings) == set(STRINGS["en"]), f"{language} lacks or adds keys"
        for keys in REASON_KEYS.values():
            assert set(keys) <= set(strings), language
    assert _sentence(_left("busy", "outgoing"), "alice", "fr") == "Bob est occupé·e"


def test_level_meter_rises_at_once_and_falls_slowly() -> None:
    """The loudest frame since the last read shows at once; silence lets it fall at
    RELEASE_PER_SECOND, never below 0; a reset is silence at once."""
    meter = LevelMeter()
    assert meter.read(now=0.0) == 0.0
    for level in (0.2, 0.9, 0.4):
        meter.frame(level)
    assert meter.read(now=0.1) == 0.9
    assert meter.read(now=0.3) == pytest.approx(0.9 - RELEASE_PER_SECOND * 0.2)
    meter.frame(0.8)
    assert meter.read(now=0.4) == 0.8
    assert meter.read(now=5.0) == 0.0
    meter.frame(0.7)
    meter.reset()
    assert meter.read(now=5.1) == 0.0


def test_controls_busy_callee_errors_and_logout(clients: Clients, page: Page) -> None:
    """The microphone and camera buttons' requests toggle the engine (Bob sees it) and the
    ``local_media`` trait; Carol calling busy Alice sees "Alice is busy" although the ring
    ended before any refresh; a widget method failing from Python shows on the page; after
    Log out no ended call stays on screen."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    carol = clients("carol", name="Carol")
    view, carols = CallView(alice.sc), CallView(carol.sc)
    try:
        ring_and_accept(alice, bob)
        wait_for(lambda: view.local_media == {"microphone": True, "camera": True}, "both on")
        assert page.request(view, "microphone")["ok"]
        bob.wait_event(CallState.MICROPHONE_DISABLED, user_id="alice")
        wait_for(lambda: view.local_media["microphone"] is False, "the microphone off")
        assert page.request(view, "camera")["ok"]
        bob.wait_event(CallState.CAMERA_DISABLED, user_id="alice")
        assert page.request(view, "microphone")["ok"]
        bob.wait_event(CallState.MICROPHONE_ENABLED, user_id="alice")

        carol.sc.call(["alice"]).result(20)
        wait_for(lambda: carols.call.get("reason") == "busy", "Carol's ended screen")
        assert carols.call["ended"] == {"key": "streamcall_reason_busy", "args": ["Alice"]}

        with pytest.raises(InvalidState, match="is joined"):
            view.dismiss()
        assert "is joined" in view.error["message"]

        assert page.request(view, "hangup")["ok"]
        wait_for(lambda: view.call.get("state") == "left", "Alice's ended screen")
        assert view.call["ended"]["key"] == "streamcall_reason_ended"
        alice.sc.logout().result(20)
        wait_for(lambda: view.call == {}, "no ended call after Log out")
    finally:
        view.close()
        carols.close()


def test_coordinator_away_shows_reconnecting_in_panel_and_view(tmp_path: Path) -> None:
    """With the coordinator gone mid-call, LoginPanel's status is ``reconnecting`` (not
    "Logged in") and CallView's call is ``reconnecting`` (its banner), not frozen joined."""
    app = App(api_key="ux-key", api_secret="ux-secret-" + "u" * 32)
    server = ServerThread(app).__enter__()
    alice = StreamCall(
        url=server.url,
        api_key=app.api_key,
        runtime_dir=tmp_path,
        settings_dir=tmp_path,
        camera="synthetic-camera",
        microphone="synthetic-microphone",
    )
    panel, view = LoginPanel(alice), CallView(alice)
    try:
        alice.login("alice", token_provider=lambda: mint_token(app.api_secret, "alice")).result(20)
        alice.call(["bob"], ring=False).result(20)
        wait_for(lambda: view.call.get("state") == "joined", "Alice in her call")
        assert panel.status == "logged_in"
        server.__exit__()
        wait_for(lambda: panel.status == "reconnecting", "the panel saying reconnecting")
        wait_for(lambda: view.call.get("state") == "reconnecting", "the view reconnecting")
    finally:
        panel.close()
        view.close()
        alice.close()
