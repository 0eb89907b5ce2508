"""What ``StreamCall`` methods resolve to, shaped like the plugin's responses."""

from __future__ import annotations

from dataclasses import dataclass

from streamcall_widget.protocol.models import CallResponse

__all__ = [
    "CameraEnabled",
    "CurrentUser",
    "DynamicApiKey",
    "ErrorReport",
    "QueryCallsResult",
    "SuccessResponse",
]


@dataclass(frozen=True)
class SuccessResponse:
    """The operation was carried out (failures raise instead)."""

    success: bool = True


@dataclass(frozen=True)
class CameraEnabled:
    """``is_camera_enabled()``."""

    enabled: bool


@dataclass(frozen=True)
class DynamicApiKey:
    """``get_dynamic_api_key()``: the key that overrides the configured one, if any."""

    api_key: str | None
    has_dynamic_key: bool


@dataclass(frozen=True)
class CurrentUser:
    """``get_current_user()``."""

    user_id: str
    name: str
    image_url: str
    is_logged_in: bool


@dataclass(frozen=True)
class QueryCallsResult:
    """One page of ``query_calls()``; pass ``next`` back for the following page."""

    calls: tuple[CallResponse, ...]
    next: str | None


@dataclass(frozen=True)
class ErrorReport:
    """The ``error`` event: something failed that must not stop the engine."""

    where: str
    """What was running: a listener, a hook, opening a device..."""
    error: BaseException
