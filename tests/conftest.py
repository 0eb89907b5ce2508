"""Fixtures: a real coordinator on 127.0.0.1 port 0, a fake clock, logged-in clients."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamcall_widget.coordinator import App, Coordinator, CoordinatorConfig, Limits, mint_token

from .engine_helpers import Clients
from .wsclient import WsClient

APP = App(api_key="test-key", api_secret="test-secret-" + "x" * 32)
OTHER_APP = App(api_key="other-key", api_secret="other-secret-" + "y" * 32)


class FakeClock:
    """A clock tests move by hand; ring timers fire when the coordinator's timers run."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


FIRST = "test_bench_smoke.py"
"""The longest file (every bench at smoke size, about two minutes) starts first: under
pytest-xdist's ``--dist loadfile`` its worker runs it while the other worker takes the
rest, instead of it starting last and running alone."""


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker gets a Jupyter runtime directory of its own.

    An embedded coordinator advertises itself there, and a tutorial's ``StreamCall()``
    joins the one it finds: two tutorials running at once on two workers must not find
    each other's (one closing would cut the other's calls). Loaded for ``tests notebooks``
    as an initial conftest, so it covers the nbval items too.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        base = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or tempfile.mkdtemp())
        own = base / worker
        own.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(own)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put :data:`FIRST`'s tests before the others (stable otherwise)."""
    items.sort(key=lambda item: item.path.name != FIRST)


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[Clients]:
    """``clients("alice")``: a logged-in client on a fresh embedded coordinator (options as
    :class:`~tests.engine_helpers.Clients`); all are closed after the test."""
    with Clients(tmp_path) as made:
        yield made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limits() -> Limits:
    """Default limits; tests that flood override this fixture."""
    return Limits()


@pytest.fixture
async def coordinator(
    tmp_path: Path, clock: FakeClock, limits: Limits
) -> AsyncIterator[Coordinator]:
    """A coordinator with two apps, a SQLite store and the fake clock."""
    config = CoordinatorConfig(
        apps=(APP, OTHER_APP), db=str(tmp_path / "calls.sqlite3"), limits=limits
    )
    async with Coordinator(config, clock=clock) as server:
        yield server


Login = Callable[..., Awaitable[WsClient]]


@pytest.fixture
async def login(coordinator: Coordinator, clock: FakeClock) -> AsyncIterator[Login]:
    """login("alice") -> an authenticated WsClient; all are closed after the test."""
    clients: list[WsClient] = []

    async def _login(user_id: str, app: App = APP, **user: Any) -> WsClient:
        token = mint_token(app.api_secret, user_id, now=clock())
        client = await WsClient.login(coordinator.url, app.api_key, token, user_id, **user)
        clients.append(client)
        return client

    yield _login
    for client in clients:
        await client.close()
