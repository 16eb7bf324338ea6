"""The tree walk: names, arities, defaults, clauses, nesting, spans, attributes."""

from __future__ import annotations

import dataclasses

from transform.extract import extract_source

from .conftest import extract, functions

CODE = """defmodule Shop do
  @moduledoc false
  alias Shop.Other, as: Item

  @doc "Adds."
  @doc since: "1.2"
  @spec add(term, integer, timeout) :: :ok
  def add(sku, qty \\\\ 1, timeout \\\\ 5000)
  def add(sku, qty, timeout) when is_integer(qty), do: {sku, qty, timeout}
  def add(_, _, _), do: :error

  @impl true
  def handle_info(_, s), do: s

  @doc "Private docs are dropped."
  defp secret, do: 1

  defmodule Item do
    def x, do: 1
  end

  defmodule __MODULE__.Cart do
    @doc "Cart."
    def new, do: %{}
  end

  @doc "From a macro: must not leak."
  defsequence :red, 31
  def after_macro, do: :ok

  @doc "Struct doc."
  defstruct [:a]

  def é(x), do: x
  def a <|> b, do: {a, b}
  defguard is_ok(x) when x == :ok
  defdelegate size(m), to: Kernel, as: :map_size

  defmacro __using__(_) do
    quote do
      def in_quote, do: 1
    end
  end
end

defimpl Proto, for: [List, Map] do
  def go(_), do: 1
end
"""


def test_functions_arity_defaults_clauses_and_lines() -> None:
    found = functions(CODE)
    add = found["Shop.add/3"]
    assert (add.defaults, add.clauses, add.arities) == (2, 2, (1, 2, 3))
    assert (add.start_line, add.end_line) == (8, 10)
    assert add.source.startswith("def add(sku, qty") and add.source.endswith(":error")
    assert add.doc == "Adds." and add.doc_meta == {"since": "1.2"}
    assert add.spec == ("@spec add(term, integer, timeout) :: :ok",)


def test_doc_status_rules() -> None:
    found = functions(CODE)
    assert found["Shop.handle_info/2"].doc_status == "hidden"
    assert found["Shop.handle_info/2"].impl == "true"
    assert (found["Shop.secret/0"].doc, found["Shop.secret/0"].doc_status) == (None, "none")
    assert found["Shop.after_macro/0"].doc_status == "none"
    assert found["Shop.__struct__/0"].doc == "Struct doc."
    assert found["Shop.é/1"].doc_status == "none"


def test_callbacks_take_the_pending_doc() -> None:
    """`@doc` then `@callback`: the doc is the callback's (found in the Elixir 1.14 sources'
    DynamicSupervisor, where it used to document the `defstruct` below it)."""
    found = functions(
        """defmodule B do
  @doc "The callback's."
  @callback init(arg :: term) :: {:ok, term} when arg: term
  defstruct [:a]

  @doc "The macro callback's."
  @macrocallback expand(term) :: Macro.t()
  def plain(x), do: x

  @doc "Own."
  def own(x), do: x
end
"""
    )
    assert "B.__struct__/0" not in found  # only a documented defstruct makes a record
    assert found["B.plain/1"].doc_status == "none"
    assert found["B.own/1"].doc == "Own."


def test_defexception_injects_message_only_with_a_message_field() -> None:
    statuses = {}
    for fields in ("[:message]", 'message: "boom"', '[:code, message: "boom"]', "[:reason]"):
        found = functions(
            f"defmodule E do\n  defexception {fields}\n  def message(e), do: e\nend\n"
        )
        statuses[fields] = found["E.message/1"].doc_status
    assert statuses == {
        "[:message]": "hidden",
        'message: "boom"': "hidden",
        '[:code, message: "boom"]': "hidden",
        "[:reason]": "none",
    }


def test_only_definer_like_macro_calls_take_a_pending_doc() -> None:
    """`doc_since("1.9.0")` (Decimal) only adds metadata; `defconst :x, 1` defines a function."""
    found = functions(
        """defmodule M do
  @doc "Kept."
  doc_since("1.9.0")
  def kept(x), do: x

  @doc "Taken by the macro's function."
  defconst :answer, 42
  def after_definer, do: :ok
end
"""
    )
    assert found["M.kept/1"].doc == "Kept."
    assert found["M.after_definer/0"].doc_status == "none"


def test_a_do_keyword_with_its_body_on_the_next_line_is_a_clause() -> None:
    """`do:` then a newline (Elixir's `Path` writes clauses so): the keyword's text runs on."""
    found = functions(
        "defmodule K do\n  def f(:a), do:\n    1\n  def f(_), do:\n    2\n"
        "  @doc false\n  def g, do:\n    :ok\nend\n"
    )
    assert found["K.f/1"].clauses == 2
    assert (found["K.g/0"].clauses, found["K.g/0"].doc_status) == (1, "hidden")


def test_module_names_follow_the_compiler() -> None:
    names = [m.module for m in extract(CODE).modules]
    assert names == ["Shop", "Shop.Item", "Shop.Cart", "Proto.List", "Proto.Map"]
    assert "Shop.in_quote/0" not in functions(CODE)


def test_operators_guards_delegates() -> None:
    found = functions(CODE)
    assert found["Shop.<|>/2"].kind == "def"
    assert found["Shop.is_ok/1"].doc_meta == {"guard": True}
    assert found["Shop.size/1"].doc_meta == {"delegate_to": "Kernel.map_size/1"}
    assert found["Proto.Map.go/1"].module == "Proto.Map"


def test_module_level_if_blocks_and_moduledoc() -> None:
    code = (
        'defmodule M do\n  @moduledoc "Mod."\n  if true do\n    @doc "In if."\n'
        "    def a, do: 1\n  else\n    def b, do: 2\n  end\nend\n"
    )
    result = extract(code)
    assert (result.modules[0].moduledoc, result.modules[0].moduledoc_status) == ("Mod.", "doc")
    found = functions(code)
    # The compiler sees one branch; like it with the condition true, only `do` counts.
    assert found["M.a/0"].doc == "In if." and "M.b/0" not in found


def test_unicode_columns_and_bytes() -> None:
    code = 'defmodule M do\n  @doc "é"\n  def café(x), do: "日本"\nend\n'
    f = functions(code)["M.café/1"]
    assert f.source == 'def café(x), do: "日本"' and f.start_line == 3


def test_computed_module_names_are_skipped_not_guessed() -> None:
    code = (
        "defmodule A do\n  for n <- [:x] do\n    defmodule Module.concat(__MODULE__, n) do\n"
        "      def f, do: 1\n    end\n  end\n  defimpl P, for: unquote(t) do\n"
        "    def g, do: 1\n  end\n  defimpl P, for: __MODULE__ do\n    def h, do: 1\n  end\nend\n"
    )
    result = extract(code)
    assert [m.module for m in result.modules] == ["A", "P.A"]
    assert [(f.module, f.name) for f in result.functions] == [("P.A", "h")]


def test_records_built_without_init_are_complete(fixtures_dir) -> None:
    """`records.make` skips the dataclass `__init__`: each record must still have every field
    and equal the one the constructor builds."""
    records = []
    for path in sorted(fixtures_dir.rglob("*.ex")):
        result = extract_source(path.read_bytes(), str(path))
        records += [*result.modules, *result.functions]
        records += [d for f in result.functions for d in f.doctests]
    assert {type(r).__name__ for r in records} == {"ModuleRecord", "FunctionRecord", "Doctest"}
    for record in records:
        assert dataclasses.replace(record) == record
