"""Fixtures for the browser tests: Debian's Chromium, private Jupyter servers, notebook pages.

Chromium is module-scoped rather than session-scoped on purpose: sync Playwright keeps its
asyncio loop marked as running in this thread for as long as it is open, so a browser that
outlived the browser tests would make every later ``async def`` test in the session fail
("asyncio.run() cannot be called from a running event loop"), and a second
``launch_chromium`` in another module would fail while it lived.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from .chromium import launch_chromium
from .jupyter import JupyterServer, open_notebook, run_jupyter, write_notebook

NotebookPageFactory = Callable[[JupyterServer, list[str]], Page]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A private JupyterLab server for the session, serving an empty temporary directory:
    it starts once (about 20 s) for every module that needs one. Unlike Chromium it holds
    no event loop in the test thread, and each test's notebook and kernel are its own."""
    with run_jupyter(tmp_path_factory.mktemp("lab"), "lab") as server:
        yield server


@pytest.fixture(scope="module")
def jupyter_notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A private Notebook 7 server for the module, serving an empty temporary directory."""
    with run_jupyter(tmp_path_factory.mktemp("notebook7"), "notebook") as server:
        yield server


@pytest.fixture
def notebook_page(
    chromium: Browser, request: pytest.FixtureRequest
) -> Iterator[NotebookPageFactory]:
    """Write a notebook of the given code cells into a server's root and open it in a new
    page (kernel idle); pages are closed, and their kernels shut down, after the test."""
    opened: list[tuple[JupyterServer, Page, str]] = []
    names = itertools.count()

    def open_cells(server: JupyterServer, cells: list[str]) -> Page:
        name = f"{request.node.name}-{next(names)}.ipynb".replace("[", "-").replace("]", "")
        write_notebook(server.root / name, cells)
        page = open_notebook(chromium, server, name)
        opened.append((server, page, name))
        return page

    yield open_cells
    for server, page, name in opened:
        page.close()
        for session in server.api("sessions"):
            if session["path"] == name:
                server.api(f"sessions/{session['id']}", "DELETE")
