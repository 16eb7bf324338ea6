"""The Hex repository's endpoints over HTTP: status and body are returned, never judged.

Retries happen here (transient faults only); what a 304, 403 or 404 means is the crawler's call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from harvest.net.download import Downloaded, stream_to_file
from harvest.net.retry import raise_for_transient, transient_retry
from harvest.net.wire import Getter


@dataclass(frozen=True)
class RegistryResponse:
    status: int
    body: bytes | None
    etag: str | None


def resource_url(repo_url: str, resource: str) -> str:
    return f"{repo_url}/{resource}"


def package_url(repo_url: str, name: str) -> str:
    return f"{repo_url}/packages/{quote(name, safe='')}"


def tarball_url(repo_url: str, name: str, version: str) -> str:
    return f"{repo_url}/tarballs/{quote(name, safe='')}-{quote(version, safe='')}.tar"


async def fetch_registry(
    client: Getter, url: str, etag: str | None, attempts: int
) -> RegistryResponse:
    """GET a registry resource, conditionally when we hold an ETag (a 304 costs no body)."""
    headers = {"If-None-Match": etag} if etag else {}
    async for attempt in transient_retry(attempts):
        with attempt:
            async with client.open_get(url, headers) as response:
                raise_for_transient(response)
                body = await response.aread() if response.status_code == 200 else None
    if body is not None:
        return RegistryResponse(200, body, response.headers.get("etag"))
    return RegistryResponse(response.status_code, None, etag)


async def download_tarball(
    client: Getter,
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None,
    max_bytes: int,
    attempts: int,
) -> Downloaded:
    async for attempt in transient_retry(attempts):
        with attempt:
            return await stream_to_file(
                client, url, dest, max_bytes=max_bytes, expected_sha256=expected_sha256
            )
    raise AssertionError("unreachable: tenacity re-raises the last error")
