"""`python -m transform show v3`: one snapshot's sources, configuration, counts and dedup rates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from transform.snapshot.common_cli import add_snapshot_arguments, snapshot_row

HELP = "show one snapshot: sources, configuration, rows per task and split, filter counts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_snapshot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from transform.snapshot.manifest import read_manifest

    row = snapshot_row(args)
    manifest, _ = read_manifest(Path(row["path"]))
    render(Console(width=160), row, manifest)
    return 0


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i == len(header) - 1 else "left")
    for r in rows:
        table.add_row(*(f"{c:,}" if isinstance(c, int) else str(c) for c in r))
    return table


def render(console: Console, row: dict[str, Any], m: dict[str, Any]) -> None:
    """Everything `show` prints, from the catalog row and the manifest."""
    hex_, gh = m["sources"]["hex"], m["sources"]["github"]
    console.print(
        f"[bold]snapshot {m['version']}[/bold]  created {m['created_at']}  at {row['path']}\n"
        f"manifest sha256 {row['manifest_sha256']}\n"
        f"sources: {len(hex_)} Hex releases, {len(gh)} GitHub repositories "
        f"(origins per split: {m['splits']['origins']})"
    )
    for table in (_rows_table(m), _tasks_table(m), _filters_table(m), _dedup_table(m)):
        console.print(table)
    console.print("[bold]configuration[/bold]\n" + yaml.safe_dump(m["config"], sort_keys=True))


def _rows_table(m: dict[str, Any]) -> Table:
    from transform.snapshot.manifest import rows_of

    rows = [
        (c, s, rows_of(m, c, s)) for c in ("instruct", "corpus") for s in ("train", "validation")
    ]
    return _table("rows", ("config", "split", "rows"), rows)


def _tasks_table(m: dict[str, Any]) -> Table:
    rows = [(s, t, n) for s, per in m["tasks"].items() for t, n in sorted(per.items())]
    return _table("instruct rows per task", ("split", "task", "rows"), rows)


def _filters_table(m: dict[str, Any]) -> Table:
    rows = [(step, k, v) for step, c in sorted(m["filters"].items()) for k, v in sorted(c.items())]
    return _table("filters", ("step", "outcome", "count"), rows)


def _dedup_table(m: dict[str, Any]) -> Table:
    exact = [("exact", c, k, v) for c, per in m["dedup"]["exact"].items() for k, v in per.items()]
    near = [
        ("near", c, k, v) for c in ("instruct", "corpus") for k, v in m["dedup"]["near"][c].items()
    ]
    return _table("dedup", ("stage", "config", "figure", "value"), exact + near)
