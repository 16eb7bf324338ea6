"""Reads and writes the Hex tables of the catalog; every write is one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from harvest.catalog import Catalog
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


@dataclass
class Batch:
    """Everything the crawl learned since the last commit; written in one transaction."""

    releases: dict[tuple[str, str], ReleaseRow] = field(default_factory=dict)
    packages: dict[str, PackageRow] = field(default_factory=dict)
    cache: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    stats: dict[str, PackageStats] = field(default_factory=dict)
    retirements: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return (
            len(self.releases)
            + len(self.packages)
            + len(self.cache)
            + len(self.stats)
            + len(self.retirements)
        )


def _release_table(rows: list[ReleaseRow], now: datetime) -> pa.Table:
    return pa.table(
        {
            "package": [r.package for r in rows],
            "version": [r.version for r in rows],
            "outer_checksum": [r.outer_checksum for r in rows],
            "inner_checksum": [r.inner_checksum for r in rows],
            "licenses": [list(r.licenses) for r in rows],
            "retired_reason": [r.retired_reason for r in rows],
            "retired_message": [r.retired_message for r in rows],
            "published_at": pa.array([r.published_at for r in rows], pa.timestamp("us")),
            "status": [r.status for r in rows],
            "error": [r.error for r in rows],
            "app": [r.app for r in rows],
            "description": [r.description for r in rows],
            "build_tools": [list(r.build_tools) for r in rows],
            "elixir_requirement": [r.elixir_requirement for r in rows],
            "links": [json.dumps(r.links) if r.links is not None else None for r in rows],
            "requirements": [
                json.dumps(r.requirements) if r.requirements is not None else None for r in rows
            ],
            "tarball_bytes": pa.array([r.tarball_bytes for r in rows], pa.int64()),
            "files_kept": pa.array([len(r.files) for r in rows], pa.int32()),
            "is_prerelease": pa.array([r.is_prerelease for r in rows], pa.bool_()),
            "updated_at": pa.array([now] * len(rows), pa.timestamp("us")),
        }
    )


def _file_table(rows: list[ReleaseRow], now: datetime) -> pa.Table:
    cols: dict[str, list[Any]] = {
        k: [] for k in ("origin", "origin_version", "path", "sha256", "bytes", "license")
    }
    for r in rows:
        license_expr = license_expression(r.licenses)
        for path, sha, size in r.files:
            for key, value in zip(
                cols, (r.package, r.version, path, sha, size, license_expr), strict=True
            ):
                cols[key].append(value)
    table = pa.table({**cols, "bytes": pa.array(cols["bytes"], pa.int64())})
    return table.append_column("recorded_at", pa.array([now] * len(table), pa.timestamp("us")))


def write_batch(catalog: Catalog, batch: Batch) -> None:
    """Commit a batch: release rows replace earlier ones together with their files."""
    now = utcnow()
    with catalog.transaction() as con:
        if batch.releases:
            rows = list(batch.releases.values())
            releases, files = _release_table(rows, now), _file_table(rows, now)
            con.register("batch_releases", releases)
            con.register("batch_files", files)
            con.execute(
                "DELETE FROM source_files WHERE source = 'hex' AND (origin, origin_version) IN"
                " (SELECT package, version FROM batch_releases)"
            )
            con.execute(
                "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes,"
                " license, recorded_at) SELECT 'hex', origin, origin_version, path, sha256,"
                " bytes, license, recorded_at FROM batch_files"
            )
            con.execute(
                "INSERT OR REPLACE INTO hex_releases (package, version, outer_checksum,"
                " inner_checksum, licenses, retired_reason, retired_message, published_at, status,"
                " error, app, description, build_tools, elixir_requirement, links, requirements,"
                " tarball_bytes, files_kept, is_prerelease, updated_at, removed_at)"
                " SELECT *, NULL FROM batch_releases"
            )
            con.unregister("batch_releases")
            con.unregister("batch_files")
        if batch.retirements:
            con.executemany(
                "UPDATE hex_releases SET retired_reason = ?, retired_message = ?, updated_at = ?"
                " WHERE package = ? AND version = ?",
                [(r, m, now, p, v) for (p, v), (r, m) in batch.retirements.items()],
            )
        _write_packages(con, list(batch.packages.values()), now)
        _write_stats(con, list(batch.stats.values()), now)
        if batch.cache:
            con.executemany(
                "INSERT OR REPLACE INTO hex_registry_cache (url, etag, body_sha256, fetched_at)"
                " VALUES (?, ?, ?, ?)",
                [(url, etag, sha, now) for url, (etag, sha) in batch.cache.items()],
            )


def _write_packages(con: Any, rows: list[PackageRow], now: datetime) -> None:
    if not rows:
        return
    con.executemany(
        "INSERT INTO hex_packages (name, repository, versions, retired_versions, latest_stable,"
        " registry_updated_at, package_etag, package_fetched_at)"
        " VALUES (?, 'hexpm', ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET versions = excluded.versions,"
        " retired_versions = excluded.retired_versions, latest_stable = excluded.latest_stable,"
        " registry_updated_at = excluded.registry_updated_at,"
        " package_etag = excluded.package_etag, package_fetched_at = excluded.package_fetched_at",
        [
            (
                p.entry.name,
                list(p.entry.versions),
                list(p.entry.retired_versions),
                p.latest_stable,
                p.registry_updated_at,
                p.etag,
                now,
            )
            for p in rows
        ],
    )


def _write_stats(con: Any, stats: list[PackageStats], now: datetime) -> None:
    """Upsert API extras; the registry columns are filled by the package rows, in either order."""
    if not stats:
        return
    con.executemany(
        "INSERT INTO hex_packages (name, repository, downloads_all, downloads_recent,"
        " description, licenses, api_updated_at) VALUES (?, 'hexpm', ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET downloads_all = excluded.downloads_all,"
        " downloads_recent = excluded.downloads_recent, description = excluded.description,"
        " licenses = excluded.licenses, api_updated_at = excluded.api_updated_at",
        [
            (s.name, s.downloads_all, s.downloads_recent, s.description, list(s.licenses), now)
            for s in stats
        ],
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
