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
from streamcall_widget.engine.messaging import CallMessage
from streamcall_widget.engine.page_devices import PAGE_SCREEN
from streamcall_widget.engine.permissions import PermissionRequestEvent, PermissionsUpdatedEvent
from streamcall_widget.engine.results import SuccessResponse
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.errors import InputError, InvalidState
from streamcall_widget.protocol.lifecycle import CallEvent, CallState
from streamcall_widget.render.media_pipe import MediaPipe
from streamcall_widget.render.page_bridge import MEDIA_PATHS, PageBridge

from .assets import load_module
from .base import Handler, shows_errors
from .chat import ChatLog
from .dialer import DialerWidget
from .end_reasons import ended_message
from .kernel_activity import watch_kernel_activity
from .permission_requests import PendingRequests
from .refresher import refresher
from .snapshot import SCREEN_SUFFIX, call_snapshot, left_event_snapshot, participant_tiles
from .tile_controls import TileControls

__all__ = ["LAYOUTS", "CallView"]

LAYOUTS = ("grid", "spotlight", "dynamic", "fullscreen")
"""The layouts, in the order ``toggle_views()`` cycles them."""


class CallView(DialerWidget, TileControls):
    """Where the call is seen and heard: tiles, incoming/outgoing screens, timer, hang up.

    The page is also a device of the kernel: its cameras, microphones and speakers join
    ``list_devices()`` and are used by default (docs/widgets.md, "The page as a device").
    Media between the kernel and the page takes a WebRTC link (native video, the browser's
    echo cancellation) when it connects; otherwise the widget channel: frames as JPEGs at
    the size each tile is shown, at most two messages unacknowledged, nothing encoded while
    no view is visible. With the speaker ``browser`` the call's audio plays here.
    """

    _esm = load_module("call_view")

    tile_layout = traitlets.Enum(LAYOUTS, default_value="dynamic").tag(sync=True)
    """``grid``, ``spotlight``, ``dynamic`` or ``fullscreen`` (``layout`` is ipywidgets')."""
    _instance = traitlets.Unicode().tag(sync=True)
    """A random id: the page finds this model's shared media state by it."""
    call = traitlets.Dict().tag(sync=True)
    """The call shown: ``{}`` or ``{call_id, state, direction, caller, members, ...}``;
    a left call also has ``ended``: ``{key, args}``, the sentence saying why."""
    local_media = traitlets.Dict().tag(sync=True)
    """``{microphone, camera}``: whether each is on (the call controls' pressed state)."""
    participants = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One tile per participant; ``key`` is ``local`` for the local user."""
    audio_output = traitlets.Bool(False).tag(sync=True)
    """Whether the page plays the call's audio (speaker ``browser``)."""
    duration = traitlets.Float(0.0).tag(sync=True)
    """Seconds since the call was joined."""
    media_path = traitlets.Enum(MEDIA_PATHS, default_value="auto").tag(sync=True)
    """How media goes between kernel and page: ``auto`` (WebRTC, the widget channel when it
    cannot connect), ``webrtc`` or ``pipe`` (the widget channel only)."""
    link_path = traitlets.Unicode("pipe").tag(sync=True)
    """The path in use: ``connecting`` (WebRTC being tried), ``webrtc`` or ``pipe``."""
    _ice_servers = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The page's ICE servers for the link: the client's (``StreamCall(ice_servers=...)``)."""
    chat = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The shown call's last 200 messages, oldest first: ``{user_id, name, text, sent_at,
    own}`` (``own``: sent from this client); empty again when another call is shown."""
    chat_unread = traitlets.Int(0).tag(sync=True)
    """Messages of others since the page last sent ``chat_read`` (a badge on Chat)."""

    requests: ClassVar[dict[str, Handler]] = {
        "accept": lambda view, _message: view.client.accept_call(),
        "reject": lambda view, _message: view.client.reject_call(),
        "hangup": lambda view, _message: view.client.end_call(),
        "share_screen": lambda view, _message: view.toggle_screen_share(),
        "dismiss": lambda view, _message: view.dismiss(),
        "microphone": lambda view, _message: view.toggle_microphone(),
        "camera": lambda view, _message: view.toggle_camera(),
        "hold": lambda view, _message: view.current("hold").toggle_hold(),
        "dtmf": lambda view, message: view.current("send tones").send_dtmf(message.get("tones")),
        "deaf": lambda view, _message: view.toggle_deaf(),
        "record": lambda view, _message: view.toggle_recording(),
        "send_message": lambda view, message: view.send_message(message.get("text")),
        "chat_read": lambda view, _message: view.mark_chat_read(),
        "raise_hand": lambda view, _message: view.raise_hand(),
        "grant_permissions": lambda view, message: view.answer_request(
            message.get("user_id"), message.get("permissions"), grant=True
        ),
        "deny_permissions": lambda view, message: view.answer_request(
            message.get("user_id"), message.get("permissions"), grant=False
        ),
        "live": lambda view, _message: view.toggle_live(),
        **DialerWidget.requests,
        **TileControls.requests,
    }

    def __init__(self, client: StreamCall | None = None, **kwargs: Any) -> None:
        self._shown: Call | None = None
        self._left: CallEvent | None = None
        """A call that ended before a refresh saw it (its ``left`` event), else None."""
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._chat = ChatLog()
        self._asking = PendingRequests()
        client = client if client is not None else StreamCall()
        # Both before the refresher can call refresh():
        self.pipe = MediaPipe(self.send)
        self.bridge = PageBridge(client, self.send, self._path_changed)
        super().__init__(client, _instance=uuid.uuid4().hex, **kwargs)
        self._ice_servers = [
            {"urls": list(s.urls), "username": s.username, "credential": s.credential}
            for s in self.client.media_config.ice_servers
        ]
        self._tap = self.client.watch_media(self._on_frame)
        self._listeners.append(self.client.add_listener("message", self._on_message))
        self._listeners.append(self.client.add_listener("permissionRequest", self._on_asked))
        self._listeners.append(self.client.add_listener("permissionsUpdated", self._on_permissions))
        self._listeners.append(self.client.add_listener("recording", self._on_engine_event))
        self._unwatch_kernel = watch_kernel_activity(self.pipe.kernel_busy)

    @shows_errors
    def toggle_microphone(self) -> EngineFuture[SuccessResponse]:
        """Turn the microphone off when on, on when off (the microphone button)."""
        return self.client.set_microphone_enabled(not self.client.media.audio.enabled)

    @shows_errors
    def toggle_camera(self) -> EngineFuture[SuccessResponse]:
        """Turn the camera off when on, on when off (the camera button)."""
        return self.client.set_camera_enabled(not self.client.media.video.enabled)

    def toggle_views(self) -> str:
        """Cycle to the next layout (the plugin's ``toggleViews``); returns it."""
        self.tile_layout = LAYOUTS[(LAYOUTS.index(self.tile_layout) + 1) % len(LAYOUTS)]
        return str(self.tile_layout)

    @shows_errors
    def toggle_screen_share(self) -> EngineFuture[SuccessResponse]:
        """Start sharing a screen beside the camera, or stop (the Share screen button)."""
        call = self.client.current_call
        if call is None or call.state is not CallState.JOINED:
            raise InvalidState("join a call to share a screen")
        if call.has_screen_sharing:
            return call.stop_screen_share()
        from_page = PAGE_SCREEN in self.client.media.page.devices
        return call.start_screen_share("browser" if from_page else None)

    def current(self, doing: str) -> Call:
        """The client's current call (InvalidState naming ``doing`` when there is none)."""
        call = self.client.current_call
        if call is None:
            raise InvalidState(f"no call to {doing}; call someone or join a call first")
        return call

    @shows_errors
    def toggle_deaf(self) -> EngineFuture[SuccessResponse]:
        """Stop hearing the current call, or hear it again (the Deaf button)."""
        call = self.current("deafen")
        return call.undeaf() if call.is_deaf else call.deaf()

    @shows_errors
    def toggle_recording(self) -> EngineFuture[Any]:
        """Record the current call into ``recording-<call id>-<UTC time>.mp4`` in the
        kernel's working directory, or stop the recording (the Record button)."""
        call = self.current("record")
        if call.is_recording:
            return call.stop_recording()
        return call.start_recording()

    @shows_errors
    def send_message(self, text: str) -> EngineFuture[SuccessResponse]:
        """Send ``text`` to the shown call's chat (the chat panel's Send)."""
        call = self.client.current_call
        if call is None or call.state is not CallState.JOINED:
            raise InvalidState("join a call to send a message")
        return call.send_message(text)

    def mark_chat_read(self) -> None:
        """The page shows the chat: nothing is unread."""
        self._chat.read()
        self.refresh()

    @shows_errors
    def raise_hand(self) -> EngineFuture[SuccessResponse]:
        """Ask the hosts for the right to speak (the Raise hand button)."""
        return self.current("raise your hand").request_permissions(["send-audio"])

    @shows_errors
    def answer_request(
        self, user_id: str, permissions: list[str], *, grant: bool
    ) -> EngineFuture[SuccessResponse] | None:
        """Grant ``user_id``'s request for ``permissions`` (the engine checks both; the
        request closes when the grant is announced), or deny it: the request only closes
        (there is no refusal on the wire)."""
        call = self.current("answer a permission request")
        if grant:
            return call.grant_permissions(user_id, permissions)
        self._asking.close(user_id)
        self.refresh()
        return None

    @shows_errors
    def toggle_live(self) -> EngineFuture[SuccessResponse]:
        """Take the shown livestream or audio room live, or back to backstage."""
        call = self.current("go live")
        return call.stop_live() if call.is_live else call.go_live()

    def _on_asked(self, request: PermissionRequestEvent) -> None:
        self._asking.add(request)
        refresher.wake()

    def _on_permissions(self, update: PermissionsUpdatedEvent) -> None:
        self._asking.settled(update)
        refresher.wake()

    def _on_message(self, message: CallMessage) -> None:
        self._chat.add(message)
        refresher.wake()

    @shows_errors
    def dismiss(self) -> None:
        """Forget the ended call the view shows (its "call ended" screen)."""
        with self._lock:
            if self._shown is not None and self._shown.state is not CallState.LEFT:
                raise InvalidState(f"call {self._shown.id} is {self._shown.state.value}")
            self._shown = None
            self._left = None
        self.refresh()

    def _on_engine_event(self, payload: object) -> None:
        """Keep the ``left`` event of a call the view never showed: a ring refused at once
        (a busy callee) is over before a refresh reads it, and must still say why."""
        if isinstance(payload, CallEvent) and payload.state is CallState.LEFT:
            with self._lock:
                shown = self._shown
                if shown is None or shown.id != payload.call_id:
                    self._shown, self._left = None, payload
        super()._on_engine_event(payload)

    # -- engine → page ---------------------------------------------------------------

    def _path_changed(self, path: str) -> None:
        self.link_path = path
        self.refresh()

    @traitlets.observe("media_path")
    def _media_path_set(self, change: dict[str, Any]) -> None:
        self.bridge.fallback = "connecting" if change["new"] == "webrtc" else "pipe"

    def _on_frame(self, key: str, kind: str, frame: Any) -> None:
        """A frame for the page: a tile's video (a screen is a tile of its own) or a remote
        participant's audio, over the link when it is up, else the widget channel."""
        if kind == "screen_share":
            tile, media = key + SCREEN_SUFFIX, "video"
        elif kind == "video" or (kind == "audio" and key != LOCAL):
            tile, media = key, kind
        else:
            return
        if self.bridge.path == "webrtc":
            self.bridge.frame(tile, media, frame)
        elif self.media_path == "webrtc":
            return  # forced WebRTC: while the link is down, nothing carries media
        elif media == "video":
            self.pipe.video_frame(tile, frame)
        else:
            self.pipe.audio_frame(tile, frame)

    def refresh(self) -> None:
        """Show the engine's current call (or the last one, ended) and its participants."""
        user = self.client.user
        with self._lock:
            current = self.client.current_call
            if current is not None:
                self._shown, self._left = current, None
            elif user is None:  # logged out: no ended call stays on screen
                self._shown = self._left = None
            shown, left = self._shown, self._left
        self._asking.follow(shown.cid if shown is not None else None)
        call = self._call_trait(shown, left, user.id if user is not None else None)
        if shown is not None and left is None:
            call["permission_requests"] = self._asking.snapshot()
        # One assignment: a trait set twice per refresh flips between two values and
        # syncs on every refresh (the page's 400 ms incoming-call notice never fired).
        self.call = call
        media = self.client.media
        self.local_media = {"microphone": media.audio.enabled, "camera": media.video.enabled}
        self._chat.follow(shown.cid if shown is not None else None)
        self.chat, self.chat_unread = self._chat.snapshot()
        in_session = shown is not None and shown.state in (
            CallState.JOINED,
            CallState.RECONNECTING,
        )
        tiles = (
            [tile for p in shown.participants for tile in participant_tiles(p)]
            if shown is not None and in_session
            else self._preview_tile()
        )
        own_preview = self._page_preview()
        for tile in tiles:
            tile["page_preview"] = own_preview and tile["is_local"] and not tile.get("screen")
        self.participants = tiles
        self._refresh_tile_controls(shown if shown is not None and in_session else None)
        self.bridge.show(
            {
                tile["key"]: size
                for tile in tiles
                if tile["video"]
                and not tile["page_preview"]
                and (size := self.pipe.shown_size(tile["key"])) is not None
            },
            [tile["key"] for tile in tiles if tile["audio"] and not tile["is_local"]],
        )
        keys = {tile["key"] for tile in tiles}
        for gone in self._keys - keys:
            self.pipe.forget(gone)
        self._keys = keys
        joined_at = shown.joined_at if shown is not None and in_session else None
        self.duration = round(time.time() - joined_at) if joined_at is not None else 0.0
        speaker = self.client.media.speaker
        self.audio_output = in_session and (speaker is None or speaker.in_browser)
        self.pipe.audio_enabled = self.audio_output and self.bridge.path != "webrtc"

    @staticmethod
    def _call_trait(
        shown: Call | None, left: CallEvent | None, user_id: str | None
    ) -> dict[str, Any]:
        """The ``call`` trait: the shown call, or the left event of one never shown; an
        ended call says why in words (``ended``)."""
        call = call_snapshot(shown) if left is None else left_event_snapshot(left, user_id)
        if call.get("state") == CallState.LEFT.value:
            call["ended"] = ended_message(call, user_id)
        return call

    def _page_preview(self) -> bool:
        """Whether the page shows the user's own tile from its own camera: the camera is
        the page's and no processor changes its frames, so what the page captured is what
        the others see (no round trip through the kernel, no encoding)."""
        media = self.client.media
        camera = media.camera
        return camera is not None and camera.in_browser and media.video.processor is None

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
                "on_hold": False,
            }
        ]

    # -- page → engine ---------------------------------------------------------------

    def receive(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """The page's devices, captures and link go to the bridge; acks and viewport
        reports to the media pipe. A malformed one is reported (``error`` event, the view's
        error line) and dropped: the page is not trusted to keep the kernel running."""
        try:
            return self.bridge.receive(content, buffers) or self.pipe.receive(content)
        except InputError as exc:
            self.client.report("a message from the page", exc)
            return True

    def close(self) -> None:
        """Stop the media pipe and the frame tap, then close the widget."""
        self._tap.remove()
        self._unwatch_kernel()
        self.bridge.close()
        self.pipe.close()
        super().close()
