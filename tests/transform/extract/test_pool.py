"""The process pool: input order, unreadable files, and a crashing or hanging file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from transform.extract import FileResult, extract_files, extract_path

CODE = b'defmodule M%d do\n  @doc "F."\n  def f, do: 1\nend\n'


def crashing_extractor(path: str, max_bytes: int) -> FileResult:
    """Kills its worker on `crash.ex`, hangs on `hang.ex`, raises on `boom.ex`: parser bugs."""
    if path.endswith("crash.ex"):
        os._exit(3)
    if path.endswith("hang.ex"):
        time.sleep(30)
    if path.endswith("boom.ex"):
        raise ValueError("extractor bug")
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


def with_bad_file(tmp_path: Path, name: str) -> list[str]:
    paths = make_files(tmp_path, 4)
    (tmp_path / name).write_bytes(CODE % 9)
    paths.insert(2, str(tmp_path / name))
    return paths


def test_a_crashing_file_costs_only_itself(tmp_path: Path) -> None:
    paths = with_bad_file(tmp_path, "crash.ex")
    run = extract_files(paths, workers=2, chunk_files=2, extractor=crashing_extractor)
    results = list(run)
    assert [r.path for r in results] == paths
    assert [r.problems for r in results] == [(), (), ("worker_crashed",), (), ()]
    assert sum(1 for r in results if r.functions) == 4


def test_a_hanging_file_times_out_alone(tmp_path: Path) -> None:
    paths = with_bad_file(tmp_path, "hang.ex")
    run = extract_files(paths, workers=2, chunk_files=1, timeout=3, extractor=crashing_extractor)
    results = list(run)
    assert [r.path for r in results] == paths
    assert [r.problems for r in results] == [(), (), ("timeout",), (), ()]


def test_an_exception_in_the_extractor_is_recorded(tmp_path: Path) -> None:
    paths = with_bad_file(tmp_path, "boom.ex")
    run = extract_files(paths, workers=2, chunk_files=2, extractor=crashing_extractor)
    assert [r.problems for r in run] == [(), (), ("error: ValueError",), (), ()]
