"""MultiPL-E style scoring: run each program's ExUnit tests with `elixir`, no network, 5 s cap.

A benchmark is JSONL with `name`, `prompt`, `tests` and optional `stop_tokens` (the
humaneval-elixir layout); completions are JSONL with `name` and `completion`. The program is
prompt + completion + tests, as in MultiPL-E; exit status 0 passes and every failure is
classified as AssertionError, SyntaxError, Exception or Timeout.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from train.errors import TrainError

log = logging.getLogger(__name__)

DEFAULT_STOPS = ("\ndefmodule", "\ndefp", "\ndef ", "\n#", "\n\n")
SYNTAX_MARKERS = (
    "(SyntaxError)",
    "(TokenMissingError)",
    "(MismatchedDelimiterError)",
    "(CompileError)",
)


@dataclass(frozen=True)
class Problem:
    name: str
    prompt: str
    tests: str
    stop_tokens: tuple[str, ...] = DEFAULT_STOPS


@dataclass(frozen=True)
class Outcome:
    """The result of running one program."""

    name: str
    status: str  # OK, AssertionError, SyntaxError, Exception, Timeout
    exit_code: int | None
    output_tail: str = field(default="", repr=False)

    @property
    def passed(self) -> bool:
        return self.status == "OK"


def read_jsonl(path: Path) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TrainError(f"file not found: {path}") from None
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise TrainError(f"{path} is not valid JSONL: {exc}") from None


def read_benchmark(path: Path) -> list[Problem]:
    problems = []
    for row in read_jsonl(path):
        if not {"name", "prompt", "tests"} <= row.keys():
            raise TrainError(f"{path}: every problem needs name, prompt and tests")
        stops = tuple(row.get("stop_tokens") or DEFAULT_STOPS)
        problems.append(Problem(row["name"], row["prompt"], row["tests"], stops))
    return problems


def read_completions(path: Path) -> dict[str, list[str]]:
    """Completions per problem name (several rows per name = several samples)."""
    out: dict[str, list[str]] = {}
    for row in read_jsonl(path):
        out.setdefault(row["name"], []).append(row["completion"])
    return out


def truncate_at_stops(text: str, stops: Iterable[str]) -> str:
    """Cut a completion at the first stop sequence, as MultiPL-E does."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def program(problem: Problem, completion: str) -> str:
    return problem.prompt + completion + "\n" + problem.tests


def classify(exit_code: int, output: str) -> str:
    if exit_code == 0:
        return "OK"
    if "Assertion with" in output or "ExUnit.AssertionError" in output:
        return "AssertionError"
    if any(marker in output for marker in SYNTAX_MARKERS):
        return "SyntaxError"
    return "Exception"


def sandbox_prefix() -> list[str]:
    """`unshare -rn` gives the program a fresh network namespace with no interfaces."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    log.warning("unshare -rn is not available: programs run WITH network access")
    return []


def run_program(
    name: str,
    source: str,
    timeout_s: float = 5.0,
    prefix: list[str] | None = None,
    elixir: str = "elixir",
) -> Outcome:
    """Run one .exs in a scratch directory; the whole process group dies on timeout."""
    with tempfile.TemporaryDirectory(prefix="eval-") as tmp:
        script = Path(tmp) / "program.exs"
        script.write_text(source, encoding="utf-8")
        cmd = [*(sandbox_prefix() if prefix is None else prefix), elixir, str(script)]
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "MIX_ENV": "test"},
        )
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Outcome(name, "Timeout", None)
    text = out.decode("utf-8", errors="replace")
    return Outcome(name, classify(proc.returncode, text), proc.returncode, text[-2000:])


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al. 2021)."""
    if n - correct < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - correct + 1, n + 1))


def score(
    problems: list[Problem],
    completions: dict[str, list[str]],
    workers: int = 2,
    timeout_s: float = 5.0,
) -> tuple[dict, list[Outcome]]:
    """Run every completion; returns the summary (pass@1, failure classes) and the outcomes."""
    missing = [p.name for p in problems if not completions.get(p.name)]
    if missing:
        raise TrainError(f"no completion for {len(missing)} problems, e.g. {missing[:3]}")
    prefix = sandbox_prefix()
    jobs = [
        (p.name, program(p, truncate_at_stops(c, p.stop_tokens)))
        for p in problems
        for c in completions[p.name]
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda job: run_program(*job, timeout_s, prefix), jobs))
    per_problem: dict[str, list[bool]] = {}
    for outcome in outcomes:
        per_problem.setdefault(outcome.name, []).append(outcome.passed)
    pass1 = sum(pass_at_k(len(v), sum(v), 1) for v in per_problem.values()) / len(per_problem)
    summary = {
        "problems": len(per_problem),
        "programs": len(outcomes),
        "pass@1": pass1,
        "statuses": dict(Counter(o.status for o in outcomes)),
        "network_isolated": bool(prefix),
    }
    return summary, outcomes
