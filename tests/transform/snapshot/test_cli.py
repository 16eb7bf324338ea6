"""The four subcommands through the real CLI shell: exit codes and messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harvest.cli import main
from transform.__main__ import COMMANDS


def cli(*argv: str) -> int:
    return main("transform", "", COMMANDS, list(argv))


def build_flags(workspace: Path) -> list[str]:
    """`build` pointed at the workspace's catalog, blobs and output, on one worker."""
    return [
        "--catalog",
        str(workspace / "catalog.duckdb"),
        "--data-dir",
        str(workspace / "data"),
        "--output-dir",
        str(workspace / "datasets"),
        "--workers",
        "1",
    ]


def test_build_help_lists_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli("build", "--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--version" in out and "--validation-fraction" in out and "--secrets" in out


def test_build_via_cli_then_list_show_verify(workspace, capsys):
    catalog = str(workspace / "catalog.duckdb")
    common = build_flags(workspace)
    assert cli("build", "--version", "cli1", *common) == 0
    assert cli("build", "--version", "cli1", *common) == 1
    assert "already exists" in capsys.readouterr().err
    assert cli("list", "--catalog", catalog) == 0
    out = capsys.readouterr().out
    assert "cli1" in out
    assert cli("show", "cli1", "--catalog", catalog) == 0
    out = capsys.readouterr().out
    for expected in (
        "doc_to_code",
        "dropped_non_permissive",
        "removal_rate",
        "Hex releases",
        "num_perm",
    ):
        assert expected in out
    assert cli("verify", "cli1", "--catalog", catalog) == 0
    assert "verified" in capsys.readouterr().out


def test_verify_detects_a_corrupt_shard(workspace, capsys):
    catalog = str(workspace / "catalog.duckdb")
    common = build_flags(workspace)
    assert cli("build", "--version", "corrupt-me", *common) == 0
    shard = next((workspace / "datasets" / "corrupt-me" / "corpus").glob("train-*.parquet"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    capsys.readouterr()
    assert cli("verify", "corrupt-me", "--catalog", catalog) == 1
    err = capsys.readouterr().err
    assert f"corpus/{shard.name}: sha256" in err
    shard.unlink()
    assert cli("verify", "corrupt-me", "--catalog", catalog) == 1
    assert "missing" in capsys.readouterr().err


def test_unknown_version_and_missing_catalog_are_clear(workspace, tmp_path, capsys):
    catalog = str(workspace / "catalog.duckdb")
    assert cli("show", "v99", "--catalog", catalog) == 1
    assert "no snapshot named 'v99'" in capsys.readouterr().err
    assert cli("verify", "v99", "--catalog", catalog) == 1
    assert cli("list", "--catalog", str(tmp_path / "nope.duckdb")) == 1
    assert "does not exist" in capsys.readouterr().err


def test_bad_config_value_names_the_key(tmp_path, capsys):
    config = tmp_path / "transform.yaml"
    config.write_text("dedup:\n  bands: 40\n  rows: 10\n")
    assert cli("build", "--version", "x", "--config", str(config)) == 2
    assert "dedup" in capsys.readouterr().err


def test_missing_snapshot_directory_is_reported(workspace, capsys):
    catalog = str(workspace / "catalog.duckdb")
    common = build_flags(workspace)
    assert cli("build", "--version", "moved", *common) == 0
    shutil.rmtree(Path(workspace / "datasets" / "moved"))
    capsys.readouterr()
    assert cli("verify", "moved", "--catalog", catalog) == 1
    assert "manifest.json is missing" in capsys.readouterr().err
