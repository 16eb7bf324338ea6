"""Reads and writes the Hex tables of the catalog; every write is one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harvest.catalog import Catalog
from harvest.hex.api import PackageStats
from harvest.hex.registry import NameEntry, VersionsEntry

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


def write_release(catalog: Catalog, row: ReleaseRow) -> None:
    """Replace a release row and its files in one transaction: a crash keeps old or new."""
    now = utcnow()
    license_expr = license_expression(row.licenses)
    with catalog.transaction() as con:
        con.execute(
            "DELETE FROM source_files WHERE source = 'hex' AND origin = ? AND origin_version = ?",
            [row.package, row.version],
        )
        if row.files:
            con.executemany(
                "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes,"
                " license, recorded_at) VALUES ('hex', ?, ?, ?, ?, ?, ?, ?)",
                [(row.package, row.version, p, s, b, license_expr, now) for p, s, b in row.files],
            )
        con.execute(
            "INSERT OR REPLACE INTO hex_releases (package, version, outer_checksum, inner_checksum,"
            " licenses, retired_reason, retired_message, published_at, status, error, app,"
            " description, build_tools, elixir_requirement, links, requirements, tarball_bytes,"
            " files_kept, is_prerelease, updated_at, removed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                row.package,
                row.version,
                row.outer_checksum,
                row.inner_checksum,
                list(row.licenses),
                row.retired_reason,
                row.retired_message,
                row.published_at,
                row.status,
                row.error,
                row.app,
                row.description,
                list(row.build_tools),
                row.elixir_requirement,
                json.dumps(row.links) if row.links is not None else None,
                json.dumps(row.requirements) if row.requirements is not None else None,
                row.tarball_bytes,
                len(row.files),
                row.is_prerelease,
                now,
            ],
        )


def update_retirement(
    catalog: Catalog, package: str, version: str, reason: str | None, message: str | None
) -> None:
    catalog.execute(
        "UPDATE hex_releases SET retired_reason = ?, retired_message = ?, updated_at = ?"
        " WHERE package = ? AND version = ?",
        [reason, message, utcnow(), package, version],
    )


def write_package(
    catalog: Catalog,
    entry: VersionsEntry,
    latest: str | None,
    names: dict[str, NameEntry],
    etag: str | None,
) -> None:
    name_entry = names.get(entry.name)
    catalog.execute(
        "INSERT INTO hex_packages (name, repository, versions, retired_versions, latest_stable,"
        " registry_updated_at, package_etag, package_fetched_at)"
        " VALUES (?, 'hexpm', ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET versions = excluded.versions,"
        " retired_versions = excluded.retired_versions, latest_stable = excluded.latest_stable,"
        " registry_updated_at = excluded.registry_updated_at,"
        " package_etag = excluded.package_etag, package_fetched_at = excluded.package_fetched_at",
        [
            entry.name,
            list(entry.versions),
            list(entry.retired_versions),
            latest,
            name_entry.updated_at if name_entry else None,
            etag,
            utcnow(),
        ],
    )


def write_stats(catalog: Catalog, stats: list[PackageStats]) -> None:
    """Upsert API extras; the registry columns are filled by write_package, in either order."""
    if not stats:
        return
    with catalog.transaction() as con:
        con.executemany(
            "INSERT INTO hex_packages (name, repository, downloads_all, downloads_recent,"
            " description, licenses, api_updated_at) VALUES (?, 'hexpm', ?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET downloads_all = excluded.downloads_all,"
            " downloads_recent = excluded.downloads_recent, description = excluded.description,"
            " licenses = excluded.licenses, api_updated_at = excluded.api_updated_at",
            [
                (
                    s.name,
                    s.downloads_all,
                    s.downloads_recent,
                    s.description,
                    list(s.licenses),
                    utcnow(),
                )
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


def get_cache(catalog: Catalog, url: str) -> tuple[str | None, str | None]:
    row = catalog.fetchone("SELECT etag, body_sha256 FROM hex_registry_cache WHERE url = ?", [url])
    return (row[0], row[1]) if row else (None, None)


def put_cache(catalog: Catalog, url: str, etag: str | None, body_sha256: str) -> None:
    catalog.execute(
        "INSERT OR REPLACE INTO hex_registry_cache (url, etag, body_sha256, fetched_at)"
        " VALUES (?, ?, ?, ?)",
        [url, etag, body_sha256, utcnow()],
    )
