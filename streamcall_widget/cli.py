"""The ``streamcall`` command: ``serve`` a coordinator, mint a ``token``, print the
``push-key`` that signs push notices, run a ``bot``.

Every option also reads an environment variable (``STREAMCALL_HOST``, ``STREAMCALL_PORT``,
``STREAMCALL_API_KEY``, ``STREAMCALL_API_SECRET``, ``STREAMCALL_DB``,
``STREAMCALL_ALLOW_ORIGIN`` and ``STREAMCALL_PUSH_PROVIDERS`` as comma-separated lists,
``STREAMCALL_SESSION_GRACE``).

``serve`` and ``token`` load the coordinator only: the engine (aiortc, PyAV, numpy) is
imported by ``bot`` alone, when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .coordinator.auth import MIN_SECRET_BYTES, App, mint_token, new_app
from .coordinator.embedded import discovery_path, read_discovery
from .coordinator.limits import Limits
from .coordinator.push import check_providers, parse_provider
from .coordinator.server import LOOPBACK_ORIGINS, Coordinator, CoordinatorConfig
from .errors import InvalidArguments
from .protocol.push import webhook_key

__all__ = ["DEFAULT_TOKEN_TTL", "main"]

DEFAULT_TOKEN_TTL = 24 * 3600
"""Seconds a ``streamcall token`` is valid for when ``--ttl`` is not given."""


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
    serve.add_argument(
        "--session-grace",
        type=_seconds,
        default=_env("SESSION_GRACE", str(Limits.session_grace)),
        help="seconds a dropped client's call sessions wait for it to resume "
        f"(default {Limits.session_grace:g})",
    )
    serve.add_argument(
        "--push-provider",
        action="append",
        metavar="NAME=URL",
        default=[p for p in (_env("PUSH_PROVIDERS") or "").split(",") if p.strip()],
        help="a push provider users may register with: rings reach them through this "
        "http(s) webhook while they are offline (repeatable)",
    )
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument(
        "--allow-weak-secret",
        action="store_true",
        help=f"accept an --api-secret shorter than {MIN_SECRET_BYTES} bytes (RISK: its tokens "
        "can be forged by guessing the secret offline)",
    )

    token = commands.add_parser("token", help="mint a user token")
    token.add_argument("--user", required=True, help="user id the token is for")
    token.add_argument(
        "--ttl",
        type=_ttl,
        default=DEFAULT_TOKEN_TTL,
        help=f"seconds of validity (default {DEFAULT_TOKEN_TTL}, 24 h; 0: the token never expires)",
    )
    token.add_argument("--role", choices=("user", "admin"), default=None)
    token.add_argument(
        "--api-secret",
        default=_env("API_SECRET"),
        help="app secret (default: the embedded coordinator's, from its discovery file)",
    )
    push_key = commands.add_parser(
        "push-key", help="print the key push webhooks verify notices with"
    )
    push_key.add_argument(
        "--api-secret",
        default=_env("API_SECRET"),
        help="app secret (default: the embedded coordinator's, from its discovery file)",
    )
    _add_bot_parser(commands)
    return parser


def _seconds(text: str) -> float:
    """A number of seconds >= 0."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds >= 0")
    return seconds


def _ttl(text: str) -> float | None:
    """``--ttl``: a number of seconds ≥ 0, where 0 means no expiry (None)."""
    return _seconds(text) or None


def _add_bot_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``bot`` subcommand's options (run by :mod:`streamcall_widget.bot`)."""
    bot = commands.add_parser("bot", help="run a headless participant")
    bot.add_argument("--user", required=True, help="user id to log in as")
    bot.add_argument("--name", default=None, help="display name (default: the user id)")
    bot.add_argument("--url", default=None, help="coordinator ws:// URL (default: embedded)")
    bot.add_argument("--api-key", default=None, help="API key of the coordinator at --url")
    bot.add_argument("--token", default=None, help="user token (needed with --url)")
    bot.add_argument("--auto-accept", action="store_true", help="accept every ring")
    bot.add_argument("--call", action="append", default=[], help="ring this user (repeatable)")
    bot.add_argument("--play", default=None, help="media file to send, looped")
    bot.add_argument("--echo", action="store_true", help="send back what the bot receives")
    bot.add_argument("--runtime-dir", default=None, help="where to find the embedded coordinator")
    bot.add_argument("--duration", type=float, default=None, help="stop after this many seconds")


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if bool(args.api_key) != bool(args.api_secret):
        print("streamcall serve: give both --api-key and --api-secret, or neither", file=sys.stderr)
        return 2
    if args.api_secret and len(args.api_secret.encode()) < MIN_SECRET_BYTES:
        if not args.allow_weak_secret:
            print(
                f"streamcall serve: --api-secret is {len(args.api_secret.encode())} bytes; "
                f"give at least {MIN_SECRET_BYTES} (e.g. `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`), or pass --allow-weak-secret to accept "
                "the risk that tokens are forged by guessing it",
                file=sys.stderr,
            )
            return 2
        logging.getLogger(__name__).warning(
            "running with a %d-byte API secret (--allow-weak-secret): tokens can be forged "
            "by whoever guesses it",
            len(args.api_secret.encode()),
        )
    try:
        push_providers = check_providers(map(parse_provider, args.push_provider))
    except InvalidArguments as exc:
        print(f"streamcall serve: --push-provider: {exc.reason}", file=sys.stderr)
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
        limits=Limits(session_grace=args.session_grace),
        push_providers=push_providers,
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


def _api_secret(args: argparse.Namespace) -> str | None:
    """``--api-secret``, else the embedded coordinator's; None (said on stderr) if neither."""
    if args.api_secret is not None:
        return str(args.api_secret)
    found = read_discovery(discovery_path())
    if found is None:
        print(
            f"streamcall {args.command}: no --api-secret and no embedded coordinator found",
            file=sys.stderr,
        )
        return None
    return found.api_secret


def _token(args: argparse.Namespace) -> int:
    secret = _api_secret(args)
    if secret is None:
        return 2
    print(mint_token(secret, args.user, ttl=args.ttl, role=args.role))
    return 0


def _push_key(args: argparse.Namespace) -> int:
    """The webhook key: give it to push receivers instead of the API secret."""
    secret = _api_secret(args)
    if secret is None:
        return 2
    print(webhook_key(secret))
    return 0


def _bot(args: argparse.Namespace) -> int:
    from .bot import run_bot  # noqa: PLC0415  (the engine loads only for the bot)

    return run_bot(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamcall`` console script."""
    args = _parser().parse_args(argv)
    commands = {"serve": _serve, "token": _token, "push-key": _push_key, "bot": _bot}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
