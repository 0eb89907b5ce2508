"""The listener registry: order, errors reported and not raised, and ``once`` (seed 001's
``ListenerOptions``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamcall_widget.engine.listeners import CallbackRunner, ListenerRegistry
from streamcall_widget.errors import InputError


@pytest.fixture
def runner() -> Iterator[CallbackRunner]:
    made = CallbackRunner("test-callbacks")
    yield made
    made.close()


def test_a_once_listener_gets_the_first_event_only(runner: CallbackRunner) -> None:
    """Three events queued at once: the ``once`` listener sees the first, then is gone;
    the plain one sees all three, in order; a raising once-listener is reported by name."""
    errors: list[str] = []
    registry: ListenerRegistry[int] = ListenerRegistry(
        ("tick",), runner, lambda where, _error: errors.append(where)
    )
    every: list[int] = []
    first: list[int] = []

    def failing(_payload: int) -> None:
        raise RuntimeError("boom")

    registry.add("tick", every.append)
    registry.add("tick", first.append, once=True)
    registry.add("tick", failing, once=True)
    for payload in (1, 2, 3):
        registry.emit("tick", payload)
    runner.close()
    assert (every, first) == ([1, 2, 3], [1])
    assert registry.count("tick") == 1
    assert [where.rsplit(".", 1)[-1] for where in errors] == ["failing"]


def test_once_must_be_a_bool(runner: CallbackRunner) -> None:
    registry: ListenerRegistry[int] = ListenerRegistry(("tick",), runner, lambda *_: None)
    with pytest.raises(InputError, match="once must be True or False, not 'yes'"):
        registry.add("tick", print, once="yes")  # type: ignore[arg-type]
    assert registry.count("tick") == 0
