"""The dataset card (README.md): the Hugging Face `configs:` YAML block plus the statistics."""

from __future__ import annotations

from typing import Any

import yaml

from transform.snapshot.manifest import rows_of


def front_matter() -> dict[str, Any]:
    configs = [
        {
            "config_name": config,
            "data_files": [
                {"split": split, "path": f"{config}/{split}-*.parquet"}
                for split in ("train", "validation")
            ],
            **({"default": True} if config == "instruct" else {}),
        }
        for config in ("instruct", "corpus")
    ]
    return {
        "configs": configs,
        "language": ["code"],
        "tags": ["elixir", "code"],
        "license": "other",
        "pretty_name": "elixir-harvest",
    }


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


INTRO = (
    "Elixir code from Hex.pm and GitHub, as instruction pairs (`instruct`: chat `messages` plus "
    "`prompt`/`completion`) and as whole deduplicated files (`corpus`). Every row carries its "
    "provenance: `source`, `origin`, `origin_version`, `path`, `start_line`, `end_line`, "
    "`license`, and instruct rows their `task`. Built by `python -m transform build`; "
    "`manifest.json` lists every shard with its SHA-256, the resolved configuration and every "
    "source release or commit."
)
USAGE = (
    "```python\nfrom datasets import load_dataset\n"
    'ds = load_dataset("parquet", data_files={"train": "instruct/train-*.parquet",\n'
    '                                         "validation": "instruct/validation-*.parquet"})\n```'
)
LIMITATIONS = (
    "## Limitations\n\nInstruction pairs are template-made from documentation, so they teach "
    "the documented intent of real code, not novel problem solving. Licenses come from package "
    "metadata and repository detection, not a per-file scan. Secrets are found by pattern."
)


def _dedup_rows(manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    near = manifest["dedup"]["near"]
    rows = [
        ("near", c, near[c]["units"], near[c]["removed"], f"{near[c]['removal_rate']:.1%}")
        for c in ("instruct", "corpus")
    ]
    for config, counts in manifest["dedup"]["exact"].items():
        dropped = sum(v for k, v in counts.items() if k.endswith("dropped_duplicate"))
        seen = dropped + sum(v for k, v in counts.items() if k.endswith(":kept"))
        rows.append(("exact", config, seen, dropped, f"{dropped / seen:.1%}" if seen else "-"))
    return rows


def render_card(manifest: dict[str, Any]) -> str:
    """README.md text for a snapshot, from its manifest alone."""
    sizes = [
        (c, s, rows_of(manifest, c, s), len(manifest["configs"][c][s]))
        for c in ("instruct", "corpus")
        for s in ("train", "validation")
    ]
    tasks = [(s, t, n) for s, per in manifest["tasks"].items() for t, n in sorted(per.items())]
    filters = [
        (step, k, v)
        for step, counts in sorted(manifest["filters"].items())
        for k, v in sorted(counts.items())
    ]
    params = manifest["dedup"]["near"]["params"]
    sources = manifest["sources"]
    sections = [
        f"---\n{yaml.safe_dump(front_matter(), sort_keys=False)}---",
        f"# elixir-harvest snapshot {manifest['version']}",
        INTRO,
        USAGE,
        "## Rows\n\n" + _table(("config", "split", "rows", "shards"), sizes),
        "## Instruction tasks\n\n" + _table(("split", "task", "rows"), tasks),
        f"## Sources\n\n{len(sources['hex'])} Hex releases and {len(sources['github'])} GitHub "
        "repositories contributed rows (all listed in `manifest.json`).",
        f"## Deduplication\n\nMinHash LSH: {params['ngram']}-word shingles, "
        f"{params['num_perm']} registers, {params['bands']} bands x {params['rows']} rows "
        f"(Jaccard {params['threshold']}), seed {params['seed']}.\n\n"
        + _table(("stage", "config", "units", "removed", "rate"), _dedup_rows(manifest)),
        "## Filters\n\nRows and files per filter and outcome:\n\n"
        + _table(("step", "outcome", "count"), filters),
        LIMITATIONS,
    ]
    return "\n\n".join(sections) + "\n"
