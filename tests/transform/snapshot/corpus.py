"""Writes fixture Elixir releases into a real DuckDB catalog and blob store (tests and bench)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harvest.catalog import open_catalog
from harvest.store import BlobStore

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Release:
    """One Hex release (`source='hex'`) or GitHub commit (`source='github'`) and its files."""

    source: str
    origin: str
    version: str
    license: str | None
    files: dict[str, bytes] = field(default_factory=dict)


def write_catalog(catalog_path: Path, data_dir: Path, releases: list[Release]) -> None:
    """Insert the releases, their files and blobs; one transaction."""
    store = BlobStore(data_dir)
    with open_catalog(catalog_path, write=True) as catalog, catalog.transaction() as con:
        for rel in releases:
            _insert_release(con, rel)
            for path, data in rel.files.items():
                sha = store.put(data)
                con.execute(
                    "INSERT INTO source_files (source, origin, origin_version, path, sha256, bytes,"
                    " license) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [rel.source, rel.origin, rel.version, path, sha, len(data), rel.license],
                )


def _insert_release(con, rel: Release) -> None:
    checksum = hashlib.sha256(f"{rel.origin}-{rel.version}.tar".encode()).hexdigest()
    if rel.source == "hex":
        con.execute(
            "INSERT INTO hex_releases (package, version, outer_checksum, status, updated_at)"
            " VALUES (?, ?, ?, 'fetched', now())",
            [rel.origin, rel.version, checksum],
        )
    else:
        con.execute(
            "INSERT INTO github_repos (id, name_with_owner, commit_oid, status, license_spdx,"
            " updated_at) VALUES (?, ?, ?, 'fetched', ?, now())",
            [f"R_{rel.origin}", rel.origin, rel.version, rel.license],
        )


def near_duplicate_math() -> bytes:
    """math_utils.ex as a fork would have it: renamed module, one line changed."""
    text = fixture_text("math_utils.ex").decode()
    text = text.replace("MathKit.Utils", "MathFork.Utils")
    text = text.replace("middle = div(count, 2)", "middle = Integer.floor_div(count, 2)")
    return text.encode()


def fixture_releases() -> list[Release]:
    """The test corpus: versions, cross-source copies, a fork, bad licenses, secrets, junk."""
    f = fixture_text
    counter = f("counter.ex")
    counter_v2 = counter.replace(b"returns the new value.", b"returns the updated value.")
    return [
        Release(
            "hex",
            "counter_lib",
            "0.1.0",
            "MIT",
            {"lib/counter_lib/counter.ex": counter, "test/counter_test.exs": f("counter_test.exs")},
        ),
        Release(
            "hex",
            "counter_lib",
            "0.2.0",
            "MIT",
            {
                "lib/counter_lib/counter.ex": counter_v2,
                "test/counter_test.exs": f("counter_test.exs"),
            },
        ),
        Release(
            "github",
            "acme/counter_lib",
            "a" * 40,
            "MIT",
            {"lib/counter_lib/counter.ex": counter_v2},
        ),
        Release(
            "hex",
            "math_kit",
            "1.0.0",
            "Apache-2.0",
            {
                "lib/math_kit/utils.ex": f("math_utils.ex"),
                "lib/proto/message.ex": f("generated.ex"),
                "README.md": b"# MathKit\n",
            },
        ),
        Release(
            "hex", "math_fork", "0.1.0", "MIT", {"lib/math_fork/utils.ex": near_duplicate_math()}
        ),
        Release(
            "hex", "gpl_thing", "1.0.0", "GPL-3.0-only", {"lib/workers.ex": f("supervisor.ex")}
        ),
        Release("hex", "no_license", "0.1.0", None, {"lib/my_app.ex": f("placeholder.ex")}),
        Release("hex", "my_app", "0.1.0", "MIT", {"lib/my_app.ex": f("placeholder.ex")}),
        Release(
            "hex", "secrets_app", "0.3.0", "MIT OR Apache-2.0", {"lib/storage.ex": f("secrets.ex")}
        ),
        Release(
            "hex",
            "broken",
            "0.1.0",
            "MIT",
            {
                "lib/broken.ex": f("broken.ex"),
                "lib/latin1.ex": b"defmodule L do\n  # caf\xe9\nend\n",
            },
        ),
        Release("hex", "contaminated", "2.0.0", "ISC", {"lib/solutions.ex": f("contaminated.ex")}),
        Release(
            "github",
            "acme/workers",
            "b" * 40,
            "BSD-3-Clause",
            {"lib/workers/supervisor.ex": f("supervisor.ex")},
        ),
    ]
