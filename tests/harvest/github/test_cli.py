"""`python -m harvest github` as a user runs it: flags, YAML, token handling, kill and rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harvest.__main__ import COMMANDS
from harvest.cli import main
from harvest.github.config import GitHubSettings
from harvest.settings import load_settings
from tests.fakes.github_server import FakeGitHub, graphql_url
from tests.harvest.github.conftest import TOKEN, query, recorded_names

REPO_ROOT = Path(__file__).resolve().parents[3]


def _argv(github: FakeGitHub, root: Path, *extra: str) -> list[str]:
    return [
        "github",
        "--api-url",
        graphql_url(github),
        "--catalog",
        str(root / "catalog.duckdb"),
        "--data-dir",
        str(root / "data"),
        *extra,
    ]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main("harvest", "", COMMANDS, ["github", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--min-stars",
        "--max-stars",
        "--pushed-after",
        "--include-forks",
        "--include-archived",
        "--license",
        "--limit",
        "--api-url",
        "--catalog",
        "--data-dir",
        "--concurrency",
        "--config",
    ):
        assert flag in out


def test_shipped_config_is_valid() -> None:
    settings = load_settings(GitHubSettings, REPO_ROOT / "configs" / "github.yaml")
    assert settings == GitHubSettings()


def test_crawl_with_flags_over_yaml(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    config = tmp_path / "github.yaml"
    config.write_text("min_stars: 5000\nfetch_sources: false\n")
    code = main(
        "harvest",
        "",
        COMMANDS,
        _argv(github, tmp_path, "--config", str(config), "--min-stars", "100"),
    )
    assert code == 0
    assert recorded_names(tmp_path / "catalog.duckdb") == github.population.qualifying(100)
    err = capsys.readouterr().err
    assert "search total (repositoryCount)" in err and "GraphQL points spent" in err
    assert TOKEN not in err


def test_missing_token_is_a_clear_error(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main("harvest", "", COMMANDS, _argv(github, tmp_path)) == 1
    assert "GITHUB_TOKEN is not set" in capsys.readouterr().err
    assert github.counters.graphql_requests == 0


def test_rejected_token_stops_and_is_never_written(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "ghp_wrong_secret_value_42"
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    assert main("harvest", "", COMMANDS, _argv(github, tmp_path)) == 1
    err = capsys.readouterr().err
    assert "rejected GITHUB_TOKEN" in err and "Bad credentials" in err and wrong not in err
    assert query(tmp_path / "catalog.duckdb", "SELECT status FROM crawl_runs") == [("failed",)]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert wrong.encode() not in path.read_bytes(), path


def test_token_never_reaches_catalog_or_files(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main("harvest", "", COMMANDS, _argv(github, tmp_path)) == 0
    assert github.counters.authorization_headers[-1] == f"bearer {TOKEN}"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_kill_at_any_moment_then_rerun(github: FakeGitHub, tmp_path: Path) -> None:
    """SIGKILL a real `python -m harvest github` mid-crawl; the rerun finishes the job."""
    env = {**os.environ, "GITHUB_TOKEN": TOKEN, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvest", *_argv(github, tmp_path), "--concurrency", "1"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while github.counters.tarballs < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < github.counters.tarballs < len(github.population.qualifying(100))
    env_rerun = {"GITHUB_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "harvest", *_argv(github, tmp_path)],
        cwd=REPO_ROOT,
        env={**env, **env_rerun},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    catalog = tmp_path / "catalog.duckdb"
    assert recorded_names(catalog) == github.population.qualifying(100)
    rows = query(
        catalog, "SELECT count(*), count(DISTINCT (origin, origin_version, path)) FROM source_files"
    )
    fetched = query(catalog, "SELECT sum(files_kept) FROM github_repos WHERE status='fetched'")
    assert rows[0][0] == rows[0][1] == fetched[0][0]
    assert not [p for p in (tmp_path / "data").rglob("*") if p.name.endswith(".tmp")]
    assert query(catalog, "SELECT status FROM crawl_runs ORDER BY started_at") == [
        ("running",),
        ("ok",),
    ]  # the killed run could not close its record


def test_failed_repositories_make_the_exit_code_non_zero(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    github.switches.tarball_429 = 1
    assert main("harvest", "", COMMANDS, _argv(github, tmp_path)) == 1
    assert "failed: tarball_http_429" in capsys.readouterr().err
    assert main("harvest", "", COMMANDS, _argv(github, tmp_path)) == 0  # the rerun retries it


def test_wrong_api_url_is_a_clear_error(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    argv = _argv(github, tmp_path)
    argv[argv.index("--api-url") + 1] = f"{github.base_url}/not-graphql"
    assert main("harvest", "", COMMANDS, argv) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_bad_settings_name_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code = main(
        "harvest",
        "",
        COMMANDS,
        [
            "github",
            "--min-stars",
            "100",
            "--max-stars",
            "50",
            "--catalog",
            str(tmp_path / "c.duckdb"),
        ],
    )
    assert code == 2 and "max_stars 50 is below min_stars 100" in capsys.readouterr().err
