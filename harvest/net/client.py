"""Builds the one keep-alive httpx client a crawl shares."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx
from httpx_aiohttp import AiohttpTransport

from harvest import __version__

CONTACT_URL = "https://github.com/elixir-harvest/elixir-harvest"
USER_AGENT = f"elixir-harvest/{__version__} (+{CONTACT_URL})"


REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10


class HarvestClient(httpx.AsyncClient):
    """httpx's client plus `open_get`, a GET for the crawl's hot path (registry resources and
    tarballs, two requests per Hex package)."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **kwargs: object) -> None:
        super().__init__(transport=transport, **kwargs)  # type: ignore[arg-type]
        self._wire = transport

    @contextlib.asynccontextmanager
    async def open_get(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET `url` straight through the transport, following redirects (the Authorization
        header stays behind when one leaves the origin); the body streams.

        `client.stream("GET", ...)` runs httpx's per-request machinery (URL merging, cookie
        jar, auth and redirect flows, event hooks), about 300 us of CPU a request, more than
        the wire itself; these requests need none of it (no cookies, no auth), and the
        redirects a mirror may answer with are followed here.
        """
        merged = httpx.Headers(self.headers)
        merged.update(headers or {})
        timeout = self.timeout.as_dict()
        for _ in range(MAX_REDIRECTS + 1):
            request = httpx.Request("GET", url, headers=merged, extensions={"timeout": timeout})
            response = await self._wire.handle_async_request(request)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                break
            await response.aclose()
            target = request.url.join(location)
            if _origin(target) != _origin(request.url):
                merged.pop("authorization", None)  # as httpx does: no token for another host
            url = str(target)
        else:
            raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)
        try:
            yield response
        finally:
            await response.aclose()


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def make_client(
    *,
    timeout: float = 60.0,
    max_connections: int = 16,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> HarvestClient:
    """A client that names the tool in its User-Agent and reuses connections.

    Hex answers 400 without a User-Agent, GitHub rejects REST calls without one, and both ask
    crawlers to identify themselves with a contact.

    The API is httpx's; the wire is aiohttp's (httpx-aiohttp), whose C parser and connection
    pool cost about half the CPU per request of httpcore's pure-Python ones. A Hex crawl makes
    two requests per package on one event loop, so that CPU decides how closely it follows
    the network (bench/hex_crawl.py).
    """
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    return HarvestClient(
        headers=merged,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        limits=limits,
        transport=transport or AiohttpTransport(limits=limits, trust_env=False),
        follow_redirects=True,
        trust_env=False,
    )
