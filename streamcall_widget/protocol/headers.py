"""Extra headers a call action carries to the others (seed 001's ``headers``).

Voximplant's ``answer``, ``hangup``, ``reject`` and ``sendInfo`` take "an optional set of
headers to be sent; names should begin with ``X-``". Here they are a small JSON object of
strings on ``call.accept``, ``call.reject``, ``call.leave`` and ``call.end``, delivered on the
event the action causes (``call.accepted``, ``call.rejected``, ``call.session_participant_left``,
``call.ended``). The wire type checks them when a message is decoded; :func:`check_headers`
gives a caller the same rule as a typed error before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

import msgspec

from streamcall_widget.errors import InvalidArguments, PayloadTooBig

__all__ = ["MAX_HEADERS", "MAX_VALUE_LENGTH", "Headers", "check_headers"]

MAX_HEADERS = 16
"""Headers per action at most."""
MAX_VALUE_LENGTH = 1024
"""Characters per header value at most."""
_NAME = r"^[Xx]-[A-Za-z0-9\-]{1,62}$"

HeaderName = Annotated[str, msgspec.Meta(pattern=_NAME)]
"""``X-`` then 1 to 62 letters, digits or ``-`` (``X-Reason``, ``x-ticket-id``)."""
Headers = Annotated[
    dict[HeaderName, Annotated[str, msgspec.Meta(max_length=MAX_VALUE_LENGTH)]],
    msgspec.Meta(max_length=MAX_HEADERS),
]
"""The headers of one action on the wire."""


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers as the wire takes them: InvalidArguments naming the rule a name or value
    breaks, PayloadTooBig over the limits; ``None`` is no headers."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        kind = type(headers).__name__
        raise InvalidArguments(f"headers must be a dict of str to str, not {kind}")
    if len(headers) > MAX_HEADERS:
        raise PayloadTooBig(f"{len(headers)} headers; at most {MAX_HEADERS} are allowed")
    for name, value in headers.items():
        if not isinstance(name, str) or not re.match(_NAME, name):
            raise InvalidArguments(
                f"header name {name!r} is not allowed: names start with X- followed by 1 to 62 "
                "letters, digits or -, e.g. X-Reason"
            )
        if not isinstance(value, str):
            raise InvalidArguments(f"header {name} must be a str, not {type(value).__name__}")
        if len(value) > MAX_VALUE_LENGTH:
            raise PayloadTooBig(
                f"header {name} has {len(value)} characters; at most {MAX_VALUE_LENGTH}"
            )
    return dict(headers)
