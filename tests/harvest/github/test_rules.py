"""Pure rules: which files are kept, which hits qualify, what the search asks for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from harvest.github.config import GitHubSettings
from harvest.github.crawl import skip_reason
from harvest.github.search import base_query, rejection
from harvest.github.tarball import wanted
from tests.harvest.github.conftest import REPO


@pytest.mark.parametrize(
    ("path", "keep"),
    [
        ("mix.exs", True),
        ("lib/a.ex", True),
        ("test/a_test.exs", True),
        ("apps/core/lib/core.ex", True),
        ("README.md", False),
        ("lib/a.eex", False),
        ("deps/jason/lib/jason.ex", False),
        ("apps/web/deps/x.ex", False),
        ("_build/dev/x.ex", False),
        ("assets/node_modules/x/y.ex", False),
        ("priv/static/app.ex", False),
        ("assets/vendor/topbar.exs", False),
        ("lib/deps_helper.ex", True),
    ],
)
def test_wanted(path: str, keep: bool) -> None:
    assert wanted(path) is keep


def test_base_query_follows_the_options() -> None:
    assert base_query(GitHubSettings()) == "language:elixir is:public fork:false archived:false"
    wide = GitHubSettings(include_forks=True, include_archived=True, pushed_after=date(2023, 1, 31))
    assert base_query(wide) == "language:elixir is:public fork:true pushed:>2023-01-31"


def test_rejection_rechecks_the_recorded_values() -> None:
    settings = GitHubSettings(min_stars=100, max_stars=1000, pushed_after=date(2024, 5, 1))
    assert (
        rejection(dataclasses.replace(REPO, pushed_at=datetime(2024, 5, 2, tzinfo=UTC)), settings)
        is None
    )
    assert rejection(REPO, settings) == "pushed_too_early"  # pushed on the day itself
    assert rejection(dataclasses.replace(REPO, stars=99), GitHubSettings()) == "below_min_stars"
    assert rejection(dataclasses.replace(REPO, stars=5000), settings) == "above_max_stars"
    assert rejection(dataclasses.replace(REPO, is_fork=True), GitHubSettings()) == "fork"
    assert rejection(dataclasses.replace(REPO, is_archived=True), GitHubSettings()) == "archived"


def test_skip_reasons() -> None:
    assert skip_reason(REPO, GitHubSettings()) is None
    empty = dataclasses.replace(REPO, commit_oid=None, tarball_url=None, is_empty=True)
    assert skip_reason(empty, GitHubSettings()) == "empty_repository"
    assert (
        skip_reason(dataclasses.replace(empty, is_empty=False), GitHubSettings())
        == "no_default_branch"
    )
    assert skip_reason(REPO, GitHubSettings(fetch_sources=False)) == "metadata_only"
    assert "not in --license" in skip_reason(REPO, GitHubSettings(license=["Apache-2.0"]))
    huge = dataclasses.replace(REPO, disk_usage_kb=10 * 2**20)
    assert "over --max-disk-usage-mb" in skip_reason(huge, GitHubSettings())
