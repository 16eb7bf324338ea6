"""`python -m harvest hex` against a real loopback Hex server: happy path, faults, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from tests.fakes.hex_server import FakePackage, FakeRelease, HexServer, recent

ROOT = Path(__file__).resolve().parents[3]


def _lib(name: str, body: str = "") -> dict[str, bytes]:
    mod = name.title().replace("_", "")
    source = f'defmodule {mod} do\n  @doc "Hi."\n  def hi, do: :hi\n{body}end\n'
    return {
        f"lib/{name}.ex": source.encode(),
        "lib/shared.ex": b"defmodule Shared do\nend\n",
        "README.md": b"# readme\n",
    }


def harvest(
    server: HexServer,
    tmp: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    wait: bool = True,
    ignore_sigint: bool = False,
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "harvest",
        "hex",
        *server.harvest_flags(tmp),
        "--retries",
        "3",
        *extra,
    ]
    full_env = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=full_env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_ignore_sigint if ignore_sigint else None,
        )
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def query(tmp: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp / "catalog.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def tarball_requests(server: HexServer) -> int:
    return sum(n for path, n in server.repo.requests.items() if path.startswith("/tarballs/"))


def test_mirror_then_rerun_fetches_only_what_changed(tmp_path: Path) -> None:
    packages = [
        FakePackage(
            "alpha",
            [
                FakeRelease("0.1.0", _lib("alpha")),
                FakeRelease("0.2.0", _lib("alpha", "  def x, do: 1\n")),
            ],
        ),
        FakePackage(
            "beta",
            [
                FakeRelease("1.0.0", _lib("beta"), licenses=("Apache-2.0", "MIT")),
                FakeRelease("1.1.0", _lib("beta"), retired="security"),
            ],
        ),
        FakePackage("gamma", [FakeRelease("0.1.0-rc.1", _lib("gamma"))]),
        FakePackage(
            "delta",
            [
                FakeRelease("1.0.0", _lib("delta")),
                FakeRelease("1.0.1", _lib("delta"), published_at=recent()),
            ],
        ),
    ]
    with HexServer(packages) as server:
        first = harvest(server, tmp_path)
        assert first.returncode == 0, first.stderr
        rows = query(
            tmp_path,
            "SELECT package, version, status, coalesce(error, '') FROM hex_releases ORDER BY 1, 2",
        )
        assert [(p, v, s) for p, v, s, _ in rows] == [
            ("alpha", "0.2.0", "fetched"),
            ("beta", "1.0.0", "fetched"),
            ("beta", "1.1.0", "skipped"),
            ("delta", "1.0.0", "fetched"),
            ("delta", "1.0.1", "skipped"),
            ("gamma", "0.1.0-rc.1", "skipped"),
        ]
        reasons = {(p, v): e for p, v, _, e in rows}
        assert reasons[("beta", "1.1.0")] == "retired:security"
        assert reasons[("delta", "1.0.1")].startswith("too_new")
        files = query(tmp_path, "SELECT origin, path, license FROM source_files ORDER BY 1, 2")
        assert ("beta", "lib/beta.ex", "Apache-2.0 OR MIT") in files
        assert all(not path.endswith(".md") for _, path, _ in files)
        # lib/shared.ex is identical in three packages: stored once
        blobs = list((tmp_path / "data" / "objects").rglob("*"))
        shared = query(
            tmp_path, "SELECT DISTINCT sha256 FROM source_files WHERE path = 'lib/shared.ex'"
        )
        assert len(shared) == 1 and sum(b.name == shared[0][0] for b in blobs) == 1
        assert (
            query(tmp_path, "SELECT count(*) FROM hex_packages WHERE downloads_all IS NOT NULL")[0][
                0
            ]
            == 4
        )
        downloads = tarball_requests(server)
        assert downloads == 3
        # each package row keeps the ETag its /packages/NAME came with, for the next run
        etags = query(tmp_path, "SELECT name, package_etag FROM hex_packages ORDER BY 1")
        assert [name for name, _ in etags] == ["alpha", "beta", "delta", "gamma"]
        assert all(etag and len(etag) == 34 and etag[0] == etag[-1] == '"' for _, etag in etags)

        second = harvest(server, tmp_path)
        assert second.returncode == 0, second.stderr
        assert tarball_requests(server) == downloads  # nothing downloaded again
        assert server.repo.status_counts[304] >= 2
        assert query(tmp_path, "SELECT count(*) FROM source_files")[0][0] == len(files)
        assert query(tmp_path, "SELECT name, package_etag FROM hex_packages ORDER BY 1") == etags


def test_faults_are_retried_or_quarantined(tmp_path: Path) -> None:
    packages = [
        FakePackage("flaky", [FakeRelease("1.0.0", _lib("flaky"))]),
        FakePackage("cut", [FakeRelease("1.0.0", _lib("cut"))]),
        FakePackage("badsum", [FakeRelease("1.0.0", _lib("badsum"), variant="wrong_checksum")]),
        FakePackage("escape", [FakeRelease("1.0.0", _lib("escape"), variant="traversal")]),
        FakePackage("linky", [FakeRelease("1.0.0", _lib("linky"), variant="symlink_escape")]),
        FakePackage("bomb", [FakeRelease("1.0.0", _lib("bomb"), variant="bomb")]),
        FakePackage("forged", [FakeRelease("1.0.0", _lib("forged"))], bad_signature=True),
        FakePackage("imposter", [FakeRelease("1.0.0", _lib("imposter"))], wrong_name=True),
    ]
    with HexServer(packages) as server:
        server.repo.faults["/tarballs/flaky-1.0.0.tar"] += ["500", "reset"]
        server.repo.faults["/tarballs/cut-1.0.0.tar"] += ["truncate"]
        server.repo.faults["/packages/flaky"] += ["502"]
        result = harvest(server, tmp_path)
        assert result.returncode == 1  # quarantines and failures make the run fail
        status = dict(
            ((p, s) for p, s in query(tmp_path, "SELECT package, status FROM hex_releases"))
        )
        assert status == {
            "flaky": "fetched",
            "cut": "fetched",
            "badsum": "quarantined",
            "escape": "quarantined",
            "linky": "quarantined",
            "bomb": "quarantined",
            "forged": "failed",
            "imposter": "failed",
        }
        errors = dict(
            query(tmp_path, "SELECT package, error FROM hex_releases WHERE error IS NOT NULL")
        )
        assert "outer_checksum_mismatch" in errors["badsum"]
        assert "unsafe_path" in errors["escape"] and "symlink_escape" in errors["linky"]
        assert "contents_too_large" in errors["bomb"]
        assert "signature" in errors["forged"] and "someone_else" in errors["imposter"]
        assert server.repo.requests["/tarballs/badsum-1.0.0.tar"] == 2  # deleted and refetched once
        quarantine = tmp_path / "data" / "quarantine"
        assert (quarantine / "escape-1.0.0.reason.txt").is_file()
        written = {p.resolve() for p in tmp_path.rglob("*")}
        assert all(str(p).startswith(str(tmp_path.resolve())) for p in written)
        assert not list(tmp_path.rglob("escape.ex"))
        assert "quarantined" in result.stderr


def test_bad_versions_signature_is_a_hard_error(tmp_path: Path) -> None:
    with HexServer([FakePackage("a", [FakeRelease("1.0.0", _lib("a"))])]) as server:
        (tmp_path / "other.pem").write_bytes(HexServer([]).repo.public_key)
        result = harvest(server, tmp_path, "--repo-public-key", str(tmp_path / "other.pem"))
        assert result.returncode == 1
        assert "signature" in result.stderr and "Traceback" not in result.stderr
        assert query(tmp_path, "SELECT count(*) FROM hex_releases")[0][0] == 0


def _sixty_packages() -> list[FakePackage]:
    """Enough one-release packages that a crawl at 20 ms a request can be interrupted."""
    return [
        FakePackage(f"pkg{i:03d}", [FakeRelease("1.0.0", _lib(f"pkg{i:03d}"))]) for i in range(60)
    ]


def _signal_mid_crawl(
    server: HexServer, proc: subprocess.CompletedProcess[str] | subprocess.Popen[str], sig: int
) -> list[psutil.Process]:
    """Once 15 tarballs were asked for, send `sig` to the crawl; returns its worker processes."""
    assert isinstance(proc, subprocess.Popen)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and tarball_requests(server) < 15:
        time.sleep(0.05)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(sig)
    return workers


def _assert_gone(workers: list[psutil.Process]) -> None:
    psutil.wait_procs(workers, timeout=10)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def test_kill_and_rerun_completes_without_duplicates(tmp_path: Path) -> None:
    with HexServer(_sixty_packages(), delay=0.02) as server:
        proc = harvest(server, tmp_path, "--concurrency", "4", wait=False)
        workers = _signal_mid_crawl(server, proc, signal.SIGKILL)
        proc.wait()
        _assert_gone(workers)  # release workers see their stdin close and exit with the crawl
        before = tarball_requests(server)
        assert 0 < before < 60
        done = harvest(server, tmp_path, "--concurrency", "4")
        assert done.returncode == 0, done.stderr
        assert query(
            tmp_path,
            "SELECT count(*), count(DISTINCT package) FROM hex_releases WHERE status = 'fetched'",
        )[0] == (60, 60)
        assert query(tmp_path, "SELECT count(*) FROM source_files")[0][0] == 180
        # only tarballs that were in flight when killed may be fetched a second time
        assert tarball_requests(server) <= 60 + 4
        assert not list((tmp_path / "data").rglob("*.tmp"))


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_sigterm_stops_like_ctrl_c_and_the_rerun_finishes(tmp_path: Path, sigint: str) -> None:
    # "ignored": as `nohup ... &` in a script starts it, with SIGINT ignored.
    # A slow server (0.1 s an answer): the crawl must still be running when the signal lands.
    with HexServer(_sixty_packages(), delay=0.1) as server:
        proc = harvest(
            server, tmp_path, "--concurrency", "4", wait=False, ignore_sigint=sigint == "ignored"
        )
        workers = _signal_mid_crawl(server, proc, signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted; rerun to continue" in err
        _assert_gone(workers)
        assert query(tmp_path, "SELECT status FROM crawl_runs") == [("interrupted",)]
        done = harvest(server, tmp_path, "--concurrency", "4")
        assert done.returncode == 0, done.stderr
        assert query(tmp_path, "SELECT count(*) FROM hex_releases WHERE status = 'fetched'") == [
            (60,)
        ]


def test_a_killed_release_worker_fails_only_the_releases_it_held(tmp_path: Path) -> None:
    with HexServer(_sixty_packages(), delay=0.02) as server:
        proc = harvest(server, tmp_path, "--concurrency", "4", wait=False)
        assert isinstance(proc, subprocess.Popen)
        killed = 0
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                if "harvest.hex.workers" in " ".join(child.cmdline()):
                    child.kill()
                    killed += 1
            time.sleep(0.01)
        _out, err = proc.communicate(timeout=120)
        assert killed
        assert proc.returncode in (0, 1), err
        failed = query(tmp_path, "SELECT error FROM hex_releases WHERE status = 'failed'")
        assert all("release worker died" in e for (e,) in failed)
        assert (proc.returncode == 1) == bool(failed), err
        done = harvest(server, tmp_path, "--concurrency", "4")
        assert done.returncode == 0, done.stderr
        assert query(tmp_path, "SELECT count(*) FROM hex_releases WHERE status = 'fetched'") == [
            (60,)
        ]


def test_second_concurrent_harvest_fails_fast(tmp_path: Path) -> None:
    packages = [FakePackage(f"p{i}", [FakeRelease("1.0.0", _lib(f"p{i}"))]) for i in range(20)]
    with HexServer(packages, delay=0.05) as server:
        first = harvest(server, tmp_path, "--concurrency", "1", wait=False)
        assert isinstance(first, subprocess.Popen)
        deadline = time.monotonic() + 60
        while server.repo.requests["/versions"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the first run holds the lock once it asks for /versions
        started = time.monotonic()
        second = harvest(server, tmp_path)
        assert time.monotonic() - started < 15
        assert second.returncode == 1 and "in use by pid" in second.stderr
        assert first.wait(timeout=60) == 0
        assert (
            query(tmp_path, "SELECT count(*) FROM hex_releases WHERE status='fetched'")[0][0] == 20
        )


def test_api_budget_follows_advertised_limit(tmp_path: Path) -> None:
    names = [f"api{i}" for i in range(8)]
    packages = [FakePackage(n, [FakeRelease("1.0.0", _lib(n))]) for n in names]
    with HexServer(packages, api_limit=3, api_window=1.0) as server:
        args = [a for n in names for a in ("--package", n)]
        result = harvest(server, tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert server.repo.api_throttled == 0
        assert (
            query(tmp_path, "SELECT count(*) FROM hex_packages WHERE downloads_all IS NOT NULL")[0][
                0
            ]
            == 8
        )


def test_hex_mirror_env_and_unknown_package(tmp_path: Path) -> None:
    with HexServer([FakePackage("only", [FakeRelease("1.0.0", _lib("only"))])]) as server:
        key = tmp_path / "key.pem"
        key.write_bytes(server.repo.public_key)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "harvest",
                "hex",
                "--repo-public-key",
                str(key),
                "--api-url",
                f"{server.url}/api",
                "--catalog",
                str(tmp_path / "c.duckdb"),
                "--data-dir",
                str(tmp_path / "d"),
                "--package",
                "only",
                "--package",
                "missing",
            ],
            cwd=ROOT,
            env={**os.environ, "HEX_MIRROR": server.url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "missing: not in the registry" in result.stderr
        assert server.repo.requests["/tarballs/only-1.0.0.tar"] == 1


@pytest.mark.parametrize(
    "flag", [["--concurrency", "0"], ["--repo-url", "ftp://x"], ["--limit", "-1"]]
)
def test_bad_settings_are_clear(tmp_path: Path, flag: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harvest", "hex", "--catalog", str(tmp_path / "c.duckdb"), *flag],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "c.duckdb").exists()


def test_slow_answer_times_out_and_a_failed_release_recovers_next_run(tmp_path: Path) -> None:
    packages = [
        FakePackage("slowpoke", [FakeRelease("1.0.0", _lib("slowpoke"))]),
        FakePackage("down", [FakeRelease("1.0.0", _lib("down"))]),
    ]
    with HexServer(packages) as server:
        server.repo.faults["/tarballs/slowpoke-1.0.0.tar"] += ["slow"]
        server.repo.faults["/tarballs/down-1.0.0.tar"] += ["500"] * 3
        first = harvest(server, tmp_path, "--timeout", "1")
        assert first.returncode == 1
        status = dict(query(tmp_path, "SELECT package, status FROM hex_releases"))
        assert status == {"slowpoke": "fetched", "down": "failed"}
        assert server.repo.requests["/tarballs/slowpoke-1.0.0.tar"] == 2  # timed out, retried
        etag_before = query(tmp_path, "SELECT package_etag FROM hex_packages WHERE name = 'down'")
        second = harvest(server, tmp_path)
        assert second.returncode == 0, second.stderr
        assert (
            dict(query(tmp_path, "SELECT package, status FROM hex_releases"))["down"] == "fetched"
        )
        # /packages/down answered 304 this time; its row keeps the ETag it was fetched under
        assert server.repo.status_counts[304] >= 1
        assert etag_before[0][0] is not None
        assert (
            query(tmp_path, "SELECT package_etag FROM hex_packages WHERE name = 'down'")
            == etag_before
        )
        assert server.repo.requests["/tarballs/slowpoke-1.0.0.tar"] == 2  # not fetched again
