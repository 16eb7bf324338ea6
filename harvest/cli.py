"""The command-line shell shared by `python -m harvest|transform|train`.

Each subcommand lives in its own module exposing `HELP`, `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their subcommand runs, so `--help` is fast
and `python -m harvest` never imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from harvest.catalog import CatalogError
from harvest.settings import SettingsError

log = logging.getLogger("elixir_harvest")


class CommandError(RuntimeError):
    """A failure the user can act on; printed as one line, exit code 1."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; that drowns the progress output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def main(
    prog: str, description: str, commands: dict[str, str], argv: Sequence[str] | None = None
) -> int:
    """Parse `argv`, import the chosen subcommand's module and run it."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if a in commands), None)
    for name, module_name in commands.items():
        if name == chosen:
            module = importlib.import_module(module_name)
            sp = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(sp)
            sp.set_defaults(_module=module)
        else:
            sub.add_parser(name, help=_short_help(module_name), add_help=False)
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    _terminate_like_interrupt()
    try:
        return int(args._module.run(args) or 0)
    except (SettingsError, CatalogError, CommandError) as exc:
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SettingsError) else 1
    except KeyboardInterrupt:
        print(
            f"{prog} {args.command}: interrupted; rerun to continue where it stopped",
            file=sys.stderr,
        )
        return 130


def _terminate_like_interrupt() -> None:
    """SIGTERM (`kill`, `docker stop`, a scheduler's timeout) stops a command the way Ctrl-C
    does: it is handed to whatever handles SIGINT now (asyncio cancels the running command, so
    its cleanup runs and its run is recorded as interrupted; outside asyncio, Python raises
    KeyboardInterrupt). Where SIGINT is ignored (`nohup`, `cmd &` in a script), SIGTERM raises
    KeyboardInterrupt itself rather than being ignored too."""
    if threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def on_term(_signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:  # a forked worker inherited this: die as SIGTERM means
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    signal.signal(signal.SIGTERM, on_term)


def _short_help(module_name: str) -> str:
    """The subcommand's one-line help, without importing its (possibly heavy) module."""
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        return ""
    with open(spec.origin, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("HELP = "):
                return line.split("=", 1)[1].strip().strip("\"'")
    return ""
