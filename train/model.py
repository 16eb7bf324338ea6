"""Load the base model in 4 bit and attach LoRA: the only bitsandbytes and peft import site.

Heavy imports stay inside the functions so `python -m train plan` and `--help` never load torch.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from train.config import DType, QLoRAConfig
from train.errors import BaseModelMissing, TrainError

log = logging.getLogger(__name__)

ADAPTER_WEIGHTS = "adapter_model.safetensors"


def torch_dtype(name: DType) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def check_model_source(name: str, what: str = "base model") -> None:
    """A local path must exist (and hold a config); a Hub id is left to `from_pretrained`."""
    path = Path(name).expanduser()
    if not (name.startswith((".", "/", "~")) or path.exists()):
        return
    if not path.is_dir():
        raise BaseModelMissing(f"{what} {name!r} not found: no such directory")
    if what == "base model" and not (path / "config.json").is_file():
        raise BaseModelMissing(f"{what} {name!r} not found: no config.json in {path}")


def quantization_config(cfg: QLoRAConfig) -> Any:
    """bitsandbytes NF4 settings from the config (None when not loading in 4 bit)."""
    from transformers import BitsAndBytesConfig

    if not cfg.load_in_4bit:
        return None
    storage = cfg.bnb_4bit_quant_storage
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=cfg.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=cfg.bnb_4bit_use_double_quant,
        bnb_4bit_compute_dtype=torch_dtype(cfg.bnb_4bit_compute_dtype),
        bnb_4bit_quant_storage=torch_dtype(storage) if storage else None,
    )


def device_map() -> dict[str, Any] | None:
    """One whole model per process (DDP); FSDP loads on CPU and shards itself."""
    import torch

    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        return None
    if torch.cuda.is_available():
        return {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return {"": "cpu"}


def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    check_model_source(name, "tokenizer")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise BaseModelMissing(f"cannot load tokenizer {name!r}: {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(cfg: QLoRAConfig) -> Any:
    """The base model, quantized to NF4 on load when `load_in_4bit` is set."""
    from transformers import AutoModelForCausalLM

    check_model_source(cfg.base_model)
    dtype = cfg.bnb_4bit_quant_storage or cfg.bnb_4bit_compute_dtype
    try:
        model = AutoModelForCausalLM.from_pretrained(
            cfg.base_model,
            quantization_config=quantization_config(cfg),
            dtype=torch_dtype(dtype),
            device_map=device_map(),
            attn_implementation=cfg.attn_implementation,
        )
    except OSError as exc:
        raise BaseModelMissing(f"cannot load base model {cfg.base_model!r}: {exc}") from None
    model.config.use_cache = False
    return model


def attach_lora(model: Any, cfg: QLoRAConfig, init_adapter: Path | None = None) -> Any:
    """Wrap `model` with trainable LoRA adapters (fresh, or continued from `init_adapter`)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    if init_adapter is not None:
        if not (init_adapter / ADAPTER_WEIGHTS).is_file():
            raise TrainError(f"init adapter {init_adapter} has no {ADAPTER_WEIGHTS}")
        peft_model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    else:
        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=cfg.target_modules(),
            bias="none",
            task_type="CAUSAL_LM",
        )
        peft_model = get_peft_model(model, lora)
    cast_adapter(peft_model, cfg.adapter_dtype())
    return peft_model


def cast_adapter(model: Any, dtype: DType) -> None:
    """Put the trainable (adapter) weights in `dtype`; TRL would force bf16 on 4-bit bases."""
    target = torch_dtype(dtype)
    for param in model.parameters():
        if param.requires_grad and param.dtype != target:
            param.data = param.data.to(target)


def trainable_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; 4-bit weights count as their unpacked size."""
    trainable, total = model.get_nb_trainable_parameters()
    return int(trainable), int(total)


def load_for_inference(cfg: QLoRAConfig, adapter_dir: Path) -> Any:
    """The quantized base with the trained adapter, in eval mode, as it was trained."""
    from peft import PeftModel

    model = load_base(cfg)
    model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    model.eval()
    return model


def merge_on_dequantized(cfg: QLoRAConfig, adapter_dir: Path) -> Any:
    """Dequantize the NF4 base, then merge the adapter: the weights the adapter learned against.

    Dequantize straight after loading: on CPUs with AVX512-BF16, bitsandbytes 0.50 repacks a
    4-bit weight on its first no-grad eval forward, and transformers' `dequantize()` misreads
    the repacked layout.
    """
    from peft import PeftModel

    model = load_base(cfg)
    if cfg.load_in_4bit:
        model = model.dequantize(dtype=torch_dtype(cfg.bnb_4bit_compute_dtype))
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.config.use_cache = True
    return merged
