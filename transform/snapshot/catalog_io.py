"""Every SQL statement of the snapshot commands: source files in preference order, source
provenance, and the `snapshots` table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from harvest.catalog import Catalog
from transform.snapshot.errors import SnapshotError

FILES_SQL = """
SELECT f.source, f.origin, f.origin_version, f.path, f.sha256, f.bytes, f.license
FROM source_files f
JOIN release_rank r USING (source, origin, origin_version)
ORDER BY r.rank, f.path
"""

RELEASES_SQL = """
SELECT 'hex' AS source, package AS origin, version AS origin_version FROM hex_releases
WHERE status = 'fetched'
UNION ALL
SELECT 'github', name_with_owner, commit_oid FROM github_repos
WHERE status = 'fetched' AND commit_oid IS NOT NULL
"""

SNAPSHOT_COLUMNS = (
    "version, created_at, manifest_sha256, path, rows_instruct_train, rows_instruct_validation, "
    "rows_corpus_train, rows_corpus_validation, config_json"
)

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$")


@dataclass(frozen=True)
class SourceFile:
    source: str
    origin: str
    origin_version: str
    path: str
    sha256: str
    bytes: int
    license: str | None


def version_key(version: str) -> tuple[Any, ...]:
    """SemVer ordering (a pre-release sorts before its release); non-SemVer sorts first."""
    m = _VERSION.match(version)
    if not m:
        return (0, (), 0, (), version)
    nums = tuple(int(x or 0) for x in m.group(1, 2, 3))
    pre = m.group(4)
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in (pre or "").split("."))
    return (1, nums, 0 if pre else 1, pre_key, version)


def release_ranks(catalog: Catalog) -> pa.Table:
    """Every fetched release and repository, ranked: Hex before GitHub, then origin, newest first.

    Exact dedup keeps the first copy it sees, so this order decides which copy survives.
    """
    releases = catalog.fetchall(RELEASES_SQL)
    releases.sort(key=lambda r: version_key(r[2]), reverse=True)  # newest first ...
    releases.sort(key=lambda r: (r[0] != "hex", r[1]))  # ... within each origin (stable sort)
    columns = list(zip(*releases, strict=True)) if releases else [(), (), ()]
    return pa.table(
        {
            "source": pa.array(columns[0], pa.string()),
            "origin": pa.array(columns[1], pa.string()),
            "origin_version": pa.array(columns[2], pa.string()),
            "rank": pa.array(range(len(releases)), pa.int64()),
        }
    )


def count_source_files(catalog: Catalog) -> int:
    return int(catalog.fetchall("SELECT count(*) FROM source_files")[0][0])


def iter_source_files(catalog: Catalog, batch: int = 2048) -> Iterator[list[SourceFile]]:
    """Source files of fetched releases in preference order, in batches (streamed)."""
    ranks = release_ranks(catalog)
    with catalog.con.cursor() as cursor:  # its own cursor: other queries may run meanwhile
        cursor.register("release_rank", ranks)
        cursor.execute(FILES_SQL)
        while rows := cursor.fetchmany(batch):
            yield [SourceFile(*r) for r in rows]


def source_provenance(catalog: Catalog, used: pa.Table) -> dict[str, list[dict[str, str]]]:
    """Checksums of the Hex releases and commits of the repositories in `used`."""
    catalog.con.register("used_sources", used)
    try:
        hex_rows = catalog.fetchall(
            "SELECT h.package, h.version, h.outer_checksum FROM hex_releases h JOIN used_sources u"
            " ON u.source = 'hex' AND u.origin = h.package AND u.origin_version = h.version"
            " ORDER BY 1, 2"
        )
        gh_rows = catalog.fetchall(
            "SELECT DISTINCT g.name_with_owner, g.commit_oid FROM github_repos g"
            " JOIN used_sources u ON u.source = 'github' AND u.origin = g.name_with_owner"
            " AND u.origin_version = g.commit_oid ORDER BY 1, 2"
        )
    finally:
        catalog.con.unregister("used_sources")
    return {
        "hex": [{"package": p, "version": v, "outer_checksum": c} for p, v, c in hex_rows],
        "github": [{"name_with_owner": n, "commit_oid": c} for n, c in gh_rows],
    }


def snapshot_exists(catalog: Catalog, version: str) -> bool:
    return bool(catalog.fetchall("SELECT 1 FROM snapshots WHERE version = ?", [version]))


def insert_snapshot(catalog: Catalog, row: dict[str, Any]) -> None:
    """Register a finished snapshot; one transaction."""
    with catalog.transaction() as con:
        con.execute(
            f"INSERT INTO snapshots ({SNAPSHOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row["version"],
                row["created_at"],
                row["manifest_sha256"],
                row["path"],
                row["rows_instruct_train"],
                row["rows_instruct_validation"],
                row["rows_corpus_train"],
                row["rows_corpus_validation"],
                json.dumps(row["config"], sort_keys=True),
            ],
        )


def list_snapshots(catalog: Catalog) -> list[dict[str, Any]]:
    rows = catalog.fetchall(
        f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots ORDER BY created_at, version"
    )
    names = [c.strip() for c in SNAPSHOT_COLUMNS.split(",")]
    return [dict(zip(names, r, strict=True)) for r in rows]


def get_snapshot(catalog: Catalog, version: str) -> dict[str, Any]:
    """The catalog row of `version`, or a SnapshotError listing the versions that exist."""
    for row in list_snapshots(catalog):
        if row["version"] == version:
            return row
    known = ", ".join(r["version"] for r in list_snapshots(catalog)) or "none"
    raise SnapshotError(f"no snapshot named {version!r} in {catalog.path} (known: {known})")


def utc_now() -> datetime:
    """Naive UTC timestamp, as the catalog stores them."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
