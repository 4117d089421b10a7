"""The per-task table of the real ledgers (xtutor.experiments.task_table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xtutor.experiments.task_table import COLUMNS, method_effects, task_table
from xtutor.results import Record, write_records

ROOT = Path(__file__).resolve().parents[1] / "data" / "ledgers"


def _udpos_records(gain: float) -> list[Record]:
    out = []
    for seed in range(3):
        for method, add in (("plain", 0.0), ("codeswitch", gain * (1 + 0.1 * seed)),
                            ("free", -0.01 * seed)):
            for k, lang in enumerate(("en", "de", "zh")):
                acc = 0.9 - 0.1 * k + add + 0.003 * seed
                out.append(Record("udpos", "m", method, "udpos", "en", lang, "accuracy", acc,
                                  100, seed))
            out.append(Record("udpos", "m", method, "udpos", "en", "de", "attacked_accuracy",
                              0.6 + add, 100, seed, attack="char_noise"))
    return out


def test_rows_for_the_committed_ledgers_only(tmp_path: Path) -> None:
    write_records(tmp_path / "udpos_e5" / "results.jsonl", _udpos_records(0.05))
    (tmp_path / "xnli_ood_e5").mkdir()  # a ledger in progress: no results.jsonl, no row
    t = task_table(tmp_path)
    assert t.index.tolist() == ["UD-POS"] and t.columns.tolist() == COLUMNS
    row = t.loc["UD-POS"]
    assert row.seeds == 3
    assert row.English == pytest.approx(0.903)  # plain, mean over seeds
    assert row["other languages"] == pytest.approx(0.753)  # de 0.803, zh 0.703
    assert row["plain under attack"] == pytest.approx(0.6)
    assert row["best method vs plain"].startswith("codeswitch: +0.055")  # 0.05 x 1.1
    assert row.verdict == "significantly higher than plain"


def test_a_null_method_is_not_significant(tmp_path: Path) -> None:
    recs = _udpos_records(0.0)
    noisy = [Record(**{**r.to_dict(), "value": r.value + (0.02 if r.seed == 1 else -0.01)})
             if r.method == "codeswitch" else r for r in recs]
    write_records(tmp_path / "udpos_e5" / "results.jsonl", noisy)
    row = task_table(tmp_path).loc["UD-POS"]
    assert row.verdict == "not significantly different from plain"


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no ledger folder"):
        task_table(tmp_path / "missing")
    acc = pd.DataFrame({"method": ["free"], "seed": [0], "eval_lang": ["de"], "value": [0.5]})
    with pytest.raises(ValueError, match="control method 'plain'"):
        method_effects(acc, ["plain", "free"])
    with pytest.raises(ValueError, match=r"lacks columns \['eval_lang'\]"):
        method_effects(acc.drop(columns="eval_lang"), ["plain", "free"])


def test_the_committed_xnli_row_matches_chapter_5() -> None:
    if not (ROOT / "grid_xnli_e5" / "results.jsonl").is_file():
        pytest.skip("no grid_xnli_e5 ledger")
    row = task_table(ROOT).loc["XNLI"]
    assert row.seeds == 5
    assert row.English >= 0.62  # the bar for plain e5, as chapter 5 checks it
    assert row["other languages"] < row.English
    assert row["plain under attack"] < row["other languages"]  # attacks cost accuracy
