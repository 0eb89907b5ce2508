"""CallView, the plugin's "magicDiv": the call's tiles, call screens and media in the page."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, ClassVar

import traitlets

from streamcall_widget.engine.call import Call
from streamcall_widget.engine.client import StreamCall
from streamcall_widget.engine.loop import EngineFuture
from streamcall_widget.engine.participants import Participant
from streamcall_widget.engine.results import SuccessResponse
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import TrackType

from .assets import load_module
from .base import EngineWidget, Handler
from .kernel_activity import watch_kernel_activity
from .media_pipe import MediaPipe
from .snapshot import call_snapshot, participant_snapshot, screen_key, screen_tile

__all__ = ["LAYOUTS", "CallView"]

LAYOUTS = ("grid", "spotlight", "dynamic", "fullscreen")
"""The layouts, in the order ``toggle_views()`` cycles them."""

_BROWSER_SPEAKER = "browser"


def _shares(participant: Participant) -> bool:
    return TrackType.SCREEN_SHARE in participant.published_tracks


class CallView(EngineWidget):
    """Where the call is seen and heard: tiles, incoming/outgoing screens, timer, hang up.

    Frames reach the page as JPEGs at the size each tile is shown, one message per tick
    for all tiles, at most two unacknowledged (see docs/widgets.md); nothing is encoded
    while no view is visible. With the speaker ``browser`` the call's audio plays here.
    """

    _esm = load_module("call_view")

    tile_layout = traitlets.Enum(LAYOUTS, default_value="dynamic").tag(sync=True)
    """``grid``, ``spotlight``, ``dynamic`` or ``fullscreen`` (``layout`` is ipywidgets')."""
    _instance = traitlets.Unicode().tag(sync=True)
    """A random id: the page finds this model's shared media state by it."""
    call = traitlets.Dict().tag(sync=True)
    """The call shown: ``{}`` or ``{call_id, state, direction, caller, members, ...}``."""
    participants = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One tile per participant; ``key`` is ``local`` for the local user."""
    audio_output = traitlets.Bool(False).tag(sync=True)
    """Whether the page plays the call's audio (speaker ``browser``)."""
    duration = traitlets.Float(0.0).tag(sync=True)
    """Seconds since the call was joined."""

    requests: ClassVar[dict[str, Handler]] = {
        "accept": lambda view, _message: view.client.accept_call(),
        "reject": lambda view, _message: view.client.reject_call(),
        "hangup": lambda view, _message: view.client.end_call(),
        "dismiss": lambda view, _message: view.dismiss(),
        "share_screen": lambda view, _message: view.toggle_screen_share(),
    }

    def __init__(self, client: StreamCall | None = None, **kwargs: Any) -> None:
        self._shown: Call | None = None
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self.pipe = MediaPipe(self.send)  # before the refresher can call refresh()
        super().__init__(client, _instance=uuid.uuid4().hex, **kwargs)
        self._tap = self.client.watch_media(self._on_frame)
        self._unwatch_kernel = watch_kernel_activity(self.pipe.kernel_busy)

    def toggle_views(self) -> str:
        """Cycle to the next layout (the plugin's ``toggleViews``); returns it."""
        self.tile_layout = LAYOUTS[(LAYOUTS.index(self.tile_layout) + 1) % len(LAYOUTS)]
        return str(self.tile_layout)

    def toggle_screen_share(self) -> EngineFuture[SuccessResponse]:
        """Share the screen (the default source), or stop sharing it."""
        call = self.client.current_call
        if call is None:
            raise InvalidState("no call to share a screen in")
        return call.stop_screen_share() if call.has_screen_sharing else call.start_screen_share()

    def dismiss(self) -> None:
        """Forget the ended call the view shows (its "call ended" screen)."""
        with self._lock:
            if self._shown is not None and self._shown.state is not CallState.LEFT:
                raise InvalidState(f"call {self._shown.id} is {self._shown.state.value}")
            self._shown = None
        self.refresh()

    # -- engine → page ---------------------------------------------------------------

    def _on_frame(self, key: str, kind: str, frame: Any) -> None:
        if kind == "video":
            self.pipe.video_frame(key, frame)
        elif kind == "screen_share":
            self.pipe.video_frame(screen_key(key), frame)
        elif kind == "audio" and key != LOCAL:
            self.pipe.audio_frame(key, frame)

    def refresh(self) -> None:
        """Show the engine's current call (or the last one, ended) and its participants."""
        with self._lock:
            current = self.client.current_call
            if current is not None:
                self._shown = current
            shown = self._shown
        self.call = call_snapshot(shown)
        in_session = shown is not None and shown.state in (
            CallState.JOINED,
            CallState.RECONNECTING,
        )
        tiles = (
            [screen_tile(p) for p in shown.remote_participants if _shares(p)]
            + [participant_snapshot(p) for p in shown.participants]
            if shown is not None and in_session
            else self._preview_tile()
        )
        self.participants = tiles
        keys = {tile["key"] for tile in tiles}
        for gone in self._keys - keys:
            self.pipe.forget(gone)
        self._keys = keys
        joined_at = shown.joined_at if shown is not None and in_session else None
        self.duration = round(time.time() - joined_at) if joined_at is not None else 0.0
        speaker = self.client.media.speaker
        self.pipe.audio_enabled = self.audio_output = in_session and (
            speaker is None or speaker.id == _BROWSER_SPEAKER
        )

    def _preview_tile(self) -> list[dict[str, Any]]:
        """The local user's own tile outside a call (the camera preview)."""
        user = self.client.user
        if user is None:
            return []
        media = self.client.media
        return [
            {
                "key": LOCAL,
                "user_id": user.id,
                "name": user.name or user.id,
                "image": user.image or "",
                "is_local": True,
                "audio": media.audio.enabled and media.microphone is not None,
                "video": media.video.enabled and media.camera is not None,
                "speaking": False,
                "dominant": False,
                "quality": "unspecified",
                "level": 0.0,
                "screen": False,
            }
        ]

    # -- page → engine ---------------------------------------------------------------

    def receive(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """Acks and viewport reports go to the media pipe."""
        return self.pipe.receive(content)

    def close(self) -> None:
        """Stop the media pipe and the frame tap, then close the widget."""
        self._tap.remove()
        self._unwatch_kernel()
        self.pipe.close()
        super().close()
