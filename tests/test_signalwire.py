"""SignalWire's state words (seed 004) from our call phase: the pure mapping, case by case."""

from __future__ import annotations

import pytest

from streamcall_widget.protocol.lifecycle import PHASES, CallState, Direction
from streamcall_widget.protocol.signalwire import SignalWireState, signalwire_state

IN, OUT, BY_ID = Direction.INCOMING, Direction.OUTGOING, Direction.JOINED
S = SignalWireState

CASES: list[tuple[CallState, Direction, dict[str, bool], SignalWireState]] = [
    (CallState.IDLE, BY_ID, {}, S.NEW),
    (CallState.IDLE, IN, {}, S.NEW),
    (CallState.IDLE, OUT, {}, S.REQUESTING),
    (CallState.RINGING, OUT, {}, S.TRYING),
    (CallState.RINGING, IN, {}, S.RINGING),
    (CallState.RINGING, IN, {"accepting": True}, S.ANSWERING),
    (CallState.JOINING, IN, {"accepting": True}, S.ANSWERING),
    (CallState.JOINING, OUT, {}, S.EARLY),
    (CallState.JOINING, BY_ID, {}, S.EARLY),
    (CallState.JOINED, OUT, {}, S.ACTIVE),
    (CallState.JOINED, IN, {"on_hold": True}, S.HELD),
    (CallState.RECONNECTING, BY_ID, {}, S.RECOVERING),
    (CallState.RECONNECTING, IN, {"on_hold": True}, S.RECOVERING),
    (CallState.LEAVING, OUT, {}, S.HANGUP),
    (CallState.LEFT, IN, {}, S.HANGUP),
    (CallState.LEFT, OUT, {"destroyed": True}, S.DESTROY),
    (CallState.LEFT, BY_ID, {"destroyed": True, "purged": True}, S.PURGE),
]


def _word(phase: CallState, direction: Direction, flags: dict[str, bool]) -> SignalWireState:
    given = {"accepting": False, "on_hold": False, "destroyed": False, "purged": False}
    return signalwire_state(phase, direction, **(given | flags))


@pytest.mark.parametrize(("phase", "direction", "flags", "word"), CASES)
def test_each_phase_maps_to_its_signalwire_word(
    phase: CallState, direction: Direction, flags: dict[str, bool], word: SignalWireState
) -> None:
    """A phase, with the direction and what else is known, gives exactly one word."""
    assert _word(phase, direction, flags) is word


def test_every_word_is_reached_and_every_phase_has_a_word() -> None:
    """All twelve SignalWire words come out of the mapping; every phase is mapped."""
    assert {word for *_, word in CASES} == set(SignalWireState)
    assert {phase for phase, *_ in CASES} == set(PHASES)
    assert [w.value for w in SignalWireState] == [
        "new", "requesting", "trying", "recovering", "ringing", "answering",
        "early", "active", "held", "hangup", "destroy", "purge",
    ]  # fmt: skip


def test_an_event_word_is_no_phase() -> None:
    """``accepted`` says what happened, not where the call is: a ValueError names it."""
    with pytest.raises(ValueError, match="'accepted' is an event word"):
        _word(CallState.ACCEPTED, IN, {})
