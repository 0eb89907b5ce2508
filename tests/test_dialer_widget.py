"""CallView's dialer against real clients: its lists, ``dial`` and its typed errors.

The page is recorded (``tests/widget_helpers.py``); the clients, the embedded coordinator
and the calls are real, with synthetic devices.
"""

from __future__ import annotations

from typing import Any

from streamcall_widget.widgets import CallView

from .engine_helpers import Clients, wait_for
from .widget_helpers import Page, page

__all__ = ["page"]


def test_dialer_lists_dials_and_refuses_bad_dials(clients: Clients, page: Page) -> None:
    """Logged out: no lists; on login the users online appear; ``dial`` rings with the
    video flag; bad dials get typed errors; the ended call joins the history at once."""
    alice = clients("alice", name="Alice", login=False)
    clients("bob", name="Bob")
    view = CallView(alice.sc)
    try:
        page.set_trait(view, "_dialer_shown", True)
        assert view._dialer_shown
        assert (view._dialer_user, view._online_users, view._call_history) == ("", [], [])
        refused = page.request(view, "dial", user_ids=["bob"], video=True)
        assert refused["error"]["name"] == "INVALID_STATE"

        alice.sc.login("alice", name="Alice").result(15)
        wait_for(lambda: view._online_users, "the users online after login")
        assert view._dialer_user == "alice"
        assert view._online_users == [{"user_id": "bob", "name": "Bob", "image": ""}]

        bad: list[tuple[dict[str, Any], str, str]] = [
            ({"user_ids": []}, "INVALID_ARGUMENTS", "non-empty list of user ids"),
            ({"user_ids": "bob"}, "INVALID_ARGUMENTS", "non-empty list of user ids"),
            ({"user_ids": ["bob", "alice"]}, "INVALID_ARGUMENTS", "cannot call yourself"),
            ({"user_ids": ["bob"], "video": "yes"}, "INVALID_ARGUMENTS", "true or false"),
        ]
        for fields, name, says in bad:
            reply = page.request(view, "dial", **fields)
            assert (reply["ok"], reply["error"]["name"]) == (False, name), fields
            assert says in reply["error"]["message"]
        assert view.call == {}

        # Carol is offline: the call ends at once (CallView may not even show it ringing),
        # and the view says why from the call's left event.
        assert page.request(view, "dial", user_ids=["carol"], video=False)["ok"]
        offline = {"key": "streamcall_reason_offline", "args": ["carol"]}
        wait_for(lambda: view.call.get("ended") == offline, "the view saying carol is offline")
        wait_for(lambda: view._call_history, "the ended call in the history")
        (row,) = view._call_history
        assert (row["others"], row["direction"], row["video"], row["duration"]) == (
            [{"user_id": "carol", "name": "carol"}],
            "placed",
            False,
            None,
        )

        assert page.request(view, "dial", user_ids=["bob"], video=True)["ok"]
        wait_for(lambda: view.call.get("state") == "ringing", "ringing bob")
        busy = page.request(view, "dial", user_ids=["bob"])
        assert busy["error"]["name"] == "INVALID_STATE"
        assert "already in call" in busy["error"]["message"]
        assert view.call["state"] == "ringing"
        assert page.request(view, "hangup")["ok"]
    finally:
        view.close()
