"""Extraction throughput against tree-sitter parsing alone, on one core and on all cores.

Builds a corpus from the test fixtures (each copy renames its modules, so no two files are
identical), then times, in MB/s of Elixir source: parse only and full extraction, in-process on
one core and through a process pool on every core. Parsing alone is the floor extraction cannot
beat; the ratio says how much the Python walk costs.

    python -m bench.extract_vs_parse [--mb 4] [--workers N] [--repeat 3] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from transform.extract import extract_files, extract_source
from transform.extract.parse import parse

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "elixir"


def build_corpus(directory: Path, megabytes: float, source: Path = FIXTURES) -> list[Path]:
    """Copies of `source`'s .ex files with renamed modules until the corpus reaches `megabytes`."""
    sources = [p.read_bytes() for p in sorted(source.rglob("*.ex"))]
    paths: list[Path] = []
    total, copy = 0, 0
    while total < megabytes * 1e6:
        for i, data in enumerate(sources):
            variant = re.sub(rb"\bdefmodule ([A-Z])", rb"defmodule V%d.\1" % copy, data)
            path = directory / f"c{copy:04d}_{i}.ex"
            path.write_bytes(variant)
            paths.append(path)
            total += len(variant)
        copy += 1
    return paths


def _parse_file(path: str) -> int:
    data = Path(path).read_bytes()
    parse(data)
    return len(data)


def _extract_file(path: str) -> int:
    data = Path(path).read_bytes()
    extract_source(data, path)
    return len(data)


def serial(fn: Callable[[str], int], paths: list[str]) -> float:
    start = time.perf_counter()
    total = sum(fn(p) for p in paths)
    return total / 1e6 / (time.perf_counter() - start)


def pooled_parse(paths: list[str], workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_parse_file, paths[:workers]))  # warm the workers
        start = time.perf_counter()
        total = sum(pool.map(_parse_file, paths, chunksize=8))
        return total / 1e6 / (time.perf_counter() - start)


def pooled_extract(paths: list[str], workers: int) -> float:
    start = time.perf_counter()
    total = sum(r.size for r in extract_files(paths, workers=workers))
    return total / 1e6 / (time.perf_counter() - start)


def best(repeat: int, fn: Callable[[], float]) -> float:
    """Best of `repeat` runs: the least disturbed by other load on a shared machine."""
    return max(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="corpus size in MB")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--corpus", type=Path, default=FIXTURES, help="directory of .ex files to repeat"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="extract-bench-") as tmp:
        paths = [str(p) for p in build_corpus(Path(tmp), args.mb, args.corpus)]
        size = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"corpus: {len(paths)} files, {size:.1f} MB; {args.workers} workers")
        parse_1 = best(args.repeat, lambda: serial(_parse_file, paths))
        extract_1 = best(args.repeat, lambda: serial(_extract_file, paths))
        parse_n = best(args.repeat, lambda: pooled_parse(paths, args.workers))
        extract_n = best(args.repeat, lambda: pooled_extract(paths, args.workers))
    print(f"{'':24}{'parse only':>12}{'extract':>10}{'ratio':>8}")
    print(f"{'1 core (MB/s)':24}{parse_1:12.2f}{extract_1:10.2f}{extract_1 / parse_1:8.2f}")
    label = f"{args.workers} cores (MB/s)"
    print(f"{label:24}{parse_n:12.2f}{extract_n:10.2f}{extract_n / parse_n:8.2f}")
    print(
        f"scaling: parse {parse_n / parse_1:.2f}x, extract {extract_n / extract_1:.2f}x "
        f"on {args.workers} cores"
    )


if __name__ == "__main__":
    main()
