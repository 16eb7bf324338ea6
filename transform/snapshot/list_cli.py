"""`python -m transform list`: every snapshot in the catalog with its row counts."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from harvest.catalog import open_catalog
from transform.snapshot.common_cli import add_catalog_flags, catalog_path

HELP = "list the dataset snapshots in the catalog with their row counts"

COUNTS = (
    "rows_instruct_train",
    "rows_instruct_validation",
    "rows_corpus_train",
    "rows_corpus_validation",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_flags(parser)


def run(args: argparse.Namespace) -> int:
    from transform.snapshot.catalog_io import list_snapshots

    with open_catalog(catalog_path(args), write=False) as catalog:
        snapshots = list_snapshots(catalog)
    console = Console(width=160)
    if not snapshots:
        console.print("no snapshots yet; build one with `python -m transform build --version v1`")
        return 0
    table = Table(title=f"{len(snapshots)} snapshot(s)")
    for column in (
        "version",
        "created_at",
        "instruct train",
        "instruct validation",
        "corpus train",
        "corpus validation",
        "manifest sha256",
        "path",
    ):
        table.add_column(
            column, justify="right" if "train" in column or "valid" in column else "left"
        )
    for s in snapshots:
        table.add_row(
            s["version"],
            str(s["created_at"]),
            *(f"{s[c]:,}" for c in COUNTS),
            s["manifest_sha256"][:16],
            s["path"],
        )
    console.print(table)
    return 0
