"""Decode doc literals the way the Elixir 1.14 compiler does, and split out `iex>` doctests.

Pure functions over tree-sitter nodes and strings. The rules (heredoc indentation stripped before
unescaping, CRLF kept, `~S` only unescapes its closing delimiter) are in
docs/extraction.md and were checked byte for byte against `Code.fetch_docs/1`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from transform.extract.grammar import (
    BINARY,
    BOOLEAN,
    ESCAPE_SEQUENCE,
    IDENTIFIER,
    INTERPOLATION,
    LEFT,
    NIL,
    OPERAND,
    QUOTED_CONTENT,
    QUOTED_END,
    QUOTED_START,
    RIGHT,
    SIGIL,
    SIGIL_NAME,
    STRING,
    UNARY,
    Node,
    named,
    operator_of,
)
from transform.extract.records import Doctest, make

_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "s": " ",
    "e": "\x1b",
    "a": "\x07",
    "b": "\x08",
    "f": "\x0c",
    "v": "\x0b",
    "0": "\x00",
    "d": "\x7f",
}
_CONTINUATION = re.compile(r"\\\r?\n")
_CLOSERS = {"(": ")", "[": "]", "{": "}", "<": ">"}


class DocValue(NamedTuple):
    """What a `@doc`/`@moduledoc` argument means: status, decoded text, whether it was static.
    (A NamedTuple: made for every doc, and cheaper to build than a frozen dataclass.)"""

    status: str  # doc | hidden | none
    text: str | None
    dynamic: bool = False


NO_DOC = DocValue("none", None)


def doc_value(node: Node | None, attrs: Mapping[str, str] | None = None) -> DocValue:
    """Interpret the argument node of `@doc`/`@moduledoc` (None when there is no argument).

    `attrs` holds the module's string attributes, so `#{@version}` and `@doc @text` resolve.
    """
    if node is None or node.kind_id == NIL:
        return NO_DOC
    if node.kind_id == BOOLEAN:
        return DocValue("hidden", None) if node.text == b"false" else DocValue("doc", None, True)
    text, dynamic = decode_literal(node, attrs)
    return DocValue("doc", text, dynamic)


def decode_literal(node: Node, attrs: Mapping[str, str] | None = None) -> tuple[str | None, bool]:
    """Decode a string, ~s/~S sigil or `<>` concatenation of them; (None, True) when dynamic."""
    attrs = attrs or {}
    kind = node.kind_id
    if kind == BINARY and operator_of(node) == "<>":
        left, left_dyn = decode_literal(node.child_by_field_id(LEFT), attrs)
        right, right_dyn = decode_literal(node.child_by_field_id(RIGHT), attrs)
        if left is None or right is None:
            return None, True
        return left + right, left_dyn or right_dyn
    if kind == STRING:
        return _decode_quoted(node, False, attrs)
    if kind == SIGIL and _sigil_name(node) in ("s", "S"):
        return _decode_quoted(node, _sigil_name(node) == "S", attrs)
    name = attribute_read(node)
    if name in attrs:
        return attrs[name], False
    return None, True


def attribute_read(node: Node) -> str | None:
    """`version` for the expression `@version`, else None."""
    if node.kind_id != UNARY or operator_of(node) != "@":
        return None
    operand = node.child_by_field_id(OPERAND)
    return operand.text.decode() if operand is not None and operand.kind_id == IDENTIFIER else None


def _parts(node: Node, attrs: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, text) of each piece of a quoted literal; `#{@attr}` of a known string attribute
    becomes ("value", its text)."""
    parts = []
    for child in node.children:
        kind_number = child.kind_id
        if kind_number == QUOTED_CONTENT:
            kind = "quoted_content"
        elif kind_number == ESCAPE_SEQUENCE:
            kind = "escape_sequence"
        elif kind_number == INTERPOLATION:
            kind = "interpolation"
            inner = named(child)
            if len(inner) == 1 and attribute_read(inner[0]) in attrs:
                parts.append(("value", attrs[attribute_read(inner[0])]))
                continue
        else:
            continue
        parts.append((kind, child.text.decode("utf-8", "replace")))
    return parts


def _sigil_name(node: Node) -> str:
    for child in node.children:
        if child.kind_id == SIGIL_NAME:
            return child.text.decode()
    return ""


def _decode_quoted(node: Node, raw: bool, attrs: Mapping[str, str]) -> tuple[str, bool]:
    """Join the parts of a quoted literal: heredoc indentation first, then escapes."""
    start = node.child_by_field_id(QUOTED_START)
    opener = start.text.decode() if start is not None else '"'
    parts = _parts(node, attrs)
    heredoc = len(opener) == 3
    if heredoc:
        end = node.child_by_field_id(QUOTED_END)
        indent = end.start_point.column if end is not None and not end.is_missing else 0
        parts = _strip_heredoc(parts, indent)
    elif len(parts) == 1 and parts[0][0] == "quoted_content" and "\\" not in parts[0][1]:
        return parts[0][1], False  # the common one-line doc: nothing to unescape
    closer = opener if heredoc else _CLOSERS.get(opener, opener)
    dynamic = any(kind == "interpolation" for kind, _ in parts)
    out = []
    for i, (kind, text) in enumerate(parts):
        if kind in ("interpolation", "value"):
            out.append(text)
        elif raw:
            nxt = parts[i + 1][1] if i + 1 < len(parts) else ""
            out.append(_raw_escape(text, closer, nxt) if kind == "escape_sequence" else text)
        else:
            if kind == "escape_sequence":
                text = unescape(text)
            elif "\\" in text:
                text = _CONTINUATION.sub("", text)
            out.append(text)
    return "".join(out), dynamic


def _strip_heredoc(parts: list[tuple[str, str]], indent: int) -> list[tuple[str, str]]:
    """Drop the opening line and up to `indent` spaces/tabs after every literal newline."""
    line_start, lead = _indent_patterns(indent)
    out: list[tuple[str, str]] = []
    at_line_start = False
    for i, (kind, text) in enumerate(parts):
        if kind == "quoted_content":
            if i == 0:
                newline = text.find("\n")
                text = text[newline + 1 :] if newline >= 0 else ""
                at_line_start = True
            if at_line_start:
                text = lead.sub("", text, count=1)
            text = line_start.sub("\n", text)
        out.append((kind, text))
        at_line_start = text.endswith("\n") or (i == 0 and not text)
    return out


@lru_cache(maxsize=64)
def _indent_patterns(indent: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    # At least one blank when there is any to strip: a bare newline is then left alone rather
    # than replaced by itself, which is most of the work on long docs with empty lines.
    least = min(1, indent)
    return re.compile(rf"\n[ \t]{{{least},{indent}}}"), re.compile(rf"[ \t]{{0,{indent}}}")


def _raw_escape(text: str, closer: str, following: str) -> str:
    """`~S` keeps every backslash except one escaping the closing delimiter."""
    escaped = text[1:]
    if len(closer) == 3:
        return escaped if (escaped + following).startswith(closer) else text
    return escaped if escaped == closer else text


def unescape(seq: str) -> str:
    """The value of one escape sequence as Elixir 1.14 reads it in a string."""
    body = seq[1:]
    if body in ("\n", "\r\n"):
        return ""
    if body[:1] in _SIMPLE_ESCAPES and len(body) == 1:
        return _SIMPLE_ESCAPES[body]
    if body[:1] in ("x", "u") and len(body) > 1:
        digits = body[1:].strip("{}")
        try:
            return chr(int(digits, 16))
        except ValueError:
            return body
    return body


_PROMPT = r"iex(?:\(\d+\))?>"
_EXAMPLE = re.compile(
    rf"^[ \t]*{_PROMPT}[ \t]?(?P<prompt>.*)\n?"
    r"(?P<more>(?:^[ \t]*\.\.\.(?:\(\d+\))?>.*\n?)*)"
    rf"(?P<expected>(?:^(?![ \t]*{_PROMPT})(?![ \t]*```)[ \t]*\S.*\n?)*)",
    re.MULTILINE,
)
_PROMPT_TOKEN = re.compile(_PROMPT)  # a literal prefix: found far faster than a `^` anchor
_CONTINUATION_PREFIX = re.compile(r"^[ \t]*\.\.\.(?:\(\d+\))?>[ \t]?", re.MULTILINE)


def doctests(doc: str | None) -> tuple[Doctest, ...]:
    """The `iex>` examples in a doc as (prompt, expected) pairs, in order.

    A prompt runs on over `...>` lines; the expected output is the following non-blank lines up
    to the next prompt, a blank line or a code fence. `_EXAMPLE` is tried only at lines whose
    first word is an `iex>` prompt (one loop, no generator: real docs hold many examples).
    """
    if not doc or "iex" not in doc:
        return ()
    found = []
    text = doc.replace("\r\n", "\n") if "\r" in doc else doc
    done = 0
    for token in _PROMPT_TOKEN.finditer(text):
        start = token.start()
        if start < done:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if line_start != start and text[line_start:start].strip(" \t"):
            continue
        match = _EXAMPLE.match(text, line_start)
        if match is None:
            continue
        done = match.end()
        prompt, more, expected = match.group("prompt", "more", "expected")
        if more:
            more = _CONTINUATION_PREFIX.sub("", more).rstrip("\n")
            prompt = prompt + "\n" + more if more else prompt
        lines = [line.strip() for line in expected.splitlines()]
        found.append(make(Doctest, prompt=prompt, expected="\n".join(lines)))
    return tuple(found)
