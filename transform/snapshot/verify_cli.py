"""`python -m transform verify v3`: re-hash every shard against the manifest; non-zero on any
difference."""

from __future__ import annotations

import argparse
from pathlib import Path

from transform.snapshot.common_cli import add_snapshot_arguments, snapshot_row

HELP = "re-hash every shard of a snapshot against its manifest; exit 1 on any difference"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_snapshot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from transform.snapshot.errors import VerifyFailed
    from transform.snapshot.verify import verify_snapshot

    row = snapshot_row(args)
    problems, checked = verify_snapshot(Path(row["path"]), row["manifest_sha256"])
    if problems:
        raise VerifyFailed(
            f"snapshot {args.version} does not match its manifest:\n  " + "\n  ".join(problems)
        )
    print(f"snapshot {args.version}: manifest and {checked} shards verified")
    return 0
