"""A real push-provider webhook for tests: an aiohttp server on 127.0.0.1, port 0.

It runs on a thread and loop of its own, so both the coordinator's async tests and the
engine's threaded ones can point a provider at it. ``POST /<name>`` records the request
and answers 200; ``POST /fail`` answers 500.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .engine_helpers import wait_for


@dataclass(frozen=True)
class Received:
    """One POST the webhook got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def notice(self) -> dict[str, Any]:
        """The JSON body."""
        data: dict[str, Any] = json.loads(self.body)
        return data


class Webhook:
    """``with Webhook() as hook: hook.url("fcm")``; ``hook.received`` lists the POSTs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def __enter__(self) -> Webhook:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{name}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        received = Received(request.path, dict(request.headers), await request.read())
        with self._lock:
            self._received.append(received)
        return web.Response(status=500 if request.path == "/fail" else 200)

    def url(self, name: str) -> str:
        """The URL of provider ``name`` on this webhook."""
        return f"http://127.0.0.1:{self.port}/{name}"

    @property
    def received(self) -> list[Received]:
        """Every POST so far, in order of arrival."""
        with self._lock:
            return list(self._received)

    def wait(self, count: int) -> list[Received]:
        """Wait until ``count`` POSTs have arrived; return them all."""
        return wait_for(
            lambda: self.received if len(self.received) >= count else None,
            f"{count} push notices at the webhook",
        )
