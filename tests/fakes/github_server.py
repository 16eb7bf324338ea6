"""A loopback GitHub: GraphQL v4 search with GitHub's limits, plus codeload tarballs.

Real HTTP/1.1 keep-alive on 127.0.0.1 (a thread per connection) executing real query text
with graphql-core. It emulates what a crawler gets wrong against the real service:

- bearer auth (401 JSON without a token or with a wrong one);
- the 1,000-result search cap while `repositoryCount` reports the true total;
- GitHub's point costs, an hourly window per token on an injectable clock, `rateLimit` in the
  body and all `x-ratelimit-*` headers; exhaustion as HTTP 200 with `RATE_LIMITED` (or the
  newer `RATE_LIMIT`/`graphql_rate_limit` shape, optionally with a remaining header above 0);
- secondary limits on concurrent requests and requests per minute, answered with 403, 429 or
  200-with-errors and an optional `retry-after`;
- injected faults: 502/504 with HTML bodies, 502 for pages larger than a threshold (GitHub's
  10 s timeout), partial data with an error;
- `GET /codeload/{o}/{r}/legacy.tar.gz/{oid}` (404 for empty repositories or stale commits,
  a 429 throttle switch) and `GET /repos/{o}/{r}/tarball/{ref}` redirecting to it.

`GET /rate_limit` reports the token's window; `GET /_fake/counters` returns the counters as
JSON for benchmarks that run the fake in another process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import GraphQLError, execute, parse, validate

from tests.fakes.github_population import BadQuery, Population, run_search
from tests.fakes.github_schema import (
    QueryLimitError,
    build_fake_schema,
    decode_cursor,
    encode_cursor,
    price,
    repo_view,
)
from tests.fakes.github_tarball import build_tarball

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
HOURLY_POINTS = 5000
SEARCH_CAP = 1000


class FakeClock:
    """Wall time plus an offset, so tests can jump past resets without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Switches:
    """Knobs a test turns; all default to a well-behaved GitHub."""

    max_concurrent: int = 4
    requests_per_minute: int = 2000
    secondary_status: int = 403  # 403, 429 or 200 (errors in the body)
    retry_after: str | None = "1"
    rate_limit_type: str = "RATE_LIMITED"  # or "RATE_LIMIT" (with code graphql_rate_limit)
    remaining_header_on_exhaustion: int = 0
    hourly_points: int = HOURLY_POINTS
    latency: float = 0.002
    timeout_over_first: int | None = None  # pages larger than this answer 502 (10 s timeout)
    tarball_429: int = 0  # the next N tarball requests get 429
    faults: deque[str] = field(default_factory=deque)  # "502", "504", "partial", "secondary"


@dataclass
class Counters:
    graphql_requests: int = 0
    refused_secondary: int = 0
    rate_limited: int = 0
    points: int = 0
    tarballs: int = 0
    timeouts: int = 0
    page_sizes: list[int] = field(default_factory=list)
    max_in_flight: int = 0
    authorization_headers: list[str] = field(default_factory=list)


class FakeGitHub:
    """The state behind the server: population, tokens, budget windows, switches, counters."""

    def __init__(self, population: Population, tokens: set[str], clock: FakeClock) -> None:
        self.population = population
        self.tokens = tokens
        self.clock = clock
        self.switches = Switches()
        self.counters = Counters()
        self.schema = build_fake_schema()
        self.base_url = ""
        self.after_search: Callable[[FakeGitHub], None] | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._windows: dict[str, tuple[float, int]] = {}  # token -> (reset_at, used)
        self._recent: deque[float] = deque()
        self._search_cache: dict[str, list[Any]] = {}

    def invalidate(self) -> None:
        """Call after changing the population (star drift, new commits)."""
        with self._lock:
            self._search_cache.clear()

    def search(self, query: str) -> list[Any]:
        with self._lock:
            hits = self._search_cache.get(query)
        if hits is None:
            hits = run_search(self.population, query)
            with self._lock:
                self._search_cache[query] = hits
        return hits

    def enter_flight(self) -> int:
        """Count a GraphQL request as in flight; returns how many are now."""
        with self._lock:
            self._in_flight += 1
            now = self.clock.now()
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 60:
                self._recent.popleft()
            self.counters.max_in_flight = max(self.counters.max_in_flight, self._in_flight)
            return self._in_flight

    def leave_flight(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def secondary_hit(self, level: int) -> bool:
        forced = self._take_fault("secondary")
        over = level > self.switches.max_concurrent
        return forced or over or len(self._recent) > self.switches.requests_per_minute

    def _take_fault(self, name: str) -> bool:
        with self._lock:
            if self.switches.faults and self.switches.faults[0] == name:
                self.switches.faults.popleft()
                return True
        return False

    def take_any_fault(self, *names: str) -> str | None:
        return next((n for n in names if self._take_fault(n)), None)

    def charge(self, token: str, cost: int) -> tuple[bool, dict[str, Any]]:
        """Spend `cost` points of the token's hourly window; False when it cannot pay."""
        with self._lock:
            now = self.clock.now()
            reset_at, used = self._windows.get(token, (now + 3600, 0))
            if now >= reset_at:
                reset_at, used = now + 3600, 0
            limit = self.switches.hourly_points
            ok = used + cost <= limit
            if ok:
                used += cost
                self.counters.points += cost
            self._windows[token] = (reset_at, used)
            return ok, {
                "limit": limit,
                "used": used,
                "remaining": limit - used,
                "reset": int(reset_at),
            }


class _Root:
    """Root resolvers: graphql-core calls these with (info, **arguments)."""

    def __init__(self, fake: FakeGitHub, rate: dict[str, Any]) -> None:
        self.fake = fake
        self.rate = rate

    def search(
        self,
        _info: Any,
        query: str,
        type: str,
        first: int | None = None,
        after: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if type != "REPOSITORY":
            raise GraphQLError("only REPOSITORY searches are emulated")
        try:
            hits = self.fake.search(query)
        except BadQuery as exc:
            raise GraphQLError(str(exc)) from None
        start = decode_cursor(after)
        reachable = min(len(hits), SEARCH_CAP)
        end = min(start + (first or 0), reachable)
        nodes = [repo_view(r, self.fake.base_url) for r in hits[start:end]]
        if self.fake.after_search is not None:
            self.fake.after_search(self.fake)  # the page is already built: changes show later
        return {
            "repositoryCount": len(hits),
            "pageInfo": {
                "hasNextPage": end < reachable,
                "hasPreviousPage": start > 0,
                "startCursor": encode_cursor(start) if end > start else None,
                "endCursor": encode_cursor(end) if end > start else None,
            },
            "nodes": nodes,
        }

    def repository(self, _info: Any, owner: str, name: str) -> dict[str, Any] | None:
        repo = self.fake.population.by_name.get(f"{owner}/{name}".lower())
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return repo_view(repo, self.fake.base_url)

    def rateLimit(self, _info: Any, dryRun: bool = False) -> dict[str, Any]:
        return self.rate


HTML_TIMEOUT = (
    b"<html><body><h1>We couldn't respond to your request in time.</h1>"
    b"<p>Sorry about that. Please try refreshing.</p></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; avoid 40 ms stalls
    server: _Server

    def log_message(self, *_: Any) -> None:  # keep test output quiet
        pass

    # ---- plumbing ----
    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._land()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "token") else None

    # ---- routes ----
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/graphql":
            self._json(404, {"message": "Not Found"})
            return
        self.server.fake.counters.authorization_headers.append(
            self.headers.get("Authorization", "")
        )
        token = self._token()
        if token is None:
            self._json(
                401,
                {
                    "message": "This endpoint requires you to be authenticated.",
                    "documentation_url": "https://docs.github.com/graphql",
                },
            )
            return
        if token not in self.server.fake.tokens:
            self._json(
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
            return
        level = self.server.fake.enter_flight()
        self._in_flight = True
        try:
            self._graphql(token, body, level)
        finally:
            self._land()

    def _land(self) -> None:
        """A request stops counting once its answer is ready, before the bytes go out: the
        client may send its next request the moment it has read them."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.server.fake.leave_flight()

    def _graphql(self, token: str, body: bytes, level: int) -> None:
        fake = self.server.fake
        fake.counters.graphql_requests += 1
        if fake.secondary_hit(level):
            self._refuse_secondary()
            return
        fault = fake.take_any_fault("502", "504")
        if fault:
            time.sleep(fake.switches.latency)
            self._send(int(fault), HTML_TIMEOUT, "text/html; charset=utf-8")
            return
        try:
            request = json.loads(body)
            document = parse(request["query"])
        except (ValueError, KeyError, GraphQLError) as exc:
            self._json(200, {"errors": [{"message": f"Parse error: {exc}"}]})
            return
        variables = request.get("variables") or {}
        self._execute(token, document, variables)

    def _execute(self, token: str, document: Any, variables: dict[str, Any]) -> None:
        fake = self.server.fake
        problems = validate(fake.schema, document)
        if problems:
            self._json(200, {"errors": [p.formatted for p in problems]})
            return
        try:
            cost = price(document, variables)
        except QueryLimitError as exc:
            self._json(200, {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": str(exc)}]})
            return
        limit_first = fake.switches.timeout_over_first
        fake.counters.page_sizes.append(int(variables.get("first") or 0))
        if limit_first is not None and int(variables.get("first") or 0) > limit_first:
            fake.counters.timeouts += 1
            time.sleep(fake.switches.latency)
            self._send(502, HTML_TIMEOUT, "text/html; charset=utf-8")
            return
        ok, window = fake.charge(token, cost.cost)
        headers = _rate_headers(window)
        if not ok:
            self._exhausted(window, headers)
            return
        time.sleep(fake.switches.latency)
        rate = {
            "cost": cost.cost,
            "limit": window["limit"],
            "remaining": window["remaining"],
            "used": window["used"],
            "nodeCount": cost.node_count,
            "resetAt": datetime.fromtimestamp(window["reset"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        result = execute(fake.schema, document, _Root(fake, rate), variable_values=variables)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_github_error(e) for e in result.errors]
        if fake.take_any_fault("partial"):
            _make_partial(payload)
        self._json(200, payload, headers)

    def _refuse_secondary(self) -> None:
        fake = self.server.fake
        fake.counters.refused_secondary += 1
        headers = {"retry-after": fake.switches.retry_after} if fake.switches.retry_after else {}
        status = fake.switches.secondary_status
        if status == 200:
            self._json(
                200, {"errors": [{"type": "RATE_LIMITED", "message": SECONDARY_MESSAGE}]}, headers
            )
        else:
            self._json(
                status,
                {
                    "message": SECONDARY_MESSAGE,
                    "documentation_url": "https://docs.github.com/graphql",
                },
                headers,
            )

    def _exhausted(self, window: dict[str, Any], headers: dict[str, str]) -> None:
        fake = self.server.fake
        fake.counters.rate_limited += 1
        headers["x-ratelimit-remaining"] = str(fake.switches.remaining_header_on_exhaustion)
        error: dict[str, Any] = {
            "type": fake.switches.rate_limit_type,
            "message": "API rate limit exceeded for user ID 1.",
        }
        if fake.switches.rate_limit_type == "RATE_LIMIT":
            error["code"] = "graphql_rate_limit"
        self._json(200, {"data": None, "errors": [error]}, headers)

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts[:1] == ["codeload"] and len(parts) == 5:
            self._tarball(parts[1], parts[2], parts[4])
        elif parts[:1] == ["repos"] and len(parts) == 5 and parts[3] == "tarball":
            base = self.server.fake.base_url
            location = f"{base}/codeload/{parts[1]}/{parts[2]}/legacy.tar.gz/{parts[4]}"
            self._send(302, b"", "text/plain", {"Location": location})
        elif self.path == "/_fake/counters":  # for benchmarks running the fake in a child
            counters = dict(vars(self.server.fake.counters))
            counters.pop("authorization_headers")
            self._json(200, counters)
        elif self.path == "/rate_limit":
            _, window = self.server.fake.charge(self._token() or "", 0)
            self._json(200, {"resources": {"graphql": window}})
        else:
            self._json(404, {"message": "Not Found"})

    def _tarball(self, owner: str, name: str, oid: str) -> None:
        fake = self.server.fake
        fake.counters.tarballs += 1
        if fake.switches.tarball_429 > 0:
            fake.switches.tarball_429 -= 1
            self._send(429, b"Too Many Requests", "text/plain", {"retry-after": "1800"})
            return
        repo = fake.population.by_name.get(f"{owner}/{name}".lower())
        if repo is None or repo.commit_oid is None or repo.commit_oid != oid:
            self._send(404, b"404: Not Found", "text/plain")
            return
        self._send(200, build_tarball(repo), "application/x-gzip")


def _rate_headers(window: dict[str, Any]) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(window["limit"]),
        "x-ratelimit-remaining": str(window["remaining"]),
        "x-ratelimit-used": str(window["used"]),
        "x-ratelimit-reset": str(window["reset"]),
        "x-ratelimit-resource": "graphql",
    }


def _github_error(error: GraphQLError) -> dict[str, Any]:
    out = dict(error.formatted)
    if error.extensions and "type" in error.extensions:
        out["type"] = error.extensions["type"]
        out.pop("extensions", None)
    return out


def _make_partial(payload: dict[str, Any]) -> None:
    """Drop the first search node and report why, as GitHub does for cut-short queries."""
    nodes = ((payload.get("data") or {}).get("search") or {}).get("nodes") or []
    if nodes:
        nodes[0] = None
        payload.setdefault("errors", []).append(
            {
                "message": "Something went wrong while executing your query. "
                "This may be the result of a timeout.",
                "path": ["search", "nodes", 0],
            }
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


@contextmanager
def serve_github(
    population: Population, tokens: set[str] | None = None, clock: FakeClock | None = None
) -> Iterator[FakeGitHub]:
    """Run the fake on an ephemeral 127.0.0.1 port for the duration of the block."""
    fake = FakeGitHub(population, tokens or {"test-token"}, clock or FakeClock())
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def graphql_url(fake: FakeGitHub) -> str:
    return f"{fake.base_url}/graphql"
