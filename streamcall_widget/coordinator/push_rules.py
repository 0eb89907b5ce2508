"""Push registrations, and the notices a ring sends to callees who are offline.

``push.register`` keeps, on the user's record of the app, the provider names the user
chose among those this coordinator has (:attr:`~.context.Context.push_providers`);
``push.unregister`` clears them. Registration is per user and replaces the previous one,
so registering again (a second kernel, a reconnect) changes nothing twice; it outlives the
connection that made it, since reaching a user without one is its point, and is stored
(:mod:`.store`) so that it outlives a restart of the coordinator too.

A ring reaches a registered callee with no live connection through a
:class:`~streamcall_widget.protocol.push.RingNotice` to their VoIP provider (else their push
provider), and they keep ringing: a connection they open during the ring is rung. Each one
rung that way gets a :class:`~streamcall_widget.protocol.push.MissedNotice` (to their push
provider, else their VoIP one) when the ring ends without their accepting, or an
:class:`~streamcall_widget.protocol.push.AnsweredNotice` when they accepted from a
connection, so the device stops ringing. The notices pile up in
:attr:`~.context.Context.notices`; the server sends them (:mod:`.push`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from streamcall_widget.errors import DoesNotExist, InvalidArguments
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.models import iso
from streamcall_widget.protocol.push import (
    AnsweredNotice,
    MissedNotice,
    MissedReason,
    NoticeKind,
    NoticeUser,
    RingNotice,
)
from streamcall_widget.protocol.replies import PushRegistration
from streamcall_widget.protocol.ringing import Ring

from .context import Context, Registry
from .state import CallRecord, ConnectionRecord, UserRecord
from .store import DeletePushRegistration, SavePushRegistration, StoredPushRegistration

__all__ = ["HANDLERS", "ring_ended_for", "ring_pushed", "ring_taken"]


def register(
    ctx: Context, conn: ConnectionRecord, req: rq.RegisterPush, now: float
) -> PushRegistration:
    """``push.register``: ring this user through these providers while they are offline."""
    names = [n for n in (req.push_provider_name, req.voip_provider_name) if n is not None]
    if not names:
        raise InvalidArguments(
            "push.register needs push_provider_name, voip_provider_name or both, each a "
            f"provider of this coordinator ({_providers(ctx)})"
        )
    for name in names:
        if name not in ctx.push_providers:
            raise DoesNotExist(f"no push provider {name!r} on this coordinator; {_providers(ctx)}")
    user = ctx.apps[conn.app].users[conn.user_id]
    user.push_provider, user.voip_provider = req.push_provider_name, req.voip_provider_name
    ctx.writes.append(
        SavePushRegistration(
            StoredPushRegistration(
                app=conn.app,
                user_id=user.id,
                push_provider_name=user.push_provider,
                voip_provider_name=user.voip_provider,
            )
        )
    )
    return _registration(user)


def unregister(
    ctx: Context, conn: ConnectionRecord, req: rq.UnregisterPush, now: float
) -> PushRegistration:
    """``push.unregister``: rings reach this user only while connected again."""
    user = ctx.apps[conn.app].users[conn.user_id]
    user.push_provider = user.voip_provider = None
    ctx.writes.append(DeletePushRegistration(conn.app, user.id))
    return _registration(user)


def _registration(user: UserRecord) -> PushRegistration:
    return PushRegistration(
        push_provider_name=user.push_provider, voip_provider_name=user.voip_provider
    )


def _providers(ctx: Context) -> str:
    if not ctx.push_providers:
        return (
            "it has none (its operator adds them with --push-provider NAME=URL, or "
            "STREAMCALL_PUSH_PROVIDERS=NAME=URL,... for the embedded one)"
        )
    return "it has: " + ", ".join(sorted(ctx.push_providers))


def ring_pushed(
    ctx: Context, call: CallRecord, ring: Ring, busy: Collection[str], now: float
) -> None:
    """A ring began: send a ring notice to each callee it rings who has no live
    connection (they are rung only because they registered for push)."""
    users = ctx.users(call)
    for user_id in ring.ringing():
        user = users[user_id]
        route = _route(user, NoticeKind.VOIP)
        if user_id in busy or user.connections or route is None:
            continue
        call.pushed.add(user_id)
        ctx.notices.append(_ring_notice(ctx, call, ring, user_id, route, now=now))


def ring_taken(ctx: Context, call: CallRecord, user_id: str, now: float) -> None:
    """``user_id`` accepted: if they were rung through push, their devices stop ringing
    (they answered elsewhere); every other callee rung through push missed it."""
    if user_id in call.pushed:
        call.pushed.discard(user_id)
        fields = _ring_over_fields(ctx, call, user_id, now)
        if fields is not None:
            ctx.notices.append(AnsweredNotice(**fields))
    for other in sorted(call.pushed):
        ring_ended_for(ctx, call, other, MissedReason.ACCEPTED_BY_OTHER, now)


def ring_ended_for(ctx: Context, call: CallRecord, user_id: str, reason: str, now: float) -> None:
    """The ring is over for ``user_id`` without their accepting (``reason`` a
    :class:`~streamcall_widget.protocol.push.MissedReason` value): if they were rung
    through push, a missed notice lets their device stop ringing (unless they
    unregistered meanwhile: then they want no more notices)."""
    if user_id not in call.pushed:
        return
    call.pushed.discard(user_id)
    fields = _ring_over_fields(ctx, call, user_id, now)
    if fields is not None:
        ctx.notices.append(MissedNotice(**fields, reason=MissedReason(reason)))


def _ring_over_fields(
    ctx: Context, call: CallRecord, user_id: str, now: float
) -> dict[str, Any] | None:
    """The fields of the notice ending a ring ``user_id`` got through push: their ring
    notice's, to their push provider, else their VoIP one (None: they unregistered)."""
    route = _route(ctx.users(call)[user_id], NoticeKind.PUSH)
    if route is None or call.ring is None:
        return None
    return msgspec.structs.asdict(_ring_notice(ctx, call, call.ring, user_id, route, now=now))


def _route(user: UserRecord, preferred: NoticeKind) -> tuple[str, NoticeKind] | None:
    """The provider a notice for ``user`` goes to: the ``preferred`` registration if they
    have it, else the other one, else None (not registered)."""
    routes = {NoticeKind.VOIP: user.voip_provider, NoticeKind.PUSH: user.push_provider}
    for kind in (preferred, *(k for k in routes if k is not preferred)):
        provider = routes[kind]
        if provider is not None:
            return provider, kind
    return None


def _ring_notice(
    ctx: Context,
    call: CallRecord,
    ring: Ring,
    user_id: str,
    route: tuple[str, NoticeKind],
    *,
    now: float,
) -> RingNotice:
    """The ring notice of ``user_id`` through ``route``; a missed notice carries the same
    fields and a reason."""
    caller = ctx.users(call)[ring.caller]
    return RingNotice(
        provider=route[0],
        kind=route[1],
        app=call.app,
        cid=call.cid,
        call_type=call.type.name,
        call_id=call.id,
        user_id=user_id,
        caller=NoticeUser(id=caller.id, name=caller.name, image=caller.image),
        video=call.ring_video,
        created_at=iso(now),
        expires_at=iso(ring.deadline),
    )


HANDLERS: Registry = {rq.RegisterPush: register, rq.UnregisterPush: unregister}
