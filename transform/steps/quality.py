"""Quality rules in the style of The Vault: prose-bearing docs, sane code sizes, no generated or
test code in instruction pairs, no records with parse errors."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from transform.config import QualityConfig
from transform.steps.base import Filter, Row
from transform.steps.text import squash_space, words

GENERATED_MARKERS = re.compile(
    r"auto-?generated|automatically generated|generated automatically|this file is generated"
    r"|@generated|do not edit",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```.*?(```|\Z)", re.DOTALL)
_EXAMPLES = re.compile(
    r"^#+\s*examples?\b.*?(?=^#+\s|\Z)", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_IEX = re.compile(r"^\s*(iex|\.\.\.)(\(\d+\))?>.*$", re.MULTILINE)
_INDENTED = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)
_PLACEHOLDER = re.compile(
    r"^(documentation for `?[\w.]+`?\.?|hello world\.?|todo\.?|fixme\.?|tbd\.?|\.\.\.|"
    r"(add|write) (docs|documentation)( here)?\.?|description\.?|no docs?\.?)$",
    re.IGNORECASE,
)
PRIVATE_KINDS = {"defp", "defmacrop", "defguardp"}
_TODO_LINE = re.compile(r"^\s*(todo|fixme|xxx)\b.*$", re.IGNORECASE | re.MULTILINE)


def is_test_path(path: str) -> bool:
    """ExUnit files and anything under a `test/` directory."""
    p = PurePosixPath(path)
    return p.name.endswith("_test.exs") or "test" in p.parts[:-1]


def is_generated(path: str, text: str) -> bool:
    """StarCoder2's rule: a generated marker in the first five lines (or a build/deps path)."""
    parts = PurePosixPath(path).parts
    if "_build" in parts or "deps" in parts:
        return True
    head = "\n".join(text.splitlines()[:5])
    return bool(GENERATED_MARKERS.search(head))


def doc_prose(doc: str) -> str:
    """The doc without examples, code blocks and doctests: the prose a reader learns from."""
    text = _FENCE.sub(" ", doc)
    text = _EXAMPLES.sub(" ", text)
    text = _IEX.sub(" ", text)
    return _INDENTED.sub(" ", text)


def doc_problem(doc: str | None, cfg: QualityConfig) -> str | None:
    """Why a doc is unusable as an instruction or answer, or None if it is fine."""
    if not doc or not doc.strip():
        return "no_doc"
    if len(doc) > cfg.max_doc_chars:
        return "doc_too_long"
    stripped = doc.strip()
    prose = doc_prose(stripped)
    if _PLACEHOLDER.match(squash_space(prose)):
        return "doc_placeholder"
    if GENERATED_MARKERS.search(stripped):
        return "doc_generated"
    if _TODO_LINE.search(prose) and len(words(_TODO_LINE.sub(" ", prose))) < cfg.min_doc_tokens:
        return "doc_todo"
    if len([w for w in words(prose) if not w.isdigit()]) < cfg.min_doc_tokens:
        return "doc_too_short"
    return None


def code_problem(code: str, cfg: QualityConfig) -> str | None:
    """Why code is too small or too large to be an answer, or None."""
    lines = code.count("\n") + 1
    if len(code.strip()) < cfg.min_code_chars or lines < cfg.min_code_lines:
        return "code_too_short"
    if len(code) > cfg.max_code_chars or lines > cfg.max_code_lines:
        return "code_too_long"
    return None


class FunctionQuality(Filter):
    """Keeps documented public functions whose doc and code pass the rules."""

    name = "quality"

    def __init__(self, cfg: QualityConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def keep(self, row: Row) -> str | None:
        if row.get("has_errors"):
            return "parse_errors"
        if row.get("kind") in PRIVATE_KINDS:
            return "private"
        if row.get("doc_status") in ("hidden", "false"):
            return "doc_hidden"
        doc = row.get("doc") if isinstance(row.get("doc"), str) else None
        return doc_problem(doc, self.cfg) or code_problem(row.get("source") or "", self.cfg)


class PairFile(Filter):
    """Files whose records may become instruction pairs: not tests, not generated."""

    name = "pair_files"

    def keep(self, row: Row) -> str | None:
        if is_test_path(row["path"]):
            return "test_file"
        if row.get("generated"):
            return "generated"
        return None
