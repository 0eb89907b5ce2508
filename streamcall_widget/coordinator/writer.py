"""The store's writer thread: call-store writes leave the event loop, in order.

A SQLite write (or a Redis round trip later) takes milliseconds and sometimes far longer
(a busy disk, a checkpoint); done on the event loop it would stall every connection. The
coordinator hands each write to :class:`StoreWriter`, which runs them one by one on a
single daemon thread: the order of writes is the order they were submitted, so the last
state of a call is the one that lands. ``close()`` finishes every queued write, then closes
the store on that same thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from .store import CallStore, StoreWrite, apply_write

__all__ = ["StoreWriter"]

logger = logging.getLogger(__name__)


class StoreWriter:
    """One thread applying :data:`~.store.StoreWrite` operations to a store, first in first out."""

    def __init__(self, store: CallStore) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[list[StoreWrite] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="streamcall-store", daemon=True)
        self._thread.start()
        self._closed = False

    def submit(self, writes: Iterable[StoreWrite]) -> None:
        """Queue writes; never blocks (the queue is unbounded: writes are small). One batch
        wakes the thread once, however many writes it holds."""
        if self._closed:
            raise RuntimeError("the store writer is closed")
        batch = list(writes)
        if batch:
            self._queue.put(batch)

    def close(self) -> None:
        """Apply what is queued, close the store, stop the thread (blocks: call it in a
        thread, e.g. ``asyncio.to_thread``, from a loop)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)  # the end mark
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                break
            for write in batch:
                try:
                    apply_write(self._store, write)
                except Exception:
                    # A failed write loses that write only; the coordinator's memory still
                    # holds the truth and the next change of the same call writes it again.
                    logger.exception("store write %s failed", type(write).__name__)
        try:
            self._store.close()
        except Exception:
            logger.exception("closing the store failed")
