"""Group commit into a real DuckDB catalog: rows land together, failures surface."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import duckdb
import pytest

from harvest.catalog import open_catalog
from harvest.github.record import KeptFile, Recorder, refresh_write, repo_write
from harvest.groupcommit import GroupWriter
from tests.harvest.github.conftest import REPO


def test_group_commit_writes_repositories_with_their_files(tmp_path: Path) -> None:
    catalog = open_catalog(tmp_path / "c.duckdb")
    recorder = Recorder(catalog)
    files = [KeptFile("lib/a.ex", "a" * 64, 3), KeptFile("mix.exs", "b" * 64, 4)]
    other = dataclasses.replace(REPO, id="R_2", name_with_owner="a/c", stars=300)

    synced: list[int] = []  # rows present when the blob sync ran: it must come first

    def sync() -> None:
        synced.append(catalog.fetchall("SELECT count(*) FROM github_repos")[0][0])

    async def go() -> GroupWriter:
        writer = GroupWriter(recorder.apply, before_commit=sync)
        writer.submit(repo_write(REPO, "fetched", None, files, 99))
        writer.submit(repo_write(other, "skipped", "metadata_only"))
        await writer.close()
        return writer

    writer = asyncio.run(go())
    assert writer.groups == 1 and synced == [0]
    assert catalog.fetchall(
        "SELECT id, status, files_kept, topics FROM github_repos ORDER BY id"
    ) == [("R_1", "fetched", 2, []), ("R_2", "skipped", None, [])]
    assert catalog.fetchall(
        "SELECT origin, origin_version, path, bytes, license FROM source_files ORDER BY path"
    ) == [("a/b", "c" * 40, "lib/a.ex", 3, "MIT"), ("a/b", "c" * 40, "mix.exs", 4, "MIT")]
    assert recorder.fetched_commits() == {"R_1": "c" * 40}

    async def refresh() -> None:
        writer = GroupWriter(recorder.apply)
        writer.submit(refresh_write(dataclasses.replace(REPO, stars=151)))
        await writer.close()

    asyncio.run(refresh())
    assert catalog.fetchall(
        "SELECT stars, status, files_kept FROM github_repos WHERE id='R_1'"
    ) == [(151, "fetched", 2)]
    catalog.close()


def test_a_failed_group_stops_the_crawl(tmp_path: Path) -> None:
    catalog = open_catalog(tmp_path / "c.duckdb")
    broken = repo_write(REPO, "fetched")
    broken.row["status"] = None  # NOT NULL in the schema

    async def go() -> None:
        writer = GroupWriter(Recorder(catalog).apply)
        writer.submit(broken)
        await writer.close()

    with pytest.raises(duckdb.ConstraintException):
        asyncio.run(go())
    assert catalog.fetchall("SELECT count(*) FROM github_repos") == [(0,)]
    catalog.close()


def test_linger_gathers_a_stream_into_few_groups() -> None:
    groups: list[int] = []

    async def go() -> None:
        writer: GroupWriter[int] = GroupWriter(lambda g: groups.append(len(g)), linger=0.3)
        for i in range(50):
            writer.submit(i)
            await asyncio.sleep(0.002)  # a steady stream, slower than an empty queue check
        started = asyncio.get_running_loop().time()
        await writer.close()
        assert asyncio.get_running_loop().time() - started < 0.3  # close cuts the linger short

    asyncio.run(go())
    assert sum(groups) == 50
    assert len(groups) <= 3


def test_a_full_group_commits_without_waiting_out_the_linger() -> None:
    groups: list[int] = []

    async def go() -> None:
        writer: GroupWriter[int] = GroupWriter(
            lambda g: groups.append(len(g)), max_group=10, linger=30.0
        )
        for i in range(25):
            writer.submit(i)
        for _ in range(100):  # two full groups commit well inside a second
            if len(groups) == 2:
                break
            await asyncio.sleep(0.01)
        assert groups == [10, 10]
        await writer.close()  # the five left over commit at once

    asyncio.run(go())
    assert groups == [10, 10, 5]


def test_abandoning_a_lingering_group_stops_the_writer() -> None:
    # close(flush=False) ends the linger and cancels the writer in the same breath; the writer
    # must stop rather than swallow the cancel and wait for more rows forever.
    applied: list[list[int]] = []

    async def go() -> None:
        writer: GroupWriter[int] = GroupWriter(applied.append, linger=5.0)
        writer.submit(1)
        await asyncio.sleep(0.01)  # the writer is lingering
        async with asyncio.timeout(10):
            await writer.close(flush=False)

    asyncio.run(go())
    assert applied in ([], [[1]])
