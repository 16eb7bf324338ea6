"""`accelerate launch` with two CPU processes (gloo): data-parallel QLoRA completes."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harvest.catalog import open_catalog
from tests.train.conftest import REPO
from train.metrics import read_metrics


def test_accelerate_launch_two_processes(
    tiny_config: Path, workspace: Path, trained_run: Path
) -> None:
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate),
        "launch",
        "--config_file",
        str(REPO / "configs/accelerate/ddp.yaml"),
        "--num_processes",
        "2",
        "-m",
        "train",
        "qlora",
        "--config",
        str(tiny_config),
        "--run-id",
        "ddp",
        "--max-steps",
        "4",
        "--eval-steps",
        "2",
        "--save-steps",
        "2",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in read_metrics(workspace / "runs" / "ddp" / "metrics.jsonl") if "loss" in r]
    # Each rank reads half the packed rows: the one-process run of the same config needs
    # `single` steps per epoch, two ranks need half as many (rounded up: the sampler pads).
    first = next(r for r in read_metrics(trained_run / "metrics.jsonl") if "loss" in r)
    single = round(1 / first["epoch"])
    assert single >= 2 and len(rows) == 4
    assert rows[0]["epoch"] == pytest.approx(1 / math.ceil(single / 2))
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        status = catalog.fetchone("SELECT status FROM training_runs WHERE run_id = 'ddp'")
    assert status == ("finished",)
    assert (workspace / "runs" / "ddp" / "adapter" / "adapter_model.safetensors").is_file()
