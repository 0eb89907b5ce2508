"""What a user expects of ``StreamCall`` beside the big flows: wrong-direction errors that
leave the ring alone, creating a call without joining it, public ``query_calls`` types,
microphone and camera toggles, a camera that cannot open, and errors reported once."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from streamcall_widget import CallMember, CallState
from streamcall_widget.engine.loop import EngineFuture
from streamcall_widget.engine.results import CallSummary, CameraEnabled, MicrophoneEnabled
from streamcall_widget.errors import InvalidArguments, InvalidState, WrongDirection

from .engine_helpers import RESULT, Clients, Recorder, wait_for


def test_wrong_direction_both_ways_leaves_the_ring_ringing(clients: Clients) -> None:
    """The caller cannot reject or accept her own ring, the callee cannot cancel one he
    was rung for (WrongDirection saying what to use); the ring goes on, and a proper
    reject ends it with a plain-text reason."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    with pytest.raises(WrongDirection, match=r"you placed it.*Cancel your ring with end_call"):
        alice.sc.reject_call().result(RESULT)
    with pytest.raises(WrongDirection, match="cannot reject call"):
        alice.sc.reject_call(call_id=outgoing.cid).result(RESULT)
    with pytest.raises(WrongDirection, match="cannot accept call"):
        alice.sc.accept_call(outgoing.id).result(RESULT)
    with pytest.raises(WrongDirection, match="decline it with reject_call"):
        bob.sc.end_call().result(RESULT)
    assert outgoing.state is CallState.RINGING
    assert bob.sc.get_ringing_call().result(RESULT) is not None

    bob.sc.reject_call("busy").result(RESULT)
    alice.wait_event(CallState.LEFT, "alice", outgoing.id)
    alice.flush()
    reasons = [e.reason for e in alice.events.items if e.reason is not None]
    assert "busy" in reasons
    assert {type(r) for r in reasons} == {str}  # never a wire enum


def test_get_or_create_call_creates_without_joining(clients: Clients) -> None:
    """get_or_create_call creates the call (then gets it) and joins nobody; join_call then
    enters it, and query_calls shows it as a CallSummary with its session."""
    alice, bob = clients("alice", name="Alice"), clients("bob")
    made = alice.sc.get_or_create_call("room-1", members=["bob"], custom={"topic": "x"})
    created = made.result(RESULT)
    assert isinstance(created, CallSummary)
    assert (created.cid, created.created, created.participant_count) == ("default:room-1", True, 0)
    assert created.created_by == CallMember("alice", "Alice")
    assert [(m.user_id, m.role) for m in created.members] == [
        ("alice", "host"),
        ("bob", "call_member"),
    ]
    assert (created.custom, created.started_at, created.ended_at) == ({"topic": "x"}, None, None)
    again = bob.sc.get_or_create_call("room-1").result(RESULT)
    assert (again.created, again.cid, again.created_at) == (False, created.cid, created.created_at)
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE
    assert bob.sc.get_call_info("room-1").result(RESULT).count == 0

    joined = alice.sc.join_call("room-1").result(RESULT)
    assert joined.state is CallState.JOINED
    page = bob.sc.query_calls({"id": "room-1"}).result(RESULT)
    assert [type(c) for c in page.calls] == [CallSummary]
    found = page.calls[0]
    assert (found.cid, found.participant_count, found.custom) == (created.cid, 1, {"topic": "x"})
    assert found.started_at is not None
    assert found.started_at >= found.created_at
    assert "join-call" in found.own_capabilities
    joined.leave().result(RESULT)
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE
    again_joined = alice.sc.join_call("room-1").result(RESULT)
    status = alice.sc.get_call_status().result(RESULT)
    assert (status.state, status.count) == (CallState.JOINED, 1)
    assert again_joined is not joined  # joining again makes a new Call
    assert joined.lifecycle.phase is CallState.LEFT

    bad_calls: list[Callable[[], EngineFuture[CallSummary]]] = [
        lambda: alice.sc.get_or_create_call(""),
        lambda: alice.sc.get_or_create_call("r2", members="bob"),  # type: ignore[arg-type]
        lambda: alice.sc.get_or_create_call("r2", custom=["x"]),  # type: ignore[arg-type]
        lambda: alice.sc.get_or_create_call("r2", "nope"),
    ]
    for bad in bad_calls:
        with pytest.raises(InvalidArguments):
            bad().result(RESULT)
    with pytest.raises(InvalidState, match="not logged in"):
        clients("carol", login=False).sc.get_or_create_call("r2").result(RESULT)


def test_microphone_and_camera_toggles(clients: Clients) -> None:
    """is_microphone_enabled mirrors is_camera_enabled; the toggles flip each and tell
    the call's listeners, as set_*_enabled do."""
    alice = clients("alice")
    call = alice.sc.call(["bob"], ring=False).result(RESULT)
    assert alice.sc.is_microphone_enabled().result(RESULT) == MicrophoneEnabled(True)
    assert alice.sc.toggle_microphone().result(RESULT) == MicrophoneEnabled(False)
    assert alice.sc.is_microphone_enabled().result(RESULT) == MicrophoneEnabled(False)
    assert alice.sc.toggle_camera().result(RESULT) == CameraEnabled(False)
    assert alice.sc.toggle_microphone().result(RESULT) == MicrophoneEnabled(True)
    assert alice.sc.toggle_camera().result(RESULT) == CameraEnabled(True)
    alice.flush()
    toggles = [t for t in alice.triples(call.id) if "abled" in t[0]]
    assert toggles == [
        ("microphone_disabled", "alice", None),
        ("camera_disabled", "alice", None),
        ("microphone_enabled", "alice", None),
        ("camera_enabled", "alice", None),
    ]


def test_a_camera_that_cannot_open_is_off_and_reported_once(
    clients: Clients, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A camera that fails to open makes is_camera_enabled false (the microphone still
    works); the failure reaches the error listeners once, with no traceback logged."""
    caplog.set_level(logging.DEBUG, logger="streamcall_widget")
    carol = clients("carol", camera="no-such-camera")
    assert carol.sc.is_camera_enabled().result(RESULT) == CameraEnabled(False)
    assert carol.sc.is_microphone_enabled().result(RESULT) == MicrophoneEnabled(True)
    carol.flush()
    reports = carol.errors_in("opening a device")
    assert len(reports) == 1
    assert "no-such-camera" in str(reports[0].error)
    loud = [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info]
    assert loud == []
    assert "Traceback" not in capsys.readouterr().err


def test_a_raising_frame_tap_is_reported_once_not_per_frame(
    clients: Clients, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``watch_media`` tap raising on every frame is one ``error`` event for the burst,
    with no traceback logged per frame."""
    caplog.set_level(logging.DEBUG, logger="streamcall_widget")
    alice = clients("alice")
    frames: Recorder[str] = Recorder()

    def broken(_key: str, kind: str, _frame: object) -> None:
        frames(kind)
        raise ValueError("tap bug")

    handle = alice.sc.watch_media(broken)
    wait_for(lambda: len(frames.items) >= 20, "20 local frames at the tap")
    handle.remove()
    alice.flush()
    assert [str(r.error) for r in alice.errors_in("frame tap")] == ["tap bug"]
    assert [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info] == []
    assert "Traceback" not in capsys.readouterr().err
