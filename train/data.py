"""Snapshot rows -> token ids and labels, straight from messages with the model's chat format.

Conversations are never rendered to text and re-encoded: that turns control tokens such as
`[INST]` into plain text (see docs/training.md). The prompt is encoded with the generation
prompt, the full conversation without it, and every token of the prefix gets label -100, so
the loss falls on the answer tokens only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from train.config import Stage
from train.errors import TrainError
from train.snapshot import Snapshot, shard_paths

log = logging.getLogger(__name__)

IGNORE = -100


def is_mistral_common(tokenizer: Any) -> bool:
    """Tekken repos (Devstral) load as transformers' MistralCommonBackend."""
    return type(tokenizer).__name__ == "MistralCommonBackend"


def chat_ids(tokenizer: Any, messages: Sequence[dict], *, generation_prompt: bool) -> list[int]:
    """Token ids of `messages` in the tokenizer's chat format."""
    if is_mistral_common(tokenizer) and not generation_prompt:
        # mistral-common's test mode refuses a conversation that ends with the answer, and its
        # finetuning mode refuses the prompt alone. Encoding the answer as a prefix to continue
        # and closing it with EOS gives exactly the finetuning-mode ids (checked in the tests).
        encoded = tokenizer.apply_chat_template(
            list(messages), tokenize=True, return_dict=True, continue_final_message=True
        )
        return [*encoded["input_ids"], tokenizer.eos_token_id]
    encoded = tokenizer.apply_chat_template(
        list(messages), tokenize=True, return_dict=True, add_generation_prompt=generation_prompt
    )
    return list(encoded["input_ids"])


def encode_conversation(tokenizer: Any, messages: Sequence[dict]) -> dict[str, list[int]]:
    """input_ids of the whole conversation; labels only on the final assistant answer."""
    if not messages or messages[-1]["role"] != "assistant":
        raise TrainError("an instruct row must end with an assistant message")
    prompt = chat_ids(tokenizer, messages[:-1], generation_prompt=True)
    full = chat_ids(tokenizer, messages, generation_prompt=False)
    if full[: len(prompt)] != prompt:
        raise TrainError(
            "the chat template does not render the prompt as a prefix of the conversation, "
            "so the answer tokens cannot be found; use a template without history rewriting"
        )
    return {"input_ids": full, "labels": [IGNORE] * len(prompt) + full[len(prompt) :]}


def encode_text(tokenizer: Any, text: str) -> dict[str, list[int]]:
    """Raw code for continued pretraining: every token is a label, ended by EOS."""
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return {"input_ids": ids, "labels": list(ids)}


def encode_row(row: dict, tokenizer: Any, stage: Stage) -> dict[str, list[int]]:
    if stage == "instruct":
        return encode_conversation(tokenizer, row["messages"])
    return encode_text(tokenizer, row["text"])


def load_split(
    snapshot: Snapshot,
    stage: Stage,
    split: str,
    tokenizer: Any,
    max_rows: int | None = None,
    cache_dir: Path | None = None,
    max_length: int | None = None,
) -> Any:
    """A `datasets.Dataset` of `input_ids`/`labels` for one split (memory-mapped Arrow).

    Instruct rows longer than `max_length` are dropped, not cut: packing would trim them, so
    the answer would lose its end (and its EOS) or vanish entirely. Corpus rows stay whole;
    the corpus stage packs with `bfd_split`, which splits long files into chunks.
    """
    import datasets

    paths = [str(p) for p in shard_paths(snapshot, stage, split)]
    if not paths:
        raise TrainError(f"snapshot {snapshot.version} has no {stage}/{split} shards")
    column = "messages" if stage == "instruct" else "text"
    raw = datasets.Dataset.from_parquet(
        paths, columns=[column], cache_dir=str(cache_dir) if cache_dir else None
    )
    if max_rows is not None:
        raw = raw.select(range(min(max_rows, len(raw))))
    encoded = raw.map(
        encode_row,
        fn_kwargs={"tokenizer": tokenizer, "stage": stage},
        remove_columns=[column],
        desc=f"tokenizing {stage}/{split}",
    )
    trainable = encoded.filter(lambda row: any(label != IGNORE for label in row["labels"]))
    if len(trainable) < len(encoded):
        log.warning(
            "%s/%s: dropped %d rows without answer tokens",
            stage,
            split,
            len(encoded) - len(trainable),
        )
    if stage == "instruct" and max_length is not None:
        fitting = trainable.filter(lambda row: len(row["input_ids"]) <= max_length)
        if len(fitting) < len(trainable):
            log.warning(
                "%s/%s: dropped %d rows longer than sequence_len %d (they would be cut)",
                stage,
                split,
                len(trainable) - len(fitting),
                max_length,
            )
        trainable = fitting
    return trainable
