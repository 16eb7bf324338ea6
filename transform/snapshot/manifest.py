"""manifest.json: what a snapshot holds (shards, hashes, counts), how it was made and from what."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from transform.snapshot.errors import SnapshotError

MANIFEST = "manifest.json"
LIBRARIES = (
    "elixir-harvest",
    "duckdb",
    "pyarrow",
    "numpy",
    "xxhash",
    "pydantic",
    "tree-sitter",
    "tree-sitter-elixir",
)


def pipeline_commit() -> str:
    """The git commit of the code that built the snapshot ("unknown" outside a checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline_commit": pipeline_commit()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def encode(manifest: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(directory: Path) -> tuple[dict[str, Any], str]:
    """The manifest of the snapshot in `directory` and the SHA-256 of its bytes."""
    path = Path(directory) / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"{path} is missing; the snapshot directory is damaged") from None
    try:
        return json.loads(data), sha256_bytes(data)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path} is not valid JSON ({exc.msg})") from None


def shard_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every shard entry of the manifest, instruct first, train before validation."""
    return [
        shard
        for config in ("instruct", "corpus")
        for split in ("train", "validation")
        for shard in manifest["configs"][config][split]
    ]


def rows_of(manifest: dict[str, Any], config: str, split: str) -> int:
    return sum(int(s["rows"]) for s in manifest["configs"][config][split])
