"""Mirrors Hex.pm: registry diff -> package info -> verified tarballs -> blob store + catalog.

`registry_concurrency` registry fetches run ahead of the releases; each release is downloaded,
verified and unpacked in a release worker process (harvest.hex.workers), which holds its share
of the `concurrency` download slots and unpacks between downloads, so this process's event
loop only fetches the registry and hands rows to the catalog. One group-commit writer
(harvest.groupcommit) owns the catalog connection, so a release's rows always land together.
A rerun repeats nothing that finished: registry resources come back as 304s, finished
releases are skipped, and a verified tarball already on disk is reused, not downloaded again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx

from harvest.archive import ArchiveLimits
from harvest.catalog import Catalog
from harvest.groupcommit import GroupWriter
from harvest.hex import registry, repo, state
from harvest.hex.api import ApiCounters, iter_package_stats
from harvest.hex.config import HexSettings
from harvest.hex.errors import RegistryError
from harvest.hex.release import ReleaseJob
from harvest.hex.select import RETRYABLE_SKIPS, Choice, choose_releases, registry_changed
from harvest.hex.versions import is_prerelease, latest_stable
from harvest.hex.workers import ReleaseWorkers, WorkerDied, WorkersUnavailable
from harvest.net.client import HarvestClient
from harvest.net.ratelimit import HeaderRateLimiter
from harvest.net.retry import is_transient
from harvest.progress import ProgressReporter
from harvest.store import BlobStore

log = logging.getLogger("elixir_harvest.hex")


class RegistryUnavailable(RuntimeError):
    """/versions could not be fetched or trusted: nothing can be crawled."""


@dataclass
class CrawlCounts:
    packages_in_registry: int = 0
    packages_selected: int = 0
    packages_unchanged: int = 0
    fetched: int = 0
    reused_tarballs: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    quarantined: int = 0
    bytes_downloaded: int = 0
    removed_packages: int = 0
    registry_not_modified: int = 0
    api_requests: int = 0
    api_throttled: int = 0
    errors: list[str] = field(default_factory=list)

    def record(self, row: state.ReleaseRow) -> None:
        if row.status == "fetched":
            self.fetched += 1
        elif row.status == "skipped":
            self.skipped += 1
        elif row.status == "failed":
            self.failed += 1
            self.errors.append(f"{row.package} {row.version}: {row.error}")
        elif row.status == "quarantined":
            self.quarantined += 1
            self.errors.append(f"{row.package} {row.version} quarantined: {row.error}")


# (status, outer_checksum, error) of a release already in the catalog.
ReleaseState = tuple[str, str | None, str | None]


@dataclass
class HexCrawler:
    settings: HexSettings
    catalog: Catalog
    store: BlobStore
    client: HarvestClient
    public_key: bytes
    reporter: ProgressReporter
    now: Callable[[], datetime] = state.utcnow
    counts: CrawlCounts = field(default_factory=CrawlCounts)
    cache: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    etags: dict[str, str | None] = field(default_factory=dict)  # until process_releases
    writer: GroupWriter[state.HexWrite] = field(init=False)  # made in run(): needs the loop
    workers: ReleaseWorkers = field(init=False)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    # -- registry ---------------------------------------------------------------------------

    async def fetch_signed(self, url: str) -> bytes | None:
        """A registry body, from the network or (on 304) from the cache; None if missing.

        A run fetches each URL once, so its cache entry is taken out rather than read: the map
        shrinks as a rerun goes, and a first run does not grow it by an entry per package.
        The ETag the body came with waits in `etags` for the package's catalog row.
        """
        etag, cached_sha = self.cache.pop(url, (None, None))
        if cached_sha and not self.store.exists(cached_sha):
            etag, cached_sha = None, None
        response = await repo.fetch_registry(self.client, url, etag, self.settings.retries)
        if response.status == 304 and cached_sha:
            self.counts.registry_not_modified += 1
            self.etags[url] = etag
            return self.store.read(cached_sha)
        if response.status != 200 or response.body is None:
            return None
        # A registry body is a few KiB: writing it here costs less than a thread handoff,
        # which waits for the busy event loop to let go of the GIL (up to 5 ms).
        sha = self.store.put(response.body)
        self.etags[url] = response.etag
        self.writer.submit(state.CacheEntry(url, response.etag, sha))
        return response.body

    async def load_registry(
        self,
    ) -> tuple[list[registry.VersionsEntry], dict[str, registry.NameEntry]]:
        """/versions (required) and /names (a refinement), fetched side by side."""
        names = asyncio.ensure_future(self.load_names())
        try:
            versions = await self.load_versions()
        except BaseException:
            names.cancel()
            await asyncio.gather(names, return_exceptions=True)
            raise
        return versions, await names

    async def load_versions(self) -> list[registry.VersionsEntry]:
        url = repo.resource_url(self.settings.repo_url, "versions")
        try:
            body = await self.fetch_signed(url)
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise RegistryUnavailable(f"{url} is unreachable after retries: {exc}") from exc
        if body is None:
            raise RegistryUnavailable(f"{url} did not return a registry")
        try:
            return registry.decode_versions(body, self.public_key, self.settings.repository)
        except RegistryError as exc:
            raise RegistryUnavailable(f"{url} rejected: {exc}") from exc

    async def load_names(self) -> dict[str, registry.NameEntry]:
        """/names only refines change detection: a bad or missing one is reported, never
        trusted, and the crawl goes on without it."""
        names: dict[str, registry.NameEntry] = {}
        url = repo.resource_url(self.settings.repo_url, "names")
        try:
            body = await self.fetch_signed(url)
            if body is not None:
                for entry in registry.decode_names(body, self.public_key, self.settings.repository):
                    names[entry.name] = entry
        except RegistryError as exc:
            self.counts.errors.append(f"{url} rejected: {exc}")
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.counts.errors.append(f"{url} unreachable: {exc}")
        return names

    # -- planning ---------------------------------------------------------------------------

    def select(self, versions: list[registry.VersionsEntry]) -> list[registry.VersionsEntry]:
        by_name = {e.name: e for e in versions}
        if self.settings.package:
            missing = [n for n in self.settings.package if n not in by_name]
            for name in missing:
                self.counts.failed += 1
                self.counts.errors.append(f"{name}: not in the registry")
            chosen = [by_name[n] for n in self.settings.package if n in by_name]
        else:
            chosen = sorted(versions, key=lambda e: e.name)
        return chosen[: self.settings.limit] if self.settings.limit else chosen

    def needs_work(
        self,
        entry: registry.VersionsEntry,
        known: state.KnownPackage | None,
        releases: dict[str, ReleaseState],
        names: dict[str, registry.NameEntry],
    ) -> bool:
        if known is None or registry_changed(entry, known.versions, known.retired):
            return True
        name_entry = names.get(entry.name)
        if name_entry and name_entry.updated_at != known.registry_updated_at:
            return True
        if not releases:
            return True
        if self.settings.releases == "all" and set(entry.versions) - set(releases):
            return True
        return any(
            status == "failed"
            or (status == "skipped" and (error or "").startswith(RETRYABLE_SKIPS))
            for status, _checksum, error in releases.values()
        )

    # -- one package ------------------------------------------------------------------------

    async def fetch_package_info(
        self, entry: registry.VersionsEntry
    ) -> registry.PackageInfo | None:
        """/packages/NAME, verified; a failure is recorded against the package's releases."""
        url = repo.package_url(self.settings.repo_url, entry.name)
        try:
            body = await self.fetch_signed(url)
            if body is None:
                raise RegistryError(f"{url} is missing")
            return registry.decode_package(
                body, self.public_key, entry.name, self.settings.repository
            )
        except Exception as exc:
            if not (isinstance(exc, RegistryError) or is_transient(exc)):
                raise
            self.etags.pop(url, None)
            self._fail_package(entry, f"registry: {exc}")
            return None

    async def process_releases(
        self,
        entry: registry.VersionsEntry,
        info: registry.PackageInfo,
        releases: dict[str, ReleaseState],
        names: dict[str, registry.NameEntry],
    ) -> None:
        now = self.now()
        min_age = timedelta(minutes=self.settings.min_age_minutes)
        for choice in choose_releases(info.releases, self.settings.releases, now, min_age):
            row = await self.process_choice(
                entry.name, choice, releases.get(choice.release.version)
            )
            if row is not None:
                self.writer.submit(row)
                self.counts.record(row)
        name_entry = names.get(entry.name)
        url = repo.package_url(self.settings.repo_url, entry.name)
        self.writer.submit(
            state.PackageRow(
                entry,
                latest_stable(entry.versions),
                name_entry.updated_at if name_entry else None,
                self.etags.pop(url, None),
            )
        )

    def _fail_package(self, entry: registry.VersionsEntry, error: str) -> None:
        targets = (
            entry.versions
            if self.settings.releases == "all"
            else ([latest_stable(entry.versions) or entry.versions[-1]] if entry.versions else [])
        )
        for version in targets:
            row = state.ReleaseRow(
                entry.name, version, "failed", error=error, is_prerelease=is_prerelease(version)
            )
            self.counts.record(row)
            self.writer.submit(row)

    async def process_choice(
        self, name: str, choice: Choice, previous: ReleaseState | None
    ) -> state.ReleaseRow | None:
        rel = choice.release
        base = self._base_row(name, rel)
        if choice.skip_reason:
            return state.ReleaseRow(**{**base, "status": "skipped", "error": choice.skip_reason})
        if previous and previous[0] in state.FINAL_STATUSES and previous[1] == rel.outer_checksum:
            self.counts.unchanged += 1
            self.writer.submit(
                state.Retirement(name, rel.version, rel.retired_reason, rel.retired_message)
            )
            return None
        return await self.fetch_release(name, rel, base)

    def _base_row(self, name: str, rel: registry.Release) -> dict[str, Any]:
        return {
            "package": name,
            "version": rel.version,
            "status": "failed",
            "outer_checksum": rel.outer_checksum,
            "retired_reason": rel.retired_reason,
            "retired_message": rel.retired_message,
            "published_at": rel.published_at,
            "is_prerelease": is_prerelease(rel.version),
            "requirements": [
                {
                    "name": d.package,
                    "app": d.app or d.package,
                    "requirement": d.requirement,
                    "optional": d.optional,
                    "repository": d.repository,
                }
                for d in rel.dependencies
            ],
        }

    # -- one release ------------------------------------------------------------------------

    def tarball_path(self, name: str, version: str) -> Path:
        return self.data_dir / "tarballs" / f"{name}-{version}.tar"

    async def fetch_release(
        self, name: str, rel: registry.Release, base: dict[str, Any]
    ) -> state.ReleaseRow:
        """Download, verify and unpack in a release worker; the row says how it went."""
        job = ReleaseJob(
            name=name,
            version=rel.version,
            url=repo.tarball_url(self.settings.repo_url, name, rel.version),
            dest=str(self.tarball_path(name, rel.version)),
            outer_checksum=rel.outer_checksum,
            data_dir=str(self.data_dir),
            max_tarball_bytes=self.settings.max_tarball_bytes,
            limits=ArchiveLimits(
                max_total_bytes=self.settings.max_contents_bytes,
                max_member_bytes=self.settings.max_tarball_bytes * 8,
            ),
            attempts=self.settings.retries,
            keep_tarball=self.settings.keep_tarballs,
        )
        try:
            result = await self.workers.run(job)
        except WorkerDied as exc:
            # Killed or out of memory: this release is retried on the next run, and the next
            # job gets a fresh worker.
            return state.ReleaseRow(**{**base, "error": f"{exc}; retried on the next run"})
        self.counts.bytes_downloaded += result.downloaded_bytes
        self.counts.reused_tarballs += result.reused
        if result.downloaded_bytes:
            self.reporter.advance(0, result.downloaded_bytes)
        if result.unpacked is None:
            return state.ReleaseRow(**{**base, "status": result.status, "error": result.error})
        meta = result.unpacked.metadata
        return state.ReleaseRow(
            **{
                **base,
                "status": "fetched",
                "error": None,
                "inner_checksum": result.unpacked.inner_checksum,
                "licenses": meta.licenses,
                "app": meta.app,
                "description": meta.description,
                "build_tools": meta.build_tools,
                "elixir_requirement": meta.elixir,
                "links": meta.links,
                "tarball_bytes": result.tarball_bytes,
                "files": result.unpacked.files,
            }
        )

    # -- API extras -------------------------------------------------------------------------

    async def fetch_stats(self, api_client: httpx.AsyncClient, names: list[str] | None) -> None:
        limiter = HeaderRateLimiter(self.settings.api_budget)
        counters = ApiCounters()
        try:
            async for stats in iter_package_stats(
                api_client,
                self.settings.api_url,
                limiter,
                counters,
                names=names,
                attempts=self.settings.retries,
            ):
                self.writer.submit(stats)
        except Exception as exc:
            # Download counts are extras: a failure is reported, the mirror still completes.
            if not (is_transient(exc) or isinstance(exc, httpx.HTTPStatusError | ValueError)):
                raise
            self.counts.errors.append(f"API extras incomplete: {exc}")
        self.counts.api_requests = counters.requests
        self.counts.api_throttled = counters.throttled

    # -- the whole crawl --------------------------------------------------------------------

    async def run(self, api_client: httpx.AsyncClient | None = None) -> CrawlCounts:
        """Crawl; every row reaches the catalog through one group-commit writer, which syncs
        the blob store before each commit so committed rows never point at lost files."""
        self.cache = state.load_cache(self.catalog)
        workers = self.settings.unpack_processes or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.workers = ReleaseWorkers(workers, self.settings.concurrency, self.settings.timeout)
        self.writer = GroupWriter(
            partial(state.write_group, self.catalog),
            before_commit=self.store.sync,
            linger=0.5,
            after_commit=self.catalog.release_cached_blocks,
        )
        finished = False
        try:
            present = await self._crawl(api_client)
            finished = True
        finally:
            await self.writer.close(flush=finished)
            await self.workers.aclose()
        if not self.settings.package and not self.settings.limit:
            self.counts.removed_packages = state.mark_removed(self.catalog, present)
        return self.counts

    async def _crawl(self, api_client: httpx.AsyncClient | None) -> set[str]:
        """Everything but the final commit; returns the names present in the registry."""
        self.workers.start()  # they take 0.1-0.2 s to start: meanwhile, the registry loads
        versions, names = await self.load_registry()
        self.counts.packages_in_registry = len(versions)
        selected = self.select(versions)
        self.counts.packages_selected = len(selected)
        known = state.load_known_packages(self.catalog)
        per_package: dict[str, dict[str, ReleaseState]] = {}
        for (pkg, ver), value in state.load_release_states(self.catalog).items():
            per_package.setdefault(pkg, {})[ver] = value
        todo = [
            e
            for e in selected
            if self.needs_work(e, known.get(e.name), per_package.get(e.name, {}), names)
        ]
        self.counts.packages_unchanged = len(selected) - len(todo)
        self.reporter.set_total(len(todo))
        stats_for = None
        if self.settings.package or self.settings.limit:
            stats_for = [e.name for e in selected]
        try:
            await self._stages(todo, per_package, names, api_client, stats_for)
        except* WorkersUnavailable as group:  # one clear error, not a group of them
            raise group.exceptions[0] from None
        return {e.name for e in versions}

    async def _stages(
        self,
        todo: list[registry.VersionsEntry],
        per_package: dict[str, dict[str, ReleaseState]],
        names: dict[str, registry.NameEntry],
        api_client: httpx.AsyncClient | None,
        stats_for: list[str] | None,
    ) -> None:
        """Registry fetches feed the releases; API extras run beside them."""
        async with anyio.create_task_group() as tasks:
            if api_client is not None and self.settings.api_extras:
                tasks.start_soon(self.fetch_stats, api_client, stats_for)
            # Two stages, so small registry fetches run ahead of the tarball downloads
            # instead of adding a round trip in front of each one.
            entries_send, entries_receive = anyio.create_memory_object_stream[
                registry.VersionsEntry
            ](0)
            infos_send, infos_receive = anyio.create_memory_object_stream[
                tuple[registry.VersionsEntry, registry.PackageInfo]
            ](self.settings.concurrency)
            for _ in range(self.settings.registry_concurrency):
                tasks.start_soon(self._info_worker, entries_receive.clone(), infos_send.clone())
            # Twice as many releases in flight as download slots: the workers always hold a
            # queue, so a slot that frees starts its next download at once, as curl's would.
            for _ in range(2 * self.settings.concurrency):
                tasks.start_soon(self._release_worker, infos_receive.clone(), per_package, names)
            entries_receive.close()
            infos_send.close()
            infos_receive.close()
            async with entries_send:
                for entry in todo:
                    await entries_send.send(entry)

    async def _info_worker(self, entries: Any, infos: Any) -> None:
        async with entries, infos:
            async for entry in entries:
                info = await self.fetch_package_info(entry)
                if info is None:
                    self.reporter.advance(1)
                else:
                    await infos.send((entry, info))

    async def _release_worker(
        self,
        infos: Any,
        per_package: dict[str, dict[str, ReleaseState]],
        names: dict[str, registry.NameEntry],
    ) -> None:
        async with infos:
            async for entry, info in infos:
                await self.process_releases(entry, info, per_package.get(entry.name, {}), names)
                self.reporter.advance(1)
