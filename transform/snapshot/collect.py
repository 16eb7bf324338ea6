"""The ordered half of the build: exact dedup of the units the workers return, spilled to Parquet.

Units arrive in preference order, so the first copy of any code wins. Kept rows go to Parquet
parts in a work directory (memory stays bounded); only each unit's LSH band keys (a few hundred
bytes) stay in memory for near-dedup.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from transform.snapshot.worker import FileOutput, Unit
from transform.steps.base import Row

PROVENANCE_FIELDS = [
    ("source", pa.string()),
    ("origin", pa.string()),
    ("origin_version", pa.string()),
    ("path", pa.string()),
    ("start_line", pa.int64()),
    ("end_line", pa.int64()),
    ("license", pa.string()),
]
SPILL_SCHEMAS = {
    "instruct": pa.schema(
        [
            ("unit", pa.int64()),
            ("id", pa.string()),
            ("task", pa.string()),
            ("prompt", pa.string()),
            ("completion", pa.string()),
            *PROVENANCE_FIELDS,
        ]
    ),
    "corpus": pa.schema(
        [("unit", pa.int64()), ("id", pa.string()), ("text", pa.string()), *PROVENANCE_FIELDS]
    ),
}


class SpillWriter:
    """Appends rows to numbered Parquet parts under `directory/<config>-NNNNN.parquet`."""

    def __init__(self, directory: Path, config: str, flush_rows: int = 20_000) -> None:
        self.directory = directory
        self.config = config
        self.schema = SPILL_SCHEMAS[config]
        self.flush_rows = flush_rows
        self.buffer: list[Row] = []
        self.parts = 0

    def add(self, row: Row) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.flush_rows:
            self.flush()

    def flush(self, *, final: bool = False) -> None:
        """Write buffered rows as the next part (at the end, an empty part if there were none)."""
        if not self.buffer and not (final and self.parts == 0):
            return
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        pq.write_table(table, self.directory / f"{self.config}-{self.parts:05d}.parquet")
        self.parts += 1
        self.buffer = []

    @property
    def glob(self) -> str:
        return str(self.directory / f"{self.config}-*.parquet")


class UnitPool:
    """Exact dedup of units by key, numbering the survivors in arrival (= preference) order."""

    def __init__(self, writer: SpillWriter) -> None:
        self.writer = writer
        self.seen: set[bytes] = set()
        self.bands = np.zeros((0, 0), np.uint64)  # grown by doubling: one row per kept unit
        self.has_tokens = np.zeros(0, bool)
        self.size = 0
        self.counts: Counter[str] = Counter()

    def add(self, unit: Unit) -> None:
        key = bytes.fromhex(unit.key)
        tasks = Counter(row.get("task", self.writer.config) for row in unit.rows)
        if key in self.seen:
            for task, n in tasks.items():
                self.counts[f"{task}:dropped_duplicate"] += n
            return
        self.seen.add(key)
        number = self._append(unit)
        for task, n in tasks.items():
            self.counts[f"{task}:kept"] += n
        for row in unit.rows:
            self.writer.add({**row, "unit": number})

    def _append(self, unit: Unit) -> int:
        """Store the unit's band keys (a few hundred bytes) and return its number."""
        if self.size == len(self.bands):
            grown = np.zeros((max(1024, 2 * self.size), len(unit.bands)), np.uint64)
            if self.size:
                grown[: self.size] = self.bands[: self.size]
            self.bands = grown
            self.has_tokens = np.resize(self.has_tokens, len(grown))
        self.bands[self.size] = unit.bands
        self.has_tokens[self.size] = unit.has_tokens
        self.size += 1
        return self.size - 1

    def band_matrix(self, bands: int) -> tuple[np.ndarray, np.ndarray]:
        if self.size == 0:
            return np.zeros((0, bands), np.uint64), np.zeros(0, bool)
        return self.bands[: self.size], self.has_tokens[: self.size]


class Collector:
    """Receives worker outputs in order; merges counts, dedups and spills rows."""

    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self.writers = {c: SpillWriter(work_dir, c) for c in SPILL_SCHEMAS}
        self.pools = {c: UnitPool(w) for c, w in self.writers.items()}
        self.counts: dict[str, Counter[str]] = {}

    def add(self, output: FileOutput) -> None:
        for step, counter in output.counts.items():
            self.counts.setdefault(step, Counter()).update(counter)
        if output.corpus is not None:
            self.pools["corpus"].add(output.corpus)
        for unit in output.units:
            self.pools["instruct"].add(unit)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.flush(final=True)
