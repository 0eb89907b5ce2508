"""Who is in a call and what they may do: members, permissions and pins.

``call.update_members`` adds and removes members (a removed member's sessions leave with
reason ``removed``); ``call.request_permissions`` asks the moderators for a capability and
``call.update_permissions`` grants or revokes one per user and call (a revoked send
capability unpublishes the tracks that needed it); ``call.pin`` / ``call.unpin`` pin a
session for everyone.
"""

from __future__ import annotations

from streamcall_widget.errors import DoesNotExist, InputError
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import REQUESTABLE, Capability
from streamcall_widget.protocol.models import TRACK_CAPABILITY, CallResponse, PinData, iso

from .calls import member_role
from .context import Context, Delivery, Registry
from .participants import remove_participant, set_track
from .state import ConnectionRecord, Member

__all__ = ["HANDLERS"]


def update_members(
    ctx: Context, conn: ConnectionRecord, req: rq.UpdateMembers, now: float
) -> CallResponse:
    """``call.update_members``: add and/or remove members."""
    call = ctx.call(conn, req.cid, Capability.UPDATE_CALL_MEMBER)
    app = ctx.apps[call.app]
    roles = {m.user_id: member_role(m) for m in req.add}
    missing = [u for u in req.remove if u not in call.members]
    if missing:
        raise DoesNotExist(f"cannot remove {missing}: not members of {call.cid}")
    if req.add:
        for m in req.add:
            ctx.ensure_user(app, m.user_id, now)
            call.members[m.user_id] = Member(m.user_id, roles[m.user_id], now, m.custom)
        added = {m.user_id for m in req.add}
        ctx.emit_to_members(
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
                remove_participant(ctx, call, p.session_id, "removed", now)
        ctx.emit_to_members(
            call, ev.MemberRemoved(cid=call.cid, created_at=iso(now), user_ids=list(req.remove))
        )
        for user_id in req.remove:
            del call.members[user_id]
    ctx.updated(call, now, announce=False)
    return ctx.response(call, conn)


def request_permissions(
    ctx: Context, conn: ConnectionRecord, req: rq.RequestPermissions, now: float
) -> None:
    """``call.request_permissions``: tell the members who may grant them."""
    call = ctx.call(conn, req.cid, Capability.READ_CALL)
    bad = [p for p in req.permissions if p not in REQUESTABLE]
    if bad or not req.permissions:
        raise InputError(
            f"cannot request {[str(p) for p in bad] or 'nothing'}; "
            f"allowed: {sorted(str(p) for p in REQUESTABLE)}"
        )
    app = ctx.apps[call.app]
    event = ev.PermissionRequest(
        cid=call.cid,
        created_at=iso(now),
        user=app.users[conn.user_id].to_data(),
        permissions=list(req.permissions),
    )
    for user_id in call.members:
        granted = any(
            Capability.UPDATE_CALL_PERMISSIONS in call.capabilities(ctx.connections[c])
            for c in app.users[user_id].connections
        )
        if granted:
            ctx.deliver(Delivery(call.app, user_id, event))


def update_permissions(
    ctx: Context, conn: ConnectionRecord, req: rq.UpdatePermissions, now: float
) -> None:
    """``call.update_permissions``: grant or revoke send capabilities of one member."""
    call = ctx.call(conn, req.cid, Capability.UPDATE_CALL_PERMISSIONS)
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
    target = ConnectionRecord("", call.app, req.user_id, ctx.users(call)[req.user_id].role, None)
    caps = call.capabilities(target)
    ctx.emit_to_members(
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
            if TRACK_CAPABILITY[track] not in caps:
                set_track(
                    ctx, call, p, track, published=False, now=now, reason="permission_revoked"
                )


def pin(ctx: Context, conn: ConnectionRecord, req: rq.PinParticipant, now: float) -> None:
    """``call.pin``: pin a session for everyone (the newest pin first)."""
    call = ctx.call(conn, req.cid, Capability.PIN_FOR_EVERYONE)
    participant = call.participants.get(req.session_id)
    if participant is None or participant.user_id != req.user_id:
        raise DoesNotExist(f"no session {req.session_id!r} of {req.user_id} in {call.cid}")
    call.pins = [p for p in call.pins if p.session_id != req.session_id]
    call.pins.insert(0, PinData(user_id=req.user_id, session_id=req.session_id))
    ctx.emit_to_members(
        call,
        ev.CallPinned(
            cid=call.cid, created_at=iso(now), session_id=req.session_id, user_id=req.user_id
        ),
    )


def unpin(ctx: Context, conn: ConnectionRecord, req: rq.UnpinParticipant, now: float) -> None:
    """``call.unpin``: remove a pin for everyone."""
    call = ctx.call(conn, req.cid, Capability.PIN_FOR_EVERYONE)
    pinned = [p for p in call.pins if p.session_id == req.session_id]
    if not pinned or pinned[0].user_id != req.user_id:
        raise DoesNotExist(
            f"session {req.session_id!r} of {req.user_id} is not pinned in {call.cid}"
        )
    call.pins = [p for p in call.pins if p.session_id != req.session_id]
    ctx.emit_to_members(
        call,
        ev.CallUnpinned(
            cid=call.cid, created_at=iso(now), session_id=req.session_id, user_id=req.user_id
        ),
    )


HANDLERS: Registry = {
    rq.UpdateMembers: update_members,
    rq.RequestPermissions: request_permissions,
    rq.UpdatePermissions: update_permissions,
    rq.PinParticipant: pin,
    rq.UnpinParticipant: unpin,
}
