"""DTMF: the tone generator and overlay (pure), ``call.dtmf`` on the wire, and real peers
where bob hears both frequencies of each digit and his ``dtmf`` listener gets the digits."""

from __future__ import annotations

import fractions
import threading
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget import DtmfEvent
from streamcall_widget.engine.call_core import CallCore, DtmfHeard
from streamcall_widget.engine.dtmf import DIGITS, FREQUENCIES, MAX_TONES, parse_tones
from streamcall_widget.engine.tones import AMPLITUDE, ToneOverlay, dtmf_samples
from streamcall_widget.errors import DoesNotExist, InputError, InvalidArguments, InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol.lifecycle import Direction

from .conftest import Login
from .engine_helpers import RESULT, SAMPLE_RATE, Clients, Recorder, ring_and_accept, wait_for
from .flows import alice_and_bob_joined, create, events_of, types
from .test_call_core import NOW, _joined_reply

RATE = 48_000
ALL_TONES = sorted({f for pair in FREQUENCIES.values() for f in pair})


def strongest(samples: npt.NDArray[Any], rate: int) -> tuple[float, float] | None:
    """The two DTMF frequencies leading ``samples`` (mono) by FFT, each at least five
    times stronger than any other DTMF frequency; None when no pair leads so clearly."""
    mono = np.asarray(samples, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    bins = np.fft.rfftfreq(mono.size, 1 / rate)
    energy = {f: float(spectrum[np.abs(bins - f) <= 10].max()) for f in ALL_TONES}
    ranked = sorted(energy, key=energy.__getitem__, reverse=True)
    if energy[ranked[1]] < 5 * energy[ranked[2]]:
        return None
    low, high = sorted(ranked[:2])
    return low, high


# -- pure -----------------------------------------------------------------------------


@pytest.mark.parametrize("digit", list(DIGITS))
def test_each_digit_is_its_two_standard_frequencies(digit: str) -> None:
    """100 ms of a digit carry exactly its row and column frequency, without clipping."""
    samples = dtmf_samples(digit, RATE // 10, RATE)
    assert strongest(samples, RATE) == FREQUENCIES[digit]
    assert np.abs(samples).max() <= 2 * AMPLITUDE * 32767 + 1


def test_the_keypad_frequencies_are_q23() -> None:
    """1 is 697+1209 Hz, # is 941+1477 Hz, D is 941+1633 Hz."""
    assert FREQUENCIES["1"] == (697.0, 1209.0)
    assert FREQUENCIES["#"] == (941.0, 1477.0)
    assert FREQUENCIES["D"] == (941.0, 1633.0)


def audio_frame(pts: int, value: int = 1000, samples: int = 960) -> av.AudioFrame:
    """A 20 ms s16 mono frame of a constant ``value``."""
    frame = av.AudioFrame.from_ndarray(
        np.full((1, samples), value, dtype=np.int16), format="s16", layout="mono"
    )
    frame.sample_rate = RATE
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def test_overlay_replaces_samples_for_the_duration_then_says_done() -> None:
    """A 50 ms digit fills two 20 ms frames and half the third (the rest stays the
    microphone's); done() is called once, with the third; timing fields are kept."""
    calls: list[int] = []
    overlay = ToneOverlay("5", 50, lambda: calls.append(1))
    frames = [overlay(audio_frame(pts=i * 960)) for i in range(4)]
    arrays = [f.to_ndarray()[0] for f in frames]
    tone = dtmf_samples("5", 2400, RATE)
    assert np.array_equal(np.concatenate(arrays)[:2400], tone)
    assert (arrays[2][480:] == 1000).all()
    assert (arrays[3] == 1000).all()
    assert calls == [1]
    assert overlay.finished
    assert [f.pts for f in frames] == [0, 960, 1920, 2880]
    assert all(f.sample_rate == RATE and f.time_base == fractions.Fraction(1, RATE) for f in frames)


def test_tones_are_checked_and_upper_cased() -> None:
    """Digits, a-d and ',' pass (upper-cased); anything else names the allowed set."""
    assert parse_tones("0123456789*#abcdABCD,", 100, 70) == "0123456789*#ABCDABCD,"
    for bad in ("", "12x", "1 2", "e", 5, None):
        with pytest.raises(InvalidArguments, match=r"0-9, \*, #, A-D"):
            parse_tones(bad, 100, 70)
    with pytest.raises(InvalidArguments, match=f"at most {MAX_TONES}"):
        parse_tones("1" * (MAX_TONES + 1), 100, 70)
    for duration, gap in ((39, 70), (6001, 70), (100, 29), (True, 70), (100, 7.5)):
        with pytest.raises(InvalidArguments, match="must be an int from"):
            parse_tones("1", duration, gap)


def test_core_hands_another_sessions_digit_to_the_listeners_only() -> None:
    """A digit of alice's session becomes DtmfHeard at bob; his own echo and a digit
    arriving outside a session become nothing."""
    core = CallCore("default:c1", "bob", Direction.INCOMING)

    def digit(user_id: str) -> ev.DtmfReceived:
        return ev.DtmfReceived(
            cid="default:c1",
            created_at=NOW,
            session_id=f"s-{user_id}",
            user_id=user_id,
            digit="#",
            duration_ms=90,
        )

    assert core.receive(digit("alice")) == []
    core.start_joining()
    core.joined(_joined_reply("bob", "alice", "bob"), 0.0)
    assert core.receive(digit("alice")) == [DtmfHeard(DtmfEvent("c1", "alice", "s-alice", "#", 90))]
    assert core.receive(digit("bob")) == []


# -- the coordinator's rules ------------------------------------------------------------


async def test_dtmf_reaches_the_other_members_only(login: Login) -> None:
    """call.dtmf goes to every other member (not back to the sender, never to a
    stranger); a bad digit or duration is refused; a member not joined may not send."""
    alice, bob, _ = await alice_and_bob_joined(login, "c1")
    dave = await login("dave")
    cid = "default:c1"
    await events_of(alice, bob, dave)
    await alice.request("call.dtmf", cid=cid, digit="7", duration_ms=120)
    a, b, d = await events_of(alice, bob, dave)
    assert (a, d) == ([], [])
    assert types(b) == ["call.dtmf"]
    assert (b[0]["user_id"], b[0]["digit"], b[0]["duration_ms"]) == ("alice", "7", 120)
    for bad in ({"digit": "x"}, {"digit": "12"}, {"digit": "a"}, {"digit": "1", "duration_ms": 5}):
        with pytest.raises(InputError):
            await alice.request("call.dtmf", cid=cid, **bad)
    with pytest.raises(DoesNotExist):
        await dave.request("call.dtmf", cid=cid, digit="1")
    await create(alice, "c2", ["bob"])
    with pytest.raises(InvalidState, match="join default:c2"):
        await alice.request("call.dtmf", cid="default:c2", digit="1")


# -- real peers ------------------------------------------------------------------------


class AudioLog:
    """Every remote audio frame bob's hook gets, as mono samples, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[npt.NDArray[np.float64]] = []

    def __call__(self, _who: Any, samples: npt.NDArray[Any]) -> None:
        stereo = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
        with self._lock:
            self._frames.append(stereo.mean(axis=1))

    def digits_heard(self) -> list[str]:
        """The digits whose two frequencies lead 100 ms windows, each run counted once."""
        with self._lock:
            mono = np.concatenate(self._frames) if self._frames else np.zeros(0)
        window = SAMPLE_RATE // 10
        by_pair = {pair: digit for digit, pair in FREQUENCIES.items()}
        heard: list[str] = []
        for start in range(0, mono.size - window, window // 4):
            pair = strongest(mono[start : start + window], SAMPLE_RATE)
            digit = by_pair.get(pair) if pair is not None else None
            if digit is not None and (not heard or heard[-1] != digit):
                heard.append(digit)
        return heard


def test_bob_hears_and_is_told_each_digit_in_order(clients: Clients) -> None:
    """alice sends "5#": bob's audio holds 770+1336 Hz then 941+1477 Hz, his dtmf
    listener gets 5 then # with their duration; bad tones, a muted microphone and a held
    call are refused and the call goes on."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    heard: Recorder[DtmfEvent] = Recorder()
    bob.sc.add_listener("dtmf", heard)
    log = AudioLog()
    answered.on_remote_audio(log)

    with pytest.raises(InvalidArguments, match="allowed"):
        outgoing.send_dtmf("5x").result(RESULT)
    outgoing.send_dtmf("5#", duration_ms=300, gap_ms=100).result(RESULT)
    bob.flush()
    wait_for(lambda: len(log.digits_heard()) >= 2, "two digits in bob's audio")

    alice_session = next(p.session_id for p in answered.participants if p.user_id == "alice")
    assert heard.items == [
        DtmfEvent(outgoing.id, "alice", alice_session, "5", 300),
        DtmfEvent(outgoing.id, "alice", alice_session, "#", 300),
    ]
    assert log.digits_heard() == ["5", "#"]
    with pytest.raises(InvalidArguments):
        outgoing.send_dtmf("").result(RESULT)
    alice.sc.set_microphone_enabled(False).result(RESULT)
    with pytest.raises(InvalidState, match="turn the microphone on"):
        outgoing.send_dtmf("1").result(RESULT)
    alice.sc.set_microphone_enabled(True).result(RESULT)
    outgoing.hold().result(RESULT)
    with pytest.raises(InvalidState, match="on hold"):
        outgoing.send_dtmf("1").result(RESULT)
    assert outgoing.state.value == "joined"
    bob.flush()
    assert len(heard.items) == 2
