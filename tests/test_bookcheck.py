"""Rendered = tested: glued values compared between the stored notebook and a new run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from xtutor.bookcheck import GlueTolerance, compare_glued, glued_values, volatile_patterns

ROOT = Path(__file__).resolve().parents[1]


def _glue_output(name: str, text: str) -> dict:
    return {"output_type": "display_data",
            "metadata": {"scrapbook": {"name": name,
                                       "mime_prefix": "application/papermill.record/"}},
            "data": {"application/papermill.record/text/plain": text}}


def test_numbers_inside_text_are_compared_within_tolerance() -> None:
    stored = {"d": "'+0.021 [95% CI +0.006, +0.036]'"}
    assert compare_glued(stored, {"d": "'+0.022 [95% CI +0.006, +0.036]'"}) == []
    bad = compare_glued(stored, {"d": "'+0.021 [95% CI -0.006, +0.036]'"})
    assert len(bad) == 1 and "'d'" in bad[0]


def test_words_must_match_exactly() -> None:
    assert compare_glued({"v": "'significantly higher'"}, {"v": "'significantly lower'"})
    assert compare_glued({"m": "'word'"}, {"m": "'sentence'"})
    assert compare_glued({"n": "4"}, {"n": "5"})  # a count that moves is a changed verdict


def test_missing_and_new_values() -> None:
    assert compare_glued({"a": "1"}, {})  # the stored value was not recomputed
    assert compare_glued({"a": "1"}, {}, missing_ok=True) == []
    assert compare_glued({}, {"a": "1"}, missing_ok=True)  # new values are never ok


def test_volatile_values_only_need_to_exist() -> None:
    assert compare_glued({"cost_free": "1.1"}, {"cost_free": "1.9"}, volatile=["cost_*"]) == []
    assert compare_glued({"cost_free": "1.1"}, {}, volatile=["cost_*"])


def test_tolerance_and_metadata_validation() -> None:
    assert GlueTolerance(atol=0.0).close(0.1, 0.1)
    assert not GlueTolerance(atol=0.0).close(0.1, 0.1001)
    assert GlueTolerance().close(float("nan"), float("nan"))
    with pytest.raises(ValueError, match="atol"):
        GlueTolerance(atol=-1)
    with pytest.raises(ValueError, match="volatile_glue"):
        volatile_patterns({"xtutor": {"volatile_glue": "cost_*"}})
    assert glued_values([_glue_output("x", "2")]) == {"x": "2"}


def _notebook(path: Path, stored: str, computed: float) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell(f"from myst_nb import glue\nglue('acc', {computed!r}, "
                                     "display=False)")
    cell.execution_count = 1
    cell.outputs = [nbformat.from_dict(_glue_output("acc", stored))]
    nb.cells = [cell]
    nbformat.write(nb, path)


@pytest.mark.slow
def test_book_conftest_fails_a_chapter_whose_stored_numbers_are_stale(tmp_path: Path) -> None:
    """The hook in conftest.py, run by nbval on a one-cell notebook: the cell passes when
    it glues the stored value and fails, naming the value, when it glues another."""
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    _notebook(tmp_path / "same.ipynb", "0.5", 0.5)
    _notebook(tmp_path / "stale.ipynb", "0.5", 0.75)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
                          "-q", "same.ipynb", "stale.ipynb"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "glued value 'acc': stored 0.5, recomputed 0.75" in out, out
