"""Origin-level train/validation split: a package or repository lands wholly in one split.

The split of an origin is a seeded hash of (source, origin), so it does not depend on which
other origins are in the catalog. When no origin hashes into validation although there are at
least two, the lowest-hashing one goes there, so a small snapshot still has a validation split.
"""

from __future__ import annotations

from collections.abc import Iterable

from transform.steps.text import stable_unit


def assign_splits(
    origins: Iterable[tuple[str, str]], fraction: float, seed: int
) -> dict[tuple[str, str], str]:
    """Map each (source, origin) to 'train' or 'validation'."""
    scores = {o: stable_unit(seed, o[0], o[1]) for o in sorted(set(origins))}
    splits = {o: "validation" if s < fraction else "train" for o, s in scores.items()}
    if fraction > 0 and len(splits) >= 2 and "validation" not in splits.values():
        splits[min(scores, key=lambda o: (scores[o], o))] = "validation"
    return splits
