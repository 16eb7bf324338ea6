"""The QLoRA run configuration: one pydantic model, validated before any model is loaded.

Key names follow Axolotl and TRL where users know them (`base_model`, `lora_r`,
`sequence_len`/`max_length`, `sample_packing`/`packing`, `micro_batch_size`, ...), so a
config written for those tools needs few edits here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

DType = Literal["bfloat16", "float16", "float32"]
Stage = Literal["corpus", "instruct"]
Optimizer = Literal[
    "paged_adamw_8bit", "adamw_8bit", "paged_adamw_32bit", "adamw_torch", "adamw_torch_fused", "sgd"
]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts"]
Reporter = Literal["tensorboard", "wandb"]


class QLoRAConfig(BaseModel):
    """Everything `python -m train qlora` needs; defaults are the Devstral Small recipe."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    # what to train on
    base_model: str = Field(
        "mistralai/Devstral-Small-2507", description="Hub id or local directory of the base model"
    )
    tokenizer: str | None = Field(
        None, description="tokenizer id or directory (default: base_model)"
    )
    dataset: str | None = Field(None, description="snapshot version (default: the newest)")
    stage: Stage = Field("instruct", description="corpus = continued pretraining, instruct = SFT")
    init_adapter: str | None = Field(None, description="run id or adapter dir to start from")
    catalog: Path = Field(Path("catalog.duckdb"), description="DuckDB catalog file")
    output_dir: Path = Field(Path("runs"), description="runs are written to OUTPUT_DIR/<run-id>/")
    max_train_rows: int | None = Field(None, gt=0, description="use only the first N train rows")
    max_eval_rows: int | None = Field(
        None, gt=0, description="use only the first N validation rows"
    )

    # quantization (bitsandbytes)
    load_in_4bit: bool = Field(True, description="load the base in 4 bit (QLoRA)")
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type")
    bnb_4bit_use_double_quant: bool = Field(True, description="quantize the absmax constants too")
    bnb_4bit_compute_dtype: DType = Field("bfloat16", description="dtype of the matmuls")
    bnb_4bit_quant_storage: DType | None = Field(
        None, description="float storage dtype for the packed weights (bfloat16 for FSDP)"
    )
    lora_dtype: DType | None = Field(
        None, description="dtype of the adapter weights (default: bnb_4bit_compute_dtype)"
    )
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = Field(
        "sdpa", description="attention kernel"
    )

    # LoRA (peft)
    lora_r: int = Field(16, gt=0, le=1024, description="LoRA rank")
    lora_alpha: float = Field(32, gt=0, description="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA input")
    lora_target_linear: bool = Field(True, description="LoRA on every linear layer but lm_head")
    lora_target_modules: list[str] | None = Field(
        None, description="module names to adapt (overrides lora_target_linear)"
    )

    # data shaping
    sequence_len: int = Field(
        4096,
        ge=16,
        validation_alias=AliasChoices("sequence_len", "max_length"),
        description="tokens per packed row (alias: max_length)",
    )
    sample_packing: bool = Field(
        True,
        validation_alias=AliasChoices("sample_packing", "packing"),
        description="pack examples with per-example position ids (alias: packing)",
    )

    # optimisation
    micro_batch_size: int = Field(1, gt=0, description="rows per device per step")
    gradient_accumulation_steps: int = Field(8, gt=0, description="micro-batches per update")
    num_epochs: float = Field(1.0, gt=0, description="passes over the train split")
    max_steps: int = Field(-1, ge=-1, description="stop after N updates (-1: use num_epochs)")
    learning_rate: float = Field(2e-4, gt=0, lt=1, description="peak learning rate")
    lr_scheduler: Scheduler = Field("cosine", description="learning-rate schedule")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="share of steps spent warming up")
    warmup_steps: int | None = Field(None, ge=0, description="warm-up updates (wins over ratio)")
    optimizer: Optimizer = Field("paged_adamw_8bit", description="optimizer")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    gradient_checkpointing: bool = Field(True, description="recompute activations in backward")
    seed: int = Field(42, description="seed for data order, dropout and LoRA init")

    # evaluation, checkpoints, logging
    eval_steps: int = Field(200, gt=0, description="evaluate on the validation split every N")
    save_steps: int = Field(200, gt=0, description="checkpoint every N updates")
    save_total_limit: int | None = Field(3, gt=0, description="checkpoints kept")
    logging_steps: int = Field(10, gt=0, description="log metrics every N updates")
    report_to: list[Reporter] = Field(
        default_factory=list, description="also log to tensorboard and/or wandb"
    )

    @model_validator(mode="after")
    def _check_targets(self) -> QLoRAConfig:
        if not self.lora_target_linear and not self.lora_target_modules:
            raise ValueError("set lora_target_linear: true or list lora_target_modules")
        if self.bnb_4bit_quant_storage and not self.load_in_4bit:
            raise ValueError("bnb_4bit_quant_storage needs load_in_4bit: true")
        return self

    def target_modules(self) -> str | list[str]:
        """peft's `target_modules`: an explicit list wins over "all-linear"."""
        return self.lora_target_modules or "all-linear"

    def adapter_dtype(self) -> DType:
        return self.lora_dtype or self.bnb_4bit_compute_dtype
