"""Rights in a call: ask for, grant and revoke send capabilities, go live and back, and
what a change of rights does to the media; a base class of
:class:`~streamcall_widget.engine.call.Call` (seed 003's ``requestCallPermissions``,
``updateUserPermissions``, ``goLive``, ``stopLive``, ``call.permission_request`` and
``call.permissions_updated``).

The coordinator keeps each user's capabilities per call and tells every member when they
change (``call.permissions_updated``). A revoked send capability stops the media on both
ends, so no single side has to be trusted:

- the sender stops sending that track type to every peer at once and switches that
  device off (the track stays open), and refuses to turn it on
  (:class:`~streamcall_widget.errors.NotAllowed`) until the right is granted again; then
  the user turns it on, as in Stream's SDK: a grant never makes a microphone live by
  itself;
- every receiver drops whatever still arrives of that track type from that user's
  sessions: each participant carries its ``send_capabilities`` (from the coordinator's
  participant data, then its ``call.permissions_updated`` events) and
  :class:`~streamcall_widget.engine.remote_media.RemoteMedia` gates by them.

A session never sends a track type it has no capability for: a livestream viewer joins
with nothing sent, and no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamcall_widget.errors import InvalidArguments, NotAllowed
from streamcall_widget.protocol.call_types import REQUESTABLE, Capability
from streamcall_widget.protocol.events import (
    AnyEvent,
    PermissionRequest,
    PermissionsUpdated,
)
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import TRACK_CAPABILITY, CallResponse, TrackType
from streamcall_widget.protocol.requests import (
    GoLive,
    RequestPermissions,
    StopLive,
    UpdatePermissions,
)

from .call_parts import CallParts
from .results import SuccessResponse
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

    from .participants import ParticipantTable
    from .remote_media import RemoteMedia

__all__ = [
    "REQUESTABLE_PERMISSIONS",
    "CallRights",
    "PermissionRequestEvent",
    "PermissionsUpdatedEvent",
]

REQUESTABLE_PERMISSIONS = tuple(sorted(str(c) for c in REQUESTABLE))
"""The capabilities a user may ask for, be granted or lose: send-audio, send-video,
screenshare."""


def _denied_tracks(capabilities: tuple[str, ...] | list[str]) -> frozenset[TrackType]:
    """The track types a user with ``capabilities`` may not send."""
    return frozenset(t for t, needed in TRACK_CAPABILITY.items() if needed not in capabilities)


@dataclass(frozen=True)
class PermissionRequestEvent:
    """``permissionRequest`` listeners: ``user_id`` (called ``name``) asks for
    ``permissions`` in call ``cid`` (``type:id``; only users who may grant them hear it)."""

    cid: str
    user_id: str
    permissions: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class PermissionsUpdatedEvent:
    """``permissionsUpdated`` listeners: ``user_id``'s capabilities in call ``cid`` are
    now ``capabilities`` (every member hears it)."""

    cid: str
    user_id: str
    capabilities: tuple[str, ...]


class CallRights(CallParts):
    """Permission and live methods; the call provides what is declared here."""

    if TYPE_CHECKING:
        _remote: RemoteMedia
        _participants: ParticipantTable

        async def publish(self, track: TrackType, published: bool) -> None: ...

        def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None: ...

    _withheld: frozenset[TrackType] = frozenset()
    """Shared tracks (camera, microphone) kept from the peers because a right is missing."""

    @property
    def is_live(self) -> bool:
        """Whether the call is live (False while a backstage call waits for ``go_live``)."""
        return not self._core.backstage

    def may_send(self, track_type: TrackType) -> bool:
        """Whether this user may send ``track_type`` in this call now."""
        return TRACK_CAPABILITY[track_type] in self.own_capabilities

    @threadsafe
    async def request_permissions(self, permissions: list[str]) -> SuccessResponse:
        """Ask the users who may grant them for ``permissions`` (send-audio, send-video,
        screenshare); they hear ``permissionRequest``."""
        asked = _checked(permissions)
        request = RequestPermissions(id="", cid=self.cid, permissions=asked)
        await self._host.request(request, type(None))
        return SuccessResponse()

    @threadsafe
    async def grant_permissions(self, user_id: str, permissions: list[str]) -> SuccessResponse:
        """Give ``user_id`` these capabilities in this call (needs update-call-permissions)."""
        return await self._update(user_id, grant=_checked(permissions), revoke=[])

    @threadsafe
    async def revoke_permissions(self, user_id: str, permissions: list[str]) -> SuccessResponse:
        """Take these capabilities from ``user_id`` in this call: what they sent of them
        stops at once, at their end and at every receiver (needs update-call-permissions)."""
        return await self._update(user_id, grant=[], revoke=_checked(permissions))

    async def _update(
        self, user_id: str, *, grant: list[Capability], revoke: list[Capability]
    ) -> SuccessResponse:
        if not isinstance(user_id, str) or not user_id:
            raise InvalidArguments(f"user_id must be a member's user id, not {user_id!r}")
        if "update-call-permissions" not in self.own_capabilities:
            raise NotAllowed(
                f"{self.user_id} may not change permissions in {self.cid}: that needs the "
                "update-call-permissions capability (a host or admin has it)"
            )
        request = UpdatePermissions(
            id="", cid=self.cid, user_id=user_id, grant=grant, revoke=revoke
        )
        await self._host.request(request, type(None))
        return SuccessResponse()

    @threadsafe
    async def go_live(self) -> SuccessResponse:
        """Take a backstage call live: everyone with join-call may now join (needs
        update-call; InvalidState if it is live already)."""
        response = await self._host.request(GoLive(id="", cid=self.cid), CallResponse)
        self._core.backstage = response.call.backstage
        return SuccessResponse()

    @threadsafe
    async def stop_live(self) -> SuccessResponse:
        """Take the call back to backstage (needs update-call; InvalidState if not live)."""
        response = await self._host.request(StopLive(id="", cid=self.cid), CallResponse)
        self._core.backstage = response.call.backstage
        return SuccessResponse()

    def _rights_event(self, event: AnyEvent) -> None:
        """Follow a coordinator event about rights (after the call core took it: our own
        capabilities are already updated; the core follows backstage from every event
        describing the call)."""
        match event:
            case PermissionRequest():
                asked = tuple(str(p) for p in event.permissions)
                name = event.user.name or event.user.id
                request = PermissionRequestEvent(self.cid, event.user.id, asked, name)
                self._host.notify("permissionRequest", request)
            case PermissionsUpdated():
                capabilities = tuple(str(c) for c in event.own_capabilities)
                sends = tuple(c for c in capabilities if c in REQUESTABLE_PERMISSIONS)
                for p in self._participants.all():
                    if p.user_id == event.user_id:
                        self._participants.update(p.session_id, send_capabilities=sends)
                self._remote.regate()
                if event.user_id == self.user_id:
                    self._spawn(self._follow_own_rights(), f"following rights in {self.cid}")
                updated = PermissionsUpdatedEvent(self.cid, event.user_id, capabilities)
                self._host.notify("permissionsUpdated", updated)

    async def _follow_own_rights(self) -> None:
        """Stop sending what we lost the right to; send again what was granted back."""
        transport = self._links.transport
        if transport is None:
            return
        denied = _denied_tracks(self.own_capabilities)
        for track_type, track in self._streams.sent().items():
            if track_type in denied:
                await transport.unpublish(track_type)
                if track_type in _SHARED:
                    self._withheld |= {track_type}
                    await self._host.switch_off(track_type)
                    continue
                await self._streams.close(track_type)  # an own track (a share) ends
                if track_type is TrackType.SCREEN_SHARE:
                    closed = self.lifecycle.note(CallState.LOCAL_SHARE_CLOSED, user_id=self.user_id)
                    self._emit([closed])
            elif track_type in self._withheld:
                self._withheld -= {track_type}
                await transport.publish(track_type, track)
                if self._streams.announced(track_type):
                    await self.publish(track_type, True)

    async def _sendable(self, track_type: TrackType) -> bool:
        """Whether joining should send ``track_type``; the camera and microphone it may not
        send are switched off and remembered, to be sent once granted (and turned on)."""
        allowed = self.may_send(track_type)
        if track_type in _SHARED:
            self._withheld = (
                self._withheld - {track_type} if allowed else self._withheld | {track_type}
            )
            if not allowed:
                await self._host.switch_off(track_type)
        return allowed


_SHARED = frozenset({TrackType.AUDIO, TrackType.VIDEO})
"""The client's camera and microphone: kept open (and switched as they are) while a right
is missing, unlike a call's own tracks (a screen share), which end."""


def _checked(permissions: object) -> list[Capability]:
    """``permissions`` as a non-empty list of requestable capabilities, or
    InvalidArguments naming the allowed ones."""
    allowed = ", ".join(REQUESTABLE_PERMISSIONS)
    if isinstance(permissions, str) or not isinstance(permissions, (list, tuple)):
        raise InvalidArguments(f"permissions must be a list of capabilities ({allowed})")
    bad = [p for p in permissions if p not in REQUESTABLE_PERMISSIONS]
    if bad or not permissions:
        raise InvalidArguments(f"cannot ask for {bad or 'no permission'}; allowed: {allowed}")
    return [Capability(p) for p in dict.fromkeys(permissions)]
