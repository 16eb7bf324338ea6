"""End-to-end builds on a real catalog, blob store and tree-sitter: layout, filters, dedup,
splits, reproducibility, immutability and clean failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from harvest.catalog import open_catalog
from tests.transform.snapshot.conftest import make_config
from transform.snapshot import build as build_module
from transform.snapshot.build import build_snapshot
from transform.snapshot.errors import SnapshotError, SnapshotExists
from transform.snapshot.manifest import MANIFEST, sha256_bytes, shard_entries

INSTRUCT_COLUMNS = [
    "id",
    "task",
    "messages",
    "prompt",
    "completion",
    "source",
    "origin",
    "origin_version",
    "path",
    "start_line",
    "end_line",
    "license",
]
CORPUS_COLUMNS = [
    "id",
    "text",
    "source",
    "origin",
    "origin_version",
    "path",
    "start_line",
    "end_line",
    "license",
]


def rows(snapshot: Path, config: str) -> list[dict]:
    return (
        duckdb.sql(f"SELECT * FROM '{snapshot}/{config}/*.parquet' ORDER BY id")
        .to_arrow_table()
        .to_pylist()
    )


def test_layout_manifest_and_catalog_row(built, workspace):
    snap = built.path
    assert (snap / "README.md").read_text().startswith("---\nconfigs:\n")
    assert sha256_bytes((snap / MANIFEST).read_bytes()) == built.manifest_sha256
    shards = shard_entries(built.manifest)
    assert {s["path"].split("/")[0] for s in shards} == {"instruct", "corpus"}
    assert any(s["path"] == "instruct/train-00000-of-00002.parquet" for s in shards)
    with open_catalog(workspace / "catalog.duckdb", write=False) as cat:
        row = cat.fetchone(
            "SELECT manifest_sha256, path, rows_instruct_train, rows_corpus_train,"
            " config_json FROM snapshots WHERE version = 'v1'"
        )
    assert row[0] == built.manifest_sha256 and Path(row[1]) == snap.resolve()
    assert row[2] == sum(s["rows"] for s in built.manifest["configs"]["instruct"]["train"]) > 0
    assert row[3] > 0 and json.loads(row[4])["dedup"]["num_perm"] == 256
    assert built.manifest["sources"]["hex"][0].keys() == {"package", "version", "outer_checksum"}
    assert {g["name_with_owner"] for g in built.manifest["sources"]["github"]} == {"acme/workers"}


def test_rows_follow_the_contract(built):
    instruct, corpus = rows(built.path, "instruct"), rows(built.path, "corpus")
    assert list(instruct[0]) == INSTRUCT_COLUMNS and list(corpus[0]) == CORPUS_COLUMNS
    for row in instruct:
        assert row["messages"] == [
            {"role": "user", "content": row["prompt"]},
            {"role": "assistant", "content": row["completion"]},
        ]
        assert all(row[k] is not None for k in INSTRUCT_COLUMNS)
        assert 0 < row["start_line"] <= row["end_line"]
    assert {r["task"] for r in instruct} == {
        "doc_to_code",
        "code_to_doc",
        "otp_module",
        "doctest_to_code",
    }
    otp = [r for r in instruct if r["task"] == "otp_module"]
    assert any(
        r["prompt"].startswith("Create an Elixir")
        or "GenServer" in r["prompt"]
        or "Supervisor" in r["prompt"]
        for r in otp
    )


def test_filters_remove_bad_licenses_secrets_tests_generated_and_benchmarks(built):
    instruct, corpus = rows(built.path, "instruct"), rows(built.path, "corpus")
    origins = {r["origin"] for r in instruct + corpus}
    assert not origins & {"gpl_thing", "no_license", "contaminated"}
    every_text = json.dumps(instruct + corpus)
    assert "AKIAIOSFODNN7EXAMPLF" not in every_text and "BEGIN RSA PRIVATE KEY" not in every_text
    assert "s3cr3t-Passw0rd-42" not in every_text and "<PRIVATE_KEY>" in every_text
    assert not [r for r in instruct if r["path"].startswith("test/") or "proto" in r["path"]]
    assert not [r for r in instruct if "MyApp" in r["prompt"]]  # placeholder docs
    assert not [r for r in instruct if "variance" in r["completion"]]  # TODO-only doc
    filters = built.manifest["filters"]
    assert filters["secrets"]["doc_to_code:found_aws_access_key"] >= 1
    assert filters["decontam"]["corpus:dropped_ngram"] == 1
    assert filters["selection"]["license_dropped_non_permissive"] == 1
    assert filters["selection"]["license_dropped_no_license"] == 1
    assert filters["files"]["corpus_dropped_parse_errors"] == 1
    assert filters["files"]["dropped_not_utf8"] == 1
    assert filters["pair_files"] == {"dropped_test_file": 1, "dropped_generated": 1, "kept": 9}


def test_dedup_across_versions_sources_and_forks(built):
    instruct, corpus = rows(built.path, "instruct"), rows(built.path, "corpus")
    counter = {
        (r["source"], r["origin_version"])
        for r in instruct + corpus
        if r["path"] == "lib/counter_lib/counter.ex"
    }
    assert counter == {("hex", "0.2.0")}  # newest Hex release; 0.1.0 and GitHub copy dropped
    code = [(r["task"], r["completion"]) for r in instruct if r["task"] != "code_to_doc"]
    assert len(code) == len(set(code))
    utils = [r["origin"] for r in corpus if r["path"].endswith("utils.ex")]
    assert len(utils) == 1  # math_kit and its near-duplicate fork are one cluster
    near = built.manifest["dedup"]["near"]
    assert near["params"]["bands"] * near["params"]["rows"] <= near["params"]["num_perm"]
    assert near["corpus"]["removed"] >= 1 and near["instruct"]["removed"] >= 1
    assert built.manifest["filters"]["selection"]["dropped_duplicate_blob"] >= 2


def test_splits_are_disjoint_by_origin(built):
    splits: dict[tuple[str, str], set[str]] = {}
    for config in ("instruct", "corpus"):
        for split in ("train", "validation"):
            found = duckdb.sql(
                f"SELECT DISTINCT source, origin FROM '{built.path}/{config}/{split}-*.parquet'"
            ).fetchall()
            for key in found:
                splits.setdefault(key, set()).add(split)
    assert all(len(s) == 1 for s in splits.values())
    assert {"train", "validation"} <= set().union(*splits.values())


def test_rebuild_under_new_version_is_byte_identical_even_with_a_pool(built, workspace):
    again = build_snapshot(make_config(workspace, "v2", workers=2))
    assert [s["sha256"] for s in shard_entries(again.manifest)] == [
        s["sha256"] for s in shard_entries(built.manifest)
    ]
    for shard in shard_entries(again.manifest):
        assert pq.read_metadata(again.path / shard["path"]).num_rows == shard["rows"]


def test_existing_version_is_refused(built, workspace):
    before = (built.path / MANIFEST).read_bytes()
    with pytest.raises(SnapshotExists, match="already exists"):
        build_snapshot(make_config(workspace, "v1"))
    assert (built.path / MANIFEST).read_bytes() == before


def test_failed_build_leaves_no_snapshot_and_no_row(built, workspace, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "write_split", broken)
    with pytest.raises(OSError, match="disk full"):
        build_snapshot(make_config(workspace, "v-broken"))
    monkeypatch.undo()
    monkeypatch.setattr(build_module.catalog_io, "insert_snapshot", broken)
    with pytest.raises(OSError):
        build_snapshot(make_config(workspace, "v-norow"))
    out = workspace / "datasets"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p for p in ("v1", "v2") if (out / p).exists()
    )
    with open_catalog(workspace / "catalog.duckdb", write=False) as cat:
        versions = {v for (v,) in cat.fetchall("SELECT version FROM snapshots")}
    assert not versions & {"v-broken", "v-norow"}


def test_missing_or_empty_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="does not exist"):
        build_snapshot(make_config(tmp_path, "v1"))
    assert not (tmp_path / "catalog.duckdb").exists()
    open_catalog(tmp_path / "catalog.duckdb", write=True).close()
    with pytest.raises(SnapshotError, match="no source files"):
        build_snapshot(make_config(tmp_path, "v1"))
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())


def test_bad_benchmark_or_everything_filtered_is_a_clear_error(workspace, tmp_path):
    missing = {"benchmarks": [str(tmp_path / "humaneval-elixir.jsonl")]}
    with pytest.raises(SnapshotError, match=r"cannot read benchmark file .*humaneval-elixir"):
        build_snapshot(make_config(workspace, "v-bench", decontam=missing))
    with pytest.raises(SnapshotError, match="every row was filtered out"):
        build_snapshot(make_config(workspace, "v-empty", licenses=["0BSD"]))
    assert not (workspace / "datasets" / "v-bench").exists()
    assert not (workspace / "datasets" / "v-empty").exists()


def test_readable_by_datasets_and_duckdb(built):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(
        "parquet",
        data_files={
            "train": str(built.path / "instruct/train-*.parquet"),
            "validation": str(built.path / "instruct/validation-*.parquet"),
        },
    )
    assert ds["train"].num_rows == sum(
        s["rows"] for s in built.manifest["configs"]["instruct"]["train"]
    )
    assert ds["train"][0]["messages"][0]["role"] == "user"
    by_card = datasets.load_dataset(str(built.path), "corpus")  # the card's `configs:` block
    assert set(by_card) == {"train", "validation"} and by_card["train"].num_rows > 0
    n = duckdb.sql(f"SELECT count(*) FROM '{built.path}/corpus/*.parquet'").fetchall()[0]
    assert n[0] == sum(
        s["rows"]
        for split in ("train", "validation")
        for s in built.manifest["configs"]["corpus"][split]
    )


def test_stuck_worker_fails_the_build_instead_of_hanging(tmp_path):
    from transform.snapshot.pool import run_jobs
    from transform.snapshot.worker import FileJob

    fifo = tmp_path / "blob"
    os.mkfifo(fifo)  # opening it blocks forever: a worker stuck on one file
    cfg = make_config(tmp_path, "v1", workers=2, chunk_timeout_s=3, decontam={"benchmarks": []})
    job = FileJob("hex", "pkg", "1.0.0", "lib/stuck.ex", "MIT", str(fifo))
    with pytest.raises(SnapshotError, match=r"no result after 3s for pkg@1\.0\.0 lib/stuck\.ex"):
        list(run_jobs(cfg, iter([job])))
