"""`python -m train eval`: MultiPL-E style pass@1 on an Elixir benchmark, with ExUnit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harvest.atomic import atomic_write_bytes
from harvest.progress import print_summary
from train.config import QLoRAConfig
from train.errors import TrainError
from train.evaluate import read_benchmark, read_completions, score
from train.runs import find_run, read_run

HELP = "score a run (or given completions) on a MultiPL-E style Elixir benchmark (pass@1)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", nargs="?", help="run id or directory (not needed with --completions)"
    )
    parser.add_argument(
        "--benchmark",
        type=Path,
        required=True,
        help="JSONL of problems: name, prompt, tests[, stop_tokens]",
    )
    parser.add_argument(
        "--completions",
        type=Path,
        help="score these completions (JSONL: name, completion) without a model",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("runs"), help="where runs live")
    parser.add_argument("--out", type=Path, help="write per-program results here (JSONL)")
    parser.add_argument("--samples", type=int, default=1, help="completions per problem")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    parser.add_argument("--max-new-tokens", type=int, default=512, help="tokens per completion")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per program")
    parser.add_argument("--workers", type=int, default=2, help="programs run in parallel")


def model_completions(args: argparse.Namespace, problems: list) -> tuple[list[dict], Path]:
    """Generate with the run's base model + adapter; returns rows and the run's eval dir."""
    from train.generate import generate_completions
    from train.model import load_for_inference, load_tokenizer

    if not args.run:
        raise TrainError("name a RUN to generate completions, or pass --completions FILE")
    paths = find_run(args.run, args.output_dir)
    cfg = QLoRAConfig.model_validate(read_run(paths.root).config)
    tokenizer = load_tokenizer(str(paths.adapter))
    model = load_for_inference(cfg, paths.adapter)
    rows = generate_completions(
        model,
        tokenizer,
        problems,
        samples=args.samples,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
    )
    return rows, paths.root / "eval"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def run(args: argparse.Namespace) -> int:
    problems = read_benchmark(args.benchmark)
    out_dir = None
    if args.completions:
        completions = read_completions(args.completions)
    else:
        rows, out_dir = model_completions(args, problems)
        write_jsonl(out_dir / f"{args.benchmark.stem}.completions.jsonl", rows)
        completions = read_completions(out_dir / f"{args.benchmark.stem}.completions.jsonl")
    summary, outcomes = score(problems, completions, args.workers, args.timeout)
    results = [{"name": o.name, "status": o.status, "exit_code": o.exit_code} for o in outcomes]
    out = args.out or (out_dir / f"{args.benchmark.stem}.results.jsonl" if out_dir else None)
    if out:
        write_jsonl(out, results)
        atomic_write_bytes(out.with_suffix(".summary.json"), json.dumps(summary).encode())
    print_summary(
        f"eval {args.benchmark.name}",
        {
            "problems": summary["problems"],
            "programs": summary["programs"],
            "pass@1": f"{summary['pass@1']:.3f}",
            **summary["statuses"],
            "network isolated": summary["network_isolated"],
        },
    )
    return 0
