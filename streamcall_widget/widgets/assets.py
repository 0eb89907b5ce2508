"""The browser renderers: one ES module per widget, composed from ``js/`` when loaded.

The renderers are plain ES modules that the browser runs as written, with no build step and
no Node.js on the user's machine. anywidget loads a widget's module from a string, so a
relative ``import`` cannot reach a sibling file; instead, each
``import { a, b } from "./lib/x.js";`` line of a module is replaced by the text of
``lib/x.js`` (its own imports composed the same way, each file once) with ``export``
dropped. Library files therefore share one top-level scope per widget: their top-level
names must differ (the browser rejects a duplicate with a SyntaxError at load).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from streamcall_widget.errors import InputError

__all__ = ["js_root", "load_css", "load_module"]

_IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"(\./[^"]+\.js)";[ \t]*$', re.MULTILINE)
_EXPORT = re.compile(r"^export (?=(?:async )?(?:function|const|let|class) )", re.MULTILINE)


def js_root() -> Path:
    """Where the renderers are: inside the installed package, else the source tree's js/."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "js"
    return packaged if packaged.is_dir() else here.parent / "js"


@functools.cache
def load_module(name: str) -> str:
    """The ES module of widget ``name`` (``js/<name>.js``) with its imports composed in."""
    return _compose(js_root() / f"{name}.js", seen=set(), library=False)


@functools.cache
def load_css() -> str:
    """The stylesheet shared by the three widgets."""
    return (js_root() / "style.css").read_text(encoding="utf-8")


def _compose(path: Path, *, seen: set[Path], library: bool) -> str:
    if not path.is_file():
        raise InputError(f"renderer module {path} does not exist")
    seen.add(path)
    text = path.read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        target = (path.parent / match.group(1)).resolve()
        if target in seen:
            return f"// {match.group(1)}: composed above"
        return _compose(target, seen=seen, library=True)

    text = _IMPORT.sub(inline, text)
    return _EXPORT.sub("", text) if library else text
