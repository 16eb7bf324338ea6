"""Runs the partitioned search: plan the parts, page through each, yield each repository once.

The first page of every part doubles as its count probe, so a part that fits under the cap
costs no extra request. Star counts drift while a crawl runs, so repositories are
deduplicated by node id and the star filter is checked again on the value we record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from harvest.github.api import GraphQLClient
from harvest.github.config import GitHubSettings
from harvest.github.graphql import RepoInfo, SearchPage
from harvest.github.partition import Part, Plan, plan


def base_query(settings: GitHubSettings) -> str:
    """The qualifiers every part shares; `is:public` keeps private repos out for any token."""
    words = [
        "language:elixir",
        "is:public",
        "fork:true" if settings.include_forks else "fork:false",
    ]
    if not settings.include_archived:
        words.append("archived:false")
    if settings.pushed_after is not None:
        words.append(f"pushed:>{settings.pushed_after.isoformat()}")
    return " ".join(words)


def rejection(repo: RepoInfo, settings: GitHubSettings) -> str | None:
    """Why a search hit does not qualify on the values we are about to record (None = it does)."""
    if repo.stars < settings.min_stars:
        return "below_min_stars"
    if settings.max_stars is not None and repo.stars > settings.max_stars:
        return "above_max_stars"
    if repo.is_fork and not settings.include_forks:
        return "fork"
    if repo.is_archived and not settings.include_archived:
        return "archived"
    cutoff = settings.pushed_after
    if cutoff and repo.pushed_at and repo.pushed_at <= datetime.combine(cutoff, time.max, UTC):
        return "pushed_too_early"
    return None


@dataclass
class SearchStats:
    total: int = 0  # repositoryCount of the whole query
    reachable: int = 0  # what the parts can page through (== total when nothing drifted)
    parts: int = 0
    stuck_parts: int = 0
    requests: int = 0
    unique: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    dropped_nodes: int = 0


class Search:
    """One crawl's search: `plan()` first, then `qualifying(part)` for each planned part."""

    def __init__(self, api: GraphQLClient, settings: GitHubSettings, now: datetime) -> None:
        self.api = api
        self.settings = settings
        self.now = now
        self.base = base_query(settings)
        self.stats = SearchStats()
        self.plan_result: Plan | None = None
        self._first_pages: dict[Part, SearchPage] = {}
        self._seen: set[str] = set()

    def query(self, part: Part) -> str:
        return f"{self.base} {part.qualifiers()}"

    async def _page(self, part: Part, after: str | None) -> SearchPage:
        self.stats.requests += 1
        page = await self.api.search_page(self.query(part), after, self.settings.page_size)
        self.stats.dropped_nodes += page.dropped
        return page

    async def plan(self) -> Plan:
        """Probe parts until each fits under the 1,000 cap; keep their first pages."""
        created_lo = datetime.combine(self.settings.created_since, time.min, UTC)
        steps = plan(self.settings.min_stars, self.settings.max_stars, created_lo, self.now)
        part = next(steps)
        try:
            while True:
                page = await self._page(part, None)
                self._first_pages[part] = page
                part = steps.send(page.total)
        except StopIteration as done:
            result: Plan = done.value
        leaves = {p for p, _ in result.leaves}
        self._first_pages = {p: pg for p, pg in self._first_pages.items() if p in leaves}
        self.plan_result = result
        self.stats.total, self.stats.reachable = result.total, result.covered
        self.stats.parts, self.stats.stuck_parts = len(result.leaves), len(result.stuck)
        return result

    async def qualifying(self, part: Part) -> AsyncIterator[RepoInfo]:
        """The qualifying repositories of one part not yet seen in any other part.

        Several parts may be paged at once (one task each); they share `seen`.
        """
        async for repo in self._pages_of(part):
            if repo.id in self._seen:
                continue
            self._seen.add(repo.id)
            self.stats.unique += 1
            reason = rejection(repo, self.settings)
            if reason:
                self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
                continue
            yield repo

    async def _pages_of(self, part: Part) -> AsyncIterator[RepoInfo]:
        page = self._first_pages.pop(part, None) or await self._page(part, None)
        while True:
            for repo in page.repos:
                yield repo
            if not page.has_next or not page.end_cursor:
                return
            page = await self._page(part, page.end_cursor)
