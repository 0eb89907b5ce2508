"""The baseline: a bare aiohttp WebSocket server that sends every text frame back.

It uses the same aiohttp server stack and the same WebSocket options as the coordinator
(no compression, no text decoding, ``send_frame``), so the difference between the two is
the coordinator's own work: parsing, rules, serialisation and queueing.

    python -m bench.coordinator.echo_server [--port P]
"""

from __future__ import annotations

import sys

from aiohttp import WSMsgType, web

from .launch import Stopper, parser, serve_main

__all__ = ["main"]


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False, decode_text=False, max_msg_size=64 * 1024)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            await ws.send_frame(msg.data, WSMsgType.TEXT)
    return ws


async def _start(port: int) -> tuple[int, Stopper]:
    app = web.Application()
    app.router.add_get("/ws", _echo)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound: int = runner.addresses[0][1]
    return bound, runner.cleanup


def main() -> int:
    """Parse options and serve the echo server until a signal."""
    return serve_main(parser(__doc__.split("\n")[0]).parse_args(), _start)


if __name__ == "__main__":
    sys.exit(main())
