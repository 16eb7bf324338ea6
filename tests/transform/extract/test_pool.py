"""The process pool: input order, unreadable files, and a crashing or hanging file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from transform.extract import FileResult, extract_files, extract_path

CODE = b'defmodule M%d do\n  @doc "F."\n  def f, do: 1\nend\n'


def crashing_extractor(path: str, max_bytes: int) -> FileResult:
    """Kills its worker on `crash.ex` and hangs on `hang.ex`, like a parser bug would."""
    if path.endswith("crash.ex"):
        os._exit(3)
    if path.endswith("hang.ex"):
        time.sleep(30)
    return extract_path(path, max_bytes)


def make_files(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"f{i}.ex"
        path.write_bytes(CODE % i)
        paths.append(str(path))
    return paths


def test_results_come_back_in_input_order(tmp_path: Path) -> None:
    paths = [*make_files(tmp_path, 7), str(tmp_path / "missing.ex")]
    results = list(extract_files(paths, workers=2, chunk_files=2))
    assert [r.path for r in results] == paths
    assert [r.modules[0].module for r in results[:7]] == [f"M{i}" for i in range(7)]
    assert results[-1].problems[0].startswith("unreadable")


def test_crash_and_hang_cost_only_their_own_file(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 4)
    for name in ("crash.ex", "hang.ex"):
        (tmp_path / name).write_bytes(CODE % 9)
    paths[1:1] = [str(tmp_path / "crash.ex")]
    paths[4:4] = [str(tmp_path / "hang.ex")]
    results = list(
        extract_files(paths, workers=2, chunk_files=2, timeout=1.5, extractor=crashing_extractor)
    )
    assert [r.path for r in results] == paths
    problems = {Path(r.path).name: r.problems for r in results}
    assert problems["crash.ex"] == ("worker_crashed",)
    assert problems["hang.ex"] == ("timeout",)
    assert sum(1 for r in results if r.functions) == 4
