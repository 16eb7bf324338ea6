"""Memory and parameter arithmetic for a QLoRA config, before any weight is downloaded.

Pure functions: shapes in, bytes and counts out. The figures follow
/work/shared/specs/qlora-training.md section 2 (NF4 at 4 bit/param, blocksize-64 absmax
constants, double quantization, bf16 embeddings and head, fp32 LoRA state, activations with
and without gradient checkpointing, logits with and without a chunked loss).
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9
GIB = 2**30


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a Mistral-style decoder that the estimate needs."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    tie_word_embeddings: bool = False


# Devstral Small 2505/2507 (= Mistral Small 3.1 text model); see the spec, section 1.
DEVSTRAL_SMALL = ModelShape(131072, 5120, 32768, 40, 32, 8, 128)
KNOWN_SHAPES = {
    "mistralai/Devstral-Small-2507": DEVSTRAL_SMALL,
    "mistralai/Devstral-Small-2505": DEVSTRAL_SMALL,
    "mistralai/Mistral-Small-3.1-24B-Base-2503": DEVSTRAL_SMALL,
}

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def shape_from_config(config: dict) -> ModelShape:
    """A shape from a transformers config.json mapping (text_config for multimodal ones)."""
    cfg = config.get("text_config", config)
    heads = cfg["num_attention_heads"]
    return ModelShape(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=cfg.get("num_key_value_heads", heads),
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
    )


def linear_shapes(shape: ModelShape) -> dict[str, tuple[int, int]]:
    """(in, out) features of each linear layer in one decoder layer."""
    h, q, kv, f = (
        shape.hidden_size,
        shape.num_attention_heads * shape.head_dim,
        shape.num_key_value_heads * shape.head_dim,
        shape.intermediate_size,
    )
    return {
        "q_proj": (h, q),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (q, h),
        "gate_proj": (h, f),
        "up_proj": (h, f),
        "down_proj": (f, h),
    }


def linear_params(shape: ModelShape) -> int:
    """Parameters in all decoder linear layers (the ones stored in 4 bit)."""
    per_layer = sum(i * o for i, o in linear_shapes(shape).values())
    return per_layer * shape.num_hidden_layers


def other_params(shape: ModelShape) -> int:
    """Embeddings, lm_head and norms: kept in 16 bit, not quantized."""
    heads = 1 if shape.tie_word_embeddings else 2
    norms = (2 * shape.num_hidden_layers + 1) * shape.hidden_size
    return heads * shape.vocab_size * shape.hidden_size + norms


def lora_params(shape: ModelShape, r: int, targets: tuple[str, ...] | None = None) -> int:
    """Trainable LoRA parameters: r * (in + out) per adapted layer; None = all linear."""
    chosen = linear_shapes(shape)
    names = targets if targets is not None else tuple(chosen)
    per_layer = sum(r * (i + o) for name, (i, o) in chosen.items() if name in names)
    return per_layer * shape.num_hidden_layers


def quantized_bytes(params: int, double_quant: bool, blocksize: int = 64) -> float:
    """NF4 payload plus absmax constants (fp32 per block, or 8 bit + fp32 per 256 blocks)."""
    constants = (1 / blocksize + 4 / (blocksize * 256)) if double_quant else 4 / blocksize
    return params * (0.5 + constants)


@dataclass(frozen=True)
class Settings:
    """The config values that move the estimate."""

    lora_r: int = 16
    targets: tuple[str, ...] | None = None
    load_in_4bit: bool = True
    double_quant: bool = True
    sequence_len: int = 4096
    micro_batch_size: int = 1
    gradient_checkpointing: bool = True
    optimizer: str = "paged_adamw_8bit"
    chunked_loss: bool = True
    compute_bytes: int = 2  # bf16
    overhead_gb: float = 1.5  # CUDA context, allocator fragmentation


def optimizer_bytes_per_param(optimizer: str) -> float:
    """fp32 weight + fp32 grad + optimizer state (two moments)."""
    state = 2.0 if "8bit" in optimizer else 0.0 if optimizer == "sgd" else 8.0
    return 8.0 + state


def activation_bytes(shape: ModelShape, s: Settings) -> float:
    """Saved activations for one micro-batch, plus the recompute peak of one layer."""
    tokens = s.sequence_len * s.micro_batch_size
    cb = s.compute_bytes
    if s.gradient_checkpointing:
        boundaries = tokens * shape.hidden_size * cb * shape.num_hidden_layers
        recompute = 4 * tokens * shape.intermediate_size * cb
        return boundaries + recompute + shape.hidden_size * shape.intermediate_size * cb
    # without checkpointing: ~ 16 hidden-sized and 4 ffn-sized tensors kept per layer
    per_layer = tokens * (16 * shape.hidden_size + 4 * shape.intermediate_size) * cb
    return per_layer * shape.num_hidden_layers


def logits_bytes(shape: ModelShape, s: Settings, chunk_tokens: int = 1024) -> float:
    """fp32 logits and their gradient; a chunked loss keeps one chunk at a time."""
    tokens = s.sequence_len * s.micro_batch_size
    live = min(tokens, chunk_tokens) if s.chunked_loss else tokens
    return 2 * live * shape.vocab_size * 4


def estimate(shape: ModelShape, s: Settings) -> dict[str, float]:
    """Every term of the peak-memory estimate, in bytes, plus `total` and parameter counts."""
    linear = linear_params(shape)
    weights = (
        quantized_bytes(linear, s.double_quant) if s.load_in_4bit else linear * s.compute_bytes
    ) + other_params(shape) * s.compute_bytes
    trainable = lora_params(shape, s.lora_r, s.targets)
    parts = {
        "base_weights": weights,
        "lora_state": trainable * optimizer_bytes_per_param(s.optimizer),
        "activations": activation_bytes(shape, s),
        "logits": logits_bytes(shape, s),
        "overhead": s.overhead_gb * GB,
    }
    return {
        **parts,
        "total": sum(parts.values()),
        "trainable_params": float(trainable),
        "total_params": float(linear + other_params(shape)),
    }


def fits(total_bytes: float, card_gb: float = 24.0) -> bool:
    """Whether the estimate fits a card of `card_gb` (marketing GB = GiB on the label)."""
    return total_bytes <= card_gb * GIB
