"""`python -m transform build --version v3`: write an immutable dataset snapshot."""

from __future__ import annotations

import argparse

from harvest.progress import print_summary
from harvest.settings import add_model_flags
from transform.config import BuildConfig
from transform.snapshot.common_cli import add_config_flag, load_config

HELP = "build an immutable dataset snapshot (instruct + corpus Parquet) from the catalog"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    add_model_flags(parser, BuildConfig)


def run(args: argparse.Namespace) -> int:
    from transform.snapshot.build import build_snapshot
    from transform.snapshot.manifest import rows_of

    cfg = load_config(args)
    result = build_snapshot(cfg)
    m = result.manifest
    rows = {
        f"{c} {s} rows": rows_of(m, c, s)
        for c in ("instruct", "corpus")
        for s in ("train", "validation")
    }
    near = m["dedup"]["near"]
    print_summary(
        f"snapshot {cfg.version}",
        {
            "path": str(result.path),
            **rows,
            "hex releases": len(m["sources"]["hex"]),
            "github repositories": len(m["sources"]["github"]),
            "near-dup removal (instruct units)": f"{near['instruct']['removal_rate']:.1%}",
            "near-dup removal (corpus files)": f"{near['corpus']['removal_rate']:.1%}",
            "manifest sha256": result.manifest_sha256,
        },
    )
    return 0
