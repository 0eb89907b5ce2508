"""Requests that only read: ``ping``, ``call.get``, ``calls.query``, ``users.query``,
``users.online``.

They change nothing and cause no events; what they return is filtered by what the asking
connection may see (``read-call`` in the call, the token's ``call_cids``, the same app).
"""

from __future__ import annotations

from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.models import CallResponse, iso
from streamcall_widget.protocol.replies import CallsPage, OnlineUsersPage, PingResult, UsersPage

from .context import Context, Registry
from .query import CallQuery
from .state import ConnectionRecord

__all__ = ["HANDLERS"]


def ping(ctx: Context, conn: ConnectionRecord, req: rq.Ping, now: float) -> PingResult:
    """``ping``: the server clock (and proof of life for the idle timeout)."""
    return PingResult(server_time=iso(now))


def get(ctx: Context, conn: ConnectionRecord, req: rq.GetCall, now: float) -> CallResponse:
    """``call.get``: the call as this user sees it."""
    return ctx.response(ctx.call(conn, req.cid, Capability.READ_CALL), conn)


def query_calls(ctx: Context, conn: ConnectionRecord, req: rq.QueryCalls, now: float) -> CallsPage:
    """``calls.query``: one page of the readable calls matching the filter."""
    query = CallQuery(req.filter_conditions, [(s.field, s.direction) for s in req.sort])
    visible = (
        c
        for c in ctx.app(conn.app).calls.values()
        if Capability.READ_CALL in c.capabilities(conn)
        and (conn.call_cids is None or c.cid in conn.call_cids)
    )
    page, next_cursor = query.page(visible, req.limit, req.next)
    return CallsPage(calls=[ctx.response(c, conn) for c in page], next=next_cursor)


def query_users(ctx: Context, conn: ConnectionRecord, req: rq.QueryUsers, now: float) -> UsersPage:
    """``users.query``: the known users among those asked for, with presence."""
    users = ctx.app(conn.app).users
    return UsersPage(users=[users[u].to_data() for u in req.user_ids if u in users])


def online_users(
    ctx: Context, conn: ConnectionRecord, req: rq.OnlineUsers, now: float
) -> OnlineUsersPage:
    """``users.online``: one page, by user id, of the other users of the same app with a
    live connection (for a call-restricted token: only members of its calls)."""
    app = ctx.app(conn.app)
    allowed: set[str] | None = None
    if conn.call_cids is not None:
        allowed = {
            user
            for cid in conn.call_cids
            if (call := app.calls.get(cid)) is not None
            for user in call.members
        }
    online = sorted(
        user_id
        for user_id, user in app.users.items()
        if user.connections
        and user_id != conn.user_id
        and (allowed is None or user_id in allowed)
        and (req.next is None or user_id > req.next)
    )
    page = online[: req.limit]
    more = len(online) > req.limit
    return OnlineUsersPage(
        users=[app.users[u].to_data() for u in page], next=page[-1] if more else None
    )


HANDLERS: Registry = {
    rq.Ping: ping,
    rq.GetCall: get,
    rq.QueryCalls: query_calls,
    rq.QueryUsers: query_users,
    rq.OnlineUsers: online_users,
}
