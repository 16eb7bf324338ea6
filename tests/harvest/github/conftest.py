"""Fixtures: the loopback GitHub, a fake clock shared with the crawler, settings for a run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from harvest.github.budget import Budget, BudgetPolicy
from harvest.github.config import GitHubSettings
from harvest.github.crawl import CrawlResult, harvest_github
from harvest.github.graphql import RepoInfo
from tests.fakes.github_population import Population, make_population
from tests.fakes.github_server import FakeClock, FakeGitHub, graphql_url, serve_github

TOKEN = "ghp_testtoken_0123456789abcdef"
# One search hit, for the pure rules and the writer.
REPO = RepoInfo(
    id="R_1",
    database_id=1,
    name_with_owner="a/b",
    url=None,
    description=None,
    stars=150,
    forks=2,
    is_fork=False,
    is_archived=False,
    is_mirror=False,
    is_template=False,
    is_empty=False,
    license_spdx="MIT",
    license_key="mit",
    default_branch="main",
    commit_oid="c" * 40,
    committed_at=None,
    tarball_url="http://codeload/x",
    created_at=None,
    pushed_at=datetime(2024, 5, 1, tzinfo=UTC),
    disk_usage_kb=100,
    primary_language="Elixir",
    topics=(),
)


class FakeSleep:
    """Records every wait and moves the shared clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture(scope="session")
def small_population() -> Population:
    return make_population(total=400, qualifying=60, seed=11)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def github(small_population: Population, clock: FakeClock) -> Iterator[FakeGitHub]:
    with serve_github(small_population, {TOKEN}, clock) as fake:
        yield fake


def settings_for(fake: FakeGitHub, root: Path, **overrides: Any) -> GitHubSettings:
    return GitHubSettings(
        api_url=graphql_url(fake),
        catalog=root / "catalog.duckdb",
        data_dir=root / "data",
        **overrides,
    )


@pytest.fixture
def crawl(tmp_path: Path, clock: FakeClock, fake_sleep: FakeSleep) -> Callable[..., CrawlResult]:
    """Run a crawl in-process against `fake`, with the fake clock and sleep."""

    def run(fake: FakeGitHub, policy: BudgetPolicy | None = None, **overrides: Any) -> CrawlResult:
        settings = settings_for(fake, tmp_path, **overrides)
        budget = Budget(policy or BudgetPolicy(), clock=clock.now, sleep=fake_sleep)
        return asyncio.run(
            harvest_github(settings, SecretStr(TOKEN), budget=budget, show_progress=False)
        )

    return run


def query(catalog: Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    finally:
        con.close()


def recorded_names(catalog: Path) -> set[str]:
    return {name for (name,) in query(catalog, "SELECT name_with_owner FROM github_repos")}
