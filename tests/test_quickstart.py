"""The README's first command runs this demo: harvest -> snapshot -> QLoRA -> eval, offline."""

import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def test_offline_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(out / "catalog.duckdb"), read_only=True) as con:
        fetched = con.execute(
            "SELECT count(*) FROM hex_releases WHERE status = 'fetched'"
        ).fetchone()
        snapshot = con.execute(
            "SELECT rows_instruct_train FROM snapshots WHERE version = 'demo'"
        ).fetchone()
        run = con.execute(
            "SELECT status, eval_loss FROM training_runs WHERE run_id = 'demo'"
        ).fetchone()
    assert fetched == (4,)
    assert snapshot is not None and snapshot[0] > 0
    assert run is not None and run[0] == "finished" and run[1] > 0
    assert (out / "runs" / "demo" / "adapter" / "adapter_model.safetensors").is_file()
    assert "pass@1" in result.stdout + result.stderr
