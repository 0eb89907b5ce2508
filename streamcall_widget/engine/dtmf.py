"""DTMF digits: which characters a tones string may hold, and what a heard digit is.

``Call.send_dtmf("12#")`` follows WebRTC's ``RTCDTMFSender.insertDTMF``: digits ``0``-``9``,
``*``, ``#`` and ``A``-``D`` (lower-case ``a``-``d`` are taken as upper case, as
``insertDTMF`` does), and ``,`` for a 2 second pause. Each digit is played for
``duration_ms`` with ``gap_ms`` of silence after it. Pure code (the call core imports it);
the tones themselves are made in :mod:`~streamcall_widget.engine.tones`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamcall_widget.errors import InvalidArguments

__all__ = [
    "DIGITS",
    "DURATION_MS",
    "FREQUENCIES",
    "GAP_MS",
    "MAX_TONES",
    "PAUSE",
    "PAUSE_MS",
    "DtmfEvent",
    "parse_tones",
]

DIGITS = "123A456B789C*0#D"
"""The sixteen DTMF digits, row by row of the keypad."""
PAUSE = ","
"""A pause between digits (2 s), not a tone."""
PAUSE_MS = 2000
MAX_TONES = 64
"""Characters one ``send_dtmf`` call may play (more would hold the line for minutes)."""
DURATION_MS = (40, 6000)
"""The allowed range of one digit's duration (ms), as ``insertDTMF``."""
GAP_MS = (30, 6000)
"""The allowed range of the silence after each digit (ms), as ``insertDTMF``."""

_ROWS = (697.0, 770.0, 852.0, 941.0)
_COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
FREQUENCIES: dict[str, tuple[float, float]] = {
    digit: (_ROWS[i // 4], _COLUMNS[i % 4]) for i, digit in enumerate(DIGITS)
}
"""Each digit's (low, high) tone pair in Hz (ITU-T Q.23)."""


@dataclass(frozen=True)
class DtmfEvent:
    """One DTMF digit another participant plays now (the ``dtmf`` listener's payload)."""

    call_id: str
    """The call's id (the part of the cid after ``type:``)."""
    user_id: str
    """Who plays it."""
    session_id: str
    """Their session in the call."""
    digit: str
    """``0``-``9``, ``*``, ``#`` or ``A``-``D``."""
    duration_ms: int
    """How long its tone lasts in their audio, starting about now."""


def parse_tones(tones: object, duration_ms: object, gap_ms: object) -> str:
    """``tones`` upper-cased, once every argument is checked (InvalidArguments naming
    what is allowed otherwise)."""
    allowed = f"the digits 0-9, *, #, A-D (or a-d) and {PAUSE!r} for a 2 s pause"
    if not isinstance(tones, str) or not tones:
        raise InvalidArguments(f"tones must be a non-empty string of {allowed}, not {tones!r}")
    if len(tones) > MAX_TONES:
        raise InvalidArguments(
            f"tones has {len(tones)} characters; at most {MAX_TONES} may be sent at once"
        )
    wrong = sorted({c for c in tones.upper() if c not in DIGITS and c != PAUSE})
    if wrong:
        raise InvalidArguments(f"tones {tones!r} holds {''.join(wrong)!r}; allowed: {allowed}")
    for name, value, (low, high) in (
        ("duration_ms", duration_ms, DURATION_MS),
        ("gap_ms", gap_ms, GAP_MS),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidArguments(f"{name} must be an int from {low} to {high}, not {value!r}")
    return tones.upper()
