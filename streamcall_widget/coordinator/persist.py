"""From records to the store and back: what a restarted coordinator gets again.

:func:`stored_call` is the row written for a call after each change (its wire shape, its
members, which connection holds each session, whether it was rung). :func:`restore` rebuilds
the records when the coordinator starts: calls with their history and their live session
(participants, published tracks, pins), and every connection that was open, *detached*:
its sessions wait ``session_grace`` seconds from the restart for the clients to resume
(``session.resume``), then leave with reason ``disconnected``; and the users' push
registrations, as far as their providers are still configured. Rings are not restored.
"""

from __future__ import annotations

from collections.abc import Iterable

from streamcall_widget.protocol.models import parse_iso

from .context import App, Context, Detached
from .state import CallRecord, ConnectionRecord, Participant, UserRecord, record_from_data
from .store import (
    DeleteConnection,
    DeletePushRegistration,
    StoredCall,
    StoredConnection,
    StoredPushRegistration,
)

__all__ = ["restore", "stored_call"]


def stored_call(ctx: Context, call: CallRecord) -> StoredCall:
    """The store's row for a call now."""
    users = ctx.users(call)
    return StoredCall(
        call=call.to_data(users),
        members=call.members_data(users),
        connections={s: p.connection_id for s, p in call.participants.items()},
        rung=call.rung,
    )


def restore(
    ctx: Context,
    calls: Iterable[tuple[str, StoredCall]],
    connections: Iterable[StoredConnection],
    registrations: Iterable[StoredPushRegistration],
    now: float,
) -> None:
    """Load what the store kept into ``ctx`` (a fresh one), at time ``now``."""
    for app_key, stored in calls:
        _restore_call(ctx, ctx.app(app_key), app_key, stored)
    for registration in registrations:
        _restore_registration(ctx, registration, now)
    holders: dict[str, ConnectionRecord] = {}
    for stored_conn in connections:
        holders[stored_conn.id] = ConnectionRecord(
            id=stored_conn.id,
            app=stored_conn.app,
            user_id=stored_conn.user_id,
            role=stored_conn.role,
            call_cids=frozenset(stored_conn.call_cids) if stored_conn.call_cids else None,
            resume_digest=stored_conn.resume_digest,
        )
    for app_key, app in ctx.apps.items():
        for call in app.calls.values():
            for p in call.participants.values():
                holder = holders.get(p.connection_id)
                if holder is None or holder.app != app_key or holder.user_id != p.user_id:
                    # Nobody can resume it (the connection record was lost): it still
                    # leaves in due course, like any other.
                    holder = ConnectionRecord(
                        id=f"restored-{p.session_id}",
                        app=app_key,
                        user_id=p.user_id,
                        role="user",
                        call_cids=None,
                    )
                    holders[holder.id] = holder
                    p.connection_id = holder.id
                holder.sessions[call.cid] = p.session_id
    for holder in holders.values():
        if not holder.sessions:
            ctx.writes.append(DeleteConnection(holder.id))  # nothing left to resume
            continue
        ctx.ensure_user(ctx.app(holder.app), holder.user_id, now)
        ctx.detached[holder.id] = Detached(holder, now + ctx.session_grace)
    ctx.timers_changed = bool(ctx.detached)


def _restore_registration(ctx: Context, stored: StoredPushRegistration, now: float) -> None:
    """A user's push registration, without the providers no longer configured (forgotten
    altogether when none is left)."""
    known = ctx.push_providers
    push = stored.push_provider_name if stored.push_provider_name in known else None
    voip = stored.voip_provider_name if stored.voip_provider_name in known else None
    if push is None and voip is None:
        ctx.writes.append(DeletePushRegistration(stored.app, stored.user_id))
        return
    user = ctx.ensure_user(ctx.app(stored.app), stored.user_id, now)
    user.push_provider, user.voip_provider = push, voip


def _restore_call(ctx: Context, app: App, app_key: str, stored: StoredCall) -> None:
    call = record_from_data(app_key, stored.call, stored.members)
    call.rung = stored.rung
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
    ctx.ensure_user(app, stored.call.created_by.id, call.created_at)
    session = stored.call.session
    if session is not None and call.ended_at is None and session.participants:
        call.session_id = session.id
        call.session_started_at = parse_iso(session.started_at) if session.started_at else None
        for p in session.participants:
            ctx.ensure_user(app, p.user_id, call.created_at)
            call.participants[p.session_id] = Participant(
                session_id=p.session_id,
                user_id=p.user_id,
                connection_id=stored.connections.get(p.session_id, ""),
                joined_at=parse_iso(p.joined_at),
                published=set(p.published_tracks),
                on_hold=p.on_hold,
            )
        call.pins = [pin for pin in stored.call.pins if pin.session_id in call.participants]
    app.calls[call.cid] = call
