"""A verified tarball's kept files into the blob store; runs in a worker process.

Unpacking is pure-Python CPU work (tar headers, the Erlang-term metadata, hashing and writing
each file). Run on the crawler's own threads it held the GIL against the event loop that
keeps the downloads and registry fetches moving, so the crawl ran no faster than one core.
A worker process does it beside the loop instead; only a path goes in and a few hundred bytes
of results come back. This module imports nothing heavy, so a worker stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harvest.archive import ArchiveLimits
from harvest.hex.errors import TarballError
from harvest.hex.metadata import Metadata
from harvest.hex.tarball import read_tarball
from harvest.store import BlobStore

KEEP_SUFFIXES = (".ex", ".exs", ".erl", ".hrl")


def keep_path(path: str) -> bool:
    """The files a package contributes: Elixir and Erlang sources and mix.exs."""
    return path.endswith(KEEP_SUFFIXES)


@dataclass(frozen=True)
class Unpacked:
    metadata: Metadata
    inner_checksum: str
    files: tuple[tuple[str, str, int], ...]  # (path, sha256, bytes)


_stores: dict[str, BlobStore] = {}  # one per data dir and process: it remembers made dirs


def unpack_release(
    tarball_path: str, name: str, version: str, data_dir: str, limits: ArchiveLimits
) -> Unpacked:
    """Check the tarball (format, inner checksum, metadata, limits, paths) and store its kept
    files; raises TarballError for anything that must be quarantined."""
    with Path(tarball_path).open("rb") as handle:
        tarball = read_tarball(handle, want=keep_path, limits=limits)
    meta = tarball.metadata
    if meta.name != name or meta.version != version:
        raise TarballError(
            "metadata_mismatch",
            f"metadata says {meta.name} {meta.version}, registry {name} {version}",
        )
    store = _stores.setdefault(data_dir, BlobStore(Path(data_dir)))
    files = tuple((m.path, store.put(m.data), len(m.data)) for m in tarball.contents)
    return Unpacked(meta, tarball.inner_checksum, files)
