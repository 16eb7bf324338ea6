"""Bulk statements over list parameters, and the crawlers' memory-relevant imports."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from harvest.catalog import (
    CRAWL_ROW_GROUP_SIZE,
    Catalog,
    CatalogBusy,
    CatalogError,
    execute_over,
    open_catalog,
    open_crawl_catalog,
    replace_source_files,
    source_file_columns,
)
from harvest.hex import state

ROOT = Path(__file__).resolve().parents[2]


def test_execute_over_keeps_types_nulls_lists_and_order(tmp_path: Path) -> None:
    moment = datetime(2024, 5, 1, 12, 30, 15, 123456)
    with open_catalog(tmp_path / "c.duckdb") as catalog, catalog.transaction() as con:
        con.execute(
            "CREATE TABLE t (name VARCHAR, n BIGINT, seen_at TIMESTAMP, tags VARCHAR[], ok BOOLEAN)"
        )
        execute_over(
            con,
            "batch",
            {
                "name": ("VARCHAR", ["b", "a", None]),
                "n": ("BIGINT", [2**40, None, -1]),
                "seen_at": ("TIMESTAMP", [moment, None, moment]),
                "tags": ("VARCHAR[]", [["MIT", "Apache-2.0"], [], None]),
                "ok": ("BOOLEAN", [True, False, None]),
            },
            "INSERT INTO t SELECT * FROM batch",
        )
        rows = con.execute("SELECT * FROM t").fetchall()
        assert rows == [
            ("b", 2**40, moment, ["MIT", "Apache-2.0"], True),
            ("a", None, None, [], False),
            (None, -1, moment, None, None),
        ]
        # the batch table is gone once the statement ran
        assert not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'batch'"
        ).fetchone()[0]


def test_execute_over_runs_nothing_for_an_empty_batch_and_rejects_ragged_columns(
    tmp_path: Path,
) -> None:
    with open_catalog(tmp_path / "c.duckdb") as catalog, catalog.transaction() as con:
        con.execute("CREATE TABLE t (a VARCHAR)")
        execute_over(con, "batch", {"a": ("VARCHAR", [])}, "INSERT INTO t VALUES ('ran')")
        assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
        with pytest.raises(ValueError, match="differ in length"):
            execute_over(
                con,
                "batch",
                {"a": ("VARCHAR", ["x"]), "b": ("VARCHAR", [])},
                "INSERT INTO t SELECT a FROM batch",
            )


def test_a_failing_bulk_statement_surfaces_its_own_error(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "c.duckdb") as catalog:
        with pytest.raises(duckdb.Error, match="no_such_table"), catalog.transaction() as con:
            execute_over(
                con, "batch", {"a": ("VARCHAR", ["x"])}, "INSERT INTO no_such_table SELECT 1"
            )
        assert catalog.fetchone("SELECT 1") == (1,)  # the connection is still usable


def test_crawlers_do_not_load_pyarrow() -> None:
    """pyarrow with numpy and pandas is about 40 MB of RSS; the crawlers' writes need none."""
    code = (
        "import sys, harvest.hex.cli, harvest.hex.crawl, harvest.github.cli, "
        "harvest.github.crawl; print(sorted(m for m in ('pyarrow', 'pandas', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _insert_files(catalog: Catalog, rows: int) -> int:
    """Insert `rows` source_files in one transaction; returns the WAL's size after it."""
    files = [("pkg", "1.0.0", f"lib/m{i}.ex", f"{i:064x}", 100, "MIT") for i in range(rows)]
    with catalog.transaction() as con:
        execute_over(
            con,
            "batch",
            source_file_columns(files),
            "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes,"
            " license, recorded_at) SELECT 'hex', *, now() FROM batch",
        )
    wal = catalog.path.with_name(catalog.path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_crawl_catalog_checkpoints_early_with_a_small_pool(tmp_path: Path) -> None:
    """Rows not yet checkpointed stay in memory, so the crawlers' catalog checkpoints every
    4 MB of WAL instead of 16 (bench/hex_crawl.py measures the memory it keeps flat)."""
    rows = 40_000
    with open_catalog(tmp_path / "default.duckdb") as catalog:
        default_wal = _insert_files(catalog, rows)
    with open_crawl_catalog(tmp_path / "crawl.duckdb") as catalog:
        settings = catalog.fetchone(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        )
        crawl_wal = _insert_files(catalog, rows)
        assert catalog.fetchone("SELECT count(*) FROM source_files") == (rows,)
    assert 4 * 2**20 < default_wal < 16 * 2**20  # over the crawl threshold, under the default
    assert crawl_wal < 4 * 2**20  # checkpointed into the database file at commit
    limit, threads = settings
    assert limit.endswith("MiB") and float(limit.split()[0]) <= 64 and threads == 1


KEYED_SOURCE_FILES = """
CREATE TABLE source_files (
    source VARCHAR NOT NULL, origin VARCHAR NOT NULL, origin_version VARCHAR NOT NULL,
    path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, bytes BIGINT NOT NULL, license VARCHAR,
    recorded_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (source, origin, origin_version, path)
)"""


def _source_files_keys(catalog: Catalog) -> int:
    row = catalog.fetchone(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'source_files'"
        " AND constraint_type = 'PRIMARY KEY'"
    )
    return row[0] if row else -1


def test_a_catalog_made_with_the_source_files_key_is_rebuilt_without_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    moment = datetime(2025, 3, 1, 8, 0, 0)
    con = duckdb.connect(str(path))
    con.execute(KEYED_SOURCE_FILES)
    con.execute(
        "INSERT INTO source_files VALUES ('hex', 'plug', '1.0.0', 'lib/plug.ex', ?, 10, 'MIT', ?),"
        " ('github', 'a/b', 'c0ffee', 'mix.exs', ?, 20, NULL, ?)",
        ["a" * 64, moment, "b" * 64, moment],
    )
    con.close()
    with open_catalog(path) as catalog:
        assert _source_files_keys(catalog) == 0
        assert catalog.fetchall("SELECT * FROM source_files ORDER BY source DESC") == [
            ("hex", "plug", "1.0.0", "lib/plug.ex", "a" * 64, 10, "MIT", moment),
            ("github", "a/b", "c0ffee", "mix.exs", "b" * 64, 20, None, moment),
        ]
        assert catalog.fetchone(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'source_files_keyed'"
        ) == (0,)
        # the column default survived the rebuild
        catalog.execute(
            "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes)"
            " VALUES ('hex', 'plug', '1.1.0', 'mix.exs', 'c', 1)"
        )
        assert catalog.fetchone(
            "SELECT recorded_at IS NOT NULL FROM source_files WHERE origin_version = '1.1.0'"
        ) == (True,)
    with open_catalog(path) as catalog:  # a second open has nothing to do
        assert _source_files_keys(catalog) == 0
        assert catalog.fetchone("SELECT count(*) FROM source_files") == (3,)


def test_replacing_files_in_a_big_catalog_fits_the_crawl_memory_limit(tmp_path: Path) -> None:
    """With a primary key on source_files, re-fetching releases in a catalog of 500,000 files
    ran out of the crawl's 64 MB (the key's index lives in DuckDB's buffer pool)."""
    path = tmp_path / "big.duckdb"
    with open_catalog(path) as catalog:
        catalog.execute(
            "INSERT INTO hex_releases (package, version, status, files_kept, updated_at)"
            " SELECT 'pkg_' || i, '1.0.0', 'fetched', 20, now()::TIMESTAMP FROM range(25000) t(i)"
        )
        catalog.execute(
            "INSERT INTO source_files SELECT 'hex', 'pkg_' || (i // 20), '1.0.0',"
            " 'lib/f' || (i % 20) || '.ex', sha256(i::VARCHAR), 100, 'MIT', now()::TIMESTAMP"
            " FROM range(500000) t(i)"
        )
    batch = state.Batch()
    for i in range(0, 25000, 100):  # 250 releases re-fetched with new contents
        batch.add(state.ReleaseRow(f"pkg_{i}", "1.0.0", "fetched", files=(("mix.exs", "e", 1),)))
    for i in range(200):  # and 200 new ones
        batch.add(state.ReleaseRow(f"new_{i}", "1.0.0", "fetched", files=(("mix.exs", "f", 2),)))
    with open_crawl_catalog(path) as catalog:
        state.write_batch(catalog, batch)
        assert catalog.fetchone(
            "SELECT count(*), count(DISTINCT (source, origin, origin_version, path))"
            " FROM source_files"
        ) == (500000 - 250 * 20 + 250 + 200, 500000 - 250 * 20 + 250 + 200)
        assert catalog.fetchall(
            "SELECT path, sha256 FROM source_files WHERE origin = 'pkg_100'"
        ) == [("mix.exs", "e")]
        assert _versions_agree(catalog)


def _versions_agree(catalog: Catalog) -> bool:
    """source_versions holds exactly one row per version in source_files, with its count."""
    counted = catalog.fetchall(
        "SELECT source, origin, origin_version, count(*) FROM source_files GROUP BY ALL"
        " ORDER BY ALL"
    )
    return catalog.fetchall("SELECT * FROM source_versions ORDER BY ALL") == counted


def _files(origin: str, version: str, *paths: str) -> list[tuple[str, str, str, str, int, None]]:
    return [(origin, version, p, f"{len(p):064x}", 1, None) for p in paths]


def test_replace_source_files_replaces_whole_versions_and_counts_them(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "c.duckdb") as catalog:
        with catalog.transaction() as con:
            files = _files("a", "1", "x.ex", "y.ex") + _files("b", "1", "z.ex")
            replace_source_files(con, "hex", [("a", "1"), ("b", "1")], files)
            replace_source_files(con, "github", [("a", "1")], _files("a", "1", "x.ex"))
        with catalog.transaction() as con:  # a re-fetch: one file fewer, one renamed
            replace_source_files(con, "hex", [("a", "1")], _files("a", "1", "w.ex"))
            replace_source_files(con, "hex", [("b", "1")], [])  # now without files
        assert catalog.fetchall("SELECT source, origin, path FROM source_files ORDER BY ALL") == [
            ("github", "a", "x.ex"),
            ("hex", "a", "w.ex"),
        ]
        assert catalog.fetchall("SELECT * FROM source_versions ORDER BY ALL") == [
            ("github", "a", "1", 1),
            ("hex", "a", "1", 1),
        ]
        with pytest.raises(ValueError, match="not being replaced"), catalog.transaction() as con:
            replace_source_files(con, "hex", [("a", "1")], _files("c", "1", "q.ex"))
        assert _versions_agree(catalog)  # the failed call changed nothing


def test_a_writer_rebuilds_source_versions_when_it_disagrees(tmp_path: Path) -> None:
    """Catalogs from before source_versions, or rows inserted by hand, are counted on open."""
    path = tmp_path / "c.duckdb"
    with open_catalog(path) as catalog:
        catalog.execute(
            "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes)"
            " SELECT 'hex', 'p' || (i % 7), '1.0.0', 'f' || i, 'x', 1 FROM range(50) t(i)"
        )
        assert catalog.fetchone("SELECT count(*) FROM source_versions") == (0,)
    with open_crawl_catalog(path) as catalog:
        assert _versions_agree(catalog)
        assert catalog.fetchone("SELECT sum(files) FROM source_versions") == (50,)
        with catalog.transaction() as con:  # so the next replace finds what to delete
            replace_source_files(con, "hex", [("p1", "1.0.0")], _files("p1", "1.0.0", "n.ex"))
        assert catalog.fetchall("SELECT path FROM source_files WHERE origin = 'p1'") == [("n.ex",)]
        assert _versions_agree(catalog)


def test_crawl_writers_append_small_row_groups(tmp_path: Path) -> None:
    """A checkpoint rewrites the last row group; DuckDB's default of 122,880 rows made that cost
    a crawl tens of MB once source_files was that big."""
    with open_crawl_catalog(tmp_path / "c.duckdb") as catalog:
        rows = 3 * CRAWL_ROW_GROUP_SIZE
        catalog.execute(
            "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes)"
            f" SELECT 'hex', 'p', '1', 'f' || i, 'x', 1 FROM range({rows}) t(i)"
        )
        catalog.execute("CHECKPOINT")
        groups = catalog.fetchone(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('source_files')"
        )
        assert groups == (3,)
        assert catalog.fetchone("SELECT current_database()") == ("catalog",)


def _cached_table_mb(catalog: Catalog) -> float:
    row = catalog.fetchone(
        "SELECT coalesce(sum(memory_usage_bytes), 0) / 2**20 FROM duckdb_memory()"
        " WHERE tag = 'BASE_TABLE'"
    )
    return float(row[0]) if row else 0.0


def test_cached_table_blocks_are_handed_back_between_commits(tmp_path: Path) -> None:
    with open_crawl_catalog(tmp_path / "c.duckdb") as catalog:
        limit = catalog.fetchone("SELECT current_setting('memory_limit')")
        catalog.execute(
            "INSERT INTO source_files SELECT 'hex', 'pkg_' || (i // 20), '1.0.0',"
            " 'lib/f' || (i % 20) || '.ex', sha256(i::VARCHAR), i, 'MIT', now()::TIMESTAMP"
            " FROM range(300000) t(i)"
        )
        catalog.execute("CHECKPOINT")
        assert catalog.fetchone("SELECT count(DISTINCT sha256) FROM source_files") == (300000,)
        before = _cached_table_mb(catalog)
        catalog.release_cached_blocks()
        after = _cached_table_mb(catalog)
        assert before > 8 and after < 1, (before, after)
        assert catalog.fetchone("SELECT current_setting('memory_limit')") == limit
        assert catalog.fetchone("SELECT sum(bytes) FROM source_files") == (sum(range(300000)),)


class _RecordingConnection:
    """A real DuckDB connection that remembers the statements run through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, params)


def test_new_versions_do_not_touch_existing_source_files(tmp_path: Path) -> None:
    """Deleting a batch's old files scans source_files; a batch of versions never recorded
    (a first crawl, every commit) must not pay for that."""
    with open_catalog(tmp_path / "c.duckdb") as catalog:
        with catalog.transaction() as con:
            replace_source_files(con, "hex", [("a", "1")], _files("a", "1", "x.ex"))
        with catalog.transaction() as con:
            new = _RecordingConnection(con)
            replace_source_files(new, "hex", [("b", "1")], _files("b", "1", "y.ex"))  # type: ignore[arg-type]
            again = _RecordingConnection(con)
            replace_source_files(again, "hex", [("a", "1")], _files("a", "1", "z.ex"))  # type: ignore[arg-type]
        assert not [s for s in new.statements if "DELETE FROM source_files" in s]
        assert len([s for s in again.statements if "DELETE FROM source_files" in s]) == 1
        assert catalog.fetchall("SELECT origin, path FROM source_files ORDER BY ALL") == [
            ("a", "z.ex"),
            ("b", "y.ex"),
        ]
        assert _versions_agree(catalog)


def test_a_file_that_is_not_a_catalog_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"my notes, not a database\n" * 100)
    for _ in range(2):  # the failed open released its lock: the second try says the same
        with pytest.raises(CatalogError, match=f"cannot open catalog {path}"):
            open_crawl_catalog(path)
    assert path.read_bytes() == b"my notes, not a database\n" * 100
    with pytest.raises(CatalogError, match="does not exist"):
        open_catalog(tmp_path / "missing.duckdb", write=False)


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    with (
        open_crawl_catalog(path),
        pytest.raises(CatalogBusy, match=f"in use by pid {os.getpid()}"),
    ):
        open_catalog(path)
    with open_crawl_catalog(path) as catalog:  # released when the first closed
        assert catalog.writable
