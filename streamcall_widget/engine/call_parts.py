"""What every part of a :class:`~streamcall_widget.engine.call.Call` may use of the call.

``Call`` is assembled from mixins, one job each: hold, deaf and DTMF
(:mod:`.call_controls`), messages and data (:mod:`.messaging`), watchable properties
(:mod:`.watchables`) and what it sends (:mod:`.call_streams`). Each is a :class:`CallParts`,
which declares, for the type checker only, the call's state and plumbing they share; the
``Call`` itself provides all of it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from streamcall_widget.protocol.lifecycle import CallEvent, CallLifecycle, CallState

    from .call import CallHost
    from .call_core import CallCore
    from .links import SessionLinks
    from .loop import EngineFuture
    from .streams import Streams

__all__ = ["CallParts"]

T = TypeVar("T")


class CallParts:
    """The call's state and plumbing, as its mixins see it (declared, not defined)."""

    if TYPE_CHECKING:
        cid: str
        _host: CallHost
        _core: CallCore
        _links: SessionLinks
        _streams: Streams

        @property
        def lifecycle(self) -> CallLifecycle: ...
        @property
        def state(self) -> CallState: ...
        @property
        def session_id(self) -> str | None: ...
        @property
        def user_id(self) -> str: ...
        @property
        def own_capabilities(self) -> tuple[str, ...]: ...

        def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]: ...

        def _emit(self, events: list[CallEvent]) -> None: ...
