"""The call methods of ``StreamCall``: place, create, join, accept, reject and end calls,
and the coordinator events that start or feed them.

A mixin of :class:`~streamcall_widget.engine.client.StreamCall` (the plugin's API has them
on the client object) in a module of its own: they pick the :class:`~.call.Call` a request
is about, check that the request fits it (its direction: ``WrongDirection``; the arguments:
``InvalidArguments``) and hand the flow to the call.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from streamcall_widget.errors import InvalidArguments, InvalidState, WrongDirection
from streamcall_widget.protocol.call_types import CALL_TYPES
from streamcall_widget.protocol.events import AnyEvent, CallCreated, CallRing
from streamcall_widget.protocol.headers import check_headers
from streamcall_widget.protocol.lifecycle import (
    CallEvent,
    CallMember,
    CallState,
    Direction,
    IncomingCall,
)
from streamcall_widget.protocol.models import CallResponse, MemberInput, RejectReason
from streamcall_widget.protocol.requests import GetOrCreateCall, Request

from .call import Call
from .call_arguments import cid_of, ring_settings
from .results import CallSummary, SuccessResponse
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .call import CallHost
    from .listeners import ListenerRegistry
    from .loop import EngineFuture

__all__ = ["CallFlows"]

R = TypeVar("R")
T = TypeVar("T")


class CallFlows:
    """Call methods and call events; the client provides what is declared here."""

    _calls: dict[str, Call]
    _active: Call | None
    _listeners: ListenerRegistry[Any]

    if TYPE_CHECKING:

        def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]: ...

        @property
        def user_id(self) -> str: ...

        async def request(self, request: Request, result_type: type[R]) -> R: ...

        def emit(self, events: list[CallEvent]) -> None: ...

        async def set_camera(self, enabled: bool) -> None: ...

        def _latest_ringing(self) -> Call | None: ...

    @threadsafe
    async def call(
        self,
        user_ids: list[str],
        *,
        type: str = "default",
        ring: bool = True,
        team: str | None = None,
        video: bool = True,
        custom: dict[str, Any] | None = None,
        call_id: str | None = None,
        ring_timeout_ms: int | None = None,
    ) -> Call:
        """Call ``user_ids``: ring them (``ring=True``, the call resolves while ringing and
        is joined when someone accepts) or just create the call and join it.

        ``ring_timeout_ms`` (5 000 to 180 000) replaces the call type's ring timeouts:
        callees who have not answered by then miss the call.
        """
        call_type = type
        settings = ring_settings(ring_timeout_ms)
        me = self.user_id
        others = _other_members(user_ids, me)
        if not others:
            raise InvalidArguments(
                "call() needs at least one other user to call"
                + (" (you cannot call yourself)" if me in user_ids else "")
            )
        if call_type not in CALL_TYPES:
            raise InvalidArguments(
                f"unknown call type {call_type!r}; allowed: {', '.join(CALL_TYPES)}"
            )
        self._require_free()
        cid = f"{call_type}:{call_id or uuid.uuid4().hex}"
        members = [MemberInput(user_id=u) for u in others]  # the coordinator adds us as host
        call = self._new_call(cid, Direction.OUTGOING)
        self._calls[cid] = self._active = call
        await self.set_camera(video)
        create = GetOrCreateCall(
            id="",
            call_type=call_type,
            call_id=cid.partition(":")[2],
            members=members,
            custom=custom or {},
            ring=ring,
            video=video,
            team=team,
            settings_override=settings,
        )
        return await call.ring_out(create)

    @threadsafe
    async def get_or_create_call(
        self,
        call_id: str,
        call_type: str = "default",
        *,
        members: list[str] | None = None,
        custom: dict[str, Any] | None = None,
    ) -> CallSummary:
        """The call ``call_id``, created first (you as its host, ``members`` as members,
        ``custom`` as its data) if it does not exist; nobody joins or is rung (seed 003's
        ``getOrCreateCall``): ``join_call(call_id)`` enters it."""
        me = self.user_id
        cid = cid_of(call_id, call_type)
        others = _other_members(members or [], me, what="members")
        if custom is not None and not isinstance(custom, dict):
            raise InvalidArguments(f"custom must be a dict, not {custom.__class__.__name__}")
        kind, _, bare_id = cid.partition(":")
        create = GetOrCreateCall(
            id="",
            call_type=kind,
            call_id=bare_id,
            members=[MemberInput(user_id=u) for u in others],
            custom=custom or {},
        )
        return CallSummary.from_response(await self.request(create, CallResponse))

    def _new_call(self, cid: str, direction: Direction, **details: Any) -> Call:
        """A call of this client (the client is the host every call reports to)."""
        return Call(cast("CallHost", self), cid, direction, **details)

    def _require_free(self) -> None:
        active = self._active
        if active is not None and active.lifecycle.active:
            raise InvalidState(
                f"already in call {active.cid} ({active.state.value}); end_call() first"
            )

    @threadsafe
    async def join_call(self, call_id: str, call_type: str = "default") -> Call:
        """Join an existing call by id (a member, or anyone the call type lets join)."""
        self.user_id  # noqa: B018 - raises when not logged in
        cid = cid_of(call_id, call_type)
        self._require_free()
        call = self._calls.get(cid) or self._new_call(cid, Direction.JOINED)
        self._calls[cid] = self._active = call
        return await call.join()

    @threadsafe
    async def accept_call(
        self, call_id: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Call:
        """Accept the ringing call (the latest, or ``call_id``) and join it; ``headers``
        (``X-`` names, seed 001's ``answer`` settings) reach the others on ``accepted``."""
        sent = check_headers(headers)
        call = await self._incoming(call_id, "accept")
        self._require_free()
        self._active = call
        try:
            return await call.accept(sent)
        except BaseException:
            if self._active is call and call.state is CallState.RINGING:
                self._active = None  # the accept itself failed: the ring is still there
            raise

    async def _incoming(self, call_id: str | None, verb: str) -> Call:
        """The call ringing for us that ``verb`` is about; ``WrongDirection`` when it is
        (or, with no ``call_id``, when the only ring is) one we placed."""
        self.user_id  # noqa: B018 - raises when not logged in
        if call_id is None:
            call = self._latest_ringing()
            own = self._active
            if call is None and own is not None and own.state is CallState.RINGING:
                call = own  # no ring for us; ours is: say how to stop it
        else:
            found = [c for c in self._calls.values() if call_id in (c.id, c.cid)]
            call = found[0] if found else None
        if call is not None and call.direction is Direction.OUTGOING:
            raise WrongDirection(
                f"cannot {verb} call {call.cid}: you placed it; {verb}_call() is for calls "
                "ringing for you. Cancel your ring with end_call()"
            )
        if call is None or call.direction is not Direction.INCOMING:
            what = f"call {call_id!r}" if call_id else "any call"
            raise InvalidState(f"nothing to {verb}: {what} is not ringing for you")
        return call

    @threadsafe
    async def reject_call(
        self,
        reason: str = "decline",
        call_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SuccessResponse:
        """Reject the ringing call (``decline`` or ``busy``), ``headers`` (``X-`` names)
        going to the caller on ``rejected``; ``WrongDirection`` for a call you placed
        (cancel it with ``end_call()``)."""
        allowed = (RejectReason.DECLINE, RejectReason.BUSY)
        if reason not in allowed:
            raise InvalidArguments(
                f"reject reason {reason!r} not allowed; use one of: decline, busy"
            )
        sent = check_headers(headers)
        call = await self._incoming(call_id, "reject")
        await call.reject(RejectReason(reason), sent)
        return SuccessResponse()

    @threadsafe
    async def end_call(self, headers: Mapping[str, str] | None = None) -> SuccessResponse:
        """Hang up: cancel a ring you started, end a 1:1 call, or leave a group call;
        ``headers`` (``X-`` names, seed 001's ``hangup(headers)``) reach the others on the
        event it causes.

        With only a ring for you under way this raises ``WrongDirection``: an incoming
        ring is declined with ``reject_call()`` (or answered with ``accept_call()``).
        """
        self.user_id  # noqa: B018 - raises when not logged in
        sent = check_headers(headers)
        call = self._active
        if call is None or not call.lifecycle.active:
            ringing = self._latest_ringing()
            if ringing is not None:
                raise WrongDirection(
                    f"call {ringing.cid} is ringing for you, not placed by you: decline it "
                    "with reject_call() or answer it with accept_call()"
                )
            raise InvalidState("no call to end")
        await call.hang_up(sent)
        return SuccessResponse()

    # -- coordinator events ----------------------------------------------------------

    def _on_event(self, event: AnyEvent) -> None:
        if isinstance(event, CallRing):
            self._on_ring(event)
            return
        call = self._calls.get(event.cid)
        if call is not None:
            call.receive(event)
        elif isinstance(event, CallCreated):
            self.emit(
                [
                    CallEvent(
                        call_id=event.call.id,
                        call_type=event.call.type,
                        state=CallState.CREATED,
                        user_id=event.call.created_by.id,
                        caller=CallMember.from_user(event.call.created_by),
                        members=tuple(CallMember.from_member(m) for m in event.members),
                        custom=dict(event.call.custom),
                    )
                ]
            )

    def _on_ring(self, event: CallRing) -> None:
        if event.cid in self._calls:
            return
        caller = CallMember.from_user(event.user)
        call = self._new_call(
            event.cid,
            Direction.INCOMING,
            caller=caller,
            members=tuple(CallMember.from_member(m) for m in event.members),
            custom=dict(event.call.custom),
        )
        call.video = event.video
        self._calls[event.cid] = call
        call.ringing()
        self._listeners.emit(
            "incomingCall",
            IncomingCall(
                cid=event.cid, caller=caller, custom=dict(event.call.custom), video=event.video
            ),
        )


def _other_members(user_ids: object, me: str, what: str = "user_ids") -> list[str]:
    """The distinct user ids in ``user_ids`` besides ``me``, in order (checked)."""
    if not isinstance(user_ids, list | tuple) or not all(
        isinstance(u, str) and u for u in user_ids
    ):
        raise InvalidArguments(f"{what} must be a list of user id strings, not {user_ids!r}")
    return list(dict.fromkeys(u for u in user_ids if u != me))
