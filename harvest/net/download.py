"""Streams one HTTP body to disk with a size cap and a checksum, replacing the target atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harvest.net.retry import TransientHTTPError, raise_for_transient
from harvest.net.wire import Getter, WireResponse


class DownloadTooLarge(Exception):
    """The body is larger than the cap; nothing was kept."""


class ChecksumMismatch(Exception):
    """The body's SHA-256 differs from the expected one; nothing was kept."""

    def __init__(self, url: str, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"SHA-256 of {url} is {actual}, expected {expected}")


@dataclass(frozen=True)
class Downloaded:
    status: int
    path: Path | None
    sha256: str
    size: int
    headers: Mapping[str, str]


async def stream_to_file(
    client: Getter,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    expected_sha256: str | None = None,
    headers: dict[str, str] | None = None,
) -> Downloaded:
    """GET `url` into `dest`; only a complete, verified body ever appears at `dest`.

    Statuses other than 200 are returned (status is data) with nothing written; 5xx raise
    TransientHTTPError so the caller's retry policy can ask again.
    """
    async with client.open_get(url, headers) as response:
        raise_for_transient(response)
        if response.status_code != 200:
            return Downloaded(response.status_code, None, "", 0, response.headers)
        declared = int(response.headers.get("content-length") or 0)
        if declared > max_bytes:
            raise DownloadTooLarge(f"{url} is {declared} bytes, over the {max_bytes}-byte cap")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        try:
            digest, size = await _write_body(response, fd, url, max_bytes)
            if declared and size != declared:
                raise TransientHTTPError(200, url, f"body cut short at {size} of {declared} bytes")
            if expected_sha256 and digest != expected_sha256.lower():
                raise ChecksumMismatch(url, expected_sha256.lower(), digest)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Downloaded(200, dest, digest, size, response.headers)


async def _write_body(response: WireResponse, fd: int, url: str, max_bytes: int) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as handle:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise DownloadTooLarge(f"{url} exceeded the {max_bytes}-byte cap while streaming")
            hasher.update(chunk)
            handle.write(chunk)
        handle.flush()  # no fsync: a reused download is re-verified by its SHA-256 anyway
    return hasher.hexdigest(), size
