"""Benchmark: harvest N packages from the loopback Hex server, against `curl --parallel`.

Prints wall time, tarballs/s, MB/s, peak RSS of the harvest process, 429s seen, and the ratio of
harvest throughput to curl fetching the same tarball list from the same server at the same
concurrency. Run: `python bench/hex_crawl.py --packages 2000` (add more sizes to see RSS stay
flat), and with `--latency-ms 20` to emulate a CDN round trip instead of a loopback server
that answers at CPU speed.
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

WORDS = ["state", "reply", "call", "cast", "init", "handle"]
WORDS += ["info", "worker", "supervisor", "child", "spec", "process"]


def make_packages(count: int, seed: int = 7) -> list[FakePackage]:
    """Packages of 3-12 modules plus docs and assets with a long-tailed size (log-normal, median
    ~40 KiB of text before compression), closer to real Hex tarballs than bare modules."""
    rng = random.Random(seed)
    packages = []
    for i in range(count):
        name = f"bench_pkg_{i:05d}"
        extra = int(min(rng.lognormvariate(10.6, 1.0), 4 * 2**20))
        words = rng.choices([*WORDS, "the", "a", "of", "to", "and"], k=extra // 6)
        files = {"README.md": " ".join(words).encode()}
        for m in range(rng.randint(3, 12)):
            body = "\n".join(
                f'  @doc "{" ".join(rng.choices(WORDS, k=8))}"\n'
                f"  def f{j}(x), do: {{:{rng.choice(WORDS)}, x, {rng.randint(0, 10**9)}}}"
                for j in range(rng.randint(10, 60))
            )
            files[f"lib/{name}/m{m}.ex"] = f"defmodule M{i}.M{m} do\n{body}\nend\n".encode()
        packages.append(FakePackage(name, [FakeRelease("1.0.0", files)]))
    return packages


def peak_rss_of(cmd: list[str]) -> tuple[float, int, int, float]:
    """Run `cmd`, sampling its RSS; returns (seconds, peak bytes, exit code, CPU seconds)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    handle = psutil.Process(proc.pid)
    peak, cpu = 0, 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
            times = handle.cpu_times()
            cpu = times.user + times.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    return time.perf_counter() - started, peak, proc.returncode, cpu


def run_once(count: int, concurrency: int, latency: float) -> dict[str, float]:
    packages = make_packages(count)
    with HexServer(packages, delay=latency) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
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
            *server.harvest_flags(work),
            "--concurrency",
            str(concurrency),
        ]
        seconds, peak, code, cpu = peak_rss_of(cmd)
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
            "cpu_s": cpu,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, nargs="+", default=[2000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="server-side delay per request, emulating a CDN round trip",
    )
    args = parser.parse_args()
    print(
        f"{'packages':>8} {'MiB':>7} {'wall s':>7} {'tar/s':>7} {'MiB/s':>7} {'RSS MiB':>8} "
        f"{'CPU s':>6} {'curl s':>7} {'vs curl':>7} {'429s':>5}"
    )
    for count in args.packages:
        r = run_once(count, args.concurrency, args.latency_ms / 1000)
        print(
            f"{r['packages']:>8} {r['total_mb']:>7.1f} {r['seconds']:>7.2f} "
            f"{r['tarballs_per_s']:>7.1f} {r['mb_per_s']:>7.2f} {r['peak_rss_mb']:>8.1f} "
            f"{r['cpu_s']:>6.1f} {r['curl_seconds']:>7.2f} {r['ratio_vs_curl']:>7.2f} "
            f"{r['api_429']:>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
