"""The DuckDB catalog: one file, one writer at a time, schema applied on every open.

Writers hold an exclusive lock on `<catalog>.lock` for their whole run, so a second harvest,
build or training run against the same catalog fails at once with a message naming the holder
instead of waiting or corrupting anything. Readers open DuckDB read-only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

SCHEMA_PACKAGE = "harvest.schema"


class CatalogError(RuntimeError):
    """The catalog cannot be opened or is not usable."""


class CatalogBusy(CatalogError):
    """Another writer holds the catalog."""


def schema_sql() -> list[tuple[str, str]]:
    """The schema files in apply order, as (name, sql)."""
    files = sorted(
        (f for f in resources.files(SCHEMA_PACKAGE).iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


class Catalog:
    """A DuckDB connection plus the writer lock that guards it."""

    def __init__(
        self,
        path: Path,
        con: duckdb.DuckDBPyConnection,
        lock_fd: int | None,
        memory_limit: str | None = None,
    ) -> None:
        self.path = path
        self.con = con
        self._lock_fd = lock_fd
        self._memory_limit = memory_limit

    @property
    def writable(self) -> bool:
        return self._lock_fd is not None

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def executemany(self, sql: str, rows: Any) -> None:
        self.con.executemany(sql, rows)

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Any = None) -> tuple[Any, ...] | None:
        return self.execute(sql, params).fetchone()

    def release_cached_blocks(self) -> None:
        """Hand DuckDB's cached table blocks back, between transactions.

        The buffer pool keeps every block a commit or checkpoint touched until it needs the
        room, so a crawl's memory grew with the catalog up to the pool's limit (about 20 MB
        over 34,000 packages). DuckDB has no command to drop them; lowering the limit for a
        moment evicts what is not in use. If that fails (the pool is busy) nothing happens.
        """
        if self._memory_limit is None:
            return
        try:
            self.con.execute(f"SET memory_limit = '{EVICT_TO}'")
        except duckdb.Error:
            pass
        finally:
            self.con.execute(f"SET memory_limit = '{self._memory_limit}'")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All statements in the block commit together or not at all."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# What release_cached_blocks lowers the buffer pool to for a moment.
EVICT_TO = "1MB"

# A batch column: its DuckDB type and its values, one per row.
Column = tuple[str, Sequence[Any]]


def execute_over(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: Mapping[str, Column],
    sql: str,
    params: Any = None,
) -> duckdb.DuckDBPyConnection | None:
    """Run `sql` with `columns` visible as the table `name`: one statement for many rows.

    DuckDB's executemany runs row by row (milliseconds each). Here each column travels as one
    list parameter and `unnest` turns the lists back into rows, microseconds per row, without
    pyarrow (whose import alone is about 40 MB of a crawler's memory). The rows are a common
    table expression in front of `sql`: one statement, where a temporary table took three
    (create, use, drop). An empty batch runs nothing and returns None; otherwise the
    connection, for statements that return rows (`RETURNING`).
    """
    lengths = {len(values) for _type, values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"batch {name}: columns differ in length {sorted(lengths)}")
    if lengths == {0}:
        return None
    select = ", ".join(f'unnest(?::{kind}[]) AS "{col}"' for col, (kind, _v) in columns.items())
    return con.execute(
        f"WITH {name} AS (SELECT {select}) {sql}",
        [*(list(values) for _kind, values in columns.values()), *(params or [])],
    )


# One source file as both crawlers record it: origin, origin_version, path, sha256, bytes, license.
SourceFile = tuple[str, str, str, str, int, str | None]


def source_file_columns(files: Sequence[SourceFile]) -> dict[str, Column]:
    """`source_files` rows as execute_over columns; both crawlers write the table through it."""
    names = ("origin", "origin_version", "path", "sha256", "bytes", "license")
    kinds = ("VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR")
    values = list(zip(*files, strict=True)) if files else [()] * len(names)
    return {name: (kind, list(col)) for name, kind, col in zip(names, kinds, values, strict=True)}


def replace_source_files(
    con: duckdb.DuckDBPyConnection,
    source: str,
    versions: Sequence[tuple[str, str]],
    files: Sequence[SourceFile],
    recorded_at: datetime | None = None,
) -> None:
    """Make `files` the whole file list of each (origin, origin_version) in `versions`: delete
    what was recorded for them, insert the new rows. Both crawlers write `source_files` only
    through here, which is what keeps (source, origin, origin_version, path) unique without a
    key. `recorded_at` None: the column default (now).

    Which versions already have files comes from `source_versions` (one row per version), so
    `source_files` itself is scanned only when something is really replaced: in a first crawl,
    never. That scan loaded the table's key columns into memory at every commit, which grew a
    crawl's peak with the catalog (12 MB at 140,000 files, up to the buffer pool's limit)."""
    counts = Counter((origin, version) for origin, version, *_ in files)
    if not counts.keys() <= set(versions):
        raise ValueError("replace_source_files: files of a version that is not being replaced")
    found = execute_over(
        con,
        "batch",
        _version_columns(versions),
        "DELETE FROM source_versions WHERE source = ? AND (origin, origin_version) IN"
        " (SELECT origin, origin_version FROM batch) RETURNING origin, origin_version",
        [source],
    )
    replaced = found.fetchall() if found is not None else []
    execute_over(
        con,
        "replaced",
        _version_columns(replaced),
        "DELETE FROM source_files WHERE source = ? AND (origin, origin_version) IN"
        " (SELECT origin, origin_version FROM replaced)",
        [source],
    )
    execute_over(
        con,
        "kept",
        source_file_columns(files),
        "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes, license,"
        " recorded_at) SELECT ?, origin, origin_version, path, sha256, bytes, license,"
        " coalesce(?::TIMESTAMP, now()::TIMESTAMP) FROM kept",
        [source, recorded_at],
    )
    execute_over(
        con,
        "counted",
        {**_version_columns(list(counts)), "files": ("BIGINT", list(counts.values()))},
        "INSERT INTO source_versions SELECT ?, origin, origin_version, files FROM counted",
        [source],
    )


def _version_columns(versions: Sequence[tuple[str, str]]) -> dict[str, Column]:
    return {
        "origin": ("VARCHAR", [origin for origin, _ in versions]),
        "origin_version": ("VARCHAR", [version for _, version in versions]),
    }


def sync_source_versions(catalog: Catalog) -> bool:
    """Rebuild `source_versions` from `source_files` when their totals disagree: a catalog made
    before the table existed, or rows written by other means. True if it was rebuilt."""
    row = catalog.fetchone(
        "SELECT (SELECT count(*) FROM source_files),"
        " (SELECT coalesce(sum(files), 0) FROM source_versions)"
    )
    if row is None or row[0] == row[1]:
        return False
    with catalog.transaction() as con:
        con.execute("DELETE FROM source_versions")
        con.execute(
            "INSERT INTO source_versions SELECT source, origin, origin_version, count(*)"
            " FROM source_files GROUP BY source, origin, origin_version"
        )
    return True


def apply_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Every schema file in order; each is idempotent (IF NOT EXISTS, ADD COLUMN IF NOT EXISTS)."""
    for name, sql in schema_sql():
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise CatalogError(f"applying schema {name} to {path} failed: {exc}") from exc


def drop_source_files_key(catalog: Catalog) -> bool:
    """Catalogs made before December 2026 have a PRIMARY KEY on `source_files`. Its index
    lives in DuckDB's buffer pool, so at a few hundred thousand rows replacing a release's
    files ran a crawl out of its memory limit. Rebuild the table without it (same columns, same
    rows; the writers keep the rows unique) in one transaction; True if that was needed."""
    keyed = catalog.fetchone(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'source_files'"
        " AND constraint_type = 'PRIMARY KEY'"
    )
    if not keyed or not keyed[0]:
        return False
    with catalog.transaction() as con:
        con.execute("ALTER TABLE source_files RENAME TO source_files_keyed")
        apply_schema(con, catalog.path)  # creates source_files afresh, without the key
        con.execute("INSERT INTO source_files BY NAME SELECT * FROM source_files_keyed")
        con.execute("DROP TABLE source_files_keyed")
    return True


def _connect_writer(
    path: Path, config: dict[str, Any], row_group_size: int | None
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to `path`. The row group size is an ATTACH option only (there is
    no setting for it), so with one the file is attached to an in-memory connection and made
    the default database: unqualified names resolve to it as with a direct connect."""
    if row_group_size is None:
        return duckdb.connect(str(path), config=config)
    con = duckdb.connect(":memory:", config=config)
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS catalog (ROW_GROUP_SIZE {int(row_group_size)})")
        con.execute("USE catalog")
    except BaseException:
        con.close()
        raise
    return con


def _take_lock(path: Path) -> int:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise CatalogBusy(
            f"catalog {path} is in use by {holder}; wait for it to finish or use another --catalog"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
    return fd


def open_crawl_catalog(path: Path) -> Catalog:
    """The catalog as the crawlers open it. Their writes are many small transactions over
    hours, so DuckDB gets a small buffer pool, one thread, and a checkpoint every 4 MB of WAL:
    rows not yet checkpointed stay in memory, which at DuckDB's default of 16 MB made a crawl's
    memory grow by up to 40 MB between checkpoints."""
    return open_catalog(
        path,
        memory_limit="64MB",
        threads=1,
        checkpoint_threshold="4MB",
        row_group_size=CRAWL_ROW_GROUP_SIZE,
    )


# Rows per row group for crawl writers (DuckDB's default is 122,880). A checkpoint rewrites the
# table's last, growing row group: at the default that cost up to 40 MB of memory once
# `source_files` passed about 100,000 rows (12,000 Hex packages), so a crawl's peak grew with
# the catalog. At 16,384 it stays a few MB; scans of a few million rows do not notice.
CRAWL_ROW_GROUP_SIZE = 16_384


def open_catalog(
    path: Path,
    *,
    write: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
    checkpoint_threshold: str | None = None,
    row_group_size: int | None = None,
) -> Catalog:
    """Open (and for writers create and migrate) the catalog at `path`.

    `memory_limit` caps DuckDB's buffer pool (default: 80% of RAM), `threads` its worker
    threads (default: one per core), `checkpoint_threshold` the WAL size that triggers a
    checkpoint (default 16 MB) and `row_group_size` the rows per row group a writer appends
    (DuckDB's default 122,880); see open_crawl_catalog.
    """
    config: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    if threads:
        config["threads"] = threads
    if checkpoint_threshold:
        config["checkpoint_threshold"] = checkpoint_threshold
    path = Path(path)
    if not write:
        if not path.exists():
            raise CatalogError(
                f"catalog {path} does not exist; harvest first"
                " (`python -m harvest hex` or `python -m harvest github`) or pass --catalog"
            )
        try:
            con = duckdb.connect(str(path), read_only=True, config=config)
        except duckdb.Error as exc:
            raise CatalogError(f"cannot read catalog {path}: {exc}") from None
        return Catalog(path, con, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _take_lock(path)
    con = None
    try:
        con = _connect_writer(path, config, row_group_size)
        apply_schema(con, path)
        catalog = Catalog(path, con, fd, memory_limit)
        drop_source_files_key(catalog)
        sync_source_versions(catalog)
    except BaseException as exc:
        if con is not None:
            con.close()  # before the lock goes, so the next writer finds the file closed
        os.close(fd)
        if isinstance(exc, duckdb.Error):
            raise CatalogError(f"cannot open catalog {path}: {exc}") from None
        raise
    return catalog
