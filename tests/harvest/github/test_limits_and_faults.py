"""Rate limits, secondary limits, server faults and hostile tarballs: the crawl stays exact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harvest.github.budget import BudgetPolicy
from harvest.github.crawl import CrawlResult
from tests.fakes.github_population import FakeRepo
from tests.fakes.github_server import FakeGitHub
from tests.harvest.github.conftest import FakeSleep, query, recorded_names

Crawl = Callable[..., CrawlResult]


def _qualifying(github: FakeGitHub, n: int) -> list[FakeRepo]:
    names = github.population.qualifying(100)
    return [r for r in github.population.repos if r.name_with_owner in names and not r.is_empty][:n]


def _assert_exact(github: FakeGitHub, tmp_path: Path) -> None:
    assert recorded_names(tmp_path / "catalog.duckdb") == github.population.qualifying(100)


def test_html_gateway_errors_and_partial_data(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    github.switches.faults.extend(["502", "504", "partial"])
    result = crawl(github, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert not github.switches.faults
    assert result.search.stats.dropped_nodes == 0  # the partial page was asked for again


def test_timeouts_on_big_pages_make_pages_smaller(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    github.switches.timeout_over_first = 50  # GitHub's 10 s timeout on big pages
    crawl(github, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert github.counters.timeouts == 1
    assert github.counters.page_sizes[:2] == [100, 50] and max(github.counters.page_sizes[2:]) == 50


@pytest.mark.parametrize("status", [403, 429, 200])
def test_secondary_limit_waits_for_retry_after_then_backs_off(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path, fake_sleep: FakeSleep, status: int
) -> None:
    github.switches.secondary_status = status
    github.switches.retry_after = "3"
    github.switches.faults.extend(["secondary", "secondary"])
    result = crawl(github, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert github.counters.refused_secondary == 2
    assert result.search.api.budget.refusals == 2
    assert [round(s) for s in fake_sleep.calls if s >= 1] == [3, 6]  # retry-after, then doubled


def test_secondary_limit_without_retry_after_waits_a_minute(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path, fake_sleep: FakeSleep
) -> None:
    github.switches.retry_after = None
    github.switches.faults.append("secondary")
    crawl(github, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert max(fake_sleep.calls) >= 59.9  # the fake clock runs on between refusal and wait


@pytest.mark.parametrize(("kind", "header"), [("RATE_LIMITED", 0), ("RATE_LIMIT", 7)])
def test_exhausted_points_wait_for_the_reset(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path, fake_sleep: FakeSleep, kind: str, header: int
) -> None:
    github.switches.hourly_points = 1
    github.switches.rate_limit_type = kind
    github.switches.remaining_header_on_exhaustion = header  # may not say 0
    result = crawl(github, BudgetPolicy(reserve_points=0), page_size=20, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert github.counters.rate_limited >= 1 and result.search.api.budget.exhaustions >= 1
    assert max(fake_sleep.calls) > 3000  # until the hourly window resets, not a blind retry


def test_low_budget_waits_before_asking(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path, fake_sleep: FakeSleep
) -> None:
    github.switches.hourly_points = 21
    crawl(github, BudgetPolicy(reserve_points=20), page_size=20, fetch_sources=False)
    _assert_exact(github, tmp_path)
    assert github.counters.rate_limited == 0 and max(fake_sleep.calls) > 3000


def test_star_drift_is_checked_on_the_recorded_value(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    dropped = _qualifying(github, 3)
    for repo in dropped:  # the index still says >= 100, the repository says 42 now
        repo.indexed_stars, repo.stars = repo.stars, 42
    github.invalidate()
    try:
        result = crawl(github)
        _assert_exact(github, tmp_path)
        assert result.search.stats.rejected == {"below_min_stars": 3}
        stars = query(tmp_path / "catalog.duckdb", "SELECT min(stars) FROM github_repos")
        assert stars[0][0] >= 100
    finally:
        for repo in dropped:
            repo.stars, repo.indexed_stars = repo.indexed_stars or 0, None
        github.invalidate()


def test_tarball_404_429_and_hostile_archives_are_recorded_per_repository(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    traversal, symlink, stale = _qualifying(github, 3)
    traversal.malicious, symlink.malicious = "traversal", "symlink"
    github.after_search = lambda fake: setattr(stale, "revision", stale.revision + 1)
    github.switches.tarball_429 = 2
    try:
        result = crawl(github)
        github.after_search = None
        _assert_exact(github, tmp_path)
        catalog = tmp_path / "catalog.duckdb"
        errors = dict(
            query(
                catalog, "SELECT name_with_owner, error FROM github_repos WHERE status = 'failed'"
            )
        )
        assert errors[traversal.name_with_owner] == "unsafe_archive: unsafe_path"
        assert errors[symlink.name_with_owner] == "unsafe_archive: symlink_escape"
        assert errors[stale.name_with_owner] == "tarball_http_404"
        assert list(errors.values()).count("tarball_http_429") == 2
        assert result.counts["failed"] == 5
        runs = query(catalog, "SELECT status FROM crawl_runs")
        assert runs == [("failed",)]  # a crawl that left failures says so; a rerun retries
        hostile = [traversal.name_with_owner, symlink.name_with_owner]
        assert query(
            catalog, "SELECT count(*) FROM source_files WHERE origin IN (?, ?)", hostile
        ) == [(0,)]
        assert not list(tmp_path.rglob("escaped.ex"))
        # the rerun retries the failures; the ones that now succeed are fetched
        traversal.malicious = symlink.malicious = None
        github.invalidate()
        crawl(github)
        assert query(catalog, "SELECT count(*) FROM github_repos WHERE status = 'failed'") == [(0,)]
    finally:
        traversal.malicious = symlink.malicious = None
        github.after_search = None


def test_codeload_cooling_down_is_not_hammered(
    github: FakeGitHub, crawl: Crawl, tmp_path: Path
) -> None:
    github.switches.tarball_429 = 10_000
    result = crawl(github, concurrency=1, codeload_429_limit=3)
    _assert_exact(github, tmp_path)
    assert github.counters.tarballs == 3
    assert result.counts["failed: tarball_http_429"] == result.counts["failed"]
    github.switches.tarball_429 = 0
