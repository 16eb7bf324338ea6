"""Extraction throughput against tree-sitter parsing alone, on one core and on all cores.

Builds a corpus from the test fixtures (each copy renames its modules, so no two files are
identical), then times, in MB/s of Elixir source: parse only and full extraction, in-process on
one core and through a process pool on every core. Parsing alone is the floor extraction cannot
beat; the ratio says how much the Python walk costs.

    python -m bench.extract_vs_parse [--mb 4] [--workers N] [--repeat 3] [--corpus DIR]
                                     [--breakdown]

`--breakdown` prints instead where one core's CPU time goes (ms per MB): parsing, the walk
over the tree, building the records, and the rest of `extract_source`.
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
from transform.extract.elixir import extract_tree, walk_tree
from transform.extract.parse import parse

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "elixir"


def build_corpus(directory: Path, megabytes: float, source: Path = FIXTURES) -> list[Path]:
    """Copies of `source`'s .ex files with renamed modules until the corpus reaches `megabytes`."""
    sources = [p.read_bytes() for p in sorted(source.rglob("*.ex"))]
    if not any(sources):
        raise SystemExit(f"no Elixir source (.ex files with content) under {source}")
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


def serial(fn: Callable[[str], int], paths: list[str], clock=time.perf_counter) -> float:
    """In this process; `clock=time.process_time` counts only our CPU time (robust to load)."""
    start = clock()
    total = sum(fn(p) for p in paths)
    return total / 1e6 / (clock() - start)


def pooled(fn: Callable[[str], int], paths: list[str], workers: int) -> float:
    """`fn` over a warm process pool; only byte counts come back, so no result transfer."""
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(fn, paths[:workers]))
        start = time.perf_counter()
        total = sum(pool.map(fn, paths, chunksize=8))
        return total / 1e6 / (time.perf_counter() - start)


def pooled_extract(paths: list[str], workers: int, clock=time.perf_counter) -> float:
    """`extract_files` end to end: pool start, records pickled back to this process."""
    start = clock()
    total = sum(r.size for r in extract_files(paths, workers=workers))
    return total / 1e6 / (clock() - start)


def all_cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the pool's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(paths: list[str], workers: int, repeat: int) -> dict[str, float]:
    """Best MB/s per mode; the modes take turns in each round so load spikes hit all alike."""
    modes: dict[str, Callable[[], float]] = {
        "parse_1": lambda: serial(_parse_file, paths),
        "extract_1": lambda: serial(_extract_file, paths),
        "parse_cpu": lambda: serial(_parse_file, paths, time.process_time),
        "extract_cpu": lambda: serial(_extract_file, paths, time.process_time),
        "parse_n": lambda: pooled(_parse_file, paths, workers),
        "extract_n_work": lambda: pooled(_extract_file, paths, workers),
        "extract_n": lambda: pooled_extract(paths, workers),
        "extract_n_cpu": lambda: pooled_extract(paths, workers, all_cpu_seconds),
    }
    best = dict.fromkeys(modes, 0.0)
    for _ in range(repeat):
        for name, run in modes.items():
            best[name] = max(best[name], run())
    return best


def breakdown(paths: list[str], repeat: int) -> dict[str, float]:
    """CPU ms per MB of each stage on one core, best of `repeat`; later stages include earlier."""
    datas = [Path(p).read_bytes() for p in paths]
    megabytes = sum(map(len, datas)) / 1e6

    stages: dict[str, Callable[[bytes], object]] = {
        "parse": parse,
        "parse + walk": lambda data: walk_tree(data, "x.ex", parse(data).root_node),
        "parse + walk + records": lambda data: extract_tree(data, "x.ex", parse(data).root_node),
        "extract_source": lambda data: extract_source(data, "x.ex"),
    }
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(repeat):
        for name, stage in stages.items():
            start = time.process_time()
            for data in datas:
                stage(data)
            best[name] = min(best[name], (time.process_time() - start) * 1e3 / megabytes)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="corpus size in MB")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--corpus", type=Path, default=FIXTURES, help="directory of .ex files to repeat"
    )
    parser.add_argument("--breakdown", action="store_true", help="CPU ms/MB per stage only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="extract-bench-") as tmp:
        paths = [str(p) for p in build_corpus(Path(tmp), args.mb, args.corpus)]
        size = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"corpus: {len(paths)} files, {size:.1f} MB from {args.corpus}; load {_load()}")
        if args.corpus == FIXTURES:
            print(
                "note: the fixtures pack a module every 300 bytes and a def every 100 (real code: "
                "one per 9 kB and 750 B),\nso per-statement Python work dominates here; "
                "`--corpus DIR` with real Elixir source gives the typical ratio"
            )
        if args.breakdown:
            for name, ms in breakdown(paths, args.repeat).items():
                print(f"{name:26}{ms:8.1f} CPU ms/MB")
            return
        b = measure(paths, args.workers, args.repeat)
    n = args.workers
    print(f"{'MB/s':34}{'parse only':>12}{'extract':>10}{'ratio':>8}")
    rows = [
        ("1 core", b["parse_1"], b["extract_1"]),
        ("1 core, CPU time", b["parse_cpu"], b["extract_cpu"]),
        (f"{n} workers, records discarded", b["parse_n"], b["extract_n_work"]),
        (f"{n} workers, extract_files()", b["parse_n"], b["extract_n"]),
    ]
    for label, parse_rate, extract_rate in rows:
        print(f"{label:34}{parse_rate:12.2f}{extract_rate:10.2f}{extract_rate / parse_rate:8.2f}")
    print(
        f"scaling on {n} workers: parse {b['parse_n'] / b['parse_1']:.2f}x, extract "
        f"{b['extract_n_work'] / b['extract_1']:.2f}x (work), "
        f"{b['extract_n'] / b['extract_1']:.2f}x (extract_files); load {_load()}"
    )
    print(
        f"pool CPU efficiency (MB per CPU-second of all processes in extract_files, relative "
        f"to one core): {b['extract_n_cpu'] / b['extract_cpu']:.2f}; on idle cores the scaling "
        f"should be about that times {n}"
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
