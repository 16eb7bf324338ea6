"""Merge a run's adapter into its dequantized base and write a plain safetensors model.

The adapter learned against the NF4-rounded weights, so merging onto the dequantized base
reproduces the trained model exactly; merging onto the original bf16 weights would not
(spec section 6). The result is written to a temp directory and renamed into place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from train.config import QLoRAConfig
from train.errors import TrainError
from train.model import ADAPTER_WEIGHTS, load_tokenizer, merge_on_dequantized
from train.runs import RunPaths, read_run


def replace_dir(tmp: Path, target: Path) -> None:
    """Swap a finished temp directory into place (the old one is removed last)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def merge_run(paths: RunPaths, target: Path | None = None) -> Path:
    """Write the merged model (weights, config, tokenizer) for the run; returns its directory."""
    if not (paths.adapter / ADAPTER_WEIGHTS).is_file():
        raise TrainError(f"run {paths.root.name} has no finished adapter in {paths.adapter}")
    cfg = QLoRAConfig.model_validate(read_run(paths.root).config)
    target = target or paths.merged
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged = merge_on_dequantized(cfg, paths.adapter)
    merged.save_pretrained(tmp)
    load_tokenizer(str(paths.adapter)).save_pretrained(tmp)
    replace_dir(tmp, target)
    return target
