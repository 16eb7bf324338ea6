"""Config validation: every shipped YAML loads; bad values fail with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvest.settings import SettingsError, load_settings
from tests.train.conftest import REPO, train_cli
from train.config import QLoRAConfig


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("qlora-*.yaml")), ids=str)
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_settings(QLoRAConfig, path)
    assert cfg.load_in_4bit and cfg.bnb_4bit_quant_type == "nf4"


def test_devstral_defaults_are_the_documented_recipe() -> None:
    cfg = load_settings(QLoRAConfig, REPO / "configs" / "qlora-devstral.yaml")
    assert cfg.base_model == "mistralai/Devstral-Small-2507"
    assert cfg.bnb_4bit_compute_dtype == "bfloat16" and cfg.bnb_4bit_use_double_quant
    assert cfg.target_modules() == "all-linear" and cfg.gradient_checkpointing
    assert (cfg.optimizer, cfg.lr_scheduler, cfg.sample_packing) == (
        "paged_adamw_8bit",
        "cosine",
        True,
    )


def test_trl_names_are_aliases(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("max_length: 512\npacking: false\n")
    cfg = load_settings(QLoRAConfig, config)
    assert (cfg.sequence_len, cfg.sample_packing) == (512, False)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("lora_r: 0", "lora_r"),
        ("lora_dropout: 1.5", "lora_dropout"),
        ("optimizer: adamw_9bit", "optimizer"),
        ("lora_rank: 8", "lora_rank"),
        ("lora_target_linear: false", "lora_target_linear"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text + "\n")
    with pytest.raises(SettingsError, match=key):
        load_settings(QLoRAConfig, config)


def test_bad_flag_fails_before_loading_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_cli("qlora", "--lora-r", "0", "--base-model", "/nonexistent") == 2
    assert "lora_r (--lora-r)" in capsys.readouterr().err
