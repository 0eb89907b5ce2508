"""A call's existence and settings: ``call.get_or_create`` and ``call.update``.

Creating a call makes its creator a ``host`` member beside the members asked for, applies
the call type's settings with the request's overrides, announces ``call.created`` and, when
asked, rings the other members at once.
"""

from __future__ import annotations

from typing import Any

import msgspec

from streamcall_widget.errors import InputError, InvalidState, NotAllowed
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import CallSettings, Capability, Role, call_type
from streamcall_widget.protocol.models import CallResponse, MemberInput, iso

from .context import Context, Registry, global_role, require
from .ring import ring
from .state import CallRecord, ConnectionRecord, Member

__all__ = ["HANDLERS", "member_role", "with_overrides"]


def get_or_create(
    ctx: Context, conn: ConnectionRecord, req: rq.GetOrCreateCall, now: float
) -> CallResponse:
    """``call.get_or_create``: the call, created first if it does not exist."""
    ctype = call_type(req.call_type)
    cid = f"{ctype.name}:{req.call_id}"
    app = ctx.app(conn.app)
    if conn.call_cids is not None and cid not in conn.call_cids:
        raise NotAllowed(f"this token only gives access to calls {sorted(conn.call_cids)}")
    call = app.calls.get(cid)
    created = call is None
    if call is None:
        if Capability.CREATE_CALL not in ctype.capabilities(global_role(conn)):
            raise NotAllowed(f"{conn.user_id} may not create {ctype.name} calls")
        # The creator is the host unless the request names the creator with a role.
        creator = MemberInput(user_id=conn.user_id, role=Role.HOST)
        listed = [m for m in req.members if m.user_id != conn.user_id or m.role is not None]
        members = [creator, *listed]
        if req.ring and all(m.user_id == conn.user_id for m in members):
            raise InvalidState(f"nobody to ring in {cid}: the call has no member but the caller")
        roles = {m.user_id: member_role(m) for m in members}
        settings = with_overrides(ctype.settings, req.settings_override)
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
            ctx.ensure_user(app, m.user_id, now)
            if m.user_id not in call.members:
                call.members[m.user_id] = Member(m.user_id, roles[m.user_id], now, m.custom)
        app.calls[cid] = call
        ctx.emit_to_members(
            call,
            ev.CallCreated(
                cid=cid,
                created_at=iso(now),
                call=call.to_data(app.users),
                members=call.members_data(app.users),
            ),
        )
        ctx.save(call)
    else:
        require(call, conn, Capability.READ_CALL)
    if req.ring:
        ring(ctx, call, conn, [], video=req.video, now=now)
    return ctx.response(call, conn, created=created)


def update(ctx: Context, conn: ConnectionRecord, req: rq.UpdateCall, now: float) -> CallResponse:
    """``call.update``: new custom data and/or settings."""
    call = ctx.call(conn, req.cid, Capability.UPDATE_CALL)
    if req.custom is not None:
        call.custom = req.custom
    if req.settings_override is not None:
        call.settings = with_overrides(call.settings, req.settings_override)
    ctx.updated(call, now)
    return ctx.response(call, conn)


def member_role(member: MemberInput) -> Role:
    """The role a member is added with (``call_member`` by default); INPUT_ERROR if unknown."""
    allowed = (Role.CALL_MEMBER, Role.HOST, Role.ADMIN)
    role = member.role or Role.CALL_MEMBER
    if role not in allowed:
        raise InputError(
            f"member {member.user_id} has unknown role {role!r}; allowed: {', '.join(allowed)}"
        )
    return Role(role)


def with_overrides(base: CallSettings, override: Any) -> CallSettings:
    """``base`` with the fields ``override`` sets (a SettingsOverride or None)."""
    if override is None:
        return base
    changes = {
        f: getattr(override, f)
        for f in ("video_enabled", "backstage_enabled", "ring")
        if getattr(override, f) is not None
    }
    return msgspec.structs.replace(base, **changes)


HANDLERS: Registry = {
    rq.GetOrCreateCall: get_or_create,
    rq.UpdateCall: update,
}
