"""When the kernel may send the page another frames message: flow control, sans-I/O.

The page acknowledges frames messages once drawn (at most one ack per animation frame,
covering every earlier message), and the kernel keeps at most ``window`` of them
unacknowledged (as jupyter_rfb's ``max_buffered_frames``), so a slow page
or link slows the kernel down instead of queueing frames that arrive late. While a notebook
cell runs the kernel cannot read acks (they wait on the shell channel behind the cell), so
it stops counting them and paces messages at the interval the page last acknowledged.

No threads and no clock here: every call takes ``now`` (seconds, any monotonic origin), so
the rules are tested directly and the media pipe only feeds numbers in.
"""

from __future__ import annotations

from streamcall_widget.errors import InputError

__all__ = ["FlowControl"]

_DEFAULT_ACK_INTERVAL = 1 / 30
_MAX_ACK_INTERVAL = 1.0
_SMOOTHING = 0.25


class FlowControl:
    """Decides when the next frames message may go, from the sends and acks seen so far.

    ``window``: unacknowledged messages allowed while the kernel is idle. ``min_interval``:
    seconds between two messages, whatever the acks say. ``stall_timeout``: a message not
    acknowledged after this long counts as lost (the page went away without saying so), so
    a lost ack cannot stop the pipe for good. Nothing may be sent while ``visible`` is
    false (set it with :meth:`set_visible`; it starts false until the page reports a view).
    """

    def __init__(
        self,
        *,
        window: int = 2,
        min_interval: float = 1 / 60,
        stall_timeout: float = 2.0,
    ) -> None:
        if window < 1:
            raise InputError(f"window must be at least 1, not {window}")
        if min_interval < 0 or stall_timeout <= 0:
            raise InputError(
                f"min_interval must be >= 0 and stall_timeout > 0, "
                f"not {min_interval} and {stall_timeout}"
            )
        self.window = window
        self.min_interval = min_interval
        self.stall_timeout = stall_timeout
        self.visible = False
        self.busy = False
        self.ack_interval = _DEFAULT_ACK_INTERVAL
        """Smoothed seconds per message the page acknowledged; the pace while busy."""
        self._unacked: dict[int, float] = {}
        self._sent_while_busy: set[int] = set()
        self._last_seq = 0
        self._last_acked = 0
        self._last_sent: float | None = None
        self._last_ack: float | None = None
        self._measure_after = 0

    @property
    def in_flight(self) -> int:
        """Messages sent and not acknowledged (nor forgotten)."""
        return len(self._unacked)

    def ready_in(self, now: float) -> float | None:
        """Seconds until a message may be sent (0.0: now), or None until an ack or a view."""
        if not self.visible:
            return None
        waits = [0.0]
        if self._last_sent is not None:
            pace = max(self.min_interval, self.ack_interval) if self.busy else self.min_interval
            waits.append(self._last_sent + pace - now)
        if not self.busy:
            live = sorted(t for t in self._unacked.values() if t > now - self.stall_timeout)
            if len(live) >= self.window:
                waits.append(live[len(live) - self.window] + self.stall_timeout - now)
        return max(waits)

    def can_send(self, now: float) -> bool:
        """Whether a frames message may be sent at ``now``."""
        return self.ready_in(now) == 0.0

    def sent(self, seq: int, now: float) -> None:
        """Record that message ``seq`` (greater than any sent before) went out at ``now``."""
        if seq <= self._last_seq:
            raise InputError(f"seq must increase: {seq} after {self._last_seq}")
        self._last_seq = seq
        self._last_sent = now
        self._unacked[seq] = now
        if self.busy:
            self._sent_while_busy.add(seq)

    def acked(self, seq: int, now: float) -> None:
        """The page drew message ``seq``, and so everything before it; stale acks do nothing."""
        if seq <= self._last_acked or seq > self._last_seq:
            return
        newly = [s for s in self._unacked if s <= seq]
        if newly and seq > self._measure_after:
            self._measure(min(self._unacked[s] for s in newly), len(newly), now)
        for s in newly:
            del self._unacked[s]
        self._last_acked = seq
        self._last_ack = now

    def _measure(self, first_sent: float, count: int, now: float) -> None:
        """Fold one ack into the smoothed per-message interval of the page."""
        start = first_sent if self._last_ack is None else max(self._last_ack, first_sent)
        sample = min(_MAX_ACK_INTERVAL, max(self.min_interval, (now - start) / count))
        self.ack_interval += _SMOOTHING * (sample - self.ack_interval)

    def kernel_busy(self, busy: bool, now: float) -> None:
        """A cell started (True) or ended (False); on ending, forget what went out meanwhile.

        Acks for the messages sent while busy arrive in a burst after the cell, so they are
        neither waited for nor used to measure the page's pace.
        """
        if busy == self.busy:
            return
        self.busy = busy
        if not busy:
            for seq in self._sent_while_busy:
                self._unacked.pop(seq, None)
            self._sent_while_busy.clear()
            self._measure_after = self._last_seq
            self._last_ack = None

    def set_visible(self, visible: bool) -> None:
        """A view came on screen or went away; either way, start counting afresh.

        A page that stops drawing may never ack what it had, and a new view acks only what
        it gets, so messages in flight across the change are forgotten.
        """
        if visible == self.visible:
            return
        self.visible = visible
        self._unacked.clear()
        self._sent_while_busy.clear()
        self._measure_after = self._last_seq
        self._last_ack = None
