"""Parses (and writes) `metadata.config`: Erlang terms in `file:consult` form.

Pure. Handles binaries (`<<"x">>`, `<<"é"/utf8>>`), charlists, atoms, numbers, lists, tuples and
maps, the two `requirements` shapes (keyed and legacy list-of-proplists) and a missing
`build_tools` (guessed from the file list as hex_core does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harvest.hex.errors import MetadataError


class Atom(str):
    """An Erlang atom, kept apart from strings so `true`/`false` can become booleans."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|%[^\n]*)
  | <<\s*(?:"(?P<bin>(?:[^"\\]|\\.)*)"\s*(?P<utf8>/\s*utf8\s*)?>>)
  | (?P<open_bin><<)
  | (?P<close_bin>>>)
  | (?P<map_open>\#\{)
  | (?P<arrow>=>)
  | (?P<punct>[\[\]{},./])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<qatom>'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+(?:[eE][-+]?\d+)?)?)
  | (?P<atom>[a-z][A-Za-z0-9_@]*)
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {
    "b": "\b",
    "d": "\x7f",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_ESCAPE = re.compile(r"\\(x\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|[0-7]{1,3}|\^.|.)", re.DOTALL)


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc.startswith("x{"):
            return chr(int(esc[2:-1], 16))
        if esc.startswith("x") and len(esc) == 3:
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567":
            return chr(int(esc, 8))
        if esc.startswith("^"):
            return chr(ord(esc[1]) % 32)
        return _ESCAPES.get(esc, esc)

    return _ESCAPE.sub(repl, body)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise MetadataError(f"unexpected {text[pos : pos + 20]!r} at offset {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        if kind in ("bin", "utf8"):  # the usual one-string binary, whole: one token
            utf8 = m.group("utf8") is not None
            tokens.append(("bin_utf8" if utf8 else "bin", m.group("bin")))
        else:
            tokens.append((kind, m.group()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof" or (value is not None and tok[1] != value):
            raise MetadataError(f"expected {value or 'a term'}, found {tok[1] or 'end of file'!r}")
        self.i += 1
        return tok

    def forms(self) -> list[Any]:
        out = []
        while self.peek()[0] != "eof":
            out.append(self.term())
            self.take(".")
        return out

    def term(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return list(_unescape(value[1:-1]))  # an Erlang string is a charlist
        if kind == "qatom":
            return Atom(_unescape(value[1:-1]))
        if kind == "atom":
            return {"true": True, "false": False}.get(value, Atom(value))
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "bin":
            return _binary_text(_unescape(value), utf8=False)
        if kind == "bin_utf8":
            return _unescape(value)
        if kind == "open_bin":
            return self.binary()
        if value in ("[", "{"):
            return self.sequence("]" if value == "[" else "}", list if value == "[" else tuple)
        if kind == "map_open":
            return self.map()
        raise MetadataError(f"unexpected {value!r}")

    def sequence(self, close: str, build: type) -> Any:
        items = []
        while self.peek()[1] != close:
            items.append(self.term())
            if self.peek()[1] != close:
                self.take(",")
        self.take(close)
        return build(items)

    def map(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        while self.peek()[1] != "}":
            key = self.term()
            self.take("=>")
            out[_hashable(key)] = self.term()
            if self.peek()[1] != "}":
                self.take(",")
        self.take("}")
        return out

    def binary(self) -> str:
        """`<<"text">>` is one byte per char; `<<"text"/utf8>>` is UTF-8 encoded."""
        parts: list[bytes] = []
        while self.peek()[0] != "close_bin":
            kind, value = self.take()
            if kind != "string":
                raise MetadataError(f"unsupported binary segment {value!r}")
            text = _unescape(value[1:-1])
            if self.peek()[1] == "/":
                self.take("/")
                self.take("utf8")
                parts.append(text.encode("utf-8"))
            else:
                parts.append(_latin1(text))
            if self.peek()[1] == ",":
                self.take(",")
        self.take(">>")
        return _decode(b"".join(parts))


def _latin1(text: str) -> bytes:
    """A segment without /utf8 stores each character's low byte, as Erlang does."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return bytes(ord(c) & 0xFF for c in text)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _binary_text(text: str, *, utf8: bool) -> str:
    """The text of a one-segment binary: `<<"x"/utf8>>` is the text itself; `<<"x">>` holds
    bytes, read back as UTF-8 (Latin-1 if they are not), like every binary here."""
    if utf8 or text.isascii():
        return text
    return _decode(_latin1(text))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def parse_terms(text: str) -> list[Any]:
    """All `Term.` forms of a consult file."""
    return _Parser(text).forms()


def _text(value: Any) -> str:
    if isinstance(value, list):  # charlist
        return "".join(value)
    return str(value)


def _proplist(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {_text(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {
            _text(item[0]): item[1] for item in value if isinstance(item, tuple) and len(item) == 2
        }
    return {}


@dataclass(frozen=True)
class Metadata:
    name: str
    version: str
    app: str | None = None
    description: str | None = None
    licenses: tuple[str, ...] = ()
    links: dict[str, str] = field(default_factory=dict)
    build_tools: tuple[str, ...] = ()
    elixir: str | None = None
    files: tuple[str, ...] = ()
    requirements: tuple[dict[str, Any], ...] = ()


def _requirements(value: Any) -> tuple[dict[str, Any], ...]:
    """Normalise both shapes to dicts with name, app, requirement, optional, repository."""
    out = []
    items: list[tuple[str | None, dict[str, Any]]] = []
    if isinstance(value, dict):
        items = [(_text(k), _proplist(v)) for k, v in value.items()]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, tuple) and len(item) == 2:  # current: {Name, Props}
                items.append((_text(item[0]), _proplist(item[1])))
            else:  # legacy: a proplist carrying its own name
                items.append((None, _proplist(item)))
    for name, props in items:
        dep_name = name or _text(props.get("name", ""))
        out.append(
            {
                "name": dep_name,
                "app": _text(props["app"]) if "app" in props else dep_name,
                "requirement": _text(props.get("requirement", "")) or ">= 0.0.0",
                "optional": bool(props.get("optional", False)),
                "repository": _text(props["repository"]) if "repository" in props else None,
            }
        )
    return tuple(out)


def guess_build_tools(files: tuple[str, ...]) -> tuple[str, ...]:
    """hex_core's rule for metadata without build_tools: look at top-level files."""
    top = {f for f in files if "/" not in f}
    tools = []
    if "mix.exs" in top:
        tools.append("mix")
    if "rebar.config" in top or "rebar" in top:
        tools.append("rebar3")
    if "Makefile" in top:
        tools.append("make")
    return tuple(tools)


def parse_metadata(raw: bytes) -> Metadata:
    """`metadata.config` bytes -> Metadata; UTF-8 with a Latin-1 fallback, as hex_core reads it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    pairs = {}
    for form in parse_terms(text):
        if not (isinstance(form, tuple) and len(form) == 2):
            raise MetadataError(f"top-level form is not a {{key, value}} pair: {form!r:.80}")
        pairs[_text(form[0])] = form[1]
    if "name" not in pairs or "version" not in pairs:
        raise MetadataError("metadata.config lacks name or version")
    files = tuple(_text(f) for f in pairs.get("files", []) if not isinstance(f, tuple))
    tools = tuple(_text(t) for t in pairs.get("build_tools", [])) or guess_build_tools(files)
    return Metadata(
        name=_text(pairs["name"]),
        version=_text(pairs["version"]),
        app=_text(pairs["app"]) if "app" in pairs else None,
        description=_text(pairs["description"]) if "description" in pairs else None,
        licenses=tuple(_text(x) for x in pairs.get("licenses", [])),
        links={k: _text(v) for k, v in _proplist(pairs.get("links", [])).items()},
        build_tools=tools,
        elixir=_text(pairs["elixir"]) if "elixir" in pairs else None,
        files=files,
        requirements=_requirements(pairs.get("requirements", [])),
    )


def _binary(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'<<"{escaped}"/utf8>>' if not text.isascii() else f'<<"{escaped}">>'


def _pair(key: str, value: str) -> str:
    return "{" + _binary(key) + "," + value + "}."


def _list(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def format_metadata(meta: Metadata) -> str:
    """The inverse of parse_metadata in the current (keyed requirements) shape."""
    reqs = [
        "{"
        + _binary(r["name"])
        + ","
        + _list(
            [
                '{<<"app">>,' + _binary(r["app"]) + "}",
                '{<<"optional">>,' + str(r["optional"]).lower() + "}",
                '{<<"requirement">>,' + _binary(r["requirement"]) + "}",
            ]
        )
        + "}"
        for r in meta.requirements
    ]
    links = ["{" + _binary(k) + "," + _binary(v) + "}" for k, v in meta.links.items()]
    lines = [
        _pair("name", _binary(meta.name)),
        _pair("version", _binary(meta.version)),
        _pair("app", _binary(meta.app or meta.name)),
        _pair("description", _binary(meta.description or "")),
        _pair("licenses", _list([_binary(x) for x in meta.licenses])),
        _pair("links", _list(links)),
        _pair("files", _list([_binary(f) for f in meta.files])),
        _pair("requirements", _list(reqs)),
    ]
    if meta.build_tools:
        lines.append(_pair("build_tools", _list([_binary(t) for t in meta.build_tools])))
    if meta.elixir:
        lines.append(_pair("elixir", _binary(meta.elixir)))
    return "\n".join(lines) + "\n"
