"""Video codec choices for the kernel's peer connections: a fast H264 encoder and codec order.

aiortc's H264 encoder opens libx264 with ``tune=zerolatency`` but x264's default preset
(``medium``), which costs several times the CPU of ``ultrafast`` for a quality gain nobody
sees in a call: a kernel shares its cores with the user's own code, so :class:`FastH264Encoder`
keeps every other setting and only switches the preset.

aiortc gives no way to pass an encoder to a peer connection: each ``RTCRtpSender`` calls
``aiortc.rtcrtpsender.get_encoder(codec)`` privately, on its first frame. The only hook is
that module-level name, so :func:`install_fast_h264` replaces it for the whole process (every
sender created afterwards, in any call, encodes H264 with :class:`FastH264Encoder`) and
:func:`uninstall_fast_h264` puts the original back.

:func:`prefer_codec` orders a video transceiver's codec preferences so VP8 or H264 is
negotiated first.
"""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterator

import av
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc import rtcrtpsender as _sender_module
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import MAX_FRAME_RATE, H264Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from streamcall_widget.errors import InputError

__all__ = [
    "FAST_H264_OPTIONS",
    "VIDEO_CODECS",
    "FastH264Encoder",
    "install_fast_h264",
    "prefer_codec",
    "uninstall_fast_h264",
]

FAST_H264_OPTIONS: dict[str, str] = {"preset": "ultrafast", "tune": "zerolatency", "level": "31"}
"""libx264 options of :class:`FastH264Encoder`: aiortc's own plus ``preset=ultrafast``."""

VIDEO_CODECS: tuple[str, ...] = ("video/VP8", "video/H264")
"""The mime types :func:`prefer_codec` accepts."""

_BITRATE_TOLERANCE = 0.1
"""Relative bitrate change at which aiortc's encoder reopens the codec (it says "over 10%")."""

_EncoderFactory = Callable[[RTCRtpCodecParameters], Encoder]
_HOOK = "get_encoder"
"""The name in ``aiortc.rtcrtpsender`` its senders look their encoder factory up by (not
exported by aiortc, hence getattr/setattr)."""
_original_get_encoder: _EncoderFactory | None = None
"""aiortc's ``get_encoder`` while :func:`install_fast_h264` is in effect, else None."""


class FastH264Encoder(H264Encoder):
    """aiortc's H264 encoder with libx264's ``ultrafast`` preset.

    It opens the codec itself, with aiortc's settings (size of the frame, target bitrate,
    yuv420p, 30 fps, Baseline profile, level 3.1) and :data:`FAST_H264_OPTIONS`, before
    aiortc's ``_encode_frame`` runs: that method keeps an open codec and would only open
    its own (default preset) when there is none. The codec is reopened here, with the same
    options, whenever aiortc would reopen it: on a new frame size or a bitrate change of
    more than 10%.
    """

    def _encode_frame(self, frame: av.VideoFrame, force_keyframe: bool) -> Iterator[bytes]:
        if self.codec is None or self._needs_new_codec(frame):
            self.buffer_data = b""
            self.buffer_pts = None
            self.codec = self._open_codec(frame.width, frame.height)
        return super()._encode_frame(frame, force_keyframe)

    def _needs_new_codec(self, frame: av.VideoFrame) -> bool:
        """aiortc's test for discarding the open codec (size or bitrate changed)."""
        assert self.codec is not None
        old_rate = self.codec.bit_rate
        return (
            frame.width != self.codec.width
            or frame.height != self.codec.height
            or not old_rate
            or abs(self.target_bitrate - old_rate) / old_rate > _BITRATE_TOLERANCE
        )

    def _open_codec(self, width: int, height: int) -> av.VideoCodecContext:
        codec = av.CodecContext.create("libx264", "w")
        assert isinstance(codec, av.VideoCodecContext)
        codec.width = width
        codec.height = height
        codec.bit_rate = self.target_bitrate
        codec.pix_fmt = "yuv420p"
        codec.framerate = fractions.Fraction(MAX_FRAME_RATE, 1)
        codec.time_base = fractions.Fraction(1, MAX_FRAME_RATE)
        codec.options = dict(FAST_H264_OPTIONS)
        codec.profile = "Baseline"
        return codec


def _fast_get_encoder(codec: RTCRtpCodecParameters) -> Encoder:
    """``get_encoder`` with :class:`FastH264Encoder` for H264, aiortc's choice otherwise."""
    if codec.mimeType.lower() == "video/h264":
        return FastH264Encoder()
    assert _original_get_encoder is not None
    return _original_get_encoder(codec)


def install_fast_h264() -> None:
    """Make every aiortc sender in this process that starts encoding from now on use
    :class:`FastH264Encoder` for H264 (senders already encoding keep their encoder).
    Calling it again changes nothing."""
    global _original_get_encoder  # noqa: PLW0603 - one process-wide hook, see module docstring
    if _original_get_encoder is None:
        _original_get_encoder = getattr(_sender_module, _HOOK)
        setattr(_sender_module, _HOOK, _fast_get_encoder)


def uninstall_fast_h264() -> None:
    """Give aiortc its own ``get_encoder`` back (no-op when not installed)."""
    global _original_get_encoder  # noqa: PLW0603 - one process-wide hook, see module docstring
    if _original_get_encoder is not None:
        setattr(_sender_module, _HOOK, _original_get_encoder)
        _original_get_encoder = None


def prefer_codec(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Negotiate ``mime_type`` (``video/VP8`` or ``video/H264``, any case) first on a video
    transceiver; the other codecs and the rtx entry stay offered, after it.

    Raises :class:`InputError` naming the allowed mime types for anything else, or when the
    transceiver does not carry video."""
    wanted = next((m for m in VIDEO_CODECS if m.lower() == mime_type.lower()), None)
    if wanted is None:
        raise InputError(f"video codec {mime_type!r} is not supported; use one of {VIDEO_CODECS}")
    if transceiver.kind != "video":
        raise InputError(f"{wanted} needs a video transceiver, this one carries {transceiver.kind}")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    first = [c for c in codecs if c.mimeType.lower() == wanted.lower()]
    transceiver.setCodecPreferences(first + [c for c in codecs if c not in first])
