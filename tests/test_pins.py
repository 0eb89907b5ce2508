"""Pins with real peers: for everyone (the coordinator's order, seen by all, dropped when the
pinned session leaves), local (this client only), and the errors of each."""

from __future__ import annotations

from typing import Any

import pytest

from streamcall_widget import Call, CallState
from streamcall_widget.engine.pins import Pin
from streamcall_widget.errors import DoesNotExist, InvalidArguments, InvalidState, NotAllowed

from .engine_helpers import RESULT, Clients, Recorder, participant, session_of, wait_for


def _pin_notes(client_triples: list[tuple[str, str | None, str | None]]) -> list[tuple[str, ...]]:
    return [
        (state, user or "", reason or "")
        for state, user, reason in client_triples
        if state in (CallState.PINNED.value, CallState.UNPINNED.value)
    ]


def _wait_pins(call: Call, pins: tuple[Pin, ...]) -> None:
    wait_for(lambda: call.pins == pins or None, f"{call.user_id} to see the pins {pins}")


def test_pins_for_everyone_and_local(clients: Clients) -> None:
    """The host (who created the call) pins bob then carol: everyone sees carol first (the
    newest pin first), each ``pinned`` note once; bob (a call member) may not pin for
    everyone, but pins alice for himself only; carol leaving drops her pin everywhere
    with an ``unpinned`` ``left``."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    alice.sc.get_or_create_call("pins", members=["bob", "carol"]).result(RESULT)  # alice hosts
    call = alice.sc.join_call("pins").result(RESULT)
    bobs = bob.sc.join_call("pins").result(RESULT)
    carols = carol.sc.join_call("pins").result(RESULT)
    bob_session, carol_session = session_of(call, "bob"), session_of(call, "carol")
    alice_session = session_of(bobs, "alice")
    session_of(bobs, "carol")
    watched: Recorder[tuple[Any, Any]] = Recorder()
    bobs.watch("pins", lambda new, old: watched((new, old)))

    call.pin(bob_session).result(RESULT)
    call.pin(carol_session).result(RESULT)
    expected = (Pin("carol", carol_session), Pin("bob", bob_session))
    for seen in (call, bobs, carols):
        _wait_pins(seen, expected)
        assert [p.user_id for p in seen.participants if p.is_pinned] == ["bob", "carol"]
    for client in (alice, bob, carol):
        client.flush()
        assert _pin_notes(client.triples()) == [
            ("pinned", "bob", "everyone"),
            ("pinned", "carol", "everyone"),
        ]

    wait_for(lambda: len(watched.items) == 2 or None, "bob's pins watcher")
    assert watched.items == [((expected[1],), ()), (expected, (expected[1],))]

    wait_for(
        lambda: "audio" in participant(call, "bob").published_tracks or None,  # type: ignore[union-attr]
        "alice to hear bob",
    )
    bob.sc.set_microphone_enabled(False).result(RESULT)  # a pin is the session's, not a track's
    wait_for(
        lambda: "audio" not in participant(call, "bob").published_tracks or None,  # type: ignore[union-attr]
        "alice to see bob muted",
    )
    assert participant(call, "bob").is_pinned  # type: ignore[union-attr]
    assert call.pins == expected

    with pytest.raises(NotAllowed, match="pin-for-everyone"):
        bobs.pin(alice_session).result(RESULT)
    bobs.pin(alice_session, for_everyone=False).result(RESULT)
    assert bobs.local_pins == (Pin("alice", alice_session),)
    assert participant(bobs, "alice").is_pinned  # type: ignore[union-attr]
    assert not participant(call, "alice").is_pinned  # type: ignore[union-attr]
    assert call.local_pins == ()
    bobs.unpin(alice_session, for_everyone=False).result(RESULT)
    with pytest.raises(DoesNotExist, match="not pinned here; local pins: none"):
        bobs.unpin(alice_session, for_everyone=False).result(RESULT)
    with pytest.raises(DoesNotExist, match=r"participants: .*alice"):
        call.pin("no-such-session").result(RESULT)
    with pytest.raises(InvalidArguments, match="session_id must be a str"):
        call.pin(3).result(RESULT)  # type: ignore[arg-type]
    with pytest.raises(InvalidArguments, match="True or False"):
        call.unpin(bob_session, for_everyone="yes").result(RESULT)  # type: ignore[arg-type]

    carols.leave().result(RESULT)
    with pytest.raises(InvalidState, match="is left; join it to pin"):
        carols.pin(bob_session).result(RESULT)
    for seen in (call, bobs):
        _wait_pins(seen, expected[1:])
    alice.flush()
    assert _pin_notes(alice.triples())[-1] == ("unpinned", "carol", "left")
    call.unpin(bob_session).result(RESULT)
    wait_for(lambda: bobs.pins == () or None, "bob to see the last pin go")
    assert not any(p.is_pinned for p in bobs.participants)
    assert call.anonymous_participant_count == 0
