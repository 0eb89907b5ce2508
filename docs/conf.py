"""Sphinx configuration: the Markdown guides, the tutorials and the API reference.

The test command builds the site with warnings as errors::

    .venv/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

The pages stay plain Markdown (MyST) that reads well on its own; the tutorials are the
notebooks in ``notebooks/``, rendered from their stored outputs (nbval runs them in the
test command, so the docs build never executes them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pygments.lexers import JsonLexer  # type: ignore[import-untyped]
from pygments.token import Comment, Error  # type: ignore[import-untyped]
from sphinx.application import Sphinx

import streamcall_widget

project = "streamcall_widget"
author = "streamcall_widget contributors"
copyright = "streamcall_widget contributors"
release = streamcall_widget.__version__
version = release

extensions = [
    # myst_nb parses Markdown (it brings myst_parser) and renders .ipynb files.
    "myst_nb",
    # autodoc: api.md documents the public objects from their reST docstrings.
    "sphinx.ext.autodoc",
]

# The tutorials: docs/tutorials is a symbolic link to ../notebooks, so the notebooks
# have one home (where nbval runs them and where users open them) and Sphinx still finds
# them inside its source directory (its file discovery follows symbolic links; a
# toctree cannot name a file outside the source directory). A copy made by this file
# would leave generated files in the source tree that can go stale.
exclude_patterns = [
    "_build",
    "**/.ipynb_checkpoints",
    # Not pages: the schema generator and its output (protocol.md links to both, and
    # MyST turns those links into downloads), and the figures the pages embed.
    "gen_schema.py",
    "schema.json",
    "images",
]
root_doc = "index"

# -- MyST ---------------------------------------------------------------------------------

# ``[text](#some-heading)`` links between and within pages: anchors for h1 to h3.
myst_heading_anchors = 3

# -- myst-nb --------------------------------------------------------------------------------

# The stored outputs are shown as they are; nbval executes the notebooks elsewhere.
nb_execution_mode = "off"
# Widget outputs need no setting. A saved notebook keeps a widget's view id
# (application/vnd.jupyter.widget-view+json) but not its state, so nothing can draw it
# outside a kernel: myst-nb, which ranks that type first, writes an inert <script>
# without a warning, and _static/widgets.css shows a short note in its place. Ranking
# text/plain first instead would show ``<... LoginPanel object at 0x...>``.

# -- autodoc --------------------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Unresolvable references in signatures (aiortc, numpy types) are not errors.
nitpicky = False

# -- HTML -----------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"streamcall_widget {release}"
html_static_path = ["_static"]
html_css_files = ["widgets.css"]


class JsoncLexer(JsonLexer):  # type: ignore[misc]  # Pygments has no type information
    """protocol.md's ``jsonc`` examples: JSON with comments and ``…`` for elided parts.

    Pygments' JSON lexer reads ``//`` and ``/* */`` comments but has no ``jsonc`` alias,
    and marks ``…`` as an error, which Sphinx reports as a warning; here it is a comment.
    """

    name = "JSON with comments"
    aliases = ["jsonc"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, Any, str]]:
        """The JSON lexer's tokens, with each ``…`` turned into a comment."""
        for index, token, value in super().get_tokens_unprocessed(text):
            yield index, Comment if token is Error and value == "…" else token, value


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``jsonc`` lexer."""
    app.add_lexer("jsonc", JsoncLexer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
