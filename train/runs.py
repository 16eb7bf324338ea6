"""Run directories (runs/<run-id>/) and their `training_runs` rows in the catalog."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harvest.atomic import atomic_write_bytes
from harvest.catalog import Catalog
from train.errors import TrainError

RUN_JSON = "run.json"


@dataclass(frozen=True)
class RunPaths:
    """Where one run keeps its files."""

    root: Path

    @property
    def run_json(self) -> Path:
        return self.root / RUN_JSON

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def merged(self) -> Path:
        return self.root / "merged"

    def latest_checkpoint(self) -> Path | None:
        found = [p for p in self.checkpoints.glob("checkpoint-*") if p.name[11:].isdigit()]
        return max(found, key=lambda p: int(p.name[11:]), default=None)


@dataclass
class RunInfo:
    """What a run was started from; saved as run.json and as the catalog row's identity."""

    run_id: str
    snapshot_version: str
    snapshot_manifest_sha256: str
    snapshot_path: str
    base_model: str
    stage: str
    init_adapter: str | None
    config: dict[str, Any]
    started_at: str = field(default_factory=lambda: utc_now().isoformat())


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id(stage: str, snapshot_version: str, now: datetime | None = None) -> str:
    stamp = (now or utc_now()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{stage}-{snapshot_version}"


def check_run_id(run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", run_id):
        raise TrainError(f"run id {run_id!r} may hold only letters, digits, '.', '_' and '-'")
    return run_id


def find_run(ref: str, output_dir: Path) -> RunPaths:
    """A run by directory or by id under `output_dir`; `latest` is the newest started run."""
    if ref == "latest":
        runs = sorted(output_dir.glob(f"*/{RUN_JSON}"), key=lambda p: read_run(p.parent).started_at)
        if not runs:
            raise TrainError(f"no runs in {output_dir}")
        return RunPaths(runs[-1].parent)
    for candidate in (Path(ref), output_dir / ref):
        if (candidate / RUN_JSON).is_file():
            return RunPaths(candidate)
    raise TrainError(f"run {ref!r} not found (looked for {ref}/{RUN_JSON} and in {output_dir})")


def read_run(root: Path) -> RunInfo:
    return RunInfo(**json.loads((root / RUN_JSON).read_text(encoding="utf-8")))


def write_run(paths: RunPaths, info: RunInfo) -> None:
    atomic_write_bytes(paths.run_json, json.dumps(asdict(info), indent=2).encode())


def record_start(catalog: Catalog, info: RunInfo) -> None:
    """Insert the run as `running` (a resumed run keeps its first start time)."""
    with catalog.transaction() as con:
        con.execute(
            """INSERT INTO training_runs (run_id, snapshot_version, snapshot_manifest_sha256,
                   base_model, config_json, status, started_at, stage, init_adapter)
               VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)
               ON CONFLICT (run_id) DO UPDATE SET status = 'running', error = NULL,
                   finished_at = NULL""",
            [
                info.run_id,
                info.snapshot_version,
                info.snapshot_manifest_sha256,
                info.base_model,
                json.dumps(info.config),
                info.started_at,
                info.stage,
                info.init_adapter,
            ],
        )


# The `training_runs` columns a finished run fills in.
RESULT_COLUMNS = (
    "train_loss",
    "eval_loss",
    "eval_perplexity",
    "adapter_path",
    "adapter_sha256",
    "global_step",
)


def record_end(catalog: Catalog, run_id: str, status: str, values: dict[str, Any]) -> None:
    """Set the final status and the result columns named in `values`."""
    allowed = {*RESULT_COLUMNS, "error"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown training_runs columns: {sorted(unknown)}")
    sets = "".join(f", {name} = ?" for name in values)
    with catalog.transaction() as con:
        con.execute(
            f"UPDATE training_runs SET status = ?, finished_at = ?{sets} WHERE run_id = ?",
            [status, utc_now(), *values.values(), run_id],
        )
