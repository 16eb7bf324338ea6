"""Final Parquet shards: kept rows of each config and split, sorted by id, fixed writer settings.

Byte-identical output for identical input is the point: rows are ordered by their stable id,
shards have a fixed row count, and the Parquet writer settings are constants (pyarrow writes no
timestamps into file metadata). DuckDB does the join and the sort so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transform.snapshot.collect import PROVENANCE_FIELDS

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SCHEMAS = {
    "instruct": pa.schema(
        [
            ("id", pa.string()),
            ("task", pa.string()),
            ("messages", pa.list_(MESSAGE)),
            ("prompt", pa.string()),
            ("completion", pa.string()),
            *PROVENANCE_FIELDS,
        ]
    ),
    "corpus": pa.schema([("id", pa.string()), ("text", pa.string()), *PROVENANCE_FIELDS]),
}
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 10_000,
    "use_dictionary": True,
    "write_statistics": True,
}
SPLITS = ("train", "validation")


@dataclass(frozen=True)
class Shard:
    path: str  # relative to the snapshot directory
    sha256: str
    rows: int


def sql_literal(text: str) -> str:
    """A SQL string literal (paths may contain quotes)."""
    return "'" + text.replace("'", "''") + "'"


def open_work_db(work_dir: Path, threads: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills big sorts to the work directory."""
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    con.execute("SET memory_limit = '1GB'")
    con.execute(f"SET temp_directory = {sql_literal(str(work_dir / 'duckdb'))}")
    con.execute("SET preserve_insertion_order = true")
    return con


def kept_rows_sql(config: str, glob: str) -> str:
    """Spilled rows whose unit survived near-dedup, with their origin's split."""
    columns = [f.name for f in SCHEMAS[config] if f.name != "messages"]
    return (
        f"SELECT {', '.join('s.' + c for c in columns)}, p.split"
        f" FROM read_parquet({sql_literal(glob)}) s"
        f" SEMI JOIN kept_{config} k ON s.unit = k.unit"
        " JOIN splits p ON s.source = p.source AND s.origin = p.origin"
    )


def with_messages(batch: pa.RecordBatch) -> pa.Table:
    """Add the chat `messages` column (user prompt, assistant completion), vectorised."""
    n = batch.num_rows
    contents = pa.concat_arrays([batch.column("prompt"), batch.column("completion")])
    order = np.stack([np.arange(n), np.arange(n) + n], axis=1).ravel()
    roles = pa.array(["user", "assistant"] * n, pa.string())
    values = pa.StructArray.from_arrays(
        [roles, pc.take(contents, pa.array(order))], fields=list(MESSAGE)
    )
    messages = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), values, type=pa.list_(MESSAGE)
    )
    table = pa.Table.from_batches([batch])
    return table.add_column(2, "messages", messages)


def _batches(con: duckdb.DuckDBPyConnection, sql: str, size: int) -> Iterator[pa.RecordBatch]:
    reader = con.sql(sql).to_arrow_reader(size)
    yield from reader


def write_split(
    con: duckdb.DuckDBPyConnection,
    config: str,
    split: str,
    glob: str,
    out_dir: Path,
    rows_per_shard: int,
) -> list[Shard]:
    """Write one config/split as `<config>/<split>-NNNNN-of-MMMMM.parquet` shards."""
    base = f"SELECT * EXCLUDE (split) FROM ({kept_rows_sql(config, glob)}) WHERE split = '{split}'"
    total = con.execute(f"SELECT count(*) FROM ({base})").fetchall()[0][0]
    count = max(1, math.ceil(total / rows_per_shard))
    shards, pending, pending_rows = [], [], 0
    schema = SCHEMAS[config]
    (out_dir / config).mkdir(parents=True, exist_ok=True)
    for batch in _batches(con, f"{base} ORDER BY id", 8192):
        table = with_messages(batch) if config == "instruct" else pa.Table.from_batches([batch])
        pending.append(table.cast(schema))
        pending_rows += table.num_rows
        while pending_rows >= rows_per_shard and len(shards) < count - 1:
            merged = pa.concat_tables(pending)
            shards.append(
                _write(merged.slice(0, rows_per_shard), out_dir, config, split, len(shards), count)
            )
            rest = merged.slice(rows_per_shard)
            pending, pending_rows = [rest], rest.num_rows
    merged = pa.concat_tables(pending) if pending else schema.empty_table()
    shards.append(_write(merged, out_dir, config, split, len(shards), count))
    return shards


def _write(
    table: pa.Table, out_dir: Path, config: str, split: str, index: int, count: int
) -> Shard:
    relative = f"{config}/{split}-{index:05d}-of-{count:05d}.parquet"
    path = out_dir / relative
    pq.write_table(table.combine_chunks(), path, **PARQUET_OPTIONS)
    return Shard(relative, sha256_file(path), table.num_rows)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def task_counts(con: duckdb.DuckDBPyConnection, glob: str) -> dict[str, dict[str, int]]:
    """Rows per split and task of the instruct config."""
    rows = con.execute(
        f"SELECT split, task, count(*) FROM ({kept_rows_sql('instruct', glob)})"
        " GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    out: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for split, task, n in rows:
        out[split][task] = int(n)
    return out
