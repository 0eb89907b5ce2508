"""What ``StreamCall`` answers about calls: the current one, its status, a call's details
and the calls the user may read (``query_calls``), as the public types of
:mod:`~streamcall_widget.engine.results` and :mod:`~streamcall_widget.protocol.lifecycle`,
never wire structs.

A mixin of :class:`~streamcall_widget.engine.client.StreamCall`, in a module of its own:
these methods read; they change no call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.lifecycle import CallEvent, CallState, Direction
from streamcall_widget.protocol.models import CallResponse
from streamcall_widget.protocol.replies import CallsPage
from streamcall_widget.protocol.requests import GetCall, QueryCalls, Request, SortParam

from .call_arguments import call_info, cid_of
from .results import CallSummary, QueryCallsResult
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .call import Call
    from .loop import EngineFuture

__all__ = ["CallQueries"]

R = TypeVar("R")
T = TypeVar("T")


class CallQueries:
    """Read-only call methods; the client provides what is declared here."""

    _calls: dict[str, Call]
    _active: Call | None

    if TYPE_CHECKING:

        def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]: ...

        @property
        def user_id(self) -> str: ...

        async def request(self, request: Request, result_type: type[R]) -> R: ...

    @property
    def current_call(self) -> Call | None:
        """The call in progress, else the latest incoming call still ringing (any thread)."""
        active = self._active
        return active if active is not None else self._latest_ringing()

    def _latest_ringing(self) -> Call | None:
        ringing = [
            c
            for c in list(self._calls.values())
            if c.direction is Direction.INCOMING and c.state is CallState.RINGING
        ]
        return ringing[-1] if ringing else None

    @threadsafe
    async def get_ringing_call(self) -> Call | None:
        """The most recent incoming call still ringing, if any."""
        return self._latest_ringing()

    @threadsafe
    async def get_call_status(self) -> CallEvent:
        """The current call's phase as a callEvent (``idle`` when there is none)."""
        call = self._active or self._latest_ringing()
        if call is not None:
            return call.lifecycle.status()
        return CallEvent(call_id="", state=CallState.IDLE)

    @threadsafe
    async def get_call_info(self, call_id: str, call_type: str = "default") -> CallEvent:
        """A call's state, caller and members (any call you may read)."""
        self.user_id  # noqa: B018 - raises when not logged in
        cid = cid_of(call_id, call_type)
        known = self._calls.get(cid)
        if known is not None:
            return known.lifecycle.status()
        return call_info(await self.request(GetCall(id="", cid=cid), CallResponse))

    @threadsafe
    async def query_calls(
        self,
        filter_conditions: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 25,
        next: str | None = None,
    ) -> QueryCallsResult:
        """Calls you may read, filtered and sorted (see docs/protocol.md, calls.query),
        as :class:`~streamcall_widget.engine.results.CallSummary` values."""
        self.user_id  # noqa: B018 - raises when not logged in
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidArguments(f"limit must be an integer from 1 to 100, not {limit!r}")
        request = QueryCalls(
            id="",
            filter_conditions=filter_conditions or {},
            sort=[SortParam(field=f, direction=d) for f, d in (sort or [])],
            limit=limit,
            next=next,
        )
        page = await self.request(request, CallsPage)
        return QueryCallsResult(
            calls=tuple(CallSummary.from_response(c) for c in page.calls), next=page.next
        )
