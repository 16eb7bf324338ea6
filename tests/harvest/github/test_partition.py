"""The search partition planner, driven with counts from an in-memory population."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from harvest.github.partition import Part, Plan, plan, split

START = datetime(2010, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)


def _contains(part: Part, stars: int, created: datetime) -> bool:
    hi_ok = part.stars_hi is None or stars <= part.stars_hi
    return part.stars_lo <= stars and hi_ok and part.created_lo <= created <= part.created_hi


def _drive(repos: list[tuple[int, datetime]], min_stars: int, cap: int = 1000) -> tuple[Plan, int]:
    steps = plan(min_stars, None, START, END, cap)
    part, probes = next(steps), 0
    try:
        while True:
            probes += 1
            part = steps.send(sum(_contains(part, s, c) for s, c in repos))
    except StopIteration as done:
        return done.value, probes


def _population(n: int, pile: int, seed: int = 3) -> list[tuple[int, datetime]]:
    rng = random.Random(seed)
    span = int((END - START).total_seconds())
    stars = [100] * pile + [int(100 * rng.paretovariate(1.1)) for _ in range(n - pile)]
    return [(s, START + timedelta(seconds=rng.randrange(span))) for s in stars]


def test_small_result_is_one_part() -> None:
    result, probes = _drive(_population(500, 0), 100)
    assert probes == 1 and len(result.leaves) == 1 and result.covered == 500


def test_every_repository_lands_in_exactly_one_part_under_the_cap() -> None:
    repos = _population(6000, 2500)  # 2,500 with the same star count: needs created windows
    result, _ = _drive(repos, 100)
    assert result.total == 6000 and result.covered == 6000 and not result.stuck
    assert all(count <= 1000 for _, count in result.leaves)
    for stars, created in repos:
        assert sum(_contains(p, stars, created) for p, _ in result.leaves) == 1
    assert any(p.stars_lo == p.stars_hi == 100 and p.created_lo > START for p, _ in result.leaves)


def test_split_rules() -> None:
    open_band = Part(100, None, START, END)
    assert [(p.stars_lo, p.stars_hi) for p in split(open_band)] == [(100, 199), (200, None)]
    band = Part(100, 199, START, END)
    assert [(p.stars_lo, p.stars_hi) for p in split(band)] == [(100, 149), (150, 199)]
    one_value = Part(100, 100, START, END)
    early, late = split(one_value)
    assert early.created_lo == START and late.created_hi == END
    assert late.created_lo - early.created_hi == timedelta(seconds=1)
    assert split(Part(5, 5, START, START)) == []


def test_a_part_that_cannot_split_is_reported_stuck() -> None:
    moment = START + timedelta(days=1)
    result, _ = _drive([(100, moment)] * 3, 100, cap=2)
    assert result.stuck and result.stuck[0].stars_lo == 100


@pytest.mark.parametrize(
    ("part", "text"),
    [
        (
            Part(100, None, START, END),
            "stars:>=100 created:2010-01-01T00:00:00Z..2026-01-01T00:00:00Z",
        ),
        (
            Part(10, 20, START, END),
            "stars:10..20 created:2010-01-01T00:00:00Z..2026-01-01T00:00:00Z",
        ),
    ],
)
def test_qualifiers(part: Part, text: str) -> None:
    assert part.qualifiers() == text
