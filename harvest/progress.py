"""Progress reporting: a rich progress bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

log = logging.getLogger("elixir_harvest.progress")


class ProgressReporter:
    """Counts items (and optionally bytes) toward a total, shown as a bar or as log lines.

    On a terminal it draws a bar with count, bytes and rate; in CI or a pipe it logs one line
    every `log_every` seconds so long jobs still show they are alive.
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "items",
        show_bytes: bool = False,
        log_every: float = 10.0,
        force_terminal: bool | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.show_bytes = show_bytes
        self.log_every = log_every
        self.count = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last_log = self.started
        console = Console(stderr=True, force_terminal=force_terminal)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            columns: list[Any] = [
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
            ]
            if show_bytes:
                columns += [
                    TextColumn("•"),
                    DownloadColumn(binary_units=True),
                    TransferSpeedColumn(),
                ]
            columns += [TextColumn("•"), TimeElapsedColumn()]
            self._progress = Progress(*columns, console=console, transient=False)

    def __enter__(self) -> ProgressReporter:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def set_total(self, total: int) -> None:
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, count: int = 1, nbytes: int = 0) -> None:
        self.count += count
        self.bytes += nbytes
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=count)
            return
        now = time.monotonic()
        if now - self._last_log >= self.log_every:
            self._last_log = now
            self._log_line(now)

    def _log_line(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        total = f"/{self.total}" if self.total is not None else ""
        extra = (
            f", {self.bytes / 2**20:.1f} MiB ({self.bytes / 2**20 / elapsed:.2f} MiB/s)"
            if self.show_bytes
            else ""
        )
        log.info(
            "%s: %d%s %s%s, %.0fs elapsed, %.1f %s/s",
            self.description,
            self.count,
            total,
            self.unit,
            extra,
            elapsed,
            self.count / elapsed,
            self.unit,
        )


def print_summary(title: str, rows: Mapping[str, Any], *, file: Any = None) -> None:
    """Print the end-of-run summary as a two-column table (plain text when not a terminal)."""
    console = Console(file=file or sys.stderr)
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(key, format_value(value))
    console.print(table)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
