"""The rules of in-call messages, INFO messages, data and custom events, checked on both
sides: the engine refuses bad input before it leaves the kernel, and the coordinator
refuses the same input from any client (a typed error naming what is allowed). The ``X-``
headers of an INFO message follow :mod:`.headers`, the rule of every action's headers.

Limits are in bytes of UTF-8 (text) or raw bytes (binary data). Data is capped at
:data:`MAX_DATA_BYTES` on every path so that what fits a WebRTC data channel also fits
one coordinator frame (64 KiB, with binary data base64-encoded in JSON): whether data goes
peer to peer or through the coordinator never changes what a caller may send.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from streamcall_widget.errors import InvalidArguments, InvalidMimeType, PayloadTooBig

__all__ = [
    "MAX_CUSTOM_BYTES",
    "MAX_DATA_BYTES",
    "MAX_INFO_BODY_BYTES",
    "MAX_MESSAGE_BYTES",
    "MIME_TYPE_FORM",
    "check_body",
    "check_custom",
    "check_data",
    "check_mime_type",
    "check_text",
]

MAX_MESSAGE_BYTES = 4 * 1024
"""A chat message's text (``send_message``)."""
MAX_INFO_BODY_BYTES = 16 * 1024
"""An INFO message's body (``send_info``)."""
MAX_DATA_BYTES = 32 * 1024
"""One ``send_data`` payload (bytes, or UTF-8 text)."""
MAX_CUSTOM_BYTES = 32 * 1024
"""A custom event's JSON (``send_event``)."""

_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&\-^_.+]{0,126}"
"""RFC 6838 section 4.2: a type or subtype name."""
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
"""RFC 9110 token: a parameter name or value."""
_MIME = re.compile(
    rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}"
    rf"(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|\"[^\"\\\r\n]*\"))*"
)

MIME_TYPE_FORM = (
    "type/subtype of letters, digits and !#$&-^_.+ (RFC 6838), each part starting with a "
    "letter or digit, optionally followed by ;name=value parameters "
    "(e.g. 'application/json' or 'text/plain; charset=utf-8')"
)
"""What :func:`check_mime_type` accepts, said in the error it raises."""


def check_text(text: object) -> str:
    """A chat message: a non-blank ``str`` of at most :data:`MAX_MESSAGE_BYTES`."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArguments(
            f"a message must be a non-empty string with more than whitespace, not {text!r}"
        )
    _check_size("the message", len(text.encode()), MAX_MESSAGE_BYTES)
    return text


def check_mime_type(mime_type: object) -> str:
    """``mime_type`` if it is a media type of the form :data:`MIME_TYPE_FORM`."""
    if not isinstance(mime_type, str) or len(mime_type) > 255 or not _MIME.fullmatch(mime_type):
        raise InvalidMimeType(f"mime_type {mime_type!r} is not {MIME_TYPE_FORM}")
    return mime_type


def check_body(body: object) -> str:
    """An INFO body: a ``str`` of at most :data:`MAX_INFO_BODY_BYTES`."""
    if not isinstance(body, str):
        raise InvalidArguments(f"body must be a str, not {type(body).__name__}")
    _check_size("the body", len(body.encode()), MAX_INFO_BODY_BYTES)
    return body


def check_data(data: object) -> bytes | str:
    """Data to send: ``bytes`` (a ``bytearray`` or ``memoryview`` is copied to bytes) or
    ``str``, of at most :data:`MAX_DATA_BYTES`."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes | str):
        raise InvalidArguments(f"data must be bytes or str, not {type(data).__name__}")
    size = len(data) if isinstance(data, bytes) else len(data.encode())
    _check_size("the data", size, MAX_DATA_BYTES)
    return data


def check_custom(custom: object) -> dict[str, Any]:
    """A custom event: a JSON object (``dict`` with ``str`` keys) of at most
    :data:`MAX_CUSTOM_BYTES` encoded."""
    if not isinstance(custom, dict) or not all(isinstance(k, str) for k in custom):
        raise InvalidArguments(f"a custom event must be a dict with str keys, not {custom!r}")
    try:
        size = len(msgspec.json.encode(custom))
    except (TypeError, msgspec.EncodeError) as exc:
        raise InvalidArguments(f"a custom event must hold JSON values only: {exc}") from None
    _check_size("the custom event", size, MAX_CUSTOM_BYTES)
    return custom


def _check_size(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooBig(f"{what} is {size} bytes; at most {limit} bytes ({limit // 1024} KiB)")
