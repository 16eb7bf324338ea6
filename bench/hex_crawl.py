"""Benchmark: harvest N packages from the loopback Hex server, against `curl --parallel`.

Prints wall time, tarballs/s, MB/s, peak RSS of the harvest process, 429s seen, and the ratio of
harvest throughput to curl fetching the same tarball list from the same server at the same
concurrency. Run: `python bench/hex_crawl.py --packages 2000` (add more sizes to see RSS stay flat).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.hex_server import FakePackage, FakeRelease, HexServer  # noqa: E402

WORDS = "state reply call cast init handle info worker supervisor child spec process".split()


def make_packages(count: int, seed: int = 7) -> list[FakePackage]:
    """Packages of 3-12 modules, 1-8 KiB each: the size range of typical Hex libraries."""
    rng = random.Random(seed)
    packages = []
    for i in range(count):
        name = f"bench_pkg_{i:05d}"
        files = {}
        for m in range(rng.randint(3, 12)):
            body = "\n".join(
                f'  @doc "{" ".join(rng.choices(WORDS, k=8))}"\n'
                f"  def f{j}(x), do: {{:{rng.choice(WORDS)}, x, {rng.randint(0, 10**9)}}}"
                for j in range(rng.randint(10, 60))
            )
            files[f"lib/{name}/m{m}.ex"] = f"defmodule M{i}.M{m} do\n{body}\nend\n".encode()
        packages.append(FakePackage(name, [FakeRelease("1.0.0", files)]))
    return packages


def peak_rss_of(cmd: list[str]) -> tuple[float, int, int]:
    """Run `cmd`, sampling its RSS; returns (seconds, peak bytes, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    handle = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    return time.perf_counter() - started, peak, proc.returncode


def run_once(count: int, concurrency: int) -> dict[str, float]:
    packages = make_packages(count)
    with HexServer(packages) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "key.pem").write_bytes(server.repo.public_key)
        total_bytes = sum(len(b) for b in server.repo.tarballs.values())
        urls = [f"{server.url}/tarballs/{name}.tar" for name in sorted(server.repo.tarballs)]
        config = work / "curl.cfg"
        config.write_text("".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in urls))
        curl_started = time.perf_counter()
        subprocess.run(
            [
                "curl",
                "--silent",
                "--parallel",
                "--parallel-max",
                str(concurrency),
                "--config",
                str(config),
            ],
            check=True,
        )
        curl_seconds = time.perf_counter() - curl_started
        server.repo.requests.clear()
        cmd = [
            sys.executable,
            "-m",
            "harvest",
            "hex",
            "--repo-url",
            server.url,
            "--api-url",
            f"{server.url}/api",
            "--repo-public-key",
            str(work / "key.pem"),
            "--catalog",
            str(work / "catalog.duckdb"),
            "--data-dir",
            str(work / "data"),
            "--concurrency",
            str(concurrency),
        ]
        seconds, peak, code = peak_rss_of(cmd)
        if code != 0:
            raise SystemExit(f"harvest exited {code}")
        threading.Event().wait(0.1)
        return {
            "packages": count,
            "seconds": seconds,
            "tarballs_per_s": count / seconds,
            "mb_per_s": total_bytes / 2**20 / seconds,
            "peak_rss_mb": peak / 2**20,
            "curl_seconds": curl_seconds,
            "curl_mb_per_s": total_bytes / 2**20 / curl_seconds,
            "ratio_vs_curl": curl_seconds / seconds,
            "api_429": server.repo.api_throttled,
            "total_mb": total_bytes / 2**20,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, nargs="+", default=[2000])
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{'packages':>8} {'MiB':>7} {'wall s':>7} {'tar/s':>7} {'MiB/s':>7} {'RSS MiB':>8} "
        f"{'curl s':>7} {'vs curl':>7} {'429s':>5}"
    )
    for count in args.packages:
        r = run_once(count, args.concurrency)
        print(
            f"{r['packages']:>8} {r['total_mb']:>7.1f} {r['seconds']:>7.2f} "
            f"{r['tarballs_per_s']:>7.1f} {r['mb_per_s']:>7.2f} {r['peak_rss_mb']:>8.1f} "
            f"{r['curl_seconds']:>7.2f} {r['ratio_vs_curl']:>7.2f} {r['api_429']:>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
