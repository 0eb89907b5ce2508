"""The browser renderers (js/), run in Chromium against a fake anywidget model.

Each test loads one bundled widget module (``assets.load_module``) and the stylesheet into
a page served by Playwright's router (no network), mounts it on ``FakeModel``
(tests/browser/fake_model.js) and plays the kernel: it pushes traits and custom messages
and reads back what the page sent.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route

from streamcall_widget.widgets.assets import load_css, load_module
from streamcall_widget.widgets.strings import STRINGS
from tests.browser.chromium import launch_chromium

# Routed by Playwright, never fetched; localhost makes it a secure context (AudioWorklet).
ORIGIN = "http://localhost:8765"
FAKE_MODEL_JS = (Path(__file__).parent / "fake_model.js").read_text(encoding="utf-8")

MOUNT_JS = """
async ([source, traits, hidden]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  URL.revokeObjectURL(url);
  const model = new FakeModel(traits);
  const el = document.createElement("div");
  el.style.width = "640px";
  if (hidden) el.style.display = "none";
  document.body.append(el);
  const cleanups = [];
  if (widget.initialize) cleanups.push(await widget.initialize({ model }));
  cleanups.push(await widget.render({ model, el }));
  window.model = model;
  window.view = el;
  window.unmount = () => cleanups.reverse().forEach((cleanup) => cleanup && cleanup());
}
"""

BOB = {"user_id": "bob", "name": "Bob Martin", "image": ""}
ALICE = {"user_id": "alice", "name": "Alice Smith", "image": ""}


def _page_html() -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>{load_css()}</style></head><body></body></html>"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page on a routed origin with the stylesheet and FakeModel; any uncaught page
    error fails the test."""
    context = browser.new_context()
    page = context.new_page()

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=_page_html())

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.add_script_tag(content=FAKE_MODEL_JS)
    yield page
    context.close()
    assert errors == [], "the renderer threw in the page"


def mount(page: Page, name: str, traits: dict[str, Any], *, hidden: bool = False) -> None:
    """Load widget ``name`` into the page and render one view of a fake model."""
    page.evaluate(MOUNT_JS, [load_module(name), traits, hidden])


def sent(page: Page) -> list[dict[str, Any]]:
    """The custom messages the page sent to the kernel, oldest first."""
    return cast(list[dict[str, Any]], page.evaluate("model.sent"))


def wait_sent(page: Page, kind: str) -> dict[str, Any]:
    """The first message of ``kind`` the page sends (waiting for it)."""
    page.wait_for_function("kind => model.sent.some(m => m.kind === kind)", arg=kind)
    return next(message for message in sent(page) if message["kind"] == kind)


def push(page: Page, traits: dict[str, Any]) -> None:
    """The kernel changes traits."""
    page.evaluate("traits => model.push(traits)", traits)


def receive(page: Page, content: dict[str, Any], buffers: Sequence[bytes] = ()) -> None:
    """The kernel sends a custom message with binary buffers."""
    encoded = [base64.b64encode(buffer).decode() for buffer in buffers]
    page.evaluate("([content, buffers]) => model.receive(content, buffers)", [content, encoded])


def login_traits(**overrides: Any) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "_strings": STRINGS["en"],
        "language": "en",
        "error": {},
        "user_id": "",
        "name": "",
        "image_url": "",
        "api_key": "",
        "embedded": False,
        "current_user": {},
        "status": "logged_out",
    }
    return {**traits, **overrides}


def call_traits(**overrides: Any) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "_strings": STRINGS["en"],
        "language": "en",
        "error": {},
        "tile_layout": "grid",
        "_instance": "view-1",
        "call": {},
        "participants": [],
        "audio_output": False,
        "duration": 0.0,
    }
    return {**traits, **overrides}


def tile(key: str, name: str, **overrides: Any) -> dict[str, Any]:
    participant: dict[str, Any] = {
        "key": key,
        "user_id": name.split(maxsplit=1)[0].lower(),
        "name": name,
        "image": "",
        "is_local": key == "local",
        "audio": True,
        "video": True,
        "speaking": False,
        "dominant": False,
        "quality": "good",
        "level": 0.0,
        "screen": False,
    }
    return {**participant, **overrides}


def ringing(direction: str) -> dict[str, Any]:
    caller = BOB if direction == "incoming" else ALICE
    return {
        "call_id": "c1",
        "state": "ringing",
        "direction": direction,
        "caller": caller,
        "members": [ALICE, BOB],
        "video": True,
        "joined_at": None,
        "reason": "",
    }


def pcm16(*samples: int) -> bytes:
    """Signed 16-bit little-endian PCM."""
    return b"".join(value.to_bytes(2, "little", signed=True) for value in samples)


def solid_jpeg(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=95)
    return out.getvalue()


def center_pixel(page: Page, key: str) -> tuple[int, int, int, int]:
    """The RGBA pixel at the centre of tile ``key``'s canvas."""
    rgba = page.evaluate(
        """key => {
          const canvas = document.querySelector(`[data-key="${key}"] canvas`);
          const context = canvas.getContext("2d");
          return Array.from(context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data);
        }""",
        key,
    )
    red, green, blue, alpha = cast(list[int], rgba)
    return red, green, blue, alpha


def test_login_sends_token_and_shows_user(page: Page) -> None:
    """Fields sync as traits, Log in sends the token in the request, the user is shown."""
    mount(page, "login_panel", login_traits())
    page.fill("input[name=user_id]", "alice")
    assert page.is_visible("input[name=api_key]")  # a server: its API key is asked
    page.fill("input[name=token]", "secret-token")
    page.click("[data-action=login]")
    request = wait_sent(page, "login")
    assert request["token"] == "secret-token"
    assert request["id"]
    assert {"user_id": "alice"} in page.evaluate("model.saved")
    assert page.text_content(".sc-status") == "Logged out"

    push(page, {"current_user": ALICE, "status": "logged_in"})
    assert page.text_content(".sc-user-name") == "Alice Smith"
    assert page.text_content(".sc-initials") == "AS"
    assert page.text_content(".sc-status") == "Logged in"
    assert page.is_visible("[data-action=logout]")
    assert not page.is_visible("[data-action=login]")


def test_embedded_hides_token_and_failed_reply_shows_error(page: Page) -> None:
    """Embedded: no token or API key field but the dev-token note; a failed reply's message
    is shown."""
    mount(page, "login_panel", login_traits(embedded=True))
    assert not page.is_visible("input[name=token]")
    assert not page.is_visible("input[name=api_key]")
    assert "development token" in (page.text_content(".sc-note") or "")
    page.click("[data-action=login]")
    request = wait_sent(page, "login")
    assert request["token"] == ""
    error = {"code": 40, "name": "TokenExpired", "message": "the token has expired"}
    receive(page, {"kind": "reply", "id": request["id"], "ok": False, "error": error})
    page.wait_for_selector(".sc-error:has-text('the token has expired')")


def test_incoming_call_accept(page: Page) -> None:
    """The incoming screen names the caller and Accept sends {kind: "accept"}."""
    mount(page, "call_view", call_traits(call=ringing("incoming")))
    assert page.get_attribute(".sc-call", "data-state") == "ringing"
    assert page.text_content(".sc-headline") == "Incoming call from Bob Martin"
    assert page.text_content(".sc-screen .sc-initials") == "BM"
    page.click("[data-action=accept]")
    assert wait_sent(page, "accept")["id"]


def test_outgoing_call_names_callees_and_cancel_hangs_up(page: Page) -> None:
    """The outgoing screen names the callees (not the caller) and Cancel sends a hangup."""
    mount(page, "call_view", call_traits(call=ringing("outgoing")))
    assert page.text_content(".sc-headline") == "Calling Bob Martin"
    page.click("[data-action=cancel]")
    wait_sent(page, "hangup")


def test_frames_are_drawn_on_the_tile_canvas_and_acked(page: Page) -> None:
    """A JPEG tile is painted into its canvas (pixels read back), counted and acked."""
    mount(page, "call_view", call_traits(participants=[tile("local", "Alice Smith")]))
    viewport = wait_sent(page, "viewport")
    assert viewport["visible"] is True
    page.wait_for_function(
        "() => model.sent.some(m => m.kind === 'viewport' && (m.tiles.local || [0])[0] > 0)"
    )
    frame = {"key": "local", "width": 64, "height": 48, "mime": "image/jpeg", "ts": 1.0}
    receive(page, {"kind": "frames", "seq": 1, "tiles": [frame]}, [solid_jpeg((255, 0, 0))])
    page.wait_for_function("() => view.dataset.framesDrawn === '1'")
    assert {"kind": "ack", "seq": 1} in sent(page)
    red, green, blue, alpha = center_pixel(page, "local")
    assert (red > 240, green < 20, blue < 20, alpha) == (True, True, True, 255)


def test_newer_frame_supersedes_and_both_are_acked(page: Page) -> None:
    """Two messages for one tile before a paint: the newest is shown, and acks (at most one
    per animation frame, each covering every earlier message) reach seq 2, increasing."""
    mount(page, "call_view", call_traits(participants=[tile("s1", "Bob Martin")]))
    frame = {"key": "s1", "width": 64, "height": 48, "mime": "image/jpeg", "ts": 1.0}
    receive(page, {"kind": "frames", "seq": 1, "tiles": [frame]}, [solid_jpeg((255, 0, 0))])
    receive(page, {"kind": "frames", "seq": 2, "tiles": [frame]}, [solid_jpeg((0, 0, 255))])
    page.wait_for_function("() => model.sent.some(m => m.kind === 'ack' && m.seq === 2)")
    acks = [message["seq"] for message in sent(page) if message["kind"] == "ack"]
    assert acks in ([2], [1, 2])
    red, _, blue, _ = center_pixel(page, "s1")
    assert (red < 20, blue > 240) == (True, True)


HOLD_FRAMES_JS = """
() => {
  const realRaf = window.requestAnimationFrame.bind(window);
  window.held = [];
  window.decodes = 0;
  const realDecode = window.createImageBitmap.bind(window);
  window.createImageBitmap = (...args) => realDecode(...args).then((b) => (decodes++, b));
  window.requestAnimationFrame = (callback) => held.push(callback);
  window.releaseFrames = () => {
    window.requestAnimationFrame = realRaf;
    held.splice(0).forEach((callback) => callback(performance.now()));
  };
}
"""


def test_acks_are_coalesced_to_one_per_animation_frame(page: Page) -> None:
    """Four one-tile messages decoded while no animation frame runs: nothing is acked until
    one runs, then a single ack of seq 4 covers them all."""
    keys = ["t1", "t2", "t3", "t4"]
    mount(page, "call_view", call_traits(participants=[tile(k, "Bob Martin") for k in keys]))
    page.evaluate(HOLD_FRAMES_JS)
    for seq, key in enumerate(keys, start=1):
        frame = {"key": key, "width": 64, "height": 48, "mime": "image/jpeg", "ts": 1.0}
        receive(page, {"kind": "frames", "seq": seq, "tiles": [frame]}, [solid_jpeg((0, 0, 255))])
    page.wait_for_function("() => decodes === 4", polling=20)
    assert not any(message["kind"] == "ack" for message in sent(page))
    page.evaluate("releaseFrames()")
    assert [message for message in sent(page) if message["kind"] == "ack"] == [
        {"kind": "ack", "seq": 4}
    ]


def test_tile_without_video_shows_initials_and_muted_icon(page: Page) -> None:
    """A tile with video off shows initials, not the canvas; audio off shows the muted icon."""
    carol = tile("s2", "Carol Ann", video=False, audio=False, quality="poor", speaking=True)
    mount(page, "call_view", call_traits(participants=[carol]))
    selector = "[data-key=s2]"
    assert page.text_content(f"{selector} .sc-initials") == "CA"
    assert page.is_visible(f"{selector} .sc-initials")
    assert not page.is_visible(f"{selector} canvas")
    assert page.is_visible(f"{selector} .sc-muted")
    assert page.get_attribute(f"{selector} .sc-quality", "data-bars") == "1"
    assert "sc-speaking" in (page.get_attribute(selector, "class") or "")


def test_layout_button_cycles_layouts(page: Page) -> None:
    """The layout button sets the trait: grid → spotlight → dynamic → fullscreen → grid; the
    controls stay over the video in every layout, fullscreen included."""
    people = [tile("local", "Alice Smith"), tile("s1", "Bob Martin", dominant=True)]
    call = {**ringing("incoming"), "state": "joined"}
    mount(page, "call_view", call_traits(participants=people, call=call))
    seen = []
    for _ in range(4):
        page.click("[data-action=layout]")
        seen.append(page.get_attribute(".sc-call", "data-layout"))
        for action in ("microphone", "camera", "layout", "hangup"):
            assert page.is_visible(f".sc-area .sc-controls [data-action={action}]"), action
    assert seen == ["spotlight", "dynamic", "fullscreen", "grid"]
    saved = page.evaluate("model.saved")
    assert [change["tile_layout"] for change in saved if "tile_layout" in change] == seen


def test_a_shared_screen_is_the_big_tile_and_share_toggles(page: Page) -> None:
    """Bob's screen is its own tile, labelled as his screen and big in spotlight; the Share
    screen button shows while joined with the right, sends share_screen, and reads Stop
    sharing while we share."""
    people = [
        tile("local", "Alice Smith"),
        tile("s1", "Bob Martin", dominant=True),
        tile("s1:screen", "Bob Martin", screen=True, audio=False),
    ]
    call = {**ringing("incoming"), "state": "joined", "sharing": False, "can_share": True}
    mount(page, "call_view", call_traits(participants=people, call=call, tile_layout="spotlight"))
    screen = "[data-key='s1:screen']"
    assert page.text_content(f"{screen} .sc-name") == "Bob Martin's screen"
    assert not page.is_visible(f"{screen} .sc-muted")  # a screen without sound is not muted
    assert "sc-main" in (page.get_attribute(screen, "class") or "")
    assert "sc-main" not in (page.get_attribute("[data-key=s1]", "class") or "")
    assert page.eval_on_selector(".sc-stage", "stage => stage.firstElementChild.dataset.key") == (
        "s1:screen"
    )
    push(page, {"tile_layout": "grid"})
    assert "sc-main" not in (page.get_attribute(screen, "class") or "")
    assert page.get_attribute("[data-action=share]", "aria-label") == "Share screen"
    page.click("[data-action=share]")
    wait_sent(page, "share_screen")
    push(page, {"call": {**call, "sharing": True}})
    assert page.get_attribute("[data-action=share]", "aria-label") == "Stop sharing"
    assert page.get_attribute("[data-action=share]", "aria-pressed") == "true"
    push(page, {"call": {**call, "can_share": False}})
    assert not page.is_visible("[data-action=share]")


def test_pinned_tiles_come_first_and_the_tile_menu_sends_requests(page: Page) -> None:
    """Pinned tiles come first in pin order and spotlight shows the first pin big; a remote
    tile's menu pins for me, for everyone only with the right, unpins a pinned tile and
    sets its volume (the slider following ``volumes``); the local tile has no menu."""
    people = [tile("local", "Alice Smith"), tile("s1", "Bob Martin"), tile("s2", "Carol Ann")]
    call = {**ringing("incoming"), "state": "joined"}
    traits = call_traits(participants=people, call=call, pins=["s2", "local"], volumes={})
    mount(page, "call_view", {**traits, "tile_layout": "spotlight"})
    order = "stage => [...stage.children].map((el) => el.dataset.key)"
    assert page.eval_on_selector(".sc-stage", order) == ["s2", "local", "s1"]
    assert "sc-main" in (page.get_attribute("[data-key=s2]", "class") or "")
    assert page.is_visible("[data-key=s2] .sc-pin-mark")
    assert page.locator("[data-key=local] .sc-tile-menu").count() == 0

    bob = "[data-key=s1]"
    page.click(f"{bob} .sc-tile-menu-button")
    assert page.text_content(f"{bob} [data-choice=pin]") == "Pin for me"
    assert not page.is_visible(f"{bob} [data-choice=pin_everyone]")
    assert not page.is_visible(f"{bob} [data-choice=unpin]")
    page.click(f"{bob} [data-choice=pin]")
    pin = wait_sent(page, "pin")
    assert (pin["session_id"], pin["for_everyone"]) == ("s1", False)
    assert not page.is_visible(f"{bob} .sc-tile-menu-list")

    push(
        page, {"pins": ["s1", "s2", "local"], "can_pin_for_everyone": True, "volumes": {"s1": 0.4}}
    )
    assert page.eval_on_selector(".sc-stage", order) == ["s1", "s2", "local"]
    page.click(f"{bob} .sc-tile-menu-button")
    assert page.input_value(f"{bob} .sc-volume") == "0.4"
    page.click(f"{bob} [data-choice=pin_everyone]")
    page.wait_for_function("() => model.sent.some((m) => m.for_everyone === true)")
    page.click(f"{bob} .sc-tile-menu-button")
    page.click(f"{bob} [data-choice=unpin]")
    assert wait_sent(page, "unpin")["session_id"] == "s1"
    page.click(f"{bob} .sc-tile-menu-button")
    page.fill(f"{bob} .sc-volume", "0.75")
    volume = wait_sent(page, "volume")
    assert (volume["session_id"], volume["volume"]) == ("s1", 0.75)


def test_our_own_share_says_we_present(page: Page) -> None:
    """The local share's tile has no video and says so, in the page's language."""
    people = [
        tile("local", "Alice Smith"),
        tile("local:screen", "Alice Smith", screen=True, video=False, is_local=True),
    ]
    mount(page, "call_view", call_traits(participants=people, _strings=STRINGS["fr"]))
    assert page.text_content("[data-key='local:screen'] .sc-name") == "Vous présentez"


def test_french_strings_render_and_follow_changes(page: Page) -> None:
    """French _strings are shown, a change of _strings re-renders, a missing key shows."""
    mount(page, "call_view", call_traits(_strings=STRINGS["fr"], call=ringing("incoming")))
    assert page.text_content(".sc-headline") == "Appel entrant de Bob Martin"
    assert page.text_content("[data-action=accept]") == "Accepter"
    assert page.text_content("[data-action=reject]") == "Refuser"
    push(page, {"_strings": STRINGS["en"]})
    assert page.text_content("[data-action=accept]") == "Accept"
    push(page, {"_strings": {}})
    assert page.text_content("[data-action=accept]") == "stream_video_call_accept"


def test_timer_and_hangup_while_joined(page: Page) -> None:
    """While joined the timer shows mm:ss from duration and Hang up sends a hangup."""
    call = {**ringing("incoming"), "state": "joined", "direction": "incoming"}
    mount(page, "call_view", call_traits(call=call, duration=65.0))
    assert page.text_content(".sc-timer") == "01:05"
    page.click("[data-action=hangup]")
    wait_sent(page, "hangup")


def test_left_call_shows_reason_and_dismiss(page: Page) -> None:
    """An ended call says why in words (the kernel's ``ended``, an unknown reason as the
    word itself); Close sends {kind: "dismiss"}."""
    call = {**ringing("outgoing"), "state": "left", "reason": "rejected"}
    mount(page, "call_view", call_traits(call=call))
    assert page.text_content(".sc-headline") == "Call ended: rejected"
    busy = {"key": "streamcall_reason_busy", "args": ["Bob Martin"]}
    push(page, {"call": {**call, "reason": "busy", "ended": busy}})
    assert page.text_content(".sc-headline") == "Bob Martin is busy"
    page.click("[data-action=dismiss]")
    wait_sent(page, "dismiss")


def test_reconnecting_banner_and_the_kernel_gone(page: Page) -> None:
    """While reconnecting a banner says so over the tiles, the controls stay; once the
    kernel restarts the view says so and offers no control, and the timer stops."""
    people = [tile("local", "Alice Smith"), tile("s1", "Bob Martin")]
    call = {**ringing("incoming"), "state": "reconnecting"}
    mount(page, "call_view", call_traits(participants=people, call=call, duration=5.0))
    assert page.text_content(".sc-area .sc-banner") == "Reconnecting..."
    assert page.is_visible(".sc-controls [data-action=hangup]")
    push(page, {"call": {**call, "state": "joined"}})
    assert not page.is_visible(".sc-banner")
    assert page.is_visible(".sc-timer")
    page.evaluate("model.widget_manager.kernel.setStatus('busy')")  # a long cell: still live
    assert page.get_attribute(".sc-call", "data-kernel") == "live"
    page.evaluate("model.widget_manager.kernel.setStatus('restarting')")
    assert page.text_content(".sc-gone") == STRINGS["en"]["streamcall_kernel_gone"]
    assert page.locator(".sc-call button:visible").count() == 0
    assert not page.is_visible(".sc-timer")


def test_a_request_the_kernel_cannot_take_shows_the_kernel_gone(page: Page) -> None:
    """A front end without kernel status: a request whose send throws ("Cannot send") is
    the kernel gone for the panel."""
    mount(page, "login_panel", login_traits())
    page.evaluate("() => { model.send = () => { throw new Error('Cannot send'); }; }")
    page.click("[data-action=login]")
    assert page.text_content(".sc-gone") == STRINGS["en"]["streamcall_kernel_gone_panel"]
    assert page.locator(".sc-login button:visible").count() == 0


def test_incoming_call_without_visible_view_shows_toast(page: Page) -> None:
    """No visible view: a toast offers Accept/Reject, says when the action failed, and goes
    when ringing stops."""
    mount(page, "call_view", call_traits(call=ringing("incoming")), hidden=True)
    toast = page.wait_for_selector(".sc-toast")
    assert toast is not None
    assert "Incoming call from Bob Martin" in (toast.text_content() or "")
    page.click(".sc-toast [data-action=reject]")
    rejected = wait_sent(page, "reject")
    error = {"code": 42, "name": "INVALID_STATE", "message": "nothing to reject"}
    receive(page, {"kind": "reply", "id": rejected["id"], "ok": False, "error": error})
    page.wait_for_selector(".sc-toast.sc-error:has-text('nothing to reject')")  # said, too
    push(page, {"call": {**ringing("incoming"), "state": "left", "reason": "rejected"}})
    page.wait_for_selector(".sc-toast", state="detached")


def test_call_view_cleanup_removes_listeners(page: Page) -> None:
    """Unmounting a view and its model leaves no model listener and no tile behind."""
    mount(page, "call_view", call_traits(participants=[tile("local", "Alice Smith")]))
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    assert page.evaluate("model.listenerCount()") == 0
    assert page.evaluate("view.children.length") == 0


def test_audio_chunks_reach_the_worklet(page: Page) -> None:
    """With audio_output on and a gesture made, PCM chunks reach the worklet as floats,
    alone or riding in a frames message after its JPEGs; turning audio_output off flushes
    the player."""
    page.evaluate(
        """() => {
          window.posted = [];
          window.AudioWorkletNode = class extends AudioWorkletNode {
            constructor(...args) {
              super(...args);
              const post = this.port.postMessage.bind(this.port);
              this.port.postMessage = (data, transfer) => {
                window.posted.push(typeof data === "string" ? data : Array.from(data));
                post(data, transfer);
              };
            }
          };
        }"""
    )
    mount(page, "call_view", call_traits(audio_output=True))
    page.mouse.click(5, 5)
    pcm = pcm16(16384, -16384)
    audio = {"seq": 1, "rate": 48000, "channels": 1}
    receive(page, {"kind": "audio", **audio}, [pcm])
    page.wait_for_function("() => window.posted.length === 1")
    assert page.evaluate("window.posted[0]") == [0.5, -0.5]
    tile = {"key": "s1", "width": 64, "height": 48, "mime": "image/jpeg", "ts": 1.0}
    frames = {"kind": "frames", "seq": 1, "tiles": [tile], "audio": {**audio, "seq": 2}}
    receive(page, frames, [solid_jpeg((255, 0, 0)), pcm16(-16384, 16384)])
    page.wait_for_function("() => window.posted.length === 2")
    assert page.evaluate("window.posted[1]") == [-0.5, 0.5]
    push(page, {"audio_output": False})
    page.wait_for_function("() => window.posted.includes('flush')")


def test_device_controls_send_requests_without_changing_traits(page: Page) -> None:
    """Pickers send select, toggles send the opposite state and leave the trait alone."""
    devices = {
        "cameras": [{"id": "cam1", "label": "Front"}, {"id": "cam2", "label": "Back"}],
        "microphones": [{"id": "mic1", "label": "Built-in"}],
        "speakers": [{"id": "browser", "label": "Browser"}],
    }
    traits = {
        "_strings": STRINGS["en"],
        "language": "en",
        "error": {},
        "devices": devices,
        "camera": "cam1",
        "microphone": "mic1",
        "speaker": "browser",
        "camera_enabled": True,
        "microphone_enabled": True,
        "level": 0.5,
    }
    mount(page, "device_controls", traits)
    assert page.input_value("select[data-kind=camera]") == "cam1"
    page.select_option("select[data-kind=camera]", "cam2")
    select = wait_sent(page, "select")
    assert (select["device_kind"], select["device"]) == ("camera", "cam2")
    page.click("[data-action=microphone]")
    assert wait_sent(page, "set_microphone")["enabled"] is False
    assert page.evaluate("model.get('microphone_enabled')") is True
    page.click("[data-action=switch-camera]")
    wait_sent(page, "switch_camera")
    assert page.evaluate("document.querySelector('meter').value") == 0.5
