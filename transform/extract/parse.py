"""Bytes to a tree-sitter tree: the only place that imports tree-sitter.

The parser is built once per process and reused, because building it costs more than parsing a
small file. Callers always pass bytes: node offsets are UTF-8 byte offsets into exactly that input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

_PARSER: tree_sitter.Parser | None = None


def parser() -> tree_sitter.Parser:
    """The process-wide Elixir parser (created on first use)."""
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_elixir

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_elixir.language()))
    return _PARSER


def parse(data: bytes) -> tree_sitter.Tree:
    """Parse Elixir source bytes into a concrete syntax tree (never raises on bad syntax)."""
    return parser().parse(data)


def kind_id(name: str) -> int:
    """The grammar's number for a named node kind (`call`, `identifier`, ...)."""
    return parser().language.id_for_node_kind(name, True)


def field_id(name: str) -> int:
    """The grammar's number for a field name (`target`, `operator`, ...)."""
    number = parser().language.field_id_for_name(name)
    if number is None:
        raise ValueError(f"no field {name!r} in the Elixir grammar")
    return number
