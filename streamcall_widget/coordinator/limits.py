"""Per-connection limits: sizes, timeouts and a token-bucket rate limiter (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The coordinator's limits; every one is a server setting."""

    max_message_bytes: int = 64 * 1024
    """A larger frame closes the connection with 1009 (message too big)."""
    rate_per_second: float = 100.0
    """Sustained messages per second per connection."""
    rate_burst: int = 200
    """Messages a connection may send at once before the rate applies."""
    max_violations: int = 50
    """Rate-limited messages (each answered RATE_LIMITED) before the connection is closed."""
    auth_timeout: float = 5.0
    """Seconds a new socket has to authenticate."""
    heartbeat: float = 20.0
    """Seconds between WebSocket pings; a peer that misses the pong is dropped."""
    idle_timeout: float = 300.0
    """Seconds without any client message before the connection is closed (send ``ping``)."""
    send_buffer_bytes: int = 4 * 1024 * 1024
    """Bytes waiting for a slow client (not reading) before it is disconnected."""
    session_grace: float = 30.0
    """Seconds the call sessions of a dropped connection wait for ``session.resume`` before
    they leave (reason ``disconnected``); 0 makes them leave at once."""


class RateLimiter:
    """A token bucket: ``allow(now)`` spends one token if there is one."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = now
        self.violations = 0

    def allow(self, now: float) -> bool:
        """True if a message may pass at ``now``; counts refusals in ``violations``."""
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.violations += 1
        return False
