"""The pinned commit's tarball: stream it to disk, then read its Elixir files safely.

`Commit.tarballUrl` points at codeload, which costs no GraphQL points. The body goes to a temp
file with a size cap (harvest.net.download), and members are read in streaming mode through
harvest.archive, the same path, link and size rules as Hex tarballs. Nothing is unpacked to
disk.
"""

from __future__ import annotations

from pathlib import Path

from harvest.archive import ArchiveLimits, TarMember, iter_tar_members
from harvest.net.client import HarvestClient
from harvest.net.download import Downloaded, stream_to_file
from harvest.net.retry import transient_retry

ELIXIR_SUFFIXES = (".ex", ".exs")  # mix.exs included
# Vendored or generated trees: other people's code, build output, digested assets.
SKIPPED_TREES = ("deps/", "_build/", "node_modules/", "priv/static/", "assets/vendor/")


def wanted(path: str) -> bool:
    """An Elixir source file outside vendored and generated trees, at any depth (umbrellas)."""
    if not path.endswith(ELIXIR_SUFFIXES):
        return False
    anchored = "/" + path
    return not any(f"/{tree}" in anchored for tree in SKIPPED_TREES)


async def download_tarball(
    client: HarvestClient, url: str, dest: Path, *, max_bytes: int, attempts: int = 4
) -> Downloaded:
    """GET the tarball into `dest`; 5xx and dropped connections are retried, 404/429 returned."""
    async for attempt in transient_retry(attempts=attempts, max_wait=30.0):
        with attempt:
            return await stream_to_file(client, url, dest, max_bytes=max_bytes)
    raise AssertionError("unreachable: transient_retry re-raises")  # pragma: no cover


def read_elixir_files(path: Path, limits: ArchiveLimits) -> list[TarMember]:
    """The wanted members, without the `{owner}-{repo}-{sha7}/` prefix; raises UnsafeArchive."""
    with path.open("rb") as handle:
        return list(
            iter_tar_members(
                handle, compression="gz", limits=limits, strip_components=1, want=wanted
            )
        )
