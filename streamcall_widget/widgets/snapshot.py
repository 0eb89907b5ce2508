"""The engine's state as the plain dicts the widgets sync to the page.

Pure functions from engine objects to JSON-ready dicts, so the widgets stay wiring and the
shapes (documented in docs/widgets.md) are tested without a browser. Levels are rounded to
0.05: the page cannot show finer steps, and an unchanged dict is not sent again.
"""

from __future__ import annotations

from typing import Any

from streamcall_widget.engine.call import Call
from streamcall_widget.engine.devices import DeviceList
from streamcall_widget.engine.participants import Participant
from streamcall_widget.engine.recording import RecordingResult
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.protocol.call_types import CALL_TYPES
from streamcall_widget.protocol.lifecycle import CallEvent, CallMember, CallState
from streamcall_widget.protocol.models import TrackType, UserData

__all__ = [
    "SCREEN_SUFFIX",
    "call_snapshot",
    "devices_snapshot",
    "left_event_snapshot",
    "participant_snapshot",
    "participant_tiles",
    "rounded_level",
    "user_snapshot",
]

SCREEN_SUFFIX = ":screen"
"""A screen share's tile key is its sharer's tile key plus this."""


def rounded_level(level: float) -> float:
    """A 0..1 level in steps of 0.05."""
    return round(min(max(level, 0.0), 1.0) * 20) / 20


def user_snapshot(user: UserData | None) -> dict[str, Any]:
    """``{user_id, name, image}`` of a user, ``{}`` for nobody."""
    if user is None:
        return {}
    return {"user_id": user.id, "name": user.name or user.id, "image": user.image or ""}


def _member(member: CallMember) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "name": member.name or member.user_id,
        "image": member.image_url or "",
    }


def call_snapshot(call: Call | None) -> dict[str, Any]:
    """The ``call`` trait: phase, direction, who rang, members, start time, end reason."""
    if call is None:
        return {}
    caller = call.caller
    return {
        "call_id": call.id,
        "state": call.state.value,
        "direction": call.direction.value,
        "caller": _member(caller) if caller is not None else {},
        "members": [_member(member) for member in call.members],
        "video": call.video,
        "joined_at": call.joined_at * 1000 if call.joined_at is not None else None,
        "reason": call.lifecycle.reason or "",
        "sharing": call.has_screen_sharing,
        "can_share": "screenshare" in call.own_capabilities,
        "can_send_audio": "send-audio" in call.own_capabilities,
        "can_send_video": "send-video" in call.own_capabilities,
        "can_go_live": _backstage_type(call) and "update-call" in call.own_capabilities,
        "live": call.is_live,
        "on_hold": call.is_on_hold,
        "deaf": call.is_deaf,
        "recording": call.is_recording,
        "can_record": call.can_record,
        "saved_recording": _saved_recording(call.last_recording),
    }


def _saved_recording(result: RecordingResult | None) -> dict[str, Any] | None:
    """Where the latest recording of the call went: ``{name, path, duration}``."""
    if result is None:
        return None
    return {"name": result.path.name, "path": str(result.path), "duration": result.duration}


def _backstage_type(call: Call) -> bool:
    """Whether the call's type starts in backstage (livestream, audio_room)."""
    kind = CALL_TYPES.get(call.type)
    return kind is not None and kind.settings.backstage_enabled


def left_event_snapshot(event: CallEvent, self_user_id: str | None) -> dict[str, Any]:
    """The ``call`` trait of a call known only by its ``left`` event.

    A ring can be over before anyone reads the call (a busy callee ends it at once), so
    the view keeps its last event instead: no start time, no media, only who and why.
    """
    caller = event.caller
    caller_id = caller.user_id if caller is not None else None
    return {
        "call_id": event.call_id,
        "state": CallState.LEFT.value,
        "direction": "outgoing" if caller_id == self_user_id else "incoming",
        "caller": _member(caller) if caller is not None else {},
        "members": [_member(member) for member in event.members],
        "video": False,
        "joined_at": None,
        "reason": event.reason or "",
        "sharing": False,
        "can_share": False,
        "can_send_audio": False,
        "can_send_video": False,
        "can_go_live": False,
        "live": False,
        "on_hold": False,
        "deaf": False,
        "recording": False,
        "can_record": False,
        "saved_recording": None,
    }


def participant_snapshot(participant: Participant) -> dict[str, Any]:
    """One tile of the ``participants`` trait (key ``local`` for the local user)."""
    tracks = participant.published_tracks
    return {
        "key": LOCAL if participant.is_local else participant.session_id,
        "user_id": participant.user_id,
        "name": participant.name or participant.user_id,
        "image": participant.image or "",
        "is_local": participant.is_local,
        "audio": TrackType.AUDIO in tracks,
        "video": TrackType.VIDEO in tracks,
        "speaking": participant.is_speaking,
        "dominant": participant.is_dominant_speaker,
        "quality": participant.connection_quality.value,
        "level": rounded_level(participant.audio_level),
        "screen": False,
        "on_hold": participant.on_hold,
    }


def participant_tiles(participant: Participant) -> list[dict[str, Any]]:
    """A participant's tiles: their own, then their shared screen if they share one.

    The screen is a tile of its own (key: the sharer's key + ``:screen``) whose video is
    the ``screen_share`` track; the local user's share has no video here (nobody needs to
    watch their own screen), only the tile saying it is shown to the others.
    """
    tile = participant_snapshot(participant)
    if TrackType.SCREEN_SHARE not in participant.published_tracks:
        return [tile]
    screen = {
        **tile,
        "key": tile["key"] + SCREEN_SUFFIX,
        "audio": TrackType.SCREEN_SHARE_AUDIO in participant.published_tracks,
        "video": not participant.is_local,
        "speaking": False,
        "dominant": False,
        "level": 0.0,
        "screen": True,
    }
    return [tile, screen]


def devices_snapshot(devices: DeviceList) -> dict[str, list[dict[str, str]]]:
    """The ``devices`` trait: cameras, microphones and speakers as ``{id, label}``."""
    return {
        name: [{"id": device.id, "label": device.label} for device in group]
        for name, group in (
            ("cameras", devices.cameras),
            ("microphones", devices.microphones),
            ("speakers", devices.speakers),
        )
    }
