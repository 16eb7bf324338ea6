"""The memory planner against the real Devstral Small shape and against peft's own count."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.train.conftest import train_cli
from train.plan import (
    DEVSTRAL_SMALL,
    GB,
    Settings,
    estimate,
    fits,
    linear_params,
    lora_params,
    shape_from_config,
)
from train.tiny import tiny_mistral_config


def test_devstral_parameter_counts_match_the_spec() -> None:
    assert lora_params(DEVSTRAL_SMALL, 1) == 5_775_360  # 5.78M per unit of rank
    assert lora_params(DEVSTRAL_SMALL, 16) == 92_405_760
    assert lora_params(DEVSTRAL_SMALL, 16, ("q_proj", "v_proj")) == 9_830_400
    assert linear_params(DEVSTRAL_SMALL) == 22_229_811_200
    total = estimate(DEVSTRAL_SMALL, Settings())["total_params"]
    assert total == pytest.approx(23.57e9, rel=1e-3)


def test_devstral_base_is_about_14_gb_with_double_quant() -> None:
    with_dq = estimate(DEVSTRAL_SMALL, Settings())["base_weights"] / GB
    without = estimate(DEVSTRAL_SMALL, Settings(double_quant=False))["base_weights"] / GB
    assert with_dq == pytest.approx(14.2, abs=0.1)
    assert without - with_dq == pytest.approx(1.04, abs=0.02)


def test_checkpointing_and_chunked_loss_shrink_the_peak() -> None:
    lean = estimate(DEVSTRAL_SMALL, Settings(sequence_len=2048))["total"]
    fat = estimate(
        DEVSTRAL_SMALL,
        Settings(sequence_len=2048, gradient_checkpointing=False, chunked_loss=False),
    )["total"]
    assert fits(lean, 24) and not fits(fat, 24) and fits(fat, 80)


def test_lora_count_equals_peft_on_the_real_architecture() -> None:
    """Build Devstral's real config on the meta device (no weights) and let peft count."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import MistralForCausalLM

    config = tiny_mistral_config(**asdict(DEVSTRAL_SMALL))
    with torch.device("meta"):
        model = MistralForCausalLM(config)
    peft_model = get_peft_model(model, LoraConfig(r=16, target_modules="all-linear"))
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert trainable == lora_params(shape_from_config(config.to_dict()), 16)
    assert total - trainable == estimate(DEVSTRAL_SMALL, Settings())["total_params"]


def test_plan_cli_reads_a_local_model(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train_cli("plan", "--base-model", str(tiny_model), "--lora-r", "8", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    shape = shape_from_config(json.loads((tiny_model / "config.json").read_text()))
    assert result["trainable_params"] == lora_params(shape, 8)


def test_plan_cli_refuses_an_unknown_hub_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_cli("plan", "--base-model", "someone/unknown-model") == 1
    assert "no shape known" in capsys.readouterr().err
