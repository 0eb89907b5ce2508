"""The harness end to end: a real anywidget in JupyterLab and Notebook 7, driven in Chromium."""

from __future__ import annotations

import sys
import time

import pytest

from .conftest import NotebookPageFactory
from .jupyter import cell_output_text, kernel_execute, run_all_cells, run_cell, wait_for_widget

COUNTER_CELL = '''
import anywidget
import traitlets


class Counter(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const button = document.createElement("button");
      button.className = "counter";
      const show = () => { button.textContent = `count ${model.get("value")}`; };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", show);
      show();
      el.appendChild(button);
    }
    export default { render };
    """
    value = traitlets.Int(0).tag(sync=True)


counter = Counter()
counter
'''
PRINT_CELL = "print(f'value={counter.value}')"


@pytest.mark.parametrize("server_fixture", ["jupyter_lab", "jupyter_notebook7"])
def test_counter_clicks_reach_the_kernel(
    server_fixture: str, notebook_page: NotebookPageFactory, request: pytest.FixtureRequest
) -> None:
    """Clicks on an anywidget button sync its trait to the kernel, as a rerun cell shows."""
    page = notebook_page(request.getfixturevalue(server_fixture), [COUNTER_CELL, PRINT_CELL])
    run_all_cells(page)
    assert "value=0" in cell_output_text(page, 1)

    button = wait_for_widget(page, 0, "button.counter")
    for _ in range(3):
        button.click()
    page.wait_for_function(
        "() => document.querySelector('button.counter').textContent === 'count 3'"
    )
    # ipywidgets holds a state update back while another is unanswered (msg_throttle), so
    # the page may show 3 before the kernel has it: wait for the kernel, then rerun the cell.
    deadline = time.monotonic() + 20
    while kernel_execute(page, "print(counter.value)").strip() != "3":
        assert time.monotonic() < deadline, "the third click never reached the kernel"
        page.wait_for_timeout(100)
    run_cell(page, 1)
    assert "value=3" in cell_output_text(page, 1)
    assert kernel_execute(page, "print(counter.value * 2)").strip() == "6"
    assert kernel_execute(page, "import sys; print(sys.executable)").strip() == sys.executable
