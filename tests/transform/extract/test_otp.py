"""Behaviours, otp_kind, callbacks, and `use MyAppWeb, :live_view` resolution."""

from __future__ import annotations

from pathlib import Path

from transform.extract import extract_source, resolve_project


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
