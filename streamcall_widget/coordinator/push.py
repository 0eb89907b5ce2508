"""Sending push notices: the providers an operator configures, and a sender that POSTs.

A push provider is a name and an HTTP(S) webhook URL (``fcm=https://relay.example/push``):
the operator points it at whatever reaches the users' devices (an FCM or APNs relay, ntfy,
a chat bridge). Users register against provider *names* (``push.register``), as with
Stream's server-side push providers; the coordinator's rules (:mod:`.push_rules`) decide
which notices to send and :class:`PushSender` sends them.

The sender never blocks the coordinator's loop: :meth:`PushSender.submit` only queues
(a bounded queue; what does not fit is dropped, counted and logged once per burst), and a
few worker tasks POST the notices as JSON with a timeout, each signed with the app's webhook
key, derived from its API secret (:func:`~streamcall_widget.protocol.push.webhook_key`,
:func:`~streamcall_widget.protocol.push.signature`). A provider that answers with an
error status or cannot be reached is logged and counted; ringing goes on regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import msgspec

from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.push import (
    MAX_PROVIDER_NAME,
    PROVIDER_NAME,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AnyNotice,
    signature,
    webhook_key,
)

__all__ = [
    "PROVIDER_FORM",
    "PushSender",
    "PushStats",
    "check_providers",
    "parse_provider",
    "parse_providers",
]

logger = logging.getLogger(__name__)

PROVIDER_FORM = (
    f"NAME=URL, NAME of letters, digits, '_', '.', '-' (at most {MAX_PROVIDER_NAME}) and an "
    "http:// or https:// URL, e.g. fcm=https://relay.example/push"
)
"""How a provider is written, for error messages."""
POST_TIMEOUT = 5.0
"""Seconds one POST may take, connecting included."""
QUEUE_SIZE = 1024
"""Notices waiting to be sent at most; more are dropped (and counted)."""
WORKERS = 4
"""POSTs in flight at once: one slow provider does not hold up the others' notices."""


def parse_provider(text: str) -> tuple[str, str]:
    """``NAME=URL`` -> (name, url), checked (:data:`PROVIDER_FORM`)."""
    name, sep, url = text.strip().partition("=")
    if not sep:
        raise InvalidArguments(f"push provider {text!r}: expected {PROVIDER_FORM}")
    name, url = name.strip(), url.strip()
    _check(name, url)
    return name, url


def parse_providers(text: str) -> dict[str, str]:
    """A comma-separated list of ``NAME=URL`` (as in ``STREAMCALL_PUSH_PROVIDERS``) -> the
    providers by name; empty text: none."""
    return check_providers(parse_provider(part) for part in text.split(",") if part.strip())


def check_providers(providers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The providers by name, each checked, a name given twice refused."""
    checked: dict[str, str] = {}
    for name, url in providers:
        _check(name, url)
        if name in checked:
            raise InvalidArguments(f"push provider {name!r} is given twice; give each name once")
        checked[name] = url
    return checked


def _check(name: str, url: str) -> None:
    if not re.fullmatch(PROVIDER_NAME, name) or len(name) > MAX_PROVIDER_NAME:
        raise InvalidArguments(
            f"push provider name {name!r} is not valid: expected {PROVIDER_FORM}"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArguments(
            f"push provider {name!r}: {url!r} is not an http:// or https:// URL with a host; "
            f"expected {PROVIDER_FORM}"
        )


@dataclass
class PushStats:
    """What the sender did since it started."""

    sent: int = 0
    """Notices a provider accepted (a 2xx answer)."""
    failed: int = 0
    """Notices a provider refused (another status) or that could not be delivered."""
    dropped: int = 0
    """Notices dropped because the queue was full."""


class PushSender:
    """POSTs notices to the providers' webhooks from a bounded queue, off the caller's path."""

    def __init__(
        self,
        providers: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = POST_TIMEOUT,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        """``providers``: name -> webhook URL (checked here); ``secrets``: API key -> the
        app's API secret, whose webhook key signs its notices; ``clock`` stamps the
        signature's time."""
        self.providers = check_providers(providers.items())
        self._keys = {app: webhook_key(secret) for app, secret in secrets.items()}
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._queue: asyncio.Queue[AnyNotice] = asyncio.Queue(queue_size)
        self._encoder = msgspec.json.Encoder()
        self._session: aiohttp.ClientSession | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._overflowing = False
        self.stats = PushStats()

    async def start(self) -> None:
        """Open the HTTP session and start the workers (in the running loop)."""
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work()) for _ in range(WORKERS)]

    async def stop(self) -> None:
        """Stop sending (notices still queued are dropped) and close the session."""
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def submit(self, notices: Iterable[AnyNotice]) -> None:
        """Queue notices to send; never waits. A full queue drops them (counted)."""
        for notice in notices:
            try:
                self._queue.put_nowait(notice)
            except asyncio.QueueFull:
                self.stats.dropped += 1
                if not self._overflowing:
                    self._overflowing = True
                    logger.warning(
                        "push queue full (%d notices): dropping notices until it drains",
                        self._queue.maxsize,
                    )
                continue
            if self._overflowing:
                self._overflowing = False
                logger.warning("push queue has room again; %d dropped so far", self.stats.dropped)

    async def _work(self) -> None:
        while True:
            notice = await self._queue.get()
            try:
                await self._post(notice)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Wait until every queued notice has been sent or has failed (tests, shutdown)."""
        await self._queue.join()

    async def _post(self, notice: AnyNotice) -> None:
        session = self._session
        assert session is not None  # the workers run between start() and stop()
        body = self._encoder.encode(notice)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._keys[notice.app], timestamp, body),
        }
        url = self.providers[notice.provider]
        try:
            async with session.post(url, data=body, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.failed += 1
            logger.warning(
                "push provider %r unreachable (%s): %s notice for %s lost",
                notice.provider,
                type(exc).__name__,
                notice.__struct_config__.tag,
                notice.user_id,
            )
            return
        if 200 <= status < 300:
            self.stats.sent += 1
            return
        self.stats.failed += 1
        logger.warning(
            "push provider %r answered %d: %s notice for %s lost",
            notice.provider,
            status,
            notice.__struct_config__.tag,
            notice.user_id,
        )
