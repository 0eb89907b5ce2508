"""query_calls: Stream-style filter conditions, sorting and cursor paging over call records.

Filters are a JSON object from field to a value (equality) or an operator object::

    {"type": "default", "members": {"$in": ["bob"]}, "ongoing": true,
     "created_at": {"$gte": "2026-11-01T00:00:00Z"}}

Fields: ``type``, ``id``, ``cid``, ``created_by`` (user id), ``team``, ``members`` (matches calls
having any listed user as a member), ``ongoing`` (someone joined), ``ended`` (bool),
``created_at``, ``updated_at``. Operators: ``$eq``, ``$in``, ``$gt``, ``$gte``, ``$lt``,
``$lte``. Sort fields: ``created_at``, ``updated_at``, ``cid``, ``type``, ``id``, direction
1 or -1; ties break on ``cid``. The cursor is opaque: the sort key of the last row returned.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from streamcall_widget.errors import InputError
from streamcall_widget.protocol.models import parse_iso

from .state import CallRecord

__all__ = ["CallQuery"]

Predicate = Callable[[CallRecord], bool]

_TEXT_FIELDS: dict[str, Callable[[CallRecord], str]] = {
    "type": lambda c: c.type.name,
    "id": lambda c: c.id,
    "cid": lambda c: c.cid,
    "created_by": lambda c: c.created_by,
    "team": lambda c: c.team or "",
}
_TIME_FIELDS: dict[str, Callable[[CallRecord], float]] = {
    "created_at": lambda c: c.created_at,
    "updated_at": lambda c: c.updated_at,
}
_BOOL_FIELDS: dict[str, Callable[[CallRecord], bool]] = {
    "ongoing": lambda c: c.ongoing,
    "ended": lambda c: c.ended_at is not None,
}
_SORT_FIELDS: dict[str, Callable[[CallRecord], Any]] = {
    **{k: v for k, v in _TEXT_FIELDS.items() if k not in ("created_by", "team")},
    **_TIME_FIELDS,
}
_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_ALL_FIELDS = sorted([*_TEXT_FIELDS, *_TIME_FIELDS, *_BOOL_FIELDS, "members"])


class CallQuery:
    """A compiled filter and sort; raises InputError naming any bad field or operator."""

    def __init__(self, conditions: dict[str, Any], sort: list[tuple[str, int]]) -> None:
        self._predicates = [_compile(name, cond) for name, cond in conditions.items()]
        for name, direction in sort:
            if name not in _SORT_FIELDS:
                raise InputError(f"cannot sort by {name!r}; allowed: {sorted(_SORT_FIELDS)}")
            if direction not in (1, -1):
                raise InputError(f"sort direction for {name!r} must be 1 or -1, got {direction}")
        self._sort = [*sort, ("cid", 1)] if sort else [("created_at", -1), ("cid", 1)]

    def matches(self, call: CallRecord) -> bool:
        """Whether the call passes every condition."""
        return all(p(call) for p in self._predicates)

    def page(
        self, calls: Iterable[CallRecord], limit: int, cursor: str | None
    ) -> tuple[list[CallRecord], str | None]:
        """One page of matching calls, in order, and the cursor of the next page (or None)."""
        rows = sorted((c for c in calls if self.matches(c)), key=functools.cmp_to_key(self._cmp))
        if cursor is not None:
            after = self._decode(cursor)
            rows = [c for c in rows if self._cmp_key(self._key(c), after) > 0]
        page = rows[:limit]
        more = len(rows) > limit
        return page, (self._encode(self._key(page[-1])) if more and page else None)

    def _key(self, call: CallRecord) -> list[Any]:
        return [_SORT_FIELDS[name](call) for name, _ in self._sort]

    def _cmp(self, a: CallRecord, b: CallRecord) -> int:
        return self._cmp_key(self._key(a), self._key(b))

    def _cmp_key(self, a: list[Any], b: list[Any]) -> int:
        for (_, direction), x, y in zip(self._sort, a, b, strict=True):
            if x != y:
                return direction if x > y else -direction
        return 0

    def _encode(self, key: list[Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()

    def _decode(self, cursor: str) -> list[Any]:
        try:
            key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, TypeError):
            raise InputError("'next' is not a cursor this server returned") from None
        if not isinstance(key, list) or len(key) != len(self._sort):
            raise InputError("'next' cursor does not match this query's sort")
        return key


def _compile(name: str, condition: Any) -> Predicate:
    ops = condition if isinstance(condition, dict) else {"$eq": condition}
    if not ops:
        raise InputError(f"filter on {name!r} has no operator")
    predicates = [_compile_op(name, op, value) for op, value in ops.items()]
    return lambda call: all(p(call) for p in predicates)


def _compile_op(name: str, op: str, value: Any) -> Predicate:
    if name == "members":
        users = _strings(name, value if op == "$in" else [value] if op == "$eq" else None, op)
        return lambda call: any(u in call.members for u in users)
    if name in _BOOL_FIELDS:
        if op != "$eq" or not isinstance(value, bool):
            raise InputError(f"filter on {name!r} takes true or false")
        get_bool = _BOOL_FIELDS[name]
        return lambda call: get_bool(call) is value
    if name in _TEXT_FIELDS:
        get_text = _TEXT_FIELDS[name]
        if op == "$eq":
            (text,) = _strings(name, [value], op)
            return lambda call: get_text(call) == text
        if op == "$in":
            allowed = set(_strings(name, value, op))
            return lambda call: get_text(call) in allowed
        raise InputError(f"operator {op!r} does not apply to {name!r}; allowed: $eq, $in")
    if name in _TIME_FIELDS:
        get_time = _TIME_FIELDS[name]
        compare = _COMPARE.get(op)
        if compare is None:
            raise InputError(
                f"operator {op!r} does not apply to {name!r}; allowed: {sorted(_COMPARE)}"
            )
        if not isinstance(value, str):
            raise InputError(f"{name} {op} takes an RFC 3339 timestamp string")
        try:
            moment = parse_iso(value)
        except ValueError as exc:
            raise InputError(f"{name} {op}: {exc}") from None
        return lambda call: bool(compare(get_time(call), moment))
    raise InputError(f"cannot filter on {name!r}; allowed fields: {', '.join(_ALL_FIELDS)}")


def _strings(name: str, value: Any, op: str) -> list[str]:
    if (
        op not in ("$eq", "$in")
        or not isinstance(value, list)
        or not all(isinstance(v, str) for v in value)
    ):
        raise InputError(f"filter {name} {op} takes a string or {{'$in': [strings]}}")
    return value
