"""The engine's asyncio loop, running in a daemon thread, and the futures it hands out.

A notebook cell must stay free while media flows, so every coroutine of the engine runs
on one loop in its own thread, shared by every ``StreamCall`` of the process. Public
methods call :meth:`EngineLoop.submit` and return an :class:`EngineFuture`: awaitable from
any asyncio loop (top-level ``await`` in a cell) and blockable with ``.result(timeout)``
from any thread except the engine's own (that would deadlock, so it raises instead).

The loop is reference counted: the first ``StreamCall`` starts it, the last ``close()``
stops it, and interpreter exit stops it too, cancelling every task it still runs.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

from streamcall_widget.errors import InvalidState, RequestTimeout

from .ice import forget_mdns

__all__ = ["EngineFuture", "EngineLoop", "acquire_loop", "release_loop"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

THREAD_NAME = "streamcall-engine"


class EngineFuture(concurrent.futures.Future[T]):
    """The outcome of an engine operation: ``await`` it, or wait with ``.result(timeout)``.

    Errors come back as the typed exceptions of :mod:`streamcall_widget.errors`; waiting
    longer than ``timeout`` raises :class:`~streamcall_widget.errors.RequestTimeout`
    (the operation itself goes on).
    """

    def result(self, timeout: float | None = None) -> T:
        """Block until the operation finishes and return its value (or raise its error).

        A finished future can be read anywhere, e.g. in a done callback on the engine thread.
        """
        if not self.done() and threading.current_thread().name == THREAD_NAME:
            raise InvalidState(
                "result() called on the engine thread would deadlock; use 'await' instead"
            )
        try:
            return super().result(timeout)
        except concurrent.futures.TimeoutError:
            raise RequestTimeout(
                f"no result within {timeout} s; the operation is still running"
            ) from None

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self).__await__()


class EngineLoop:
    """One asyncio loop in one daemon thread; coroutines are submitted from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def running(self) -> bool:
        """Whether the loop thread is alive."""
        return self._thread.is_alive()

    def submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]:
        """Run ``coro`` on the engine loop; cancelling the future cancels the task."""
        future: EngineFuture[T] = EngineFuture()
        if not self.running:
            coro.close()
            future.set_exception(InvalidState("the engine is closed; create a new StreamCall"))
            return future

        def start() -> None:
            if future.cancelled():
                coro.close()
                return
            task = self.loop.create_task(coro)
            task.add_done_callback(lambda done: _copy_outcome(done, future))
            future.add_done_callback(
                lambda f: self.loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None
            )

        self.loop.call_soon_threadsafe(start)
        return future

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run a plain function on the engine loop, from any thread."""
        self.loop.call_soon_threadsafe(callback)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel every task, stop the loop and join its thread."""
        if not self.running:
            return
        if threading.current_thread() is self._thread:
            raise InvalidState("the engine loop cannot close itself; call close() elsewhere")
        finished = asyncio.run_coroutine_threadsafe(self._cancel_all(), self.loop)
        try:
            finished.result(timeout)
        except (concurrent.futures.TimeoutError, asyncio.CancelledError):
            logger.warning("engine tasks did not finish within %s s", timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()

    async def _cancel_all(self) -> None:
        current = asyncio.current_task()
        # Cancelled tasks may start others while unwinding (a closing peer connection
        # does): repeat until none is left.
        for _ in range(10):
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()


def _copy_outcome(task: asyncio.Task[T], future: EngineFuture[T]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
        return
    error = task.exception()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())


_lock = threading.Lock()
_shared: EngineLoop | None = None
_users = 0


def acquire_loop() -> EngineLoop:
    """The process's engine loop, started on first use; pair with :func:`release_loop`."""
    global _shared, _users  # noqa: PLW0603 - one loop per process, by design
    with _lock:
        if _shared is None or not _shared.running:
            forget_mdns()  # aioice's mDNS state belongs to the loop that made it
            _shared = EngineLoop()
        _users += 1
        return _shared


def release_loop() -> None:
    """Drop one user of the shared loop; the last one stops it."""
    global _shared, _users  # noqa: PLW0603
    with _lock:
        _users = max(0, _users - 1)
        if _users or _shared is None:
            return
        loop, _shared = _shared, None
    loop.close()


@atexit.register
def _close_at_exit() -> None:
    global _shared, _users
    with _lock:
        loop, _shared, _users = _shared, None, 0
    if loop is not None:
        loop.close()
