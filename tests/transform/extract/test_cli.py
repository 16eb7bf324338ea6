"""`python -m transform extract` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transform", "extract", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_jsonl_output_and_summary(fixtures_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.ex").write_bytes(b"")
    done = run(
        str(fixtures_dir / "project" / "crlf.ex"), str(tmp_path), "--jsonl", "--workers", "1"
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [r["record"] for r in rows]
    assert kinds == ["file", "module", "function", "function", "file"]
    assert rows[2]["doc"] == "CRLF heredoc.\r\n\r\n    iex> Fixtures.Crlf.one()\r\n    1\r\n"
    assert rows[3]["defaults"] == 1 and rows[4]["problems"] == ["empty"]
    assert "modules" in done.stderr and "empty: 1" in done.stderr


def test_table_output_and_missing_path(fixtures_dir: Path) -> None:
    done = run(str(fixtures_dir / "project" / "crlf.ex"), "--workers", "1")
    assert done.returncode == 0 and "Fixtures.Crlf" in done.stdout
    missing = run("does/not/exist.ex")
    assert missing.returncode == 1 and "does/not/exist.ex" in missing.stderr
