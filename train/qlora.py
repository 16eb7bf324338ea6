"""One QLoRA run, top to bottom: set up the run, load data and model, fit, save, record.

A thin layer over TRL's SFTTrainer: we hand it pre-tokenized `input_ids`/`labels` (answer-only
labels, see train/data.py) and let it pack them best-fit-decreasing with per-example position
ids, so attention and loss never cross from one example into the next.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harvest.catalog import CatalogBusy, open_catalog
from harvest.store import sha256_file
from train.config import QLoRAConfig
from train.data import load_split
from train.errors import TrainError
from train.model import (
    ADAPTER_WEIGHTS,
    attach_lora,
    cast_adapter,
    check_model_source,
    load_base,
    load_tokenizer,
    trainable_parameters,
)
from train.runs import (
    RESULT_COLUMNS,
    RunInfo,
    RunPaths,
    check_run_id,
    find_run,
    new_run_id,
    read_run,
    record_end,
    record_start,
    write_run,
)
from train.snapshot import Snapshot, check_manifest, resolve_snapshot

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a finished run reports (also the end-of-run summary)."""

    run_id: str
    run_dir: str
    global_step: int
    train_loss: float | None
    eval_loss: float | None
    eval_perplexity: float | None
    adapter_path: str
    adapter_sha256: str
    trainable_params: int
    seconds: float

    def catalog_values(self) -> dict[str, Any]:
        """The `training_runs` result columns."""
        return {name: value for name, value in asdict(self).items() if name in RESULT_COLUMNS}


def run_qlora(cfg: QLoRAConfig, run_id: str | None = None, resume: str | None = None) -> RunResult:
    """Train one run; `resume` names a run (or `latest`) to continue from its last checkpoint."""
    state = process_state()
    info, paths = share_from_main(state, lambda: start_run(cfg, run_id, resume))
    cfg = QLoRAConfig.model_validate(info.config)
    try:
        result = fit(cfg, info, paths)
    except BaseException as exc:
        if state.is_main_process:
            finish_run(
                cfg.catalog, info.run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"}
            )
        raise
    if state.is_main_process:
        finish_run(cfg.catalog, info.run_id, "finished", result.catalog_values())
    return result


def process_state() -> Any:
    """This process's place in the launch (rank, world size); gloo across CPU processes.

    Without `cpu=True` on a machine with no GPU, accelerate would treat each process of
    `accelerate launch --num_processes 2` as a lone single-process run.
    """
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def share_from_main(state: Any, make: Any) -> Any:
    """Run `make()` on the main process only and hand its result to every process."""
    from accelerate.utils import broadcast_object_list

    box = [None]
    if state.is_main_process:
        try:
            box = [make()]
        except Exception as exc:  # the other ranks must not wait forever for a failed setup
            box = [exc]
    if state.num_processes > 1:
        broadcast_object_list(box, from_process=0)
    if isinstance(box[0], Exception):
        if state.is_main_process:
            raise box[0]
        raise TrainError(f"the main process failed to set up the run: {box[0]}")
    return box[0]


def start_run(cfg: QLoRAConfig, run_id: str | None, resume: str | None) -> tuple[RunInfo, RunPaths]:
    """Resolve the snapshot, create runs/<id>/ and insert the `running` catalog row."""
    if resume is not None:
        paths = find_run(resume, cfg.output_dir)
        info = read_run(paths.root)
    else:
        check_model_source(cfg.base_model)
        check_reporters(cfg.report_to)
        resolve_init_adapter(cfg.init_adapter, cfg.output_dir)
        with open_catalog(cfg.catalog, write=True) as catalog:
            snapshot = resolve_snapshot(catalog, cfg.dataset)
        run_id = check_run_id(run_id or new_run_id(cfg.stage, snapshot.version))
        paths = RunPaths(cfg.output_dir / run_id)
        if paths.run_json.exists():
            raise TrainError(f"run {run_id} exists in {paths.root}; use --resume {run_id}")
        info = RunInfo(
            run_id=run_id,
            snapshot_version=snapshot.version,
            snapshot_manifest_sha256=snapshot.manifest_sha256,
            snapshot_path=str(snapshot.path),
            base_model=cfg.base_model,
            stage=cfg.stage,
            init_adapter=cfg.init_adapter,
            config=cfg.model_dump(mode="json"),
        )
        paths.root.mkdir(parents=True, exist_ok=True)
        write_run(paths, info)
    with open_catalog(Path(info.config["catalog"]), write=True) as catalog:
        record_start(catalog, info)
    return info, paths


def check_reporters(report_to: list[str]) -> None:
    """Fail before loading anything when a requested tracker is not installed."""
    import importlib.util

    for name in report_to:
        if importlib.util.find_spec(name) is None:
            raise TrainError(f"report_to {name} needs the {name} package: pip install {name}")


def finish_run(
    catalog_path: Path, run_id: str, status: str, values: dict[str, Any], wait_s: float = 600.0
) -> None:
    """Write the final row, waiting for another writer (a crawl, a build) to let go."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with open_catalog(catalog_path, write=True) as catalog:
                record_end(catalog, run_id, status, values)
            return
        except CatalogBusy:
            if time.monotonic() > deadline:
                raise
            log.warning("catalog busy; retrying in 10 s to record run %s as %s", run_id, status)
            time.sleep(10)


def resolve_init_adapter(ref: str | None, output_dir: Path) -> Path | None:
    """`--init-adapter` names a run (its adapter/) or an adapter directory."""
    if ref is None:
        return None
    if (Path(ref) / ADAPTER_WEIGHTS).is_file():
        return Path(ref)
    return find_run(ref, output_dir).adapter


def load_data(cfg: QLoRAConfig, info: RunInfo, tokenizer: Any) -> tuple[Any, Any]:
    """Tokenized train and validation splits of the run's snapshot (checked again on resume)."""
    snapshot = Snapshot(
        info.snapshot_version, info.snapshot_manifest_sha256, Path(info.snapshot_path)
    )
    check_manifest(snapshot)
    cache = cfg.output_dir / ".cache"
    with process_state().main_process_first():
        train = load_split(
            snapshot, cfg.stage, "train", tokenizer, cfg.max_train_rows, cache, cfg.sequence_len
        )
        valid = load_split(
            snapshot, cfg.stage, "validation", tokenizer, cfg.max_eval_rows, cache, cfg.sequence_len
        )
    return train, valid


def final_eval_loss(trainer: Any, has_eval: bool) -> float | None:
    """The validation loss at the last step: reused if the schedule just evaluated there."""
    if not has_eval:
        return None
    last = [e for e in trainer.state.log_history if "eval_loss" in e]
    if last and last[-1].get("step") == trainer.state.global_step:
        return float(last[-1]["eval_loss"])
    return float(trainer.evaluate()["eval_loss"])


def fit(cfg: QLoRAConfig, info: RunInfo, paths: RunPaths) -> RunResult:
    """Load, train (from the last checkpoint if any), evaluate, save the adapter."""
    started = time.monotonic()
    tokenizer = load_tokenizer(cfg.tokenizer or cfg.base_model)
    train_ds, eval_ds = load_data(cfg, info, tokenizer)
    init = resolve_init_adapter(cfg.init_adapter, cfg.output_dir)
    model = attach_lora(load_base(cfg), cfg, init)
    trainable, _ = trainable_parameters(model)
    has_eval = len(eval_ds) > 0
    trainer = build_trainer(cfg, model, tokenizer, train_ds, eval_ds if has_eval else None, paths)
    checkpoint = paths.latest_checkpoint()
    if checkpoint is not None:
        log.info("resuming %s from %s", info.run_id, checkpoint.name)
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    eval_loss = final_eval_loss(trainer, has_eval)
    trainer.save_model(str(paths.adapter))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(paths.adapter))
    weights = paths.adapter / ADAPTER_WEIGHTS
    return RunResult(
        run_id=info.run_id,
        run_dir=str(paths.root),
        global_step=trainer.state.global_step,
        train_loss=output.training_loss,
        eval_loss=eval_loss,
        eval_perplexity=math.exp(min(eval_loss, 50.0)) if eval_loss is not None else None,
        adapter_path=str(paths.adapter),
        adapter_sha256=sha256_file(weights) if weights.is_file() else "",
        trainable_params=trainable,
        seconds=time.monotonic() - started,
    )


def sft_config(cfg: QLoRAConfig, paths: RunPaths, has_eval: bool) -> Any:
    """TRL/transformers arguments from our config (names map one to one where they exist)."""
    import torch
    from trl import SFTConfig

    on_gpu = torch.cuda.is_available()
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else cfg.warmup_ratio
    return SFTConfig(
        output_dir=str(paths.checkpoints),
        run_name=paths.root.name,
        per_device_train_batch_size=cfg.micro_batch_size,
        per_device_eval_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=cfg.num_epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=warmup,
        optim=cfg.optimizer,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        gradient_checkpointing=cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        bf16=on_gpu and cfg.bnb_4bit_compute_dtype == "bfloat16",
        fp16=on_gpu and cfg.bnb_4bit_compute_dtype == "float16",
        use_cpu=not on_gpu,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        report_to=list(cfg.report_to) or "none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        max_length=cfg.sequence_len,
        packing=cfg.sample_packing,
        packing_strategy="bfd_split" if cfg.stage == "corpus" else "bfd",
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
    )


def build_trainer(
    cfg: QLoRAConfig, model: Any, tokenizer: Any, train_ds: Any, eval_ds: Any, paths: RunPaths
) -> Any:
    from trl import SFTTrainer

    from train.metrics import RunMetrics

    if "tensorboard" in cfg.report_to:
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", str(paths.root / "tensorboard"))
    trainer = SFTTrainer(
        model=model,
        args=sft_config(cfg, paths, eval_ds is not None),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
    )
    # Before the reporters and the progress bar, so they all see tokens/s and memory.
    trainer.callback_handler.callbacks.insert(0, RunMetrics(paths.metrics))
    cast_adapter(trainer.model, cfg.adapter_dtype())
    return trainer
