"""License classification: is a file's SPDX id or expression on the permissive allow-list?

Hex metadata often carries informal names ("Apache 2.0", "MIT License"); a small alias table
maps the common ones to SPDX ids before the check. An `OR` expression is permissive when one
branch is, an `AND` expression when every part is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from transform.steps.base import Filter, Row

LicenseClass = Literal["permissive", "non_permissive", "none"]

ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "mit license": "MIT",
    "the mit license": "MIT",
    "bsd": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause",
    "unlicense": "Unlicense",
    "isc license": "ISC",
}
_NONE = {"", "none", "noassertion", "unknown", "other"}
_SPLIT = re.compile(r"\s+(OR|AND)\s+", re.IGNORECASE)


def canonical(name: str) -> str:
    name = name.strip().strip("()").strip()
    return ALIASES.get(name.lower(), name)


def classify_license(expression: str | None, allowed: Iterable[str]) -> LicenseClass:
    """Sort a license expression into permissive, non-permissive or none."""
    if expression is None or expression.strip().lower() in _NONE:
        return "none"
    allow = {a.lower() for a in allowed}
    parts = _SPLIT.split(expression.strip())
    ids = [canonical(p.split(" WITH ")[0]) for p in parts[::2]]
    ops = {op.upper() for op in parts[1::2]}
    verdicts = [i.lower() in allow for i in ids]
    ok = all(verdicts) if "AND" in ops else any(verdicts)
    return "permissive" if ok else "non_permissive"


class LicenseFilter(Filter):
    """Drops rows whose `license` is missing or not permissive, unless the config allows it."""

    name = "license"

    def __init__(
        self,
        allowed: Iterable[str],
        *,
        allow_unlicensed: bool = False,
        allow_non_permissive: bool = False,
    ) -> None:
        super().__init__()
        self.allowed = list(allowed)
        self.allow_unlicensed = allow_unlicensed
        self.allow_non_permissive = allow_non_permissive

    def keep(self, row: Row) -> str | None:
        verdict = classify_license(row.get("license"), self.allowed)
        if verdict == "none" and not self.allow_unlicensed:
            return "no_license"
        if verdict == "non_permissive" and not self.allow_non_permissive:
            return "non_permissive"
        return None
