"""``online_users()``, offline callees and ``call_history()`` on real clients sharing one
embedded coordinator: the dialer's whole engine side in one call set-up."""

from __future__ import annotations

import pytest

from streamcall_widget import CallMember, CallState
from streamcall_widget.engine.presence import CallDirection, PastCall, User
from streamcall_widget.errors import InputError, InvalidState

from .engine_helpers import RESULT, Clients, ring_and_accept


def test_online_offline_and_history(clients: Clients) -> None:
    """Alice lists who is online, rings dave (offline: missed and ended ``offline`` at once),
    talks with bob, and each history tells placed, received and missed apart."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    stranger = clients("stranger", login=False)
    assert alice.sc.online_users().result(RESULT) == [User("bob", "Bob", None, True)]
    with pytest.raises(InputError, match="from 1 to 100"):
        alice.sc.online_users(0).result(RESULT)
    with pytest.raises(InvalidState, match="not logged in"):
        stranger.sc.online_users().result(RESULT)
    with pytest.raises(InvalidState, match="not logged in"):
        stranger.sc.call_history().result(RESULT)

    unanswered = alice.sc.call(["dave"], video=False).result(RESULT)
    alice.wait_event(CallState.LEFT, "alice", unanswered.id)
    assert alice.triples(unanswered.id) == [
        ("camera_disabled", "alice", None),  # an audio call
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("missed", "dave", "offline"),
        ("outgoing_call_ended", None, "offline"),
        ("left", "alice", "offline"),
    ]

    talked, _ = ring_and_accept(alice, bob)
    alice.sc.end_call().result(RESULT)
    bob.wait_event(CallState.LEFT, "bob", talked.id)

    placed = alice.sc.call_history().result(RESULT)
    assert [(p.call_id, p.direction, p.video, [o.user_id for o in p.others]) for p in placed] == [
        (talked.id, CallDirection.PLACED, True, ["bob"]),
        (unanswered.id, CallDirection.PLACED, False, ["dave"]),
    ]
    assert placed[0].duration is not None  # the session started and ended
    assert placed[1].duration is None
    (received,) = bob.sc.call_history().result(RESULT)
    assert (received.call_id, received.direction) == (talked.id, CallDirection.RECEIVED)
    assert received.others == (CallMember("alice", "Alice", None, "host"),)  # the creator

    dave = clients("dave")
    assert dave.sc.get_ringing_call().result(RESULT) is None
    (missed,) = dave.sc.call_history(1).result(RESULT)
    assert missed == PastCall(
        call_id=unanswered.id,
        call_type="default",
        others=(CallMember("alice", "Alice", None, "host"),),
        direction=CallDirection.MISSED,
        at=placed[1].at,
        video=False,
        duration=None,
    )
