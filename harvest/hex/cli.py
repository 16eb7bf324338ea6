"""`python -m harvest hex`: mirror every Hex.pm package's source into the store and catalog."""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

import anyio

from harvest.atomic import remove_stale_temp_files
from harvest.catalog import Catalog, open_crawl_catalog
from harvest.cli import CommandError
from harvest.hex.config import HexSettings
from harvest.hex.crawl import CrawlCounts, HexCrawler, RegistryUnavailable
from harvest.hex.registry import hexpm_public_key
from harvest.hex.state import utcnow
from harvest.hex.workers import WorkersUnavailable
from harvest.net.client import make_client
from harvest.progress import ProgressReporter, human_bytes, print_summary
from harvest.settings import add_model_flags, load_settings, overrides_from_args
from harvest.store import BlobStore

HELP = "mirror Hex.pm packages: signed registry, verified tarballs, Elixir sources"
DEFAULT_CONFIG = Path("configs/hex.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help=f"YAML settings (default {DEFAULT_CONFIG} if present)"
    )
    add_model_flags(parser, HexSettings)


def resolve_settings(args: argparse.Namespace) -> HexSettings:
    """Defaults < YAML < HEX_MIRROR (as Mix reads it) < flags."""
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    overrides = overrides_from_args(args, HexSettings)
    mirror = os.environ.get("HEX_MIRROR")
    if mirror and "repo_url" not in overrides:
        overrides["repo_url"] = mirror
    return load_settings(HexSettings, config, overrides)


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    public_key = (
        settings.repo_public_key.read_bytes() if settings.repo_public_key else hexpm_public_key()
    )
    started = time.monotonic()
    with open_crawl_catalog(settings.catalog) as catalog:
        run_id = _start_run(catalog, settings)
        remove_stale_temp_files(settings.data_dir / "tarballs")
        BlobStore(settings.data_dir).remove_stale_temp_files()
        try:
            counts = anyio.run(_crawl, settings, catalog, public_key)
        except (RegistryUnavailable, WorkersUnavailable) as exc:
            _finish_run(catalog, run_id, "failed", None)
            raise CommandError(str(exc)) from None
        except BaseException:
            _finish_run(catalog, run_id, "interrupted", None)
            raise
        failed = counts.failed + counts.quarantined
        _finish_run(catalog, run_id, "failed" if failed else "ok", counts)
    _summarise(counts, time.monotonic() - started)
    return 1 if failed else 0


async def _crawl(settings: HexSettings, catalog: Catalog, public_key: bytes) -> CrawlCounts:
    store = BlobStore(settings.data_dir)
    with ProgressReporter("hex packages", unit="packages", show_bytes=True) as reporter:
        async with (
            # Registry fetches only: the release workers download tarballs on their own.
            make_client(
                timeout=settings.timeout, max_connections=settings.registry_concurrency
            ) as client,
            make_client(timeout=settings.timeout, max_connections=1) as api_client,
        ):
            crawler = HexCrawler(settings, catalog, store, client, public_key, reporter)
            return await crawler.run(api_client)


def _start_run(catalog: Catalog, settings: HexSettings) -> str:
    run_id = f"hex-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    catalog.execute(
        "INSERT INTO crawl_runs (run_id, command, started_at, status, settings)"
        " VALUES (?, 'harvest hex', ?, 'running', ?)",
        [run_id, utcnow(), settings.model_dump_json()],
    )
    return run_id


def _finish_run(catalog: Catalog, run_id: str, status: str, counts: CrawlCounts | None) -> None:
    payload = None
    if counts is not None:
        payload = json.dumps({k: v for k, v in vars(counts).items() if k != "errors"})
    catalog.execute(
        "UPDATE crawl_runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
        [utcnow(), status, payload, run_id],
    )


def _summarise(counts: CrawlCounts, elapsed: float) -> None:
    for line in counts.errors[:20]:
        print(f"  ! {line}", file=__import__("sys").stderr)
    if len(counts.errors) > 20:
        print(
            f"  ! ... and {len(counts.errors) - 20} more (see hex_releases.error)",
            file=__import__("sys").stderr,
        )
    print_summary(
        "harvest hex",
        {
            "packages in registry": counts.packages_in_registry,
            "packages selected": counts.packages_selected,
            "packages unchanged": counts.packages_unchanged,
            "releases fetched": counts.fetched,
            "releases unchanged": counts.unchanged,
            "releases skipped": counts.skipped,
            "releases failed": counts.failed,
            "releases quarantined": counts.quarantined,
            "tarballs reused from disk": counts.reused_tarballs,
            "downloaded": human_bytes(counts.bytes_downloaded),
            "registry 304s": counts.registry_not_modified,
            "API requests (429s)": f"{counts.api_requests} ({counts.api_throttled})",
            "elapsed": f"{elapsed:.1f} s",
        },
    )
