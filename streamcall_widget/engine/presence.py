"""Who can be called and who was called: ``online_users()`` and ``call_history()``.

A mixin of :class:`~streamcall_widget.engine.client.StreamCall` for dialers: the users of
the app online now (the coordinator's ``users.online``) and the user's past calls (from
``query_calls``) as :class:`PastCall` rows, most recent first. :func:`past_call` is the one
place a call record becomes a history row.
"""

from __future__ import annotations

import enum
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.lifecycle import CallMember
from streamcall_widget.protocol.models import CallResponse, parse_iso
from streamcall_widget.protocol.replies import CallsPage, OnlineUsersPage
from streamcall_widget.protocol.requests import OnlineUsers, QueryCalls, Request, SortParam

from .threadsafe import threadsafe

if TYPE_CHECKING:
    from .loop import EngineFuture

__all__ = ["CallDirection", "PastCall", "Presence", "User", "past_call"]

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE = 100
"""The most users or calls one request returns."""


@dataclass(frozen=True)
class User:
    """A user of the app, as a dialer lists them."""

    user_id: str
    name: str | None
    image: str | None
    online: bool


class CallDirection(enum.StrEnum):
    """How a past call went for the user whose history it is."""

    PLACED = "placed"
    """They made the call (rang or created it)."""
    RECEIVED = "received"
    """Someone else called and they took part."""
    MISSED = "missed"
    """Someone else called and they never took part: no answer, declined, busy or offline."""


@dataclass(frozen=True)
class PastCall:
    """One row of a call history."""

    call_id: str
    call_type: str
    others: tuple[CallMember, ...]
    """The other members (whom to call back)."""
    direction: CallDirection
    at: float
    """When the call was created (POSIX seconds)."""
    video: bool
    """Rung as a video call (a call never rung: its ``video_enabled`` setting)."""
    duration: float | None
    """Seconds between the first join and the end of the session; None if nobody joined."""


def past_call(response: CallResponse, me: str) -> PastCall:
    """The history row of one call, as ``me`` lived it."""
    call = response.call
    session = call.session
    if call.created_by.id == me:
        direction = CallDirection.PLACED
    elif session is not None and (
        me in session.accepted_by or (call.ring_video is None and session.started_at)
    ):
        direction = CallDirection.RECEIVED
    else:
        direction = CallDirection.MISSED
    duration = None
    if session is not None and session.started_at is not None:
        ended = session.ended_at or call.ended_at
        if ended is not None:
            duration = max(0.0, parse_iso(ended) - parse_iso(session.started_at))
    return PastCall(
        call_id=call.id,
        call_type=call.type,
        others=tuple(CallMember.from_member(m) for m in response.members if m.user_id != me),
        direction=direction,
        at=parse_iso(call.created_at),
        video=call.settings.video_enabled if call.ring_video is None else call.ring_video,
        duration=duration,
    )


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidArguments(f"limit must be an integer from 1 to {MAX_PAGE}, not {limit!r}")
    return limit


class Presence:
    """Dialer methods; the client provides what is declared here."""

    if TYPE_CHECKING:

        @property
        def user_id(self) -> str: ...

        def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]: ...

        async def request(self, request: Request, result_type: type[R]) -> R: ...

    @threadsafe
    async def online_users(self, limit: int = MAX_PAGE) -> list[User]:
        """The other users of the app online now, by user id (at most ``limit``, 1 to 100):
        whom ``call()`` can ring. Users of other apps are never listed."""
        self.user_id  # noqa: B018 - raises when not logged in
        page = await self.request(OnlineUsers(id="", limit=_checked_limit(limit)), OnlineUsersPage)
        return [User(u.id, u.name, u.image, u.online) for u in page.users]

    @threadsafe
    async def call_history(self, limit: int = 20) -> list[PastCall]:
        """Your ended calls, most recent first (at most ``limit``, 1 to 100): whom you
        called, who called you and which you missed, for a "call back" list."""
        me = self.user_id
        # The wire's calls, not query_calls()'s summaries: a row needs who accepted and
        # how the call was rung, which the public CallSummary leaves out.
        request = QueryCalls(
            id="",
            filter_conditions={"members": {"$in": [me]}, "ended": True},
            sort=[SortParam(field="created_at", direction=-1)],
            limit=_checked_limit(limit),
        )
        page = await self.request(request, CallsPage)
        return [past_call(response, me) for response in page.calls]
