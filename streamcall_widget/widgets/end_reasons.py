"""Why a call ended, in the words a calling app uses ("Bob declined", "Missed call from Alice").

The engine ends a call with a reason word (the coordinator's ring outcome, or the engine's
own: ``left``, ``connection_lost``...). The ended screen shows a sentence instead: a string
key of the catalogue (``widgets/strings.py``) and the name it names, chosen here from the
reason and the call's direction, so the page only translates it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REASON_KEYS", "ended_message"]

REASON_KEYS: dict[str, tuple[str, str]] = {
    # reason: (key for the one who rang out, key for the one rung)
    "decline": ("streamcall_reason_declined", "streamcall_reason_you_declined"),
    "busy": ("streamcall_reason_busy", "streamcall_reason_you_busy"),
    "offline": ("streamcall_reason_offline", "streamcall_reason_missed"),
    "timeout": ("streamcall_reason_no_answer", "streamcall_reason_missed"),
    "cancel": ("streamcall_reason_cancelled", "streamcall_reason_missed"),
    "accepted_elsewhere": (
        "streamcall_reason_accepted_elsewhere",
        "streamcall_reason_accepted_elsewhere",
    ),
    "accepted_by_other": (
        "streamcall_reason_accepted_by_other",
        "streamcall_reason_accepted_by_other",
    ),
    "left": ("streamcall_reason_ended", "streamcall_reason_ended"),
    "ended": ("streamcall_reason_ended", "streamcall_reason_ended"),
    "disconnected": ("streamcall_reason_disconnected", "streamcall_reason_disconnected"),
    "connection_lost": ("streamcall_reason_connection_lost", "streamcall_reason_connection_lost"),
    "join_failed": ("streamcall_reason_join_failed", "streamcall_reason_join_failed"),
    "removed": ("streamcall_reason_removed", "streamcall_reason_removed"),
    "replaced": ("streamcall_reason_replaced", "streamcall_reason_replaced"),
    "logout": ("streamcall_reason_logout", "streamcall_reason_logout"),
}
"""Every reason word the engine and the coordinator end a call with, and its sentences."""

UNKNOWN_REASON = "streamcall_ended"
"""A reason not listed above: "Call ended: <reason>" (the word itself, still readable)."""


def _names(members: list[dict[str, Any]]) -> str:
    return ", ".join(str(m.get("name") or m.get("user_id") or "") for m in members)


def ended_message(call: dict[str, Any], self_user_id: str | None) -> dict[str, Any]:
    """``{key, args}`` of the ended screen for a ``call`` snapshot of a left call.

    The name in the sentence is the other side: the callees for the caller ("Bob is busy"),
    the caller for a callee ("Missed call from Alice").
    """
    reason = str(call.get("reason") or "left")
    caller = call.get("caller") or {}
    outgoing = call.get("direction") != "incoming"
    others = [
        m
        for m in call.get("members") or []
        if m.get("user_id") not in (self_user_id, caller.get("user_id"))
    ]
    if not outgoing:
        others = [caller] if caller else others
    keys = REASON_KEYS.get(reason)
    if keys is None:
        return {"key": UNKNOWN_REASON, "args": [reason]}
    return {"key": keys[0] if outgoing else keys[1], "args": [_names(others)]}
