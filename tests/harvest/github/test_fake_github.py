"""The loopback GitHub itself: the behaviours a crawler must cope with are really there."""

from __future__ import annotations

import gzip
import io
import tarfile

import httpx
import pytest
from graphql import parse

from tests.fakes.github_population import make_population, run_search
from tests.fakes.github_schema import QueryLimitError, price
from tests.fakes.github_server import FakeGitHub, graphql_url, serve_github
from tests.fakes.github_tarball import build_tarball
from tests.harvest.github.conftest import TOKEN

COUNT = """query($q: String!, $first: Int!, $after: String) {
  search(query: $q, type: REPOSITORY, first: $first, after: $after) {
    repositoryCount pageInfo { hasNextPage endCursor } nodes { ... on Repository { id } } } }"""


def _post(
    fake: FakeGitHub, query: str, variables: dict, token: str | None = TOKEN
) -> httpx.Response:
    headers = {"Authorization": f"bearer {token}"} if token else {}
    return httpx.post(
        graphql_url(fake), json={"query": query, "variables": variables}, headers=headers
    )


def test_search_stops_at_1000_while_the_count_is_true() -> None:
    population = make_population(total=1500, qualifying=1200, seed=3)
    with serve_github(population, {TOKEN}) as fake:
        seen, after, total = 0, None, 0
        while True:
            data = _post(
                fake, COUNT, {"q": "language:elixir stars:>=100", "first": 100, "after": after}
            ).json()["data"]["search"]
            total, seen = data["repositoryCount"], seen + len(data["nodes"])
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
    expected = len(run_search(population, "language:elixir stars:>=100"))
    assert expected > 1000 and total == expected and seen == 1000


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ('{ search(query: "x", type: REPOSITORY, first: 100) { repositoryCount } }', 1),
        (
            '{ search(query: "x", type: REPOSITORY, first: 100) { nodes { ... on Repository {'
            " repositoryTopics(first: 10) { nodes { topic { name } } }"
            " languages(first: 10) { totalSize } } } } }",
            2,
        ),
    ],
)
def test_costs_follow_githubs_formula(query: str, cost: int) -> None:
    assert price(parse(query), {}).cost == cost  # 1 + 100 (+ 100) requests / 100


def test_query_limits_are_enforced() -> None:
    with pytest.raises(QueryLimitError, match="exceeds the `first` limit of 100"):
        price(parse('{ search(query: "x", type: REPOSITORY, first: 101) { repositoryCount } }'), {})
    with pytest.raises(QueryLimitError, match="must provide a `first` or `last`"):
        price(parse('{ search(query: "x", type: REPOSITORY) { repositoryCount } }'), {})


def test_auth_headers_and_redirect(github: FakeGitHub) -> None:
    anonymous = _post(github, COUNT, {"q": "x", "first": 1}, token=None)
    assert anonymous.status_code == 401 and "requires you to be authenticated" in anonymous.text
    assert _post(github, COUNT, {"q": "x", "first": 1}, token="nope").json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
    }
    ok = _post(github, COUNT, {"q": "language:elixir", "first": 1})
    assert ok.headers["x-ratelimit-resource"] == "graphql"
    assert int(ok.headers["x-ratelimit-remaining"]) == 5000 - int(ok.headers["x-ratelimit-used"])
    repo = next(r for r in github.population.repos if r.commit_oid)
    got = httpx.get(
        f"{github.base_url}/repos/{repo.name_with_owner}/tarball/{repo.commit_oid}",
        follow_redirects=True,
    )
    assert got.status_code == 200 and got.content == build_tarball(repo)


def test_tarballs_are_deterministic_with_the_git_archive_prefix() -> None:
    repo = make_population(total=50, qualifying=10, seed=1).repos[0]
    repo.is_empty = False
    data = build_tarball(repo)
    assert data == build_tarball(repo)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        names = tar.getnames()
    prefix = f"{repo.owner}-{repo.name}-{repo.commit_oid[:7]}/"
    assert all(n.startswith(prefix) or n == prefix[:-1] for n in names)
    assert prefix + "mix.exs" in names


def test_qualifiers() -> None:
    population = make_population(total=800, qualifying=100, seed=9)
    forks = run_search(population, "language:elixir fork:only")
    assert forks and all(r.is_fork for r in forks)
    assert not any(r.is_fork for r in run_search(population, "language:ELIXIR"))
    banded = run_search(population, "language:elixir stars:100..150 archived:false")
    assert banded and all(100 <= r.stars <= 150 and not r.is_archived for r in banded)
    dated = run_search(population, "created:2015-01-01..2015-12-31")
    assert dated and all(r.created_at.year == 2015 for r in dated)
