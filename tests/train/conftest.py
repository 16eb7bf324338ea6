"""Fixtures for the train tests: a tiny local model and a tiny snapshot from the real build.

The snapshot comes out of `transform.snapshot.build.build_snapshot`, the code behind
`python -m transform build`: fixture Elixir files are recorded in a real catalog and blob
store as the Hex harvester records them (the snapshot tests' helpers), then built into
`datasets/v1/` with the snapshot tests' settings, so the rows are the pipeline's own.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harvest.catalog import open_catalog
from tests.transform.snapshot.conftest import make_config
from tests.transform.snapshot.corpus import Release, write_catalog
from train.snapshot import resolve_snapshot, shard_paths

FIXTURES = Path(__file__).parent / "fixtures"
# One MIT Hex package per file: documented functions with doctests, a list helper, a greeter and
# a GenServer with a moduledoc. The split is per package, so one lands in validation.
PACKAGES = ("tiny_math", "tiny_lists", "tiny_greeter", "tiny_counter")
# The tiny byte-level tokenizer spends 90-350 tokens on a real row; 256 keeps every training
# row whole (the 128 of configs/qlora-tiny-cpu.yaml truncates most rows, some inside the prompt).
SEQUENCE_LEN = 256
# The runs overfit a handful of the snapshot's train rows, so 30 steps show a clear fall in loss.
TRAIN_ROWS = 4


def fixture_releases() -> list[Release]:
    return [
        Release(
            "hex", name, "1.0.0", "MIT", {f"lib/{name}.ex": (FIXTURES / f"{name}.ex").read_bytes()}
        )
        for name in PACKAGES
    ]


def build_workspace(root: Path) -> Path:
    """Record the fixture packages in `root`'s catalog and build snapshot v1 from them."""
    from transform.snapshot.build import build_snapshot

    write_catalog(root / "catalog.duckdb", root / "data", fixture_releases())
    build_snapshot(make_config(root, "v1"))
    return root


def snapshot_rows(workspace: Path, config: str, split: str) -> list[dict]:
    """The rows of one config and split of the newest snapshot, read through the catalog."""
    with open_catalog(workspace / "catalog.duckdb", write=False) as catalog:
        snapshot = resolve_snapshot(catalog, None)
    return [
        row
        for path in shard_paths(snapshot, config, split)
        for row in pq.read_table(path).to_pylist()
    ]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-mistral")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog with snapshot v1 (and nothing else) under one directory."""
    return build_workspace(tmp_path_factory.mktemp("ws"))


REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "qlora-tiny-cpu.yaml"


@pytest.fixture(scope="session")
def tiny_config(tiny_model: Path, workspace: Path) -> Path:
    """configs/qlora-tiny-cpu.yaml pointed at the tiny model and the test workspace, with
    room for the real rows and a handful of them to overfit."""
    import yaml

    values = yaml.safe_load(TINY_CONFIG.read_text())
    values.update(
        base_model=str(tiny_model),
        catalog=str(workspace / "catalog.duckdb"),
        output_dir=str(workspace / "runs"),
        sequence_len=SEQUENCE_LEN,
        max_train_rows=TRAIN_ROWS,
    )
    path = workspace / "tiny.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def train_cli(*argv: str) -> int:
    """`python -m train ...` in this process."""
    from harvest.cli import main
    from train.__main__ import COMMANDS

    return main("train", "", COMMANDS, list(argv))


@pytest.fixture(scope="session")
def trained_run(tiny_config: Path, workspace: Path) -> Path:
    """One finished 30-step run shared by the tests that only read its results."""
    assert train_cli("qlora", "--config", str(tiny_config), "--run-id", "main") == 0
    return workspace / "runs" / "main"
