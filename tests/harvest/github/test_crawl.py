"""End-to-end crawls against the loopback GitHub: completeness, sources, incremental reruns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from harvest.github.crawl import CrawlResult
from harvest.store import BlobStore
from tests.fakes.github_population import Population, make_population
from tests.fakes.github_server import FakeClock, FakeGitHub, serve_github
from tests.fakes.github_tarball import SHARED_FORMATTER, kept_files
from tests.harvest.github.conftest import TOKEN, query, recorded_names

Crawl = Callable[..., CrawlResult]


def test_finds_exactly_the_qualifying_repositories(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    result = crawl(github)
    catalog = tmp_path / "catalog.duckdb"
    assert recorded_names(catalog) == github.population.qualifying(100)
    assert result.counts["found"] == len(github.population.qualifying(100))
    rows = query(catalog, "SELECT count(*), count(DISTINCT id) FROM github_repos")
    assert rows[0][0] == rows[0][1]
    assert github.counters.refused_secondary == 0
    assert github.counters.max_in_flight <= 2


def test_metadata_matches_the_population(github: FakeGitHub, crawl: Crawl, tmp_path: Path) -> None:
    crawl(github)
    rows = query(
        tmp_path / "catalog.duckdb",
        "SELECT name_with_owner, stars, is_fork, is_archived, is_mirror, license_spdx, "
        "license_permissive, default_branch, commit_oid, primary_language, topics, "
        "status, error FROM github_repos",
    )
    by_name = github.population.by_name
    for (
        name,
        stars,
        fork,
        archived,
        mirror,
        spdx,
        permissive,
        branch,
        oid,
        lang,
        topics,
        status,
        error,
    ) in rows:
        repo = by_name[name.lower()]
        assert (stars, fork, archived, mirror) == (repo.stars, False, False, repo.is_mirror)
        assert spdx == repo.license_spdx and permissive == (
            spdx in ("MIT", "Apache-2.0", "BSD-3-Clause")
        )
        assert oid == repo.commit_oid and lang == repo.primary_language
        assert topics == repo.topics
        if repo.is_empty:
            assert (branch, status, error) == (None, "skipped", "empty_repository")
        else:
            assert (branch, status, error) == ("main", "fetched", None)


def test_sources_recorded_at_the_pinned_commit(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    crawl(github)
    catalog, store = tmp_path / "catalog.duckdb", BlobStore(tmp_path / "data")
    rows = query(
        catalog,
        "SELECT source, origin, origin_version, path, sha256, bytes, license FROM source_files",
    )
    fetched = [
        r
        for r in github.population.repos
        if r.name_with_owner in github.population.qualifying(100) and not r.is_empty
    ]
    assert len(rows) == 4 * len(fetched)
    expected = {
        (r.name_with_owner, r.commit_oid, path): data
        for r in fetched
        for path, data in kept_files(r).items()
    }
    for source, origin, version, path, sha, size, license_ in rows:
        assert source == "github"
        assert store.read(sha) == expected[(origin, version, path)] and size == len(store.read(sha))
        assert license_ == github.population.by_name[origin.lower()].license_spdx
    paths = {r[3] for r in rows}
    assert not any(
        p.startswith(("deps/", "_build/", "node_modules/", "priv/static/", "assets/vendor/"))
        or p.endswith(".md")
        for p in paths
    )
    assert not list((tmp_path / "data" / "tmp" / "github").glob("*"))


def test_rerun_skips_unchanged_commits_and_refetches_moved_ones(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    crawl(github)
    tarballs = github.counters.tarballs
    moved = next(
        r
        for r in github.population.repos
        if r.name_with_owner in github.population.qualifying(100) and not r.is_empty
    )
    moved.revision += 1
    github.invalidate()
    result = crawl(github)
    assert github.counters.tarballs == tarballs + 1
    assert result.counts["fetched"] == 1 and result.counts["unchanged"] >= 40
    catalog = tmp_path / "catalog.duckdb"
    assert query(
        catalog,
        "SELECT commit_oid FROM github_repos WHERE name_with_owner = ?",
        [moved.name_with_owner],
    ) == [(moved.commit_oid,)]
    versions = query(
        catalog,
        "SELECT DISTINCT origin_version FROM source_files WHERE origin = ?",
        [moved.name_with_owner],
    )
    assert (moved.commit_oid,) in versions  # the old commit's rows stay, for old snapshots
    runs = query(
        catalog,
        "SELECT status, counts->>'search_total', counts->>'search_seen' "
        "FROM crawl_runs WHERE command = 'harvest github'",
    )
    total = str(len(github.population.qualifying(100)))
    assert runs == [("ok", total, total), ("ok", total, total)]


def test_files_already_stored_from_hex_are_not_stored_twice(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    store = BlobStore(tmp_path / "data")
    digest = store.put(SHARED_FORMATTER)  # as if the Hex harvester had stored it
    before = store.path(digest).stat().st_mtime_ns
    result = crawl(github)
    assert store.path(digest).stat().st_mtime_ns == before
    assert result.counts["files_already_stored"] >= result.counts["fetched"]


def test_options_narrow_the_search(github: FakeGitHub, crawl: Crawl, tmp_path: Path) -> None:
    result = crawl(
        github,
        min_stars=150,
        max_stars=400,
        include_forks=True,
        include_archived=True,
        fetch_sources=False,
    )
    expected = github.population.qualifying(
        150, max_stars=400, include_forks=True, include_archived=True
    )
    assert recorded_names(tmp_path / "catalog.duckdb") == expected
    assert result.counts["skipped: metadata_only"] > 0 and github.counters.tarballs == 0


def test_pushed_after(github: FakeGitHub, crawl: Crawl, tmp_path: Path) -> None:
    crawl(github, pushed_after=date(2024, 1, 1), fetch_sources=False)
    expected = github.population.qualifying(100, pushed_after=date(2024, 1, 1))
    assert 0 < len(expected) < len(github.population.qualifying(100))
    assert recorded_names(tmp_path / "catalog.duckdb") == expected


def test_licence_allow_list_and_limit(github: FakeGitHub, crawl: Crawl, tmp_path: Path) -> None:
    crawl(github, license=["MIT,Apache-2.0"], limit=25)
    rows = query(
        tmp_path / "catalog.duckdb", "SELECT license_spdx, status, error FROM github_repos"
    )
    assert len(rows) == 25
    for spdx, status, error in rows:
        if spdx in ("MIT", "Apache-2.0"):
            assert status in ("fetched", "skipped") and (error or "").find("license") < 0
        else:
            assert status == "skipped" and "not in --license" in error


@pytest.fixture(scope="module")
def capped_population() -> Population:
    """2,600 qualifying, 1,100 of them with exactly 100 stars: over the cap in several bands."""
    return make_population(total=3500, qualifying=2600, pile=1100, seed=5)


@pytest.mark.slow
def test_past_the_1000_cap_in_several_bands(
    tmp_path: Path, crawl: Crawl, clock: FakeClock, capped_population: Population
) -> None:
    with serve_github(capped_population, {TOKEN}, clock) as fake:
        fake.switches.max_concurrent = 2  # refuse anything beyond two requests in flight
        result = crawl(fake, fetch_sources=False)
    expected = capped_population.qualifying(100)
    assert len(expected) == 2600
    assert recorded_names(tmp_path / "catalog.duckdb") == expected
    stats = result.search.stats
    assert stats.total == 2600 and stats.unique == 2600 and stats.parts >= 3
    plan_parts = [p for p, _ in result.search.plan_result.leaves]
    assert any(p.stars_lo == p.stars_hi == 100 for p in plan_parts)  # split by created date
    assert fake.counters.refused_secondary == 0 and fake.counters.max_in_flight <= 2


@pytest.mark.slow
def test_concurrency_refusals_are_waited_out(
    tmp_path: Path, crawl: Crawl, clock: FakeClock, capped_population: Population
) -> None:
    with serve_github(capped_population, {TOKEN}, clock) as fake:
        fake.switches.max_concurrent = 1  # stricter than our two pagers
        fake.switches.latency = 0.01  # long enough for two requests to overlap
        result = crawl(fake, fetch_sources=False, page_size=50)
    assert recorded_names(tmp_path / "catalog.duckdb") == capped_population.qualifying(100)
    assert fake.counters.refused_secondary >= 1
    assert result.search.api.budget.refusals == fake.counters.refused_secondary
