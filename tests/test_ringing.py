"""The Ring state machine alone: no event loop, a plain float clock, exact outcome lists."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streamcall_widget.errors import InvalidState, NotAllowed
from streamcall_widget.protocol.call_types import RingSettings
from streamcall_widget.protocol.models import RejectReason
from streamcall_widget.protocol.ringing import (
    Accepted,
    CalleeStatus,
    Missed,
    Rejected,
    Ring,
    RingOver,
)

T0 = 1000.0
DEFAULT = RingSettings()


def ring(
    callees: list[str],
    *,
    online: list[str] | None = None,
    busy: Sequence[str] = (),
    settings: RingSettings = DEFAULT,
) -> Ring:
    """Alice rings ``callees`` at T0; everyone is online unless ``online`` says otherwise."""
    return Ring(
        "alice",
        callees,
        settings,
        T0,
        reachable=callees if online is None else online,
        busy=busy,
    )


def test_accept_ends_ring_with_accepted() -> None:
    """A callee accepting yields exactly Accepted and the ring is over with no deadline."""
    r = ring(["bob"])
    assert r.start() == []
    assert r.ringing() == ["bob"]
    assert r.accept("bob", T0 + 3) == [Accepted("bob")]
    assert r.over
    assert r.status["bob"] is CalleeStatus.ACCEPTED
    assert r.next_deadline() is None
    assert r.tick(T0 + 1000) == []


def test_decline_by_only_callee_is_rejected_then_ring_over() -> None:
    """The only callee declining yields Rejected(decline) then RingOver(decline)."""
    r = ring(["bob"])
    assert r.reject("bob", RejectReason.DECLINE, T0 + 1) == [
        Rejected("bob", RejectReason.DECLINE),
        RingOver(RejectReason.DECLINE),
    ]
    assert r.over
    assert r.status["bob"] is CalleeStatus.REJECTED
    assert r.next_deadline() is None


def test_caller_reject_is_cancel_for_everyone() -> None:
    """The caller rejecting cancels: Rejected(caller, cancel), each callee Missed(cancel), over."""
    r = ring(["bob", "carol"])
    assert r.reject("alice", RejectReason.DECLINE, T0 + 1) == [
        Rejected("alice", RejectReason.CANCEL),
        Missed("bob", RejectReason.CANCEL),
        Missed("carol", RejectReason.CANCEL),
        RingOver(RejectReason.CANCEL),
    ]
    assert r.over
    assert r.next_deadline() is None


def test_busy_callee_is_missed_busy_at_start() -> None:
    """A callee in another call is Missed(busy) at start and, alone, ends the ring at once."""
    r = ring(["carol"], busy=["carol"])
    assert r.start() == [Missed("carol", RejectReason.BUSY), RingOver(RejectReason.BUSY)]
    assert r.over
    assert r.status["carol"] is CalleeStatus.MISSED
    assert r.next_deadline() is None


def test_busy_callee_among_others_leaves_ring_going() -> None:
    """One busy callee among two is Missed(busy) and the other keeps ringing."""
    r = ring(["bob", "carol"], busy=["carol"])
    assert r.start() == [Missed("carol", RejectReason.BUSY)]
    assert not r.over
    assert r.ringing() == ["bob"]


def test_no_answer_incoming_timeout_ends_ring_before_auto_cancel() -> None:
    """With equal timeouts the unanswered callee is Missed(timeout), then RingOver(timeout)."""
    r = ring(["bob"])
    assert r.next_deadline() == T0 + 30
    assert r.tick(T0 + 29.999) == []
    assert r.tick(T0 + 30) == [Missed("bob", RejectReason.TIMEOUT), RingOver(RejectReason.TIMEOUT)]
    assert r.over
    assert r.next_deadline() is None


def test_no_answer_incoming_then_auto_cancel() -> None:
    """An online callee misses at the incoming timeout; later auto-cancel rejects as the caller."""
    settings = RingSettings(incoming_call_timeout_ms=10_000, auto_cancel_timeout_ms=20_000)
    r = ring(["bob", "carol"], settings=settings)
    assert r.next_deadline() == T0 + 10
    assert r.reject("carol", RejectReason.DECLINE, T0 + 5) == [
        Rejected("carol", RejectReason.DECLINE)
    ]
    assert r.tick(T0 + 10) == [Missed("bob", RejectReason.TIMEOUT), RingOver(RejectReason.TIMEOUT)]
    assert r.over
    assert r.next_deadline() is None


def test_auto_cancel_misses_every_callee_still_ringing() -> None:
    """Auto-cancel before the incoming timeout: Rejected(caller), each ringing callee Missed."""
    settings = RingSettings(incoming_call_timeout_ms=20_000, auto_cancel_timeout_ms=10_000)
    r = ring(["bob", "carol"], settings=settings)
    assert r.tick(T0 + 10) == [
        Rejected("alice", RejectReason.TIMEOUT),
        Missed("bob", RejectReason.TIMEOUT),
        Missed("carol", RejectReason.TIMEOUT),
        RingOver(RejectReason.TIMEOUT),
    ]
    assert r.over


def test_auto_cancel_before_incoming_timeout() -> None:
    """Auto-cancel shorter than the incoming timeout: Rejected(caller, timeout) + RingOver."""
    settings = RingSettings(auto_cancel_timeout_ms=5_000, incoming_call_timeout_ms=30_000)
    r = ring(["bob"], settings=settings)
    assert r.next_deadline() == T0 + 5
    assert r.tick(T0 + 5) == [
        Rejected("alice", RejectReason.TIMEOUT),
        Missed("bob", RejectReason.TIMEOUT),
        RingOver(RejectReason.TIMEOUT),
    ]
    assert r.over


def test_offline_callee_alone_is_missed_offline_at_start() -> None:
    """A callee with no connection is Missed(offline) at start and the ring is over at once."""
    r = ring(["bob"], online=[])
    assert r.status == {"bob": CalleeStatus.OFFLINE}
    assert r.ringing() == []
    assert r.start() == [Missed("bob", RejectReason.OFFLINE), RingOver(RejectReason.OFFLINE)]
    assert r.over
    assert r.status["bob"] is CalleeStatus.MISSED
    assert r.next_deadline() is None
    assert r.tick(T0 + 1000) == []


def test_offline_callee_among_others_leaves_ring_going() -> None:
    """One offline callee among two is Missed(offline) at start; the online one rings on."""
    r = ring(["bob", "carol"], online=["bob"])
    assert r.start() == [Missed("carol", RejectReason.OFFLINE)]
    assert not r.over
    assert r.ringing() == ["bob"]
    assert r.next_deadline() == T0 + 30
    assert r.accept("bob", T0 + 11) == [Accepted("bob")]
    assert r.status == {"bob": CalleeStatus.ACCEPTED, "carol": CalleeStatus.MISSED}


def test_offline_callee_is_not_rung_when_they_connect_later() -> None:
    """An offline callee connecting mid-ring is not reached; a ringing one's new connection is."""
    r = ring(["bob", "carol"], online=["bob"])
    r.start()
    assert r.reach("carol") is False
    assert r.status["carol"] is CalleeStatus.MISSED
    assert r.reach("bob") is True
    assert r.reach("mallory") is False
    with pytest.raises(InvalidState, match="already missed"):
        r.accept("carol", T0 + 2)


def test_busy_and_offline_callees_resolve_in_callee_order() -> None:
    """Busy and offline callees both miss at start, in callee order; the last reason ends it."""
    r = ring(["bob", "carol"], online=["carol"], busy=["carol"])
    assert r.start() == [
        Missed("bob", RejectReason.OFFLINE),
        Missed("carol", RejectReason.BUSY),
        RingOver(RejectReason.BUSY),
    ]
    assert r.over


def test_two_callees_one_accepts_other_stopped() -> None:
    """When one of two callees accepts the other is STOPPED and no timer yields anything."""
    r = ring(["bob", "carol"])
    assert r.accept("carol", T0 + 2) == [Accepted("carol")]
    assert r.status == {"bob": CalleeStatus.STOPPED, "carol": CalleeStatus.ACCEPTED}
    assert r.ringing() == []
    assert r.next_deadline() is None
    assert r.tick(T0 + 30) == []
    assert r.tick(T0 + 200) == []


def test_two_callees_both_decline_ring_over_after_second() -> None:
    """Two declines: the first yields only Rejected, the second Rejected then RingOver."""
    r = ring(["bob", "carol"])
    assert r.reject("bob", RejectReason.DECLINE, T0 + 1) == [Rejected("bob", RejectReason.DECLINE)]
    assert not r.over
    assert r.ringing() == ["carol"]
    assert r.reject("carol", RejectReason.DECLINE, T0 + 2) == [
        Rejected("carol", RejectReason.DECLINE),
        RingOver(RejectReason.DECLINE),
    ]
    assert r.over


def test_accept_by_non_callee_not_allowed() -> None:
    """A user who is not rung cannot accept: NotAllowed naming the user, ring unchanged."""
    r = ring(["bob"])
    with pytest.raises(NotAllowed, match="mallory"):
        r.accept("mallory", T0 + 1)
    with pytest.raises(NotAllowed):
        r.accept("alice", T0 + 1)
    assert not r.over
    assert r.ringing() == ["bob"]


def test_accept_after_over_invalid_state() -> None:
    """Accepting or rejecting once the ring is over is InvalidState."""
    r = ring(["bob", "carol"])
    r.accept("bob", T0 + 1)
    with pytest.raises(InvalidState, match="over"):
        r.accept("carol", T0 + 2)
    with pytest.raises(InvalidState, match="over"):
        r.reject("carol", RejectReason.DECLINE, T0 + 2)


def test_callee_answering_twice_invalid_state() -> None:
    """A callee who already declined cannot accept afterwards while others still ring."""
    r = ring(["bob", "carol"])
    r.reject("bob", RejectReason.DECLINE, T0 + 1)
    with pytest.raises(InvalidState, match="rejected"):
        r.accept("bob", T0 + 2)


def test_ring_with_no_callee_invalid_state() -> None:
    """A ring with nobody but the caller cannot be built."""
    with pytest.raises(InvalidState, match="nobody to ring"):
        Ring("alice", ["alice"], DEFAULT, T0, reachable=["alice"])
    with pytest.raises(InvalidState, match="nobody to ring"):
        Ring("alice", [], DEFAULT, T0, reachable=[])


def test_next_deadline_is_earliest_pending_timer() -> None:
    """next_deadline is the earliest of the timers that still apply to someone."""
    settings = RingSettings(auto_cancel_timeout_ms=50_000, incoming_call_timeout_ms=40_000)
    online_only = ring(["bob"], settings=settings)
    assert online_only.next_deadline() == T0 + 40
    short_cancel = ring(["bob"], settings=RingSettings(auto_cancel_timeout_ms=5_000))
    assert short_cancel.next_deadline() == T0 + 5


def test_deadline_is_the_earlier_timeout() -> None:
    """The ring's deadline (a push notice's ``expires_at``) is the earlier of the callee
    timeout and the caller's auto-cancel."""
    assert ring(["bob"]).deadline == T0 + 30
    early_cancel = RingSettings(incoming_call_timeout_ms=20_000, auto_cancel_timeout_ms=10_000)
    assert ring(["bob"], settings=early_cancel).deadline == T0 + 10
