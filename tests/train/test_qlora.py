"""End to end on the tiny model: real bitsandbytes NF4, peft LoRA and TRL on CPU."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest

from harvest.catalog import open_catalog
from harvest.store import sha256_file
from tests.train.conftest import snapshot_rows, train_cli
from train.metrics import read_metrics


def losses(run: Path) -> dict[int, float]:
    return {
        row["step"]: row["loss"] for row in read_metrics(run / "metrics.jsonl") if "loss" in row
    }


def test_loss_falls_when_overfitting_a_handful_of_rows(trained_run: Path) -> None:
    by_step = losses(trained_run)
    assert sorted(by_step) == list(range(1, 31))
    first = sum(by_step[s] for s in (1, 2, 3)) / 3
    last = sum(by_step[s] for s in (28, 29, 30)) / 3
    assert last < 0.5 * first, (first, last)


def test_metrics_have_throughput_and_memory(trained_run: Path) -> None:
    rows = read_metrics(trained_run / "metrics.jsonl")
    train_rows = [r for r in rows if "loss" in r]
    for key in ("grad_norm", "learning_rate", "epoch", "memory/rss_gib", "memory/peak_rss_gib"):
        assert all(key in r for r in train_rows), key
    assert any(r.get("tokens_per_s", 0) > 0 for r in train_rows)
    assert [r["step"] for r in rows if "eval_loss" in r] == [10, 20, 30]


def test_training_runs_row_is_filled(trained_run: Path, workspace: Path) -> None:
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        row = catalog.fetchone(
            "SELECT status, snapshot_version, snapshot_manifest_sha256, base_model, config_json,"
            " train_loss, eval_loss, eval_perplexity, adapter_path, adapter_sha256, global_step,"
            " finished_at > started_at FROM training_runs WHERE run_id = 'main'"
        )
        manifest_sha = catalog.fetchone("SELECT manifest_sha256 FROM snapshots")[0]
    assert row is not None
    (
        status,
        version,
        sha,
        base,
        config,
        train_loss,
        eval_loss,
        ppl,
        adapter,
        adapter_sha,
        step,
        ordered,
    ) = row
    assert (status, version, sha, step, ordered) == ("finished", "v1", manifest_sha, 30, True)
    assert json.loads(config)["lora_r"] == 8 and base.endswith("tiny-mistral")
    assert train_loss > 0 and ppl == pytest.approx(math.exp(eval_loss))
    assert adapter_sha == sha256_file(Path(adapter) / "adapter_model.safetensors")


def test_adapter_reloads_and_generates(trained_run: Path, workspace: Path) -> None:
    """The reloaded adapter has learnt a training row: far lower loss than the base model."""
    import torch

    from train.config import QLoRAConfig
    from train.data import encode_conversation
    from train.model import load_base, load_for_inference, load_tokenizer
    from train.runs import read_run

    cfg = QLoRAConfig.model_validate(read_run(trained_run).config)
    tokenizer = load_tokenizer(str(trained_run / "adapter"))
    tuned = load_for_inference(cfg, trained_run / "adapter")
    row = encode_conversation(
        tokenizer, snapshot_rows(workspace, "instruct", "train")[0]["messages"]
    )
    ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
    with torch.no_grad():
        tuned_loss = tuned(input_ids=ids, labels=labels).loss.item()
        base_loss = load_base(cfg)(input_ids=ids, labels=labels).loss.item()
        prompt = ids[:, : labels.ne(-100).int().argmax()]
        out = tuned.generate(input_ids=prompt, max_new_tokens=8, do_sample=False)
    assert tuned_loss < 0.5 * base_loss
    assert out.shape[1] > prompt.shape[1]


def test_resume_continues_at_the_saved_step(tiny_config: Path, workspace: Path) -> None:
    args = [
        "qlora",
        "--config",
        str(tiny_config),
        "--max-steps",
        "8",
        "--save-steps",
        "4",
        "--eval-steps",
        "100",
    ]
    assert train_cli(*args, "--run-id", "resumed") == 0
    run = workspace / "runs" / "resumed"
    straight = losses(run)
    # As if killed right after the step-4 checkpoint was written:
    shutil.rmtree(run / "checkpoints" / "checkpoint-8")
    shutil.rmtree(run / "adapter")
    resumed_at = time.time()
    assert train_cli("qlora", "--config", str(tiny_config), "--resume", "resumed") == 0
    again = losses(run)
    assert sorted(again) == list(range(1, 9))
    times = {r["step"]: r["time"] for r in read_metrics(run / "metrics.jsonl") if "loss" in r}
    assert all(times[s] < resumed_at for s in range(1, 5)), "steps 1-4 must not rerun"
    assert all(times[s] > resumed_at for s in range(5, 9))
    assert again[5] == pytest.approx(straight[5], rel=1e-5, abs=1e-6)
    assert again[8] == pytest.approx(straight[8], rel=1e-4)


def test_two_stages_corpus_then_instruct(tiny_config: Path, workspace: Path) -> None:
    short = [
        "--config",
        str(tiny_config),
        "--max-steps",
        "3",
        "--eval-steps",
        "100",
        "--save-steps",
        "100",
    ]
    assert (
        train_cli(
            "qlora", *short, "--stage", "corpus", "--run-id", "stage1", "--report-to", "tensorboard"
        )
        == 0
    )
    assert list((workspace / "runs" / "stage1" / "tensorboard").glob("events.out.tfevents.*"))
    assert train_cli("qlora", *short, "--init-adapter", "stage1", "--run-id", "stage2") == 0
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        rows = catalog.fetchall(
            "SELECT run_id, stage, init_adapter, status FROM training_runs"
            " WHERE run_id LIKE 'stage%' ORDER BY run_id"
        )
    assert rows == [
        ("stage1", "corpus", None, "finished"),
        ("stage2", "instruct", "stage1", "finished"),
    ]


@pytest.mark.parametrize(
    ("flags", "code", "message"),
    [
        (["--dataset", "v9"], 1, "snapshot 'v9' is not in catalog"),
        (["--base-model", "/nonexistent/model"], 1, "base model '/nonexistent/model' not found"),
        (["--learning-rate", "-1"], 2, "learning_rate (--learning-rate)"),
    ],
)
def test_clear_failures(
    tiny_config: Path, capsys: pytest.CaptureFixture[str], flags: list[str], code: int, message: str
) -> None:
    assert train_cli("qlora", "--config", str(tiny_config), *flags) == code
    assert message in capsys.readouterr().err


def test_a_crash_after_start_marks_the_run_failed(
    tiny_model: Path, tiny_config: Path, workspace: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(Exception):  # noqa: B017 - whatever the loader raises, the row says it
        train_cli(
            "qlora", "--config", str(tiny_config), "--base-model", str(broken), "--run-id", "broken"
        )
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        status, error = catalog.fetchone(
            "SELECT status, error FROM training_runs WHERE run_id = 'broken'"
        )
    assert status == "failed" and error
