"""``threadsafe``: an engine coroutine published as a method callable from any thread."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from streamcall_widget import StreamCall
from streamcall_widget.engine.loop import EngineFuture, EngineLoop, acquire_loop, release_loop
from streamcall_widget.engine.threadsafe import threadsafe
from streamcall_widget.errors import InputError

T = TypeVar("T")


class _Counter:
    """A minimal owner: counts on the engine loop, refuses negative steps."""

    def __init__(self, engine: EngineLoop) -> None:
        self.engine = engine
        self.value = 0
        self.threads: list[str] = []

    def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]:
        return self.engine.submit(coro)

    @threadsafe
    async def add(self, step: int, *, times: int = 1) -> int:
        """Add ``step`` ``times`` times; the new value."""
        if step < 0:
            raise InputError(f"step must be >= 0, not {step}")
        self.threads.append(threading.current_thread().name)
        self.value += step * times
        return self.value


@pytest.fixture
def counter() -> Iterator[_Counter]:
    engine = acquire_loop()
    try:
        yield _Counter(engine)
    finally:
        release_loop()


def test_the_coroutine_runs_on_the_engine_thread(counter: _Counter) -> None:
    """Called from this thread, the work runs on the engine loop; the future has its value."""
    future = counter.add(2, times=3)
    assert isinstance(future, EngineFuture)
    assert future.result(5) == 6
    assert counter.threads == ["streamcall-engine"]


def test_errors_come_back_through_the_future(counter: _Counter) -> None:
    """A typed error raised by the coroutine is raised by result(), nothing changed."""
    with pytest.raises(InputError, match="step must be >= 0"):
        counter.add(-1).result(5)
    assert counter.value == 0


def test_from_many_threads_every_call_lands(counter: _Counter) -> None:
    """Eight threads calling at once: every addition is counted (the loop serialises them)."""
    futures: list[EngineFuture[int]] = []
    lock = threading.Lock()

    def call() -> None:
        future = counter.add(1)
        with lock:
            futures.append(future)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(f.result(5) for f in futures) == list(range(1, 9))


def test_signature_and_docstring_are_the_public_ones() -> None:
    """help() shows the arguments, an EngineFuture return and the coroutine's docstring."""
    signature = inspect.signature(_Counter.add)
    assert list(signature.parameters) == ["self", "step", "times"]
    assert signature.return_annotation == "EngineFuture[int]"
    assert _Counter.add.__doc__ == "Add ``step`` ``times`` times; the new value."
    assert not inspect.iscoroutinefunction(_Counter.add)
    public = inspect.signature(StreamCall.end_call)
    assert public.return_annotation == "EngineFuture[SuccessResponse]"
