"""`python -m transform extract PATH...`: show what extraction finds in Elixir files."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from harvest.cli import CommandError
from harvest.progress import ProgressReporter, print_summary
from harvest.settings import add_model_flags, load_settings, overrides_from_args
from transform.extract import FileResult, extract_files, resolve_project

HELP = "extract modules, documented functions, specs and OTP behaviours from Elixir files"

SUFFIXES = (".ex", ".exs")


class ExtractSettings(BaseModel):
    """Settings of `transform extract` (YAML via --config, flags win)."""

    workers: int | None = Field(None, ge=1, description="worker processes (default: all cores)")
    max_bytes: int = Field(1 << 20, ge=1, description="skip files larger than this (too_large)")
    timeout: float = Field(60.0, gt=0, description="seconds allowed per file")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help=".ex/.exs files or directories")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object per line on stdout")
    parser.add_argument("--config", type=Path, help="YAML file with the settings below")
    add_model_flags(parser, ExtractSettings)


def source_paths(paths: Sequence[Path]) -> list[str]:
    """The Elixir files under `paths` (directories searched recursively, sorted)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise CommandError(f"no such file or directory: {', '.join(missing)}")
    found: list[str] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                str(p) for p in sorted(path.rglob("*")) if p.suffix in SUFFIXES and p.is_file()
            )
        else:
            found.append(str(path))
    return found


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        ExtractSettings, args.config, overrides_from_args(args, ExtractSettings)
    )
    files = source_paths(args.paths)
    results: list[FileResult] = []
    with ProgressReporter("extract", total=len(files), unit="files", show_bytes=True) as progress:
        for result in extract_files(
            files, settings.workers, settings.max_bytes, timeout=settings.timeout
        ):
            results.append(result)
            progress.advance(1, result.size)
    results = resolve_project(results)
    if args.jsonl:
        write_jsonl(results, sys.stdout)
    else:
        print_table(results)
    print_summary("extract", summary(results))
    return 0


def write_jsonl(results: Iterable[FileResult], out) -> None:
    """One `file` object per file, then its `module` and `function` records."""
    for r in results:
        head = {
            "path": r.path,
            "has_errors": r.has_errors,
            "problems": list(r.problems),
            "size": r.size,
        }
        out.write(json.dumps({"record": "file", **head}, ensure_ascii=False) + "\n")
        for record, kind in [
            *((m, "module") for m in r.modules),
            *((f, "function") for f in r.functions),
        ]:
            out.write(json.dumps({"record": kind, **record.to_dict()}, ensure_ascii=False) + "\n")


def print_table(results: Iterable[FileResult]) -> None:
    table = Table(title="extracted records")
    for column in ("file", "lines", "record", "name", "doc", "details"):
        table.add_column(column)
    for r in results:
        for m in r.modules:
            details = ", ".join(filter(None, [m.otp_kind, *m.behaviours]))
            table.add_row(
                r.path,
                f"{m.start_line}-{m.end_line}",
                "module",
                m.module,
                m.moduledoc_status,
                details,
            )
        for f in r.functions:
            details = f"{f.kind}, {f.clauses} clauses" + (
                f", {f.defaults} defaults" * bool(f.defaults)
            )
            table.add_row(
                r.path,
                f"{f.start_line}-{f.end_line}",
                "function",
                f"{f.module}.{f.name}/{f.arity}",
                f.doc_status,
                details,
            )
        if r.problems:
            table.add_row(r.path, "", "problems", ", ".join(r.problems), "", "")
    Console().print(table)


def summary(results: Sequence[FileResult]) -> dict[str, int | str]:
    problems = Counter(p.split(":")[0] for r in results for p in r.problems)
    functions = [f for r in results for f in r.functions]
    return {
        "files": len(results),
        "modules": sum(len(r.modules) for r in results),
        "functions": len(functions),
        "documented public functions": sum(1 for f in functions if f.doc_status == "doc"),
        "files with parse errors": sum(1 for r in results if r.has_errors),
        "problems": ", ".join(f"{k}: {v}" for k, v in sorted(problems.items())) or "none",
    }
