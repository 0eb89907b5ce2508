"""One call as this client sees it, sans-I/O: coordinator events and commands in, actions out.

:class:`CallCore` owns everything one call knows: its phase (through
:class:`~streamcall_widget.protocol.lifecycle.CallLifecycle`), who is in the session, the
members, the custom data, this client's session id and capabilities. It never awaits,
sends, opens a peer or touches a thread: each input returns the :data:`Action` values the
engine must carry out, in order:

- :class:`Emit` — hand a ``callEvent`` to the listeners;
- :class:`PeerJoined` / :class:`PeerLeft` — another session is in the call (connect to it,
  now or once we are joined) or left it (with why: one that only dropped its socket may
  come back, and its media may linger);
- :class:`ForwardSignal` — a negotiation message for the transport;
- :class:`JoinSession` — join the media session now (the outgoing ring was accepted);
- :class:`Finish` — the call is over for this client: release its media, forget it;
- :class:`HoldChanged` — another session went on hold or came back: gate the media to it;
- :class:`DtmfHeard` — another session plays a DTMF digit: tell the ``dtmf`` listeners.

:class:`~streamcall_widget.engine.call.Call` is the I/O around it, as websockets'
``Connection`` is around its ``Protocol``: it feeds events and replies in and performs the
actions. Tests drive the core with no event loop (``tests/test_call_core.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol.events import (
    AnyEvent,
    CallAccepted,
    DtmfReceived,
    MemberAdded,
    MemberRemoved,
    ParticipantHold,
    ParticipantJoined,
    ParticipantLeft,
    PermissionsUpdated,
    SignalReceived,
    TrackPublished,
    TrackUnpublished,
)
from streamcall_widget.protocol.lifecycle import (
    CallEvent,
    CallLifecycle,
    CallMember,
    CallState,
    Direction,
)
from streamcall_widget.protocol.models import (
    CallData,
    CallResponse,
    Signal,
    TrackType,
    parse_iso,
)

from .dtmf import DtmfEvent
from .participants import Participant, ParticipantTable

__all__ = [
    "Action",
    "CallCore",
    "DtmfHeard",
    "Emit",
    "Finish",
    "ForwardSignal",
    "HoldChanged",
    "JoinSession",
    "PeerJoined",
    "PeerLeft",
]


@dataclass(frozen=True)
class Emit:
    """Hand ``event`` to the ``callEvent`` listeners."""

    event: CallEvent


@dataclass(frozen=True)
class PeerJoined:
    """Another session is in the call: media with it starts now if ``connect`` (we are
    joined), else when we are (:meth:`CallCore.joined` says so again)."""

    participant: Participant
    connect: bool = True


@dataclass(frozen=True)
class PeerLeft:
    """Another session left the call (``reason``: ``left``, ``disconnected``...);
    ``participant`` is its last snapshot, if it was known."""

    session_id: str
    participant: Participant | None
    reason: str


@dataclass(frozen=True)
class ForwardSignal:
    """A negotiation message from ``from_session_id`` to our session ``to_session_id``."""

    to_session_id: str
    from_session_id: str
    signal: Signal


@dataclass(frozen=True)
class JoinSession:
    """Join the call's media session now: the callee accepted our ring."""


@dataclass(frozen=True)
class Finish:
    """The call is over for this client (``left`` was emitted): release it."""

    reason: str


@dataclass(frozen=True)
class HoldChanged:
    """Another session went on hold (``on_hold``) or came back: send it nothing, or again."""

    session_id: str
    on_hold: bool


@dataclass(frozen=True)
class DtmfHeard:
    """Another session plays a DTMF digit now."""

    event: DtmfEvent


Action = (
    Emit | PeerJoined | PeerLeft | ForwardSignal | JoinSession | Finish | HoldChanged | DtmfHeard
)


class CallCore:
    """The state of one call for the local user, and the actions each change asks for."""

    def __init__(
        self,
        cid: str,
        self_user_id: str,
        direction: Direction,
        *,
        caller: CallMember | None = None,
        members: tuple[CallMember, ...] = (),
        custom: dict[str, Any] | None = None,
    ) -> None:
        self.cid = cid
        self.lifecycle = CallLifecycle(
            cid, self_user_id, direction, caller=caller, members=members, custom=custom
        )
        self.participants = ParticipantTable()
        self.session_id: str | None = None
        """This client's session in the call, once joined (a rejoin gets a new one)."""
        self.own_capabilities: tuple[str, ...] = ()
        self.backstage = False
        """True while a backstage call is not live (see :mod:`.permissions`)."""
        self.joined_at: float | None = None
        """When the call was first joined (epoch seconds, as given); a rejoin keeps it."""
        self.started_at: float | None = None
        """When the call's current session started (epoch seconds, the coordinator's
        ``session.started_at``; None while nobody has joined it)."""
        self._finished = False

    @property
    def phase(self) -> CallState:
        """idle, ringing, joining, joined, reconnecting, leaving or left."""
        return self.lifecycle.phase

    @property
    def finished(self) -> bool:
        """Whether :class:`Finish` was given out (it is given once)."""
        return self._finished

    def remote_session_ids(self) -> list[str]:
        """The sessions in the call other than ours, in join order."""
        return [p.session_id for p in self._remotes()]

    def _remotes(self) -> list[Participant]:
        return [p for p in self.participants.all() if not p.is_local]

    # -- what the local user does ---------------------------------------------------------

    def ring(self) -> list[Action]:
        """The call rings: we were rung, or we ring the callees."""
        return _emit(self.lifecycle.ringing())

    def accept_started(self) -> None:
        """We are accepting the ring (marked first, so the coordinator's echo is ours)."""
        self.lifecycle.accepting()

    def accept_failed(self) -> None:
        """The accept request failed: the ring is still unanswered by us."""
        self.lifecycle.accepting(started=False)

    def accepted(self) -> list[Action]:
        """The coordinator took our accept."""
        return _emit(self.lifecycle.accepted())

    def created(self, response: CallResponse) -> None:
        """Our ``call.get_or_create`` was answered: we are the caller of this call."""
        self.lifecycle.caller = CallMember.from_user(response.call.created_by)
        self.apply(response)

    def start_joining(self) -> list[Action]:
        """We start joining the media session."""
        return _emit(self.lifecycle.joining())

    def join_failed(self, *, reconnecting_allowed: bool) -> list[Action]:
        """The join request failed; a lost connection while reconnecting retries later."""
        if reconnecting_allowed and self.phase is CallState.RECONNECTING:
            return []
        return self.finish("join_failed")

    def joined(self, response: CallResponse, now: float) -> list[Action]:
        """The coordinator answered our ``call.join``: we are in, with a (new) session.

        A join answered after an earlier one already completed changes nothing.
        """
        if self.phase is CallState.JOINED:
            return []
        self.session_id = response.session_id
        self.apply(response)
        if self.joined_at is None:
            self.joined_at = now
        actions = _emit(self.lifecycle.joined())
        return actions + [PeerJoined(p) for p in self._remotes()]

    def apply(self, response: CallResponse) -> None:
        """Take the call as a reply describes it: capabilities, members, custom, session."""
        self.own_capabilities = tuple(str(c) for c in response.own_capabilities)
        self.lifecycle.members = tuple(CallMember.from_member(m) for m in response.members)
        self.lifecycle.custom = dict(response.call.custom)
        self._take_session(response.call)
        self.participants.clear()
        session = response.call.session
        for data in session.participants if session is not None else ():
            local = data.session_id == self.session_id
            self.participants.put(Participant.from_wire(data, is_local=local))
        self._count()

    def reconnecting(self, reason: str) -> list[Action]:
        """The coordinator connection dropped while we are in the session."""
        if not self.lifecycle.in_session:
            return []
        return _emit(self.lifecycle.reconnecting(reason))

    def resumed(self, response: CallResponse) -> list[Action]:
        """The coordinator gave our session back after a reconnection (``response`` is the
        call as it is now: events of the time away are not replayed). Same session id, and
        the peers of those still there keep their media; who left meanwhile is dropped and
        who came is connected. The phase returns to ``joined``."""
        if self.phase is not CallState.RECONNECTING:
            return []
        before = {p.session_id: p for p in self._remotes()}
        self.apply(response)
        after = self._remotes()
        now = {p.session_id for p in after}
        actions: list[Action] = [
            PeerLeft(s, p, "left") for s, p in sorted(before.items()) if s not in now
        ]
        actions += _emit(self.lifecycle.joined())
        for p in after:  # holds that began or ended while we were away
            if p.session_id in before and p.on_hold != before[p.session_id].on_hold:
                state = CallState.HELD if p.on_hold else CallState.UNHELD
                actions += [Emit(self.note(state, user_id=p.user_id))]
                actions += [HoldChanged(p.session_id, p.on_hold)]
        return actions + [PeerJoined(p) for p in after if p.session_id not in before]

    def start_leaving(self) -> list[Action]:
        """We hang up (InvalidState when there is no session to leave)."""
        if not self.lifecycle.in_session:
            raise InvalidState(f"call {self.cid} is {self.phase.value}; nothing to leave")
        return _emit(self.lifecycle.leaving())

    def finish(self, reason: str | None) -> list[Action]:
        """We are out: ``left`` once, then :class:`Finish` once."""
        actions = _emit(self.lifecycle.left(reason or "left"))
        if self._finished:
            return actions
        self._finished = True
        return [*actions, Finish(self.lifecycle.reason or reason or "left")]

    def track_published(self, track: TrackType, published: bool) -> None:
        """Our own session now (un)publishes ``track``."""
        if self.session_id is not None:
            self.participants.set_track(self.session_id, track, published)

    def note(self, state: CallState, **fields: Any) -> CallEvent:
        """An event that is no phase change (toggles of camera, microphone, speaker)."""
        return self.lifecycle.note(state, **fields)

    # -- what the coordinator says ------------------------------------------------------

    def receive(self, event: AnyEvent) -> list[Action]:  # noqa: PLR0912 - one case per event
        """The actions one coordinator event of this call asks for."""
        own = self.session_id
        actions: list[Action] = []
        self._take_session(getattr(event, "call", None))  # the events that describe the call
        match event:
            case SignalReceived():
                if own is None or not self.lifecycle.in_session:
                    return []
                return [ForwardSignal(event.session_id, event.from_session_id, event.signal)]
            case ParticipantLeft() if event.participant.session_id == own:
                self.participants.remove(event.participant.session_id)
                self._count()
                return _emit(self.lifecycle.receive(event)) + self.finish(event.reason)
            case ParticipantJoined() if event.participant.session_id != own:
                joined = Participant.from_wire(event.participant, is_local=False)
                self.participants.put(joined)
                actions.append(PeerJoined(joined, connect=self.phase is CallState.JOINED))
            case ParticipantLeft():
                actions += self._other_left(event.participant.session_id, event.reason)
            case ParticipantHold() | DtmfReceived():
                return self._control_event(event)
            case TrackPublished() | TrackUnpublished():
                published = isinstance(event, TrackPublished)
                self.participants.set_track(event.session_id, event.track_type, published)
                if event.session_id == own:
                    return []  # our own toggle already emitted this
            case MemberAdded():
                added = tuple(CallMember.from_member(m) for m in event.members)
                known = {m.user_id for m in added}
                kept = tuple(m for m in self.lifecycle.members if m.user_id not in known)
                self.lifecycle.members = kept + added
            case MemberRemoved():
                removed = set(event.user_ids)
                self.lifecycle.members = tuple(
                    m for m in self.lifecycle.members if m.user_id not in removed
                )
            case PermissionsUpdated() if event.user_id == self.lifecycle.self_user_id:
                self.own_capabilities = tuple(str(c) for c in event.own_capabilities)
        self._count()
        was_ringing_out = (
            self.phase is CallState.RINGING and self.lifecycle.direction is Direction.OUTGOING
        )
        actions += _emit(self.lifecycle.receive(event))
        if isinstance(event, CallAccepted) and was_ringing_out and self.phase is CallState.RINGING:
            actions.append(JoinSession())
        if self.phase is CallState.LEFT:
            actions += self.finish(None)
        return actions

    def _control_event(self, event: ParticipantHold | DtmfReceived) -> list[Action]:
        """A session went on hold or came back: ``held``/``unheld`` (our own session's
        echo emits nothing: the call told the listeners when we asked); or another
        session plays a DTMF digit."""
        if isinstance(event, DtmfReceived):
            if event.session_id == self.session_id or not self.lifecycle.in_session:
                return []
            heard = DtmfEvent(
                self.lifecycle.call_id,
                event.user_id,
                event.session_id,
                event.digit,
                event.duration_ms,
            )
            return [DtmfHeard(heard)]
        before = self.participants.get(event.session_id)
        self.participants.update(event.session_id, on_hold=event.on_hold)
        if event.session_id == self.session_id or before is None:
            return []
        state = CallState.HELD if event.on_hold else CallState.UNHELD
        note = self.note(state, user_id=event.user_id)
        return [Emit(note), HoldChanged(event.session_id, event.on_hold)]

    def _other_left(self, gone: str, reason: str) -> list[Action]:
        """Another session left: its screen share (if any) closes, and its media ends."""
        actions: list[Action] = []
        sharer = self.participants.remove(gone)
        if sharer is not None and TrackType.SCREEN_SHARE in sharer.published_tracks:
            closed = CallState.SCREEN_SHARE_CLOSED
            actions.append(Emit(self.note(closed, user_id=sharer.user_id, reason="left")))
        return [*actions, PeerLeft(gone, sharer, reason)]

    def _take_session(self, call: CallData | None) -> None:
        """Keep the session's start time from a description of the call."""
        if call is None:
            return
        self.backstage = call.backstage
        started = call.session.started_at if call.session is not None else None
        if started:  # a session over (or none yet) keeps the last start known
            self.started_at = parse_iso(started)

    def _count(self) -> None:
        self.lifecycle.participant_count = len(self.participants)


def _emit(events: list[CallEvent]) -> list[Action]:
    return [Emit(event) for event in events]
