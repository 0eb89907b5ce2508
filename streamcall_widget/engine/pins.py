"""Pins of one call: a base class of :class:`~streamcall_widget.engine.call.Call`.

A pinned participant is shown first and big (seed 000 ``CallState.pins``, seed 003
``setParticipantIsPinned``). Two kinds:

- **for everyone** (``call.pin(session_id)``): the coordinator keeps them (``call.pin`` /
  ``call.unpin``, needing ``pin-for-everyone``) in its order, the newest first, tells every
  member, and drops the pins of a session that leaves; :attr:`CallPins.pins` is that list;
- **local** (``call.pin(session_id, for_everyone=False)``): this client only, kept here
  (newest first), nobody else hears of it; as Stream's ``setParticipantIsPinned``.

``Participant.is_pinned`` is true for either kind. Every change emits a ``callEvent``:
``pinned`` / ``unpinned`` with the pinned participant's ``user_id`` and ``reason``
``everyone`` or ``local`` (``left`` when a pinned session leaves), and ``pins`` is
watchable. Pins survive mutes and holds (they are about the session, not its tracks).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamcall_widget.errors import DoesNotExist, InvalidArguments, InvalidState
from streamcall_widget.protocol.events import (
    AnyEvent,
    CallPinned,
    CallUnpinned,
    ParticipantLeft,
)
from streamcall_widget.protocol.lifecycle import CallEvent, CallState
from streamcall_widget.protocol.models import CallResponse
from streamcall_widget.protocol.requests import PinParticipant, UnpinParticipant

from .call_parts import CallParts
from .participants import Participant
from .results import SuccessResponse
from .threadsafe import threadsafe

__all__ = ["CallPins", "Pin"]


@dataclass(frozen=True)
class Pin:
    """One pinned session (seed 000's ``Pin``: ``userId``, ``sessionId``)."""

    user_id: str
    session_id: str


class CallPins(CallParts):
    """Pin and unpin methods and the pin lists; the call provides what is declared here."""

    _global_pins: tuple[Pin, ...] = ()
    _local_pins: tuple[Pin, ...] = ()
    _anonymous = 0

    @property
    def pins(self) -> tuple[Pin, ...]:
        """The pins for everyone, as the coordinator keeps them: the newest first."""
        return self._global_pins

    @property
    def local_pins(self) -> tuple[Pin, ...]:
        """The pins of this client only, the newest first."""
        return self._local_pins

    @property
    def anonymous_participant_count(self) -> int:
        """Anonymous viewers in the session (seed 000 ``ParticipantCount.anonymous``), as
        the coordinator last said: always 0, as every participant here is a user who
        logged in."""
        return self._anonymous

    @threadsafe
    async def pin(self, session_id: str, for_everyone: bool = True) -> SuccessResponse:
        """Pin the participant of ``session_id``: for everyone (needs ``pin-for-everyone``:
        ``NotAllowed`` otherwise) or, with ``for_everyone=False``, in this client only.
        Pinning a pinned session again makes it the newest pin."""
        who = self._pin_target(session_id, for_everyone)
        if for_everyone:
            request = PinParticipant(
                id="", cid=self.cid, session_id=session_id, user_id=who.user_id
            )
            await self._host.request(request, type(None))
            return SuccessResponse()
        pin = Pin(who.user_id, session_id)
        self._local_pins = (pin, *(p for p in self._local_pins if p != pin))
        self._pins_changed([self._pin_note(CallState.PINNED, who.user_id, "local")])
        return SuccessResponse()

    @threadsafe
    async def unpin(self, session_id: str, for_everyone: bool = True) -> SuccessResponse:
        """Remove the pin of ``session_id`` for everyone (needs ``pin-for-everyone``) or,
        with ``for_everyone=False``, this client's own; ``DoesNotExist`` when it has no
        such pin."""
        who = self._pin_target(session_id, for_everyone)
        if for_everyone:
            request = UnpinParticipant(
                id="", cid=self.cid, session_id=session_id, user_id=who.user_id
            )
            await self._host.request(request, type(None))
            return SuccessResponse()
        if all(p.session_id != session_id for p in self._local_pins):
            pinned = ", ".join(p.session_id for p in self._local_pins) or "none"
            raise DoesNotExist(f"session {session_id!r} is not pinned here; local pins: {pinned}")
        self._local_pins = tuple(p for p in self._local_pins if p.session_id != session_id)
        self._pins_changed([self._pin_note(CallState.UNPINNED, who.user_id, "local")])
        return SuccessResponse()

    def _pin_target(self, session_id: str, for_everyone: bool) -> Participant:
        """The participant a pin names (InvalidArguments, DoesNotExist, InvalidState)."""
        if not isinstance(session_id, str):
            raise InvalidArguments(f"session_id must be a str, not {type(session_id).__name__}")
        if not isinstance(for_everyone, bool):
            raise InvalidArguments(f"for_everyone must be True or False, not {for_everyone!r}")
        if self.state is not CallState.JOINED:
            raise InvalidState(f"call {self.cid} is {self.state.value}; join it to pin")
        who = self._core.participants.get(session_id)
        if who is None:
            present = ", ".join(
                f"{p.session_id} ({p.user_id})" for p in self._core.participants.all()
            )
            raise DoesNotExist(f"no session {session_id!r} in {self.cid}; participants: {present}")
        return who

    def _take_pins(self, response: CallResponse) -> None:
        """A join or resume described the call: its pins for everyone, and the local pins
        of sessions still there."""
        self._global_pins = tuple(Pin(p.user_id, p.session_id) for p in response.call.pins)
        session = response.call.session
        self._anonymous = session.participant_count.anonymous if session is not None else 0
        here = self._core.participants
        self._local_pins = tuple(p for p in self._local_pins if p.session_id in here)
        self._pins_changed([])

    def _pin_event(self, event: AnyEvent) -> bool:
        """Take a pin event (True: nothing else to do with it); a pinned session leaving
        loses its pins here too (the coordinator drops them without an event)."""
        match event:
            case CallPinned():
                pin = Pin(event.user_id, event.session_id)
                kept = (p for p in self._global_pins if p.session_id != pin.session_id)
                self._global_pins = (pin, *kept)
                note = self._pin_note(CallState.PINNED, event.user_id, "everyone")
                self._pins_changed([note])
                return True
            case CallUnpinned():
                self._global_pins = tuple(
                    p for p in self._global_pins if p.session_id != event.session_id
                )
                note = self._pin_note(CallState.UNPINNED, event.user_id, "everyone")
                self._pins_changed([note])
                return True
            case ParticipantLeft():
                gone = event.participant.session_id
                every = (*self._local_pins, *self._global_pins)
                pinned = [p for p in every if p.session_id == gone]
                if pinned:
                    self._global_pins = tuple(p for p in self._global_pins if p.session_id != gone)
                    self._local_pins = tuple(p for p in self._local_pins if p.session_id != gone)
                    note = self._pin_note(CallState.UNPINNED, pinned[0].user_id, "left")
                    self._pins_changed([note])
        return False

    def _pin_note(self, state: CallState, user_id: str, reason: str) -> CallEvent:
        return self.lifecycle.note(state, user_id=user_id, reason=reason)

    def _pins_changed(self, events: list[CallEvent]) -> None:
        """Mark each participant pinned or not, then tell the listeners and watchers."""
        pinned = {p.session_id for p in (*self._local_pins, *self._global_pins)}
        for participant in self._core.participants.all():
            is_pinned = participant.session_id in pinned
            if participant.is_pinned != is_pinned:
                self._core.participants.update(participant.session_id, is_pinned=is_pinned)
        self._emit(events)
