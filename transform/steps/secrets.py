"""Secret detection in code: API keys, private keys, tokens and passwords, found by pattern.

Each finding is replaced by a placeholder (`<KEY>`, `<PASSWORD>`, ...) in redact mode, or the
row is dropped in drop mode; either way the count goes into the manifest. Patterns follow the
well-known formats (AWS, GitHub, Slack, Stripe, Google, PEM blocks) plus assignments of string
literals to secret-looking names, which catches `password: "hunter2"` in config code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transform.steps.base import Filter, Row

PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "private_key",
        "<PRIVATE_KEY>",
        re.compile(
            r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
    ),
    ("aws_access_key", "<KEY>", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("github_token", "<KEY>", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{40,})")),
    ("slack_token", "<KEY>", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe_key", "<KEY>", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}")),
    ("google_api_key", "<KEY>", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
]
# name = "literal" / name: "literal" where the name says secret; the literal is group "value".
ASSIGNED = re.compile(
    r"""(?ix)(?:password|passwd|pwd|secret|api_?key|access_?key|auth_?token|token)\w*
    ["']?\s*(?::|=>|=)\s*"(?P<value>[^"\s#{}]{6,})\"""",
)
# A literal each pattern needs; texts without it skip that regex (most code has none of them).
ANCHORS = {
    "private_key": ("PRIVATE KEY",),
    "aws_access_key": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA"),
    "github_token": ("gh", "github_pat_"),
    "slack_token": ("xox",),
    "stripe_key": ("k_live_",),
    "google_api_key": ("AIza",),
}
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:<.*>|\$\{.*\}|x+|\*+|changeme|password|secret|example\w*"
    r"|your[_-]?\w*|test\w*|dummy\w*|fake\w*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    placeholder: str


def find_secrets(text: str) -> list[Finding]:
    """Every secret-looking span in `text`, in order, without overlaps."""
    found = [
        Finding(kind, m.start(), m.end(), ph)
        for kind, ph, pattern in PATTERNS
        if any(anchor in text for anchor in ANCHORS[kind])
        for m in pattern.finditer(text)
    ]
    for m in ASSIGNED.finditer(text):
        value = m.group("value")
        if not _PLACEHOLDER_VALUE.match(value):
            found.append(Finding("password", m.start("value"), m.end("value"), "<PASSWORD>"))
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in found:
        if not merged or f.start >= merged[-1].end:
            merged.append(f)
    return merged


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by its placeholder."""
    out, last = [], 0
    for f in findings:
        out.append(text[last : f.start])
        out.append(f.placeholder)
        last = f.end
    out.append(text[last:])
    return "".join(out)


class SecretsStep(Filter):
    """Redacts or drops rows whose text fields hold secrets; counts findings per kind."""

    name = "secrets"

    def __init__(self, action: str, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.action = action
        self.fields = fields

    def keep(self, row: Row) -> str | None:
        hits = {name: find_secrets(row[name]) for name in self.fields if row.get(name)}
        hits = {name: found for name, found in hits.items() if found}
        if not hits:
            return None
        for found in hits.values():
            for f in found:
                self.stats[f"found_{f.kind}"] += 1
        if self.action == "drop":
            return "secret"
        for name, found in hits.items():
            row[name] = redact(row[name], found)
        self.stats["redacted_rows"] += 1
        return None
