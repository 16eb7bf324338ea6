"""`python -m train merge`: write a run's adapter merged onto the dequantized base model."""

from __future__ import annotations

import argparse
from pathlib import Path

from harvest.progress import print_summary
from train.runs import find_run

HELP = "merge a run's LoRA adapter into the dequantized base and save safetensors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run id or run directory (`latest` for the newest)")
    parser.add_argument("--output-dir", type=Path, default=Path("runs"), help="where runs live")
    parser.add_argument("--out", type=Path, help="target directory (default: RUN/merged)")


def run(args: argparse.Namespace) -> int:
    from train.merge import merge_run

    paths = find_run(args.run, args.output_dir)
    target = merge_run(paths, args.out)
    size = sum(p.stat().st_size for p in target.glob("*.safetensors"))
    print_summary(f"merged {paths.root.name}", {"directory": str(target), "weights bytes": size})
    return 0
