"""Decontamination: drop rows that overlap an evaluation benchmark.

Two checks, as in StarCoder2 and DeepSeek-Coder: a benchmark text found as a substring of the
row after whitespace is squashed, or any word `ngram` (default 10) shared with a benchmark.
Benchmark texts of at least `ngram` words are fully covered by the n-gram index (a substring
contains all of its inner n-grams; its two end words may be cut), so only texts shorter than
`ngram + 2` words need the substring scan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transform.config import DecontamConfig
from transform.steps.base import Filter, Row
from transform.steps.dedup_minhash import shingle_hashes, token_hashes
from transform.steps.text import squash_space, words


class BenchmarkError(ValueError):
    """A benchmark file is missing or not JSONL."""


@dataclass
class BenchmarkIndex:
    """Sorted n-gram hashes of every benchmark text plus the short texts for substring checks."""

    ngram: int
    grams: np.ndarray
    short_texts: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    texts: int = 0

    def ngram_hashes(self, text: str) -> np.ndarray:
        tokens, counts = token_hashes([text])
        if counts[0] < self.ngram:
            return np.zeros(0, np.uint64)
        return shingle_hashes(tokens, counts, self.ngram)[0]

    def matches(self, text: str) -> str | None:
        """'ngram' or 'substring' when `text` overlaps a benchmark, else None."""
        if len(self.grams) and _any_in(self.ngram_hashes(text), self.grams):
            return "ngram"
        if self.short_texts:
            squashed = squash_space(text)
            if any(s in squashed for s in self.short_texts):
                return "substring"
        return None


def _any_in(values: np.ndarray, sorted_set: np.ndarray) -> bool:
    """Whether any of `values` is in `sorted_set` (binary search; no sort of `values`)."""
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return bool((sorted_set[at] == values).any())


def read_benchmark_texts(path: Path, fields: list[str]) -> list[str]:
    """The configured fields of every JSONL line of `path`."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"cannot read benchmark file {path}: {exc}") from None
    texts = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
        texts += [item[f] for f in fields if isinstance(item.get(f), str) and item[f].strip()]
    return texts


def build_index(cfg: DecontamConfig) -> BenchmarkIndex:
    """Load every benchmark file of the config into one index."""
    grams, short, files, count = [], [], {}, 0
    index = BenchmarkIndex(cfg.ngram, np.zeros(0, np.uint64))
    for path in cfg.benchmarks:
        texts = read_benchmark_texts(path, cfg.fields)
        files[Path(path).name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for text in texts:
            count += 1
            if len(words(text)) >= cfg.ngram + 2:
                grams.append(index.ngram_hashes(text))
            elif len(squash_space(text)) >= cfg.min_substring_chars:
                short.append(squash_space(text))
    index.grams = np.unique(np.concatenate(grams)) if grams else np.zeros(0, np.uint64)
    index.short_texts, index.files, index.texts = short, files, count
    return index


class DecontamFilter(Filter):
    """Drops rows whose fields overlap the benchmark index."""

    name = "decontam"

    def __init__(self, index: BenchmarkIndex, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.index = index
        self.fields = fields

    def keep(self, row: Row) -> str | None:
        for name in self.fields:
            hit = self.index.matches(row.get(name) or "")
            if hit:
                return hit
        return None
