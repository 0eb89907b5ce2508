"""How ``StreamCall`` gets back on a coordinator after its socket dropped.

A mixin of :class:`~streamcall_widget.engine.client.StreamCall`, in a module of its own:
on a close the client did not ask for, a call in session goes ``reconnecting`` with its
media links up; the client logs in again (retrying with growing delays, finding the
coordinator anew, registering for push again), then resumes the call's session
(``session.resume``: same session, the others see nothing) or, when the coordinator no
longer knows it, joins the call again. If every retry fails, every call is left and the
client is logged out. See docs/engine.md, "Reconnection".
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, TypeVar

from streamcall_widget.errors import ConnectionLost, SessionNotFound, StreamCallError
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import UserData, UserInput
from streamcall_widget.protocol.replies import ResumedSession, ResumeResult
from streamcall_widget.protocol.requests import Request, ResumeSession

from .connection import RESUMING, CoordinatorConnection, ResumeTicket

if TYPE_CHECKING:
    from .access import Target
    from .call import Call

__all__ = ["RECONNECT_DELAYS", "Reconnection"]

logger = logging.getLogger(__name__)

R = TypeVar("R")

RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds before each attempt: about 16 s in all, less than a session's grace period."""


class Reconnection:
    """Reconnection and session resume; the client provides what is declared here."""

    _user: UserData | None
    _closed: bool
    _active: Call | None
    _conn: CoordinatorConnection | None
    _calls: dict[str, Call]
    _target: Target | None
    _reconnect_task: asyncio.Task[None] | None

    if TYPE_CHECKING:

        async def _connect(self, user: UserInput) -> CoordinatorConnection: ...

        async def request(self, request: Request, result_type: type[R]) -> R: ...

        def report(self, where: str, error: BaseException) -> None: ...

        async def _renew_push(self) -> None: ...

    def _on_close(self, reason: str) -> None:
        if self._user is None or self._closed:
            return
        logger.warning("lost the coordinator (%s); reconnecting", reason)
        call = self._active
        if call is not None and call.lifecycle.in_session:
            # Now, before a join whose request just failed sees the error: it then leaves
            # the call to the rejoin instead of ending it.
            call.reconnecting(reason)
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(reason))

    async def _reconnect(self, reason: str) -> None:
        ticket = None
        if self._conn is not None:
            ticket = self._conn.resume_ticket
            await self._conn.close(RESUMING)  # not 1000: the sessions wait for the resume
        call = self._active  # its links stay up: media flows on while the socket is back
        assert self._user is not None
        user = UserInput(id=self._user.id, name=self._user.name, image=self._user.image)
        for delay in RECONNECT_DELAYS:
            await asyncio.sleep(delay)
            try:
                self._conn = await self._connect(user)
                break
            except (ConnectionLost, TimeoutError) as exc:
                logger.info("reconnect failed: %s", exc)
            except StreamCallError as exc:
                self.report("reconnecting", exc)
                break
        else:
            self.report("reconnecting", ConnectionLost(f"gave up reconnecting ({reason})"))
        if self._conn is None or not self._conn.connected:
            for lost in list(self._calls.values()):
                lost._finish("connection_lost")
            self._conn = self._user = self._target = None  # logged out; login() starts over
            return
        await self._renew_push()
        if call is not None and call.state is CallState.RECONNECTING:
            try:
                if not await self._resume(call, ticket):
                    await call.rejoin()
            except StreamCallError as exc:
                self.report(f"rejoining {call.cid}", exc)
                call._finish("connection_lost")

    async def _resume(self, call: Call, ticket: ResumeTicket | None) -> bool:
        """Take ``call``'s session back from the dropped connection (``session.resume``):
        same session, peers untouched. False when it is gone (grace period over, another
        coordinator): the caller then joins again with a new session."""
        if ticket is None or call.session_id is None:
            return False
        resume = ResumeSession(
            id="", connection_id=ticket.connection_id, resume_token=ticket.resume_token
        )
        try:
            result = await self.request(resume, ResumeResult)
        except SessionNotFound:
            return False
        mine = ResumedSession(cid=call.cid, session_id=call.session_id)
        if mine not in result.sessions:
            return False
        await call.resume()
        return True
