"""Hex package tarballs (format 3): read and check one, or build one for the test server.

Pure apart from the file object it is handed: the caller opens the downloaded `.tar`. The outer
tar holds VERSION, CHECKSUM, metadata.config and contents.tar.gz; the inner checksum is the
SHA-256 of VERSION + metadata.config + contents.tar.gz, and the outer one (checked by the
downloader) covers the whole file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from harvest.archive import ArchiveLimits, TarMember, UnsafeArchive, iter_tar_members
from harvest.hex.errors import TarballError
from harvest.hex.metadata import Metadata, parse_metadata

REQUIRED = ("VERSION", "CHECKSUM", "metadata.config", "contents.tar.gz")
# hex_core's limits (hex_core.erl defaults and hex_tarball.erl).
MAX_TARBALL_BYTES = 16 * 2**20
MAX_METADATA_BYTES = 2**20
MAX_SMALL_MEMBER = {"VERSION": 32, "CHECKSUM": 128}
REPRODUCIBLE_MTIME = 946684800  # 2000-01-01, as hex_core builds tarballs


@dataclass(frozen=True)
class HexTarball:
    metadata: Metadata
    inner_checksum: str
    contents: list[TarMember]


def _outer_members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    members = {}
    for m in archive.getmembers():
        if m.name in REQUIRED and m.isfile():
            members[m.name] = m
    missing = [n for n in REQUIRED if n not in members]
    if missing:
        raise TarballError("missing_files", ", ".join(missing))
    return members


def _read_small(archive: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise TarballError("too_large", f"{member.name} is {member.size} bytes (limit {limit})")
    handle = archive.extractfile(member)
    return handle.read() if handle else b""


def read_tarball(
    fileobj: IO[bytes],
    *,
    want: Callable[[str], bool],
    limits: ArchiveLimits | None = None,
) -> HexTarball:
    """Check a tarball and return its metadata and the wanted files of its contents.

    Raises TarballError (with a reason tag) for any broken rule: format version, inner checksum,
    metadata, sizes, unsafe paths or links, decompression bombs.
    """
    limits = limits or ArchiveLimits()
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:")  # noqa: SIM115 (closed below)
    except tarfile.TarError as exc:
        raise TarballError("corrupt_tarball", str(exc)) from exc
    with archive:
        members = _outer_members(archive)
        version = _read_small(archive, members["VERSION"], MAX_SMALL_MEMBER["VERSION"])
        if version.strip() != b"3":
            raise TarballError("unsupported_version", f"VERSION is {version[:32]!r}, expected 3")
        checksum = _read_small(archive, members["CHECKSUM"], MAX_SMALL_MEMBER["CHECKSUM"])
        meta_raw = _read_small(archive, members["metadata.config"], MAX_METADATA_BYTES)
        inner = hashlib.sha256(version + meta_raw)
        contents_handle = archive.extractfile(members["contents.tar.gz"])
        assert contents_handle is not None
        hashing = _HashingReader(contents_handle, inner)
        try:
            files = list(iter_tar_members(hashing, compression="gz", limits=limits, want=want))
            hashing.drain()
        except UnsafeArchive as exc:
            raise TarballError(exc.reason, str(exc)) from exc
    expected = checksum.decode("ascii", errors="replace").strip().lower()
    if inner.hexdigest() != expected:
        raise TarballError(
            "inner_checksum_mismatch", f"CHECKSUM {expected}, computed {inner.hexdigest()}"
        )
    return HexTarball(parse_metadata(meta_raw), inner.hexdigest(), files)


class _HashingReader(io.RawIOBase):
    """Feeds every byte read into a hash, so the inner checksum needs no second pass."""

    def __init__(self, raw: IO[bytes], hasher: hashlib._Hash) -> None:
        self.raw = raw
        self.hasher = hasher

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        self.hasher.update(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.raw.read(1 << 16):
            pass

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hasher.update(data)
        return data


# -- building: for the loopback server, the demo and the tests ----------------------------------


def _add(archive: tarfile.TarFile, name: str, data: bytes, **overrides: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = REPRODUCIBLE_MTIME
    info.mode = 0o644
    for key, value in overrides.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if info.isfile() else None)


def build_contents(files: dict[str, bytes], extra: Iterable[tarfile.TarInfo] = ()) -> bytes:
    """A deterministic contents.tar.gz (no gzip mtime, fixed member times)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:") as archive:
        for name in sorted(files):
            _add(archive, name, files[name])
        for info in extra:
            archive.addfile(info)
    return gzip.compress(raw.getvalue(), mtime=0)


def build_tarball(
    metadata_config: bytes,
    contents_tar_gz: bytes,
    *,
    version: bytes = b"3",
    checksum: str | None = None,
) -> bytes:
    """An outer tarball; `checksum` overrides the computed inner checksum (for fault tests)."""
    inner = checksum or hashlib.sha256(version + metadata_config + contents_tar_gz).hexdigest()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.USTAR_FORMAT) as archive:
        _add(archive, "VERSION", version)
        _add(archive, "CHECKSUM", inner.upper().encode())
        _add(archive, "metadata.config", metadata_config)
        _add(archive, "contents.tar.gz", contents_tar_gz)
    return raw.getvalue()
