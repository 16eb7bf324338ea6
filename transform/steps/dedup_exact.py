"""Exact dedup on whitespace-normalised code: the first row seen under a key wins.

The build feeds rows in preference order (Hex before GitHub, newest version first, then
origin and path), so "first seen" keeps the newest Hex copy of code repeated across versions,
packages and sources.
"""

from __future__ import annotations

from transform.steps.base import Filter, Row


class ExactDedup(Filter):
    """Drops a row whose `key` was seen before; keys are 128-bit hashes held in a set."""

    name = "dedup_exact"

    def __init__(self, key_field: str = "code_key") -> None:
        super().__init__()
        self.key_field = key_field
        self.seen: set[str] = set()

    def keep(self, row: Row) -> str | None:
        key = row[self.key_field]
        if key in self.seen:
            return "duplicate"
        self.seen.add(key)
        return None
