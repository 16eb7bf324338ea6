"""Helpers shared by the extraction tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from transform.extract import FileResult, FunctionRecord, extract_source

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "elixir"


def extract(code: str, path: str = "t.ex") -> FileResult:
    return extract_source(code.encode(), path)


def functions(code: str) -> dict[str, FunctionRecord]:
    """`Module.name/arity` -> record."""
    return {f"{f.module}.{f.name}/{f.arity}": f for f in extract(code).functions}


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
