"""Splits one repository search into parts of at most 1,000 results each (sans-I/O).

GitHub search stops paginating at 1,000 results while `repositoryCount` reports the true
total. `plan()` is a generator: it yields a Part, receives that part's `repositoryCount`, and
splits any part over the cap, first by star band and, once a band is a single star value, by
halving its `created:` window (creation dates never change, unlike `pushed:`). It returns the
leaves and the root total so the caller can check that the parts cover the whole result.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

SEARCH_CAP = 1000
ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Part:
    """A star band [stars_lo, stars_hi] (None = no upper bound) and a created window."""

    stars_lo: int
    stars_hi: int | None
    created_lo: datetime
    created_hi: datetime

    def qualifiers(self) -> str:
        stars = (
            f"stars:>={self.stars_lo}"
            if self.stars_hi is None
            else (f"stars:{self.stars_lo}..{self.stars_hi}")
        )
        return f"{stars} created:{_iso(self.created_lo)}..{_iso(self.created_hi)}"


@dataclass(frozen=True)
class Plan:
    total: int  # repositoryCount of the unsplit query
    leaves: tuple[tuple[Part, int], ...]  # each part with its count (all <= cap unless stuck)
    stuck: tuple[Part, ...]  # one star value, one second, still over the cap (never seen)

    @property
    def covered(self) -> int:
        """Results the leaves can reach; equals `total` when nothing moved during planning."""
        return sum(min(count, SEARCH_CAP) for _, count in self.leaves)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def split(part: Part) -> list[Part]:
    """Two disjoint parts covering `part`, or [] when it cannot be split further."""
    lo, hi = part.stars_lo, part.stars_hi
    if hi is None:
        mid = max(lo * 2, lo + 1)  # open band: double, since stars are long-tailed
        return [_with_stars(part, lo, mid - 1), _with_stars(part, mid, None)]
    if lo < hi:
        mid = (lo + hi) // 2
        return [_with_stars(part, lo, mid), _with_stars(part, mid + 1, hi)]
    start, end = part.created_lo, part.created_hi
    if end - start < ONE_SECOND:
        return []
    middle = start + (end - start) / 2
    middle = middle.replace(microsecond=0)
    return [
        Part(lo, hi, start, middle),
        Part(lo, hi, middle + ONE_SECOND, end),
    ]


def _with_stars(part: Part, lo: int, hi: int | None) -> Part:
    return Part(lo, hi, part.created_lo, part.created_hi)


def plan(
    min_stars: int,
    max_stars: int | None,
    created_lo: datetime,
    created_hi: datetime,
    cap: int = SEARCH_CAP,
) -> Generator[Part, int, Plan]:
    """Yield parts to count; send each one's repositoryCount back; return the Plan."""
    root = Part(
        min_stars, max_stars, created_lo.replace(microsecond=0), created_hi.replace(microsecond=0)
    )
    total = yield root
    pending = [(root, total)]
    leaves: list[tuple[Part, int]] = []
    stuck: list[Part] = []
    while pending:
        part, count = pending.pop()
        if count <= cap:
            if count > 0:
                leaves.append((part, count))
            continue
        children = split(part)
        if not children:
            stuck.append(part)
            leaves.append((part, count))
            continue
        for child in children:
            child_count = yield child
            pending.append((child, child_count))
    return Plan(total, tuple(leaves), tuple(stuck))
