"""Doc literal decoding and doctest splitting, on real parses of small snippets."""

from __future__ import annotations

import pytest

from transform.extract.docs import doctests

from .conftest import functions


def doc_of(literal: str, prefix: str = "") -> str | None:
    code = f"defmodule M do\n{prefix}  @doc {literal}\n  def f, do: 1\nend\n"
    return functions(code)["M.f/0"].doc


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (
            r'"a\nb\tc \" \\ \# \s \x41 \x{1F600} \u00e9 \u{1F44D} \q"',
            'a\nb\tc " \\ # \x20 A 😀 é 👍 q',
        ),
        ('"one \\\ntwo"', "one two"),
        ('"x" <> "y"', "xy"),
        ("~S(raw \\) and \\( and \\n)", "raw ) and \\( and \\n"),
        ('~S"raw \\" quote"', 'raw " quote'),
        ("~s(low \\) \\n)", "low ) \n"),
    ],
)
def test_string_forms(literal: str, expected: str) -> None:
    assert doc_of(literal) == expected


def test_heredoc_strips_closing_indent_before_unescaping() -> None:
    literal = '"""\n  text\n      code\n  \\tescaped tab\n less\n  """'
    assert doc_of(literal) == "text\n    code\n\tescaped tab\nless\n"


def test_raw_heredoc_keeps_escapes_and_unescapes_only_the_terminator() -> None:
    literal = '~S"""\n  a \\n \\" b \\""" c #{x}\n  """'
    assert doc_of(literal) == 'a \\n \\" b """ c #{x}\n'


def test_crlf_is_kept_in_heredocs() -> None:
    code = 'defmodule M do\r\n  @doc """\r\n  one\r\n  two\r\n  """\r\n  def f, do: 1\r\nend\r\n'
    assert functions(code)["M.f/0"].doc == "one\r\ntwo\r\n"


def test_interpolated_attribute_resolves_and_unknown_stays_dynamic() -> None:
    found = functions(
        'defmodule M do\n  @v "1.0"\n  @doc "v#{@v}"\n  def a, do: 1\n'
        '  @doc "x#{y()}"\n  def b, do: 1\n  @doc @v\n  def c, do: 1\nend\n'
    )
    assert (found["M.a/0"].doc, found["M.a/0"].doc_dynamic) == ("v1.0", False)
    assert (found["M.b/0"].doc, found["M.b/0"].doc_dynamic) == ("x#{y()}", True)
    assert found["M.c/0"].doc == "1.0"


def test_doctests_pairs_prompts_continuations_and_expected() -> None:
    doc = "Intro\n\n    iex> a = 1\n    iex> a +\n    ...> 1\n    2\n\n    iex(3)> :x\n    :x\n"
    pairs = [(d.prompt, d.expected) for d in doctests(doc)]
    assert pairs == [("a = 1", ""), ("a +\n1", "2"), (":x", ":x")]
