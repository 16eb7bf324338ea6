"""Instruction pairs from extracted records: doc_to_code, code_to_doc, otp_module, doctest_to_code.

Pure templates, no model. Each task has several phrasings; a row's phrasing is chosen by a
seeded hash of its provenance, so the choice is stable across builds yet varied across rows.
Records are the extractor's `to_dict()` output (field names as in docs/architecture.md).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from transform.steps.base import Row
from transform.steps.text import squash_space, stable_choice

Record = dict[str, Any]

DOC_TO_CODE = [
    "Implement the Elixir function `{qualified}`.\n\n{doc}{spec}{context}",
    "Write `{name}/{arity}` for the Elixir module `{module}` as documented:\n\n"
    "{doc}{spec}{context}",
    "In Elixir, define `{qualified}` so that it does what its documentation says.\n\n"
    "Documentation:\n{doc}{spec}{context}",
    "Here is the @doc of `{qualified}`:\n\n{doc}{spec}{context}\nWrite the implementation.",
]
CODE_TO_DOC = [
    "Write the @doc for this Elixir function from `{module}`:\n\n{code}",
    "Document `{qualified}`. Explain what it does for a reader of the module docs.\n\n{code}",
    "What does this Elixir function do? Answer as its documentation.\n\n{code}",
]
OTP_MODULE = [
    "Create an Elixir {kind} module `{module}` that does the following: {summary}{callbacks}",
    "Write an Elixir module `{module}` implementing the {kind} behaviour.\n\n{summary}{callbacks}",
    "Implement `{module}`, a {kind} in Elixir, from its documentation:\n\n{moduledoc}{callbacks}",
]
DOCTEST_TO_CODE = [
    "Write the Elixir function `{qualified}` so that these examples pass:\n\n{examples}",
    "Implement `{name}/{arity}` in `{module}`. Its doctests are the specification:\n\n{examples}",
    "Given these iex examples, write `{qualified}` in Elixir:\n\n{examples}",
]


def reindent(source: str, first_line: str) -> str:
    """Record source dedented as a block: its first line lost its indent to the slice, so put
    back the indent of the line it starts on, then dedent everything together."""
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    return textwrap.dedent(indent + source)


def fence(code: str) -> str:
    return f"```elixir\n{code.rstrip()}\n```"


def summary(doc: str) -> str:
    """First paragraph of a doc, on one line."""
    return squash_space(doc.strip().split("\n\n", 1)[0])


def qualified(fn: Record) -> str:
    return f"{fn['module']}.{fn['name']}/{fn['arity']}"


def pick(templates: list[str], seed: int, *key: object) -> str:
    return templates[stable_choice(len(templates), seed, *key)]


def function_prompt_parts(fn: Record, moduledoc: str | None) -> dict[str, str]:
    """Fields shared by the function templates."""
    spec = fn.get("spec")
    spec = "\n".join(spec) if isinstance(spec, list | tuple) else spec
    context = f"\n\nModule `{fn['module']}`: {summary(moduledoc)}" if moduledoc else ""
    return {
        "qualified": qualified(fn),
        "name": str(fn["name"]),
        "arity": str(fn["arity"]),
        "module": str(fn["module"]),
        "doc": (fn.get("doc") or "").strip(),
        "spec": f"\n\nTypespec:\n{fence(spec)}" if spec else "",
        "context": context,
        "code": fence(fn["source"]),
    }


def doc_to_code(fn: Record, parts: dict[str, str], seed: int) -> tuple[str, str] | None:
    return pick(DOC_TO_CODE, seed, "doc_to_code", *_key(fn)).format(**parts), parts["code"]


def code_to_doc(fn: Record, parts: dict[str, str], seed: int) -> tuple[str, str] | None:
    doc = parts["doc"]
    if squash_space(doc)[:80] in squash_space(fn["source"]):
        return None  # the code quotes its own doc: the answer would be in the prompt
    return pick(CODE_TO_DOC, seed, "code_to_doc", *_key(fn)).format(**parts), doc


def doctest_text(doctests: list[Any]) -> str:
    """Doctests as iex transcript lines: Doctest records, dicts or (prompt, expected) pairs."""
    lines = []
    for test in doctests:
        if isinstance(test, dict):
            prompt, expected = test.get("prompt"), test.get("expected")
        elif hasattr(test, "prompt"):
            prompt, expected = test.prompt, test.expected
        else:
            prompt, expected = test[0], test[1]
        lines += [
            f"iex> {p}" if i == 0 else f"...> {p}" for i, p in enumerate(str(prompt).splitlines())
        ]
        lines.append(str(expected))
    return "\n".join(lines)


def doctest_to_code(fn: Record, parts: dict[str, str], seed: int) -> tuple[str, str] | None:
    if not fn.get("doctests"):
        return None
    fields = {**parts, "examples": fence(doctest_text(fn["doctests"]))}
    return pick(DOCTEST_TO_CODE, seed, "doctest_to_code", *_key(fn)).format(**fields), parts["code"]


def _key(rec: Record) -> tuple[object, ...]:
    return rec.get("module"), rec.get("name"), rec.get("arity"), rec.get("start_line")


FUNCTION_TASKS: dict[str, Callable[[Record, dict[str, str], int], tuple[str, str] | None]] = {
    "doc_to_code": doc_to_code,
    "code_to_doc": code_to_doc,
    "doctest_to_code": doctest_to_code,
}


def function_rows(
    fn: Record, moduledoc: str | None, tasks: list[str], seed: int, doc_ok: bool
) -> Iterator[Row]:
    """The rows one function yields; doc-based tasks only when its doc passed the checks."""
    parts = function_prompt_parts(fn, moduledoc)
    for task in tasks:
        builder = FUNCTION_TASKS.get(task)
        if builder is None or (task != "doctest_to_code" and not doc_ok):
            continue
        pair = builder(fn, parts, seed)
        if pair:
            yield _row(task, pair, fn)


def callback_names(callbacks: list[Any]) -> list[str]:
    """Callbacks as `name/arity`, whatever shape the extractor gives them in."""
    names = []
    for cb in callbacks or []:
        if isinstance(cb, dict):
            names.append(f"{cb.get('name')}/{cb.get('arity')}")
        elif isinstance(cb, list | tuple):
            names.append(f"{cb[0]}/{cb[1]}")
        else:
            names.append(str(cb))
    return sorted(set(names))


def otp_module_row(mod: Record, seed: int) -> Row | None:
    """The otp_module row of a module with an OTP behaviour and a usable moduledoc."""
    kind = mod.get("otp_kind")
    moduledoc = (mod.get("moduledoc") or "").strip()
    if not kind or not moduledoc:
        return None
    callbacks = callback_names(mod.get("callbacks_implemented") or [])
    fields = {
        "kind": "".join(part.capitalize() for part in str(kind).split("_")),
        "module": str(mod["module"]),
        "summary": summary(moduledoc),
        "moduledoc": moduledoc,
        "callbacks": f"\n\nCallbacks to implement: {', '.join(callbacks)}." if callbacks else "",
    }
    prompt = pick(OTP_MODULE, seed, "otp_module", mod.get("module"), mod.get("start_line"))
    return _row("otp_module", (prompt.format(**fields), fence(mod["source"])), mod)


def _row(task: str, pair: tuple[str, str], rec: Record) -> Row:
    return {
        "task": task,
        "prompt": pair[0],
        "completion": pair[1],
        "start_line": int(rec.get("start_line") or 0),
        "end_line": int(rec.get("end_line") or 0),
    }
