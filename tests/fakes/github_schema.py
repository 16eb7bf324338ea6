"""The subset of GitHub's GraphQL schema the fake serves, its resolvers and GitHub's costing.

graphql-core executes the real query text against this schema, so field typos, wrong
arguments and fragments on the wrong type fail exactly as they would against GitHub.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    value_from_ast_untyped,
)

from tests.fakes.github_population import FakeRepo

SDL = """
scalar DateTime
scalar URI
scalar GitObjectID

enum SearchType { REPOSITORY ISSUE USER DISCUSSION }
enum RepositoryVisibility { PUBLIC PRIVATE INTERNAL }

type Query {
  search(query: String!, type: SearchType!, first: Int, last: Int, after: String,
         before: String): SearchResultItemConnection!
  repository(owner: String!, name: String!): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
}

type RateLimit {
  cost: Int!
  limit: Int!
  remaining: Int!
  used: Int!
  resetAt: DateTime!
  nodeCount: Int!
}

type PageInfo {
  hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String
}

union SearchResultItem = Repository

type SearchResultItemConnection {
  repositoryCount: Int!
  pageInfo: PageInfo!
  nodes: [SearchResultItem]
}

type Language { name: String! }
type LanguageEdge { size: Int! node: Language! }
type LanguageConnection { totalSize: Int! totalCount: Int! edges: [LanguageEdge] nodes: [Language] }

type License { spdxId: String key: String! name: String! }
type Topic { name: String! }
type RepositoryTopic { topic: Topic! }
type RepositoryTopicConnection { totalCount: Int! nodes: [RepositoryTopic] }

interface GitObject { oid: GitObjectID! }
type Commit implements GitObject {
  oid: GitObjectID!
  committedDate: DateTime!
  tarballUrl: URI!
}
type Ref { name: String! target: GitObject }
type RepositoryOwner { login: String! }

type Repository {
  id: ID!
  databaseId: Int
  name: String!
  owner: RepositoryOwner!
  nameWithOwner: String!
  url: URI!
  description: String
  stargazerCount: Int!
  forkCount: Int!
  isFork: Boolean!
  isArchived: Boolean!
  isMirror: Boolean!
  isTemplate: Boolean!
  isEmpty: Boolean!
  isDisabled: Boolean!
  isLocked: Boolean!
  visibility: RepositoryVisibility!
  createdAt: DateTime!
  pushedAt: DateTime
  updatedAt: DateTime!
  diskUsage: Int
  primaryLanguage: Language
  languages(first: Int, last: Int, after: String): LanguageConnection
  licenseInfo: License
  defaultBranchRef: Ref
  repositoryTopics(first: Int, last: Int, after: String): RepositoryTopicConnection!
}
"""

CONNECTIONS = {"search", "languages", "repositoryTopics"}
NODE_LIMIT = 500_000


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.b64decode(cursor).decode().split(":", 1)[1])


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def repo_view(repo: FakeRepo, base_url: str) -> dict[str, Any]:
    """The GraphQL-shaped object for one repository; nested connections slice on `first`."""
    oid = repo.commit_oid
    nwo = repo.name_with_owner
    branch = None
    if oid is not None:
        commit = {
            "__typename": "Commit",
            "oid": oid,
            "committedDate": _iso(repo.pushed_at),
            "tarballUrl": f"{base_url}/codeload/{nwo}/legacy.tar.gz/{oid}",
        }
        branch = {"name": "main", "target": commit}
    license_info = None
    if repo.license_spdx or repo.license_key:
        license_info = {
            "spdxId": repo.license_spdx,
            "key": repo.license_key,
            "name": repo.license_spdx or "Other",
        }
    return {
        "id": repo.node_id,
        "databaseId": repo.number,
        "name": repo.name,
        "owner": {"login": repo.owner},
        "nameWithOwner": nwo,
        "url": f"https://github.com/{nwo}",
        "description": f"Fake repository {nwo}",
        "stargazerCount": repo.stars,
        "forkCount": repo.forks,
        "isFork": repo.is_fork,
        "isArchived": repo.is_archived,
        "isMirror": repo.is_mirror,
        "isTemplate": repo.is_template,
        "isEmpty": repo.is_empty,
        "isDisabled": False,
        "isLocked": False,
        "visibility": "PUBLIC",
        "createdAt": _iso(repo.created_at),
        "pushedAt": _iso(repo.pushed_at),
        "updatedAt": _iso(repo.pushed_at),
        "diskUsage": 120 + repo.number % 900,
        "primaryLanguage": {"name": repo.primary_language} if repo.languages else None,
        "_languages": [{"name": n} for n in repo.languages],
        "licenseInfo": license_info,
        "defaultBranchRef": branch,
        "_topics": [{"topic": {"name": t}} for t in repo.topics],
    }


def _sliced(key: str, total_key: str | None = None) -> Callable[..., Any]:
    def resolve(obj: dict[str, Any], _info: Any, first: int | None = None, **_: Any) -> Any:
        items = obj[key][: first or 0]
        out: dict[str, Any] = {"nodes": items, "totalCount": len(obj[key])}
        if key == "_languages":
            out["edges"] = [
                {"size": 1000 * (len(items) - i), "node": n} for i, n in enumerate(items)
            ]
            out["totalSize"] = sum(e["size"] for e in out["edges"])
        return out

    return resolve


def build_fake_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    schema.type_map["SearchResultItem"].resolve_type = lambda *_: "Repository"  # type: ignore[attr-defined]
    schema.type_map["GitObject"].resolve_type = lambda obj, *_: obj["__typename"]  # type: ignore[attr-defined]
    repo_type = schema.type_map["Repository"]
    repo_type.fields["languages"].resolve = _sliced("_languages")  # type: ignore[attr-defined]
    repo_type.fields["repositoryTopics"].resolve = _sliced("_topics")  # type: ignore[attr-defined]
    return schema


# ---- GitHub's cost and node-limit rules ----------------------------------------------------


class QueryLimitError(ValueError):
    """A query GitHub refuses before running it (missing or out-of-range `first`, node limit)."""


@dataclass(frozen=True)
class Price:
    cost: int
    node_count: int


def price(document: DocumentNode, variables: dict[str, Any]) -> Price:
    """GitHub's rule: each connection needs (product of parent `first`s) requests; sum / 100."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    requests = 0
    nodes = 0
    stack: list[tuple[Any, int]] = [
        (d.selection_set, 1) for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    while stack:
        selection_set, multiplier = stack.pop()
        for sel in selection_set.selections if selection_set else []:
            if isinstance(sel, FragmentSpreadNode):
                stack.append((fragments[sel.name.value].selection_set, multiplier))
            elif isinstance(sel, InlineFragmentNode):
                stack.append((sel.selection_set, multiplier))
            elif isinstance(sel, FieldNode) and sel.selection_set is not None:
                inner = multiplier
                if sel.name.value in CONNECTIONS:
                    first = _page_size(sel, variables)
                    requests += multiplier
                    inner = multiplier * first
                    nodes += inner
                stack.append((sel.selection_set, inner))
    if nodes > NODE_LIMIT:
        raise QueryLimitError(
            f"This query requests up to {nodes:,} possible nodes which exceeds the maximum "
            f"limit of {NODE_LIMIT:,}."
        )
    return Price(max(1, round(requests / 100)), nodes)


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments}
    size = args.get("first") if args.get("first") is not None else args.get("last")
    if size is None:
        raise QueryLimitError(
            f"You must provide a `first` or `last` value to properly paginate the "
            f"`{field.name.value}` connection."
        )
    if not 0 <= size <= 100:
        raise QueryLimitError(
            f"Requesting {size} records on the `{field.name.value}` connection exceeds the "
            f"`first` limit of 100 records."
        )
    return max(size, 1)
