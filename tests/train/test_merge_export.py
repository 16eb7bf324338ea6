"""After training: merge onto the dequantized base, export for Ollama, evaluate with the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.train.conftest import train_cli
from tests.train.test_evaluate import BENCHMARK


def test_merged_model_reproduces_the_qlora_model(trained_run: Path, workspace: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from train.config import QLoRAConfig
    from train.model import load_for_inference
    from train.runs import read_run

    assert train_cli("merge", "main", "--output-dir", str(workspace / "runs")) == 0
    merged_dir = trained_run / "merged"
    config = json.loads((merged_dir / "config.json").read_text())
    assert "quantization_config" not in config
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    qlora = load_for_inference(
        QLoRAConfig.model_validate(read_run(trained_run).config), trained_run / "adapter"
    )
    # Train mode keeps bitsandbytes on the numerics used in training; its CPU eval fast path
    # (AVX512-BF16) rounds to bf16 and differs by ~0.04 in the logits.
    qlora.train()
    ids = torch.tensor([[1, 4, 50, 60, 70, 5, 80, 90]])
    with torch.no_grad():
        diff = (merged(input_ids=ids).logits - qlora(input_ids=ids).logits).abs().max().item()
    assert diff < 1e-4


def test_ollama_export_of_the_adapter(trained_run: Path, workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "ollama"
    assert (
        train_cli("export", "main", "--ollama", str(out), "--output-dir", str(workspace / "runs"))
        == 0
    )
    modelfile = (out / "Modelfile").read_text()
    assert modelfile.startswith("FROM devstral:24b\nADAPTER ./adapter\n")
    assert "[INST]{{ .Content }}[/INST]" in modelfile and 'PARAMETER stop "</s>"' in modelfile
    assert (out / "adapter" / "adapter_model.safetensors").read_bytes() == (
        trained_run / "adapter" / "adapter_model.safetensors"
    ).read_bytes()


def test_ollama_export_of_the_merged_model(
    trained_run: Path, workspace: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ollama-merged"
    assert (
        train_cli(
            "export",
            "main",
            "--ollama",
            str(out),
            "--merged",
            "--output-dir",
            str(workspace / "runs"),
        )
        == 0
    )
    assert (out / "Modelfile").read_text().startswith("FROM ./model.gguf\n")
    assert (out / "model" / "model.safetensors").is_file()
    assert "convert_hf_to_gguf.py" in (out / "convert-to-gguf.sh").read_text()


@pytest.mark.skipif(shutil.which("elixir") is None, reason="needs elixir")
def test_eval_generates_with_the_adapter_and_scores(trained_run: Path, workspace: Path) -> None:
    assert (
        train_cli(
            "eval",
            "main",
            "--benchmark",
            str(BENCHMARK),
            "--max-new-tokens",
            "8",
            "--output-dir",
            str(workspace / "runs"),
        )
        == 0
    )
    completions = (trained_run / "eval" / "humaneval-elixir-mini.completions.jsonl").read_text()
    assert [json.loads(line)["name"] for line in completions.splitlines()] == [
        "HumanEval_add",
        "HumanEval_reverse",
    ]
    summary = json.loads(
        (trained_run / "eval" / "humaneval-elixir-mini.results.summary.json").read_text()
    )
    assert summary["problems"] == 2 and 0.0 <= summary["pass@1"] <= 1.0
