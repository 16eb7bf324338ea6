"""ReleaseWorkers: real worker processes fetching from the loopback Hex server."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import anyio
import pytest

from harvest.archive import ArchiveLimits
from harvest.hex.release import ReleaseJob, ReleaseResult
from harvest.hex.workers import (
    MAX_FRUITLESS_STARTS,
    ReleaseWorkers,
    WorkerDied,
    WorkersUnavailable,
)
from tests.fakes.hex_server import FakePackage, FakeRelease, HexServer


def _packages(count: int) -> list[FakePackage]:
    return [
        FakePackage(
            f"w{i}",
            [FakeRelease("1.0.0", {f"lib/w{i}.ex": f"defmodule W{i} do\nend\n".encode()})],
        )
        for i in range(count)
    ]


def _job(server: HexServer, name: str, data_dir: Path) -> ReleaseJob:
    tarball = server.repo.tarballs[f"{name}-1.0.0"]
    return ReleaseJob(
        name=name,
        version="1.0.0",
        url=f"{server.url}/tarballs/{name}-1.0.0.tar",
        dest=str(data_dir / "tarballs" / f"{name}-1.0.0.tar"),
        outer_checksum=hashlib.sha256(tarball).hexdigest(),
        data_dir=str(data_dir),
        max_tarball_bytes=2**20,
        limits=ArchiveLimits(),
        attempts=2,
        keep_tarball=True,
    )


def test_jobs_spread_over_the_workers_and_all_come_back(tmp_path: Path) -> None:
    with HexServer(_packages(12)) as server:

        async def main() -> tuple[list[ReleaseResult], set[int]]:
            workers = ReleaseWorkers(2, downloads=4, timeout=10)
            workers.start()
            results: list[ReleaseResult] = []
            try:
                async with anyio.create_task_group() as tasks:
                    for i in range(12):

                        async def one(name: str = f"w{i}") -> None:
                            results.append(await workers.run(_job(server, name, tmp_path)))

                        tasks.start_soon(one)
                pids = {w.proc.pid for w in workers._workers if w is not None}
            finally:
                await workers.aclose()
            for worker in workers._workers:
                assert worker is not None and worker.proc.returncode is not None
            return results, pids

        results, pids = anyio.run(main)
    assert [r.status for r in results] == ["fetched"] * 12
    assert len(pids) == 2
    assert {f[0] for r in results for f in r.unpacked.files} >= {"lib/w0.ex", "mix.exs"}  # type: ignore[union-attr]
    assert server.repo.max_in_flight <= 4
    assert sum(r.downloaded_bytes for r in results) == sum(r.tarball_bytes for r in results)


def test_a_second_run_reuses_the_verified_tarball(tmp_path: Path) -> None:
    with HexServer(_packages(1)) as server:

        async def main() -> list[ReleaseResult]:
            workers = ReleaseWorkers(1, downloads=1, timeout=10)
            try:
                return [await workers.run(_job(server, "w0", tmp_path)) for _ in range(2)]
            finally:
                await workers.aclose()

        first, second = anyio.run(main)
    assert (first.reused, second.reused) == (False, True)
    assert second.downloaded_bytes == 0 and second.status == "fetched"
    assert server.repo.requests["/tarballs/w0-1.0.0.tar"] == 1


def test_a_bug_in_a_worker_surfaces_with_its_traceback_and_the_worker_lives_on(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "not_a_dir"
    blocked.write_text("a file where the data directory should be")
    with HexServer(_packages(2)) as server:

        async def main() -> ReleaseResult:
            workers = ReleaseWorkers(1, downloads=1, timeout=10)
            try:
                with pytest.raises(RuntimeError, match="release worker failed") as caught:
                    await workers.run(_job(server, "w0", blocked))
                assert "NotADirectoryError" in str(caught.value)
                return await workers.run(_job(server, "w1", tmp_path))
            finally:
                await workers.aclose()

        assert anyio.run(main).status == "fetched"


def test_workers_that_cannot_start_stop_the_crawl_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ReleaseWorkers, "command", (sys.executable, "-c", "raise SystemExit('broken install')")
    )
    with HexServer(_packages(1)) as server:

        async def main() -> list[str]:
            workers = ReleaseWorkers(1, downloads=1, timeout=10)
            seen = []
            try:
                for _ in range(MAX_FRUITLESS_STARTS + 1):
                    try:
                        await workers.run(_job(server, "w0", tmp_path))
                    except (WorkerDied, WorkersUnavailable) as exc:
                        seen.append(type(exc).__name__)
            finally:
                await workers.aclose()
            return seen

        seen = anyio.run(main)
    assert seen == ["WorkerDied"] * MAX_FRUITLESS_STARTS + ["WorkersUnavailable"]
    assert server.repo.requests["/tarballs/w0-1.0.0.tar"] == 0


def test_every_worker_gets_a_download_slot() -> None:
    assert [c.downloads for c in ReleaseWorkers(4, downloads=2, timeout=1).configs] == [1, 1]
    assert [c.downloads for c in ReleaseWorkers(3, downloads=8, timeout=1).configs] == [3, 3, 2]
