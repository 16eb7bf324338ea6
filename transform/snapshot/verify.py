"""Snapshot verification: manifest hash against the catalog, every shard against the manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from transform.snapshot.manifest import read_manifest, shard_entries
from transform.snapshot.writer import sha256_file


def verify_snapshot(directory: Path, manifest_sha256: str) -> tuple[list[str], int]:
    """Problems found (empty when intact) and the number of shards checked."""
    manifest, digest = read_manifest(directory)
    problems = []
    if digest != manifest_sha256:
        problems.append(
            f"manifest.json: sha256 {digest} but the catalog recorded {manifest_sha256}"
        )
    shards = shard_entries(manifest)
    for shard in shards:
        problems += shard_problems(directory, shard)
    return problems, len(shards)


def shard_problems(directory: Path, shard: dict) -> list[str]:
    path = directory / shard["path"]
    if not path.is_file():
        return [f"{shard['path']}: missing"]
    actual = sha256_file(path)
    if actual != shard["sha256"]:
        return [f"{shard['path']}: sha256 {actual}, manifest says {shard['sha256']}"]
    try:
        rows = pq.read_metadata(path).num_rows
    except Exception as exc:  # pyarrow raises several types for damaged files
        return [f"{shard['path']}: unreadable Parquet ({exc})"]
    if rows != shard["rows"]:
        return [f"{shard['path']}: {rows} rows, manifest says {shard['rows']}"]
    return []
