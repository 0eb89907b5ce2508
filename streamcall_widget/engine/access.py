"""Where the coordinator is and how to get a token for it.

With no URL, the client uses the embedded coordinator: one another kernel of this machine
advertises in its discovery file, or one it starts itself. Its discovery file holds the
app's secret (owner-only), so development tokens are minted right here. Against a server,
the user brings a token or a token provider; the provider is called again whenever the
current token has expired (or the server says it has): :func:`authenticate` opens a
connection with the current token and, if the server finds it expired, once more with a
fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import jwt

from streamcall_widget.coordinator.auth import mint_token
from streamcall_widget.coordinator.embedded import (
    EmbeddedCoordinator,
    discovery_path,
    find_running,
    start_embedded,
)
from streamcall_widget.errors import AuthenticationError, InputError, TokenExpired
from streamcall_widget.protocol.events import AnyEvent
from streamcall_widget.protocol.models import UserData, UserInput

from .connection import CoordinatorConnection

__all__ = ["Target", "TokenSource", "authenticate", "resolve_target"]

TokenProvider = Callable[[], str | Awaitable[str]]


@dataclass(frozen=True)
class Target:
    """A coordinator to connect to."""

    url: str
    api_key: str
    api_secret: str | None = None
    """Known for an embedded coordinator of this machine: tokens are minted locally."""
    embedded: EmbeddedCoordinator | None = None
    """Set when this process started the coordinator (and must stop it)."""


async def resolve_target(
    url: str | None, api_key: str | None, runtime_dir: str | Path | None
) -> Target:
    """The server at ``url``, else this machine's embedded coordinator (started if none)."""
    if url is not None:
        if not api_key:
            raise InputError(
                "a coordinator url needs an api_key (StreamCall(url=..., api_key=...))"
            )
        return Target(url=url, api_key=api_key)
    async with _machine_lock(discovery_path(runtime_dir).with_suffix(".lock")):
        # One process at a time looks and starts, so kernels that lost their coordinator
        # together do not each start their own and end up apart.
        found = await find_running(runtime_dir)
        if found is not None:
            return Target(url=found.url, api_key=found.api_key, api_secret=found.api_secret)
        embedded = await start_embedded(runtime_dir=runtime_dir)
    found = embedded.discovery
    return Target(found.url, found.api_key, found.api_secret, embedded)


@contextlib.asynccontextmanager
async def _machine_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive lock shared by the processes of this machine (none where flock is not)."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as handle:  # noqa: ASYNC230 - creating an empty local file
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class TokenSource:
    """The user's token: given, from a provider, or minted for the embedded coordinator."""

    def __init__(
        self, user_id: str, token: str | None, provider: TokenProvider | None, target: Target
    ) -> None:
        if token is None and provider is None and target.api_secret is None:
            raise AuthenticationError(
                "a server needs a token or a token_provider: login(user_id=..., token=...)"
            )
        if provider is not None and not callable(provider):
            raise InputError("token_provider must be a function returning a token")
        self._user_id = user_id
        self._token = token
        self._provider = provider
        self._secret = target.api_secret

    async def current(self) -> str:
        """A token that has not expired, fetching a new one when needed."""
        if self._token is None or _expired(self._token):
            await self.refresh()
        assert self._token is not None
        return self._token

    async def refresh(self) -> str:
        """A new token from the provider (or minted); a fixed token is returned as is."""
        if self._provider is not None:
            value = self._provider()
            token = await value if inspect.isawaitable(value) else value
            if not isinstance(token, str) or not token:
                raise AuthenticationError("token_provider must return a non-empty token string")
            self._token = token
        elif self._secret is not None and (self._token is None or _expired(self._token)):
            self._token = mint_token(self._secret, self._user_id)
        if self._token is None:
            raise AuthenticationError("no token available")
        return self._token


def _expired(token: str, margin: float = 5.0) -> bool:
    """Whether the token's ``exp`` has passed (unverified read: the server verifies)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    expiry = claims.get("exp")
    return isinstance(expiry, int | float) and expiry <= time.time() + margin


async def authenticate(
    target: Target,
    tokens: TokenSource,
    user: UserInput,
    *,
    on_event: Callable[[AnyEvent], None],
    on_close: Callable[[str], None],
    request_timeout: float,
) -> tuple[CoordinatorConnection, UserData]:
    """A connection to ``target`` authenticated as ``user``, and the user as stored; a token
    the coordinator finds expired (the clocks disagree, or it expired in flight) is
    refreshed once."""
    for attempt in range(2):
        conn = CoordinatorConnection(
            target.url, on_event=on_event, on_close=on_close, request_timeout=request_timeout
        )
        token = await (tokens.current() if attempt == 0 else tokens.refresh())
        try:
            result = await conn.open(target.api_key, token, user)
        except TokenExpired:
            if attempt == 1:
                raise
            continue
        return conn, result.user
    raise AuthenticationError("could not authenticate")  # pragma: no cover
