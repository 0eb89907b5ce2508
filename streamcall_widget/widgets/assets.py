"""The browser renderers: one ES module per widget, bundled from ``js/`` by esbuild.

anywidget loads a widget's module from a string, so a relative ``import`` cannot reach a
sibling file: ``npm run build`` (``js/build.mjs``) bundles each widget's entry module with
everything it imports from ``js/lib`` into one self-contained module,
``streamcall_widget/static/<widget>.js``, beside the stylesheet ``style.css``. A wheel ships
those files (its build runs ``npm run build``); a source tree (the editable install) reads
the ones built there and refuses stale ones, since a bundle older than a file under ``js/``
would show the page an old renderer with no sign of it: loading raises
:class:`~streamcall_widget.errors.InvalidState` naming the command that rebuilds.
"""

from __future__ import annotations

import functools
from pathlib import Path

from streamcall_widget.errors import InvalidState

__all__ = ["BUILD_COMMAND", "js_root", "load_css", "load_module", "static_root"]

BUILD_COMMAND = "npm ci && npm run build"
"""What builds the bundles, run at the repository root (``bash .ci/bootstrap`` runs it too)."""


def js_root() -> Path:
    """The renderers' sources: the source tree's ``js/`` (an installed wheel has none)."""
    return Path(__file__).resolve().parent.parent.parent / "js"


def static_root() -> Path:
    """Where the built bundles are: ``static/`` inside the package."""
    return Path(__file__).resolve().parent.parent / "static"


@functools.cache
def load_module(name: str) -> str:
    """The bundled ES module of widget ``name`` (built from ``js/<name>.js``)."""
    return _read_bundle(f"{name}.js")


@functools.cache
def load_css() -> str:
    """The stylesheet shared by the three widgets (``js/style.css``, as built)."""
    return _read_bundle("style.css")


def _read_bundle(filename: str) -> str:
    """The text of one built file, after checking that it exists and is not stale."""
    bundle = static_root() / filename
    rebuild = f"run `{BUILD_COMMAND}` at the repository root (or `bash .ci/bootstrap`)"
    if not bundle.is_file():
        raise InvalidState(f"the renderer bundle {bundle} has not been built: {rebuild}")
    newer = _newer_source(bundle.stat().st_mtime)
    if newer is not None:
        raise InvalidState(f"the renderer bundle {bundle} is older than {newer}: {rebuild}")
    return bundle.read_text(encoding="utf-8")


def _newer_source(built: float) -> Path | None:
    """A file under ``js/`` changed after ``built`` (an mtime), if the sources are here."""
    sources = js_root()
    if not (sources / "build.mjs").is_file():  # an installed wheel: bundles only
        return None
    return next((path for path in sorted(sources.rglob("*")) if path.stat().st_mtime > built), None)
