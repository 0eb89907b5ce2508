"""The coordinator under test, as ``streamcall serve`` runs it but with the rate limit lifted.

``streamcall serve`` has no flag for limits and the default per-connection rate limit
(100 messages/s, burst 200) would make a throughput figure measure the limiter, not the
relay. This launcher builds the same :class:`Coordinator` with ``Limits(rate_per_second=1e9,
rate_burst=10**9, max_violations=10**9)`` and otherwise default settings, an in-memory
SQLite store (``db=":memory:"``, as ``--db :memory:``) and serves until SIGTERM.

    python -m bench.coordinator.coordinator_server --api-key K --api-secret S [--port P]
"""

from __future__ import annotations

import logging
import sys

from streamcall_widget.coordinator import App, Coordinator, CoordinatorConfig, Limits

from .launch import Stopper, parser, serve_main

__all__ = ["BENCH_LIMITS", "main"]

BENCH_LIMITS = Limits(rate_per_second=1e9, rate_burst=10**9, max_violations=10**9)
"""Default limits except the per-connection rate limit, lifted for throughput measurement."""


def main() -> int:
    """Parse options and serve the coordinator until a signal."""
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--api-key", required=True)
    p.add_argument("--api-secret", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="coordinator: %(name)s %(message)s")

    async def start(port: int) -> tuple[int, Stopper]:
        config = CoordinatorConfig(
            apps=(App(args.api_key, args.api_secret),),
            host="127.0.0.1",
            port=port,
            db=":memory:",
            limits=BENCH_LIMITS,
        )
        coordinator = Coordinator(config)
        await coordinator.start()
        return coordinator.port, coordinator.stop

    return serve_main(args, start)


if __name__ == "__main__":
    sys.exit(main())
