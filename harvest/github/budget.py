"""GraphQL points and secondary-limit accounting: pure state plus one async wait.

GitHub gives 5,000 points an hour and, separately, punishes bursts: too many concurrent
requests, too many per minute, too much server time per minute. `Budget` keeps what the
responses said (remaining points, reset time) and what we sent (start times, response
times), and `slot()` makes each request wait its turn. `throttle_delay()` is GitHub's own
backoff rule for when a limit answers anyway.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from harvest.github.graphql import RateInfo

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class BudgetPolicy:
    concurrency: int = 2  # GitHub advises against concurrent GraphQL calls; 2 keeps a pipeline
    reserve_points: int = 20  # stop short of zero: a query's real cost is known only afterwards
    requests_per_minute: int = 600  # well under the documented 2,000 points a minute
    server_seconds_per_minute: float = 40.0  # of the 60 s GraphQL CPU time allowed per minute
    min_throttle_wait: float = 60.0
    max_throttle_wait: float = 900.0


def throttle_delay(
    *,
    retry_after: float | None,
    remaining: int | None,
    reset_at: float | None,
    now: float,
    attempt: int,
    policy: BudgetPolicy,
) -> float:
    """GitHub's rule: retry-after, else the reset time if no points remain, else a minute;
    doubled for each further refusal in a row, capped."""
    if retry_after is not None:
        base = retry_after
    elif remaining == 0 and reset_at is not None:
        base = max(reset_at - now, 0.0) + 1.0
    else:
        base = policy.min_throttle_wait
    return min(base * 2 ** max(attempt - 1, 0), max(policy.max_throttle_wait, base))


@dataclass
class Budget:
    """Shared by every GraphQL request of a crawl; all waits go through `sleep`."""

    policy: BudgetPolicy = field(default_factory=BudgetPolicy)
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None
    points_spent: int = 0
    requests: int = 0
    refusals: int = 0  # secondary-limit answers
    exhaustions: int = 0  # primary-limit answers
    waited: float = 0.0
    _paused_until: float = 0.0
    _starts: deque[float] = field(default_factory=deque)
    _durations: deque[tuple[float, float]] = field(default_factory=deque)
    single_file: bool = False  # set by the first secondary-limit refusal, for the whole run
    _active: int = 0
    _gate: asyncio.Semaphore | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def observe(self, rate: RateInfo) -> None:
        """Take the numbers from this request's own response (never another's)."""
        if rate.remaining is not None:
            self.remaining = rate.remaining
        if rate.limit is not None:
            self.limit = rate.limit
        if rate.reset_at is not None:
            self.reset_at = rate.reset_at
        if rate.cost is not None:
            self.points_spent += rate.cost

    def note_refusal(self) -> None:
        """A secondary limit answered: from now on send one request at a time."""
        self.refusals += 1
        self.single_file = True

    def pause(self, seconds: float) -> None:
        """Hold every request, not just the one that was refused."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request may start (0 = go)."""
        waits = [self._paused_until - now]
        low = self.remaining is not None and self.remaining < self.policy.reserve_points
        if low and self.reset_at is not None and now < self.reset_at:
            waits.append(self.reset_at - now + 1.0)
        self._forget(now)
        if len(self._starts) >= self.policy.requests_per_minute:
            waits.append(self._starts[0] + 60.0 - now)
        if sum(d for _, d in self._durations) >= self.policy.server_seconds_per_minute:
            waits.append(self._durations[0][0] + 60.0 - now)
        return max([*waits, 0.0])

    def _forget(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - 60.0:
            self._starts.popleft()
        while self._durations and self._durations[0][0] <= now - 60.0:
            self._durations.popleft()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Run one request: at most `concurrency` at once (just one after any secondary-limit
        refusal), each started only when the budget allows."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.policy.concurrency)
        async with self._gate:
            async with self._changed:  # single file: wait for stragglers of the busy period too
                await self._changed.wait_for(lambda: not (self.single_file and self._active))
                self._active += 1
            try:
                while (wait := self.delay(self.clock())) > 0:
                    self.waited += wait
                    await self.sleep(wait)
                started = self.clock()
                self._starts.append(started)
                self.requests += 1
                try:
                    yield
                finally:
                    self._durations.append((started, max(self.clock() - started, 0.0)))
            finally:
                async with self._changed:
                    self._active -= 1
                    self._changed.notify_all()
