"""The request budget of one run: how many requests may be in flight, and how fast they may start (docs/reference/contract.md §7).

Owns: `Budget`, shared by every thread of a run's `HttpClient`: a concurrency gate (`MaxConcurrency`), a token
bucket (`MaxRequestsPerSecond`, one request per 1/R seconds, no bursts) and the shared back-off: a 429, or a 503
with `Retry-After`, pauses every request for the time asked and halves the allowed concurrency (AIMD), which grows
back by one after each window of as many successes as requests are allowed. The counters the summary reports:
requests in flight at peak, pauses and the seconds paused. Must not: send requests, read options, or know
anything of the profile; it only decides when a request may start.

Every attempt the client sends goes through `acquire()`/`release()` (retries and token requests included); the
caller holds no other lock while waiting here, so a worker refreshing a token never blocks the gate.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Budget:
    """Thread-safe gate in front of every request of a run."""

    def __init__(self, concurrency: int = 1, rate: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_concurrency = max(1, int(concurrency))
        self.rate = float(rate) if rate else None
        self.clock = clock
        self.limit = self.max_concurrency  # allowed now: halved by a pause, grown back by successes
        self.lowest_limit = self.limit
        self.in_flight = 0
        self.peak = 0
        self.pauses = 0
        self.paused_seconds = 0.0
        self._cond = threading.Condition(threading.Lock())
        self._paused_until = 0.0
        self._next_start = 0.0
        self._successes = 0

    def acquire(self) -> None:
        """Wait until a request may start (not paused, below the concurrency limit, within the rate), then
        count it as in flight."""
        with self._cond:
            while True:
                now = self.clock()
                if self._paused_until > now:
                    self._cond.wait(self._paused_until - now)
                    continue
                if self.in_flight >= self.limit:
                    self._cond.wait()
                    continue
                if self.rate is not None and self._next_start > now:
                    self._cond.wait(self._next_start - now)
                    continue
                if self.rate is not None:
                    self._next_start = max(now, self._next_start) + 1.0 / self.rate
                self.in_flight += 1
                if self.in_flight > self.peak:
                    self.peak = self.in_flight
                return

    def release(self, pause: Optional[float] = None) -> None:
        """A request is done. `pause`: it was refused for load (429, or 503 with `Retry-After`) and every request
        waits that many seconds; otherwise it counts towards growing the concurrency back."""
        with self._cond:
            self.in_flight -= 1
            if pause is not None:
                self._pause(max(0.0, pause))
            else:
                self._successes += 1
                if self.limit < self.max_concurrency and self._successes >= self.limit:
                    self.limit += 1
                    self._successes = 0
            self._cond.notify_all()

    def _pause(self, seconds: float) -> None:
        now = self.clock()
        until = now + seconds
        if self._paused_until <= now:
            # a new pause: requests sent before it began and refused during it belong to the same episode,
            # so they neither count again nor halve the concurrency again
            self.pauses += 1
            self.paused_seconds += seconds
            self.limit = max(1, self.limit // 2)
            self.lowest_limit = min(self.lowest_limit, self.limit)
            self._successes = 0
        elif until > self._paused_until:
            self.paused_seconds += until - self._paused_until
        self._paused_until = max(self._paused_until, until)
