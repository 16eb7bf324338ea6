"""Per-file work done in the build's process pool: extract, make rows, filter, hash for dedup.

Everything CPU-bound per file runs here, in parallel: tree-sitter extraction, task templates,
quality, secret and decontamination checks, and the MinHash band keys. What needs the whole
corpus (exact and near dedup, splits) stays in the parent.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transform.config import BuildConfig
from transform.steps.base import Row
from transform.steps.decontam import DecontamFilter, build_index
from transform.steps.dedup_minhash import MinHasher
from transform.steps.quality import FunctionQuality, PairFile, code_problem, is_generated
from transform.steps.secrets import SecretsStep, find_secrets
from transform.steps.tasks import function_rows, otp_module_row, reindent
from transform.steps.text import code_key, xxhash_id

log = logging.getLogger("elixir_harvest.transform")

UNUSABLE_DOCS = {"doc_placeholder", "doc_generated", "doc_todo"}
PROVENANCE = ("source", "origin", "origin_version", "path", "license")


@dataclass
class FileJob:
    """One source file to process; `blob` is its path in the blob store."""

    source: str
    origin: str
    origin_version: str
    path: str
    license: str | None
    blob: str


@dataclass
class Unit:
    """A deduplication unit: the code that instruct rows (or a corpus file) are made from."""

    code: str
    rows: list[Row]
    key: str = ""  # exact-dedup key of the whitespace-normalised code
    bands: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # LSH band keys
    has_tokens: bool = True


@dataclass
class FileOutput:
    corpus: Unit | None = None
    units: list[Unit] = field(default_factory=list)
    counts: dict[str, Counter[str]] = field(default_factory=dict)


class FileProcessor:
    """Holds the per-worker state (filters, benchmark index, hasher) built once per process."""

    def __init__(self, cfg: BuildConfig) -> None:
        self.cfg = cfg
        self.hasher = MinHasher(cfg.dedup)
        self.index = index = build_index(cfg.decontam)
        self.decontam = {
            "instruct": DecontamFilter(index, ("prompt", "completion")),
            "corpus": DecontamFilter(index, ("text",)),
        }
        self.secrets = {
            "instruct": SecretsStep(cfg.secrets, ("prompt", "completion")),
            "corpus": SecretsStep(cfg.secrets, ("text",)),
        }
        self.quality = FunctionQuality(cfg.quality)
        self.pair_files = PairFile()
        self.files: Counter[str] = Counter()
        self.lines: list[str] = []
        self.suspect: tuple[bool, bool] = (True, True)  # (may hold secrets, may be contaminated)

    def process(self, job: FileJob) -> FileOutput:
        """All rows of one file, with the counts of what was dropped and why."""
        self._reset()
        try:
            data = Path(job.blob).read_bytes()
        except OSError:
            log.warning(
                "%s %s@%s %s: blob missing from the store; skipped",
                job.source,
                job.origin,
                job.origin_version,
                job.path,
            )
            self.files["dropped_blob_missing"] += 1
            return FileOutput(counts=self._counts())
        result = self._extract(job, data)
        if result is None:
            return FileOutput(counts=self._counts())
        text = data.decode("utf-8", errors="replace")
        self.lines = text.splitlines()
        # Rows are cut from this text, so a clean file needs no per-row checks (the slow part).
        self.suspect = (bool(find_secrets(text)), self.index.matches(text) is not None)
        generated = is_generated(job.path, text)
        out = FileOutput()
        out.corpus = self._corpus_unit(job, data, text, generated, result)
        out.units = self._instruct_units(job, result, generated)
        self._attach_bands([u for u in [out.corpus, *out.units] if u is not None])
        out.counts = self._counts()
        return out

    def _extract(self, job: FileJob, data: bytes) -> Any:
        from transform.extract import extract_source

        try:
            result = extract_source(data, job.path, self.cfg.max_file_bytes)
        except Exception as exc:  # a bug or a pathological file must not stop the build
            log.warning(
                "%s %s@%s %s: extraction failed (%s: %s); file skipped",
                job.source,
                job.origin,
                job.origin_version,
                job.path,
                type(exc).__name__,
                exc,
            )
            self.files["dropped_extract_failed"] += 1
            return None
        blocking = {"not_utf8", "empty", "binary", "too_large", "too_deep"} & set(
            result.problems or ()
        )
        if blocking:
            self.files[f"dropped_{sorted(blocking)[0]}"] += 1
            return None
        self.files["extracted"] += 1
        return result

    def _corpus_unit(
        self, job: FileJob, data: bytes, text: str, generated: bool, result: Any
    ) -> Unit | None:
        reason = (
            "generated"
            if generated
            else "parse_errors"
            if result.has_errors
            else "too_large"
            if len(data) > self.cfg.quality.max_corpus_file_bytes
            else None
        )
        if reason:
            self.files[f"corpus_dropped_{reason}"] += 1
            return None
        row = {
            **_provenance(job),
            "text": text,
            "start_line": 1,
            "end_line": text.count("\n") + (0 if text.endswith("\n") else 1),
        }
        if not self._checked("corpus", row):
            return None
        row["id"] = xxhash_id("corpus", job.source, job.origin, job.origin_version, job.path)
        return Unit(row["text"], [row])

    def _instruct_units(self, job: FileJob, result: Any, generated: bool) -> list[Unit]:
        if not self.pair_files.check({"path": job.path, "generated": generated}):
            return []
        modules = [self._reindented(dict(vars(m))) for m in result.modules]
        moduledocs = {
            m["module"]: m.get("moduledoc") for m in modules if isinstance(m.get("moduledoc"), str)
        }
        units = []
        # Shallow dicts (`vars`) are enough here and much cheaper than the recursive to_dict().
        for fn in (self._reindented(dict(vars(f))) for f in result.functions):
            units.append(self._function_unit(job, fn, moduledocs.get(fn["module"])))
        for mod in modules:
            units.append(self._module_unit(job, mod))
        return [u for u in units if u is not None and u.rows]

    def _function_unit(
        self, job: FileJob, fn: dict[str, Any], moduledoc: str | None
    ) -> Unit | None:
        if fn.get("has_errors") or code_problem(fn.get("source") or "", self.cfg.quality):
            self.quality.check(fn)  # counts the reason
            return None
        doc_ok = self.quality.check(fn)
        if self.quality.last_reason in UNUSABLE_DOCS:
            return None  # a placeholder or generated doc discredits its examples too
        rows = function_rows(fn, moduledoc, self.cfg.tasks, self.cfg.phrasing_seed, doc_ok)
        return self._unit(job, fn["source"], list(rows))

    def _module_unit(self, job: FileJob, mod: dict[str, Any]) -> Unit | None:
        if "otp_module" not in self.cfg.tasks or not mod.get("otp_kind"):
            return None
        if (
            mod.get("has_errors")
            or len(mod.get("source") or "") > self.cfg.quality.max_module_chars
        ):
            self.files["otp_module_dropped_size_or_errors"] += 1
            return None
        row = otp_module_row(mod, self.cfg.phrasing_seed)
        return self._unit(job, mod["source"], [row] if row else [])

    def _reindented(self, record: dict[str, Any]) -> dict[str, Any]:
        start = int(record.get("start_line") or 1)
        line = self.lines[start - 1] if 0 < start <= len(self.lines) else ""
        record["source"] = reindent(record.get("source") or "", line)
        return record

    def _unit(self, job: FileJob, code: str, rows: list[Row]) -> Unit:
        kept = []
        for row in rows:
            row.update(_provenance(job))
            if self._checked("instruct", row):
                row["id"] = xxhash_id(
                    row["task"],
                    job.source,
                    job.origin,
                    job.origin_version,
                    job.path,
                    row["start_line"],
                    row["end_line"],
                )
                kept.append(row)
        return Unit(code, kept)

    def _checked(self, config: str, row: Row) -> bool:
        """Secrets (redact or drop) then decontamination, where the file scan found any."""
        task = row.get("task", "corpus")
        steps = [s for s, on in zip((self.secrets, self.decontam), self.suspect, strict=True) if on]
        for step in (s[config] for s in steps):
            before = Counter(step.stats)
            ok = step.check(row)
            for key, n in (step.stats - before).items():
                self.files[f"{step.name}:{task}:{key}"] += n
            if not ok:
                return False
        return True

    def _attach_bands(self, units: list[Unit]) -> None:
        if not units:
            return
        keys, has = self.hasher.keys_for([u.code for u in units])
        for unit, k, h in zip(units, keys, has, strict=True):
            unit.key, unit.bands, unit.has_tokens, unit.code = code_key(unit.code), k, bool(h), ""

    def _reset(self) -> None:
        self.files = Counter()
        self.quality.stats = Counter()
        self.pair_files.stats = Counter()

    def _counts(self) -> dict[str, Counter[str]]:
        return {
            "files": self.files,
            "quality": self.quality.stats,
            "pair_files": self.pair_files.stats,
        }


def _provenance(job: FileJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in PROVENANCE}


_PROCESSOR: FileProcessor | None = None


def init_worker(cfg: BuildConfig) -> None:
    """Pool initializer: build the per-process state once."""
    global _PROCESSOR
    _PROCESSOR = FileProcessor(cfg)


def process_file(job: FileJob) -> FileOutput:
    assert _PROCESSOR is not None, "init_worker was not called"
    return _PROCESSOR.process(job)


def process_chunk(jobs: list[FileJob]) -> list[FileOutput]:
    """A pool task: several files, to amortise the pickling round trip."""
    return [process_file(job) for job in jobs]
