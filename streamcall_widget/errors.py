"""Every exception streamcall_widget raises, in one tree.

Each error carries a numeric ``code`` and a stable ``name`` (the wire protocol's error
identifiers, mirroring Stream's codes where Stream has one) and a human ``reason``. Each
also subclasses the builtin it behaves like, so ``except ValueError`` keeps working::

    StreamCallError
    ├── InputError (ValueError)                  4   bad argument or malformed wire message
    │   ├── UnknownMessageType                   18  a ``type`` the protocol does not know
    │   ├── PayloadTooBig                        22  a message or field over the size limit
    │   ├── InvalidArguments                     24  a method's arguments break its rules
    │   └── InvalidMimeType                      25  not a ``type/subtype`` media type
    ├── AuthenticationError (PermissionError)    5   the first message did not authenticate
    │   ├── UnknownApiKey                        2
    │   ├── TokenExpired                         40
    │   ├── TokenNotValidYet                     41  ``nbf`` in the future
    │   ├── TokenUsedBeforeIssuedAt              42  ``iat`` in the future
    │   ├── TokenSignatureInvalid                43  wrong secret, ``alg: none``, other algorithm
    │   └── UserMismatch                         60  token's user_id differs from the user sent
    ├── NotAllowed (PermissionError)             17  missing capability or not a member
    ├── DoesNotExist (LookupError)               16  no such call, session or user
    │   └── SessionNotFound                      72  nothing to resume: rejoin the calls instead
    ├── InvalidState (RuntimeError)              70  right request, wrong moment (nothing ringing)
    │   └── WrongDirection                       73  reject an outgoing call, cancel an incoming one
    ├── RateLimited (RuntimeError)               9
    ├── UnsupportedProtocol (ValueError)         71  client speaks another protocol version
    ├── InternalError (RuntimeError)             -1  a bug on the other side; reported, not hidden
    │   (client side only, never on the wire:)
    ├── DeviceError (OSError)                    80  a camera/microphone/speaker missing or busy
    ├── ConnectionLost (ConnectionError)         81  the coordinator cannot be reached or went away
    └── RequestTimeout (TimeoutError)            82  no answer in time; the request may still land

Errors received on the wire are turned back into the matching class by
:func:`error_from_wire`, so a client raises exactly what the server meant.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ConnectionLost",
    "DeviceError",
    "DoesNotExist",
    "InputError",
    "InternalError",
    "InvalidArguments",
    "InvalidMimeType",
    "InvalidState",
    "NotAllowed",
    "PayloadTooBig",
    "PermissionDenied",
    "RateLimited",
    "RequestTimeout",
    "SessionNotFound",
    "StreamCallError",
    "TokenExpired",
    "TokenNotValidYet",
    "TokenSignatureInvalid",
    "TokenUsedBeforeIssuedAt",
    "UnknownApiKey",
    "UnknownMessageType",
    "UnsupportedProtocol",
    "UserMismatch",
    "WrongDirection",
    "error_from_wire",
]


class StreamCallError(Exception):
    """Base of every streamcall_widget error.

    ``code`` and ``name`` identify the kind on the wire; ``reason`` says what was wrong
    and, where it helps, what is allowed instead.
    """

    code: ClassVar[int] = -1
    name: ClassVar[str] = "STREAMCALL_ERROR"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} [{self.name}]"


class InputError(StreamCallError, ValueError):
    """An argument or a wire message is malformed: wrong type, missing field, bad JSON."""

    code = 4
    name = "INPUT_ERROR"


class UnknownMessageType(InputError):
    """A message ``type`` the protocol does not define."""

    code = 18
    name = "UNKNOWN_MESSAGE_TYPE"


class PayloadTooBig(InputError):
    """A message or one of its fields is larger than the limit."""

    code = 22
    name = "PAYLOAD_TOO_BIG"


class InvalidArguments(InputError):
    """A method was called with arguments its rules refuse (seed 001's
    ``InvalidArgumentsError``): DTMF tones outside ``0-9 * # A-D ,``, an empty message, a
    header that does not start with ``X-``. The reason names what is allowed."""

    code = 24
    name = "INVALID_ARGUMENTS"


class InvalidMimeType(InputError):
    """A MIME type that is not ``type/subtype`` in RFC 6838's characters (seed 001's
    ``InvalidMimeTypeError``, raised by ``send_info``)."""

    code = 25
    name = "INVALID_MIME_TYPE"


class AuthenticationError(StreamCallError, PermissionError):
    """The connection could not be authenticated."""

    code = 5
    name = "AUTHENTICATION_ERROR"


class UnknownApiKey(AuthenticationError):
    """No application is registered under this API key."""

    code = 2
    name = "UNKNOWN_API_KEY"


class TokenExpired(AuthenticationError):
    """The token's ``exp`` claim is in the past."""

    code = 40
    name = "TOKEN_EXPIRED"


class TokenNotValidYet(AuthenticationError):
    """The token's ``nbf`` claim is in the future."""

    code = 41
    name = "TOKEN_NOT_VALID_YET"


class TokenUsedBeforeIssuedAt(AuthenticationError):
    """The token's ``iat`` claim is in the future."""

    code = 42
    name = "TOKEN_USED_BEFORE_ISSUED_AT"


class TokenSignatureInvalid(AuthenticationError):
    """The token is not signed with the app's secret using HS256."""

    code = 43
    name = "TOKEN_SIGNATURE_INVALID"


class UserMismatch(AuthenticationError):
    """The token was issued for another user than the one connecting."""

    code = 60
    name = "USER_MISMATCH"


class NotAllowed(StreamCallError, PermissionError):
    """The user lacks the capability, or is not a member of the call."""

    code = 17
    name = "NOT_ALLOWED"


class DoesNotExist(StreamCallError, LookupError):
    """The call, session or user named does not exist."""

    code = 16
    name = "DOES_NOT_EXIST"


class SessionNotFound(DoesNotExist):
    """``session.resume`` found nothing to resume (unknown, expired, or a wrong token):
    the client keeps its new connection and joins its calls again."""

    code = 72
    name = "SESSION_NOT_FOUND"


class InvalidState(StreamCallError, RuntimeError):
    """The request is valid but not in the current state (e.g. accept with nothing ringing)."""

    code = 70
    name = "INVALID_STATE"


class WrongDirection(InvalidState):
    """The request does not fit the call's direction (seed 001's
    ``CallWrongDirectionError``): rejecting a call you placed, cancelling one you were rung
    for. The reason says which request fits instead."""

    code = 73
    name = "WRONG_DIRECTION"


class RateLimited(StreamCallError, RuntimeError):
    """Too many messages in too short a time."""

    code = 9
    name = "RATE_LIMITED"


class UnsupportedProtocol(StreamCallError, ValueError):
    """The peer speaks a protocol version this side does not."""

    code = 71
    name = "UNSUPPORTED_PROTOCOL"


class InternalError(StreamCallError, RuntimeError):
    """An unexpected failure on the other side (a bug); the connection stays usable."""

    code = -1
    name = "INTERNAL_ERROR"


class DeviceError(StreamCallError, OSError):
    """A media device is missing, busy or failed; the reason names the devices available.

    Raised in the kernel only. A call goes on without the track the device would have fed.
    """

    code = 80
    name = "DEVICE_ERROR"


class PermissionDenied(DeviceError, PermissionError):
    """The person or the browser refused a page device (camera, microphone, screen).

    The reason says what to do (allow it in the site settings, open the page over https
    or on localhost); ``get_permission_state()`` reports the same.
    """

    code = 83
    name = "PERMISSION_DENIED"


class ConnectionLost(StreamCallError, ConnectionError):
    """The coordinator could not be reached, or the connection to it closed."""

    code = 81
    name = "CONNECTION_LOST"


class RequestTimeout(StreamCallError, TimeoutError):
    """A request got no answer in time (it may still have been carried out)."""

    code = 82
    name = "REQUEST_TIMEOUT"


def _leaf_classes(root: type[StreamCallError]) -> list[type[StreamCallError]]:
    classes = [root]
    for sub in root.__subclasses__():
        classes.extend(_leaf_classes(sub))
    return classes


_BY_NAME: dict[str, type[StreamCallError]] = {
    cls.name: cls for cls in _leaf_classes(StreamCallError)
}


def error_from_wire(name: str, message: str) -> StreamCallError:
    """Rebuild the typed exception an ``error`` frame describes (unknown names: the base)."""
    return _BY_NAME.get(name, StreamCallError)(message)
