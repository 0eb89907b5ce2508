"""The participants of a call as the plugin describes them, kept up to date by the engine.

Each :class:`Participant` is an immutable snapshot; the engine replaces a participant's
snapshot whenever something about it changes, so a user thread reading
``call.participants`` never sees a half-updated record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from streamcall_widget.protocol.models import ParticipantData, TrackType

from .quality import ConnectionQuality, dominant_speaker

__all__ = ["Participant", "ParticipantTable"]


@dataclass(frozen=True)
class Participant:
    """Someone in the call's session (the plugin's ``Participant``)."""

    user_id: str
    session_id: str
    published_tracks: tuple[TrackType, ...] = ()
    """Tracks the participant sends now (muted ones are absent)."""
    joined_at: str = ""
    """When the session joined (RFC 3339)."""
    connection_quality: ConnectionQuality = ConnectionQuality.UNSPECIFIED
    """From RTCP receiver reports of the link to this participant (local: best of links)."""
    is_speaking: bool = False
    is_dominant_speaker: bool = False
    audio_level: float = 0.0
    """0..1, from the decoded audio (remote participants)."""
    name: str | None = None
    image: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    is_local: bool = False
    """Whether this is the local user's own session."""
    on_hold: bool = False
    """Whether the session is on hold (``Call.hold``): no media flows to or from it."""
    send_capabilities: tuple[str, ...] | None = None
    """What the participant may send (``send-audio``, ``send-video``, ``screenshare``), as
    the coordinator last said (None: it did not say); media of other types from it is
    dropped on arrival."""
    is_pinned: bool = False
    """Whether the session is pinned, for everyone or in this client (``Call.pin``)."""

    @property
    def track_lookup_prefix(self) -> str:
        """What this participant's tracks are looked up by (the plugin's
        ``trackLookupPrefix``): its session id, the first half of every
        :class:`~streamcall_widget.engine.tracks.TrackRef` of its media
        (``call.subscribe(TrackRef(p.track_lookup_prefix, TrackType.VIDEO))``)."""
        return self.session_id

    @classmethod
    def from_wire(cls, data: ParticipantData, *, is_local: bool) -> Participant:
        """The snapshot of a participant the coordinator describes."""
        return cls(
            user_id=data.user_id,
            session_id=data.session_id,
            published_tracks=tuple(data.published_tracks),
            joined_at=data.joined_at,
            name=data.user.name,
            image=data.user.image,
            custom=dict(data.user.custom),
            roles=tuple(data.roles),
            is_local=is_local,
            on_hold=data.on_hold,
            send_capabilities=(
                None
                if data.send_capabilities is None
                else tuple(str(c) for c in data.send_capabilities)
            ),
        )


class ParticipantTable:
    """Participants by session id; every change replaces a snapshot."""

    def __init__(self) -> None:
        self._by_session: dict[str, Participant] = {}
        self._dominant: str | None = None

    def __len__(self) -> int:
        return len(self._by_session)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._by_session

    def get(self, session_id: str) -> Participant | None:
        """The participant holding ``session_id``."""
        return self._by_session.get(session_id)

    def all(self) -> tuple[Participant, ...]:
        """Every participant, in join order."""
        return tuple(self._by_session.values())

    def put(self, participant: Participant) -> None:
        """Add or replace a participant."""
        self._by_session[participant.session_id] = participant

    def remove(self, session_id: str) -> Participant | None:
        """Drop a participant; returns it if it was there."""
        if self._dominant == session_id:
            self._dominant = None
        return self._by_session.pop(session_id, None)

    def clear(self) -> None:
        """Forget everyone."""
        self._by_session.clear()
        self._dominant = None

    def update(self, session_id: str, **changes: Any) -> Participant | None:
        """Replace some fields of one participant (None if it is gone)."""
        current = self._by_session.get(session_id)
        if current is None:
            return None
        updated = dataclasses.replace(current, **changes)
        self._by_session[session_id] = updated
        return updated

    def set_track(self, session_id: str, track: TrackType, published: bool) -> None:
        """Record that a participant started or stopped publishing ``track``."""
        current = self._by_session.get(session_id)
        if current is None:
            return
        tracks = [t for t in current.published_tracks if t != track]
        if published:
            tracks.append(track)
        self.update(session_id, published_tracks=tuple(tracks))

    def set_audio(self, session_id: str, level: float, speaking: bool) -> None:
        """Record one audio measurement and re-elect the dominant speaker."""
        if self.update(session_id, audio_level=level, is_speaking=speaking) is None:
            return
        levels = {sid: (p.is_speaking, p.audio_level) for sid, p in self._by_session.items()}
        dominant = dominant_speaker(levels, self._dominant)
        if dominant != self._dominant:
            if self._dominant is not None:
                self.update(self._dominant, is_dominant_speaker=False)
            if dominant is not None:
                self.update(dominant, is_dominant_speaker=True)
            self._dominant = dominant
