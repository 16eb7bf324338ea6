"""The ExUnit executor scores known-correct and known-wrong Elixir completions correctly."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from tests.train.conftest import train_cli
from train.evaluate import pass_at_k, read_benchmark, run_program, score, truncate_at_stops

BENCHMARK = Path(__file__).parent / "data" / "humaneval-elixir-mini.jsonl"
CORRECT = {
    "HumanEval_add": "    x + y\n  end\nend\n",
    "HumanEval_reverse": "    Enum.reverse(xs)\n  end\nend\n",
}

pytestmark = pytest.mark.skipif(shutil.which("elixir") is None, reason="needs elixir")


def test_known_correct_and_known_wrong_completions() -> None:
    problems = read_benchmark(BENCHMARK)
    completions = {
        "HumanEval_add": [CORRECT["HumanEval_add"], "    x - y\n  end\nend\n"],
        "HumanEval_reverse": ["    xs\n  end\nend\n"],
    }
    summary, outcomes = score(problems, completions, workers=2)
    assert [(o.name, o.status) for o in outcomes] == [
        ("HumanEval_add", "OK"),
        ("HumanEval_add", "AssertionError"),
        ("HumanEval_reverse", "AssertionError"),
    ]
    assert summary["pass@1"] == pytest.approx(0.25)  # (1/2 + 0/1) / 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("    x +\n  end\nend\n", "SyntaxError"),
        ('    raise "boom"\n  end\nend\n', "Exception"),
        ("    Process.sleep(10_000)\n  end\nend\n", "Timeout"),
    ],
)
def test_failures_are_classified(body: str, status: str) -> None:
    problem = read_benchmark(BENCHMARK)[0]
    outcome = run_program("p", problem.prompt + body + "\n" + problem.tests, timeout_s=2.0)
    assert outcome.status == status


def test_programs_cannot_reach_a_server_on_loopback() -> None:
    """A listener on this machine's 127.0.0.1 is unreachable from inside the sandbox."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        source = (
            f'case :gen_tcp.connect(~c"127.0.0.1", {port}, [], 1000) do\n'
            "  {:ok, _} -> System.halt(0)\n  {:error, _} -> System.halt(3)\nend\n"
        )
        assert run_program("net", source, prefix=[]).exit_code == 0  # reachable without it
        assert run_program("net", source).exit_code == 3


def test_stop_sequences_cut_the_completion() -> None:
    assert truncate_at_stops("  x\nend\n\ndef other", ["\n\n", "\ndef "]) == "  x\nend"


def test_pass_at_k() -> None:
    assert pass_at_k(10, 0, 1) == 0.0 and pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)


def test_eval_cli_scores_given_completions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    completions = tmp_path / "c.jsonl"
    completions.write_text(
        "".join(json.dumps({"name": n, "completion": c}) + "\n" for n, c in CORRECT.items())
    )
    out = tmp_path / "results.jsonl"
    assert (
        train_cli(
            "eval",
            "--benchmark",
            str(BENCHMARK),
            "--completions",
            str(completions),
            "--out",
            str(out),
        )
        == 0
    )
    assert json.loads(out.with_suffix(".summary.json").read_text())["pass@1"] == 1.0
    assert "pass@1" in capsys.readouterr().err
