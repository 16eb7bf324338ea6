"""Benchmark: a `--min-stars 100` GitHub crawl against the loopback double.

The double runs in a child process (so its CPU and memory are not counted as the crawler's)
with 20,000 repositories of which 3,000 qualify, and refuses any GraphQL request beyond two
in flight, like a strict secondary limit. Prints wall time, GraphQL points per qualifying
repository, secondary-limit refusals (target 0) and the crawler's peak RSS, and checks that
the crawl recorded exactly the qualifying repositories.

    python bench/github_crawl.py                  # 20,000 / 3,000, tiny tarballs fetched
    python bench/github_crawl.py --no-tarballs    # metadata only
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx
import psutil
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harvest.github.config import GitHubSettings
from harvest.github.crawl import harvest_github
from tests.fakes.github_population import make_population
from tests.fakes.github_server import serve_github

TOKEN = "bench-token"


def _serve(total: int, qualifying: int, urls: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    population = make_population(total=total, qualifying=qualifying, seed=2026)
    with serve_github(population, {TOKEN}) as fake:
        fake.switches.max_concurrent = 2
        urls.put(fake.base_url)
        stop.wait()


class PeakRss:
    """Samples this process's RSS with psutil every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20_000)
    parser.add_argument("--qualifying", type=int, default=3_000)
    parser.add_argument("--no-tarballs", action="store_true", help="record metadata only")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    urls: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    stop = mp.Event()
    child = mp.Process(target=_serve, args=(args.repos, args.qualifying, urls, stop))
    child.start()
    try:
        base_url = urls.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            figures = _crawl(base_url, Path(tmp), args)
    finally:
        stop.set()
        child.join()
    for key, value in figures.items():
        print(f"{key:40s} {value}")
    return 0 if figures["exact result"] else 1


def _crawl(base_url: str, root: Path, args: argparse.Namespace) -> dict[str, object]:
    settings = GitHubSettings(
        api_url=f"{base_url}/graphql",
        catalog=root / "catalog.duckdb",
        data_dir=root / "data",
        fetch_sources=not args.no_tarballs,
        concurrency=args.concurrency,
    )
    with PeakRss() as rss:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = asyncio.run(harvest_github(settings, SecretStr(TOKEN), show_progress=False))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server = httpx.get(f"{base_url}/_fake/counters").json()
    expected = make_population(total=args.repos, qualifying=args.qualifying, seed=2026).qualifying(
        100
    )
    con = duckdb.connect(str(settings.catalog), read_only=True)
    recorded = {n for (n,) in con.execute("SELECT name_with_owner FROM github_repos").fetchall()}
    con.close()
    budget = result.search.api.budget
    stats = result.search.stats
    return {
        "repositories / qualifying": f"{args.repos} / {len(expected)}",
        "tarballs": "skipped (metadata only)" if args.no_tarballs else "fetched (tiny)",
        "exact result": recorded == expected,
        "wall seconds": round(wall, 2),
        "crawler CPU seconds": round(cpu, 2),
        "qualifying repos per second": round(len(recorded) / wall, 1),
        "search parts (after splitting)": stats.parts,
        "graphql requests": budget.requests,
        "graphql points spent": budget.points_spent,
        "points per qualifying repository": round(budget.points_spent / max(len(expected), 1), 4),
        "secondary-limit refusals (crawler saw)": budget.refusals,
        "secondary-limit refusals (server sent)": server["refused_secondary"],
        "max graphql requests in flight": server["max_in_flight"],
        "tarball requests": server["tarballs"],
        "files kept": result.counts["files_kept"],
        "peak RSS MiB (crawler, psutil)": round(rss.peak / 2**20, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
