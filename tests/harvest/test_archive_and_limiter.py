"""Shared pieces: the safe tar reader and the header-driven rate limiter."""

import io
import os
import random
import tarfile

import anyio
import pytest

from harvest.archive import (
    ArchiveLimits,
    UnsafeArchive,
    _stdlib_calc_chksums,
    header_checksums,
    iter_tar_members,
    safe_member_path,
)
from harvest.net.ratelimit import HeaderRateLimiter


def _tar(members: list[tarfile.TarInfo], data: dict[str, bytes]) -> io.BytesIO:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for info in members:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    raw.seek(0)
    return raw


def test_paths_are_normalised_and_escapes_rejected() -> None:
    assert safe_member_path("/abs/lib/a.ex") == "abs/lib/a.ex"
    assert safe_member_path("repo-abc123/lib/a.ex", strip_components=1) == "lib/a.ex"
    assert safe_member_path("a/../b.ex") == "b.ex"
    # the prefix is stripped before normalising, so a file under it is not lost
    assert safe_member_path("repo-abc123/lib/../x.ex", strip_components=1) == "x.ex"
    assert safe_member_path("repo-abc123/", strip_components=1) is None
    with pytest.raises(UnsafeArchive):
        safe_member_path("../x.ex", strip_components=1)
    with pytest.raises(UnsafeArchive):
        safe_member_path("../../etc/passwd")


def test_links_and_devices() -> None:
    inside = tarfile.TarInfo("lib/ok_link.ex")
    inside.type, inside.linkname = tarfile.SYMTYPE, "a.ex"
    hard = tarfile.TarInfo("lib/hard.ex")
    hard.type, hard.linkname = tarfile.LNKTYPE, "lib/a.ex"
    fifo = tarfile.TarInfo("lib/fifo")
    fifo.type = tarfile.FIFOTYPE
    members = [tarfile.TarInfo("lib/a.ex"), inside, hard, fifo]
    out = list(
        iter_tar_members(
            _tar(members, {"lib/a.ex": b"x"}), compression="gz", limits=ArchiveLimits()
        )
    )
    assert [m.path for m in out] == ["lib/a.ex"]  # links never followed, devices skipped
    escape = tarfile.TarInfo("lib/bad.ex")
    escape.type, escape.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
    with pytest.raises(UnsafeArchive, match="symlink_escape"):
        list(iter_tar_members(_tar([escape], {}), compression="gz", limits=ArchiveLimits()))


def test_size_caps() -> None:
    members = [tarfile.TarInfo(f"f{i}.ex") for i in range(3)]
    data = {m.name: b"x" * 100 for m in members}
    with pytest.raises(UnsafeArchive, match="contents_too_large"):
        list(
            iter_tar_members(
                _tar(members, data), compression="gz", limits=ArchiveLimits(max_total_bytes=250)
            )
        )
    with pytest.raises(UnsafeArchive, match="corrupt_archive"):
        list(
            iter_tar_members(io.BytesIO(b"\x1f\x8bnope"), compression="gz", limits=ArchiveLimits())
        )


def test_limiter_never_exceeds_advertised_limit() -> None:
    clock = [1000.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    async def scenario() -> int:
        limiter = HeaderRateLimiter(50, clock=lambda: clock[0], sleep=fake_sleep, jitter=0.0)
        limiter.update(
            {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "10", "x-ratelimit-reset": "1060"}
        )
        for _ in range(10):
            await limiter.acquire()
        assert not slept
        await limiter.acquire()  # the 11th waits for the window to reset
        return len(slept)

    assert anyio.run(scenario) == 1
    assert clock[0] >= 1060


def test_limiter_waits_for_reset_after_a_429() -> None:
    clock = [500.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    async def scenario() -> None:
        limiter = HeaderRateLimiter(None, clock=lambda: clock[0], sleep=fake_sleep, jitter=0.0)
        await limiter.acquire()
        # Hex sends no Retry-After: the reset header is all there is.
        limiter.throttled(
            {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "540"}
        )
        await limiter.acquire()

    anyio.run(scenario)
    assert clock[0] >= 540


def test_header_checksums_agree_with_tarfiles_own_on_any_bytes() -> None:
    rng = random.Random(5)
    buffers = [os.urandom(512) for _ in range(2000)]
    buffers += [
        bytes(rng.choice([0, 47, 127, 128, 200, 255]) for _ in range(512)) for _ in range(200)
    ]
    buffers.append(tarfile.TarInfo("lib/é.ex").tobuf(format=tarfile.PAX_FORMAT)[:512])
    buffers.append(b"\x00" * 512)
    for buf in buffers:
        assert header_checksums(buf) == _stdlib_calc_chksums(buf)
    assert tarfile.calc_chksums is header_checksums
