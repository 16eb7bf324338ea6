"""BuildConfig: every setting of `python -m transform build`, validated with pydantic.

Defaults live here once; `configs/transform.yaml` overrides them and flags override the YAML
(see harvest.settings). The resolved config is written into the snapshot manifest, so every
threshold that shaped a snapshot can be read back from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TASKS = ("doc_to_code", "code_to_doc", "otp_module", "doctest_to_code")

PERMISSIVE_LICENSES = [
    "0BSD",
    "Apache-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "ISC",
    "MIT",
    "MIT-0",
    "PostgreSQL",
    "Unlicense",
    "WTFPL",
    "X11",
    "Zlib",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DedupConfig(_Strict):
    """Parameters shared by exact and near dedup, so the stages cannot disagree."""

    ngram: int = Field(5, ge=1, description="word shingle length for MinHash")
    num_perm: int = Field(256, ge=16, description="MinHash permutations")
    threshold: float = Field(0.7, gt=0, lt=1, description="Jaccard similarity treated as duplicate")
    bands: int = Field(25, ge=1, description="LSH bands (datasketch optimal for 0.7/256: 25x10)")
    rows: int = Field(10, ge=1, description="LSH rows per band")
    seed: int = Field(42, description="seed of the MinHash permutations")
    near: bool = Field(True, description="run MinHash near-dedup after exact dedup")

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupConfig:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm")
        return self


class QualityConfig(_Strict):
    """Vault-style doc and code checks for instruction pairs."""

    min_doc_tokens: int = Field(3, ge=0, description="prose words left after removing examples")
    max_doc_chars: int = Field(6000, ge=1)
    min_code_lines: int = Field(1, ge=1)
    max_code_lines: int = Field(200, ge=1)
    min_code_chars: int = Field(20, ge=1)
    max_code_chars: int = Field(12000, ge=1)
    max_module_chars: int = Field(20000, ge=1, description="largest module for otp_module")
    max_corpus_file_bytes: int = Field(200_000, ge=1, description="largest file in `corpus`")


class DecontamConfig(_Strict):
    """Benchmarks whose prompts or solutions must not appear in the snapshot."""

    benchmarks: list[Path] = Field(default_factory=list, description="JSONL benchmark files")
    fields: list[str] = Field(
        default_factory=lambda: ["prompt", "solution", "canonical_solution"],
        description="JSONL keys whose text is matched",
    )
    ngram: int = Field(10, ge=3, description="word n-gram length for overlap")
    min_substring_chars: int = Field(20, ge=1, description="shorter benchmark texts are ignored")


class BuildConfig(_Strict):
    """Settings of `python -m transform build`."""

    version: str = Field(
        "", pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="snapshot name, e.g. v3"
    )
    catalog: Path = Field(Path("catalog.duckdb"), description="DuckDB catalog file")
    data_dir: Path = Field(Path("data"), description="directory holding the blob store")
    output_dir: Path = Field(Path("datasets"), description="where datasets/<version>/ is written")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    chunk_timeout_s: float = Field(600, gt=0, description="give up when 16 files take longer")
    extensions: list[str] = Field(default_factory=lambda: [".ex", ".exs"])
    max_file_bytes: int = Field(1 << 20, ge=1, description="larger files are skipped")
    licenses: list[str] = Field(default_factory=lambda: list(PERMISSIVE_LICENSES))
    allow_unlicensed: bool = Field(False, description="keep files with no license")
    allow_non_permissive: bool = Field(False, description="keep files under other licenses")
    tasks: list[str] = Field(default_factory=lambda: list(TASKS))
    phrasing_seed: int = Field(1234, description="seed choosing each row's template phrasing")
    secrets: Literal["redact", "drop"] = Field("redact", description="what to do with secrets")
    validation_fraction: float = Field(0.05, ge=0, lt=1, description="share of origins")
    split_seed: int = Field(7, description="seed of the origin -> split hash")
    rows_per_shard_instruct: int = Field(50_000, ge=1)
    rows_per_shard_corpus: int = Field(20_000, ge=1)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    decontam: DecontamConfig = Field(default_factory=DecontamConfig)

    @model_validator(mode="after")
    def _known_tasks(self) -> BuildConfig:
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; choose from {list(TASKS)}")
        return self

    def snapshot_config(self) -> dict:
        """The settings that shape the snapshot's content (paths and workers left out)."""
        data = self.model_dump(
            mode="json",
            exclude={"catalog", "data_dir", "output_dir", "workers", "chunk_timeout_s", "version"},
        )
        data["decontam"]["benchmarks"] = [Path(p).name for p in self.decontam.benchmarks]
        return data
