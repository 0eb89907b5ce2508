"""One typed way to publish an engine coroutine as a thread-safe public method.

Every public operation of the engine is written once, as ``async def`` code that runs on
the engine loop; :func:`threadsafe` turns it into the method users call from any thread,
which schedules that code and returns an :class:`~.loop.EngineFuture` of its result::

    @threadsafe
    async def end_call(self) -> SuccessResponse:
        ...

    client.end_call().result(10)   # from a notebook cell, a listener, any thread
    await client.end_call()        # top-level await in a cell

The argument and return types carry over (``end_call() -> EngineFuture[SuccessResponse]``
for mypy and in ``inspect.signature``), and the docstring is the coroutine's. The owner
decides how work is scheduled through its ``_submit`` (``StreamCall`` refuses work once it
is closed).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from .loop import EngineFuture

__all__ = ["Submitter", "threadsafe"]

P = ParamSpec("P")
T = TypeVar("T")


class Submitter(Protocol):
    """An object that runs coroutines on the engine loop for its public methods."""

    def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]:
        """Schedule ``coro`` on the engine loop; its outcome comes back in the future."""
        ...


S = TypeVar("S", bound=Submitter)


def threadsafe(
    coroutine_function: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], EngineFuture[T]]:
    """The public method running ``coroutine_function`` on the engine loop, from any thread."""

    @functools.wraps(coroutine_function)
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> EngineFuture[T]:
        return self._submit(coroutine_function(self, *args, **kwargs))

    signature = inspect.signature(coroutine_function)
    returns = signature.return_annotation
    if returns is not inspect.Signature.empty:
        name = returns if isinstance(returns, str) else getattr(returns, "__name__", returns)
        signature = signature.replace(return_annotation=f"EngineFuture[{name}]")
    method.__signature__ = signature  # type: ignore[attr-defined]
    # Not a coroutine function to unwrap: documentation tools read __signature__ instead.
    del method.__wrapped__
    return method
