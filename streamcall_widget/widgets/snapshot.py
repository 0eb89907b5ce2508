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
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.protocol.lifecycle import CallMember
from streamcall_widget.protocol.models import TrackType, UserData

__all__ = [
    "call_snapshot",
    "devices_snapshot",
    "participant_snapshot",
    "rounded_level",
    "screen_key",
    "screen_tile",
    "user_snapshot",
]


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
    }


def screen_key(session_id: str) -> str:
    """The tile key of the screen ``session_id`` shares."""
    return f"{session_id}:screen"


def screen_tile(participant: Participant) -> dict[str, Any]:
    """The tile of the screen a remote participant shares: their name, no audio badge."""
    tile = participant_snapshot(participant)
    tile.update(
        key=screen_key(participant.session_id),
        audio=True,
        video=True,
        speaking=False,
        dominant=False,
        level=0.0,
        screen=True,
    )
    return tile


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
