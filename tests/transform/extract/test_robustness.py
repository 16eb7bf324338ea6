"""Bad input never raises: each case yields what can be recovered plus a reason."""

from __future__ import annotations

import random

import pytest

from transform.extract import extract_source

GOOD = b'defmodule M do\n  @doc "One."\n  def one, do: 1\n\n  @doc "Two."\n  def two, do: 2\nend\n'


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "empty"), (b"  \n\n", "empty"), (b"\x00\x01ELF" + GOOD, "binary")],
)
def test_unusable_input_is_reported(data: bytes, problem: str) -> None:
    result = extract_source(data, "x.ex")
    assert result.problems == (problem,) and result.functions == ()


def test_too_large_respects_the_cap() -> None:
    assert extract_source(GOOD, "x.ex", max_bytes=10).problems == ("too_large",)
    assert extract_source(GOOD, "x.ex", max_bytes=len(GOOD)).problems == ()


def test_not_utf8_still_extracts() -> None:
    data = GOOD.replace(b'"One."', b'"Caf\xe9."')
    result = extract_source(data, "x.ex")
    assert result.problems == ("not_utf8",)
    assert [f.name for f in result.functions] == ["one", "two"]
    assert result.functions[0].doc == "Caf\ufffd."


def test_truncated_file_keeps_complete_definitions() -> None:
    data = GOOD + b'defmodule N do\n  @doc "Kept."\n  def kept, do: 1\n  def cut(x) do\n    x +'
    result = extract_source(data, "x.ex")
    assert {"parse_errors", "truncated"} <= set(result.problems) and result.has_errors
    found = {(f.module, f.name): f for f in result.functions}
    assert found[("M", "one")].doc == "One." and not found[("M", "one")].has_errors
    assert found[("N", "kept")].doc == "Kept." and found[("N", "kept")].has_errors


def test_lost_end_recovers_later_definitions() -> None:
    data = GOOD.replace(b"  def one, do: 1\n", b"  def one do\n    1\n")
    result = extract_source(data, "x.ex")
    assert "parse_errors" in result.problems
    assert {f.name: f.doc for f in result.functions} == {"one": "One.", "two": "Two."}


def test_garbage_never_raises() -> None:
    for data in (
        b"def",
        b"defmodule",
        b"@doc",
        b"defmodule do end end end",
        b"\xff" * 50,
        b'defmodule A do @doc """',
        b"((((((((((" * 200,
    ):
        assert extract_source(data, "x.ex").path == "x.ex"


def test_mutated_sources_never_raise_and_keep_sane_spans(fixtures_dir) -> None:
    """Random cuts, deletions and insertions of Elixir tokens: every record stays well-formed."""
    rng = random.Random(7)
    sources = [p.read_bytes() for p in sorted(fixtures_dir.rglob("*.ex"))]
    tokens = [b"end", b"do", b'"""', b"(", b")", b'"', b"def ", b"@doc ", b"defmodule ", b"#{"]
    for _ in range(150):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            if rng.random() < 0.5:
                del data[at : at + rng.randint(1, 30)]
            else:
                data[at:at] = rng.choice(tokens)
        result = extract_source(bytes(data), "m.ex")
        assert not any(p.startswith("internal_error") for p in result.problems)
        lines = data.count(b"\n") + 1
        for record in (*result.modules, *result.functions):
            assert 1 <= record.start_line <= record.end_line <= lines
