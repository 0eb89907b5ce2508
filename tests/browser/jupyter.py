"""A private Jupyter server (JupyterLab or Notebook 7) and helpers that drive notebooks in it.

``run_jupyter`` starts the venv's ``jupyter lab`` / ``jupyter notebook`` on 127.0.0.1 with an
OS-chosen port, a fresh token and private runtime, config, data, settings and workspace
directories, so neither the user's Jupyter state nor an earlier test leaks in. The installed
lab extensions (JupyterLab's, anywidget's, ipywidgets') are still found: they live under the
venv's ``share/jupyter``, which Jupyter searches through ``sys.prefix`` whatever
``JUPYTER_DATA_DIR`` says. News and update checks are off so the page never reaches out.

The page helpers use the Jupyter UI's own commands (the ones behind the Run menu) and read
state through ``window.jupyterapp`` (exposed with ``expose_app_in_browser``); every wait is an
explicit condition with a timeout, never a sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import psutil  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

__all__ = [
    "App",
    "JupyterServer",
    "cell_locator",
    "cell_output_text",
    "kernel_execute",
    "open_notebook",
    "run_all_cells",
    "run_cell",
    "run_jupyter",
    "wait_for_widget",
    "write_notebook",
]

App = Literal["lab", "notebook"]

# What the server logs when another process took its port between its probe and its bind.
PORT_LOST = "could not be started because port"
START_ATTEMPTS = 3
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# Milliseconds, as Playwright counts: opening a notebook includes starting its kernel.
OPEN_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 60_000

# The venv's kernelspec says ``python``; jupyter_client swaps that for the server's own
# ``sys.executable``, so the kernel runs this venv's interpreter.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# User settings that would otherwise make JupyterLab ask about (or fetch) news and updates,
# or save a notebook the tests run (the repository's tutorials are opened in place).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


@dataclass(frozen=True)
class JupyterServer:
    """A running server: where it listens, its token and the notebook root it serves."""

    url: str
    token: str
    root: Path
    app: App
    log: Path

    def page_url(self, path: str) -> str:
        """The URL that opens ``path`` (relative to the root) in this server's app.

        In JupyterLab each notebook gets a workspace of its own: in the shared default one,
        a second page would restore the notebooks of the first and connect to their
        kernels too (two front ends on one kernel's widgets).
        """
        if self.app == "lab":
            workspace = quote(Path(path).stem, safe="")
            return f"{self.url}lab/workspaces/{workspace}/tree/{quote(path)}?token={self.token}"
        return f"{self.url}notebooks/{quote(path)}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call ``/api/<path>`` with the token; the decoded JSON reply (``None`` if empty)."""
        request = urllib.request.Request(  # noqa: S310 -- always our own http://127.0.0.1 URL
            f"{self.url}api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _command(app: App, root: Path, token: str, launcher: Sequence[str] | None) -> list[str]:
    """The server command line: loopback, port chosen by the OS, no browser, no phoning home.

    ``launcher`` replaces ``python -m jupyterlab`` (a script that ends in ``jupyter lab
    "$@"``, such as the README's main-job command); the options here follow it, except
    ``expose_app_in_browser``, which such a script must set itself (traitlets refuses an
    option given twice), so the page helpers' need of ``window.jupyterapp`` tests it.
    """
    app_class = "LabApp" if app == "lab" else "JupyterNotebookApp"
    default = [sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook"]
    command = [
        *(launcher or default),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        # Port 0: the server binds port 0, reads back the port the OS gave, closes that
        # socket and binds it again a moment later; port_retries=0 makes the rare loss of
        # that race a clean exit (which _start retries) instead of a hunt for other ports.
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if launcher is None:
        command.append(f"--{app_class}.expose_app_in_browser=True")
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root; the server refuses otherwise
    if app == "lab":
        command += [
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    return command


def _environment(state: Path) -> dict[str, str]:
    """The server's environment: every per-user Jupyter and IPython directory under ``state``."""
    env = dict(os.environ)
    for variable, name in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ):
        directory = state / name
        directory.mkdir()
        env[variable] = str(directory)
    # Extra search paths from the caller's shell would let outside kernelspecs or config in.
    for variable in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PORT", "JUPYTER_TOKEN"):
        env.pop(variable, None)
    # ipykernel's debugger otherwise warns about frozen modules on every kernel start.
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for name, settings in LAB_SETTINGS.items():
        target = state / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    return env


def _wait_until_ready(process: subprocess.Popen[bytes], runtime: Path, token: str) -> str:
    """Wait for the server's runtime file, then for ``/api/status`` to answer; return its URL."""
    deadline = time.monotonic() + START_TIMEOUT
    info_file = runtime / f"jpserver-{process.pid}.json"
    url = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerExited(process.returncode)
        if not url and info_file.exists():
            # A file caught half-written fails to parse; it is read again next round.
            with contextlib.suppress(ValueError, KeyError):
                url = json.loads(info_file.read_text())["url"]
        if url:
            request = urllib.request.Request(  # noqa: S310 -- the runtime file's loopback URL
                f"{url}api/status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=2):  # noqa: S310
                    return url
            except (urllib.error.URLError, ConnectionError):
                pass  # the runtime file is written before the socket is bound
        time.sleep(0.1)  # polling interval, not synchronisation: the loop checks the condition
    raise TimeoutError(f"Jupyter server did not answer within {START_TIMEOUT} s")


class ServerExited(RuntimeError):
    """The server process ended before it answered (for port 0: lost the rebind race)."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"Jupyter server exited with status {returncode} before it was ready")


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process ends within ``STOP_TIMEOUT``."""
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return True


def _stop(process: subprocess.Popen[bytes], url: str, token: str) -> None:
    """Shut the server down through its API (which shuts its kernels down first), falling
    back to SIGTERM then SIGKILL; then kill any kernel that outlived it.

    Kernels run in sessions of their own (jupyter_client starts them with
    ``start_new_session``), so they are found as the server's descendants before it stops.
    """
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if url and process.poll() is None:
        request = urllib.request.Request(  # noqa: S310 -- our own loopback URL
            f"{url}api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        # A failure means it is already going; the signals below make sure.
        with contextlib.suppress(urllib.error.URLError, ConnectionError):
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
    if not _exited(process):
        process.terminate()
        if not _exited(process):
            process.kill()
            process.wait()
    _gone, alive = psutil.wait_procs(descendants, timeout=STOP_TIMEOUT)
    for child in alive:
        child.send_signal(signal.SIGKILL)
    psutil.wait_procs(alive, timeout=STOP_TIMEOUT)


def _start(
    command: list[str], root: Path, env: dict[str, str], log: Path, token: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server and wait until it answers; start it again if it lost the port-0
    rebind race."""
    output = ""
    for _attempt in range(START_ATTEMPTS):
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            return process, _wait_until_ready(process, Path(env["JUPYTER_RUNTIME_DIR"]), token)
        except ServerExited:
            output = log.read_text(errors="replace")
            if PORT_LOST not in output:
                raise RuntimeError(f"Jupyter server failed to start:\n{output}") from None
        except BaseException:
            _stop(process, "", token)
            raise
    raise RuntimeError(f"Jupyter server lost its port {START_ATTEMPTS} times:\n{output}")


@contextmanager
def run_jupyter(
    root: Path, app: App = "lab", launcher: Sequence[str] | None = None
) -> Iterator[JupyterServer]:
    """A JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) server serving
    ``root``, ready to use on entry and stopped, with its kernels, on exit; ``launcher``
    as in :func:`_command`."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="jupyter-state-") as state_dir:
        state = Path(state_dir)
        env = _environment(state)
        log = state / "server.log"
        command = _command(app, root, token, launcher)
        process, url = _start(command, root, env, log, token)
        server = JupyterServer(url=url, token=token, root=root, app=app, log=log)
        try:
            yield server
        finally:
            _stop(process, url, token)


def write_notebook(path: Path, cells: list[str]) -> None:
    """Write an nbformat 4.5 notebook of code cells, bound to the venv's ``python3`` kernel
    so opening it starts that kernel without asking which one."""
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{index}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for index, source in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(notebook, indent=1))


# The notebook panel the helpers act on: the shell's current widget (the notebook just
# opened; in Notebook 7 the only main-area widget). Shared by the page scripts below.
_PANEL = """
const panel = () => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return widget && widget.content && widget.sessionContext ? widget : null;
};
"""


def open_notebook(
    browser: Browser,
    server: JupyterServer,
    path: str,
    *,
    timeout_ms: float = OPEN_TIMEOUT_MS,
    url: str | None = None,
) -> Page:
    """Open ``path`` (relative to the server root) in a new page and wait until its kernel
    is idle and its cells are rendered; ``url`` is where the page goes to get there
    (default: the notebook's own URL)."""
    page = browser.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url or server.page_url(path))
    try:
        page.wait_for_function(
            _PANEL
            + """(path) => {
              const p = panel();
              const kernel = p && p.context.path === path && p.sessionContext.session?.kernel;
              return !!kernel && kernel.status === 'idle' && p.content.widgets.length > 0
                && p.content.widgets.every(cell => cell.isAttached);
            }""",
            arg=path,
            timeout=timeout_ms,
        )
    except PlaywrightTimeoutError:
        page.close()
        raise AssertionError(
            f"{path} did not open with an idle kernel; server log:\n{server.log_tail()}"
        ) from None
    return page


def _clear_execution_counts(page: Page) -> list[int | None]:
    """Forget every code cell's stored execution count, so that the count a run gives (a
    fresh kernel gives a saved notebook's cells their stored counts again) shows it ran;
    then every cell's count, all ``None``."""
    counts: list[int | None] = page.evaluate(
        "() => {"
        + _PANEL
        + """return panel().content.widgets.map(c => {
            if (c.model.type === 'code') c.model.executionCount = null;
            return c.model.executionCount ?? null;
          }); }"""
    )
    return counts


def _wait_executed(
    page: Page, indices: list[int], before: list[int | None], timeout_ms: float
) -> None:
    """Wait until each cell in ``indices`` has an execution count other than ``before`` and
    the kernel is idle (JupyterLab sets the count once the reply and all output are in)."""
    page.wait_for_function(
        _PANEL
        + """([indices, before]) => {
          const p = panel();
          const cells = p.content.widgets;
          return p.sessionContext.session.kernel.status === 'idle' && indices.every(i => {
            const count = cells[i].model.executionCount;
            return typeof count === 'number' && count !== before[i];
          });
        }""",
        arg=[indices, before],
        timeout=timeout_ms,
    )


def run_cell(page: Page, index: int, *, timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Run cell ``index`` with the notebook's "Run Selected Cell" command and wait for it."""
    before = _clear_execution_counts(page)
    page.evaluate(
        "(index) => {"
        + _PANEL
        + """const p = panel();
        p.content.activeCellIndex = index;
        p.content.deselectAll();
        window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )
    _wait_executed(page, [index], before, timeout_ms)


def run_all_cells(page: Page, *, timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Run every cell with the notebook's "Run All Cells" command and wait for all of them."""
    before = _clear_execution_counts(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    code_cells = page.evaluate(
        "() => {"
        + _PANEL
        + """return panel().content.widgets
          .map((c, i) => c.model.type === 'code' ? i : -1).filter(i => i >= 0); }"""
    )
    _wait_executed(page, code_cells, before, timeout_ms)


def cell_locator(page: Page, index: int) -> Locator:
    """The DOM node of cell ``index`` in the current notebook."""
    panel_id: str = page.evaluate("() => {" + _PANEL + "return panel().id; }")
    return page.locator(f"#{panel_id} .jp-Notebook .jp-Cell").nth(index)


def cell_output_text(page: Page, index: int) -> str:
    """The rendered text of cell ``index``'s outputs."""
    return cell_locator(page, index).locator(".jp-OutputArea").inner_text()


def wait_for_widget(
    page: Page, index: int, selector: str = "*", *, timeout_ms: float = OPEN_TIMEOUT_MS
) -> Locator:
    """Wait until a widget view rendered in cell ``index``'s output contains ``selector``
    (the view's root element for the default) and return that element."""
    view = cell_locator(page, index).locator(".jp-OutputArea-output").locator(selector).first
    view.wait_for(state="visible", timeout=timeout_ms)
    return view


def kernel_execute(page: Page, code: str, *, timeout_ms: float = RUN_TIMEOUT_MS) -> str:
    """Run ``code`` in the current notebook's kernel without touching the notebook (no cell,
    no history) and return its stdout and result text; a Python error raises with the
    kernel's traceback. It queues behind any cell the kernel is running."""
    result: dict[str, str] = page.evaluate(
        "async ([code, timeout]) => {"
        + _PANEL
        + """const kernel = panel().sessionContext.session.kernel;
        const future = kernel.requestExecute({code, store_history: false});
        let text = '';
        let error = '';
        future.onIOPub = (msg) => {
          const c = msg.content;
          if (msg.header.msg_type === 'stream') text += c.text;
          else if (msg.header.msg_type === 'execute_result') text += c.data['text/plain'] + '\\n';
          else if (msg.header.msg_type === 'error') error = c.traceback.join('\\n');
        };
        const timer = new Promise((_, reject) =>
          setTimeout(() => reject(new Error('kernel_execute timed out')), timeout));
        try {
          await Promise.race([future.done, timer]);
        } catch (e) {
          if (!error) throw e;
        }
        return {text, error};
        }""",
        [code, timeout_ms],
    )
    if result["error"]:
        raise RuntimeError(f"kernel error:\n{result['error']}")
    return result["text"]


def kernel_start(page: Page, code: str) -> None:
    """Start running ``code`` in the notebook's kernel and return at once (for a cell that
    keeps the kernel busy while the test watches the page). ``kernel_run_state`` tells when
    that very request started and ended (comm messages flip the kernel's status too)."""
    page.evaluate(
        "(code) => {"
        + _PANEL
        + """const run = {started: false, done: false};
        window.__kernelRun = run;
        const future = panel().sessionContext.session.kernel.requestExecute(
          {code, store_history: false});
        future.onIOPub = (msg) => {
          if (msg.header.msg_type !== 'status') return;
          if (msg.content.execution_state === 'busy') run.started = true;
          if (msg.content.execution_state === 'idle') run.done = true;
        };
        }""",
        code,
    )


def kernel_run_state(page: Page) -> str:
    """``queued``, ``running`` or ``done``: the request of the last ``kernel_start``."""
    state: str = page.evaluate(
        "() => { const r = window.__kernelRun;"
        " return r.done ? 'done' : r.started ? 'running' : 'queued'; }"
    )
    return state
