"""Benchmark: harvest N packages from the loopback Hex server, against `curl --parallel`.

Prints wall time, tarballs/s, MB/s, peak RSS and CPU time of the harvest (its release worker
processes included), 429s seen, and the ratio of harvest throughput to curl fetching the same
tarball list from the same server with as many transfers in flight as the harvest has download
slots. `--latency-ms` sets the server's delay before each answer, one run per value: 0 is a
loopback server answering at CPU speed (the harvest is then bound by its own CPU: it verifies,
unpacks and records what curl writes to /dev/null), 20-40 emulates the round trip to a CDN edge.
Run: `python -m bench.hex_crawl --packages 2000 --latency-ms 0 20 40` (add more package counts
to see RSS stay flat).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harvest.hex.registry import decode_versions  # noqa: E402
from tests.fakes.hex_server import (  # noqa: E402
    FakePackage,
    FakeRelease,
    HexServer,
    harvest_flags,
)

WORDS = ["state", "reply", "call", "cast", "init", "handle"]
WORDS += ["info", "worker", "supervisor", "child", "spec", "process"]


def real_release_counts() -> list[int]:
    """Releases per package on the real Hex.pm (the signed 2021 /versions in the test fixtures:
    mean 6.2, median 3, 99th percentile 49), so the registry the crawler decodes and holds is
    as big per package as the real one."""
    fixtures = ROOT / "tests" / "fixtures" / "hexpm"
    entries = decode_versions(
        (fixtures / "versions-2021.signed.gz").read_bytes(),
        (fixtures / "hexpm_public_key.pem").read_bytes(),
    )
    return [len(e.versions) for e in entries]


def make_packages(count: int, seed: int = 7) -> list[FakePackage]:
    """Packages of 3-12 modules plus docs and assets with a long-tailed size (log-normal, median
    ~40 KiB of text before compression), closer to real Hex tarballs than bare modules. Each has
    as many older releases as a real package drawn at random (only mix.exs in them: the crawl
    fetches the newest release, but it reads and keeps every release in the registry)."""
    rng = random.Random(seed)
    release_counts = real_release_counts()
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
        older = [
            FakeRelease(f"0.{n}.0", {"mix.exs": f"# {name} 0.{n}.0\n".encode()})
            for n in range(rng.choice(release_counts) - 1)
        ]
        packages.append(FakePackage(name, [*older, FakeRelease("1.0.0", files)]))
    return packages


def peak_rss_of(cmd: list[str]) -> tuple[float, int, int, float]:
    """Run `cmd`, sampling the RSS of it and its children together; returns (seconds, peak
    bytes, exit code, CPU seconds of the whole tree). The process list is re-read only every
    half second: scanning /proc every sample cost the benchmark a noticeable share of a core."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    handle = psutil.Process(proc.pid)
    peak, cpu, child_cpu = 0, 0.0, {}
    children: list[psutil.Process] = []
    listed = 0.0
    while proc.poll() is None:
        try:
            if time.perf_counter() - listed > 0.5:
                children, listed = handle.children(recursive=True), time.perf_counter()
            rss = handle.memory_info().rss
            times = handle.cpu_times()
            cpu = times.user + times.system
        except psutil.NoSuchProcess:
            break
        for child in children:
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
                child_times = child.cpu_times()
                child_cpu[child.pid] = child_times.user + child_times.system
        peak = max(peak, rss)
        time.sleep(0.02)
    return time.perf_counter() - started, peak, proc.returncode, cpu + sum(child_cpu.values())


def serve(conn: Connection, count: int) -> None:
    """The Hex server in its own process, so that neither the sampling above nor anything else
    in this process shares a GIL with it. Answers ("delay", seconds) and ("throttled", None)."""
    packages = make_packages(count)
    with HexServer(packages) as server:
        # What the crawl downloads (the newest release of each package), for curl to fetch too.
        newest = sorted(f"{p.name}-{p.releases[-1].version}" for p in packages)
        conn.send(
            {
                "url": server.url,
                "public_key": server.repo.public_key,
                "tarballs": newest,
                "total_bytes": sum(len(server.repo.tarballs[name]) for name in newest),
            }
        )
        while True:
            command, value = conn.recv()
            if command == "delay":
                server.repo.delay, server.repo.api_throttled = value, 0
                conn.send(None)
            elif command == "throttled":
                conn.send(server.repo.api_throttled)
            else:
                return


def curl_seconds(url: str, tarballs: list[str], concurrency: int, work: Path) -> float:
    config = work / "curl.cfg"
    config.write_text(
        "".join(f'url = "{url}/tarballs/{name}.tar"\noutput = "/dev/null"\n' for name in tarballs)
    )
    started = time.perf_counter()
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
        stderr=subprocess.DEVNULL,  # curl --parallel draws its meter even when silent
    )
    return time.perf_counter() - started


def run_once(
    conn: Connection,
    served: dict[str, Any],
    count: int,
    concurrency: int,
    latency: float,
    work: Path,
) -> dict[str, float]:
    conn.send(("delay", latency))
    conn.recv()
    total_mb = served["total_bytes"] / 2**20
    work.mkdir(parents=True)
    curl = curl_seconds(served["url"], served["tarballs"], concurrency, work)
    flags = harvest_flags(served["url"], served["public_key"], work)
    cmd = [sys.executable, "-m", "harvest", "hex", *flags, "--concurrency", str(concurrency)]
    seconds, peak, code, cpu = peak_rss_of(cmd)
    if code != 0:
        raise SystemExit(f"harvest exited {code}")
    conn.send(("throttled", None))
    return {
        "latency_ms": latency * 1000,
        "packages": count,
        "seconds": seconds,
        "tarballs_per_s": count / seconds,
        "mb_per_s": total_mb / seconds,
        "peak_rss_mb": peak / 2**20,
        "curl_seconds": curl,
        "curl_mb_per_s": total_mb / curl,
        "ratio_vs_curl": curl / seconds,
        "api_429": conn.recv(),
        "total_mb": total_mb,
        "cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, nargs="+", default=[2000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--latency-ms",
        type=float,
        nargs="+",
        default=[0.0, 20.0, 40.0],
        help="server-side delay per request, emulating a CDN round trip (one run per value)",
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where the harvest writes its catalog and blobs (default: the system temp dir; "
        "/dev/shm takes the disk out of the figures)",
    )
    args = parser.parse_args()
    print(
        f"{'latency':>7} {'packages':>8} {'MiB':>7} {'wall s':>7} {'tar/s':>7} {'MiB/s':>7} "
        f"{'RSS MiB':>8} {'CPU s':>6} {'curl s':>7} {'vs curl':>7} {'429s':>5}"
    )
    # One scratch directory, removed at the end: on ext4, creating files right after tens of
    # thousands were deleted is several times slower, which would charge one run's cleanup to
    # the next run's blob writes.
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        run_all(args, Path(tmp))


def run_all(args: argparse.Namespace, scratch: Path) -> None:
    for count in args.packages:
        conn, child_end = multiprocessing.get_context("spawn").Pipe()
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(child_end, count), daemon=True
        )
        server.start()
        served = conn.recv()
        for run, latency_ms in enumerate(args.latency_ms):
            work = scratch / f"{count}-{run}-{latency_ms:g}ms"
            r = run_once(conn, served, count, args.concurrency, latency_ms / 1000, work)
            print(
                f"{r['latency_ms']:>5.0f}ms {r['packages']:>8} {r['total_mb']:>7.1f} "
                f"{r['seconds']:>7.2f} {r['tarballs_per_s']:>7.1f} {r['mb_per_s']:>7.2f} "
                f"{r['peak_rss_mb']:>8.1f} {r['cpu_s']:>6.1f} {r['curl_seconds']:>7.2f} "
                f"{r['ratio_vs_curl']:>7.2f} {r['api_429']:>5}",
                flush=True,
            )
        conn.send(("stop", None))
        server.join()


if __name__ == "__main__":
    main()
