"""Hex's HTTP API, used only for extras (download counts), inside its advertised rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from harvest.net.ratelimit import HeaderRateLimiter
from harvest.net.retry import raise_for_transient, transient_retry


@dataclass(frozen=True)
class PackageStats:
    name: str
    downloads_all: int | None
    downloads_recent: int | None
    description: str | None
    licenses: tuple[str, ...]


@dataclass
class ApiCounters:
    requests: int = 0
    throttled: int = 0


def _stats(doc: dict[str, Any]) -> PackageStats:
    downloads = doc.get("downloads") or {}
    meta = doc.get("meta") or {}
    return PackageStats(
        name=doc["name"],
        downloads_all=downloads.get("all"),
        downloads_recent=downloads.get("recent"),
        description=meta.get("description"),
        licenses=tuple(meta.get("licenses") or ()),
    )


async def _get_json(
    client: httpx.AsyncClient,
    url: str,
    limiter: HeaderRateLimiter,
    counters: ApiCounters,
    attempts: int,
) -> Any:
    """One API GET inside the budget; a 429 waits for the advertised reset and asks again."""
    while True:
        await limiter.acquire()
        async for attempt in transient_retry(attempts):
            with attempt:
                counters.requests += 1
                response = await client.get(url, headers={"Accept": "application/json"})
                raise_for_transient(response)
        if response.status_code == 429:
            counters.throttled += 1
            limiter.throttled(response.headers)
            continue
        limiter.update(response.headers)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()


async def iter_package_stats(
    client: httpx.AsyncClient,
    api_url: str,
    limiter: HeaderRateLimiter,
    counters: ApiCounters,
    *,
    names: list[str] | None = None,
    attempts: int = 6,
) -> AsyncIterator[PackageStats]:
    """Stats for `names` (one request each) or for every package (100 per page)."""
    if names is not None:
        for name in names:
            doc = await _get_json(
                client, f"{api_url}/packages/{quote(name, safe='')}", limiter, counters, attempts
            )
            if doc:
                yield _stats(doc)
        return
    page = 1
    while True:
        url = f"{api_url}/packages?sort=name&per_page=100&page={page}"
        docs = await _get_json(client, url, limiter, counters, attempts)
        if not docs:
            return
        for doc in docs:
            yield _stats(doc)
        page += 1
