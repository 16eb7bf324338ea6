"""Check extraction against the compiler: compile with `elixirc`, read `Code.fetch_docs/1`, compare.

`python -m transform.extract.oracle SRC... [--ebin DIR] [--json]` compiles the `.ex` files under
SRC (or reads already compiled beams from DIR) and prints precision, recall, doc-text exactness
and doc-status agreement for documented public functions and macros.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transform.extract.otp import resolve_project
from transform.extract.records import FileResult
from transform.extract.source import extract_source

# Prints one tab-separated line per module (M) and per function/macro entry (F), text in base64.
DUMP_SCRIPT = r"""
[dir] = System.argv()
b64 = &Base.encode64/1
status = fn %{"en" => _} -> "doc"; other -> Atom.to_string(other) end
text = fn %{"en" => t} -> b64.(t); _ -> "" end
for beam <- Path.wildcard(Path.join(dir, "*.beam")) do
  mod = beam |> Path.basename(".beam") |> String.to_atom()
  {:ok, {_, [attributes: attrs]}} = :beam_lib.chunks(String.to_charlist(beam), [:attributes])
  behaviours = attrs |> Keyword.get_values(:behaviour) |> List.flatten() |> Enum.map(&inspect/1)
  specs = case Code.Typespec.fetch_specs(File.read!(beam)) do
    {:ok, found} -> Enum.map(found, fn {name_arity, _} -> name_arity end)
    _ -> []
  end
  spec_arities = fn kind, fun ->
    key = if kind == :macro, do: :"MACRO-#{fun}", else: fun
    shift = if kind == :macro, do: 1, else: 0
    for({^key, a} <- specs, do: a - shift) |> Enum.join(",")
  end
  case Code.fetch_docs(beam) do
    {:docs_v1, _, _, _, moduledoc, _, entries} ->
      name = b64.(inspect(mod))
      IO.puts(Enum.join(["M", name, status.(moduledoc), text.(moduledoc),
                         b64.(Enum.join(behaviours, ","))], "\t"))
      for {{kind, fun, arity}, _, _, doc, meta} <- entries, kind in [:function, :macro] do
        IO.puts(Enum.join(["F", name, kind, b64.(Atom.to_string(fun)), arity,
                           Map.get(meta, :defaults, 0), status.(doc), text.(doc),
                           b64.(to_string(Map.get(meta, :since, ""))),
                           b64.(to_string(Map.get(meta, :deprecated, ""))),
                           spec_arities.(kind, fun)], "\t"))
      end
    _ -> :ok
  end
end
"""


class OracleError(RuntimeError):
    """The compiler is missing or the sources do not compile."""


@dataclass(frozen=True)
class ChunkEntry:
    """A function or macro as the docs chunk has it."""

    module: str
    name: str
    arity: int
    defaults: int
    status: str
    doc: str | None
    since: str | None = None
    deprecated: str | None = None
    spec_arities: tuple[int, ...] = ()  # arities of this name that have a `@spec`


@dataclass(frozen=True)
class ChunkModule:
    module: str
    status: str
    doc: str | None
    behaviours: tuple[str, ...]


def compile_sources(files: Sequence[Path], ebin: Path) -> None:
    """`elixirc -o ebin files...`; raises OracleError with the compiler's output on failure."""
    cmd = ["elixirc", "--ignore-module-conflict", "-o", str(ebin), *map(str, files)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OracleError(f"elixirc failed to run: {exc}") from exc
    if done.returncode != 0:
        raise OracleError(f"elixirc exit {done.returncode}: {done.stderr[-2000:]}")


def dump_chunks(ebin: Path) -> tuple[list[ChunkModule], list[ChunkEntry]]:
    """Read every beam's docs chunk in `ebin` with the installed Elixir."""
    try:
        done = subprocess.run(
            ["elixir", "-e", DUMP_SCRIPT, str(ebin)], capture_output=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OracleError(f"elixir failed to run: {exc}") from exc
    if done.returncode != 0:
        raise OracleError(f"docs dump failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return parse_dump(done.stdout.decode())


def parse_dump(output: str) -> tuple[list[ChunkModule], list[ChunkEntry]]:
    modules, entries = [], []
    for line in output.splitlines():
        cols = line.split("\t")
        if cols[0] == "M" and len(cols) == 5:
            behaviours = tuple(b for b in _b64(cols[4]).split(",") if b)
            modules.append(ChunkModule(_b64(cols[1]), cols[2], _b64(cols[3]) or None, behaviours))
        elif cols[0] == "F" and len(cols) == 11:
            doc = _b64(cols[7]) if cols[6] == "doc" else None
            name, arity, defaults = _b64(cols[3]), int(cols[4]), int(cols[5])
            since, deprecated = _b64(cols[8]) or None, _b64(cols[9]) or None
            specs = tuple(int(a) for a in cols[10].split(",") if a)
            entries.append(
                ChunkEntry(
                    _b64(cols[1]), name, arity, defaults, cols[6], doc, since, deprecated, specs
                )
            )
    return modules, entries


def _b64(value: str) -> str:
    return base64.b64decode(value).decode("utf-8", "replace")


@dataclass
class OracleReport:
    """How extraction agrees with the docs chunk; the lists name what disagreed."""

    files: int = 0
    modules: int = 0
    extracted_documented: int = 0
    chunk_documented: int = 0
    common: int = 0
    generated: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)
    doc_exact: int = 0
    doc_mismatches: list[str] = field(default_factory=list)
    # Of doc_mismatches, those whose doc interpolates a value computed at compile time
    # (`#{Enum.map_join(...)}`): out of reach from source, like generated functions.
    doc_computed: list[str] = field(default_factory=list)
    defaults_agree: int = 0
    status_compared: int = 0
    status_mismatches: list[str] = field(default_factory=list)
    # `since` and `deprecated` of the docs chunk's metadata, on the entries both sides have
    meta_mismatches: list[str] = field(default_factory=list)
    # whether a function has a `@spec` (for any of its arities), ours against the beam's specs
    spec_mismatches: list[str] = field(default_factory=list)
    moduledoc_compared: int = 0
    moduledoc_mismatches: list[str] = field(default_factory=list)
    moduledoc_computed: list[str] = field(default_factory=list)  # as doc_computed
    behaviours_mismatches: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.common / self.extracted_documented if self.extracted_documented else 1.0

    @property
    def recall(self) -> float:
        """Recall over documented functions whose definition is visible in source."""
        visible = self.chunk_documented - len(self.generated)
        return self.common / visible if visible else 1.0

    @property
    def recall_all(self) -> float:
        return self.common / self.chunk_documented if self.chunk_documented else 1.0

    @property
    def doc_exact_ratio(self) -> float:
        return self.doc_exact / self.common if self.common else 1.0

    @property
    def behaviours_compared(self) -> int:
        """Modules whose behaviours were compared with the beam's `:behaviour` attribute: the
        same modules as the moduledocs."""
        return self.moduledoc_compared

    @property
    def doc_exact_static_ratio(self) -> float:
        """Doc exactness over the docs whose text is written out in source."""
        static = self.common - len(self.doc_computed)
        return self.doc_exact / static if static else 1.0

    def to_dict(self) -> dict:
        out = asdict(self)
        for name in (
            "precision",
            "recall",
            "recall_all",
            "doc_exact_ratio",
            "doc_exact_static_ratio",
        ):
            out[name] = round(getattr(self, name), 5)
        out["behaviours_compared"] = self.behaviours_compared
        return out

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.modules} modules; documented public functions/macros: "
            f"{self.chunk_documented} in chunk ({len(self.generated)} generated, not in source), "
            f"{self.extracted_documented} extracted, {self.common} common\n"
            f"precision {self.precision:.4f}  recall {self.recall:.4f} "
            f"(all: {self.recall_all:.4f})  doc exact {self.doc_exact}/{self.common} "
            f"({len(self.doc_computed)} computed at compile time)  "
            f"defaults {self.defaults_agree}/{self.common}  doc status "
            f"{self.status_compared - len(self.status_mismatches)}/{self.status_compared}  "
            f"since/deprecated {self.status_compared - len(self.meta_mismatches)}"
            f"/{self.status_compared}  specs {self.status_compared - len(self.spec_mismatches)}"
            f"/{self.status_compared}  "
            f"moduledoc {self.moduledoc_compared - len(self.moduledoc_mismatches)}"
            f"/{self.moduledoc_compared} ({len(self.moduledoc_computed)} computed)  behaviours "
            f"{self.behaviours_compared - len(self.behaviours_mismatches)}"
            f"/{self.behaviours_compared}"
        )


def compare(
    results: Iterable[FileResult], modules: Sequence[ChunkModule], entries: Sequence[ChunkEntry]
) -> OracleReport:
    """Compare extraction with the chunk on the modules both sides know."""
    results = list(results)
    report = OracleReport(files=len(results))
    sources = {m.module: m.source for r in results for m in r.modules}
    ours = {(f.module, f.name, f.arity): f for r in results for f in r.functions if f.public}
    theirs = {(e.module, e.name, e.arity): e for e in entries if e.module in sources}
    report.modules = len({m.module for m in modules} & set(sources))
    _compare_functions(report, ours, theirs, sources)
    _compare_moduledocs(report, results, modules)
    return report


def _compare_functions(report: OracleReport, ours: dict, theirs: dict, sources: dict) -> None:
    documented = {k for k, f in ours.items() if f.doc_status == "doc"}
    chunk_doc = {k for k, e in theirs.items() if e.status == "doc"}
    report.extracted_documented, report.chunk_documented = len(documented), len(chunk_doc)
    common = documented & chunk_doc
    report.common = len(common)
    report.false_positives = sorted(map(_key, documented - chunk_doc))
    for key in sorted(chunk_doc - documented):
        visible = key in ours or _defined_in(sources.get(key[0], ""), key[1])
        (report.missed if visible else report.generated).append(_key(key))
    for key in sorted(common):
        f, e = ours[key], theirs[key]
        if f.doc == e.doc:
            report.doc_exact += 1
        else:
            report.doc_mismatches.append(_key(key))
            if f.doc_dynamic:
                report.doc_computed.append(_key(key))
        report.defaults_agree += int(f.defaults == e.defaults)
    both = set(ours) & set(theirs)
    report.status_compared = len(both)
    report.status_mismatches = sorted(
        f"{_key(k)} ours={ours[k].doc_status} chunk={theirs[k].status}"
        for k in both
        if ours[k].doc_status != theirs[k].status
    )
    for k in sorted(both):
        ours_meta = (ours[k].doc_meta.get("since"), ours[k].doc_meta.get("deprecated"))
        if ours_meta != (theirs[k].since, theirs[k].deprecated):
            report.meta_mismatches.append(
                f"{_key(k)} ours={ours_meta} chunk={(theirs[k].since, theirs[k].deprecated)}"
            )
        beam_spec = any(a in ours[k].arities for a in theirs[k].spec_arities)
        if bool(ours[k].spec) != beam_spec:
            report.spec_mismatches.append(f"{_key(k)} ours={len(ours[k].spec)} beam={beam_spec}")


def _compare_moduledocs(report: OracleReport, results: list[FileResult], modules) -> None:
    chunk = {m.module: m for m in modules}
    for r in results:
        for m in r.modules:
            c = chunk.get(m.module)
            if c is None:
                continue
            report.moduledoc_compared += 1
            if set(m.behaviours) != set(c.behaviours):
                report.behaviours_mismatches.append(
                    f"{m.module} ours={sorted(m.behaviours)} beam={sorted(c.behaviours)}"
                )
            if (m.moduledoc_status, m.moduledoc) != (c.status, c.doc):
                report.moduledoc_mismatches.append(m.module)
                if m.doc_dynamic:
                    report.moduledoc_computed.append(m.module)


def _defined_in(source: str, name: str) -> bool:
    """Whether a def-like call for `name` is written in the module's source."""
    pattern = r"\b(?:def|defmacro|defguard|defdelegate)\s+(?:unquote\(:)?" + re.escape(name)
    return re.search(pattern, source) is not None


def _key(key: tuple[str, str, int]) -> str:
    return f"{key[0]}.{key[1]}/{key[2]}"


def source_files(paths: Iterable[str | Path]) -> list[Path]:
    """The `.ex` files under the given files and directories, sorted."""
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(sorted(p.rglob("*.ex")) if p.is_dir() else [p])
    return found


def check(paths: Iterable[str | Path], ebin: Path | None = None) -> OracleReport:
    """Extract `paths`, compile them (unless `ebin` already holds their beams) and compare."""
    files = source_files(paths)
    results = resolve_project([extract_source(f.read_bytes(), str(f)) for f in files])
    with tempfile.TemporaryDirectory(prefix="oracle-") as tmp:
        if ebin is None:
            ebin = Path(tmp)
            compile_sources(files, ebin)
        modules, entries = dump_chunks(ebin)
    return compare(results, modules, entries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transform.extract.oracle", description=__doc__)
    parser.add_argument("paths", nargs="+", help=".ex files or directories")
    parser.add_argument("--ebin", type=Path, help="read beams from here instead of compiling")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    try:
        report = check(args.paths, args.ebin)
    except OracleError as exc:
        print(f"oracle: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
