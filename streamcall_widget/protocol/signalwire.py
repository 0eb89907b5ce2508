"""SignalWire's call state words (seed 004) as a view of our call phase, sans-I/O.

SignalWire's Relay ``Call`` has twelve ``state`` words and a ``prevState``. Our call has
seven phases (:class:`~streamcall_widget.protocol.lifecycle.CallState`) plus what the engine
knows beside them (the direction, an accept under way, hold, the call's media released).
:func:`signalwire_state` is the one place that turns those into a SignalWire word; the
engine keeps the previous word and hands both out as a :class:`SignalWireView`
(``Call.signalwire``).

======================  ==========================================================
SignalWire word         our call at that moment
======================  ==========================================================
``new``                 ``idle``: made in the client, nothing sent (a ring we get,
                        a call joined by id, before ``joining``)
``requesting``          ``idle``, outgoing: ``call()`` is creating the call
``trying``              ``ringing``, outgoing: we ring the callees
``ringing``             ``ringing``, incoming: we are rung
``answering``           incoming, accepting: ``accept_call()`` sent, then ``joining``
``early``               ``joining``, outgoing or joined by id: the media session is
                        being set up; no media plays before it is ``active``
``active``              ``joined``
``held``                ``joined`` and on hold
``recovering``          ``reconnecting``: the coordinator link dropped, media goes on
``hangup``              ``leaving``, or ``left`` while the call's media is closing
``destroy``             ``left``, the call's peers, tracks and hooks closed
``purge``               ``left`` and forgotten: its watchers are dropped after this
======================  ==========================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .lifecycle import CallState, Direction

__all__ = ["SignalWireState", "SignalWireView", "signalwire_state"]


class SignalWireState(enum.StrEnum):
    """SignalWire's ``Call.state`` words (seed 004), in their order in a call's life."""

    NEW = "new"
    REQUESTING = "requesting"
    TRYING = "trying"
    RECOVERING = "recovering"
    RINGING = "ringing"
    ANSWERING = "answering"
    EARLY = "early"
    ACTIVE = "active"
    HELD = "held"
    HANGUP = "hangup"
    DESTROY = "destroy"
    PURGE = "purge"


@dataclass(frozen=True)
class SignalWireView:
    """A call's state in SignalWire's words: ``state`` now and ``prev_state`` before it
    (None until the word first changes)."""

    state: SignalWireState
    """The word for the call now."""
    prev_state: SignalWireState | None = None
    """The word before the last change (seed 004's ``prevState``)."""


def signalwire_state(  # noqa: PLR0911 - one return per word
    phase: CallState,
    direction: Direction,
    *,
    accepting: bool,
    on_hold: bool,
    destroyed: bool,
    purged: bool,
) -> SignalWireState:
    """The SignalWire word for a call in ``phase``, come to ``direction``.

    ``accepting``: the local user is answering the ring (``accept_call()`` sent);
    ``on_hold``: the call is held; ``destroyed``: the call's media is closed after it was
    left; ``purged``: the call is forgotten for good. See the module's table.
    """
    incoming = direction is Direction.INCOMING
    match phase:
        case CallState.IDLE:
            outgoing = direction is Direction.OUTGOING
            return SignalWireState.REQUESTING if outgoing else SignalWireState.NEW
        case CallState.RINGING if incoming:
            return SignalWireState.ANSWERING if accepting else SignalWireState.RINGING
        case CallState.RINGING:
            return SignalWireState.TRYING
        case CallState.JOINING:
            return SignalWireState.ANSWERING if incoming else SignalWireState.EARLY
        case CallState.JOINED:
            return SignalWireState.HELD if on_hold else SignalWireState.ACTIVE
        case CallState.RECONNECTING:
            return SignalWireState.RECOVERING
        case CallState.LEFT if purged:
            return SignalWireState.PURGE
        case CallState.LEFT if destroyed:
            return SignalWireState.DESTROY
        case CallState.LEAVING | CallState.LEFT:
            return SignalWireState.HANGUP
    raise ValueError(f"{phase.value!r} is an event word, not a call phase")
