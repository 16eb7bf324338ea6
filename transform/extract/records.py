"""The records extraction produces: frozen dataclasses that serialise to JSON-safe dicts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar


def _jsonable(value: Any) -> Any:
    """Dataclasses to dicts and tuples to lists, recursively, so `json.dumps` accepts the result."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


R = TypeVar("R")


def make(cls: type[R], **fields: Any) -> R:
    """`cls(**fields)` for a frozen record, minus the per-field `object.__setattr__` calls of a
    frozen dataclass's `__init__` (half the cost of a record, and a file makes hundreds).
    Every field must be given: defaults are not applied. Pickle rebuilds records the same way.
    """
    record = object.__new__(cls)
    record.__dict__.update(fields)
    return record


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with the field names as keys."""
        return _jsonable(self)


@dataclass(frozen=True)
class Doctest(_Serialisable):
    """One `iex>` example from a doc: the prompt lines and the expected output (may be empty)."""

    prompt: str
    expected: str


@dataclass(frozen=True)
class Use(_Serialisable):
    """A `use X` or `use X, :option` call; `option` is the atom when the argument is one."""

    module: str
    option: str | None = None


@dataclass(frozen=True)
class ModuleRecord(_Serialisable):
    """A module as the compiler names it, with its moduledoc and OTP classification."""

    module: str
    moduledoc: str | None
    moduledoc_status: str  # doc | hidden | none
    behaviours: tuple[str, ...]
    otp_kind: str | None
    callbacks_implemented: tuple[str, ...]  # "name/arity"
    file: str
    start_line: int
    end_line: int
    source: str
    has_errors: bool = False
    doc_dynamic: bool = False
    uses: tuple[Use, ...] = ()
    # For modules defining `__using__`: `def <option> do quote do use X` as (option, X) pairs,
    # which lets a project's `use MyAppWeb, :live_view` resolve to Phoenix.LiveView.
    using_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FunctionRecord(_Serialisable):
    """One function, macro or guard: all clauses of (module, name, highest arity) merged."""

    module: str
    name: str
    arity: int
    defaults: int
    kind: str  # def defp defmacro defmacrop defguard defguardp defdelegate
    doc: str | None
    doc_status: str  # doc | hidden | none
    doc_meta: dict[str, Any]
    spec: tuple[str, ...]
    impl: str | None
    clauses: int
    file: str
    start_line: int
    end_line: int
    source: str
    doctests: tuple[Doctest, ...] = ()
    has_errors: bool = False
    doc_dynamic: bool = False
    # Every arity the function answers: `arity - defaults .. arity`.
    arities: tuple[int, ...] = field(default=())

    @property
    def public(self) -> bool:
        """True when the compiler puts it in the docs chunk (def, defmacro, defguard, delegate)."""
        return self.kind in PUBLIC_KINDS


PUBLIC_KINDS = frozenset({"def", "defmacro", "defguard", "defdelegate"})


@dataclass(frozen=True)
class FileResult(_Serialisable):
    """Everything extracted from one file, plus why anything could not be (`problems`)."""

    path: str
    modules: tuple[ModuleRecord, ...] = ()
    functions: tuple[FunctionRecord, ...] = ()
    has_errors: bool = False
    problems: tuple[str, ...] = ()
    size: int = 0
