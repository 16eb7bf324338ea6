"""Fixtures for the train tests: a tiny local model and a tiny snapshot in the documented layout.

`make_snapshot` writes exactly what `python -m transform build` writes (docs/architecture.md,
"Snapshots"): Parquet shards per config and split, manifest.json with shard sha256/rows and a
`snapshots` catalog row. It is the one place to swap for the real build once it lands.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harvest.catalog import open_catalog

FUNCTIONS = [
    ("add two numbers", "def add(a, b), do: a + b"),
    ("subtract two numbers", "def sub(a, b), do: a - b"),
    ("double every element of a list", "def double(xs), do: Enum.map(xs, &(&1 * 2))"),
    ("sum a list", "def sum(xs), do: Enum.sum(xs)"),
    ("greet a name", 'def hello(name), do: "Hello, #{name}!"'),
    ("reverse a list", "def rev(xs), do: Enum.reverse(xs)"),
]

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
PROVENANCE = {
    "source": pa.string(),
    "origin": pa.string(),
    "origin_version": pa.string(),
    "path": pa.string(),
    "start_line": pa.int64(),
    "end_line": pa.int64(),
    "license": pa.string(),
}


def instruct_rows(pairs: list[tuple[str, str]]) -> list[dict]:
    rows = []
    for i, (task, code) in enumerate(pairs):
        prompt = f"Write an Elixir function to {task}."
        rows.append(
            {
                "id": f"i{i}",
                "task": "doc_to_code",
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": code},
                ],
                "prompt": prompt,
                "completion": code,
                "source": "hex",
                "origin": "tiny",
                "origin_version": "1.0.0",
                "path": "lib/tiny.ex",
                "start_line": i + 1,
                "end_line": i + 1,
                "license": "MIT",
            }
        )
    return rows


def corpus_rows(pairs: list[tuple[str, str]]) -> list[dict]:
    return [
        {
            "id": f"c{i}",
            "text": f"defmodule M{i} do\n  {code}\nend\n",
            "source": "hex",
            "origin": "tiny",
            "origin_version": "1.0.0",
            "path": "lib/tiny.ex",
            "start_line": 1,
            "end_line": 3,
            "license": "MIT",
        }
        for i, (_, code) in enumerate(pairs)
    ]


def schema(config: str) -> pa.Schema:
    fields = {"id": pa.string()}
    if config == "instruct":
        fields.update(
            {
                "task": pa.string(),
                "messages": MESSAGES,
                "prompt": pa.string(),
                "completion": pa.string(),
            }
        )
    else:
        fields["text"] = pa.string()
    return pa.schema({**fields, **PROVENANCE})


def write_shard(root: Path, config: str, split: str, rows: list[dict]) -> dict:
    rel = f"{config}/{split}-00000-of-00001.parquet"
    (root / config).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema(config)), root / rel)
    digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
    return {"path": rel, "sha256": digest, "rows": len(rows)}


def make_snapshot(
    catalog_path: Path,
    datasets_dir: Path,
    version: str = "v1",
    train_pairs: list[tuple[str, str]] = FUNCTIONS,
    validation_pairs: list[tuple[str, str]] = FUNCTIONS[:2],
) -> Path:
    """Write snapshot `version` and register it in the catalog; returns its directory."""
    root = datasets_dir / version
    configs = {
        config: {
            split: [write_shard(root, config, split, make(pairs))]
            for split, pairs in (("train", train_pairs), ("validation", validation_pairs))
        }
        for config, make in (("instruct", instruct_rows), ("corpus", corpus_rows))
    }
    created = datetime.now(UTC).replace(tzinfo=None)
    manifest = {
        "version": version,
        "created_at": created.isoformat(),
        "configs": configs,
        "config": {"test": True},
        "library_versions": {},
        "sources": {"hex": []},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    digest = hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    rows = {f"{c}_{s}": configs[c][s][0]["rows"] for c in configs for s in configs[c]}
    with open_catalog(catalog_path, write=True) as catalog, catalog.transaction() as con:
        con.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                version,
                created,
                digest,
                str(root),
                rows["instruct_train"],
                rows["instruct_validation"],
                rows["corpus_train"],
                rows["corpus_validation"],
                json.dumps(manifest["config"]),
            ],
        )
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-mistral")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog with snapshot v1 (and nothing else) under one directory."""
    root = tmp_path_factory.mktemp("ws")
    make_snapshot(root / "catalog.duckdb", root / "datasets")
    return root


REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "qlora-tiny-cpu.yaml"


@pytest.fixture(scope="session")
def tiny_config(tiny_model: Path, workspace: Path) -> Path:
    """configs/qlora-tiny-cpu.yaml pointed at the tiny model and the test workspace."""
    import yaml

    values = yaml.safe_load(TINY_CONFIG.read_text())
    values.update(
        base_model=str(tiny_model),
        catalog=str(workspace / "catalog.duckdb"),
        output_dir=str(workspace / "runs"),
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
