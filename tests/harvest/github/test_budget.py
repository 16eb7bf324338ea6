"""GitHub's backoff rule and the budget's scheduling, on a hand-driven clock."""

from __future__ import annotations

import asyncio

from harvest.github.budget import Budget, BudgetPolicy, throttle_delay
from harvest.github.graphql import RateInfo

POLICY = BudgetPolicy()


def test_retry_after_wins() -> None:
    assert (
        throttle_delay(retry_after=5, remaining=0, reset_at=1000, now=0, attempt=1, policy=POLICY)
        == 5
    )


def test_reset_when_no_points_remain() -> None:
    assert (
        throttle_delay(
            retry_after=None, remaining=0, reset_at=300, now=100, attempt=1, policy=POLICY
        )
        == 201
    )


def test_at_least_a_minute_otherwise_then_exponential() -> None:
    delays = [
        throttle_delay(
            retry_after=None, remaining=17, reset_at=300, now=0, attempt=n, policy=POLICY
        )
        for n in (1, 2, 3, 10)
    ]
    assert delays == [60, 120, 240, POLICY.max_throttle_wait]


def test_low_points_wait_for_the_reset() -> None:
    budget = Budget(POLICY, clock=lambda: 1000.0)
    budget.observe(RateInfo(remaining=POLICY.reserve_points - 1, limit=5000, reset_at=1500, cost=1))
    assert budget.delay(1000.0) == 501.0
    budget.observe(RateInfo(remaining=4000, reset_at=1500))
    assert budget.delay(1000.0) == 0.0
    assert budget.points_spent == 1


def test_requests_per_minute_window() -> None:
    now = [0.0]
    budget = Budget(BudgetPolicy(requests_per_minute=3), clock=lambda: now[0])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    budget.sleep = sleep

    async def go() -> None:
        for _ in range(4):
            async with budget.slot():
                now[0] += 1.0

    asyncio.run(go())
    assert waits == [57.0] and budget.requests == 4


def test_slot_limits_concurrency() -> None:
    budget = Budget(BudgetPolicy(concurrency=2))
    active, peak = 0, 0

    async def one() -> None:
        nonlocal active, peak
        async with budget.slot():
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(6)))

    asyncio.run(go())
    assert peak == 2


def test_pause_holds_every_request() -> None:
    budget = Budget(POLICY, clock=lambda: 10.0)
    budget.pause(30)
    assert budget.delay(10.0) == 30.0


def test_after_a_refusal_requests_go_one_at_a_time() -> None:
    budget = Budget(BudgetPolicy(concurrency=3))
    active, peak_after = 0, 0
    refused = asyncio.Event()

    async def one(first: bool) -> None:
        nonlocal active, peak_after
        if not first:
            await refused.wait()
        async with budget.slot():
            active += 1
            if first:
                budget.note_refusal()
                refused.set()
            else:
                peak_after = max(peak_after, active)
            await asyncio.sleep(0.01)
            active -= 1

    async def go() -> None:
        await asyncio.gather(one(True), one(False), one(False))

    asyncio.run(go())
    assert peak_after == 1 and budget.refusals == 1  # they even waited for the first to end
