"""Build a tiny random-weight Mistral and a Tekken-style tokenizer locally, with no download.

Tests, the CPU benchmark and smoke runs of `configs/qlora-tiny-cpu.yaml` train it. The
tokenizer is a byte-level BPE trained in-process; its chat template writes the Mistral V7
Tekken format with `[INST]`-style control tokens as single special tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

CONTROL_TOKENS = ["[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]"]
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", *CONTROL_TOKENS]

# Mistral V7 Tekken: <s>[SYSTEM_PROMPT]..[/SYSTEM_PROMPT][INST]user[/INST]answer</s>
TEKKEN_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ message['content'] }}[/SYSTEM_PROMPT]"
    "{% elif message['role'] == 'user' %}[INST]{{ message['content'] }}[/INST]"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)

SAMPLE_TEXT = [
    "defmodule Math do\n  def add(a, b), do: a + b\n  def sub(a, b), do: a - b\nend\n",
    'defmodule Greeter do\n  @doc "Says hello."\n  def hello(name), do: "Hello, #{name}!"\nend\n',
    "Enum.map([1, 2, 3], fn x -> x * 2 end) |> Enum.sum()\n",
    "use GenServer\n\ndef handle_call(:get, _from, state), do: {:reply, state, state}\n",
    "Write a function that reverses a list. Explain what this function does.\n",
]


def build_tokenizer(texts: Iterable[str] = SAMPLE_TEXT, vocab_size: int = 400) -> Any:
    """A byte-level BPE with `<s>` prepended, control tokens and the Tekken chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(texts) * 4, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=CONTROL_TOKENS,
        chat_template=TEKKEN_TEMPLATE,
    )


def tiny_mistral_config(vocab_size: int, **overrides: Any) -> Any:
    """Devstral's layout (GQA, explicit head_dim, rope 1e9, no sliding window), shrunk."""
    from transformers import MistralConfig

    values: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        sliding_window=None,
        rope_theta=1e9,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        initializer_range=0.1,
    )
    values.update(overrides)
    return MistralConfig(**values)


def build_tiny_model(
    directory: Path, seed: int = 0, dtype: str = "float32", device: str = "cpu", **overrides: Any
) -> Path:
    """Write a random-weight MistralForCausalLM and its tokenizer to `directory`.

    `overrides` change the config (the benchmark uses them for a full-width Devstral shape,
    built in bf16 on the GPU so random init takes seconds).
    """
    import torch
    from transformers import MistralForCausalLM

    tokenizer = build_tokenizer()
    vocab_size = overrides.pop("vocab_size", len(tokenizer))
    torch.manual_seed(seed)
    with torch.device(device):
        model = MistralForCausalLM(tiny_mistral_config(vocab_size, **overrides))
    model.to(device="cpu", dtype=getattr(torch, dtype))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
