"""The layers import only what they may: a server knows no kernel, a protocol knows no I/O.

Two kinds of proof: every import statement of a layer's source (relative ones resolved) is
checked against its rule, and real processes (``import streamcall_widget.coordinator``,
``streamcall serve``, ``streamcall token``) are inspected through their ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "streamcall_widget"
MEDIA_STACK = ("aiortc", "aioice", "av", "numpy")
"""What a kernel needs for media and a server must never load."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "protocol": (
        "asyncio",
        "aiohttp",
        "socket",
        *MEDIA_STACK,
        "streamcall_widget.coordinator",
        "streamcall_widget.engine",
        "streamcall_widget.widgets",
    ),
    "coordinator": (*MEDIA_STACK, "streamcall_widget.engine", "streamcall_widget.widgets"),
    "engine": (
        "streamcall_widget.widgets",
        "streamcall_widget.render",
        "ipywidgets",
        "anywidget",
        "traitlets",
    ),
    "render": ("streamcall_widget.widgets", "ipywidgets", "anywidget", "traitlets"),
    "widgets": ("aiortc", "aioice"),
}
"""For each layer (a subpackage), the modules it must not import, directly or by a prefix."""


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _imports(path: Path, module: str) -> list[str]:
    """Absolute names of every module that ``path``, the source of ``module``, imports
    (``from . import x`` resolved)."""
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names]
    return names


def _breaks(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in forbidden)


SANS_IO_MODULES = {
    "engine/call_core.py": (
        "asyncio",
        "threading",
        "aiohttp",
        *MEDIA_STACK,
        "streamcall_widget.engine.loop",
    ),
}
"""Pure modules inside an I/O layer: they may not await, spawn threads or touch media."""


@pytest.mark.parametrize("module", sorted(SANS_IO_MODULES))
def test_sans_io_modules_stay_pure(module: str) -> None:
    """The call core imports nothing that does I/O (it is driven by tests with no loop)."""
    path = PACKAGE / module
    offending = [
        n for n in _imports(path, _module_name(path)) if _breaks(n, SANS_IO_MODULES[module])
    ]
    assert offending == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_follow_the_rules(layer: str) -> None:
    """No source file of the layer imports a module its rule forbids."""
    offending = sorted(
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path, _module_name(path))
        if _breaks(name, FORBIDDEN[layer])
    )
    assert offending == []


def test_the_rule_check_sees_a_relative_import(tmp_path: Path) -> None:
    """The checker resolves ``from ..engine import x`` in a layer to the engine."""
    probe = tmp_path / "probe.py"
    probe.write_text("from ..engine import StreamCall\nimport numpy as np\n", encoding="utf-8")
    names = _imports(probe, "streamcall_widget.coordinator.probe")
    found = [n for n in names if _breaks(n, FORBIDDEN["coordinator"])]
    assert found == ["streamcall_widget.engine", "streamcall_widget.engine.StreamCall", "numpy"]


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the forbidden modules it ended up loading."""
    watched = [*MEDIA_STACK, "streamcall_widget.engine", "ipywidgets"]
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCALL_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_coordinator_loads_no_kernel() -> None:
    """``import streamcall_widget.coordinator`` loads neither aiortc, av, numpy nor the engine."""
    assert _loaded_after("import streamcall_widget.coordinator") == []


def test_the_package_loads_the_engine_on_first_use() -> None:
    """``import streamcall_widget`` is light; its ``StreamCall`` name brings the engine."""
    assert _loaded_after("import streamcall_widget") == []
    loaded = _loaded_after("import streamcall_widget\nstreamcall_widget.StreamCall")
    assert {"aiortc", "av", "numpy", "streamcall_widget.engine"} <= set(loaded)


def test_streamcall_token_loads_no_kernel() -> None:
    """``streamcall token`` mints with the coordinator's code alone."""
    code = """
    from streamcall_widget.cli import main
    main(["token", "--user", "alice", "--api-secret", "s" * 32])
    """
    assert _loaded_after(code) == []


def test_streamcall_serve_runs_with_no_kernel_loaded() -> None:
    """A running ``streamcall serve`` (answering /health) has loaded no media stack."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"""
    import os, signal, sys, threading, time, urllib.request
    from streamcall_widget.cli import main

    def stop_when_serving():
        for _ in range(200):
            try:
                urllib.request.urlopen("http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            os._exit(3)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_serving, daemon=True).start()
    assert main(["serve", "--port", "{port}", "--db", ":memory:"]) == 0
    """
    assert _loaded_after(code) == []
