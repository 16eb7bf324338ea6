"""`transform build`: catalog -> rows -> dedup -> splits -> shards, published atomically.

Everything is written into `datasets/.<version>.tmp-<pid>/` and renamed into place only when
complete; the catalog row is inserted afterwards in one transaction, and if that fails the
directory is removed again. A failed build therefore leaves neither files nor a catalog row.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from harvest.catalog import Catalog, open_catalog
from harvest.progress import ProgressReporter
from harvest.store import BlobStore
from transform.config import BuildConfig
from transform.snapshot import catalog_io
from transform.snapshot import manifest as mf
from transform.snapshot.card import render_card
from transform.snapshot.collect import Collector
from transform.snapshot.errors import SnapshotError, SnapshotExists
from transform.snapshot.pool import run_jobs
from transform.snapshot.worker import FileJob
from transform.snapshot.writer import (
    SPLITS,
    open_work_db,
    sql_literal,
    task_counts,
    write_split,
)
from transform.steps.decontam import BenchmarkError, build_index
from transform.steps.dedup_minhash import cluster
from transform.steps.license import LicenseFilter
from transform.steps.split import assign_splits

log = logging.getLogger("elixir_harvest.transform")
CONFIGS = ("instruct", "corpus")


@dataclass(frozen=True)
class BuildResult:
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str


def build_snapshot(cfg: BuildConfig) -> BuildResult:
    """Build snapshot `cfg.version` from the catalog; raise SnapshotError on any refusal."""
    if not cfg.version:
        raise SnapshotError("give the snapshot a name with --version (e.g. --version v3)")
    final = cfg.output_dir / cfg.version
    _benchmark_hashes(cfg)  # fail before any work, not inside a worker
    if not cfg.catalog.is_file():
        raise SnapshotError(
            f"catalog {cfg.catalog} does not exist; run `python -m harvest hex`"
            " or `python -m harvest github` first, or pass --catalog"
        )
    with open_catalog(cfg.catalog, write=True) as catalog:
        _refuse_existing(catalog, cfg.version, final)
        if catalog_io.count_source_files(catalog) == 0:
            raise SnapshotError(
                f"catalog {cfg.catalog} has no source files; run "
                "`python -m harvest hex` or `python -m harvest github` first"
            )
        _remove_stale_temp_dirs(cfg.output_dir)
        tmp = cfg.output_dir / f".{cfg.version}.tmp-{os.getpid()}"
        try:
            manifest = assemble(cfg, catalog, tmp)
            digest = publish(tmp, final, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            catalog_io.insert_snapshot(catalog, _catalog_row(manifest, digest, final))
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    return BuildResult(final, manifest, digest)


def _refuse_existing(catalog: Catalog, version: str, final: Path) -> None:
    if catalog_io.snapshot_exists(catalog, version):
        raise SnapshotExists(
            f"snapshot {version!r} already exists in {catalog.path}; snapshots"
            " are immutable, build under a new --version"
        )
    if final.exists():
        raise SnapshotExists(
            f"{final} already exists but is not in the catalog; move it away"
            " or build under a new --version"
        )


def _remove_stale_temp_dirs(output_dir: Path) -> None:
    """Leftovers of killed builds (safe: we hold the catalog writer lock)."""
    if output_dir.is_dir():
        for stale in output_dir.glob(".*.tmp-*"):
            log.info("removing %s left by an interrupted build", stale)
            shutil.rmtree(stale, ignore_errors=True)


def publish(tmp: Path, final: Path, manifest: dict[str, Any]) -> str:
    """Write manifest and card, drop the work files, rename into place; return manifest hash."""
    data = mf.encode(manifest)
    (tmp / mf.MANIFEST).write_bytes(data)
    (tmp / "README.md").write_text(render_card(manifest), encoding="utf-8")
    shutil.rmtree(tmp / "_work", ignore_errors=True)
    os.rename(tmp, final)
    return mf.sha256_bytes(data)


def _catalog_row(manifest: dict[str, Any], digest: str, final: Path) -> dict[str, Any]:
    rows = {f"rows_{c}_{s}": mf.rows_of(manifest, c, s) for c in CONFIGS for s in SPLITS}
    return {
        "version": manifest["version"],
        "created_at": manifest["created_at"],
        "manifest_sha256": digest,
        "path": str(final.resolve()),
        "config": manifest["config"],
        **rows,
    }


def assemble(cfg: BuildConfig, catalog: Catalog, tmp: Path) -> dict[str, Any]:
    """Run every stage into `tmp` and return the manifest (not yet written)."""
    created_at = catalog_io.utc_now()
    work = tmp / "_work"
    collector = Collector(work)
    selection = collect_rows(cfg, catalog, collector)
    collector.close()
    log.info("collected rows; near-dedup, splits and shards next")
    con = open_work_db(work, cfg.workers)
    near = {c: near_dedup(cfg, collector, c, con) for c in CONFIGS}
    globs = {c: collector.writers[c].glob for c in CONFIGS}
    splits = split_origins(cfg, con, globs)
    configs = {
        c: {
            s: [vars(x) for x in write_split(con, c, s, globs[c], tmp, _shard_rows(cfg, c))]
            for s in SPLITS
        }
        for c in CONFIGS
    }
    sources = catalog_io.source_provenance(catalog, used_sources(con, globs))
    if not any(mf.rows_of({"configs": configs}, c, s) for c in CONFIGS for s in SPLITS):
        raise SnapshotError(
            "every row was filtered out; nothing to snapshot (see the counts "
            "with -v, or relax the license/quality settings)"
        )
    return {
        "version": cfg.version,
        "created_at": created_at.isoformat() + "Z",
        "configs": configs,
        "config": cfg.snapshot_config(),
        "library_versions": mf.library_versions(),
        "sources": sources,
        "benchmarks": _benchmark_hashes(cfg),
        "filters": _filter_counts(selection, collector),
        "dedup": {
            "exact": {c: dict(sorted(collector.pools[c].counts.items())) for c in CONFIGS},
            "near": {"params": cfg.dedup.model_dump(), **near},
        },
        "splits": {"rule": "by origin (package or repository)", **splits},
        "tasks": task_counts(con, globs["instruct"]),
    }


def _shard_rows(cfg: BuildConfig, config: str) -> int:
    return cfg.rows_per_shard_instruct if config == "instruct" else cfg.rows_per_shard_corpus


def _benchmark_hashes(cfg: BuildConfig) -> dict[str, str]:
    """SHA-256 per benchmark file; a missing or malformed file is a clear SnapshotError."""
    try:
        return build_index(cfg.decontam).files
    except BenchmarkError as exc:
        raise SnapshotError(str(exc)) from None


def collect_rows(cfg: BuildConfig, catalog: Catalog, collector: Collector) -> Counter[str]:
    """Stream files from the catalog through the workers into the collector."""
    selection: Counter[str] = Counter()
    jobs = select_files(cfg, catalog, selection)
    # No total: duplicate blobs and excluded licenses are only known while streaming.
    with ProgressReporter("build: files extracted", unit="files") as progress:
        for output in run_jobs(cfg, jobs):
            collector.add(output)
            progress.advance(1)
    return selection


def select_files(cfg: BuildConfig, catalog: Catalog, counts: Counter[str]) -> Iterator[FileJob]:
    """Files worth reading: Elixir, not too large, licensed as configured, first copy of a blob."""
    store = BlobStore(cfg.data_dir)
    licenses = LicenseFilter(
        cfg.licenses,
        allow_unlicensed=cfg.allow_unlicensed,
        allow_non_permissive=cfg.allow_non_permissive,
    )
    seen: set[bytes] = set()
    for batch in catalog_io.iter_source_files(catalog):
        for f in batch:
            reason = _skip_reason(cfg, f, licenses, seen)
            counts[f"dropped_{reason}" if reason else "selected"] += 1
            if reason is None:
                yield FileJob(
                    f.source,
                    f.origin,
                    f.origin_version,
                    f.path,
                    f.license,
                    str(store.path(f.sha256)),
                )
    counts.update({f"license_{k}": v for k, v in licenses.stats.items()})


def _skip_reason(
    cfg: BuildConfig, f: catalog_io.SourceFile, licenses: LicenseFilter, seen: set[bytes]
) -> str | None:
    if not f.path.endswith(tuple(cfg.extensions)):
        return "not_elixir"
    if f.bytes > cfg.max_file_bytes:
        return "too_large"
    if not licenses.check({"license": f.license}):
        return "license"
    digest = bytes.fromhex(f.sha256)[:16]
    if digest in seen:
        return "duplicate_blob"
    seen.add(digest)
    return None


def near_dedup(cfg: BuildConfig, collector: Collector, config: str, con: Any) -> dict[str, Any]:
    """Cluster the units of one config; register the survivors as table `kept_<config>`."""
    keys, has = collector.pools[config].band_matrix(cfg.dedup.bands)
    n = len(keys)
    labels = cluster(keys, has) if cfg.dedup.near and n else np.arange(n)
    kept = np.flatnonzero(labels == np.arange(n))
    con.register(f"kept_{config}", pa.table({"unit": pa.array(kept, pa.int64())}))
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, np.int64)
    removed = n - len(kept)
    return {
        "units": n,
        "kept": len(kept),
        "removed": removed,
        "clusters_with_duplicates": int((sizes > 1).sum()),
        "removal_rate": round(removed / n, 6) if n else 0.0,
    }


def split_origins(cfg: BuildConfig, con: Any, globs: dict[str, str]) -> dict[str, Any]:
    """Assign each origin with kept rows a split; register the mapping as table `splits`."""
    origins = set()
    for config, glob in globs.items():
        origins |= set(
            con.execute(
                f"SELECT DISTINCT source, origin FROM read_parquet({sql_literal(glob)})"
                f" SEMI JOIN kept_{config} USING (unit)"
            ).fetchall()
        )
    mapping = assign_splits(origins, cfg.validation_fraction, cfg.split_seed)
    items = sorted(mapping.items())
    con.register(
        "splits",
        pa.table(
            {
                "source": pa.array([o[0] for o, _ in items], pa.string()),
                "origin": pa.array([o[1] for o, _ in items], pa.string()),
                "split": pa.array([s for _, s in items], pa.string()),
            }
        ),
    )
    per_split = Counter(mapping.values())
    return {
        "seed": cfg.split_seed,
        "validation_fraction": cfg.validation_fraction,
        "origins": {s: per_split.get(s, 0) for s in SPLITS},
    }


def used_sources(con: Any, globs: dict[str, str]) -> pa.Table:
    """(source, origin, origin_version) of every row that made it into a shard."""
    parts = [
        f"SELECT source, origin, origin_version FROM read_parquet({sql_literal(g)})"
        f" SEMI JOIN kept_{c} USING (unit)"
        for c, g in globs.items()
    ]
    return con.sql(" UNION ".join(parts) + " ORDER BY ALL").to_arrow_table()


def _filter_counts(selection: Counter[str], collector: Collector) -> dict[str, dict[str, int]]:
    """Counts per step; worker counters named `step:task:outcome` are regrouped by step."""
    out: dict[str, dict[str, int]] = {"selection": dict(sorted(selection.items()))}
    for step, counter in sorted(collector.counts.items()):
        for key, n in sorted(counter.items()):
            group, _, rest = key.partition(":") if ":" in key else (step, "", key)
            out.setdefault(group, {})[rest] = out.get(group, {}).get(rest, 0) + n
    return out
