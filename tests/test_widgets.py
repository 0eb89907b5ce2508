"""The three widgets against real clients: page requests, engine state in traits, media out.

The page is recorded (``tests/widget_helpers.py``); the clients, the embedded coordinator
and the calls are real, with synthetic devices.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import simplejpeg
import traitlets
from aiortc import RTCPeerConnection

from streamcall_widget.errors import InputError
from streamcall_widget.widgets import LAYOUTS, CallView, DeviceControls, LoginPanel, phone

from .engine_helpers import Clients, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def test_login_panel_logs_in_and_out_from_the_page(clients: Clients, page: Page) -> None:
    """The Log in button's request logs the form's user in; the traits show the engine."""
    alice = clients("alice", login=False)
    panel = LoginPanel(alice.sc)
    try:
        assert panel.embedded
        assert panel.status == "logged_out"
        page.set_trait(panel, "user_id", "alice")
        page.set_trait(panel, "name", "Alice Liddell")
        assert page.request(panel, "login", token="")["ok"]
        wait_for(lambda: panel.status == "logged_in", "status logged_in")
        wait_for(lambda: panel.current_user.get("name") == "Alice Liddell", "current user")
        assert panel.current_user["user_id"] == "alice"
        assert page.request(panel, "logout")["ok"]
        wait_for(lambda: panel.status == "logged_out" and not panel.current_user, "logged out")
    finally:
        panel.close()


def test_bad_requests_get_typed_errors_and_change_nothing(clients: Clients, page: Page) -> None:
    """An empty user id, an unknown request and a wrong state each get an error reply."""
    alice = clients("alice")
    panel = LoginPanel(alice.sc)
    try:
        page.set_trait(panel, "user_id", "mallory")
        reply = page.request(panel, "login", token="")
        assert not reply["ok"]
        assert reply["error"]["name"] == "INVALID_STATE"
        assert "already logged in as 'alice'" in panel.error["message"]
        unknown = page.request(panel, "fly")
        assert unknown["error"]["name"] == "INPUT_ERROR"
        assert "allowed: login, logout" in unknown["error"]["message"]
        assert alice.sc.status == "logged_in"
        wait_for(lambda: panel.current_user.get("user_id") == "alice", "alice still logged in")
    finally:
        panel.close()


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"kind": "link_state", "state": "great"}, "link_state is failed or closed"),
        ({"kind": "up_video", "role": "nose"}, "role must be one of"),
        ({"kind": "page_devices", "devices": "cameras"}, "devices must be a list"),
        ({"kind": "capture_state", "role": "speaker", "ok": True}, "role must be one of"),
    ],
)
def test_a_malformed_page_message_is_reported_and_dropped(
    clients: Clients, page: Page, message: dict[str, object], says: str
) -> None:
    """The page is not trusted: a bad message of the page link or the page's devices is
    an ``error`` event (the view's error line), and the view and the client go on."""
    alice = clients("alice")
    errors: list[str] = []
    alice.sc.add_listener("error", lambda report: errors.append(str(report.error)))
    view = CallView(alice.sc)
    try:
        page.send(view, message)
        wait_for(lambda: any(says in error for error in errors), f"an error saying {says!r}")
        assert says in view.error["message"]
        assert alice.sc.status == "logged_in"
        assert view.link_path == "pipe"
    finally:
        view.close()


def test_call_view_rings_accepts_streams_and_hangs_up(clients: Clients, page: Page) -> None:
    """Incoming screen data, Accept from the page, JPEG tiles at the page's size, Hang up."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    view = CallView(bob.sc)
    try:
        outgoing = alice.sc.call(["bob"]).result(15)
        wait_for(lambda: view.call.get("state") == "ringing", "the incoming screen")
        assert view.call["direction"] == "incoming"
        assert view.call["caller"]["name"] == "Alice"
        assert page.request(view, "accept")["ok"]
        wait_for(lambda: view.call.get("state") == "joined", "joined")
        wait_for(lambda: len(view.participants) == 2, "two tiles")
        remote = next(t for t in view.participants if not t["is_local"])
        assert remote["name"] == "Alice"
        assert {t["key"] for t in view.participants} == {"local", remote["key"]}

        page.send(view, {"kind": "viewport", "visible": True, "tiles": {remote["key"]: [320, 240]}})
        recorded = page.comm_of(view)

        def remote_frame() -> bytes | None:
            for message in recorded.messages("frames"):
                tiles = message.data["content"]["tiles"]
                for index, tile in enumerate(tiles):
                    if tile["key"] == remote["key"]:
                        return message.buffers[index]
            return None

        jpeg = wait_for(remote_frame, "a frame of Alice's tile")
        height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
        assert (width, height) == (320, 240)

        assert page.request(view, "hangup")["ok"]
        wait_for(lambda: view.call.get("state") == "left", "the ended screen")
        assert view.call["reason"]
        wait_for(lambda: outgoing.state.value == "left", "alice's call ended too")
        assert page.request(view, "dismiss")["ok"]
        wait_for(lambda: view.call == {}, "no call shown")
    finally:
        view.close()


def test_call_view_shows_a_shared_screen_and_shares_from_the_page(
    clients: Clients, page: Page
) -> None:
    """Alice's share is a tile of its own with her screen's frames; bob's Share screen
    button starts and stops his share, and the call trait follows."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    view = CallView(bob.sc)
    try:
        call = alice.sc.call(["bob"], ring=False, call_id="present").result(15)
        bob.sc.join_call("present").result(15)
        wait_for(lambda: view.call.get("state") == "joined", "joined")
        assert view.call["can_share"] is True
        assert view.call["sharing"] is False
        call.start_screen_share().result(15)

        def alices_screen() -> dict[str, object] | None:
            return next((t for t in view.participants if t["screen"]), None)

        screen = wait_for(alices_screen, "alice's screen tile")
        assert screen["name"] == "Alice"
        assert screen["video"] is True
        assert str(screen["key"]).endswith(":screen")
        page.send(view, {"kind": "viewport", "visible": True, "tiles": {screen["key"]: [320, 180]}})
        recorded = page.comm_of(view)

        def screen_frame() -> bool:
            return any(
                tile["key"] == screen["key"]
                for message in recorded.messages("frames")
                for tile in message.data["content"]["tiles"]
            )

        wait_for(screen_frame, "a frame of alice's screen")
        call.stop_screen_share().result(15)
        wait_for(lambda: alices_screen() is None, "alice's screen tile gone")

        assert page.request(view, "share_screen")["ok"]
        wait_for(lambda: view.call.get("sharing") is True, "bob shares")
        bob_call = bob.sc.current_call
        assert bob_call is not None
        assert bob_call.has_screen_sharing
        wait_for(
            lambda: any(t["screen"] and t["is_local"] for t in view.participants),
            "bob's presenting tile",
        )
        assert page.request(view, "share_screen")["ok"]
        wait_for(lambda: view.call.get("sharing") is False, "bob stopped sharing")
    finally:
        view.close()


def test_call_view_cycles_layouts_from_python_and_page(clients: Clients, page: Page) -> None:
    """toggle_views() cycles the four layouts; the page may set one; others are refused."""
    view = CallView(clients("alice").sc)
    try:
        start = view.tile_layout
        seen = [view.toggle_views() for _ in LAYOUTS]
        assert sorted(seen) == sorted(LAYOUTS)
        assert view.tile_layout == start
        page.set_trait(view, "tile_layout", "spotlight")
        assert view.tile_layout == "spotlight"
        with pytest.raises(traitlets.TraitError, match="grid"):
            view.tile_layout = "carousel"
    finally:
        view.close()


def test_device_controls_switch_and_pick_devices(clients: Clients, page: Page) -> None:
    """Pickers list the engine's devices; toggles and picks go through the engine."""
    alice = clients("alice")
    controls = DeviceControls(alice.sc)
    try:
        wait_for(lambda: controls.devices.get("cameras"), "the camera list")
        camera_ids = [c["id"] for c in controls.devices["cameras"]]
        assert "synthetic-camera-back" in camera_ids
        assert "browser" in [s["id"] for s in controls.devices["speakers"]]
        wait_for(lambda: controls.camera == "synthetic-camera", "the camera in use")

        reply = page.request(
            controls, "select", device_kind="camera", device="synthetic-camera-back"
        )
        assert reply["ok"]
        wait_for(lambda: controls.camera == "synthetic-camera-back", "the back camera")
        assert page.request(controls, "switch_camera")["ok"]
        wait_for(lambda: controls.camera == "synthetic-camera", "the front camera again")

        assert page.request(controls, "set_microphone", enabled=False)["ok"]
        wait_for(lambda: not controls.microphone_enabled, "the microphone off")
        assert page.request(controls, "select", device_kind="speaker", device="null")["ok"]
        wait_for(lambda: controls.speaker == "null", "the null speaker")

        bad = page.request(controls, "select", device_kind="printer", device="x")
        assert bad["error"]["name"] == "INPUT_ERROR"
        missing = page.request(controls, "select", device_kind="camera", device="nope")
        assert missing["error"]["name"] == "DEVICE_ERROR"
        assert controls.camera == "synthetic-camera"
    finally:
        controls.close()


def test_language_selects_bundled_or_given_strings(clients: Clients, page: Page) -> None:
    """French is bundled; a new language needs only its own keys; unknown ones are refused."""
    alice = clients("alice")
    view = CallView(alice.sc, language="fr")
    try:
        assert view._strings["stream_video_call_accept"] == "Accepter"
        view.language = "en"
        assert view._strings["stream_video_call_accept"] == "Accept"
        with pytest.raises(InputError, match="choose one of"):
            view.language = "xx"
        assert view.language == "en"
    finally:
        view.close()
    custom = LoginPanel(alice.sc, language="de", strings={"de": {"streamcall_login": "Anmelden"}})
    try:
        assert custom._strings["streamcall_login"] == "Anmelden"
        assert custom._strings["stream_video_call_accept"] == "Accept"
    finally:
        custom.close()


def test_phone_composes_the_three_widgets_of_one_client(clients: Clients, page: Page) -> None:
    """phone() puts LoginPanel, CallView and DeviceControls of one client in one box."""
    alice = clients("alice", login=False)
    box = phone(alice.sc, user_id="alice", language="fr", layout="grid")
    try:
        kinds = (LoginPanel, CallView, DeviceControls)
        assert [isinstance(w, kind) for w, kind in zip(box.children, kinds, strict=True)] == [
            True,
            True,
            True,
        ]
        assert box.login.user_id == "alice"
        assert box.view.tile_layout == "grid"
        assert all(w.language == "fr" and w.client is alice.sc for w in box.children)
    finally:
        box.close()


async def _page_offer() -> dict[str, object]:
    """A link offer as a page makes it: a camera going up and one video slot coming down."""
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="sendonly")
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        return {
            "sdp": pc.localDescription.sdp,
            "uplink": {"0": "camera"},
            "video": ["1"],
            "audio": [],
        }
    finally:
        await pc.close()


def test_a_retried_link_leaves_the_label_on_the_widget_channel(
    clients: Clients, page: Page
) -> None:
    """The first link is "connecting"; once it fails the widget channel carries the media,
    and the page's later retries keep saying so until a link actually connects."""
    alice = clients("alice")
    view = CallView(alice.sc)
    comm = page.comm_of(view)
    try:
        page.send(view, {"kind": "link", "link": "first", **asyncio.run(_page_offer())})
        wait_for(lambda: view.link_path == "connecting", "the first link connecting")
        wait_for(lambda: len(comm.customs("link")) == 1, "the kernel's answer")
        page.send(view, {"kind": "link_state", "state": "failed"})
        wait_for(lambda: view.link_path == "pipe", "the widget channel after the failure")
        page.send(view, {"kind": "link", "link": "retry", **asyncio.run(_page_offer())})
        wait_for(lambda: len(comm.customs("link")) == 2, "the answer to the retry")
        assert view.link_path == "pipe"
    finally:
        view.close()


def test_a_link_given_up_while_its_offer_waited_is_not_an_error(
    clients: Clients, page: Page
) -> None:
    """After Run All, the kernel reads a page's offer and the page's giving up on it (its
    timer ran while the cells did) back to back: the answer, cut short, is nobody's error.
    An offer the kernel cannot answer while the link stands is one, and the page is told."""
    alice = clients("alice")
    view = CallView(alice.sc)
    comm = page.comm_of(view)
    try:
        page.send(view, {"kind": "link", "link": "late", **asyncio.run(_page_offer())})
        page.send(view, {"kind": "link_state", "state": "failed"})
        alice.sc.engine.submit(asyncio.sleep(0.2)).result(5)  # the offer's task is over
        alice.flush()
        assert alice.errors_in("answering the page's WebRTC offer") == []
        # Cut short, or answered first when the kernel was quick: never a refusal.
        assert [m for m in comm.customs("link") if "error" in m] == []
        assert view.link_path == "pipe"

        offer = asyncio.run(_page_offer())
        lines = str(offer["sdp"]).split("\r\n")
        no_ice = "\r\n".join(line for line in lines if "ice-ufrag" not in line)
        page.send(view, {"kind": "link", "link": "bad", **offer, "sdp": no_ice})
        (refusal,) = wait_for(
            lambda: [m for m in comm.customs("link") if m["link"] == "bad"], "the refusal"
        )
        assert refusal["link"] == "bad"
        assert refusal["error"]
        assert "sdp" not in refusal
        alice.flush()
        (report,) = alice.errors_in("answering the page's WebRTC offer")
        assert str(report.error) == refusal["error"]
        assert view.link_path == "pipe"
    finally:
        view.close()


def test_an_unchanged_call_is_not_synced_again(clients: Clients, page: Page) -> None:
    """While a call rings and nothing changes, the ``call`` trait is not sent again: the
    page's incoming-call notice waits 400 ms after the last change of it, so a trait that
    flipped on every refresh kept the notice from ever showing."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    view = CallView(alice.sc)
    comm = page.comm_of(view)

    def call_syncs() -> int:
        return sum("call" in (sent.data.get("state") or {}) for sent in list(comm.sent))

    try:
        bob.sc.call(["alice"]).result(20)
        wait_for(lambda: view.call.get("state") == "ringing", "alice's view ringing")
        settled = call_syncs()
        time.sleep(1.0)  # four refreshes of the view, with no change to show
        assert call_syncs() == settled
    finally:
        view.close()
