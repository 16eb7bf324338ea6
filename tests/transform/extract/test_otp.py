"""Behaviours, otp_kind, callbacks, and `use MyAppWeb, :live_view` resolution."""

from __future__ import annotations

from pathlib import Path

from transform.extract import extract_source, resolve_project
from transform.extract.records import Use


def modules_of(path: Path) -> dict:
    result = resolve_project([extract_source(path.read_bytes(), str(path))])[0]
    return {m.module: m for m in result.modules}


def test_stdlib_behaviours(fixtures_dir: Path) -> None:
    mods = modules_of(fixtures_dir / "project" / "otp.ex")
    server = mods["Fixtures.Server"]
    assert (server.otp_kind, server.behaviours) == ("gen_server", ("GenServer",))
    assert "init/1" in server.callbacks_implemented
    assert "handle_call/3" in server.callbacks_implemented
    kinds = {name: m.otp_kind for name, m in mods.items()}
    assert kinds == {
        "Fixtures.Server": "gen_server",
        "Fixtures.Sup": "supervisor",
        "Fixtures.DynSup": "dynamic_supervisor",
        "Fixtures.App": "application",
        "Fixtures.Counter": "agent",
        "Fixtures.Job": "task",
        "Fixtures.Names": "registry",
        "Fixtures.Worker": "gen_server",
        "Fixtures.OwnChildSpec": "gen_server",
        "Fixtures.OwnTaskSpec": "task",
        "Fixtures.DocumentedChildSpec": "agent",
    }
    assert mods["Fixtures.Counter"].behaviours == ()


def test_phoenix_use_resolves_through_the_web_module(fixtures_dir: Path) -> None:
    mods = modules_of(fixtures_dir / "uncompiled" / "phoenix_app.ex")
    live = mods["MyAppWeb.PageLive"]
    assert live.otp_kind == "phoenix_live_view"
    assert live.behaviours == ("Phoenix.LiveView",)
    assert live.callbacks_implemented == ("handle_event/3", "mount/3", "render/1")
    controller = mods["MyAppWeb.PageController"]
    assert controller.otp_kind == "phoenix_controller"
    assert controller.callbacks_implemented == ("index/2", "show/2")
    assert mods["MyAppWeb.RoomChannel"].otp_kind == "phoenix_channel"
    assert mods["MyApp.Producer"].otp_kind == "gen_stage"
    assert mods["MyAppWeb"].otp_kind is None


def test_overridden_injected_functions_keep_the_injected_doc(fixtures_dir: Path) -> None:
    path = fixtures_dir / "project" / "otp.ex"
    found = {(f.module, f.name): f for f in extract_source(path.read_bytes(), str(path)).functions}
    spec = found[("Fixtures.OwnChildSpec", "child_spec")]
    assert spec.doc_status == "doc" and spec.doc_meta == {"injected_by": "GenServer"}
    assert spec.doc.startswith("Returns a specification to start this module under a supervisor.")
    assert found[("Fixtures.DocumentedChildSpec", "child_spec")].doc == "Own doc wins."
    assert found[("Fixtures.Server", "handle_info")].doc_status == "hidden"


def test_implicit_behaviours_match_the_compiled_attributes() -> None:
    """What the beam's `:behaviour` attribute lists without an `@behaviour` in the source."""
    result = extract_source(
        b"""defmodule Boom do
  defexception [:message]
end

defimpl String.Chars, for: Boom do
  def to_string(e), do: e.message
end

defmodule Mix.Tasks.Hello do
  use Mix.Task
  def run(_), do: :ok
end

defmodule MyPlug do
  use Plug.Builder
  @behaviour Custom
end
""",
        "b.ex",
    )
    behaviours = {m.module: m.behaviours for m in result.modules}
    assert behaviours == {
        "Boom": ("Exception",),
        "String.Chars.Boom": ("String.Chars",),
        "Mix.Tasks.Hello": ("Mix.Task",),
        "MyPlug": ("Plug", "Custom"),
    }


def test_phoenix_generator_convention_without_the_web_module() -> None:
    """File by file (as the snapshot build extracts), `use MyAppWeb, :live_view` is read the
    way `mix phx.new` writes the web module; any other `use X, :opt` stays unclassified."""
    result = extract_source(
        b"""defmodule MyAppWeb.PageLive do
  use MyAppWeb, :live_view

  @impl true
  def mount(_params, _session, socket), do: {:ok, socket}
  def render(assigns), do: assigns
end

defmodule MyAppWeb.RoomChannel do
  use MyAppWeb, :channel
  def join(_topic, _payload, socket), do: {:ok, socket}
end

defmodule NotWeb do
  use Toolkit, :live_view
end
""",
        "web.ex",
    )
    mods = {m.module: m for m in result.modules}
    live = mods["MyAppWeb.PageLive"]
    assert (live.otp_kind, live.behaviours) == ("phoenix_live_view", ("Phoenix.LiveView",))
    assert live.callbacks_implemented == ("mount/3", "render/1")
    assert live.uses == (Use("MyAppWeb", "live_view"),)  # as written
    assert mods["MyAppWeb.RoomChannel"].otp_kind == "phoenix_channel"
    assert (mods["NotWeb"].otp_kind, mods["NotWeb"].behaviours) == (None, ())
