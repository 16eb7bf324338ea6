"""Flags and config loading shared by the four snapshot subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harvest.catalog import open_catalog
from harvest.settings import load_settings, overrides_from_args
from transform.config import BuildConfig

DEFAULT_CONFIG = Path("configs/transform.yaml")


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"YAML config (default: {DEFAULT_CONFIG} when it exists)",
    )


def load_config(args: argparse.Namespace, **extra: Any) -> BuildConfig:
    """BuildConfig from defaults < YAML < flags (flags given on this command only)."""
    path = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    overrides = {**overrides_from_args(args, BuildConfig), **extra}
    return load_settings(BuildConfig, path, overrides)


def add_catalog_flags(parser: argparse.ArgumentParser) -> None:
    """--catalog for the read-only commands (list, show, verify)."""
    add_config_flag(parser)
    parser.add_argument(
        "--catalog",
        type=Path,
        default=None,
        metavar="CATALOG",
        help="DuckDB catalog file (default: from the config)",
    )


def catalog_path(args: argparse.Namespace) -> Path:
    """The catalog of a read-only command: --catalog, else the config's."""
    return args.catalog or load_config(argparse.Namespace(config=args.config)).catalog


def add_snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    """The snapshot name plus --catalog/--config, for the commands about one snapshot."""
    parser.add_argument("version", help="snapshot name, e.g. v3")
    add_catalog_flags(parser)


def snapshot_row(args: argparse.Namespace) -> dict[str, Any]:
    """The `snapshots` row of the snapshot named on the command line (catalog opened read-only)."""
    from transform.snapshot.catalog_io import get_snapshot

    with open_catalog(catalog_path(args), write=False) as catalog:
        return get_snapshot(catalog, args.version)
