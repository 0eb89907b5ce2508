"""The README's main job, as a newcomer runs it: ``bash .ci/lab`` opens JupyterLab on the
quickstart, whose cells make a call that both call views draw live."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .jupyter import cell_locator, cell_output_text, open_notebook, run_cell, run_jupyter

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = "notebooks/01_quickstart.ipynb"
LIVE_MARK = "alice sees bob's video"
"""Printed by the quickstart's cell that waits until both sides receive each other."""


def code_cells(notebook: Path) -> list[tuple[int, str]]:
    """Each code cell's index among all cells, and its source."""
    cells = json.loads(notebook.read_text())["cells"]
    return [
        (index, "".join(cell["source"]))
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
    ]


def assert_each_view_draws_when_shown(page: Page) -> None:
    """Scroll each phone's call view into sight (running later cells scrolled them away,
    which pauses their video) and wait until it has drawn 10 frames."""
    views = page.locator(".sc-call")
    assert views.count() == 2  # Alice's and Bob's
    for index in range(2):
        views.nth(index).scroll_into_view_if_needed()
        page.wait_for_function(
            "(index) => Number(document.querySelectorAll('.sc-call')[index]"
            ".dataset.framesDrawn) >= 10",
            arg=index,
        )


def test_main_job_opens_the_quickstart_and_its_call_is_drawn(chromium: Browser) -> None:
    """The server's front page is the quickstart; run cell by cell, both call views draw
    video while the call is on, the call is still on after the last cell, and its Hang up
    and close button logs both out."""
    notebook = ROOT / QUICKSTART
    saved = hashlib.sha256(notebook.read_bytes()).hexdigest()
    cells = code_cells(notebook)
    live = next(index for index, source in cells if LIVE_MARK in source)
    with run_jupyter(ROOT, launcher=["bash", str(ROOT / ".ci/lab")]) as server:
        front_page = f"{server.url}?token={server.token}"  # no path: the main job's default
        page = open_notebook(chromium, server, QUICKSTART, url=front_page)
        try:
            for index, _source in cells:
                run_cell(page, index)
                if index == live:
                    assert f"{LIVE_MARK}: True" in cell_output_text(page, index)
                    assert_each_view_draws_when_shown(page)
            # Run All leaves the call on: the last cell only offers to hang up and close.
            assert page.locator(".sc-call[data-state=joined]").count() == 2
            last = cell_locator(page, cells[-1][0])
            last.get_by_role("button", name="Hang up and close").click()
            expect(last).to_contain_text("logged_out logged_out", timeout=30_000)
            expect(page.locator(".sc-call")).to_have_count(0)
        finally:
            page.close()
    # Running it did not save over the tutorial (autosave is off in the test's settings).
    assert hashlib.sha256(notebook.read_bytes()).hexdigest() == saved
