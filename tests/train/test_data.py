"""Tokenization straight to ids, answer-only labels, and packing without cross-contamination."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from harvest.catalog import open_catalog
from tests.train.conftest import snapshot_rows
from train.data import IGNORE, encode_conversation, load_split
from train.errors import TrainError
from train.snapshot import resolve_snapshot
from train.tiny import build_tokenizer
from transform.config import TASKS

MESSAGES = [
    {"role": "system", "content": "You write Elixir."},
    {"role": "user", "content": "Add two numbers."},
    {"role": "assistant", "content": "def add(a, b), do: a + b"},
]


def test_labels_cover_exactly_the_answer_and_eos() -> None:
    tokenizer = build_tokenizer()
    row = encode_conversation(tokenizer, MESSAGES)
    answer = [
        t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != IGNORE
    ]
    assert tokenizer.decode(answer) == "def add(a, b), do: a + b</s>"
    assert all(
        label in (IGNORE, t) for t, label in zip(row["input_ids"], row["labels"], strict=True)
    )


def test_control_tokens_stay_single_ids() -> None:
    """[INST] must be its own token id, never the characters '[', 'INST', ']'."""
    tokenizer = build_tokenizer()
    ids = encode_conversation(tokenizer, MESSAGES)["input_ids"]
    control = tokenizer.convert_tokens_to_ids(["[SYSTEM_PROMPT]", "[INST]", "[/INST]"])
    assert ids[0] == tokenizer.bos_token_id and ids[1] == control[0]
    assert control[1] in ids and control[2] in ids
    assert ids.count(control[1]) == 1


def test_real_tekken_tokenizer_via_mistral_common() -> None:
    """Devstral's tokenizer class, on the Tekken file that mistral-common ships."""
    mistral_common = pytest.importorskip("mistral_common")
    from transformers.tokenization_mistral_common import MistralCommonBackend

    tekken = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(tekken, Path(tmp) / "tekken.json")
        serving = MistralCommonBackend.from_pretrained(tmp)
        finetuning = MistralCommonBackend.from_pretrained(tmp, mode="finetuning")
    row = encode_conversation(serving, MESSAGES)
    reference = finetuning.apply_chat_template(MESSAGES, tokenize=True, return_dict=True)
    assert row["input_ids"] == list(reference["input_ids"])
    answer = [
        t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != IGNORE
    ]
    assert serving.decode(answer[:-1]) == "def add(a, b), do: a + b"
    assert answer[-1] == serving.eos_token_id
    assert row["input_ids"][1] == serving.convert_tokens_to_ids("[INST]")


def test_a_conversation_must_end_with_the_answer() -> None:
    with pytest.raises(TrainError, match="assistant"):
        encode_conversation(build_tokenizer(), MESSAGES[:2])


def test_the_fixture_snapshot_comes_from_the_real_build(workspace: Path) -> None:
    """Every task of the build and both splits of both configs, counted in the catalog."""
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        counts = catalog.fetchone(
            "SELECT rows_instruct_train, rows_instruct_validation, rows_corpus_train,"
            " rows_corpus_validation FROM snapshots WHERE version = 'v1'"
        )
    assert counts is not None and min(counts) > 0, counts
    instruct = snapshot_rows(workspace, "instruct", "train")
    instruct += snapshot_rows(workspace, "instruct", "validation")
    assert len(instruct) == counts[0] + counts[1]
    assert {row["task"] for row in instruct} == set(TASKS)
    assert {(row["source"], row["license"]) for row in instruct} == {("hex", "MIT")}


def test_snapshot_splits_load_through_the_catalog(workspace: Path) -> None:
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        snapshot = resolve_snapshot(catalog, None)
    train = load_split(
        snapshot, "instruct", "train", build_tokenizer(), cache_dir=workspace / "cache"
    )
    corpus = load_split(
        snapshot, "corpus", "validation", build_tokenizer(), cache_dir=workspace / "cache"
    )
    assert len(train) == len(snapshot_rows(workspace, "instruct", "train")) > 1
    assert len(corpus) == len(snapshot_rows(workspace, "corpus", "validation")) > 0
    assert all(label != IGNORE for label in corpus[0]["labels"])


def test_instruct_rows_longer_than_sequence_len_are_dropped_not_cut(workspace: Path) -> None:
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        snapshot = resolve_snapshot(catalog, None)
    tokenizer = build_tokenizer()
    whole = load_split(snapshot, "instruct", "train", tokenizer, cache_dir=workspace / "cache")
    lengths = sorted(len(row["input_ids"]) for row in whole)
    limit = lengths[len(lengths) // 2]
    kept = load_split(
        snapshot, "instruct", "train", tokenizer, cache_dir=workspace / "cache", max_length=limit
    )
    assert 0 < len(kept) < len(whole)
    assert all(len(row["input_ids"]) <= limit for row in kept)
    assert len(kept) == sum(n <= limit for n in lengths)
    corpus = load_split(
        snapshot, "corpus", "train", tokenizer, cache_dir=workspace / "cache", max_length=8
    )
    assert len(corpus) == len(snapshot_rows(workspace, "corpus", "train"))  # split, not dropped


def test_unknown_snapshot_is_a_clear_error(workspace: Path) -> None:
    with (
        open_catalog(workspace / "catalog.duckdb", write=False) as catalog,
        pytest.raises(TrainError, match=r"'v9' is not in catalog .*known: v1"),
    ):
        resolve_snapshot(catalog, "v9")


def test_packed_loss_equals_unpacked_loss(tiny_model: Path, workspace: Path) -> None:
    """TRL's padding-free packing (position ids reset per example) in fp32 on the tiny model.

    transformers isolates packed examples only when no KV cache is passed (`use_cache=False`,
    as the trainer does); with a cache the examples would attend to each other.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tokenizer = build_tokenizer()
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    rows = [
        encode_conversation(tokenizer, row["messages"])
        for row in snapshot_rows(workspace, "instruct", "train")[:4]
    ]
    packed = DataCollatorForLanguageModeling(tokenizer.pad_token_id, padding_free=True)(rows)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    with torch.no_grad():
        logits = model(
            input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False
        ).logits[0]
        total, count, start = 0.0, 0, 0
        for row in rows:
            n = len(row["input_ids"])
            alone = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
            assert torch.allclose(logits[start : start + n], alone, atol=1e-4)
            labels = torch.tensor(row["labels"][1:])
            total += torch.nn.functional.cross_entropy(
                alone[:-1], labels, ignore_index=IGNORE, reduction="sum"
            )
            count += int((labels != IGNORE).sum())
            start += n
        shifted = packed["labels"][0, 1:]
        packed_loss = torch.nn.functional.cross_entropy(logits[:-1], shifted, ignore_index=IGNORE)
    assert packed_loss.item() == pytest.approx(total.item() / count, rel=1e-5)
