"""Extraction agrees with `Code.fetch_docs/1` on the compiled fixture project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from transform.extract.oracle import check

pytestmark = pytest.mark.elixir


@pytest.mark.skipif(shutil.which("elixirc") is None, reason="needs the Elixir compiler")
def test_fixture_project_matches_the_docs_chunk(fixtures_dir: Path) -> None:
    report = check([fixtures_dir / "project"])
    print(report.summary())
    assert report.modules >= 35 and report.common >= 75
    assert report.false_positives == [] and report.missed == []
    assert report.doc_mismatches == [] and report.defaults_agree == report.common
    assert report.status_mismatches == [] and report.moduledoc_mismatches == []
    assert report.behaviours_compared == report.modules and report.behaviours_mismatches == []
    # `since`/`deprecated` agree except where a macro sets them (`since("1.0.0")`).
    assert all(m.startswith("Fixtures.UsesDocMacro.") for m in report.meta_mismatches)
    assert report.spec_mismatches == []  # which functions have a @spec, as the beam has them
    # What is not in source: child_spec/1 injected by `use`, functions made by macros.
    assert all(g.endswith("child_spec/1") or "UsesMacros" in g for g in report.generated)
    assert report.precision >= 0.999 and report.recall >= 0.97 and report.doc_exact_ratio >= 0.998
