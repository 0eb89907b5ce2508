"""Tell the media pipe when a notebook cell runs, from IPython's execute events.

While a cell runs, the kernel's shell channel is busy, so the page's acks wait unread
until the cell ends; the pipe must then pace frames instead of waiting for acks.
IPython fires ``pre_run_cell`` before and ``post_run_cell`` after every cell (even one that
raised), on the kernel's main thread. ``pre_execute``/``post_execute`` would not do: the comm
package fires them around every comm message too, so each ack would look like a cell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from IPython import get_ipython

__all__ = ["watch_kernel_activity"]

_log = logging.getLogger(__name__)


def watch_kernel_activity(on_busy: Callable[[bool], None]) -> Callable[[], None]:
    """Call ``on_busy(True)`` when a cell starts and ``on_busy(False)`` when it ends.

    Returns the function that stops watching (safe to call twice). Outside a Jupyter
    kernel nothing is watched: no cell blocks a page there.
    """
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return _nothing

    def started(_info: object) -> None:
        _report(on_busy, busy=True)

    def ended(_result: object) -> None:
        _report(on_busy, busy=False)

    shell.events.register("pre_run_cell", started)
    shell.events.register("post_run_cell", ended)

    def unregister() -> None:
        for event, callback in (("pre_run_cell", started), ("post_run_cell", ended)):
            if callback in shell.events.callbacks[event]:
                shell.events.unregister(event, callback)

    return unregister


def _report(on_busy: Callable[[bool], None], *, busy: bool) -> None:
    """Call ``on_busy``; an error in it is logged, never raised into the user's cell."""
    try:
        on_busy(busy)
    except Exception:
        _log.exception("kernel activity callback failed")


def _nothing() -> None:
    """Stop watching when nothing was watched."""
