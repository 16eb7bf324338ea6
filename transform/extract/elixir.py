"""Walk an Elixir syntax tree into module and function records, the way the compiler sees them.

Pure: takes the source bytes and a tree-sitter tree, returns records. The walk keeps the current
module and the attributes waiting for the next definition (`@doc`, `@impl`, ...), names nested
modules as `Kernel.defmodule` does, and skips `quote` blocks. When the tree has parse errors it
also looks inside def bodies and ERROR nodes, so a lost `end` or a truncated file loses as little
as possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transform.extract import otp
from transform.extract.docs import NO_DOC, DocValue, decode_literal, doc_value, doctests
from transform.extract.grammar import (
    ARGUMENTS,
    BINARY,
    CALL,
    DO_BLOCK,
    IDENTIFIER,
    KEY,
    KEYWORDS,
    LEFT,
    OPERAND,
    SIGIL,
    STRING,
    SUB_BLOCKS,
    TARGET,
    UNARY,
    VALUE,
    Node,
    named,
    operator_of,
    text,
)
from transform.extract.records import FunctionRecord, ModuleRecord, Use, make

AT = ord("@")
LITERALS = frozenset({STRING, SIGIL})

DEF_KINDS = frozenset(
    {"def", "defp", "defmacro", "defmacrop", "defguard", "defguardp", "defdelegate"}
)
MODULE_KINDS = frozenset({"defmodule", "defprotocol"})
CALLBACKS = frozenset({"callback", "macrocallback"})
KEEP_PENDING = frozenset({"alias", "import", "require", "defoverridable", "use"})
# Attributes that never carry docs or anything a record needs: skipped without a closer look.
IGNORED_ATTRIBUTES = frozenset(
    {
        "type",
        "typep",
        "opaque",
        "typedoc",
        "optional_callbacks",
        "dialyzer",
        "compile",
        "derive",
        "enforce_keys",
        "before_compile",
        "after_compile",
        "on_load",
        "on_definition",
        "external_resource",
        "vsn",
        "nifs",
        "file",
    }
)


@dataclass(slots=True)
class _Pending:
    """Attributes set since the last definition; the next def (or defstruct) consumes them."""

    doc: DocValue | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    impl: str | None = None

    def reset(self) -> None:
        self.doc, self.meta, self.impl = None, {}, None


@dataclass(slots=True)
class _Fn:
    """One function being assembled from its clauses."""

    name: str
    arity: int
    kind: str
    nodes: list[Node] = field(default_factory=list)
    clauses: int = 0
    defaults: int = 0
    doc: DocValue = NO_DOC
    meta: dict[str, Any] = field(default_factory=dict)
    impl: str | None = None
    recovered: bool = False


@dataclass
class _Mod:
    """One module being assembled."""

    name: str
    node: Node
    aliases: dict[str, str]
    moduledoc: DocValue = NO_DOC
    behaviours: list[str] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    specs: list[tuple[str, int, str]] = field(default_factory=list)
    fns: dict[tuple[str, int], _Fn] = field(default_factory=dict)
    zero_arity: list[Node] = field(default_factory=list)  # `def name do quote ...` candidates
    exception: bool = False
    exception_message: bool = False  # the exception struct has a :message field
    recovered: bool = False
    attrs: dict[str, str] = field(default_factory=dict)  # string-valued module attributes


def call_name(node: Node) -> str | None:
    """`def` for `def f(x) ...`: the identifier a local call targets, else None."""
    if node.kind_id != CALL:
        return None
    target = node.child_by_field_id(TARGET)
    return target.text.decode("utf-8", "replace") if target.kind_id == IDENTIFIER else None


def split_call(node: Node) -> tuple[list[Node], Node | None]:
    """(argument nodes, do_block or None) of a call, in one pass over its children."""
    children = node.children
    if len(children) == 2 and children[1].kind_id == ARGUMENTS:  # `f(x)`, `@doc "..."`
        return named(children[1]), None
    args: list[Node] = []
    block = None
    for child in children:
        kind = child.kind_id
        if kind == ARGUMENTS:
            args = named(child)
        elif kind == DO_BLOCK:
            block = child
    return args, block


def call_args(node: Node) -> list[Node]:
    """The argument nodes of a call (keywords included as one node)."""
    return split_call(node)[0]


def keyword_name(key: Node) -> str:
    """`do` for the key `do:`; the key node's text runs on to the whitespace after the colon,
    a newline included (`do:\n  expr`)."""
    return key.text.decode("utf-8", "replace").rstrip(": \t\r\n")


def keyword_value(args: list[Node], key: str) -> Node | None:
    """The value of `key:` in a trailing keyword list, e.g. `do:` or `for:`."""
    if not args or args[-1].kind_id != KEYWORDS:
        return None
    for pair in named(args[-1]):
        k = pair.child_by_field_id(KEY)
        if k is not None and keyword_name(k) == key:
            return pair.child_by_field_id(VALUE)
    return None


def body_nodes(node: Node) -> list[Node] | None:
    """The statements of a `do ... end` block or `do:` keyword; None when there is no body."""
    return body_of(*split_call(node))


def body_of(args: list[Node], block: Node | None) -> list[Node] | None:
    """Statements of the do_block (then its else/rescue/... blocks), or of a `do:` keyword."""
    if block is not None:
        out = named(block)
        subs = [b for b in out if b.kind_id in SUB_BLOCKS]
        if not subs:
            return out
        return [n for n in out if n.kind_id not in SUB_BLOCKS] + [s for b in subs for s in named(b)]
    value = keyword_value(args, "do")
    if value is None:
        return None
    return named(value) if value.type == "block" else [value]


class Walker:
    """Walks one file's statements; `records()` gives the module and function records after."""

    def __init__(self, src: bytes, path: str, recover: bool) -> None:
        self.src = src
        self.path = path
        self.recover = recover
        self.done: list[_Mod] = []

    def walk(self, nodes: list[Node], mod: _Mod | None, pending: _Pending) -> None:
        """Visit statements in order; an ERROR after a bodiless `defmodule` becomes its body."""
        previous = None
        for node in nodes:
            if self.recover and node.type == "ERROR":
                if _bodiless_module(previous):
                    self.module(previous, mod, named(node), recovered=True)
                else:
                    self.walk(named(node), mod, pending)
            else:
                self.visit(node, mod, pending)
            previous = node

    def visit(self, node: Node, mod: _Mod | None, pending: _Pending) -> None:
        """Dispatch one statement; only calls and `@` attributes can matter."""
        kind = node.kind_id
        if kind == UNARY:
            # A statement-level unary operator starting with `@` is a module attribute (reading
            # the byte is cheaper than building the operator node).
            if mod is not None and self.src[node.start_byte] == AT:
                self.attribute(node, mod, pending)
            return
        name = call_name(node) if kind == CALL else None
        if name is None:
            return
        args, block = split_call(node)  # once here; every handler below needs them
        if name in DEF_KINDS:
            if mod is not None:
                self.definition(node, name, mod, pending, args, block)
        elif name in MODULE_KINDS:
            body = body_of(args, block)
            if body is not None:
                self.module(node, mod, body, args=args)
        elif name == "defimpl":
            self.impl_modules(node, mod, args, body_of(args, block))
        elif name in ("defstruct", "defexception"):
            self.struct(node, name, mod, pending)
        elif name == "quote":
            return
        elif name in KEEP_PENDING:
            if mod is not None and args:
                self.directive(name, mod, args)
        elif block is not None:
            self.branches(block, mod, pending)
        elif pending.doc is not None and name.startswith("def"):
            # A macro named like a definer (`defsequence :red, 31`) most likely defines the
            # documented function, so its doc must not leak onto the next visible def. Other
            # calls (`doc_since("1.9.0")`, which adds `@doc since:`) leave the doc pending.
            pending.reset()

    def branches(self, block: Node, mod: _Mod | None, pending: _Pending) -> None:
        """A module-level `if ... do ... else ... end`: the compiler sees one branch; assume the
        `do` branch (the usual case: `if Code.ensure_loaded?(Dep)` with the dependency there)."""
        self.walk([n for n in named(block) if n.kind_id not in SUB_BLOCKS], mod, pending)

    # -- modules ---------------------------------------------------------------------------

    def module(
        self,
        node: Node,
        parent: _Mod | None,
        body: list[Node],
        recovered: bool = False,
        args: list[Node] | None = None,
    ) -> None:
        """A nested `defmodule Foo.Bar` also aliases `Foo` in its parent, as the compiler does."""
        args = call_args(node) if args is None else args
        if not args:
            return
        name = module_name(args[0], parent)
        if name is None:
            return
        aliases = dict(parent.aliases) if parent else {}
        raw = text(args[0])
        if parent is not None and args[0].type == "alias" and not raw.startswith("Elixir."):
            head = raw.split(".")[0]
            parent.aliases[head] = f"{parent.name}.{head}"
        mod = _Mod(name=name, node=node, aliases=aliases, recovered=recovered)
        self.walk(body, mod, _Pending())
        self.done.append(mod)

    def impl_modules(
        self, node: Node, parent: _Mod | None, args: list[Node], body: list[Node] | None
    ) -> None:
        """`defimpl P, for: T` is module `P.T`; one module per element of a `for:` list."""
        if not args or body is None:
            return
        protocol = module_ref(args[0], parent)
        target = keyword_value(args, "for")
        if target is None:
            targets = [parent.name] if parent else []
        elif target.type == "list":
            targets = [module_ref(t, parent) for t in named(target)]
        else:
            targets = [module_ref(target, parent)]
        if protocol is None or None in targets:
            return  # a computed protocol or target: the module name is not in the source
        for t in targets:
            mod = _Mod(
                name=f"{protocol}.{t}",
                node=node,
                aliases=dict(parent.aliases) if parent else {},
                behaviours=[protocol],  # an implementation is a behaviour of its protocol
            )
            self.walk(body, mod, _Pending())
            self.done.append(mod)

    def directive(self, name: str, mod: _Mod, args: list[Node]) -> None:
        """`use X[, :opt]` and `alias ...`; the other directives only keep pending attributes."""
        if name == "use":
            option = args[1] if len(args) > 1 and args[1].type == "atom" else None
            mod.uses.append(
                Use(
                    expand(text(args[0]), mod),
                    text(option).lstrip(":") if option is not None else None,
                )
            )
        elif name == "alias":
            add_alias(mod.aliases, args)

    # -- attributes ------------------------------------------------------------------------

    def attribute(self, node: Node, mod: _Mod, pending: _Pending) -> None:
        operand = node.child_by_field_id(OPERAND)
        attr = call_name(operand) if operand is not None else None
        if attr is None or attr in IGNORED_ATTRIBUTES:
            return
        args = call_args(operand)
        value = args[0] if args else None
        if attr in ("doc", "moduledoc"):
            meta = doc_keywords(value) if value is not None and value.kind_id == KEYWORDS else None
            if attr == "moduledoc":
                if meta is None:
                    mod.moduledoc = doc_value(value, mod.attrs)
            elif meta is not None:
                pending.meta.update(meta)
            else:
                pending.doc = doc_value(value, mod.attrs)
        elif attr == "deprecated" and value is not None:
            pending.meta["deprecated"] = decode_literal(value)[0] or text(value)
        elif attr == "impl" and value is not None:
            pending.impl = text(value)
        elif attr == "behaviour" and value is not None:
            mod.behaviours.append(expand(text(value), mod))
        elif attr == "spec" and value is not None:
            head = spec_head(value)
            if head is not None:
                mod.specs.append((head[0], head[1], text(node)))
        elif attr in CALLBACKS:
            # The callback takes the pending `@doc` as its own (`Kernel.Typespec.deftypespec`);
            # left pending, it would document the next def or defstruct.
            if value is not None and spec_head(value) is not None:
                pending.doc = None
        elif value is not None and value.kind_id in LITERALS and len(args) == 1:
            decoded, dynamic = decode_literal(value, mod.attrs)
            if decoded is not None and not dynamic:
                mod.attrs[attr] = decoded

    # -- definitions -----------------------------------------------------------------------

    def definition(
        self,
        node: Node,
        kind: str,
        mod: _Mod,
        pending: _Pending,
        args: list[Node],
        block: Node | None,
    ) -> None:
        head = def_head(args[0]) if args else None
        if head is None:
            pending.reset()
            return
        name, params = head
        arity = len(params)
        fn = mod.fns.get((name, arity))
        if fn is None:
            fn = mod.fns[name, arity] = _Fn(name, arity, kind, [])
        fn.nodes.append(node)
        # `def head, expr` has a body (a `do:` keyword); a bodiless head is `def head` alone.
        has_body = block is not None or len(args) > 1 or kind == "defdelegate"
        fn.clauses += has_body
        defaults = 0
        for param in params:
            if param.kind_id == BINARY and operator_of(param) == "\\\\":
                defaults += 1
        if defaults > fn.defaults:
            fn.defaults = defaults
        if mod.recovered:
            fn.recovered = True
        if pending.doc is not None or pending.meta or pending.impl is not None:
            if pending.doc is not None:
                fn.doc = pending.doc
            fn.meta.update(pending.meta)
            if pending.impl is not None:
                fn.impl = pending.impl
            pending.reset()
        if kind == "defdelegate":
            fn.meta["delegate_to"] = delegate_target(args, name, arity)
        elif kind == "defguard":
            fn.meta["guard"] = True
        elif arity == 0 and kind == "def":
            mod.zero_arity.append(node)
        if self.recover and has_body:
            body = body_of(args, block) or []
            self.walk([n for n in body if n.has_error or _is_def(n)], mod, _Pending())

    def struct(self, node: Node, name: str, mod: _Mod | None, pending: _Pending) -> None:
        """`defstruct` consumes a pending doc: it documents `__struct__/0`."""
        if mod is None:
            return
        if name == "defexception":
            mod.exception = True
            mod.behaviours.append("Exception")  # `defexception` declares `@behaviour Exception`
            fields = call_args(node)
            mod.exception_message = mod.exception_message or (
                not fields or _has_message_field(fields[0])
            )
        if pending.doc is not None and pending.doc.status == "doc":
            fn = _Fn(
                name="__struct__",
                arity=0,
                kind="def",
                nodes=[node],
                clauses=1,
                doc=pending.doc,
                meta=dict(pending.meta),
            )
            mod.fns.setdefault(("__struct__", 0), fn)
        pending.reset()

    # -- records ---------------------------------------------------------------------------

    def records(self) -> tuple[list[ModuleRecord], list[FunctionRecord]]:
        """Records for every module walked, in source order."""
        mods = sorted(self.done, key=lambda m: m.node.start_byte)
        per_module = [self.function_records(m) for m in mods]
        modules = [self.module_record(m, fns) for m, fns in zip(mods, per_module, strict=True)]
        return modules, [f for fns in per_module for f in fns]

    def span(self, nodes: list[Node]) -> tuple[int, int, str]:
        start = end = nodes[0]
        for node in nodes[1:]:  # the first node ending last, as `max` would pick
            if node.end_byte > end.end_byte:
                end = node
        source = self.src[start.start_byte : end.end_byte].decode("utf-8", "replace")
        return start.start_point[0] + 1, end.end_point[0] + 1, source

    def function_records(self, mod: _Mod) -> list[FunctionRecord]:
        injected = otp.injected(
            [u.module for u in mod.uses] + (["defexception"] if mod.exception else [])
        )
        if mod.exception_message:
            # `defexception` defines `message/1` (`@impl true`, overridable) only for a struct
            # with a :message field; otherwise the module's own `message/1` is an ordinary def.
            injected["message", 1] = ("defexception", None)
        specs_of: dict[str, list[tuple[int, str]]] = {}
        for name, arity, spec in mod.specs:
            specs_of.setdefault(name, []).append((arity, spec))
        out = []
        for fn in mod.fns.values():  # insertion order is source order of first clauses
            status, doc, injected_by = doc_status(fn, injected)
            meta = fn.meta  # each _Fn owns its dict, and the walk is done with it
            if injected_by:
                meta["injected_by"] = injected_by
            start, end, source = self.span(fn.nodes)
            arities = (
                tuple(range(fn.arity - fn.defaults, fn.arity + 1)) if fn.defaults else (fn.arity,)
            )
            specs = (
                tuple([s for a, s in specs_of[fn.name] if a in arities])
                if fn.name in specs_of
                else ()
            )
            out.append(
                make(
                    FunctionRecord,
                    module=mod.name,
                    name=fn.name,
                    arity=fn.arity,
                    defaults=fn.defaults,
                    kind=fn.kind,
                    doc=doc.text if status == "doc" else None,
                    doc_status=status,
                    doc_meta=meta,
                    spec=specs,
                    impl=fn.impl,
                    clauses=fn.clauses,
                    file=self.path,
                    start_line=start,
                    end_line=end,
                    source=source,
                    doctests=doctests(doc.text) if status == "doc" else (),
                    has_errors=fn.recovered
                    or (self.recover and any(n.has_error for n in fn.nodes)),
                    doc_dynamic=doc.dynamic and status == "doc",
                    arities=arities,
                )
            )
        return out

    def module_record(self, mod: _Mod, functions: list[FunctionRecord]) -> ModuleRecord:
        start, end, source = self.span([mod.node])
        uses = [u.module for u in mod.uses] + otp.conventional_uses(mod.uses)
        behaviours = otp.behaviours_of(uses, mod.behaviours)
        mine = functions
        public = [(f.name, f.arity) for f in mine if f.public]
        impl = [(f.name, f.arity) for f in mine if f.impl not in (None, "false")]
        kind, callbacks = otp.classify(uses, behaviours, public, impl, source)
        has_using = any(f.name == "__using__" for f in mine)
        return make(
            ModuleRecord,
            module=mod.name,
            moduledoc=mod.moduledoc.text,
            moduledoc_status=mod.moduledoc.status,
            behaviours=behaviours,
            otp_kind=kind,
            callbacks_implemented=callbacks,
            file=self.path,
            start_line=start,
            end_line=end,
            source=source,
            has_errors=mod.recovered or mod.node.has_error,
            doc_dynamic=mod.moduledoc.dynamic,
            uses=tuple(mod.uses),
            using_options=tuple(using_options(mod)) if has_using else (),
        )


def walk_tree(src: bytes, path: str, root: Node) -> Walker:
    """Walk one parsed file (recovery on when the tree has errors); `records()` comes after."""
    walker = Walker(src, path, recover=root.has_error)
    walker.walk(named(root), None, _Pending())
    return walker


def extract_tree(
    src: bytes, path: str, root: Node
) -> tuple[list[ModuleRecord], list[FunctionRecord]]:
    """Module and function records of one parsed file."""
    return walk_tree(src, path, root).records()


def doc_status(
    fn: _Fn, injected: dict[tuple[str, int], tuple[str, str | None]]
) -> tuple[str, DocValue, str | None]:
    """(status, doc, module whose `use` supplied the doc) by the compiler's rules
    (`elixir_erl:doc_value` plus `Module.compile_doc`): an own doc wins, then the entry `use`
    injected for an overridden function, then the name and `@impl` defaults."""
    if fn.kind not in ("def", "defmacro", "defguard", "defdelegate"):
        return "none", NO_DOC, None
    if fn.doc.status != "none":
        return fn.doc.status, fn.doc, None
    if (fn.name, fn.arity) in injected:
        used, text = injected[fn.name, fn.arity]
        return ("hidden", NO_DOC, used) if text is None else ("doc", DocValue("doc", text), used)
    hidden = fn.name.startswith("_") or fn.impl not in (None, "false")
    return ("hidden" if hidden else "none"), NO_DOC, None


def module_name(node: Node, parent: _Mod | None) -> str | None:
    """The module a `defmodule` argument names, nested as `Kernel.defmodule` expands it;
    None when the name is computed (`defmodule Module.concat(...)`)."""
    raw = text(node)
    if node.type == "alias":
        if raw.startswith("Elixir."):
            return raw[len("Elixir.") :]
        return f"{parent.name}.{raw}" if parent else raw
    if node.type == "dot" and raw.startswith("__MODULE__.") and _is_alias_path(raw):
        return (parent.name if parent else "") + raw[len("__MODULE__") :]
    if node.type == "atom":
        return raw
    return None


def module_ref(node: Node, mod: _Mod | None) -> str | None:
    """A module written as an alias, `__MODULE__[.Sub]` or an atom; None when computed."""
    raw = text(node)
    if node.type in ("alias", "atom") or (raw == "__MODULE__" or _is_alias_path(raw)):
        return expand(raw, mod)
    return None


def _is_alias_path(raw: str) -> bool:
    """`__MODULE__.Sub.Mod` (a dot chain of aliases), not a call like `Module.concat(a, b)`."""
    head, _, rest = raw.partition(".")
    return head == "__MODULE__" and bool(rest) and all(p[:1].isupper() for p in rest.split("."))


def expand(raw: str, mod: _Mod | None) -> str:
    """Resolve `__MODULE__` and aliases in a module reference such as `Inner.Sub`."""
    if mod is None:
        return raw
    if raw == "__MODULE__" or raw.startswith("__MODULE__."):
        return mod.name + raw[len("__MODULE__") :]
    head, _, rest = raw.partition(".")
    if head in mod.aliases:
        return mod.aliases[head] + (f".{rest}" if rest else "")
    return raw.removeprefix("Elixir.")


def add_alias(aliases: dict[str, str], args: list[Node]) -> None:
    """Record `alias A.B`, `alias A.B, as: C` and `alias A.{B, C}`."""
    target = args[0]
    as_node = keyword_value(args, "as")
    if target.type == "alias":
        full = text(target)
        short = text(as_node) if as_node is not None else full.split(".")[-1]
        aliases[short] = full
    elif target.type == "dot" and target.child_by_field_name("right") is None:
        left = target.child_by_field_name("left")
        tuple_node = next((c for c in target.named_children if c.type == "tuple"), None)
        if left is not None and tuple_node is not None:
            for item in named(tuple_node):
                full = f"{text(left)}.{text(item)}"
                aliases[full.split(".")[-1]] = full


def def_head(node: Node) -> tuple[str, list[Node]] | None:
    """(name, parameters) of a definition head; None when the name is computed."""
    kind = node.kind_id
    if kind == BINARY and operator_of(node) == "when":
        node = node.child_by_field_id(LEFT)
        kind = node.kind_id
    if kind == IDENTIFIER:
        return text(node), []
    if kind == CALL:
        target = node.children[0]  # a call's target is always its first child
        params = call_args(node)
        if target.kind_id == IDENTIFIER:
            return text(target), params
        if target.kind_id == CALL and call_name(target) == "unquote":
            inner = call_args(target)
            if len(inner) == 1 and inner[0].type == "atom":
                return text(inner[0]).lstrip(":"), params
        return None
    if node.type == "binary_operator":
        left, op = node.child_by_field_name("left"), operator_of(node)
        if op == "//" and left.type == "binary_operator" and operator_of(left) == "..":
            return "..//", [
                left.child_by_field_name("left"),
                left.child_by_field_name("right"),
                node.child_by_field_name("right"),
            ]
        return op, [left, node.child_by_field_name("right")]
    if node.type == "unary_operator":
        return operator_of(node), [node.child_by_field_name("operand")]
    if node.type == "block":
        ops = [c for c in node.named_children if c.type == "operator_identifier"]
        return (text(ops[0]), []) if len(ops) == 1 else None
    return None


def spec_head(node: Node) -> tuple[str, int] | None:
    """(name, arity) a `@spec` describes: the head left of `when` and `::`."""
    op = operator_of(node) if node.kind_id == BINARY else ""
    if op == "when":
        node = node.child_by_field_id(LEFT)
        op = operator_of(node) if node.kind_id == BINARY else ""
    if op == "::":
        node = node.child_by_field_id(LEFT)
    head = def_head(node)
    return (head[0], len(head[1])) if head else None


def doc_keywords(node: Node) -> dict[str, Any]:
    """`@doc since: "1.2", deprecated: "..."` as a dict of decoded values."""
    out: dict[str, Any] = {}
    for pair in named(node):
        key, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
        if key is None or value is None:
            continue
        decoded = decode_literal(value)[0]
        out[keyword_name(key)] = decoded if decoded is not None else text(value)
    return out


def delegate_target(args: list[Node], name: str, arity: int) -> str:
    to, alias_as = keyword_value(args, "to"), keyword_value(args, "as")
    target = text(alias_as).lstrip(":") if alias_as is not None else name
    return f"{text(to) if to is not None else '?'}.{target}/{arity}"


def using_options(mod: _Mod) -> list[tuple[str, str]]:
    """(name, X) for each `def name do quote do use X` in a module that defines `__using__`."""
    found = []
    for node in mod.zero_arity:
        name = def_head(call_args(node)[0])
        for stmt in body_nodes(node) or []:
            if call_name(stmt) == "quote":
                for inner in body_nodes(stmt) or []:
                    if call_name(inner) == "use" and call_args(inner):
                        found.append((name[0] if name else "", text(call_args(inner)[0])))
    return found


def _has_message_field(fields: Node) -> bool:
    """Whether `defexception` fields (`[:message, ...]`, `message: "..."`) include :message;
    True when they are computed and cannot be read (the common case)."""
    if fields.type not in ("list", "keywords"):
        return True
    items = named(fields)
    if fields.type == "list" and items and items[-1].type == "keywords":
        items = items[:-1] + named(items[-1])
    for item in items:
        if item.type == "atom" and text(item) == ":message":
            return True
        if item.type == "pair":
            key = item.child_by_field_id(KEY)
            if key is not None and keyword_name(key) == "message":
                return True
    return False


def _bodiless_module(node: Node | None) -> bool:
    return node is not None and call_name(node) in MODULE_KINDS and body_nodes(node) is None


def _is_def(node: Node) -> bool:
    return call_name(node) in DEF_KINDS | MODULE_KINDS or (
        node.type == "unary_operator" and operator_of(node) == "@"
    )
