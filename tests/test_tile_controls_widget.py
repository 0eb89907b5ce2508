"""CallView's tile menu: pins (for me, for everyone, unpin) and per-participant volume,
against real clients and a recorded page; the mixer's per-source volume."""

from __future__ import annotations

import av
import numpy as np

from streamcall_widget.render.mixer import RATE, AudioMixer
from streamcall_widget.widgets import CallView

from .engine_helpers import RESULT, Clients, session_of, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def test_tile_menu_pins_and_volumes(clients: Clients, page: Page) -> None:
    """The host's view pins bob for herself (``pins`` shows his key, bob sees no pin), then
    for everyone (bob sees it; one key, not two); ``unpin`` removes her own pin first, then
    everyone's. ``volume`` keeps a remote participant's volume in ``volumes``; a volume out
    of 0..1, not a number, or an unknown session is refused, naming what is allowed."""
    alice, bob = clients("alice"), clients("bob")
    view = CallView(alice.sc)
    try:
        reply = page.request(view, "pin", session_id="s")
        assert reply["error"]["name"] == "INVALID_STATE"
        alice.sc.get_or_create_call("menu", members=["bob"]).result(RESULT)  # alice hosts
        alice.sc.join_call("menu").result(RESULT)
        bobs = bob.sc.join_call("menu").result(RESULT)
        call = alice.sc.current_call
        assert call is not None
        bob_session = session_of(call, "bob")
        wait_for(lambda: view.can_pin_for_everyone or None, "the right to pin for everyone")

        assert page.request(view, "pin", session_id=bob_session)["ok"]
        wait_for(lambda: view.pins == [bob_session] or None, "bob pinned for alice")
        assert bobs.pins == ()
        assert page.request(view, "pin", session_id=bob_session, for_everyone=True)["ok"]
        wait_for(lambda: len(bobs.pins) == 1 or None, "bob to see the pin for everyone")
        assert view.pins == [bob_session]
        assert page.request(view, "unpin", session_id=bob_session)["ok"]
        assert call.local_pins == ()
        assert len(call.pins) == 1
        assert page.request(view, "unpin", session_id=bob_session)["ok"]
        wait_for(lambda: view.pins == [] or None, "no pin left")

        assert page.request(view, "volume", session_id=bob_session, volume=0.25)["ok"]
        assert view.volumes == {bob_session: 0.25}
        for volume, words in ((1.5, "from 0.0 to 1.0"), ("loud", "a number"), (True, "number")):
            bad = page.request(view, "volume", session_id=bob_session, volume=volume)
            assert bad["error"]["name"] == "INVALID_ARGUMENTS"
            assert words in bad["error"]["message"]
        unknown = page.request(view, "volume", session_id="nobody", volume=0.5)
        assert unknown["error"]["name"] == "DOES_NOT_EXIST"
        assert f"{bob_session} (bob)" in unknown["error"]["message"]
        assert view.volumes == {bob_session: 0.25}
        bobs.leave().result(RESULT)
        wait_for(lambda: view.volumes == {} or None, "bob's volume forgotten when he left")
    finally:
        view.close()


def test_mixer_scales_each_source_by_its_volume() -> None:
    """A source at 0.5 adds half its samples; its screen share (``key:screen``) follows it;
    a source without a volume plays at 1.0."""
    mixer = AudioMixer()
    mixer.set_volumes({"a": 0.5})
    for key, value in (("a", 1000), ("a:screen", 400), ("b", 10)):
        samples = np.full((1, 1920), value, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        mixer.push(key, frame)
    chunk = mixer.pop()
    assert chunk is not None
    assert set(np.frombuffer(chunk, dtype="<i2").tolist()) == {500 + 200 + 10}
