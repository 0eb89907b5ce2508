"""CallView's recording parts in Chromium against a fake model: the REC indicator shows for
everyone while the call records, and the Record button (for those allowed only) sits right
before Hang up, sends ``record``, and reads Stop recording while the call records; once a
recording of this kernel's is saved, where it went shows under the video and on the ended
screen.
"""

from __future__ import annotations

from playwright.sync_api import Page

from streamcall_widget.widgets.strings import STRINGS

from .test_renderers import browser, call_traits, mount, page, push, ringing, tile, wait_sent

__all__ = ["browser", "page"]


def test_rec_indicator_and_record_button(page: Page) -> None:
    """REC follows ``call.recording`` whoever records; Record follows ``can_record``."""
    people = [tile("local", "Alice Smith"), tile("s1", "Bob Martin")]
    call = {**ringing("incoming"), "state": "joined", "recording": False, "can_record": False}
    mount(page, "call_view", call_traits(participants=people, call=call))
    assert not page.is_visible(".sc-rec")
    assert not page.is_visible("[data-action=record]")

    push(page, {"call": {**call, "recording": True}})  # someone else records
    assert page.text_content(".sc-rec") == "REC"
    assert page.get_attribute(".sc-rec", "title") == "This call is being recorded"
    assert page.is_visible(".sc-rec")
    assert not page.is_visible("[data-action=record]")

    push(page, {"call": {**call, "can_record": True}})
    assert not page.is_visible(".sc-rec")
    record = "[data-action=record]"
    assert page.get_attribute(record, "aria-label") == "Record"
    assert page.get_attribute(record, "aria-pressed") == "false"
    actions = page.eval_on_selector_all(
        ".sc-controls [data-action]", "buttons => buttons.map(b => b.dataset.action)"
    )
    assert actions[actions.index("record") + 1] == "hangup"
    page.click(record)
    wait_sent(page, "record")
    push(page, {"call": {**call, "can_record": True, "recording": True}})
    assert page.get_attribute(record, "aria-label") == "Stop recording"
    assert page.get_attribute(record, "aria-pressed") == "true"
    assert page.is_visible(".sc-rec")

    push(page, {"_strings": STRINGS["fr"]})
    assert page.get_attribute(record, "aria-label") == "Arrêter l'enregistrement"
    assert page.get_attribute(".sc-rec", "title") == "Cet appel est enregistré"
    push(page, {"call": {**call, "state": "left"}})
    assert not page.is_visible(".sc-rec")


def test_where_the_recording_was_saved_shows_once_it_stops(page: Page) -> None:
    """``call.saved_recording`` shows as a line with the file's name and length, its path in
    the tooltip; not while a new recording runs, and still on the ended screen."""
    saved = {"name": "rec.mp4", "path": "/home/alice/rec.mp4", "duration": 71.6}
    call = {**ringing("incoming"), "state": "joined", "recording": True, "can_record": True}
    mount(page, "call_view", call_traits(participants=[tile("local", "Alice")], call=call))
    assert not page.is_visible(".sc-saved")
    push(page, {"call": {**call, "recording": False, "saved_recording": saved}})
    assert page.text_content(".sc-saved") == "Recording saved: rec.mp4 (01:11)"
    assert page.get_attribute(".sc-saved", "title") == "/home/alice/rec.mp4"
    push(page, {"call": {**call, "saved_recording": saved}})  # recording again
    assert not page.is_visible(".sc-saved")
    push(page, {"call": {**call, "state": "left", "recording": False, "saved_recording": saved}})
    assert page.is_visible(".sc-saved")
    push(page, {"call": {}})
    assert not page.is_visible(".sc-saved")
