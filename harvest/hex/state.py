"""Reads and writes the Hex tables of the catalog; every write is one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harvest.catalog import Catalog, Column, SourceFile, execute_over, replace_source_files
from harvest.hex.api import PackageStats
from harvest.hex.registry import VersionsEntry

FINAL_STATUSES = ("fetched", "quarantined")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class KnownPackage:
    versions: tuple[str, ...]
    retired: tuple[str, ...]
    registry_updated_at: datetime | None
    package_etag: str | None


@dataclass(frozen=True)
class ReleaseRow:
    """One `hex_releases` row plus the files it contributes to `source_files`."""

    package: str
    version: str
    status: str
    outer_checksum: str | None = None
    inner_checksum: str | None = None
    licenses: tuple[str, ...] = ()
    retired_reason: str | None = None
    retired_message: str | None = None
    published_at: datetime | None = None
    error: str | None = None
    app: str | None = None
    description: str | None = None
    build_tools: tuple[str, ...] = ()
    elixir_requirement: str | None = None
    links: dict[str, str] | None = None
    requirements: list[dict[str, Any]] | None = None
    tarball_bytes: int | None = None
    is_prerelease: bool | None = None
    files: tuple[tuple[str, str, int], ...] = ()  # (path, sha256, bytes)


def load_known_packages(catalog: Catalog) -> dict[str, KnownPackage]:
    rows = catalog.fetchall(
        "SELECT name, versions, retired_versions, registry_updated_at, package_etag"
        " FROM hex_packages"
    )
    return {r[0]: KnownPackage(tuple(r[1] or ()), tuple(r[2] or ()), r[3], r[4]) for r in rows}


def load_release_states(
    catalog: Catalog,
) -> dict[tuple[str, str], tuple[str, str | None, str | None]]:
    """(package, version) -> (status, outer_checksum, error) for rows still present upstream."""
    rows = catalog.fetchall(
        "SELECT package, version, status, outer_checksum, error FROM hex_releases"
        " WHERE removed_at IS NULL"
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def license_expression(licenses: tuple[str, ...]) -> str | None:
    """Hex lists licenses; several mean the user may pick one, i.e. an SPDX `OR`."""
    cleaned = [x.strip() for x in licenses if x.strip()]
    return " OR ".join(cleaned) if cleaned else None


@dataclass(frozen=True)
class PackageRow:
    entry: VersionsEntry
    latest_stable: str | None
    registry_updated_at: datetime | None
    etag: str | None


@dataclass(frozen=True)
class CacheEntry:
    url: str
    etag: str | None
    body_sha256: str


@dataclass(frozen=True)
class Retirement:
    package: str
    version: str
    reason: str | None
    message: str | None


# What the crawl hands to the group-commit writer.
HexWrite = ReleaseRow | PackageRow | PackageStats | CacheEntry | Retirement


@dataclass
class Batch:
    """A group of writes folded by key (the last write wins), for one transaction."""

    releases: dict[tuple[str, str], ReleaseRow] = field(default_factory=dict)
    packages: dict[str, PackageRow] = field(default_factory=dict)
    cache: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    stats: dict[str, PackageStats] = field(default_factory=dict)
    retirements: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def add(self, item: HexWrite) -> None:
        if isinstance(item, ReleaseRow):
            self.releases[(item.package, item.version)] = item
        elif isinstance(item, PackageRow):
            self.packages[item.entry.name] = item
        elif isinstance(item, PackageStats):
            self.stats[item.name] = item
        elif isinstance(item, CacheEntry):
            self.cache[item.url] = (item.etag, item.body_sha256)
        else:
            self.retirements[(item.package, item.version)] = (item.reason, item.message)


def _release_columns(rows: list[ReleaseRow], now: datetime) -> dict[str, Column]:
    return {
        "package": ("VARCHAR", [r.package for r in rows]),
        "version": ("VARCHAR", [r.version for r in rows]),
        "outer_checksum": ("VARCHAR", [r.outer_checksum for r in rows]),
        "inner_checksum": ("VARCHAR", [r.inner_checksum for r in rows]),
        "licenses": ("VARCHAR[]", [list(r.licenses) for r in rows]),
        "retired_reason": ("VARCHAR", [r.retired_reason for r in rows]),
        "retired_message": ("VARCHAR", [r.retired_message for r in rows]),
        "published_at": ("TIMESTAMP", [r.published_at for r in rows]),
        "status": ("VARCHAR", [r.status for r in rows]),
        "error": ("VARCHAR", [r.error for r in rows]),
        "app": ("VARCHAR", [r.app for r in rows]),
        "description": ("VARCHAR", [r.description for r in rows]),
        "build_tools": ("VARCHAR[]", [list(r.build_tools) for r in rows]),
        "elixir_requirement": ("VARCHAR", [r.elixir_requirement for r in rows]),
        "links": ("VARCHAR", [_json_or_null(r.links) for r in rows]),
        "requirements": ("VARCHAR", [_json_or_null(r.requirements) for r in rows]),
        "tarball_bytes": ("BIGINT", [r.tarball_bytes for r in rows]),
        "files_kept": ("INTEGER", [len(r.files) for r in rows]),
        "is_prerelease": ("BOOLEAN", [r.is_prerelease for r in rows]),
        "updated_at": ("TIMESTAMP", [now] * len(rows)),
    }


def _json_or_null(value: object) -> str | None:
    return json.dumps(value) if value is not None else None


def _release_files(rows: list[ReleaseRow]) -> list[SourceFile]:
    return [
        (r.package, r.version, path, sha, size, license_expression(r.licenses))
        for r in rows
        for path, sha, size in r.files
    ]


def _bulk(con: Any, columns: dict[str, Column], sql: str, params: list[Any] | None = None) -> None:
    execute_over(con, "batch", columns, sql, params)


def write_group(catalog: Catalog, group: Sequence[HexWrite]) -> None:
    batch = Batch()
    for item in group:
        batch.add(item)
    write_batch(catalog, batch)


def write_batch(catalog: Catalog, batch: Batch) -> None:
    """Commit a batch: release rows replace earlier ones together with their files."""
    now = utcnow()
    rows = list(batch.releases.values())
    packages = list(batch.packages.values())
    stats = list(batch.stats.values())
    with catalog.transaction() as con:
        replace_source_files(
            con, "hex", list(batch.releases), _release_files(rows), recorded_at=now
        )
        releases = _release_columns(rows, now)
        _bulk(
            con,
            releases,
            "INSERT OR REPLACE INTO hex_releases (package, version, outer_checksum,"
            " inner_checksum, licenses, retired_reason, retired_message, published_at, status,"
            " error, app, description, build_tools, elixir_requirement, links, requirements,"
            " tarball_bytes, files_kept, is_prerelease, updated_at, removed_at)"
            " SELECT *, NULL FROM batch",
        )
        _bulk(
            con,
            {
                "package": ("VARCHAR", [p for p, _ in batch.retirements]),
                "version": ("VARCHAR", [v for _, v in batch.retirements]),
                "reason": ("VARCHAR", [r for r, _ in batch.retirements.values()]),
                "message": ("VARCHAR", [m for _, m in batch.retirements.values()]),
            },
            "UPDATE hex_releases r SET retired_reason = b.reason, retired_message = b.message"
            " FROM batch b WHERE r.package = b.package AND r.version = b.version",
        )
        _bulk(
            con,
            {
                "name": ("VARCHAR", [p.entry.name for p in packages]),
                "versions": ("VARCHAR[]", [list(p.entry.versions) for p in packages]),
                "retired": ("VARCHAR[]", [list(p.entry.retired_versions) for p in packages]),
                "latest": ("VARCHAR", [p.latest_stable for p in packages]),
                "updated": ("TIMESTAMP", [p.registry_updated_at for p in packages]),
                "etag": ("VARCHAR", [p.etag for p in packages]),
            },
            "INSERT INTO hex_packages (name, repository, versions, retired_versions, latest_stable,"
            " registry_updated_at, package_etag, package_fetched_at)"
            " SELECT name, 'hexpm', versions, retired, latest, updated, etag, ? FROM batch"
            " ON CONFLICT (name) DO UPDATE SET versions = excluded.versions,"
            " retired_versions = excluded.retired_versions, latest_stable = excluded.latest_stable,"
            " registry_updated_at = excluded.registry_updated_at,"
            " package_etag = excluded.package_etag,"
            " package_fetched_at = excluded.package_fetched_at",
            [now],
        )
        # API extras upsert too: package rows and stats may arrive in either order.
        _bulk(
            con,
            {
                "name": ("VARCHAR", [s.name for s in stats]),
                "downloads_all": ("BIGINT", [s.downloads_all for s in stats]),
                "downloads_recent": ("BIGINT", [s.downloads_recent for s in stats]),
                "description": ("VARCHAR", [s.description for s in stats]),
                "licenses": ("VARCHAR[]", [list(s.licenses) for s in stats]),
            },
            "INSERT INTO hex_packages (name, repository, downloads_all, downloads_recent,"
            " description, licenses, api_updated_at) SELECT *, ? FROM (SELECT name,"
            " 'hexpm', downloads_all, downloads_recent, description, licenses FROM batch)"
            " ON CONFLICT (name) DO UPDATE SET downloads_all = excluded.downloads_all,"
            " downloads_recent = excluded.downloads_recent, description = excluded.description,"
            " licenses = excluded.licenses, api_updated_at = excluded.api_updated_at",
            [now],
        )
        _bulk(
            con,
            {
                "url": ("VARCHAR", list(batch.cache)),
                "etag": ("VARCHAR", [e for e, _ in batch.cache.values()]),
                "sha": ("VARCHAR", [h for _, h in batch.cache.values()]),
            },
            "INSERT OR REPLACE INTO hex_registry_cache (url, etag, body_sha256, fetched_at)"
            " SELECT url, etag, sha, ? FROM batch",
            [now],
        )


def mark_removed(catalog: Catalog, present: set[str]) -> int:
    """Releases of packages gone from /versions are marked removed (Hex deletes within 24 h)."""
    rows = catalog.fetchall("SELECT DISTINCT package FROM hex_releases WHERE removed_at IS NULL")
    gone = [r[0] for r in rows if r[0] not in present]
    if gone:
        catalog.executemany(
            "UPDATE hex_releases SET removed_at = ? WHERE package = ? AND removed_at IS NULL",
            [(utcnow(), name) for name in gone],
        )
    return len(gone)


def load_cache(catalog: Catalog) -> dict[str, tuple[str | None, str]]:
    """url -> (etag, body_sha256) for every registry resource fetched before."""
    rows = catalog.fetchall("SELECT url, etag, body_sha256 FROM hex_registry_cache")
    return {r[0]: (r[1], r[2]) for r in rows}
