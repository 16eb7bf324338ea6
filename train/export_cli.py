"""`python -m train export`: write an Ollama Modelfile and the run's weights to a directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from harvest.progress import print_summary
from train.runs import find_run

HELP = "export a run for Ollama (Modelfile with the V7-Tekken template + adapter or merged model)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run id or run directory (`latest` for the newest)")
    parser.add_argument(
        "--ollama",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory to write the Modelfile and weights into",
    )
    parser.add_argument(
        "--ollama-base",
        default="devstral:24b",
        help="the base model's name in Ollama, for FROM (adapter form)",
    )
    parser.add_argument(
        "--merged",
        action="store_true",
        help="ship the merged model (runs `merge` if needed) instead of the adapter",
    )
    parser.add_argument("--system", help="SYSTEM prompt to bake into the Modelfile")
    parser.add_argument("--output-dir", type=Path, default=Path("runs"), help="where runs live")


def run(args: argparse.Namespace) -> int:
    from train.export import export_ollama

    paths = find_run(args.run, args.output_dir)
    merged = None
    if args.merged:
        from train.merge import merge_run

        merged = paths.merged if (paths.merged / "config.json").is_file() else merge_run(paths)
    written = export_ollama(paths, args.ollama, args.ollama_base, merged, args.system)
    next_step = (
        "sh convert-to-gguf.sh, then " if merged else ""
    ) + f"ollama create NAME -f {args.ollama / 'Modelfile'}"
    print_summary(
        f"Ollama export of {paths.root.name}",
        {"directory": str(args.ollama), "files": len(written), "next": next_step},
    )
    return 0
