"""Decoding GitHub answers: errors inside 200, rate numbers, repository fields."""

from __future__ import annotations

import json

import pytest
from graphql import parse, validate

from harvest.github.graphql import (
    SEARCH_QUERY,
    classify,
    decode_repo,
    is_permissive,
    parse_reset,
    rate_from,
)
from tests.fakes.github_schema import build_fake_schema

SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


def _body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_search_query_is_valid_against_the_schema_subset() -> None:
    assert validate(build_fake_schema(), parse(SEARCH_QUERY)) == []


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (200, {}, _body({"data": {"search": {}}}), "ok"),
        (
            200,
            {},
            _body({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit"}]}),
            "exhausted",
        ),
        (
            200,
            {},
            _body(
                {"errors": [{"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": "x"}]}
            ),
            "exhausted",
        ),
        (200, {}, _body({"errors": [{"type": "RATE_LIMITED", "message": SECONDARY}]}), "secondary"),
        (403, {"retry-after": "30"}, _body({"message": SECONDARY}), "secondary"),
        (429, {}, b"slow down", "secondary"),
        (403, {"x-ratelimit-remaining": "0"}, _body({"message": "x"}), "secondary"),
        (
            403,
            {},
            _body({"message": "Resource protected by organization SAML enforcement."}),
            "auth",
        ),
        (502, {}, b"<html>We couldn't respond to your request in time.</html>", "transient"),
        (504, {}, b"<html>timeout</html>", "transient"),
        (200, {}, b"<html>not json</html>", "transient"),
        (401, {}, _body({"message": "Bad credentials"}), "auth"),
        (
            200,
            {},
            _body({"data": {"search": {"nodes": [None]}}, "errors": [{"message": "x"}]}),
            "partial",
        ),
        (200, {}, _body({"errors": [{"message": "Field 'x' doesn't exist"}]}), "invalid"),
        (404, {}, _body({"message": "Not Found"}), "invalid"),
        (200, {}, _body({"data": None}), "invalid"),
    ],
)
def test_classify(status: int, headers: dict[str, str], body: bytes, kind: str) -> None:
    assert classify(status, headers, body).kind == kind


def test_retry_after_and_rate_come_from_this_response() -> None:
    headers = {"retry-after": "7", "x-ratelimit-remaining": "12", "x-ratelimit-reset": "1700000000"}
    outcome = classify(403, headers, b"{}")
    assert outcome.retry_after == 7.0
    assert outcome.rate.remaining == 12 and outcome.rate.reset_at == 1_700_000_000


def test_body_rate_limit_wins_over_headers() -> None:
    data = {
        "rateLimit": {"cost": 2, "remaining": 40, "limit": 5000, "resetAt": "2026-11-22T03:00:00Z"}
    }
    rate = rate_from({"x-ratelimit-remaining": "99"}, data)
    assert (rate.cost, rate.remaining, rate.limit) == (2, 40, 5000)
    assert rate.reset_at == parse_reset("2026-11-22T03:00:00Z")


def test_reset_accepts_epoch_seconds_and_datetime() -> None:
    assert parse_reset("1700000000") == 1_700_000_000.0
    assert parse_reset("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_reset(None) is None


def test_decode_repo_with_null_branch_and_licence() -> None:
    node = {
        "id": "R_1",
        "nameWithOwner": "a/b",
        "stargazerCount": 150,
        "forkCount": 3,
        "isFork": False,
        "defaultBranchRef": None,
        "licenseInfo": None,
        "repositoryTopics": {"nodes": [{"topic": {"name": "otp"}}]},
        "isEmpty": True,
    }
    repo = decode_repo(node)
    assert repo.commit_oid is None and repo.tarball_url is None and repo.license_spdx is None
    assert repo.topics == ("otp",) and repo.is_empty and not repo.license_permissive


def test_permissive_list() -> None:
    assert is_permissive("MIT") and is_permissive("Apache-2.0")
    assert not is_permissive("NOASSERTION") and not is_permissive(None)
    assert not is_permissive("GPL-3.0")
