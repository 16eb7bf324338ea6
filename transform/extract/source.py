"""One file's bytes to a FileResult: input checks, parse, walk; never raises on bad input."""

from __future__ import annotations

from transform.extract.elixir import extract_tree
from transform.extract.grammar import Node
from transform.extract.parse import parse
from transform.extract.records import FileResult

DEFAULT_MAX_BYTES = 1 << 20
_SNIFF = 8192


def input_problems(data: bytes, max_bytes: int) -> list[str]:
    """Why a file cannot (fully) be extracted, before parsing it."""
    if len(data) > max_bytes:
        return ["too_large"]
    if not data.strip():
        return ["empty"]
    if b"\x00" in data[:_SNIFF]:
        return ["binary"]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return ["not_utf8"]
    return []


def extract_source(data: bytes, path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> FileResult:
    """Records of one Elixir file. Problems are reported in `FileResult.problems`, not raised."""
    problems = input_problems(data, max_bytes)
    if problems and problems[0] in ("too_large", "empty", "binary"):
        return FileResult(path=path, problems=tuple(problems), size=len(data))
    try:
        tree = parse(data)
        root = tree.root_node
        modules, functions = extract_tree(data, path, root)
    except RecursionError:
        return FileResult(path=path, problems=(*problems, "too_deep"), size=len(data))
    except Exception as exc:  # a walker bug on odd input must cost one file, not the batch
        return FileResult(
            path=path, problems=(*problems, f"internal_error: {type(exc).__name__}"), size=len(data)
        )
    if root.has_error:
        problems.append("parse_errors")
        if looks_truncated(root, data):
            problems.append("truncated")
    return FileResult(
        path=path,
        modules=tuple(modules),
        functions=tuple(functions),
        has_errors=root.has_error,
        problems=tuple(problems),
        size=len(data),
    )


def looks_truncated(root: Node, data: bytes) -> bool:
    """A MISSING token, or an ERROR running to the end of the file, means the file was cut."""
    end = len(data.rstrip())
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or (node.is_error and node.end_byte >= end):
            return True
        stack.extend(c for c in node.children if c.has_error or c.is_missing)
    return False
