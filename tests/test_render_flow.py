"""FlowControl alone: the window, acks, busy pacing and visibility, with time passed in."""

from __future__ import annotations

import itertools

import pytest

from streamcall_widget.errors import InputError
from streamcall_widget.render.flow import FlowControl


def visible_flow(*, min_interval: float = 1 / 60, stall_timeout: float = 2.0) -> FlowControl:
    flow = FlowControl(min_interval=min_interval, stall_timeout=stall_timeout)
    flow.set_visible(True)
    return flow


def send_when_allowed(flow: FlowControl, count: int, now: float) -> list[float]:
    """Send ``count`` messages, each as soon as allowed; their send times."""
    times = []
    for seq in range(1, count + 1):
        wait = flow.ready_in(now)
        assert wait is not None
        now += wait
        flow.sent(seq, now)
        times.append(now)
    return times


def test_window_of_two_unacked() -> None:
    """At most two messages are in flight while idle, however much time passes."""
    flow = visible_flow()
    flow.sent(1, 0.0)
    assert flow.can_send(0.1)
    flow.sent(2, 0.1)
    assert not flow.can_send(0.2)
    assert not flow.can_send(1.0)
    assert flow.ready_in(1.0) is not None


def test_ack_releases_next() -> None:
    """An ack frees its message and the ones before it."""
    flow = visible_flow()
    flow.sent(1, 0.0)
    flow.sent(2, 0.1)
    flow.acked(1, 0.2)
    assert flow.can_send(0.2)
    flow.sent(3, 0.2)
    assert not flow.can_send(0.3)
    flow.acked(3, 0.3)
    assert flow.in_flight == 0
    assert flow.can_send(0.3)


def test_stale_and_duplicate_acks_are_harmless() -> None:
    """Old, repeated and not-yet-sent seqs change nothing."""
    flow = visible_flow()
    flow.sent(1, 0.0)
    flow.sent(2, 0.1)
    flow.acked(1, 0.2)
    flow.sent(3, 0.2)
    for seq in (1, 0, 1, 99):
        flow.acked(seq, 0.3)
    assert flow.in_flight == 2
    assert not flow.can_send(0.3)


def test_min_interval_between_messages() -> None:
    """Even with acks, messages go no closer than min_interval apart."""
    flow = visible_flow(min_interval=0.05)
    flow.sent(1, 1.0)
    flow.acked(1, 1.001)
    assert not flow.can_send(1.02)
    assert flow.ready_in(1.02) == pytest.approx(0.03)
    assert flow.can_send(1.05)


def test_invisible_sends_nothing() -> None:
    """Nothing may go while no view is on screen, from the start or later."""
    flow = FlowControl()
    assert not flow.can_send(0.0)
    assert flow.ready_in(0.0) is None
    flow.set_visible(True)
    assert flow.can_send(0.0)
    flow.set_visible(False)
    assert not flow.can_send(10.0)


def test_visibility_change_forgets_in_flight() -> None:
    """A view coming back does not wait for acks of what the old one never drew."""
    flow = visible_flow()
    flow.sent(1, 0.0)
    flow.sent(2, 0.1)
    flow.set_visible(False)
    flow.set_visible(True)
    assert flow.can_send(0.2)


def test_busy_paces_without_acks_at_default_rate() -> None:
    """Busy with no ack ever seen: messages go every 1/30 s, not stopping at the window."""
    flow = visible_flow()
    flow.kernel_busy(True, 0.0)
    times = send_when_allowed(flow, 10, 0.0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([1 / 30] * 9)


def test_busy_paces_at_measured_ack_interval() -> None:
    """The pace while busy is the interval at which the page acknowledged before."""
    flow = visible_flow()
    now = 0.0
    for seq in range(1, 60):
        flow.sent(seq, now)
        now += 0.1
        flow.acked(seq, now)
    assert flow.ack_interval == pytest.approx(0.1, rel=0.01)
    flow.kernel_busy(True, now)
    flow.sent(60, now)
    assert not flow.can_send(now + 0.09)
    assert flow.can_send(now + 0.1)


def test_busy_to_idle_forgets_busy_sends() -> None:
    """After the cell, messages sent during it no longer fill the window."""
    flow = visible_flow()
    flow.kernel_busy(True, 0.0)
    for seq in range(1, 6):
        flow.sent(seq, seq * 0.05)
    flow.kernel_busy(False, 0.3)
    assert flow.in_flight == 0
    assert flow.can_send(0.3)


def test_late_acks_after_busy_do_not_change_pace() -> None:
    """The burst of acks read after a cell neither frees wrongly nor speeds the pace up."""
    flow = visible_flow()
    flow.kernel_busy(True, 0.0)
    for seq in range(1, 6):
        flow.sent(seq, seq * 0.1)
    flow.kernel_busy(False, 0.6)
    flow.sent(6, 0.6)
    flow.sent(7, 0.7)
    for seq in range(1, 6):
        flow.acked(seq, 0.7 + seq * 1e-4)
    assert flow.ack_interval == pytest.approx(1 / 30)
    assert flow.in_flight == 2
    assert not flow.can_send(0.8)


def test_stalled_messages_count_as_lost() -> None:
    """A message never acknowledged stops blocking after stall_timeout."""
    flow = visible_flow(stall_timeout=2.0)
    flow.sent(1, 0.0)
    flow.sent(2, 0.5)
    assert flow.ready_in(1.0) == pytest.approx(1.0)
    assert not flow.can_send(1.9)
    assert flow.can_send(2.0)


def test_seq_must_increase() -> None:
    """Sending a seq not above the last one is a caller bug, reported as InputError."""
    flow = visible_flow()
    flow.sent(5, 0.0)
    with pytest.raises(InputError):
        flow.sent(5, 0.1)
