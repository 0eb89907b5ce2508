"""Where the coordinator's identifiers and secrets come from, injected so tests are exact.

The rules never call ``uuid`` or ``secrets`` themselves: they ask an :data:`IdSource` for a
new value of one :data:`IdKind`. Production uses :func:`random_ids` (random hex ids, and
256-bit URL-safe resume tokens nobody can guess); a test passes :class:`CountingIds` and
asserts exact values.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Callable
from typing import Literal

__all__ = ["CountingIds", "IdKind", "IdSource", "random_ids"]

IdKind = Literal["connection", "session", "call_session", "resume_token"]
"""``connection``: one WebSocket; ``session``: one participant session in a call;
``call_session``: one run of a call from its first join to its last leave;
``resume_token``: the secret that lets a dropped connection's sessions be taken back."""

IdSource = Callable[[IdKind], str]
"""id_source(kind) -> a fresh, never repeated value of that kind."""


def random_ids(kind: IdKind) -> str:
    """Random ids (32 hex characters) and unguessable tokens (43 URL-safe characters)."""
    if kind == "resume_token":
        return secrets.token_urlsafe(32)
    return uuid.uuid4().hex


class CountingIds:
    """Deterministic ids for tests: ``connection-1``, ``session-2``... (one counter for all
    kinds, so the order in which a flow asked for ids is visible in them)."""

    def __init__(self, start: int = 1) -> None:
        """Count from ``start`` (a second source in one test starts elsewhere, as a
        restarted process never repeats the ids of the one before)."""
        self._counter = itertools.count(start)

    def __call__(self, kind: IdKind) -> str:
        return f"{kind}-{next(self._counter)}"
