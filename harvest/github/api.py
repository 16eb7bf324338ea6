"""GitHub GraphQL calls: one POST per query on the crawl's shared httpx client.

Why not gql's HTTPX transport: it keeps the last response's headers on the transport object,
shared by every concurrent request, and one transport per request would mean one connection
pool per request and a client built inside network code. So the query text is parsed and
checked with gql (in graphql.py), and each POST is made here with httpx; every decision
(rate numbers, retry-after) is taken from that request's own response.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from harvest.github.budget import Budget, throttle_delay
from harvest.github.errors import AuthError, GaveUp, QueryError, Throttled
from harvest.github.graphql import SEARCH_QUERY, Outcome, SearchPage, classify, decode_search
from harvest.net.retry import TransientHTTPError, is_transient

PAGE_SIZES = (100, 25)  # largest and smallest page; GitHub's advice after a timeout: ask for less


class GraphQLClient:
    """Runs search pages against the GraphQL endpoint under the crawl's Budget."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        token: SecretStr,
        budget: Budget,
        *,
        attempts: int = 8,
        transient_wait: float = 1.0,
    ) -> None:
        self._client = client
        self._url = url
        self._token = token
        self.budget = budget
        self._attempts = attempts
        self._backoff = wait_exponential_jitter(
            multiplier=transient_wait, max=60.0, jitter=transient_wait
        )
        self._throttled_in_row = 0
        self.page_limit = PAGE_SIZES[0]

    async def search_page(self, query: str, after: str | None, first: int = 100) -> SearchPage:
        """One page of a repository search; a partial page is asked for again (twice at most).

        After a 502/504 (GitHub's 10 s timeout) pages get smaller, 100 -> 50 -> 25, and stay
        so for the rest of the crawl.
        """
        partial_retries = 0
        page: SearchPage | None = None
        async for attempt in self._retrying():
            with attempt:
                variables = {"q": query, "first": min(first, self.page_limit), "after": after}
                try:
                    outcome = await self._post(variables)
                except TransientHTTPError:
                    self.page_limit = max(PAGE_SIZES[-1], self.page_limit // 2)
                    raise
                page = decode_search(outcome.data or {})
                if outcome.kind == "partial" and partial_retries < 2:
                    partial_retries += 1
                    raise TransientHTTPError(200, self._url, "partial data: " + outcome.message)
        assert page is not None
        return page

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception(lambda e: is_transient(e) or isinstance(e, Throttled)),
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            sleep=self.budget.sleep,
            retry_error_callback=self._give_up,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Throttled):
            return 0.0  # the Budget is paused for exc.delay; every request waits there
        return self._backoff(state)

    def _give_up(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        raise GaveUp(f"GraphQL request failed after {state.attempt_number} tries: {exc}") from exc

    async def _post(self, variables: dict[str, object]) -> Outcome:
        headers = {"Authorization": f"bearer {self._token.get_secret_value()}"}
        body = {"query": SEARCH_QUERY, "variables": variables}
        async with self.budget.slot():
            response = await self._client.post(self._url, json=body, headers=headers)
            content = response.content
        outcome = classify(response.status_code, response.headers, content)
        self.budget.observe(outcome.rate)
        return self._judge(outcome, response.status_code)

    def _judge(self, outcome: Outcome, status: int) -> Outcome:
        """Raise for anything that is not data; reset the refusal streak when it is."""
        if outcome.kind in ("ok", "partial"):
            self._throttled_in_row = 0
            return outcome
        if outcome.kind == "auth":
            raise AuthError(f"GitHub answered {status}: {outcome.message or 'Bad credentials'}")
        if outcome.kind == "transient":
            raise TransientHTTPError(status, self._url, outcome.message[:80])
        if outcome.kind == "invalid":
            raise QueryError(f"GitHub refused the query: {outcome.message}")
        return self._throttle(outcome)

    def _throttle(self, outcome: Outcome) -> Outcome:
        self._throttled_in_row += 1
        budget = self.budget
        remaining = outcome.rate.remaining
        if outcome.kind == "exhausted":
            budget.exhaustions += 1
            remaining = 0  # the header may not say 0 (seen in the wild); the body does
        else:
            budget.note_refusal()
        delay = throttle_delay(
            retry_after=outcome.retry_after,
            remaining=remaining,
            reset_at=outcome.rate.reset_at or budget.reset_at,
            now=budget.clock(),
            attempt=self._throttled_in_row,
            policy=budget.policy,
        )
        budget.pause(delay)
        raise Throttled(outcome.kind, delay)
