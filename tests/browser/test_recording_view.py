"""CallView's recording parts in Chromium against a fake model: the REC indicator shows for
everyone while the call records, and the Record button (for those allowed only) sits right
before Hang up, sends ``record``, and reads Stop recording while the call records.
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
