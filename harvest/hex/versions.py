"""Semantic versions as Hex orders them, and the choice of which releases to mirror."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")
# Retired releases stay downloadable; these two reasons mean "do not use this code".
EXCLUDED_RETIREMENTS = frozenset({"invalid", "security"})


@dataclass(frozen=True, order=False)
class SemVer:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    @property
    def is_prerelease(self) -> bool:
        return bool(self.pre)

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        """Sort key per semver 2.0: a pre-release sorts before its release; numeric ids < text."""
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)


@functools.lru_cache(maxsize=8192)
def parse_version(text: str) -> SemVer | None:
    """Cached: a crawl sorts every package's versions, and most version strings recur."""
    m = _SEMVER.match(text)
    if m is None:
        return None
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return SemVer(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


def is_prerelease(text: str) -> bool:
    v = parse_version(text)
    return v is None or v.is_prerelease


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Ascending; unparsable versions (none in practice) sort first."""

    def key(v: str) -> tuple[int, object]:
        parsed = parse_version(v)
        return (0, v) if parsed is None else (1, parsed.key())

    return sorted(versions, key=key)


def latest_stable(versions: Iterable[str], excluded: Iterable[str] = ()) -> str | None:
    """The highest non-pre-release version not in `excluded`, or None."""
    skip = set(excluded)
    stable = [v for v in versions if not is_prerelease(v) and v not in skip]
    return sort_versions(stable)[-1] if stable else None
