"""The tile menu of CallView: pins and each participant's volume.

A mixin of :class:`~streamcall_widget.widgets.call_view.CallView`. The menu on a remote
tile pins it for this client ("Pin for me": a local pin, ``Call.pin(..., for_everyone=
False)``, so every view of this kernel's client shows it), for everyone (with the
``pin-for-everyone`` capability), unpins it, and sets how loud it plays here.

- ``pins``: the pinned tile keys in display order, this client's pins first (newest first)
  then everyone's (the coordinator's order, newest first); the page puts these tiles first
  and spotlight shows the first one big.
- ``volumes``: ``{session_id: 0.0..1.0}``, a participant's playback volume in this view
  (absent: 1.0). The page applies it to the participant's ``<audio>`` element on the WebRTC
  link; on the widget channel the kernel's mixer scales their samples
  (:class:`~streamcall_widget.render.mixer.AudioMixer`), as the page only gets the mix. A
  synced trait, so a reloaded page finds the volumes again; a screen share's audio follows
  its sharer's volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import traitlets

from streamcall_widget.engine.call import Call
from streamcall_widget.engine.loop import EngineFuture
from streamcall_widget.engine.results import SuccessResponse
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.errors import DoesNotExist, InvalidArguments

from .base import EngineWidget, Handler, shows_errors

if TYPE_CHECKING:
    from streamcall_widget.render.media_pipe import MediaPipe

__all__ = ["TileControls"]


class TileControls(EngineWidget):
    """Pins and volumes of the view's tiles (CallView provides ``current`` and ``pipe``)."""

    pins = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Pinned tile keys, first shown first: this client's pins, then everyone's."""
    can_pin_for_everyone = traitlets.Bool(False).tag(sync=True)
    """Whether the local user has ``pin-for-everyone`` in the shown call (the menu item)."""
    volumes = traitlets.Dict(value_trait=traitlets.Float()).tag(sync=True)
    """``{session_id: volume}``, 0.0..1.0, of remote participants (absent: 1.0)."""

    requests: ClassVar[dict[str, Handler]] = {
        "pin": lambda view, message: view.pin(
            message.get("session_id"), for_everyone=message.get("for_everyone", False)
        ),
        "unpin": lambda view, message: view.unpin(message.get("session_id")),
        "volume": lambda view, message: view.set_volume(
            message.get("session_id"), message.get("volume")
        ),
    }

    if TYPE_CHECKING:
        pipe: MediaPipe

        def current(self, doing: str) -> Call: ...

    @shows_errors
    def pin(self, session_id: str, for_everyone: bool = False) -> EngineFuture[SuccessResponse]:
        """Pin the participant of ``session_id`` in this client ("Pin for me"), or for
        everyone (needs ``pin-for-everyone``)."""
        return self.current("pin").pin(session_id, for_everyone=for_everyone)

    @shows_errors
    def unpin(self, session_id: str) -> EngineFuture[SuccessResponse]:
        """Remove this client's pin of ``session_id`` if it has one, else the pin for
        everyone (the menu's "Unpin")."""
        call = self.current("unpin")
        local = any(p.session_id == session_id for p in call.local_pins)
        return call.unpin(session_id, for_everyone=not local)

    @shows_errors
    def set_volume(self, session_id: str, volume: float) -> None:
        """Play the remote participant of ``session_id`` at ``volume`` (0.0 silent ..
        1.0 as received) in this view."""
        if isinstance(volume, bool) or not isinstance(volume, int | float):
            raise InvalidArguments(f"volume must be a number from 0.0 to 1.0, not {volume!r}")
        if not 0.0 <= volume <= 1.0:
            raise InvalidArguments(f"volume must be from 0.0 to 1.0, not {volume}")
        remotes = self.current("set a volume in").remote_participants
        if not isinstance(session_id, str) or all(p.session_id != session_id for p in remotes):
            present = ", ".join(f"{p.session_id} ({p.user_id})" for p in remotes) or "none"
            raise DoesNotExist(
                f"no remote participant with session {session_id!r}; remote participants: {present}"
            )
        self.volumes = {**self.volumes, session_id: float(volume)}
        self.pipe.set_volumes(self.volumes)

    def _refresh_tile_controls(self, call: Call | None) -> None:
        """Follow the shown call (None outside a session): its pins, the right to pin for
        everyone, and the volumes of who is still there."""
        if call is None:
            self.pins, self.can_pin_for_everyone = [], False
            return
        own = call.session_id
        order = [p.session_id for p in (*call.local_pins, *call.pins)]
        keys = [LOCAL if sid == own else sid for sid in order]
        self.pins = list(dict.fromkeys(keys))
        self.can_pin_for_everyone = "pin-for-everyone" in call.own_capabilities
        here = {p.session_id for p in call.remote_participants}
        if any(sid not in here for sid in self.volumes):
            self.volumes = {sid: v for sid, v in self.volumes.items() if sid in here}
        self.pipe.set_volumes(self.volumes)
