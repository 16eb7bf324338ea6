"""Exceptions of the GitHub harvester.

GitHubError
├── AuthError        token missing or rejected (401): fatal, the run stops
├── QueryError       GitHub refused the query itself (validation, node limit): a bug, no retry
├── Throttled        a primary or secondary rate limit answered; carries how long to wait
└── GaveUp           retries ran out for one request
"""

from __future__ import annotations


class GitHubError(Exception):
    """Base class for GitHub harvester failures."""


class AuthError(GitHubError):
    """GitHub refused the token (or there is none); never carries the token itself."""


class QueryError(GitHubError):
    """A query GitHub will never accept; retrying cannot help."""


class Throttled(GitHubError):
    """A rate limit answered; `delay` is the wait GitHub's backoff rule asks for."""

    def __init__(self, kind: str, delay: float) -> None:
        self.kind = kind
        self.delay = delay
        super().__init__(f"{kind} rate limit: waiting {delay:.0f}s")


class GaveUp(GitHubError):
    """A request kept failing after every retry."""
