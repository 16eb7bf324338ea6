"""Which releases of a package to mirror, and why the others are skipped (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from harvest.hex.registry import Release, VersionsEntry
from harvest.hex.versions import EXCLUDED_RETIREMENTS, is_prerelease, sort_versions

# Skips that a later run must look at again (the release may have aged or been fixed).
RETRYABLE_SKIPS = ("too_new",)


@dataclass(frozen=True)
class Choice:
    release: Release
    skip_reason: str | None  # None: mirror it


def _skip_reason(release: Release, now: datetime, min_age: timedelta) -> str | None:
    if release.retired_reason in EXCLUDED_RETIREMENTS:
        return f"retired:{release.retired_reason}"
    if release.published_at is not None and now - release.published_at < min_age:
        return f"too_new: published {release.published_at:%Y-%m-%d %H:%M} UTC, under {min_age}"
    return None


def choose_releases(
    releases: tuple[Release, ...],
    mode: Literal["latest-stable", "all"],
    now: datetime,
    min_age: timedelta,
) -> list[Choice]:
    """`all`: every release, each with its skip reason. `latest-stable`: the highest stable
    release that is neither retired as invalid/security nor too new, plus a skip record for each
    higher stable release passed over; a package with only pre-releases gets one skip record."""
    by_version = {r.version: r for r in releases}
    if mode == "all":
        return [
            Choice(by_version[v], _skip_reason(by_version[v], now, min_age))
            for v in sort_versions(by_version)
        ]
    stable = [v for v in sort_versions(by_version) if not is_prerelease(v)]
    if not stable:
        newest = sort_versions(by_version)[-1:] if by_version else []
        return [Choice(by_version[v], "prerelease_only") for v in newest]
    passed_over: list[Choice] = []
    for version in reversed(stable):
        release = by_version[version]
        reason = _skip_reason(release, now, min_age)
        if reason is None:
            return [*passed_over, Choice(release, None)]
        passed_over.append(Choice(release, reason))
    return passed_over


def registry_changed(
    entry: VersionsEntry, known_versions: tuple[str, ...], known_retired: tuple[str, ...]
) -> bool:
    return entry.versions != known_versions or entry.retired_versions != known_retired
