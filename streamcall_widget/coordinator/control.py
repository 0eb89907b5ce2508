"""Call control: every rule of the coordinator, with no I/O.

:class:`CallControl` takes authenticated requests and the current time, changes its records
and returns the reply's data; the events to deliver pile up in an outbox that the server
drains with :meth:`CallControl.take_deliveries` after each step (the websockets sans-I/O
pattern). Ring timers fire from :meth:`CallControl.tick`, which the server calls at
:meth:`CallControl.next_deadline`. Membership and capabilities are checked on every
call-scoped request, so nothing of a call reaches a non-member.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from streamcall_widget.errors import DoesNotExist, InputError, InvalidState, NotAllowed
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import (
    REQUESTABLE,
    CallSettings,
    Capability,
    Role,
    call_type,
)
from streamcall_widget.protocol.models import (
    CallResponse,
    MemberInput,
    PinData,
    RejectReason,
    TrackType,
    UserData,
    UserInput,
    iso,
)
from streamcall_widget.protocol.ringing import (
    Accepted,
    Missed,
    Rejected,
    Ring,
    RingOutcome,
    RingOver,
)

from .query import CallQuery
from .state import (
    CallRecord,
    ConnectionRecord,
    Member,
    Participant,
    UserRecord,
    record_from_data,
)
from .store import CallStore, StoredCall

__all__ = ["CallControl", "Delivery"]

logger = logging.getLogger(__name__)

_TRACK_CAPABILITY = {
    TrackType.AUDIO: Capability.SEND_AUDIO,
    TrackType.VIDEO: Capability.SEND_VIDEO,
    TrackType.SCREEN_SHARE: Capability.SCREENSHARE,
    TrackType.SCREEN_SHARE_AUDIO: Capability.SCREENSHARE,
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one user of one app: all their connections, or just ``connection_id``."""

    app: str
    user_id: str
    event: ev.Event
    connection_id: str | None = None


class _App:
    """Users and calls of one API key; apps never see each other."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.calls: dict[str, CallRecord] = {}


class CallControl:
    """The coordinator's state and rules for every app it serves."""

    def __init__(self, store: CallStore) -> None:
        self._store = store
        self._apps: dict[str, _App] = {}
        self._connections: dict[str, ConnectionRecord] = {}
        self._outbox: list[Delivery] = []
        self._ringing: set[tuple[str, str]] = set()
        self._timers_changed = False
        self._dirty: dict[tuple[str, str], CallRecord] = {}
        for app, stored in store.load():
            self._restore(app, stored)
        self._handlers: dict[type[rq.Request], Callable[[ConnectionRecord, Any, float], Any]] = {
            rq.Ping: self._ping,
            rq.GetOrCreateCall: self._get_or_create,
            rq.GetCall: self._get,
            rq.RingCall: self._ring_request,
            rq.AcceptCall: self._accept,
            rq.RejectCall: self._reject,
            rq.JoinCall: self._join,
            rq.LeaveCall: self._leave,
            rq.EndCall: self._end,
            rq.UpdateCall: self._update,
            rq.UpdateMembers: self._update_members,
            rq.SendSignal: self._signal,
            rq.PublishTrack: self._publish_track,
            rq.RequestPermissions: self._request_permissions,
            rq.UpdatePermissions: self._update_permissions,
            rq.PinParticipant: self._pin,
            rq.UnpinParticipant: self._unpin,
            rq.StartRecording: self._start_recording,
            rq.StopRecording: self._stop_recording,
            rq.GoLive: self._go_live,
            rq.StopLive: self._stop_live,
            rq.SendCustomEvent: self._send_event,
            rq.QueryCalls: self._query_calls,
            rq.QueryUsers: self._query_users,
        }

    # -- connections --------------------------------------------------------------------

    def connect(
        self,
        app: str,
        connection_id: str,
        user: UserInput,
        *,
        role: str,
        call_cids: Iterable[str] | None,
        now: float,
    ) -> UserData:
        """Register an authenticated connection and upsert its user."""
        users = self._app(app).users
        record = users.get(user.id)
        if record is None:
            record = users[user.id] = UserRecord(id=user.id, created_at=now, updated_at=now)
        record.name, record.image, record.custom = user.name, user.image, user.custom
        record.role, record.updated_at = role, now
        record.connections.add(connection_id)
        self._connections[connection_id] = ConnectionRecord(
            id=connection_id,
            app=app,
            user_id=user.id,
            role=role,
            call_cids=frozenset(call_cids) if call_cids is not None else None,
        )
        self._ring_late_arrival(app, user.id, connection_id, now)
        return record.to_data()

    def _ring_late_arrival(self, app: str, user_id: str, connection_id: str, now: float) -> None:
        """A callee who comes online (or opens another connection) while rung rings too."""
        for ring_app, cid in sorted(self._ringing):
            call = self._apps[ring_app].calls[cid]
            if ring_app == app and call.ring is not None and call.ring.reach(user_id):
                event = self._ring_event(call, call.ring.caller, now)
                self._outbox.append(Delivery(app, user_id, event, connection_id=connection_id))

    def disconnect(self, connection_id: str, now: float) -> None:
        """Forget a closed connection; its sessions leave with reason ``disconnected``."""
        conn = self._connections.pop(connection_id, None)
        if conn is None:
            return
        app = self._app(conn.app)
        for cid, session_id in list(conn.sessions.items()):
            self._remove_participant(app.calls[cid], session_id, "disconnected", now)
        app.users[conn.user_id].connections.discard(connection_id)

    def connection_ids(self, app: str, user_id: str) -> set[str]:
        """Live connections of a user (empty if none)."""
        user = self._app(app).users.get(user_id)
        return user.connections if user is not None else set()

    # -- requests -----------------------------------------------------------------------

    def handle(self, connection_id: str, request: rq.Request, now: float) -> Any:
        """Apply one request of an authenticated connection; returns the reply's data.

        Raises a :class:`~streamcall_widget.errors.StreamCallError` (and changes nothing)
        when the request is not allowed or not valid now.
        """
        conn = self._connections[connection_id]
        handler = self._handlers.get(type(request))
        if handler is None:
            raise InvalidState(f"{type(request).__name__} is only valid as the first message")
        return handler(conn, request, now)

    def take_deliveries(self) -> list[Delivery]:
        """Events produced since the last call, in order; changed calls are stored now,
        once each however many times one request changed them."""
        for call in self._dirty.values():
            users = self._apps[call.app].users
            self._store.save(
                call.app, StoredCall(call=call.to_data(users), members=call.members_data(users))
            )
        self._dirty.clear()
        out, self._outbox = self._outbox, []
        return out

    def timers_changed(self) -> bool:
        """Whether a ring started or ended since the last call (the next deadline moved)."""
        changed, self._timers_changed = self._timers_changed, False
        return changed

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has ring timers to fire."""
        deadlines = [
            d
            for app, cid in self._ringing
            if (ring := self._apps[app].calls[cid].ring) and (d := ring.next_deadline()) is not None
        ]
        return min(deadlines, default=None)

    def tick(self, now: float) -> None:
        """Fire the ring timers due at ``now``."""
        for app, cid in sorted(self._ringing):
            call = self._apps[app].calls[cid]
            if call.ring is not None:
                self._apply_ring(call, call.ring.tick(now), now)

    # -- handlers -----------------------------------------------------------------------

    def _ping(self, conn: ConnectionRecord, req: rq.Ping, now: float) -> dict[str, str]:
        return {"server_time": iso(now)}

    def _get_or_create(
        self, conn: ConnectionRecord, req: rq.GetOrCreateCall, now: float
    ) -> CallResponse:
        ctype = call_type(req.call_type)
        cid = f"{ctype.name}:{req.call_id}"
        app = self._app(conn.app)
        if conn.call_cids is not None and cid not in conn.call_cids:
            raise NotAllowed(f"this token only gives access to calls {sorted(conn.call_cids)}")
        call = app.calls.get(cid)
        created = call is None
        if call is None:
            if Capability.CREATE_CALL not in ctype.capabilities(self._global_role(conn)):
                raise NotAllowed(f"{conn.user_id} may not create {ctype.name} calls")
            members = [MemberInput(user_id=conn.user_id, role=Role.HOST), *req.members]
            if req.ring and all(m.user_id == conn.user_id for m in members):
                raise InvalidState(
                    f"nobody to ring in {cid}: the call has no member but the caller"
                )
            roles = {m.user_id: self._member_role(m) for m in members}
            settings = self._settings(ctype.settings, req.settings_override)
            call = CallRecord(
                app=conn.app,
                type=ctype,
                id=req.call_id,
                created_by=conn.user_id,
                created_at=now,
                updated_at=now,
                settings=settings,
                custom=req.custom,
                team=req.team,
                backstage=settings.backstage_enabled,
            )
            for m in members:
                self._ensure_user(app, m.user_id, now)
                if m.user_id not in call.members:
                    call.members[m.user_id] = Member(m.user_id, roles[m.user_id], now, m.custom)
            app.calls[cid] = call
            self._emit_to_members(
                call,
                ev.CallCreated(
                    cid=cid,
                    created_at=iso(now),
                    call=call.to_data(app.users),
                    members=call.members_data(app.users),
                ),
            )
            self._save(call)
        else:
            self._require(call, conn, Capability.READ_CALL)
        if req.ring:
            self._ring(call, conn, [], req.video, now)
        return self._response(call, conn, created=created)

    def _get(self, conn: ConnectionRecord, req: rq.GetCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.READ_CALL)
        return self._response(call, conn)

    def _ring_request(self, conn: ConnectionRecord, req: rq.RingCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.JOIN_CALL)
        self._ring(call, conn, req.member_ids, req.video, now)
        return self._response(call, conn)

    def _ring(
        self,
        call: CallRecord,
        conn: ConnectionRecord,
        member_ids: list[str],
        video: bool | None,
        now: float,
    ) -> None:
        if call.ended_at is not None:
            raise InvalidState(f"call {call.cid} has ended; create a new call to ring again")
        if call.ringing:
            raise InvalidState(f"call {call.cid} is already ringing")
        if conn.user_id not in call.members:
            raise NotAllowed(f"only members of {call.cid} can ring it")
        self._require(call, conn, Capability.JOIN_CALL)
        unknown = [u for u in member_ids if u not in call.members]
        if unknown:
            raise InputError(f"cannot ring {unknown}: not members of {call.cid}; add them first")
        if conn.user_id in member_ids:
            raise InputError(f"{conn.user_id} cannot ring themselves")
        joined = {p.user_id for p in call.participants.values()}
        callees = [u for u in (member_ids or call.members) if u != conn.user_id and u not in joined]
        if not callees:
            raise InvalidState(
                f"nobody to ring in {call.cid}: every other member is already joined"
            )
        app = self._apps[call.app]
        online = [u for u in callees if app.users[u].connections]
        busy = [u for u in callees if self._in_other_call(app, u, call.cid)]
        ring = Ring(conn.user_id, callees, call.settings.ring, now, online=online, busy=busy)
        call.ring = ring
        call.accepted_by.clear()
        call.rejected_by.clear()
        call.missed_by.clear()
        self._ringing.add((call.app, call.cid))
        self._timers_changed = True
        call.ring_video = call.settings.video_enabled if video is None else video
        event = self._ring_event(call, conn.user_id, now)
        for user_id in ring.ringing():
            if user_id not in busy:
                self._outbox.append(Delivery(call.app, user_id, event))
        self._apply_ring(call, ring.start(), now)

    def _ring_event(self, call: CallRecord, caller: str, now: float) -> ev.CallRing:
        users = self._apps[call.app].users
        return ev.CallRing(
            cid=call.cid,
            created_at=iso(now),
            call=call.to_data(users),
            members=call.members_data(users),
            user=users[caller].to_data(),
            video=call.ring_video,
        )

    def _accept(self, conn: ConnectionRecord, req: rq.AcceptCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.JOIN_CALL)
        ring = self._active_ring(call, conn, "accept")
        self._apply_ring(call, ring.accept(conn.user_id, now), now)
        return self._response(call, conn)

    def _reject(self, conn: ConnectionRecord, req: rq.RejectCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.READ_CALL)
        ring = self._active_ring(call, conn, "reject")
        self._apply_ring(call, ring.reject(conn.user_id, req.reason, now), now)
        return self._response(call, conn)

    def _join(self, conn: ConnectionRecord, req: rq.JoinCall, now: float) -> CallResponse:
        call = self._visible_call(conn, req.cid)
        if call.ended_at is not None:
            raise InvalidState(f"call {call.cid} has ended and cannot be joined")
        needed = Capability.JOIN_BACKSTAGE if call.backstage else Capability.JOIN_CALL
        self._require(call, conn, needed)
        app = self._apps[call.app]
        if conn.user_id not in call.members:
            # A call token (call_cids) makes its holder a member; anyone else joins as a user.
            role = Role.CALL_MEMBER if conn.call_cids is not None else Role.USER
            call.members[conn.user_id] = Member(conn.user_id, role, now)
            self._emit_to_members(
                call,
                ev.MemberAdded(
                    cid=call.cid,
                    created_at=iso(now),
                    members=[m for m in call.members_data(app.users) if m.user_id == conn.user_id],
                ),
            )
        for old in call.session_of(conn.user_id):
            self._remove_participant(call, old.session_id, "replaced", now)
        if call.ring is not None and call.ring.status.get(conn.user_id) in ("ringing", "offline"):
            self._apply_ring(call, call.ring.accept(conn.user_id, now), now)
        session_id = uuid.uuid4().hex
        participant = Participant(session_id, conn.user_id, conn.id, now)
        first = not call.participants
        call.participants[session_id] = participant
        conn.sessions[call.cid] = session_id
        if first:
            call.session_id = uuid.uuid4().hex
            call.session_started_at, call.session_ended_at = now, None
            self._emit_to_members(
                call,
                ev.CallSessionStarted(
                    cid=call.cid,
                    created_at=iso(now),
                    call=call.to_data(app.users),
                    session_id=call.session_id,
                ),
            )
        self._emit_to_members(
            call,
            ev.ParticipantJoined(
                cid=call.cid,
                created_at=iso(now),
                session_id=call.session_id or "",
                participant=call.participant_data(participant, app.users),
            ),
        )
        self._save(call)
        return self._response(call, conn, session_id=session_id)

    def _leave(self, conn: ConnectionRecord, req: rq.LeaveCall, now: float) -> CallResponse:
        call = self._visible_call(conn, req.cid)
        session_id = conn.sessions.get(call.cid)
        if session_id is None:
            raise InvalidState(f"{conn.user_id} has not joined {call.cid} on this connection")
        self._remove_participant(call, session_id, "left", now)
        if call.ringing and call.ring is not None and call.ring.caller == conn.user_id:
            self._apply_ring(call, call.ring.reject(conn.user_id, RejectReason.CANCEL, now), now)
        self._save(call)
        return self._response(call, conn)

    def _end(self, conn: ConnectionRecord, req: rq.EndCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.END_CALL)
        if call.ended_at is not None:
            raise InvalidState(f"call {call.cid} has already ended")
        self._end_call(call, self._apps[call.app].users[conn.user_id].to_data(), "ended", now)
        return self._response(call, conn)

    def _update(self, conn: ConnectionRecord, req: rq.UpdateCall, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.UPDATE_CALL)
        if req.custom is not None:
            call.custom = req.custom
        if req.settings_override is not None:
            call.settings = self._settings(call.settings, req.settings_override)
        self._updated(call, now)
        return self._response(call, conn)

    def _update_members(
        self, conn: ConnectionRecord, req: rq.UpdateMembers, now: float
    ) -> CallResponse:
        call = self._call(conn, req.cid, Capability.UPDATE_CALL_MEMBER)
        app = self._apps[call.app]
        roles = {m.user_id: self._member_role(m) for m in req.add}
        missing = [u for u in req.remove if u not in call.members]
        if missing:
            raise DoesNotExist(f"cannot remove {missing}: not members of {call.cid}")
        if req.add:
            for m in req.add:
                self._ensure_user(app, m.user_id, now)
                call.members[m.user_id] = Member(m.user_id, roles[m.user_id], now, m.custom)
            added = {m.user_id for m in req.add}
            self._emit_to_members(
                call,
                ev.MemberAdded(
                    cid=call.cid,
                    created_at=iso(now),
                    members=[m for m in call.members_data(app.users) if m.user_id in added],
                ),
            )
        if req.remove:
            for user_id in req.remove:
                for p in call.session_of(user_id):
                    self._remove_participant(call, p.session_id, "removed", now)
            self._emit_to_members(
                call, ev.MemberRemoved(cid=call.cid, created_at=iso(now), user_ids=list(req.remove))
            )
            for user_id in req.remove:
                del call.members[user_id]
        self._updated(call, now, announce=False)
        return self._response(call, conn)

    def _signal(self, conn: ConnectionRecord, req: rq.SendSignal, now: float) -> None:
        call = self._visible_call(conn, req.cid)
        own = conn.sessions.get(call.cid)
        if own is None:
            raise InvalidState(f"join {call.cid} before sending signals in it")
        target = call.participants.get(req.session_id)
        if target is None or target.session_id == own:
            raise DoesNotExist(f"no other joined session {req.session_id!r} in {call.cid}")
        self._outbox.append(
            Delivery(
                call.app,
                target.user_id,
                ev.SignalReceived(
                    cid=call.cid,
                    created_at=iso(now),
                    session_id=target.session_id,
                    from_session_id=own,
                    from_user_id=conn.user_id,
                    signal=req.signal,
                ),
                connection_id=target.connection_id,
            )
        )

    def _publish_track(self, conn: ConnectionRecord, req: rq.PublishTrack, now: float) -> None:
        call = self._visible_call(conn, req.cid)
        session_id = conn.sessions.get(call.cid)
        if session_id is None:
            raise InvalidState(f"join {call.cid} before publishing tracks")
        if req.published:
            self._require(call, conn, _TRACK_CAPABILITY[req.track_type])
        participant = call.participants[session_id]
        self._set_track(call, participant, req.track_type, published=req.published, now=now)

    def _request_permissions(
        self, conn: ConnectionRecord, req: rq.RequestPermissions, now: float
    ) -> None:
        call = self._call(conn, req.cid, Capability.READ_CALL)
        bad = [p for p in req.permissions if p not in REQUESTABLE]
        if bad or not req.permissions:
            raise InputError(
                f"cannot request {[str(p) for p in bad] or 'nothing'}; "
                f"allowed: {sorted(str(p) for p in REQUESTABLE)}"
            )
        app = self._apps[call.app]
        event = ev.PermissionRequest(
            cid=call.cid,
            created_at=iso(now),
            user=app.users[conn.user_id].to_data(),
            permissions=list(req.permissions),
        )
        for user_id in call.members:
            granted = any(
                Capability.UPDATE_CALL_PERMISSIONS in call.capabilities(self._connections[c])
                for c in app.users[user_id].connections
            )
            if granted:
                self._outbox.append(Delivery(call.app, user_id, event))

    def _update_permissions(
        self, conn: ConnectionRecord, req: rq.UpdatePermissions, now: float
    ) -> None:
        call = self._call(conn, req.cid, Capability.UPDATE_CALL_PERMISSIONS)
        bad = [p for p in (*req.grant, *req.revoke) if p not in REQUESTABLE]
        if bad:
            raise InputError(
                f"cannot grant or revoke {[str(p) for p in bad]}; "
                f"allowed: {sorted(str(p) for p in REQUESTABLE)}"
            )
        if req.user_id not in call.members:
            raise DoesNotExist(f"{req.user_id} is not a member of {call.cid}")
        grants = call.grants.setdefault(req.user_id, set())
        revokes = call.revokes.setdefault(req.user_id, set())
        grants.update(req.grant)
        grants.difference_update(req.revoke)
        revokes.update(req.revoke)
        revokes.difference_update(req.grant)
        target = ConnectionRecord(
            "", call.app, req.user_id, self._apps[call.app].users[req.user_id].role, None
        )
        caps = call.capabilities(target)
        self._emit_to_members(
            call,
            ev.PermissionsUpdated(
                cid=call.cid,
                created_at=iso(now),
                user_id=req.user_id,
                own_capabilities=sorted(caps),
            ),
        )
        for p in call.session_of(req.user_id):
            for track in list(p.published):
                if _TRACK_CAPABILITY[track] not in caps:
                    self._set_track(
                        call, p, track, published=False, now=now, reason="permission_revoked"
                    )

    def _pin(self, conn: ConnectionRecord, req: rq.PinParticipant, now: float) -> None:
        call = self._call(conn, req.cid, Capability.PIN_FOR_EVERYONE)
        participant = call.participants.get(req.session_id)
        if participant is None or participant.user_id != req.user_id:
            raise DoesNotExist(f"no session {req.session_id!r} of {req.user_id} in {call.cid}")
        call.pins = [p for p in call.pins if p.session_id != req.session_id]
        call.pins.insert(0, PinData(user_id=req.user_id, session_id=req.session_id))
        self._emit_to_members(
            call,
            ev.CallPinned(
                cid=call.cid, created_at=iso(now), session_id=req.session_id, user_id=req.user_id
            ),
        )

    def _unpin(self, conn: ConnectionRecord, req: rq.UnpinParticipant, now: float) -> None:
        call = self._call(conn, req.cid, Capability.PIN_FOR_EVERYONE)
        pinned = [p for p in call.pins if p.session_id == req.session_id]
        if not pinned or pinned[0].user_id != req.user_id:
            raise DoesNotExist(
                f"session {req.session_id!r} of {req.user_id} is not pinned in {call.cid}"
            )
        call.pins = [p for p in call.pins if p.session_id != req.session_id]
        self._emit_to_members(
            call,
            ev.CallUnpinned(
                cid=call.cid, created_at=iso(now), session_id=req.session_id, user_id=req.user_id
            ),
        )

    def _start_recording(self, conn: ConnectionRecord, req: rq.StartRecording, now: float) -> None:
        self._set_recording(conn, req.cid, recording=True, now=now)

    def _stop_recording(self, conn: ConnectionRecord, req: rq.StopRecording, now: float) -> None:
        self._set_recording(conn, req.cid, recording=False, now=now)

    def _set_recording(
        self, conn: ConnectionRecord, cid: str, *, recording: bool, now: float
    ) -> None:
        needed = Capability.START_RECORD_CALL if recording else Capability.STOP_RECORD_CALL
        call = self._call(conn, cid, needed)
        if call.recording == recording:
            raise InvalidState(f"call {cid} is {'already' if recording else 'not'} recording")
        call.recording = recording
        kind = ev.RecordingStarted if recording else ev.RecordingStopped
        self._emit_to_members(call, kind(cid=call.cid, created_at=iso(now)))
        self._updated(call, now, announce=False)

    def _go_live(self, conn: ConnectionRecord, req: rq.GoLive, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.UPDATE_CALL)
        if not call.backstage:
            raise InvalidState(f"call {call.cid} is already live")
        call.backstage = False
        self._emit_to_members(
            call,
            ev.LiveStarted(
                cid=call.cid, created_at=iso(now), call=call.to_data(self._apps[call.app].users)
            ),
        )
        self._updated(call, now)
        return self._response(call, conn)

    def _stop_live(self, conn: ConnectionRecord, req: rq.StopLive, now: float) -> CallResponse:
        call = self._call(conn, req.cid, Capability.UPDATE_CALL)
        if call.backstage:
            raise InvalidState(f"call {call.cid} is not live")
        call.backstage = True
        self._updated(call, now)
        return self._response(call, conn)

    def _send_event(self, conn: ConnectionRecord, req: rq.SendCustomEvent, now: float) -> None:
        call = self._call(conn, req.cid, Capability.SEND_EVENT)
        user = self._apps[call.app].users[conn.user_id].to_data()
        self._emit_to_members(
            call, ev.CustomEvent(cid=call.cid, created_at=iso(now), user=user, custom=req.custom)
        )

    def _query_calls(
        self, conn: ConnectionRecord, req: rq.QueryCalls, now: float
    ) -> dict[str, Any]:
        query = CallQuery(req.filter_conditions, [(s.field, s.direction) for s in req.sort])
        app = self._app(conn.app)
        visible = (
            c
            for c in app.calls.values()
            if Capability.READ_CALL in c.capabilities(conn)
            and (conn.call_cids is None or c.cid in conn.call_cids)
        )
        page, next_cursor = query.page(visible, req.limit, req.next)
        return {
            "calls": [self._response(c, conn) for c in page],
            "next": next_cursor,
        }

    def _query_users(
        self, conn: ConnectionRecord, req: rq.QueryUsers, now: float
    ) -> dict[str, list[UserData]]:
        users = self._app(conn.app).users
        return {"users": [users[u].to_data() for u in req.user_ids if u in users]}

    # -- helpers ------------------------------------------------------------------------

    def _app(self, key: str) -> _App:
        app = self._apps.get(key)
        if app is None:
            app = self._apps[key] = _App()
        return app

    @staticmethod
    def _global_role(conn: ConnectionRecord) -> Role:
        return Role.ADMIN if conn.role == Role.ADMIN else Role.USER

    @staticmethod
    def _member_role(member: MemberInput) -> Role:
        allowed = (Role.CALL_MEMBER, Role.HOST, Role.ADMIN)
        role = member.role or Role.CALL_MEMBER
        if role not in allowed:
            raise InputError(
                f"member {member.user_id} has unknown role {role!r}; allowed: {', '.join(allowed)}"
            )
        return Role(role)

    @staticmethod
    def _settings(base: CallSettings, override: Any) -> CallSettings:
        if override is None:
            return base
        changes = {
            f: getattr(override, f)
            for f in ("video_enabled", "backstage_enabled", "ring")
            if getattr(override, f) is not None
        }
        return msgspec.structs.replace(base, **changes)

    @staticmethod
    def _ensure_user(app: _App, user_id: str, now: float) -> None:
        if user_id not in app.users:
            app.users[user_id] = UserRecord(id=user_id, created_at=now, updated_at=now)

    def _visible_call(self, conn: ConnectionRecord, cid: str) -> CallRecord:
        """The call if ``conn`` may see it at all; the same error whether absent or hidden."""
        call = self._apps[conn.app].calls.get(cid)
        hidden = conn.call_cids is not None and cid not in conn.call_cids
        if (
            call is None
            or hidden
            or (
                conn.user_id not in call.members
                and not call.capabilities(conn) & {Capability.READ_CALL, Capability.JOIN_CALL}
            )
        ):
            raise DoesNotExist(f"no call {cid!r} that {conn.user_id} can see")
        return call

    def _call(self, conn: ConnectionRecord, cid: str, capability: Capability) -> CallRecord:
        call = self._visible_call(conn, cid)
        self._require(call, conn, capability)
        return call

    @staticmethod
    def _require(call: CallRecord, conn: ConnectionRecord, capability: Capability) -> None:
        if capability not in call.capabilities(conn):
            raise NotAllowed(f"{conn.user_id} lacks the {capability} capability in {call.cid}")

    def _active_ring(self, call: CallRecord, conn: ConnectionRecord, action: str) -> Ring:
        if call.ring is None or call.ring.over:
            raise InvalidState(f"nothing is ringing in {call.cid}; there is no ring to {action}")
        return call.ring

    def _in_other_call(self, app: _App, user_id: str, cid: str) -> bool:
        return any(
            other
            for c in app.users[user_id].connections
            for other in self._connections[c].sessions
            if other != cid
        )

    def _response(
        self,
        call: CallRecord,
        conn: ConnectionRecord,
        *,
        created: bool = False,
        session_id: str | None = None,
    ) -> CallResponse:
        users = self._apps[call.app].users
        return CallResponse(
            call=call.to_data(users),
            members=call.members_data(users),
            own_capabilities=sorted(call.capabilities(conn)),
            created=created,
            session_id=session_id,
        )

    def _emit_to_members(self, call: CallRecord, event: ev.Event) -> None:
        self._outbox.extend(Delivery(call.app, user_id, event) for user_id in call.members)

    def _updated(self, call: CallRecord, now: float, *, announce: bool = True) -> None:
        call.updated_at = now
        if announce:
            self._emit_to_members(
                call,
                ev.CallUpdated(
                    cid=call.cid, created_at=iso(now), call=call.to_data(self._apps[call.app].users)
                ),
            )
        self._save(call)

    def _apply_ring(self, call: CallRecord, outcomes: list[RingOutcome], now: float) -> None:
        users = self._apps[call.app].users
        stamp = iso(now)
        for outcome in outcomes:
            event: ev.Event
            if isinstance(outcome, Accepted):
                call.accepted_by[outcome.user_id] = stamp
                event = ev.CallAccepted(
                    cid=call.cid,
                    created_at=stamp,
                    call=call.to_data(users),
                    user=users[outcome.user_id].to_data(),
                )
            elif isinstance(outcome, Rejected):
                call.rejected_by[outcome.user_id] = outcome.reason
                event = ev.CallRejected(
                    cid=call.cid,
                    created_at=stamp,
                    call=call.to_data(users),
                    user=users[outcome.user_id].to_data(),
                    reason=outcome.reason,
                )
            elif isinstance(outcome, Missed):
                call.missed_by[outcome.user_id] = stamp
                event = ev.CallMissed(
                    cid=call.cid,
                    created_at=stamp,
                    call=call.to_data(users),
                    user=users[outcome.user_id].to_data(),
                    reason=outcome.reason,
                )
            else:
                self._ring_over(call, outcome, now)
                continue
            self._emit_to_members(call, event)
        if call.ring is not None and call.ring.over:
            self._ringing.discard((call.app, call.cid))
            self._timers_changed = True
        self._save(call)

    def _ring_over(self, call: CallRecord, outcome: RingOver, now: float) -> None:
        caller = call.ring.caller if call.ring else call.created_by
        others = [p for p in call.participants.values() if p.user_id != caller]
        if not others and call.ended_at is None:
            self._end_call(call, None, str(outcome.reason), now)

    def _end_call(self, call: CallRecord, by: UserData | None, reason: str, now: float) -> None:
        call.ended_at = now
        if call.ring is not None and not call.ring.over:
            call.ring = None
        self._ringing.discard((call.app, call.cid))
        users = self._apps[call.app].users
        self._emit_to_members(
            call,
            ev.CallEnded(
                cid=call.cid, created_at=iso(now), call=call.to_data(users), user=by, reason=reason
            ),
        )
        for session_id in list(call.participants):
            self._remove_participant(call, session_id, "ended", now, announce=False)
        self._updated(call, now, announce=False)

    def _remove_participant(
        self, call: CallRecord, session_id: str, reason: str, now: float, *, announce: bool = True
    ) -> None:
        participant = call.participants.pop(session_id)
        conn = self._connections.get(participant.connection_id)
        if conn is not None and conn.sessions.get(call.cid) == session_id:
            del conn.sessions[call.cid]
        users = self._apps[call.app].users
        call.pins = [p for p in call.pins if p.session_id != session_id]
        if announce:
            self._emit_to_members(
                call,
                ev.ParticipantLeft(
                    cid=call.cid,
                    created_at=iso(now),
                    session_id=call.session_id or "",
                    participant=call.participant_data(participant, users),
                    reason=reason,
                ),
            )
        if not call.participants and call.session_id is not None:
            call.session_ended_at = now
            self._emit_to_members(
                call,
                ev.CallSessionEnded(
                    cid=call.cid,
                    created_at=iso(now),
                    call=call.to_data(users),
                    session_id=call.session_id,
                ),
            )

    def _set_track(
        self,
        call: CallRecord,
        participant: Participant,
        track: TrackType,
        *,
        published: bool,
        now: float,
        reason: str = "muted",
    ) -> None:
        if (track in participant.published) == published:
            return
        if published:
            participant.published.add(track)
            event: ev.Event = ev.TrackPublished(
                cid=call.cid,
                created_at=iso(now),
                session_id=participant.session_id,
                user_id=participant.user_id,
                track_type=track,
            )
        else:
            participant.published.discard(track)
            event = ev.TrackUnpublished(
                cid=call.cid,
                created_at=iso(now),
                session_id=participant.session_id,
                user_id=participant.user_id,
                track_type=track,
                reason=reason,
            )
        self._emit_to_members(call, event)

    def _save(self, call: CallRecord) -> None:
        """Mark the call for storing at the next :meth:`take_deliveries`."""
        self._dirty[call.app, call.cid] = call

    def _restore(self, app_key: str, stored: StoredCall) -> None:
        app = self._app(app_key)
        call = record_from_data(app_key, stored.call, stored.members)
        for member in stored.members:
            user = member.user
            if user.id not in app.users:
                app.users[user.id] = UserRecord(
                    id=user.id,
                    created_at=call.created_at,
                    updated_at=call.updated_at,
                    name=user.name,
                    image=user.image,
                    custom=user.custom,
                    role=user.role,
                )
        creator = stored.call.created_by
        self._ensure_user(app, creator.id, call.created_at)
        app.calls[call.cid] = call
