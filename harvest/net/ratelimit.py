"""A request budget that follows the server's `x-ratelimit-*` headers.

Hex's API allows 100 requests per fixed 60-second window per IP, says so in
`x-ratelimit-limit/-remaining/-reset` (reset in Unix seconds) and sends no Retry-After with its
429s. This limiter never spends more than the smaller of the advertised limit and our own budget
in a window, so a polite crawl sees no 429 at all; if one arrives anyway it waits for the reset.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping

import anyio

Sleep = Callable[[float], Awaitable[None]]


class HeaderRateLimiter:
    def __init__(
        self,
        budget_per_window: int | None = None,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = anyio.sleep,
        jitter: float = 1.0,
    ) -> None:
        self.budget = budget_per_window
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.spent_in_window = 0
        self.window_start = clock()
        self.waits = 0
        self._lock = anyio.Lock()

    def _cap(self) -> int | None:
        caps = [c for c in (self.budget, self.limit) if c is not None]
        return min(caps) if caps else None

    def _roll_window(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at:
            self.remaining = None
            self.reset_at = None
            self.spent_in_window = 0
            self.window_start = now
        elif self.reset_at is None and now - self.window_start >= self.window:
            self.spent_in_window = 0
            self.window_start = now

    def _wait_needed(self, now: float) -> float:
        cap = self._cap()
        exhausted = (self.remaining is not None and self.remaining <= 0) or (
            cap is not None and self.spent_in_window >= cap
        )
        if not exhausted:
            return 0.0
        until = self.reset_at if self.reset_at is not None else self.window_start + self.window
        return max(until - now, 0.0) + random.uniform(0, self.jitter)

    async def acquire(self) -> None:
        """Wait, if needed, until a request fits in the budget; then count it."""
        async with self._lock:
            while True:
                now = self.clock()
                self._roll_window(now)
                delay = self._wait_needed(now)
                if delay <= 0:
                    break
                self.waits += 1
                await self.sleep(delay)
                self.remaining = (
                    None if self.reset_at and self.clock() >= self.reset_at else self.remaining
                )
            self.spent_in_window += 1
            if self.remaining is not None:
                self.remaining -= 1

    def update(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's view of the window from a response."""
        limit = headers.get("x-ratelimit-limit")
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if limit and limit.isdigit():
            self.limit = int(limit)
        if remaining is not None and remaining.lstrip("-").isdigit():
            self.remaining = int(remaining)
        if reset and reset.replace(".", "", 1).isdigit():
            new_reset = float(reset)
            if self.reset_at is None or new_reset != self.reset_at:
                self.spent_in_window = (
                    (self.limit - self.remaining)
                    if (self.limit is not None and self.remaining is not None)
                    else 0
                )
            self.reset_at = new_reset

    def throttled(self, headers: Mapping[str, str]) -> None:
        """A 429 arrived: nothing remains until the advertised reset (or a full window)."""
        self.update(headers)
        self.remaining = 0
        if self.reset_at is None:
            self.reset_at = self.clock() + self.window
