"""The renderer bundles: what `npm run build` leaves in streamcall_widget/static/, and how
widgets/assets.py refuses a bundle that is missing or older than its sources."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamcall_widget.errors import InvalidState
from streamcall_widget.widgets import assets
from streamcall_widget.widgets.assets import BUILD_COMMAND, load_css, load_module

WIDGETS = ["login_panel", "call_view", "device_controls"]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """load_module and load_css cache what they read: each test reads afresh, and leaves
    no text from its own temporary tree behind for the other tests."""
    load_module.cache_clear()
    load_css.cache_clear()
    yield
    load_module.cache_clear()
    load_css.cache_clear()


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A source tree of its own: (js/ with a build script and one entry module, static/)."""
    sources, static = tmp_path / "js", tmp_path / "static"
    (sources / "lib").mkdir(parents=True)
    static.mkdir()
    for path in (sources / "build.mjs", sources / "call_view.js", sources / "lib" / "dom.js"):
        path.write_text("// source\n", encoding="utf-8")
    monkeypatch.setattr(assets, "js_root", lambda: sources)
    monkeypatch.setattr(assets, "static_root", lambda: static)
    return sources, static


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` older than now."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("name", WIDGETS)
def test_each_widget_has_a_self_contained_es_module(name: str) -> None:
    """The built bundle exists, has one default export and imports nothing: anywidget loads
    it from a string (a Blob URL), where no relative import could be resolved."""
    bundle = assets.static_root() / f"{name}.js"
    assert bundle.is_file(), f"{bundle} is missing: run `{BUILD_COMMAND}`"
    module = load_module(name)
    assert module == bundle.read_text(encoding="utf-8")
    default_exports = re.findall(r"^export default\b|\bas default\b", module, re.MULTILINE)
    assert len(default_exports) == 1
    assert not re.search(r"^\s*import\b.*\bfrom\b|^\s*import\s*[\"']", module, re.MULTILINE)
    assert not re.search(r"^\s*export\b.*\bfrom\s*[\"']", module, re.MULTILINE)


def test_the_stylesheet_is_built_beside_the_modules() -> None:
    """style.css is copied by the same build, and is what load_css returns."""
    css = assets.static_root() / "style.css"
    assert load_css() == css.read_text(encoding="utf-8")
    assert ".sc-" in load_css()


def test_a_missing_bundle_says_how_to_build_it(tree: tuple[Path, Path]) -> None:
    _, static = tree
    with pytest.raises(InvalidState, match=re.escape(BUILD_COMMAND)) as raised:
        load_module("call_view")
    assert str(static / "call_view.js") in str(raised.value)


def test_a_bundle_older_than_a_source_file_is_refused(tree: tuple[Path, Path]) -> None:
    """Editing any file under js/ (a lib file here) without rebuilding fails loudly instead
    of showing the page the old renderer."""
    sources, static = tree
    bundle = static / "call_view.js"
    bundle.write_text("export default {};\n", encoding="utf-8")
    for path in sources.rglob("*"):
        _age(path, 60)
    assert load_module("call_view") == "export default {};\n"
    load_module.cache_clear()
    _age(bundle, 120)
    with pytest.raises(InvalidState, match=re.escape(BUILD_COMMAND)) as raised:
        load_module("call_view")
    assert "is older than" in str(raised.value)


def test_the_stylesheet_is_checked_the_same_way(tree: tuple[Path, Path]) -> None:
    _, static = tree
    with pytest.raises(InvalidState, match=re.escape(BUILD_COMMAND)):
        load_css()
    css = static / "style.css"
    css.write_text(".sc-root {}\n", encoding="utf-8")
    _age(css, 60)
    with pytest.raises(InvalidState, match="is older than"):
        load_css()


def test_an_installed_package_has_no_sources_to_compare(tree: tuple[Path, Path]) -> None:
    """A wheel holds the bundles and no js/: they are read as they are, whatever their age."""
    sources, static = tree
    (sources / "build.mjs").unlink()
    bundle = static / "login_panel.js"
    bundle.write_text("export default {};\n", encoding="utf-8")
    _age(bundle, 3600)
    assert load_module("login_panel") == "export default {};\n"
