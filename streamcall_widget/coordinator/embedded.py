"""The coordinator embedded in a kernel, and how other kernels on the machine find it.

``start_embedded()`` runs a coordinator on 127.0.0.1, port 0, inside the running asyncio
loop, with a fresh app and development tokens, and writes a discovery file (url, API key,
secret, pid) with owner-only permissions in the Jupyter runtime directory. ``find_running()``
reads that file back and checks that its process lives and answers ``/health``; a stale
file is ignored, and replaced by the next ``start_embedded()``. ``stop()`` removes the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from jupyter_core.paths import jupyter_runtime_dir

from .auth import App, new_app
from .limits import Limits
from .push import parse_providers
from .server import Coordinator, CoordinatorConfig

__all__ = [
    "DISCOVERY_NAME",
    "PUSH_PROVIDERS_ENV",
    "Discovery",
    "EmbeddedCoordinator",
    "discovery_path",
    "find_running",
    "start_embedded",
]

DISCOVERY_NAME = "streamcall-coordinator.json"
PUSH_PROVIDERS_ENV = "STREAMCALL_PUSH_PROVIDERS"
"""The environment variable naming the embedded coordinator's push providers."""


@dataclass(frozen=True)
class Discovery:
    """What a discovery file says: where the coordinator is and how to mint tokens for it."""

    url: str
    http_url: str
    api_key: str
    api_secret: str
    pid: int


def discovery_path(runtime_dir: str | Path | None = None) -> Path:
    """The discovery file in ``runtime_dir`` (default: Jupyter's runtime directory)."""
    return Path(runtime_dir if runtime_dir is not None else jupyter_runtime_dir()) / DISCOVERY_NAME


def read_discovery(path: Path) -> Discovery | None:
    """The file's content, or None if it is missing or not a discovery file."""
    try:
        data = json.loads(path.read_text())
        return Discovery(**data)
    except (OSError, ValueError, TypeError):
        return None


async def find_running(runtime_dir: str | Path | None = None) -> Discovery | None:
    """The embedded coordinator another process runs here, if it is alive and healthy."""
    found = read_discovery(discovery_path(runtime_dir))
    if found is None or not _process_alive(found.pid):
        return None
    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{found.http_url}/health") as response,
        ):
            healthy = response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return None
    return found if healthy else None


class EmbeddedCoordinator:
    """A coordinator running in this process, advertised by a discovery file."""

    def __init__(self, coordinator: Coordinator, app: App, path: Path) -> None:
        self.coordinator = coordinator
        self.app = app
        self.path = path
        self.discovery = Discovery(
            url=coordinator.url,
            http_url=coordinator.http_url,
            api_key=app.api_key,
            api_secret=app.api_secret,
            pid=os.getpid(),
        )

    async def stop(self) -> None:
        """Stop serving and remove the discovery file if it is still ours."""
        await self.coordinator.stop()
        current = read_discovery(self.path)
        if current is not None and current == self.discovery:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


async def start_embedded(
    *,
    runtime_dir: str | Path | None = None,
    db: str | None = None,
    limits: Limits | None = None,
) -> EmbeddedCoordinator:
    """Start a loopback coordinator in the running loop and advertise it. Its push
    providers come from ``STREAMCALL_PUSH_PROVIDERS`` (``NAME=URL,NAME=URL``), if set."""
    app = new_app()
    coordinator = Coordinator(
        CoordinatorConfig(
            apps=(app,),
            host="127.0.0.1",
            port=0,
            db=db,
            dev_tokens=True,
            limits=limits if limits is not None else Limits(),
            push_providers=parse_providers(os.environ.get(PUSH_PROVIDERS_ENV, "")),
        )
    )
    await coordinator.start()
    embedded = EmbeddedCoordinator(coordinator, app, discovery_path(runtime_dir))
    _write_private(embedded.path, json.dumps(asdict(embedded.discovery)))
    return embedded


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only, atomically (replacing a stale file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".streamcall-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
