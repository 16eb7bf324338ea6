"""Find a dataset snapshot through the catalog and check its shards against the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harvest.catalog import Catalog
from harvest.store import sha256_file
from train.errors import TrainError

SPLITS = ("train", "validation")


@dataclass(frozen=True)
class Snapshot:
    """One immutable snapshot: its version, manifest digest and directory."""

    version: str
    manifest_sha256: str
    path: Path

    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))


def resolve_snapshot(catalog: Catalog, version: str | None) -> Snapshot:
    """The snapshot named `version`, or the newest one; a clear error when there is none."""
    rows = catalog.fetchall(
        "SELECT version, manifest_sha256, path FROM snapshots"
        " ORDER BY created_at DESC, version DESC"
    )
    if not rows:
        raise TrainError(
            f"catalog {catalog.path} has no snapshots; build one with `python -m transform build`"
        )
    chosen = rows[0] if version is None else next((r for r in rows if r[0] == version), None)
    if chosen is None:
        known = ", ".join(r[0] for r in rows[:10])
        raise TrainError(f"snapshot {version!r} is not in catalog {catalog.path} (known: {known})")
    snapshot = Snapshot(version=chosen[0], manifest_sha256=chosen[1], path=Path(chosen[2]))
    check_manifest(snapshot)
    return snapshot


def check_manifest(snapshot: Snapshot) -> None:
    """The manifest on disk must be the one the catalog registered."""
    manifest_path = snapshot.path / "manifest.json"
    if not manifest_path.is_file():
        raise TrainError(f"snapshot {snapshot.version}: {manifest_path} is missing")
    actual = sha256_file(manifest_path)
    if actual != snapshot.manifest_sha256:
        raise TrainError(
            f"snapshot {snapshot.version}: manifest.json has sha256 {actual[:12]}…, the catalog "
            f"registered {snapshot.manifest_sha256[:12]}…; the snapshot was modified"
        )


def shard_paths(snapshot: Snapshot, config: str, split: str) -> list[Path]:
    """The verified Parquet shards of one config (`instruct`/`corpus`) and split."""
    try:
        entries = snapshot.manifest()["configs"][config][split]
    except KeyError:
        raise TrainError(f"snapshot {snapshot.version} has no {config}/{split} split") from None
    paths = []
    for entry in entries:
        path = snapshot.path / entry["path"]
        if not path.is_file():
            raise TrainError(f"snapshot {snapshot.version}: shard {path} is missing")
        if sha256_file(path) != entry["sha256"]:
            raise TrainError(f"snapshot {snapshot.version}: shard {path} does not match its sha256")
        paths.append(path)
    return paths
