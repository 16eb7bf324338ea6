"""Text helpers shared by the steps: word tokens, whitespace normalisation, stable hashes."""

from __future__ import annotations

import re

import xxhash

WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Word tokens split on non-alphanumerics (BigCode's MinHash and n-gram tokenisation)."""
    return WORD.findall(text)


def squash_space(text: str) -> str:
    """Collapse every whitespace run to one space and strip the ends."""
    return " ".join(text.split())


def code_key(code: str) -> str:
    """Hash of code with whitespace runs collapsed: the key of exact dedup."""
    return xxhash.xxh3_128_hexdigest(squash_space(code).encode("utf-8"))


def stable_unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts` (same on every machine and run)."""
    digest = xxhash.xxh3_64_intdigest("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return digest / 2**64


def stable_choice(options: int, *parts: object) -> int:
    """A deterministic index in range(options) from `parts`."""
    return int(stable_unit(*parts) * options)


def xxhash_id(*parts: object) -> str:
    """A stable 128-bit row id (hex) from its provenance."""
    return xxhash.xxh3_128_hexdigest("\x1f".join(str(p) for p in parts).encode("utf-8"))
