"""Training throughput: our QLoRA path against a plain transformers + peft QLoRA baseline.

    python -m bench.train_throughput                    # CPU: tiny model, steps/s and tokens/s
    python -m bench.train_throughput --gpu --layers 4   # GPU: Devstral-shaped, full width, seq 4096
    python -m bench.train_throughput --build-tiny build/tiny-mistral   # model for the tiny config

Both sides train the same random-weight model (4-bit NF4 + double quant, LoRA r=16 on all
linear layers, gradient checkpointing, paged 8-bit AdamW) on the same synthetic examples for
the same number of optimizer steps. Ours: answer-only labels, best-fit packing with
per-example position ids, TRL's chunked loss. Baseline: `prepare_model_for_kbit_training`,
one padded example batch per micro-step, the model's own full-logits loss. Each side runs in
its own process so peak memory is its own. Tokens/s counts real (non-pad) tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

GIB = 2**30


def synthetic_rows(n: int, min_len: int, max_len: int, vocab: int, seed: int = 0) -> list[dict]:
    """Examples of random length; the first half of each is prompt (label -100)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.randint(min_len, max_len)
        ids = [rng.randrange(10, vocab) for _ in range(length)]
        rows.append({"input_ids": ids, "labels": [-100] * (length // 2) + ids[length // 2 :]})
    return rows


def build_model(directory: Path, gpu: bool, layers: int) -> Path:
    """Tiny Mistral on CPU; on GPU Devstral Small's full width with `layers` layers."""
    from train.plan import DEVSTRAL_SMALL
    from train.tiny import build_tiny_model

    if not gpu:
        return build_tiny_model(directory)
    import torch

    shape = {**asdict(DEVSTRAL_SMALL), "num_hidden_layers": layers}
    built = build_tiny_model(
        directory,
        dtype="bfloat16",
        device="cuda",
        initializer_range=0.02,
        max_position_embeddings=131072,
        **shape,
    )
    torch.cuda.empty_cache()  # the children measure their own peaks; leave them the memory
    return built


class Clock:
    """Counts real tokens per collated batch and times the steps after warm-up."""

    def __init__(self, collator: Any, warmup: int) -> None:
        self.collator, self.warmup = collator, warmup
        self.tokens = 0
        self.marks: list[tuple[float, int]] = []

    def __call__(self, batch: list[dict]) -> dict:
        out = self.collator(batch)
        mask = out.get("attention_mask")
        self.tokens += int(mask.sum()) if mask is not None else out["input_ids"].numel()
        return out

    def callback(self) -> Any:
        from transformers import TrainerCallback

        clock = self

        class StepTimes(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if state.global_step >= clock.warmup:
                    clock.marks.append((time.perf_counter(), clock.tokens))

        return StepTimes()

    def figures(self) -> dict[str, float]:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        steps = len(self.marks) - 1
        return {
            "steps_per_s": steps / (t1 - t0),
            "step_time_s": (t1 - t0) / steps,
            "tokens_per_s": (n1 - n0) / (t1 - t0),
        }


def peak_memory() -> dict[str, float]:
    import torch

    if torch.cuda.is_available():
        return {
            "peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
            "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB,
        }
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB}


def common(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    gpu = torch.cuda.is_available()
    return dict(
        per_device_train_batch_size=args.micro_batch,
        gradient_accumulation_steps=1,
        max_steps=args.steps,
        learning_rate=1e-4,
        optim="paged_adamw_8bit",
        gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        bf16=gpu,
        use_cpu=not gpu,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        logging_steps=10_000,
        disable_tqdm=True,
        seed=0,
        dataloader_num_workers=0,
    )


def run_ours(args: argparse.Namespace, rows: list[dict], workdir: Path) -> dict[str, float]:
    """Our path: train.model + train.qlora.build_trainer on pre-tokenized rows."""
    import datasets
    import torch

    from train.config import QLoRAConfig
    from train.model import attach_lora, load_base, load_tokenizer
    from train.qlora import build_trainer, process_state
    from train.runs import RunPaths

    process_state()
    dtype = "bfloat16" if torch.cuda.is_available() else "float32"
    cfg = QLoRAConfig(
        base_model=str(args.model),
        bnb_4bit_compute_dtype=dtype,
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.0,
        sequence_len=args.seq_len,
        micro_batch_size=args.micro_batch,
        gradient_accumulation_steps=1,
        max_steps=args.steps,
        save_steps=10**6,
        eval_steps=10**6,
        logging_steps=10**6,
        warmup_steps=0,
        output_dir=workdir,
    )
    model = attach_lora(load_base(cfg), cfg)
    trainer = build_trainer(
        cfg,
        model,
        load_tokenizer(str(args.model)),
        datasets.Dataset.from_list(rows),
        None,
        RunPaths(workdir / "run"),
    )
    trainer.args.disable_tqdm = True
    clock = Clock(trainer.data_collator, args.warmup)
    trainer.data_collator = clock
    trainer.add_callback(clock.callback())
    trainer.train()
    return {**clock.figures(), **peak_memory()}


def run_baseline(args: argparse.Namespace, rows: list[dict], workdir: Path) -> dict[str, float]:
    """Plain transformers + peft QLoRA, as most tutorials write it."""
    import datasets
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        BitsAndBytesConfig,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    from train.model import load_tokenizer

    gpu = torch.cuda.is_available()
    compute = torch.bfloat16 if gpu else torch.float32
    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )
    model = AutoModelForCausalLM.from_pretrained(
        args.model, quantization_config=quant, dtype=compute, device_map={"": 0 if gpu else "cpu"}
    )
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.0,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    tokenizer = load_tokenizer(str(args.model))
    clock = Clock(DataCollatorForSeq2Seq(tokenizer, padding=True), args.warmup)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(output_dir=str(workdir), **common(args)),
        train_dataset=datasets.Dataset.from_list(rows),
        data_collator=clock,
        callbacks=[clock.callback()],
    )
    trainer.train()
    return {**clock.figures(), **peak_memory()}


def one_side(args: argparse.Namespace) -> None:
    """Child process: run one side and print its figures as JSON on the last line."""
    import torch

    vocab = json.loads((args.model / "config.json").read_text())["vocab_size"]
    rows = synthetic_rows(args.rows, args.min_len, args.seq_len, vocab)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_ours if args.side == "ours" else run_baseline
        print(json.dumps(run(args, rows, Path(tmp))))


def run_side(args: argparse.Namespace, side: str) -> dict[str, float]:
    """One side in a fresh process; its figures."""
    cmd = [
        sys.executable,
        "-m",
        "bench.train_throughput",
        "--side",
        side,
        "--model",
        str(args.model),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--seq-len",
        str(args.seq_len),
        "--min-len",
        str(args.min_len),
        "--micro-batch",
        str(args.micro_batch),
        "--rows",
        str(args.rows),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else None
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{side} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """Both sides, alternating, `repeat` times each (best-of-N hides noisy neighbours)."""
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    for _ in range(args.repeat):
        for side in runs:
            runs[side].append(run_side(args, side))
    return runs


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return max(runs, key=lambda r: r["tokens_per_s"])


def report(runs: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    results = {side: best(r) for side, r in runs.items()}
    ours, base = results["ours"], results["baseline"]
    mem = "peak_reserved_gib" if "peak_reserved_gib" in ours else "peak_rss_gib"
    print(
        f"model {args.model}  seq_len {args.seq_len}  micro-batch {args.micro_batch}  "
        f"steps {args.steps} (first {args.warmup} not timed)  threads {args.threads or 'all'}"
    )
    print(f"{'':10} {'steps/s':>9} {'step s':>8} {'tokens/s':>10} {mem:>18}")
    for name, r in results.items():
        print(
            f"{name:10} {r['steps_per_s']:9.2f} {r['step_time_s']:8.3f} "
            f"{r['tokens_per_s']:10.0f} {r[mem]:18.2f}"
        )
    print(
        f"ours/baseline: tokens/s x{ours['tokens_per_s'] / base['tokens_per_s']:.2f} "
        f"(target >= 1.5), peak memory x{ours[mem] / base[mem]:.2f} (target <= 0.7)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="Devstral-shaped model on the GPU")
    parser.add_argument("--layers", type=int, default=4, help="decoder layers in --gpu mode")
    parser.add_argument("--model", type=Path, help="use this model dir instead of building one")
    parser.add_argument("--build-tiny", type=Path, metavar="DIR", help="only write the tiny model")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--min-len", type=int)
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best counts")
    parser.add_argument("--threads", type=int, help="torch CPU threads per side (CPU default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--side", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.steps = args.steps or (10 if args.gpu else 30)
    args.seq_len = args.seq_len or (4096 if args.gpu else 256)
    args.min_len = args.min_len or args.seq_len // 16
    # One thread on CPU: on a shared machine, more threads than free cores make both sides
    # spin and the figures say more about the neighbours than about the code.
    args.threads = args.threads or (None if args.gpu else 1)
    if args.build_tiny:
        build_model(args.build_tiny, gpu=False, layers=0)
        return
    if args.side:
        one_side(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            args.model = build_model(Path(tmp) / "model", args.gpu, args.layers)
        results = compare(args)
    report(results, args)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2
            )
        )


if __name__ == "__main__":
    main()
