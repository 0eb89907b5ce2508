"""CallView's chat against real clients: the page's Send, the ``chat`` trait and its
unread count, typed errors for bad text, a new call starting a new chat."""

from __future__ import annotations

from streamcall_widget.widgets import CallView

from .engine_helpers import RESULT, Clients, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def _texts(view: CallView) -> list[tuple[str, str, bool]]:
    return [(m["name"], m["text"], m["own"]) for m in view.chat]


def test_the_chat_shows_both_sides_counts_unread_and_restarts_with_a_call(
    clients: Clients, page: Page
) -> None:
    """The page sends a message (shown as own), bob's reply is shown and unread until the
    page reads the chat; blank text gets a typed error reply; the next call's chat starts
    empty."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    view = CallView(alice.sc)
    try:
        no_call = page.request(view, "send_message", text="anyone?")
        assert no_call["error"]["name"] == "INVALID_STATE"

        first = alice.sc.call(["bob"], ring=False, video=False).result(RESULT)
        theirs = bob.sc.join_call(first.id).result(RESULT)
        assert page.request(view, "send_message", text="hi bob")["ok"]
        theirs.send_message("hello Alice").result(RESULT)
        wait_for(lambda: len(view.chat) == 2, "two messages in the chat")
        assert _texts(view) == [("Alice", "hi bob", True), ("Bob", "hello Alice", False)]
        assert [m["user_id"] for m in view.chat] == ["alice", "bob"]
        assert all(m["sent_at"] for m in view.chat)
        assert view.chat_unread == 1

        assert page.request(view, "chat_read")["ok"]
        assert view.chat_unread == 0
        for bad, name in (("   ", "INVALID_ARGUMENTS"), (None, "INVALID_ARGUMENTS")):
            reply = page.request(view, "send_message", text=bad)
            assert reply["error"]["name"] == name
        too_long = page.request(view, "send_message", text="x" * 5000)
        assert too_long["error"]["name"] == "PAYLOAD_TOO_BIG"
        assert len(view.chat) == 2

        alice.sc.end_call().result(RESULT)
        second = alice.sc.call(["bob"], ring=False, video=False).result(RESULT)
        assert second.cid != first.cid
        wait_for(lambda: view.call.get("call_id") == second.id, "the view to show the new call")
        assert view.chat == []
        assert view.chat_unread == 0
    finally:
        view.close()
