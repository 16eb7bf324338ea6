"""The Elixir grammar's node kinds and fields as integers, and the node helpers both the walk
(elixir.py) and doc decoding (docs.py) use.

Comparing ints is cheaper than reading `node.type` (a new str each time) or looking a field up
by name, and extraction does it for every statement.
"""

from __future__ import annotations

from typing import Any

from transform.extract.parse import field_id, kind_id

Node = Any  # tree_sitter.Node

CALL, IDENTIFIER, COMMENT = kind_id("call"), kind_id("identifier"), kind_id("comment")
ARGUMENTS, DO_BLOCK, KEYWORDS = kind_id("arguments"), kind_id("do_block"), kind_id("keywords")
UNARY, BINARY = kind_id("unary_operator"), kind_id("binary_operator")
STRING, SIGIL, SIGIL_NAME = kind_id("string"), kind_id("sigil"), kind_id("sigil_name")
NIL, BOOLEAN = kind_id("nil"), kind_id("boolean")
INTERPOLATION, QUOTED_CONTENT = kind_id("interpolation"), kind_id("quoted_content")
ESCAPE_SEQUENCE = kind_id("escape_sequence")
# The clauses after `do` in a do_block: `else`, `rescue`, `catch`, `after`.
SUB_BLOCKS = frozenset(
    kind_id(k) for k in ("else_block", "rescue_block", "catch_block", "after_block")
)
TARGET, KEY, VALUE = field_id("target"), field_id("key"), field_id("value")
LEFT, RIGHT, OPERATOR, OPERAND = (field_id(f) for f in ("left", "right", "operator", "operand"))
QUOTED_START, QUOTED_END = field_id("quoted_start"), field_id("quoted_end")


def text(node: Node) -> str:
    """The node's source text (invalid UTF-8 replaced, so a broken file still yields records)."""
    return node.text.decode("utf-8", "replace")


def named(node: Node) -> list[Node]:
    """Named children without comments."""
    return [c for c in node.named_children if c.kind_id != COMMENT]


def operator_of(node: Node) -> str:
    """The operator token; an anonymous node's type is its text, and cheaper to read."""
    op = node.child_by_field_id(OPERATOR)
    return op.type if op is not None else ""
