"""Filter base class: a filter says why it drops a row; the base class counts every outcome.

Rows are plain dicts. A filter implements only the pure `keep(row) -> None | reason`; `apply`
iterates, counts `kept` and `dropped_<reason>` and yields what survives (datatrove style).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

Row = dict[str, Any]


class Filter:
    """A counted, pure row filter; subclasses set `name` and implement `keep`."""

    name = "filter"

    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()
        self.last_reason: str | None = None

    def keep(self, row: Row) -> str | None:
        """None to keep `row`, or a short reason (snake_case) to drop it."""
        raise NotImplementedError

    def check(self, row: Row) -> bool:
        """Count the outcome for one row and say whether it survives."""
        reason = self.last_reason = self.keep(row)
        if reason is None:
            self.stats["kept"] += 1
            return True
        self.stats[f"dropped_{reason}"] += 1
        return False

    def apply(self, rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            if self.check(row):
                yield row


def merge_counts(total: dict[str, dict[str, int]], step: str, counts: Counter[str]) -> None:
    """Add one step's counts into a {step: {outcome: n}} mapping (used across workers)."""
    bucket = total.setdefault(step, {})
    for key, value in counts.items():
        bucket[key] = bucket.get(key, 0) + value
