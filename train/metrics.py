"""Training metrics: tokens/s and peak memory added to each log, and runs/<id>/metrics.jsonl."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from harvest.atomic import atomic_write_bytes

GIB = 2**30


def memory_gib() -> dict[str, float]:
    """Peak GPU memory since the last call (active, allocated, reserved), or RSS on CPU."""
    import psutil
    import torch

    if torch.cuda.is_available():
        stats = torch.cuda.memory_stats()
        out = {
            "memory/max_active_gib": stats.get("active_bytes.all.peak", 0) / GIB,
            "memory/max_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
            "memory/max_reserved_gib": torch.cuda.max_memory_reserved() / GIB,
        }
        torch.cuda.reset_peak_memory_stats()
        return out
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "memory/rss_gib": psutil.Process().memory_info().rss / GIB,
        "memory/peak_rss_gib": peak_kib * 1024 / GIB,
    }


class ThroughputMeter:
    """Tokens per second between two logs, from TRL's running `num_tokens` count."""

    def __init__(self) -> None:
        self._time = time.monotonic()
        self._tokens: float | None = None

    def measure(self, logs: dict[str, Any]) -> dict[str, float]:
        now = time.monotonic()
        tokens = logs.get("num_tokens")
        out: dict[str, float] = {}
        if tokens is not None and self._tokens is not None and now > self._time:
            out["tokens_per_s"] = (tokens - self._tokens) / (now - self._time)
        if tokens is not None:
            self._tokens, self._time = tokens, now
        return out

    def reset(self) -> None:
        """Forget the last point (after an evaluation, whose time is not training time)."""
        self._tokens = None
        self._time = time.monotonic()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class RunMetrics(TrainerCallback):
    """Adds tokens/s and memory to each training log and appends every log to metrics.jsonl.

    Install it first in the callback list so the progress bar, TensorBoard and W&B all see
    the added keys. A resumed run drops the lines written after its checkpoint.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meter = ThroughputMeter()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.meter.reset()
        if not state.is_world_process_zero:
            return
        kept = [row for row in read_metrics(self.path) if row.get("step", 0) <= state.global_step]
        payload = "".join(json.dumps(row) + "\n" for row in kept)
        atomic_write_bytes(self.path, payload.encode())

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if not logs:
            return
        if "loss" in logs:
            logs.update(self.meter.measure(logs))
            logs.update(memory_gib())
        else:
            self.meter.reset()
        if state.is_world_process_zero:
            row = {"step": state.global_step, "time": time.time(), **logs}
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
