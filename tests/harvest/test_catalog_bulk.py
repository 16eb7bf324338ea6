"""Bulk statements over list parameters, and the crawlers' memory-relevant imports."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from harvest.catalog import (
    Catalog,
    execute_over,
    open_catalog,
    open_crawl_catalog,
    source_file_columns,
)

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
