"""Deterministic codeload-style tarballs for fake repositories.

Like `git archive`, every member sits under `{owner}-{repo}-{sha7}/`. Each repository gets its
own Elixir files, one `.formatter.exs` shared by all (so the store must deduplicate it), and
the vendored or generated trees a crawler has to skip. Two hostile variants exist: one with a
`..` path and one with a symlink that points out of the archive.
"""

from __future__ import annotations

import gzip
import io
import tarfile

from tests.fakes.github_population import FakeRepo

SHARED_FORMATTER = b'[inputs: ["{mix,.formatter}.exs", "{config,lib,test}/**/*.{ex,exs}"]]\n'
SKIPPED_TREES = {
    "deps/jason/lib/jason.ex": b"defmodule Jason do\nend\n",
    "_build/dev/lib/app/consolidated.ex": b"# generated\n",
    "node_modules/topbar/index.ex": b"# not ours\n",
    "priv/static/assets/app.ex": b"# digested asset\n",
    "assets/vendor/topbar.exs": b"# vendored\n",
}


def module_name(repo: FakeRepo) -> str:
    return "Repo" + str(repo.number)


def kept_files(repo: FakeRepo) -> dict[str, bytes]:
    """The Elixir files a correct crawler keeps from this repository's tarball."""
    mod = module_name(repo)
    return {
        "mix.exs": (
            f"defmodule {mod}.MixProject do\n  use Mix.Project\n\n"
            f'  def project, do: [app: :repo_{repo.number}, version: "0.1.{repo.revision}"]\n'
            "end\n"
        ).encode(),
        f"lib/repo_{repo.number}.ex": (
            f'defmodule {mod} do\n  @moduledoc "Fake module {repo.number}."\n\n'
            f'  @doc "Adds {repo.number}."\n  def add(x), do: x + {repo.number}\n'
            f"  def revision, do: {repo.revision}\nend\n"
        ).encode(),
        "test/test_helper.exs": b"ExUnit.start()\n",
        ".formatter.exs": SHARED_FORMATTER,
    }


def _members(repo: FakeRepo) -> list[tuple[str, bytes | None, str | None]]:
    """(path, data, symlink target) in archive order; paths are relative to the prefix."""
    members: list[tuple[str, bytes | None, str | None]] = [
        (path, data, None) for path, data in kept_files(repo).items()
    ]
    members += [(path, data, None) for path, data in SKIPPED_TREES.items()]
    members.append(("README.md", f"# {repo.name_with_owner}\n".encode(), None))
    members.append(("lib/alias.ex", None, f"repo_{repo.number}.ex"))  # a harmless symlink
    if repo.malicious == "traversal":
        members.append(("../../escaped.ex", b"defmodule Escaped do\nend\n", None))
    elif repo.malicious == "symlink":
        members.append(("lib/passwd.ex", None, "../../../../etc/passwd"))
    return members


def build_tarball(repo: FakeRepo) -> bytes:
    """The gzip tarball codeload would serve for the repository's current commit."""
    oid = repo.commit_oid
    assert oid is not None, "empty repositories have no tarball"
    prefix = f"{repo.owner}-{repo.name}-{oid[:7]}/"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        root = tarfile.TarInfo(prefix)
        root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
        tar.addfile(root)
        for path, data, target in _members(repo):
            info = tarfile.TarInfo(prefix + path)
            info.mtime, info.mode = 1_700_000_000, 0o644
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()
