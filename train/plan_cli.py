"""`python -m train plan`: estimated peak GPU memory and trainable parameters for a config."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harvest.progress import print_summary
from train.config import QLoRAConfig
from train.errors import TrainError
from train.plan import (
    GB,
    GIB,
    KNOWN_SHAPES,
    ModelShape,
    Settings,
    estimate,
    fits,
    shape_from_config,
)
from train.qlora_cli import add_arguments as add_qlora_arguments
from train.qlora_cli import load_config

HELP = "estimate peak GPU memory and trainable parameters for a QLoRA config (no download)"

CARDS_GB = (24, 40, 80)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_qlora_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")


def model_shape(base_model: str) -> ModelShape:
    """From a local config.json, else from the built-in table; never from the network."""
    config = Path(base_model).expanduser() / "config.json"
    if config.is_file():
        return shape_from_config(json.loads(config.read_text(encoding="utf-8")))
    if base_model in KNOWN_SHAPES:
        return KNOWN_SHAPES[base_model]
    known = ", ".join(KNOWN_SHAPES)
    raise TrainError(
        f"no shape known for {base_model!r}: pass a local model directory "
        f"(with config.json) or one of: {known}"
    )


def settings_for(cfg: QLoRAConfig) -> Settings:
    return Settings(
        lora_r=cfg.lora_r,
        targets=tuple(cfg.lora_target_modules) if cfg.lora_target_modules else None,
        load_in_4bit=cfg.load_in_4bit,
        double_quant=cfg.bnb_4bit_use_double_quant,
        sequence_len=cfg.sequence_len,
        micro_batch_size=cfg.micro_batch_size,
        gradient_checkpointing=cfg.gradient_checkpointing,
        optimizer=cfg.optimizer,
        compute_bytes=4 if cfg.bnb_4bit_compute_dtype == "float32" else 2,
    )


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    result = estimate(model_shape(cfg.base_model), settings_for(cfg))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    trainable, total = result["trainable_params"], result["total_params"]
    rows: dict[str, object] = {
        "base model": cfg.base_model,
        "trainable params": f"{trainable / 1e6:,.1f} M ({100 * trainable / total:.2f}% of "
        f"{total / 1e9:,.2f} B)",
    }
    for key in ("base_weights", "lora_state", "activations", "logits", "overhead", "total"):
        rows[key.replace("_", " ")] = f"{result[key] / GB:.2f} GB ({result[key] / GIB:.2f} GiB)"
    for card in CARDS_GB:
        rows[f"fits {card} GB card"] = "yes" if fits(result["total"], card) else "no"
    print_summary(
        f"QLoRA plan: r={cfg.lora_r}, seq {cfg.sequence_len}, micro-batch {cfg.micro_batch_size}",
        rows,
    )
    return 0
