"""The ring of one call as a state machine with no I/O and no clock of its own.

The coordinator owns one :class:`Ring` per ringing call. Everything goes in through methods
that take the current time (seconds, any monotonic origin) and returns the outcomes to
announce; the owner calls :meth:`Ring.tick` at :meth:`Ring.next_deadline`. Tests drive it
with a fake clock.

Rules: the first callee to accept wins and the others stop ringing; a callee who is in
another call misses it as ``busy`` at once (never rung); a callee who cannot be reached (no
live connection and no push registration) misses it as ``offline`` at once (never rung, not
even if they connect while the ring lasts, so the caller learns it now instead of after a
timeout); a reachable callee rings, on their connections or through their push provider,
and is rung on any connection they open while ringing; a callee who does not answer within
``incoming_call_timeout_ms`` misses the call; if nobody accepted within
``auto_cancel_timeout_ms`` the caller's side drops the ring with ``timeout``; the caller
rejecting is a ``cancel``. When every callee has answered without accepting, the ring is
over and :class:`RingOver` says why.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from streamcall_widget.errors import InvalidState, NotAllowed

from .call_types import RingSettings
from .models import RejectReason

__all__ = ["Accepted", "CalleeStatus", "Missed", "Rejected", "Ring", "RingOutcome", "RingOver"]

logger = logging.getLogger(__name__)


class CalleeStatus(enum.StrEnum):
    """Where one callee stands in the ring."""

    RINGING = "ringing"
    """Rung: on their live connections, or through their push provider while they have
    none (a connection they open meanwhile is rung too)."""
    OFFLINE = "offline"
    """Unreachable when the ring began: :meth:`Ring.start` marks them missed."""
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MISSED = "missed"
    STOPPED = "stopped"
    """Another callee accepted first."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """``user_id`` accepted: the ring is over and succeeded."""

    user_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """``user_id`` rejected (the caller: ``cancel`` or auto-cancel ``timeout``)."""

    user_id: str
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class Missed:
    """``user_id`` did not answer (``timeout``), was in another call (``busy``) or could
    not be reached (``offline``: no live connection and no push registration)."""

    user_id: str
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class RingOver:
    """The ring ended without anyone accepting; ``reason`` is the last answer's."""

    reason: RejectReason


RingOutcome = Accepted | Rejected | Missed | RingOver


class Ring:
    """One caller ringing a set of callees."""

    def __init__(
        self,
        caller: str,
        callees: Iterable[str],
        settings: RingSettings,
        now: float,
        *,
        reachable: Iterable[str],
        busy: Iterable[str] = (),
    ) -> None:
        """Ring ``callees``; ``reachable`` are those who can be rung now (a live
        connection, or a push registration), ``busy`` those in another call."""
        self.caller = caller
        self.started_at = now
        self.settings = settings
        reachable_set, busy_set = set(reachable), set(busy)
        self.status: dict[str, CalleeStatus] = {
            user: CalleeStatus.RINGING if user in reachable_set else CalleeStatus.OFFLINE
            for user in callees
            if user != caller
        }
        if not self.status:
            raise InvalidState("nobody to ring: the call has no member other than the caller")
        self._unreachable = {
            user: RejectReason.BUSY if user in busy_set else RejectReason.OFFLINE
            for user, status in self.status.items()
            if user in busy_set or status is CalleeStatus.OFFLINE
        }
        self._over = False
        self._auto_cancel_at = now + settings.auto_cancel_timeout_ms / 1000
        self._incoming_at = now + settings.incoming_call_timeout_ms / 1000

    @property
    def over(self) -> bool:
        """True once someone accepted or nobody can anymore."""
        return self._over

    @property
    def deadline(self) -> float:
        """When the ring stops for a callee who never answers: the earlier timeout."""
        return min(self._incoming_at, self._auto_cancel_at)

    def ringing(self) -> list[str]:
        """Callees whose devices ring now."""
        return [u for u, s in self.status.items() if s is CalleeStatus.RINGING]

    def reach(self, user_id: str) -> bool:
        """A callee opened a connection: True if it should ring too (they are still
        ringing, e.g. rung through push while offline; an unreachable callee was already
        missed and is not rung late)."""
        return not self._over and self.status.get(user_id) is CalleeStatus.RINGING

    def start(self) -> list[RingOutcome]:
        """Outcomes known at once: busy and offline callees miss the call now, in callee
        order, and the ring is over if nobody is left ringing."""
        return [
            o
            for user, reason in self._unreachable.items()
            for o in self._resolve(user, CalleeStatus.MISSED, reason)
        ]

    def accept(self, user_id: str, now: float) -> list[RingOutcome]:
        """``user_id`` accepts; everyone else stops ringing."""
        self._check_callee(user_id, "accept")
        self._set(user_id, CalleeStatus.ACCEPTED)
        for user, status in self.status.items():
            if status in (CalleeStatus.RINGING, CalleeStatus.OFFLINE):
                self._set(user, CalleeStatus.STOPPED)
        self._over = True
        return [Accepted(user_id)]

    def reject(self, user_id: str, reason: RejectReason, now: float) -> list[RingOutcome]:
        """``user_id`` rejects; the caller rejecting cancels the ring for everyone."""
        if self._over:
            raise InvalidState(f"the ring is over; {user_id} cannot reject it anymore")
        if user_id == self.caller:
            return self._cancel(RejectReason.CANCEL)
        self._check_callee(user_id, "reject")
        return self._resolve(user_id, CalleeStatus.REJECTED, reason)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has work, or None once the ring is over."""
        if self._over:
            return None
        deadlines = [self._auto_cancel_at]
        if CalleeStatus.RINGING in self.status.values():
            deadlines.append(self._incoming_at)
        return min(deadlines)

    def tick(self, now: float) -> list[RingOutcome]:
        """Fire every timer due at ``now``: callee timeouts first, then the caller's."""
        outcomes: list[RingOutcome] = []
        if now >= self._incoming_at:
            for user in self.ringing():
                if not self._over:
                    outcomes += self._resolve(user, CalleeStatus.MISSED, RejectReason.TIMEOUT)
        if not self._over and now >= self._auto_cancel_at:
            outcomes += self._cancel(RejectReason.TIMEOUT)
        return outcomes

    def _cancel(self, reason: RejectReason) -> list[RingOutcome]:
        outcomes: list[RingOutcome] = [Rejected(self.caller, reason)]
        for user, status in self.status.items():
            if status in (CalleeStatus.RINGING, CalleeStatus.OFFLINE):
                self._set(user, CalleeStatus.MISSED)
                outcomes.append(Missed(user, reason))
        self._over = True
        outcomes.append(RingOver(reason))
        return outcomes

    def _resolve(
        self, user_id: str, status: CalleeStatus, reason: RejectReason
    ) -> list[RingOutcome]:
        self._set(user_id, status)
        outcome: RingOutcome = (
            Rejected(user_id, reason)
            if status is CalleeStatus.REJECTED
            else Missed(user_id, reason)
        )
        outcomes: list[RingOutcome] = [outcome]
        waiting = (CalleeStatus.RINGING, CalleeStatus.OFFLINE)
        if not any(s in waiting for s in self.status.values()):
            self._over = True
            outcomes.append(RingOver(reason))
        return outcomes

    def _check_callee(self, user_id: str, action: str) -> None:
        if self._over:
            raise InvalidState(f"the ring is over; {user_id} cannot {action} it anymore")
        status = self.status.get(user_id)
        if status is None:
            raise NotAllowed(f"{user_id} is not rung by this call and cannot {action} it")
        if status not in (CalleeStatus.RINGING, CalleeStatus.OFFLINE):
            raise InvalidState(f"{user_id} cannot {action}: their ring is already {status}")

    def _set(self, user_id: str, status: CalleeStatus) -> None:
        old = self.status[user_id]
        if old is not status:
            logger.debug("ring %s: %s %s -> %s", self.caller, user_id, old, status)
            self.status[user_id] = status
