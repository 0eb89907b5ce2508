"""Parse and serialise the JSON text frames of the wire protocol, in one place.

Client frames are requests (see :mod:`.requests`). Server frames are one of::

    {"type": "result", "id": "...", "data": {...}}
    {"type": "error",  "id": "..." | null, "code": 4, "name": "INPUT_ERROR", "message": "..."}
    {"type": "event",  "seq": 7, "event": {"type": "call.ring", "cid": "...", ...}}

Malformed input never raises anything but an :class:`~streamcall_widget.errors.InputError`
subclass whose message names the problem, and the request ``id`` is recovered whenever the
frame had one, so the error reply can echo it.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import msgspec

from streamcall_widget.errors import InputError, StreamCallError, UnknownMessageType

from .events import AnyEvent
from .requests import REQUEST_TYPES, AnyRequest, Request

__all__ = [
    "PROTOCOL_VERSION",
    "ErrorFrame",
    "EventFrame",
    "ParseFailure",
    "ResultFrame",
    "ServerFrame",
    "encode",
    "error_frame",
    "parse_request",
    "parse_server_frame",
]

PROTOCOL_VERSION = 1


class ResultFrame(msgspec.Struct, tag="result", tag_field="type", kw_only=True):
    """The successful answer to request ``id``."""

    id: str
    data: Any = None


class ErrorFrame(msgspec.Struct, tag="error", tag_field="type", kw_only=True):
    """The failed answer to request ``id`` (null when the frame had no readable id)."""

    id: str | None
    code: int
    name: str
    message: str


class EventFrame(msgspec.Struct, tag="event", tag_field="type", kw_only=True):
    """An event; ``seq`` counts 1, 2, 3... per connection, so a gap shows a loss."""

    seq: int
    event: AnyEvent


ServerFrame = ResultFrame | ErrorFrame | EventFrame


class ParseFailure(msgspec.Struct, kw_only=True):
    """A client frame that could not be parsed: the error, and the id if one was readable."""

    request_id: str | None
    error: InputError


class _Envelope(msgspec.Struct):
    """Just enough of a frame to echo its id and name its type in an error."""

    id: Any = None
    type: Any = None


_request_decoder: msgspec.json.Decoder[Request] = msgspec.json.Decoder(AnyRequest)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_server_decoder: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_encoder = msgspec.json.Encoder()
_REQUEST_BY_TAG: dict[Any, type[Request]] = {
    cls.__struct_config__.tag: cls for cls in REQUEST_TYPES
}
_KNOWN_TYPES = frozenset(_REQUEST_BY_TAG)


def parse_request(data: str | bytes) -> Request | ParseFailure:
    """Parse one client frame into its typed request, or say precisely why it is not one."""
    try:
        return _request_decoder.decode(data)
    except msgspec.ValidationError as exc:
        return _explain(data, exc)
    except UnicodeDecodeError as exc:
        return ParseFailure(request_id=None, error=_utf8_error(exc))
    except RecursionError:
        return ParseFailure(request_id=None, error=InputError("frame is nested too deeply"))
    except msgspec.DecodeError as exc:
        request_id = None
        error: InputError = InputError(f"frame is not valid JSON text: {exc}")
        if isinstance(data, bytes):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as utf:
                error = InputError(f"frame is not valid UTF-8: {utf.reason} at byte {utf.start}")
        return ParseFailure(request_id=request_id, error=error)


def _utf8_error(exc: UnicodeDecodeError) -> InputError:
    return InputError(f"frame is not valid UTF-8 ({exc.reason} in a string)")


def _explain(data: str | bytes, exc: msgspec.ValidationError) -> ParseFailure:
    try:
        envelope = _envelope_decoder.decode(data)
    except RecursionError:
        return ParseFailure(request_id=None, error=InputError("frame is nested too deeply"))
    except UnicodeDecodeError as utf:
        return ParseFailure(request_id=None, error=_utf8_error(utf))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ParseFailure(
            request_id=None, error=InputError(f"frame must be a JSON object: {exc}")
        )
    request_id = (
        envelope.id if isinstance(envelope.id, str) and 0 < len(envelope.id) <= 64 else None
    )
    allowed = ", ".join(sorted(map(str, _KNOWN_TYPES)))
    if envelope.type is None:
        error: InputError = InputError("frame has no 'type' field")
    elif not isinstance(envelope.type, str):
        # A list or an object is no message name (and is unhashable: never look it up).
        error = UnknownMessageType(
            f"'type' must be a string naming the message, not {_json_kind(envelope.type)}; "
            f"allowed: {allowed}"
        )
    elif envelope.type not in _KNOWN_TYPES:
        error = UnknownMessageType(f"unknown message type {envelope.type!r}; allowed: {allowed}")
    else:
        error = InputError(
            f"invalid {envelope.type!r} message: {exc}{_allowed_hint(envelope.type, exc)}"
        )
    return ParseFailure(request_id=request_id, error=error)


_UNKNOWN_FIELD = re.compile(r"unknown field `[^`]*`(?: - at `\$(?P<path>[^`]*)`)?")
_PATH_STEP = re.compile(r"\.(\w+)|\[\d+\]")


def _allowed_hint(tag: str, exc: msgspec.ValidationError) -> str:
    """For an unknown field, the names the object at that place takes (a browser's
    ``sdpMid`` is told ``sdp_mid``); nothing for other errors."""
    match = _UNKNOWN_FIELD.search(str(exc))
    if match is None:
        return ""
    target: Any = _REQUEST_BY_TAG[tag]
    for step in _PATH_STEP.finditer(match.group("path") or ""):
        target = _struct_in(target, step.group(1))
        if target is None:
            return ""
    names = ", ".join(f.encode_name for f in msgspec.structs.fields(target))
    return f"; allowed fields: {names}"


def _struct_in(owner: Any, field_name: str | None) -> Any:
    """The Struct type found at ``owner.field_name`` (``None`` name: a list's item)."""
    if field_name is not None:
        fields = {f.encode_name: f.type for f in msgspec.structs.fields(owner)}
        owner = fields.get(field_name)
    candidates = [owner]
    while candidates:
        current = candidates.pop()
        if isinstance(current, type) and issubclass(current, msgspec.Struct):
            return current
        candidates.extend(typing.get_args(current))
    return None


def _json_kind(value: object) -> str:
    """The JSON name of a decoded value's kind, for error messages."""
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return kinds.get(type(value), "an object")


def encode(frame: ServerFrame | Request) -> bytes:
    """The JSON text of a frame, as UTF-8 bytes."""
    return _encoder.encode(frame)


def error_frame(request_id: str | None, error: StreamCallError) -> ErrorFrame:
    """The wire form of an error answering ``request_id``."""
    return ErrorFrame(id=request_id, code=error.code, name=error.name, message=error.reason)


def parse_server_frame(data: str | bytes) -> ServerFrame:
    """Parse a coordinator frame (client side); InputError if the server sent garbage."""
    try:
        return _server_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InputError(f"coordinator sent an invalid frame: {exc}") from None
