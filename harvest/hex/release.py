"""One release, from its registry entry to its files in the blob store: the tarball is reused
from disk or downloaded (checksum-verified), then checked and unpacked. Runs inside a release
worker process (harvest.hex.workers); what comes back is a ReleaseResult, never an exception,
except for a bug.
"""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harvest.archive import ArchiveLimits
from harvest.hex import repo
from harvest.hex.errors import TarballError
from harvest.hex.unpack import Unpacked, unpack_release
from harvest.net.download import ChecksumMismatch, DownloadTooLarge
from harvest.net.retry import is_transient
from harvest.net.wire import Getter
from harvest.store import sha256_file


@dataclass(frozen=True)
class ReleaseJob:
    name: str
    version: str
    url: str
    dest: str  # where the verified tarball lives: data/tarballs/NAME-VERSION.tar
    outer_checksum: str | None
    data_dir: str
    max_tarball_bytes: int
    limits: ArchiveLimits
    attempts: int
    keep_tarball: bool


@dataclass(frozen=True)
class ReleaseResult:
    status: Literal["fetched", "quarantined", "failed"]
    error: str | None = None
    unpacked: Unpacked | None = None
    tarball_bytes: int = 0
    downloaded_bytes: int = 0  # 0 when a verified tarball on disk was reused
    reused: bool = False


async def fetch_release(
    client: Getter, job: ReleaseJob, download_slots: AbstractAsyncContextManager[Any]
) -> ReleaseResult:
    """Tarball, verified and unpacked; a failure is a result with its reason. A download
    holds one of `download_slots`; the unpack does not."""
    dest = Path(job.dest)
    try:
        size, downloaded = await ensure_tarball(client, job, dest, download_slots)
    except (ChecksumMismatch, DownloadTooLarge) as exc:
        reason = "outer_checksum_mismatch" if isinstance(exc, ChecksumMismatch) else "too_large"
        return ReleaseResult("quarantined", f"{reason}: {exc}")
    except FileNotFoundError as exc:
        return ReleaseResult("failed", str(exc))
    except Exception as exc:
        if not is_transient(exc):
            raise
        return ReleaseResult("failed", f"download failed: {exc}")
    # Let the download waiting for the slot just freed send its request before this
    # process spends a millisecond or more unpacking: the network never waits on the CPU.
    await asyncio.sleep(0)
    try:
        unpacked = unpack_release(job.dest, job.name, job.version, job.data_dir, job.limits)
    except TarballError as exc:
        quarantine(dest, Path(job.data_dir), str(exc))
        return ReleaseResult("quarantined", str(exc), downloaded_bytes=downloaded)
    if not job.keep_tarball:
        dest.unlink(missing_ok=True)
    return ReleaseResult("fetched", None, unpacked, size, downloaded, reused=downloaded == 0)


async def ensure_tarball(
    client: Getter,
    job: ReleaseJob,
    dest: Path,
    download_slots: AbstractAsyncContextManager[Any],
) -> tuple[int, int]:
    """A verified tarball at `dest`: (its size, bytes downloaded). Reused if already there,
    else downloaded (twice at most on a checksum mismatch, as Mix does)."""
    if dest.is_file():
        if job.outer_checksum is None or sha256_file(dest) == job.outer_checksum:
            return dest.stat().st_size, 0
        dest.unlink()
    for attempt in (1, 2):
        try:
            async with download_slots:
                result = await repo.download_tarball(
                    client,
                    job.url,
                    dest,
                    expected_sha256=job.outer_checksum,
                    max_bytes=job.max_tarball_bytes,
                    attempts=job.attempts,
                )
        except ChecksumMismatch:
            if attempt == 2:
                raise
            continue
        if result.status != 200:
            raise FileNotFoundError(f"tarball {job.url} answered HTTP {result.status}")
        return result.size, result.size
    raise AssertionError("unreachable")


def quarantine(path: Path, data_dir: Path, reason: str) -> None:
    """Keep the offending tarball for inspection, out of the mirror."""
    target = data_dir / "quarantine" / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.move(path, target)
    target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
