"""Orchestrates a GitHub crawl: search -> pinned commit -> tarball -> blob store + catalog.

The search runs as a producer and a few workers download and read tarballs, so GraphQL paging
(at most two requests in flight) overlaps with codeload downloads. A repository whose recorded
commit equals its current default-branch commit is only refreshed, never downloaded again.
Per-repository problems (no default branch, 404, 429, unsafe archive) become a row with
status and error; faults of the crawl itself (bad token, GitHub refusing the query) stop it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from harvest.archive import ArchiveLimits, UnsafeArchive
from harvest.atomic import remove_stale_temp_files
from harvest.catalog import open_crawl_catalog
from harvest.github.api import GraphQLClient
from harvest.github.budget import Budget, BudgetPolicy
from harvest.github.config import GitHubSettings
from harvest.github.graphql import RepoInfo
from harvest.github.partition import Part
from harvest.github.record import KeptFile, Recorder, refresh_write, repo_write
from harvest.github.search import Search, SearchStats
from harvest.github.tarball import download_tarball, read_elixir_files
from harvest.groupcommit import GroupWriter
from harvest.net.client import HarvestClient, make_client
from harvest.net.download import DownloadTooLarge
from harvest.net.retry import TransientHTTPError
from harvest.net.wire import WireError
from harvest.progress import ProgressReporter
from harvest.store import BlobStore

_DONE = None  # queue sentinel


@dataclass
class CrawlResult:
    counts: Counter[str] = field(default_factory=Counter)
    search: Search | None = None


def skip_reason(repo: RepoInfo, settings: GitHubSettings) -> str | None:
    """Qualifying repositories we record but do not download (pure)."""
    if repo.commit_oid is None or repo.tarball_url is None:
        return "empty_repository" if repo.is_empty else "no_default_branch"
    if not settings.fetch_sources:
        return "metadata_only"
    if settings.license and repo.license_spdx not in settings.license:
        return f"license {repo.license_spdx or 'none'} not in --license"
    if repo.disk_usage_kb is not None and repo.disk_usage_kb > settings.max_disk_usage_mb * 1024:
        return f"disk usage {repo.disk_usage_kb} KB over --max-disk-usage-mb"
    return None


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_cause(first) if isinstance(first, BaseExceptionGroup) else first


def _interrupted() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Crawler:
    """One run: shared client, catalog, store and counters."""

    def __init__(
        self,
        settings: GitHubSettings,
        api: GraphQLClient,
        http: HarvestClient,
        recorder: Recorder,
        blobs: BlobStore,
        progress: ProgressReporter | None = None,
        now: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.recorder = recorder
        self.blobs = blobs
        self.progress = progress
        self.search = Search(api, settings, now or datetime.now(UTC))
        self.counts: Counter[str] = Counter()
        self.tmp_dir = settings.data_dir / "tmp" / "github"
        self.limits = ArchiveLimits()
        self._known: dict[str, str] = {}
        # Blobs are written without fsync; one sync per group makes them durable before the
        # catalog rows that point at them commit.
        self._writer = GroupWriter(
            recorder.apply,
            before_commit=blobs.sync,
            after_commit=recorder.catalog.release_cached_blocks,
        )
        self._codeload_429s = 0  # in a row; hammering a cooling-down codeload prolongs it

    async def run(self) -> CrawlResult:
        self._clean_tmp()
        self._known = self.recorder.fetched_commits()
        plan = await self.search.plan()
        if self.progress is not None:
            limit = self.settings.limit
            self.progress.set_total(plan.total if limit is None else min(plan.total, limit))
        queue: asyncio.Queue[RepoInfo | None] = asyncio.Queue(maxsize=self.settings.concurrency * 4)
        flush = False
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.settings.concurrency):
                    group.create_task(self._worker(queue))
                group.create_task(self._produce(queue, [p for p, _ in plan.leaves]))
            flush = True
        except ExceptionGroup as failed:  # one failure cancels the rest; report the cause
            raise _first_cause(failed) from None
        finally:
            # Rows of finished repositories are committed even when the crawl stops on an
            # error; only a kill or Ctrl-C abandons them (the rerun redoes those).
            await self._writer.close(flush=flush or not _interrupted())
        return CrawlResult(self.counts, self.search)

    def _clean_tmp(self) -> None:
        """A killed run may leave temp files or whole tarballs; none is worth keeping."""
        remove_stale_temp_files(self.tmp_dir)
        BlobStore(self.settings.data_dir).remove_stale_temp_files()
        for leftover in self.tmp_dir.glob("*.tar.gz") if self.tmp_dir.is_dir() else []:
            leftover.unlink(missing_ok=True)

    async def _produce(self, queue: asyncio.Queue[RepoInfo | None], parts: list[Part]) -> None:
        """Page up to `graphql_concurrency` parts at once; the Budget paces the requests."""
        pending = iter(parts)  # shared: each pager takes the next part when it is free

        async def pager() -> None:
            for part in pending:
                async for repo in self.search.qualifying(part):
                    if self._limit_reached():
                        return
                    self.counts["found"] += 1
                    await queue.put(repo)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.settings.graphql_concurrency, len(parts)) or 1):
                    group.create_task(pager())
        finally:
            for _ in range(self.settings.concurrency):
                await queue.put(_DONE)

    def _limit_reached(self) -> bool:
        return self.settings.limit is not None and self.counts["found"] >= self.settings.limit

    async def _worker(self, queue: asyncio.Queue[RepoInfo | None]) -> None:
        while (repo := await queue.get()) is not None:
            nbytes = await self.process(repo)
            if self.progress is not None:
                self.progress.advance(1, nbytes)

    async def process(self, repo: RepoInfo) -> int:
        """Record one repository; returns the tarball bytes downloaded."""
        if repo.commit_oid is not None and self._known.get(repo.id) == repo.commit_oid:
            self._writer.submit(refresh_write(repo))
            self.counts["unchanged"] += 1
            return 0
        reason = skip_reason(repo, self.settings)
        if reason:
            self._record(repo, "skipped", reason)
            return 0
        if self._codeload_429s >= self.settings.codeload_429_limit:
            self._record(repo, "failed", "tarball_http_429: codeload cooling down, not asked")
            return 0
        return await self._fetch(repo)

    async def _fetch(self, repo: RepoInfo) -> int:
        assert repo.tarball_url is not None and repo.commit_oid is not None
        key = hashlib.sha256(repo.id.encode()).hexdigest()[:16]
        dest = self.tmp_dir / f"{key}-{repo.commit_oid}.tar.gz"
        try:
            got = await download_tarball(
                self.http, repo.tarball_url, dest, max_bytes=self.settings.max_tarball_mb * 2**20
            )
        except DownloadTooLarge:
            self._record(repo, "failed", "tarball_too_large")
            return 0
        except (TransientHTTPError, httpx.HTTPError, WireError) as exc:
            self._record(repo, "failed", f"tarball_download: {type(exc).__name__}")
            return 0
        self._codeload_429s = self._codeload_429s + 1 if got.status == 429 else 0
        if got.status != 200 or got.path is None:
            self._record(repo, "failed", f"tarball_http_{got.status}")
            return 0
        try:
            files, reused = await asyncio.to_thread(self._store_files, got.path)
        except UnsafeArchive as exc:
            self._record(repo, "failed", f"unsafe_archive: {exc.reason}")
            return got.size
        self._record(repo, "fetched", None, files, got.size)
        self.counts["files_kept"] += len(files)
        self.counts["files_already_stored"] += reused
        return got.size

    def _store_files(self, tarball: Path) -> tuple[list[KeptFile], int]:
        """Put the wanted members in the store and delete the tarball (in a worker thread);
        also count blobs that were already stored, from Hex or another repository."""
        kept, reused = [], 0
        try:
            for member in read_elixir_files(tarball, self.limits):
                digest = hashlib.sha256(member.data).hexdigest()
                if self.blobs.exists(digest):
                    reused += 1
                else:
                    self.blobs.put(member.data)
                kept.append(KeptFile(member.path, digest, len(member.data)))
        finally:
            tarball.unlink(missing_ok=True)
        return kept, reused

    def _record(
        self,
        repo: RepoInfo,
        status: str,
        error: str | None = None,
        files: list[KeptFile] | None = None,
        tarball_bytes: int | None = None,
    ) -> None:
        self._writer.submit(repo_write(repo, status, error, files, tarball_bytes))
        self.counts[status] += 1
        if error:
            self.counts[f"{status}: {error.split(':')[0]}"] += 1


async def harvest_github(
    settings: GitHubSettings,
    token: SecretStr,
    *,
    budget: Budget | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    show_progress: bool = True,
) -> CrawlResult:
    """Open catalog, store and client, run the crawl and record it in `crawl_runs`."""
    budget = budget or Budget(BudgetPolicy(concurrency=settings.graphql_concurrency))
    catalog = open_crawl_catalog(settings.catalog)
    recorder = Recorder(catalog)
    run_id = recorder.start_run(settings.model_dump(mode="json"))
    status = "failed"
    counts: Counter[str] = Counter()
    search = SearchStats()
    try:
        async with make_client(
            transport=transport, max_connections=settings.concurrency + 4
        ) as http:
            api = GraphQLClient(http, settings.api_url, token, budget)
            with ProgressReporter(
                "github",
                unit="repos",
                show_bytes=True,
                force_terminal=None if show_progress else False,
            ) as progress:
                crawler = Crawler(
                    settings, api, http, recorder, BlobStore(settings.data_dir), progress
                )
                counts, search = crawler.counts, crawler.search.stats
                result = await crawler.run()
        status = "failed" if counts["failed"] else "ok"  # failed ones are retried by a rerun
        return result
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    finally:
        recorder.finish_run(
            run_id, status, {**counts, **search_counts(search), **budget_counts(budget)}
        )
        catalog.close()


def search_counts(search: SearchStats) -> dict[str, int]:
    """Whether the parts covered the search: `search_seen` should equal `search_total`."""
    return {
        "search_total": search.total,
        "search_parts": search.parts,
        "search_seen": search.unique,
        "search_stuck_parts": search.stuck_parts,
    }


def budget_counts(budget: Budget) -> dict[str, int | float]:
    return {
        "graphql_requests": budget.requests,
        "graphql_points": budget.points_spent,
        "secondary_refusals": budget.refusals,
        "rate_limit_exhaustions": budget.exhaustions,
        "seconds_waited": round(budget.waited, 1),
    }
