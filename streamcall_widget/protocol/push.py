"""Push notices: what the coordinator POSTs to a push provider's webhook, and its signature.

A user who registered for push (``push.register``) and has no live connection when a call
rings them is rung through a provider the coordinator's operator configured (an HTTP(S)
webhook bridging to FCM, APNs, ntfy, a chat...). The coordinator sends a :class:`RingNotice`
then; when the ring ends, a :class:`MissedNotice` if it ended without them, or an
:class:`AnsweredNotice` if they accepted from a connection they opened, so the receiving
device stops ringing. A notice carries one call and the callee's id; of other users, only
the caller's public profile (id, name, image).

Each POST is signed: ``X-Streamcall-Timestamp`` is the Unix time of sending, and
``X-Streamcall-Signature`` is ``sha256=`` followed by the hex HMAC-SHA256, keyed with the
app's webhook key, of the timestamp, a ``.`` and the body (:func:`signature`). Signing the
timestamp with the body lets a receiver refuse a replayed old notice (:func:`verify`). The
webhook key is derived from the API secret (:func:`webhook_key`, ``streamcall push-key``),
so the receiver can check notices without holding the secret that signs user tokens.
"""

from __future__ import annotations

import enum
import hashlib
import hmac

import msgspec

__all__ = [
    "MAX_PROVIDER_NAME",
    "PROVIDER_NAME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AnsweredNotice",
    "AnyNotice",
    "MissedNotice",
    "MissedReason",
    "NoticeKind",
    "NoticeUser",
    "RingNotice",
    "signature",
    "verify",
    "webhook_key",
]

PROVIDER_NAME = r"^[A-Za-z0-9_.\-]+$"
"""What a provider name may hold: letters, digits, ``_``, ``.``, ``-``."""
MAX_PROVIDER_NAME = 64
"""The longest provider name."""
SIGNATURE_HEADER = "X-Streamcall-Signature"
TIMESTAMP_HEADER = "X-Streamcall-Timestamp"
DEFAULT_TOLERANCE = 300.0
"""Seconds a notice's timestamp may differ from the receiver's clock in :func:`verify`."""


class NoticeKind(enum.StrEnum):
    """Which of the user's registrations a notice goes to."""

    VOIP = "voip"
    """The VoIP provider: a ring, for a device that shows an incoming-call screen."""
    PUSH = "push"
    """The ordinary push provider."""


class MissedReason(enum.StrEnum):
    """Why the ring ended for a callee rung through push."""

    TIMEOUT = "timeout"
    """Nobody answered in time."""
    CANCEL = "cancel"
    """The caller gave up, or the call was ended."""
    DECLINE = "decline"
    """The callee declined, from a connection they opened."""
    BUSY = "busy"
    """The callee rejected as busy, from a connection they opened."""
    ACCEPTED_BY_OTHER = "accepted_by_other"
    """Another callee accepted."""


class NoticeUser(msgspec.Struct, kw_only=True, frozen=True):
    """The caller's public profile."""

    id: str
    name: str | None
    image: str | None


class Notice(msgspec.Struct, tag_field="type", kw_only=True, frozen=True):
    """Fields every notice has."""

    provider: str
    """The provider name this notice is for (the webhook may serve several)."""
    kind: NoticeKind
    app: str
    """The API key of the app the call belongs to."""
    cid: str
    call_type: str
    call_id: str
    user_id: str
    """The callee: whose device to notify."""
    caller: NoticeUser
    video: bool
    """Whether the call rings as a video call."""
    created_at: str
    """When the coordinator made the notice (RFC 3339)."""
    expires_at: str
    """When the ring stops at the latest (RFC 3339): a device that shows it later should not."""


class RingNotice(Notice, tag="call.ring", frozen=True):
    """The callee is rung while offline: show an incoming call; answering means logging in
    (the ring reaches the new connection) and accepting."""


class MissedNotice(Notice, tag="call.missed", frozen=True):
    """The ring is over for the callee who got a :class:`RingNotice`, without them
    accepting: dismiss its ringing screen (and show a missed call)."""

    reason: MissedReason


class AnsweredNotice(Notice, tag="call.answered", frozen=True):
    """The callee who got a :class:`RingNotice` accepted the call from a connection they
    opened (a notebook): dismiss the ringing screen on their other devices, with no missed
    call."""


AnyNotice = RingNotice | MissedNotice | AnsweredNotice
"""Every notice, as one tagged union (the JSON ``type``)."""


WEBHOOK_KEY_LABEL = b"streamcall push webhook key v1"
"""What the API secret signs to make the webhook key (versioned, so a new scheme gets a new
key rather than a confusable one)."""


def webhook_key(api_secret: str) -> str:
    """The key an app's push notices are signed with: HMAC-SHA256 of a fixed label keyed with
    the API secret, in hex. Knowing it verifies (and could forge) notices, not user tokens:
    the secret cannot be recovered from it."""
    return hmac.new(api_secret.encode(), WEBHOOK_KEY_LABEL, hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Streamcall-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signed: str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether a received notice is authentic and fresh: ``signed`` is its signature header,
    ``timestamp`` its timestamp header, ``now`` the receiver's Unix time."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), signed)
