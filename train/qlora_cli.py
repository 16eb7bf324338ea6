"""`python -m train qlora`: fine-tune the base model with QLoRA on a dataset snapshot."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from harvest.progress import print_summary
from harvest.settings import add_model_flags, load_settings, overrides_from_args
from train.config import QLoRAConfig

HELP = "fine-tune the base model with QLoRA (4-bit NF4 + LoRA) on a dataset snapshot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML config (flags override its keys)")
    parser.add_argument("--run-id", help="name of the run directory (default: time-stage-version)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="RUN",
        help="continue RUN (default: --run-id, else the newest run) from its last checkpoint",
    )
    add_model_flags(parser, QLoRAConfig)


def load_config(args: argparse.Namespace) -> QLoRAConfig:
    """Defaults < YAML < flags, validated before anything heavy is imported."""
    return load_settings(QLoRAConfig, args.config, overrides_from_args(args, QLoRAConfig))


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    resume = args.resume
    if resume == "latest" and args.run_id:
        resume = args.run_id
    from train.qlora import process_state, run_qlora

    result = run_qlora(cfg, run_id=args.run_id, resume=resume)
    if process_state().is_main_process:
        print_summary(f"QLoRA run {result.run_id}", asdict(result))
    return 0
