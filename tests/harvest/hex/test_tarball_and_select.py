"""Tarball checks on the real gleam_stdlib tarball and on hostile ones, and release choice."""

import hashlib
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from harvest.hex.errors import TarballError
from harvest.hex.registry import Release
from harvest.hex.select import choose_releases
from harvest.hex.tarball import read_tarball
from harvest.hex.unpack import keep_path
from harvest.hex.versions import latest_stable, sort_versions
from tests.fakes.hex_server import FakeRelease, release_tarball

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hexpm"


def test_real_tarball_checksums() -> None:
    data = (FIXTURES / "gleam_stdlib-0.14.0.tar").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "9107f6a859cb96945ad9a099085db028ca2bebb3c8ea42eec227b51c614cc2e0"
    )
    tarball = read_tarball(io.BytesIO(data), want=keep_path)
    assert tarball.inner_checksum.startswith("765d90ac")
    assert tarball.metadata.build_tools == ("rebar3",)
    assert {m.path for m in tarball.contents} >= {"src/gleam_stdlib.erl", "gen/src/gleam@list.erl"}
    assert all(keep_path(m.path) for m in tarball.contents)


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("traversal", "unsafe_path"),
        ("symlink_escape", "symlink_escape"),
        ("bomb", "contents_too_large"),
        ("bad_inner", "inner_checksum_mismatch"),
    ],
)
def test_hostile_tarballs_are_rejected(variant: str, reason: str) -> None:
    data = release_tarball("evil", FakeRelease("1.0.0", {"lib/a.ex": b"x"}, variant=variant))
    with pytest.raises(TarballError) as err:
        read_tarball(io.BytesIO(data), want=keep_path)
    assert err.value.reason == reason


def test_inner_checksum_covers_bytes_the_tar_reader_leaves_unread() -> None:
    # Depending on where gzip's buffered reads stop, tarfile may leave the end of
    # contents.tar.gz unread; those bytes still count. Sizes found by search: several of
    # these failed before the fix (n = 53).
    rng = random.Random(1)
    words = ["state", "reply", "call", "cast", "of", "the", "a"]
    for n in range(48):  # advance the generator to where the search found the failing size
        rng.choices(words, k=2000 + n * 997)
    for n in range(48, 58):
        text = " ".join(rng.choices(words, k=2000 + n * 997)).encode()
        data = release_tarball("p", FakeRelease("1.0.0", {"lib/a.ex": b"x", "README.md": text}))
        assert read_tarball(io.BytesIO(data), want=keep_path).metadata.name == "p"


def test_unsupported_format_version() -> None:
    from harvest.hex.tarball import build_contents, build_tarball

    data = build_tarball(b'{<<"name">>,<<"x">>}.', build_contents({"a.ex": b""}), version=b"2")
    with pytest.raises(TarballError, match="unsupported_version"):
        read_tarball(io.BytesIO(data), want=keep_path)


def test_semver_order_and_latest_stable() -> None:
    versions = ["1.0.0-rc.1", "0.9.0", "1.0.0", "1.0.0-beta.2", "1.10.0", "1.2.0", "2.0.0-alpha"]
    assert sort_versions(versions) == [
        "0.9.0",
        "1.0.0-beta.2",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0-alpha",
    ]
    assert latest_stable(versions) == "1.10.0"
    assert latest_stable(["1.0.0-rc.1"]) is None


NOW = datetime(2026, 11, 22, 12, 0)


def _rel(version: str, retired: str | None = None, age: timedelta = timedelta(days=3)) -> Release:
    return Release(version, "00" * 32, "11" * 32, retired_reason=retired, published_at=NOW - age)


def test_latest_stable_passes_over_security_retired_and_too_new() -> None:
    releases = (
        _rel("1.0.0"),
        _rel("1.1.0", retired="deprecated"),
        _rel("1.2.0", "security"),
        _rel("1.3.0", age=timedelta(minutes=10)),
        _rel("2.0.0-rc.1"),
    )
    choices = choose_releases(releases, "latest-stable", NOW, timedelta(hours=1))
    assert [(c.release.version, (c.skip_reason or "")[:9]) for c in choices] == [
        ("1.3.0", "too_new: "),
        ("1.2.0", "retired:s"),
        ("1.1.0", ""),
    ]
    assert choices[-1].release.retired_reason == "deprecated"  # kept, retirement recorded


def test_all_mode_and_prerelease_only() -> None:
    releases = (_rel("0.1.0", "invalid"), _rel("0.2.0"))
    assert [c.skip_reason for c in choose_releases(releases, "all", NOW, timedelta(hours=1))] == [
        "retired:invalid",
        None,
    ]
    only_pre = choose_releases((_rel("0.1.0-dev"),), "latest-stable", NOW, timedelta(hours=1))
    assert [c.skip_reason for c in only_pre] == ["prerelease_only"]
