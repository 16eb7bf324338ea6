"""The offline demo: a local Hex-like server with the bundled fixture packages, then the pipeline.

harvest -> snapshot -> QLoRA on a tiny random-weight Mistral (the real 4-bit bitsandbytes, peft
and TRL path, on CPU) -> MultiPL-E style evaluation. Everything lands in ./demo-out
(git-ignored); it takes about a minute.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.hex_server import HexServer, demo_packages  # noqa: E402


def step(title: str, args: list[str]) -> None:
    print(f"\n==> {title}\n    $ python {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, *args], cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"demo step failed: {title} (exit {result.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "demo-out", help="output directory")
    run_demo(parser.parse_args().out.resolve())


def run_demo(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    catalog, data = out / "catalog.duckdb", out / "data"  # where harvest_flags points
    with HexServer(demo_packages()) as server:
        print(f"demo Hex repository at {server.url} ({len(server.repo.packages)} packages)")
        common = server.harvest_flags(out)
        step("harvest every package from the demo repository", ["-m", "harvest", "hex", *common])
        step(
            "run it again: only conditional requests, nothing re-downloaded",
            ["-m", "harvest", "hex", *common],
        )
    catalog_args = ["--catalog", str(catalog)]
    step(
        "build a snapshot: extract, pair, filter, dedup, decontaminate, split",
        [
            "-m",
            "transform",
            "build",
            "--version",
            "demo",
            *catalog_args,
            "--data-dir",
            str(data),
            "--output-dir",
            str(out / "datasets"),
        ],
    )
    step("check it against its manifest", ["-m", "transform", "verify", "demo", *catalog_args])
    step(
        "a tiny random-weight Mistral and tokenizer stand in for Devstral (no download)",
        ["-m", "bench.train_throughput", "--build-tiny", str(out / "tiny-mistral")],
    )
    step(
        "QLoRA: 4-bit NF4 base, LoRA on all linear layers, loss on answers only",
        [
            "-m",
            "train",
            "qlora",
            "--config",
            "configs/qlora-tiny-cpu.yaml",
            "--base-model",
            str(out / "tiny-mistral"),
            *catalog_args,
            "--output-dir",
            str(out / "runs"),
            "--dataset",
            "demo",
            "--max-steps",
            "10",
            "--run-id",
            "demo",
        ],
    )
    step(
        "evaluate: generate, run ExUnit under a timeout without network, report pass@1",
        [
            "-m",
            "train",
            "eval",
            "demo",
            "--benchmark",
            "tests/train/data/humaneval-elixir-mini.jsonl",
            "--output-dir",
            str(out / "runs"),
            "--max-new-tokens",
            "16",
        ],
    )
    import duckdb

    with duckdb.connect(str(catalog), read_only=True) as con:
        print("\n==> the catalog, queried with SQL")
        for sql in (
            "SELECT package, version, status, licenses, files_kept FROM hex_releases ORDER BY 1",
            "SELECT version, rows_instruct_train, rows_instruct_validation, rows_corpus_train,"
            " rows_corpus_validation FROM snapshots",
            "SELECT run_id, snapshot_version, status, round(eval_loss, 3) FROM training_runs",
        ):
            print(f"    {sql}")
            for row in con.execute(sql).fetchall():
                print("     ", row)
    print(f"\ndemo output: {out}")


if __name__ == "__main__":
    main()
