"""Classify modules as OTP/Phoenix kinds: behaviours, `otp_kind` and the callbacks they implement.

Pure. `classify` works on one module; `resolve_project` is the second pass that follows
`use MyAppWeb, :live_view` through the project's own `MyAppWeb.__using__` to `Phoenix.LiveView`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from transform.extract.records import FileResult, FunctionRecord, ModuleRecord, Use

_GENSERVER = (
    "init/1",
    "handle_call/3",
    "handle_cast/2",
    "handle_info/2",
    "handle_continue/2",
    "terminate/2",
    "code_change/3",
    "format_status/1",
    "format_status/2",
)

# What `X` names: (otp_kind, does `use X` add `@behaviour X`, callbacks as "name/arity").
KINDS: dict[str, tuple[str, bool, frozenset[str]]] = {
    "GenServer": ("gen_server", True, frozenset(_GENSERVER)),
    ":gen_server": ("gen_server", False, frozenset(_GENSERVER)),
    "Supervisor": ("supervisor", True, frozenset({"init/1"})),
    ":supervisor": ("supervisor", False, frozenset({"init/1"})),
    "DynamicSupervisor": ("dynamic_supervisor", True, frozenset({"init/1"})),
    "Application": (
        "application",
        True,
        frozenset({"start/2", "stop/1", "prep_stop/1", "start_phase/3", "config_change/3"}),
    ),
    ":application": ("application", False, frozenset({"start/2", "stop/1"})),
    "Agent": ("agent", False, frozenset()),
    "Task": ("task", False, frozenset()),
    "Registry": ("registry", False, frozenset()),
    "GenStage": (
        "gen_stage",
        True,
        frozenset(
            {
                "init/1",
                "handle_demand/2",
                "handle_events/3",
                "handle_subscribe/4",
                "handle_cancel/3",
                "format_discarded/2",
                "handle_call/3",
                "handle_cast/2",
                "handle_info/2",
                "terminate/2",
                "code_change/3",
                "format_status/2",
            }
        ),
    ),
    "Phoenix.LiveView": (
        "phoenix_live_view",
        True,
        frozenset(
            {
                "mount/3",
                "render/1",
                "handle_params/3",
                "handle_event/3",
                "handle_info/2",
                "handle_call/3",
                "handle_cast/2",
                "handle_async/3",
                "terminate/2",
            }
        ),
    ),
    "Phoenix.LiveComponent": (
        "phoenix_live_component",
        True,
        frozenset(
            {"mount/1", "update/2", "update_many/1", "render/1", "handle_event/3", "handle_async/3"}
        ),
    ),
    "Phoenix.Channel": (
        "phoenix_channel",
        True,
        frozenset(
            {
                "join/3",
                "handle_in/3",
                "handle_out/3",
                "handle_info/2",
                "handle_call/3",
                "handle_cast/2",
                "code_change/3",
                "terminate/2",
            }
        ),
    ),
    "Phoenix.Controller": ("phoenix_controller", False, frozenset()),
}

# Functions a `use X` injects as `defoverridable`. A user override without its own `@doc`
# keeps the injected entry (Elixir 1.14 `Module.compile_doc`): None is `@doc false` (hidden),
# a string is the injected doc text, byte for byte as 1.14 stores it.
_CHILD_SPEC_DOC = (
    "Returns a specification to start this module under a supervisor.\n\nSee `Supervisor`.\n"
)
_TASK_CHILD_SPEC_DOC = (
    "Returns a specification to start this module under a supervisor.\n\n"
    "`arg` is passed as the argument to `Task.start_link/1` in the `:start` field\n"
    "of the spec.\n\n"
    "For more information, see the `Supervisor` module,\n"
    "the `Supervisor.child_spec/2` function and the `t:Supervisor.child_spec/0` type.\n"
)
INJECTED: dict[str, dict[tuple[str, int], str | None]] = {
    "GenServer": {
        ("child_spec", 1): _CHILD_SPEC_DOC,
        ("handle_call", 3): None,
        ("handle_cast", 2): None,
        ("handle_info", 2): None,
        ("terminate", 2): None,
        ("code_change", 3): None,
    },
    "Supervisor": {("child_spec", 1): _CHILD_SPEC_DOC},
    "DynamicSupervisor": {("child_spec", 1): _CHILD_SPEC_DOC},
    "Agent": {("child_spec", 1): _CHILD_SPEC_DOC},
    "Task": {("child_spec", 1): _TASK_CHILD_SPEC_DOC},
    "Application": {("stop", 1): None},
    "GenStage": {("child_spec", 1): None},
    # and `message/1` when the struct has a :message field (see `Walker.function_records`)
    "defexception": {("exception", 1): None},
}


# Behaviours that `use X` declares for modules outside KINDS, as each library's `__using__`
# writes them (`Mix.Task` checked against the compiled beam, the others against the source).
USE_BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "Mix.Task": ("Mix.Task",),
    "Plug.Builder": ("Plug",),
    "Plug.Router": ("Plug",),
    "Ecto.Type": ("Ecto.Type",),
    "Oban.Worker": ("Oban.Worker",),
}


# `use MyAppWeb, :live_view` as `mix phx.new` generates the web module (`def live_view do quote
# do use Phoenix.LiveView ...`): what the option stands for when the web module's own
# `__using__` is not at hand (the snapshot build extracts file by file). `resolve_project`
# reads the real web module where the project is given, and that wins.
PHOENIX_WEB_OPTIONS: dict[str, str] = {
    "live_view": "Phoenix.LiveView",
    "live_component": "Phoenix.LiveComponent",
    "controller": "Phoenix.Controller",
    "channel": "Phoenix.Channel",
}


def conventional_uses(uses: Iterable[Use]) -> list[str]:
    """The Phoenix module behind each `use SomethingWeb, :option` of the generator's shape."""
    return [
        PHOENIX_WEB_OPTIONS[u.option]
        for u in uses
        if u.option in PHOENIX_WEB_OPTIONS and u.module.rpartition(".")[2].endswith("Web")
    ]


def behaviours_of(uses: Iterable[str], declared: Iterable[str]) -> tuple[str, ...]:
    """`@behaviour` attributes (with those `defexception` and `defimpl` declare) plus the
    behaviours `use X` adds, without duplicates, in order."""
    found = []
    for u in uses:
        if u in KINDS and KINDS[u][1]:
            found.append(u)
        found.extend(USE_BEHAVIOURS.get(u, ()))
    return tuple(dict.fromkeys([*found, *declared]))


def classify(
    uses: Sequence[str],
    behaviours: Sequence[str],
    public: Iterable[tuple[str, int]],
    impl: Iterable[tuple[str, int]] = (),
    source: str = "",
) -> tuple[str | None, tuple[str, ...]]:
    """(otp_kind, callbacks_implemented) from what a module uses, declares and defines."""
    names = [x for x in (*uses, *behaviours) if x in KINDS]
    kind = KINDS[names[0]][0] if names else None
    if kind is None and ("Registry.start_link" in source or "Registry.child_spec" in source):
        kind = "registry"
    callbacks = frozenset().union(*(KINDS[x][2] for x in names))
    public = list(public)
    done = {f"{n}/{a}" for n, a in public if f"{n}/{a}" in callbacks} if callbacks else set()
    done |= {f"{n}/{a}" for n, a in impl}
    if kind == "phoenix_controller":
        done |= {f"{n}/{a}" for n, a in public if a == 2}
    return kind, tuple(sorted(done))


def injected(uses: Iterable[str]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(name, arity) -> (the `use`d module, injected doc or None for hidden) in this module."""
    return {key: (u, doc) for u in uses for key, doc in INJECTED.get(u, {}).items()}


def resolve_project(results: Sequence[FileResult]) -> list[FileResult]:
    """Second pass over one project: resolve `use Web, :opt` through `Web.__using__` quotes."""
    options = {
        m.module: dict(m.using_options) for r in results for m in r.modules if m.using_options
    }
    if not options:
        return list(results)
    return [_resolve_file(r, options) for r in results]


def _resolve_file(result: FileResult, options: dict[str, dict[str, str]]) -> FileResult:
    modules = tuple(_resolve_module(m, result.functions, options) for m in result.modules)
    return dataclasses.replace(result, modules=modules)


def _resolve_module(
    module: ModuleRecord, functions: Sequence[FunctionRecord], options: dict[str, dict[str, str]]
) -> ModuleRecord:
    extra = [
        options[u.module][u.option]
        for u in module.uses
        if u.option is not None and u.option in options.get(u.module, {})
    ]
    if not extra:
        return module
    uses = [*extra, *(u.module for u in module.uses)]
    mine = [f for f in functions if f.module == module.module]
    public = [(f.name, f.arity) for f in mine if f.public]
    impl = [(f.name, f.arity) for f in mine if f.impl not in (None, "false")]
    behaviours = behaviours_of(uses, module.behaviours)
    kind, callbacks = classify(uses, behaviours, public, impl, module.source)
    new_uses = module.uses + tuple(Use(x) for x in extra)
    return dataclasses.replace(
        module, behaviours=behaviours, otp_kind=kind, callbacks_implemented=callbacks, uses=new_uses
    )
