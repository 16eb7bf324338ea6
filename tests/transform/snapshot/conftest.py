"""Fixtures: a real DuckDB catalog and blob store filled with fixture Elixir releases, and a
snapshot built from it once per module (builds are the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transform.snapshot.corpus import FIXTURES, fixture_releases, write_catalog
from transform.config import BuildConfig


def make_config(root: Path, version: str, **extra: object) -> BuildConfig:
    """Build settings for a workspace under `root` (one worker: the build runs in-process)."""
    values = {
        "version": version,
        "catalog": root / "catalog.duckdb",
        "data_dir": root / "data",
        "output_dir": root / "datasets",
        "workers": 1,
        "validation_fraction": 0.2,
        "rows_per_shard_instruct": 10,
        "decontam": {"benchmarks": [str(FIXTURES / "humaneval_fixture.jsonl")]},
    }
    values.update(extra)
    return BuildConfig.model_validate(values)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog + blob store holding the fixture releases."""
    root = tmp_path_factory.mktemp("snapshot")
    write_catalog(root / "catalog.duckdb", root / "data", fixture_releases())
    return root


@pytest.fixture(scope="module")
def built(workspace: Path):
    """Snapshot v1 of the fixture catalog."""
    from transform.snapshot.build import build_snapshot

    return build_snapshot(make_config(workspace, "v1"))
