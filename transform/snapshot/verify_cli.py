"""`python -m transform verify v3`: re-hash every shard against the manifest; non-zero on any
difference."""

from __future__ import annotations

import argparse
from pathlib import Path

from harvest.catalog import open_catalog
from transform.snapshot.common_cli import add_catalog_flags, catalog_path

HELP = "re-hash every shard of a snapshot against its manifest; exit 1 on any difference"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="snapshot name, e.g. v3")
    add_catalog_flags(parser)


def run(args: argparse.Namespace) -> int:
    from transform.snapshot.catalog_io import get_snapshot
    from transform.snapshot.errors import VerifyFailed
    from transform.snapshot.verify import verify_snapshot

    with open_catalog(catalog_path(args), write=False) as catalog:
        row = get_snapshot(catalog, args.version)
    problems, checked = verify_snapshot(Path(row["path"]), row["manifest_sha256"])
    if problems:
        raise VerifyFailed(
            f"snapshot {args.version} does not match its manifest:\n  " + "\n  ".join(problems)
        )
    print(f"snapshot {args.version}: manifest and {checked} shards verified")
    return 0
