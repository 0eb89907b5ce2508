"""The ``streamcall`` command: ``serve`` a coordinator, mint a ``token``, run a ``bot``.

Every option also reads an environment variable (``STREAMCALL_HOST``, ``STREAMCALL_PORT``,
``STREAMCALL_API_KEY``, ``STREAMCALL_API_SECRET``, ``STREAMCALL_DB``,
``STREAMCALL_ALLOW_ORIGIN`` as a comma-separated list).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .bot import add_bot_parser, run_bot
from .coordinator.auth import App, mint_token, new_app
from .coordinator.embedded import discovery_path, read_discovery
from .coordinator.server import LOOPBACK_ORIGINS, Coordinator, CoordinatorConfig

__all__ = ["main"]


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"STREAMCALL_{name}", default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamcall", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a standalone coordinator")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(_env("PORT", "8765") or 8765))
    serve.add_argument("--api-key", default=_env("API_KEY"))
    serve.add_argument("--api-secret", default=_env("API_SECRET"))
    serve.add_argument(
        "--db",
        default=_env("DB", "streamcall.sqlite3"),
        help="SQLite file for call history (':memory:' keeps none)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[o for o in (_env("ALLOW_ORIGIN") or "").split(",") if o],
        help="browser Origin allowed to connect (repeatable; '*' wildcards); loopback if none",
    )
    serve.add_argument("--log-level", default="INFO")

    token = commands.add_parser("token", help="mint a user token")
    token.add_argument("--user", required=True, help="user id the token is for")
    token.add_argument("--ttl", type=float, default=None, help="seconds of validity")
    token.add_argument("--role", choices=("user", "admin"), default=None)
    token.add_argument(
        "--api-secret",
        default=_env("API_SECRET"),
        help="app secret (default: the embedded coordinator's, from its discovery file)",
    )
    add_bot_parser(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if bool(args.api_key) != bool(args.api_secret):
        print("streamcall serve: give both --api-key and --api-secret, or neither", file=sys.stderr)
        return 2
    app = App(args.api_key, args.api_secret) if args.api_key else new_app()
    if not args.api_key:
        print(f"api key:    {app.api_key}\napi secret: {app.api_secret}", file=sys.stderr)
    config = CoordinatorConfig(
        apps=(app,),
        host=args.host,
        port=args.port,
        db=args.db,
        allowed_origins=tuple(args.allow_origin) or LOOPBACK_ORIGINS,
    )
    asyncio.run(_run(config))
    return 0


async def _run(config: CoordinatorConfig) -> None:
    coordinator = Coordinator(config)
    await coordinator.start()
    print(
        f"streamcall coordinator on {coordinator.url} (health: {coordinator.http_url}/health)",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await coordinator.stop()


def _token(args: argparse.Namespace) -> int:
    secret = args.api_secret
    if secret is None:
        found = read_discovery(discovery_path())
        if found is None:
            print(
                "streamcall token: no --api-secret and no embedded coordinator found",
                file=sys.stderr,
            )
            return 2
        secret = found.api_secret
    print(mint_token(secret, args.user, ttl=args.ttl, role=args.role))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamcall`` console script."""
    args = _parser().parse_args(argv)
    commands = {"serve": _serve, "token": _token, "bot": run_bot}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
