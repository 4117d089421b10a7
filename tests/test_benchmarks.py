"""The benchmark scripts' own logic (their measurements need the shared data and minutes; the
README gives the commands): here, ``benchmarks/accuracy_finetune.py``'s resumable results file
and its summary of accuracy differences over seeds."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def acc():
    sys.path.insert(0, str(BENCH))  # the scripts import their neighbours as top-level modules
    try:
        spec = importlib.util.spec_from_file_location("accuracy_finetune",
                                                      BENCH / "accuracy_finetune.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def _write(path: Path, config: dict, rows: list[tuple[int, str, dict]]) -> None:
    path.write_text("".join(json.dumps({"seed": s, "setting": k, "accuracy": a,
                                        "config": config}) + "\n" for s, k, a in rows))


def test_summary_reports_planted_differences_against_the_margin(acc, tmp_path, capsys) -> None:
    config = {"n_train": 8, "n_test": 4, "langs": ["en", "sw"], "epochs": 1.0,
              "batch_size": 4, "lr": 1e-4, "max_length": 16}
    rows = []
    for seed, noise in ((0, 0.0), (1, 0.004), (2, -0.004)):
        rows += [(seed, "full:fp32", {"en": 0.60 + noise, "sw": 0.50 + noise}),
                 # English equal within 0.01, Swahili 0.05 lower on every seed
                 (seed, "fast:bf16", {"en": 0.605 + noise, "sw": 0.45 + noise})]
    out = tmp_path / "acc.jsonl"
    _write(out, config, rows)
    assert acc.main(["--summary", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    en = text.split("\nen:")[1].split("\nsw:")[0]
    sw = text.split("\nsw:")[1].split("\nzero-shot mean:")[0]
    assert "+0.005" in en and "mean within +-0.01: yes" in en
    assert "-0.050" in sw and "mean within +-0.01: NO" in sw
    assert "95% interval within: no" in sw
    assert "not lower by more than 0.01: mean NO, 95% lower bound no" in sw
    assert "not lower by more than 0.01: mean yes, 95% lower bound yes" in en


def test_results_file_of_other_settings_is_refused(acc, tmp_path) -> None:
    out = tmp_path / "acc.jsonl"
    _write(out, {"n_train": 1}, [(0, "full:fp32", {"en": 0.5})])
    with pytest.raises(SystemExit, match="was run with other settings"):
        acc._done(out, {"n_train": 2})
    assert acc._done(out, {"n_train": 1}) == {(0, "full:fp32")}


def test_settings_are_checked(acc) -> None:
    with pytest.raises(SystemExit):
        acc.main(["--out", "x.jsonl", "--settings", "trainer:int8"])
    with pytest.raises(SystemExit, match="no such file"):
        acc.main(["--summary", "--out", "/nonexistent/acc.jsonl"])
