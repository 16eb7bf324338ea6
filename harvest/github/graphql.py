"""GraphQL query text and the decoding of GitHub's answers, including errors inside HTTP 200.

Pure: no network, no clock. `classify()` turns (status, headers, body) into one Outcome so the
caller never treats a 200 as success without looking at `errors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from gql import gql
from graphql import print_ast

# One search page: 100 nodes with 10 topics each is 1 + 100 requests, so it costs 1 point.
# `languages` is left out on purpose: it would double the price for data we do not use.
_SEARCH = """
query ElixirRepositories($q: String!, $first: Int!, $after: String) {
  rateLimit { cost limit remaining used resetAt }
  search(query: $q, type: REPOSITORY, first: $first, after: $after) {
    repositoryCount
    pageInfo { hasNextPage endCursor }
    nodes {
      ... on Repository {
        id databaseId nameWithOwner url description
        stargazerCount forkCount
        isFork isArchived isMirror isTemplate isEmpty
        createdAt pushedAt diskUsage
        primaryLanguage { name }
        licenseInfo { spdxId key }
        repositoryTopics(first: 10) { nodes { topic { name } } }
        defaultBranchRef {
          name
          target { ... on Commit { oid committedDate tarballUrl } }
        }
      }
    }
  }
}
"""
# Parsed once at import: a syntax error fails the test suite, not a crawl an hour in.
SEARCH_QUERY = print_ast(gql(_SEARCH).document)

PERMISSIVE = frozenset(
    {
        "MIT",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "ISC",
        "0BSD",
        "MIT-0",
        "Unlicense",
        "CC0-1.0",
        "Zlib",
        "BSL-1.0",
        "BlueOak-1.0.0",
    }
)
SECONDARY_HINT = "secondary rate limit"
PRIMARY_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})


def is_permissive(spdx: str | None) -> bool:
    """On the allow-list; NOASSERTION and null are not (they need a scan or mean none)."""
    return spdx in PERMISSIVE


@dataclass(frozen=True)
class RepoInfo:
    """One repository as the search returned it; field names match `github_repos` columns."""

    id: str
    database_id: int | None
    name_with_owner: str
    url: str | None
    description: str | None
    stars: int
    forks: int
    is_fork: bool
    is_archived: bool
    is_mirror: bool
    is_template: bool
    is_empty: bool
    license_spdx: str | None
    license_key: str | None
    default_branch: str | None
    commit_oid: str | None
    committed_at: datetime | None
    tarball_url: str | None
    created_at: datetime | None
    pushed_at: datetime | None
    disk_usage_kb: int | None
    primary_language: str | None
    topics: tuple[str, ...]

    @property
    def license_permissive(self) -> bool:
        return is_permissive(self.license_spdx)


@dataclass(frozen=True)
class RateInfo:
    """What the last response said about the hourly budget; None where it said nothing."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None  # epoch seconds
    cost: int | None = None


@dataclass(frozen=True)
class SearchPage:
    total: int
    has_next: bool
    end_cursor: str | None
    repos: tuple[RepoInfo, ...]
    dropped: int  # null nodes (partial data)


OutcomeKind = Literal["ok", "partial", "auth", "secondary", "exhausted", "transient", "invalid"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    data: dict[str, Any] | None
    rate: RateInfo
    retry_after: float | None
    message: str


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def parse_reset(value: Any) -> float | None:
    """`resetAt` is documented as epoch seconds but typed DateTime: accept both."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return float(text)
    parsed = parse_time(text)
    return parsed.timestamp() if parsed else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rate_from(headers: Mapping[str, str], data: Mapping[str, Any] | None) -> RateInfo:
    """Prefer the body's `rateLimit` (it belongs to this query), else this response's headers."""
    body = (data or {}).get("rateLimit") or {}
    return RateInfo(
        remaining=_int(body.get("remaining", headers.get("x-ratelimit-remaining"))),
        limit=_int(body.get("limit", headers.get("x-ratelimit-limit"))),
        reset_at=parse_reset(body.get("resetAt") or headers.get("x-ratelimit-reset")),
        cost=_int(body.get("cost")),
    )


def _error_kind(errors: list[dict[str, Any]]) -> OutcomeKind | None:
    for err in errors:
        message = str(err.get("message", "")).lower()
        if SECONDARY_HINT in message:
            return "secondary"
        if err.get("type") in PRIMARY_TYPES or err.get("code") == "graphql_rate_limit":
            return "exhausted"
    return None


def classify(status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
    """Decide what one GraphQL response means; never raises on odd bodies."""
    retry_after = _retry_after(headers)
    payload = _json_object(body)
    data = payload.get("data") if payload else None
    rate = rate_from(headers, data if isinstance(data, dict) else None)
    message = _message(payload, body)

    def out(kind: OutcomeKind) -> Outcome:
        return Outcome(kind, data if isinstance(data, dict) else None, rate, retry_after, message)

    if status == 401 or (status == 403 and not _rate_limited_403(headers, message)):
        return out("auth")  # a 403 that is no rate limit: SSO enforcement, blocked token, ...
    if status in (403, 429):
        return out("secondary")
    if status >= 500 or payload is None:
        return out("transient")
    if status != 200:  # 400, 404 (wrong --api-url), ...: asking again will not help
        return Outcome("invalid", None, rate, retry_after, f"HTTP {status}: {message}")
    errors = payload.get("errors") or []
    if not errors:
        return out("ok" if isinstance(data, dict) else "invalid")
    kind = _error_kind(errors)
    if kind:
        return out(kind)
    return out("partial" if isinstance(data, dict) and data.get("search") else "invalid")


def _rate_limited_403(headers: Mapping[str, str], message: str) -> bool:
    return (
        "rate limit" in message.lower()
        or "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _message(payload: dict[str, Any] | None, body: bytes) -> str:
    if payload is None:
        return body[:120].decode("utf-8", "replace").strip()
    if payload.get("errors"):
        return "; ".join(str(e.get("message", e)) for e in payload["errors"][:3])
    return str(payload.get("message", ""))


def decode_search(data: Mapping[str, Any]) -> SearchPage:
    """The search connection of one response; null nodes (cut-short data) are counted."""
    search = data["search"]
    nodes = search.get("nodes") or []
    repos = tuple(decode_repo(n) for n in nodes if n)
    info = search["pageInfo"]
    return SearchPage(
        total=int(search["repositoryCount"]),
        has_next=bool(info["hasNextPage"]),
        end_cursor=info.get("endCursor"),
        repos=repos,
        dropped=len(nodes) - len(repos),
    )


def decode_repo(node: Mapping[str, Any]) -> RepoInfo:
    branch = node.get("defaultBranchRef") or {}
    commit = branch.get("target") or {}
    license_info = node.get("licenseInfo") or {}
    topics = (node.get("repositoryTopics") or {}).get("nodes") or []
    return RepoInfo(
        id=node["id"],
        database_id=node.get("databaseId"),
        name_with_owner=node["nameWithOwner"],
        url=node.get("url"),
        description=node.get("description"),
        stars=int(node["stargazerCount"]),
        forks=int(node.get("forkCount") or 0),
        is_fork=bool(node.get("isFork")),
        is_archived=bool(node.get("isArchived")),
        is_mirror=bool(node.get("isMirror")),
        is_template=bool(node.get("isTemplate")),
        is_empty=bool(node.get("isEmpty")),
        license_spdx=license_info.get("spdxId"),
        license_key=license_info.get("key"),
        default_branch=branch.get("name"),
        commit_oid=commit.get("oid"),
        committed_at=parse_time(commit.get("committedDate")),
        tarball_url=commit.get("tarballUrl"),
        created_at=parse_time(node.get("createdAt")),
        pushed_at=parse_time(node.get("pushedAt")),
        disk_usage_kb=node.get("diskUsage"),
        primary_language=(node.get("primaryLanguage") or {}).get("name"),
        topics=tuple(t["topic"]["name"] for t in topics if t and t.get("topic")),
    )
