"""Builds the one keep-alive httpx client a crawl shares."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from harvest.net.identity import USER_AGENT
from harvest.net.wire import WirePool, WireResponse


class HarvestClient(httpx.AsyncClient):
    """httpx's client plus `open_get`, a GET for the crawl's hot path (registry resources and
    tarballs, two requests per Hex package) over harvest.net.wire's leaner connections."""

    def __init__(self, *, wire: WirePool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._wire = wire

    def open_get(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> AbstractAsyncContextManager[WireResponse]:
        """GET `url` with the client's headers plus `headers`, following redirects; the body
        streams. No cookies, auth flows or event hooks: these requests need none."""
        return self._wire.open_get(url, headers)

    async def aclose(self) -> None:
        self._wire.close()
        await super().aclose()


def make_client(
    *,
    timeout: float = 60.0,
    max_connections: int = 16,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> HarvestClient:
    """A client that names the tool in its User-Agent (harvest.net.identity) and reuses
    connections. `max_connections` bounds each of the two
    connection pools: httpx's (API calls) and the wire's (`open_get`).
    """
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    wire = WirePool(headers=merged, max_connections=max_connections, timeout=timeout)
    return HarvestClient(
        wire=wire,
        headers=merged,
        timeout=httpx.Timeout(timeout, connect=wire.connect_timeout),
        limits=limits,
        transport=transport,
        follow_redirects=True,
        trust_env=False,
    )
