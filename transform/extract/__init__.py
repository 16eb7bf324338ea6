"""Elixir source to module and function records (tree-sitter), checked against the compiler.

`extract_source` handles one file's bytes and never raises on bad input; `extract_files` runs it
over many files in a process pool (tree-sitter holds the GIL) and yields results in input order.
"""

from __future__ import annotations

from transform.extract.otp import resolve_project
from transform.extract.pool import extract_files, extract_path
from transform.extract.records import Doctest, FileResult, FunctionRecord, ModuleRecord, Use
from transform.extract.source import DEFAULT_MAX_BYTES, extract_source

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Doctest",
    "FileResult",
    "FunctionRecord",
    "ModuleRecord",
    "Use",
    "extract_files",
    "extract_path",
    "extract_source",
    "resolve_project",
]
