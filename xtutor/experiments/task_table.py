"""One row per real-data task: what the committed ledgers of e5-small say, task by task.

Chapter 5 answers the question on XNLI in full (:mod:`xtutor.experiments.answer`); this
module puts the other real-data ledgers beside it, one row per task, with the same
statistics: seeds are the units, each fine-tuning method is compared with plain fine-tuning
by a paired difference over seeds (the languages of one seed averaged first), and the
comparisons of one task are one Holm family. Each task reads its own ledger:

========================  ===================  =====================================
task                      ledger               zero-shot quantity
========================  ===================  =====================================
XNLI                      ``grid_xnli_e5``     accuracy in es sw ur my (``none/*``)
UD-POS                    ``udpos_e5``         word accuracy in the 18 non-English PUD
XNLI genre shift          ``xnli_ood_e5``      out-of-domain accuracy in sw ur my
Tatoeba retrieval         ``tatoeba_e5``       retrieval accuracy (no fine-tuning)
========================  ===================  =====================================

A ledger that is not committed (no ``results.jsonl``) gives no row: :func:`task_table`
returns the tasks that have one.

Example:
    >>> import pandas as pd
    >>> acc = pd.DataFrame({"method": ["plain", "free"] * 4, "seed": [0, 0, 1, 1, 2, 2, 3, 3],
    ...                     "eval_lang": "sw", "value": [.5, .52, .6, .61, .55, .57, .5, .5]})
    >>> fx = method_effects(acc, ["plain", "free"])
    >>> fx.index.tolist(), round(float(fx.loc["free", "mean"]), 4)
    (['free'], 0.0125)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from xtutor.experiments.grid_analysis import effect_text, effects_frame, grid_frame
from xtutor.results import load_results
from xtutor.stats import paired_difference

#: The tasks in table order: (row label, ledger name, benchmark family).
TASKS: tuple[tuple[str, str, str], ...] = (
    ("XNLI", "grid_xnli_e5", "XTREME-R classification"),
    ("UD-POS", "udpos_e5", "XTREME-R structured prediction"),
    ("XNLI genre shift", "xnli_ood_e5", "GLUE-X-style domain shift"),
    ("Tatoeba retrieval", "tatoeba_e5", "XTREME-R retrieval"),
)
COLUMNS = ["benchmark", "ledger", "seeds", "measure", "English", "other languages",
           "plain under attack", "best method vs plain", "verdict"]


def method_effects(acc: pd.DataFrame, methods: Sequence[str], control: str = "plain"
                   ) -> pd.DataFrame:
    """Each of ``methods`` (other than ``control``) minus ``control``, paired by seed over
    the mean of each seed's languages (seeds are the units), one Holm family; indexed by
    method, columns as :func:`xtutor.experiments.grid_analysis.effects_frame`.

    ``acc`` has columns ``method``, ``seed``, ``eval_lang`` and ``value``.
    """
    missing = {"method", "seed", "eval_lang", "value"} - set(acc.columns)
    if missing:
        raise ValueError(f"method_effects: acc lacks columns {sorted(missing)}")
    if control not in set(acc.method):
        raise ValueError(f"method_effects: no rows of the control method {control!r}; "
                         f"methods present: {sorted(acc.method.unique())}")
    fam = {m: paired_difference(acc, "method", m, control, on=("seed", "eval_lang"),
                                pool="clusters")
           for m in methods if m != control and m in set(acc.method)}
    return effects_frame(fam, adjust="holm").set_index("label")


def _best(fx: pd.DataFrame) -> tuple[str, str]:
    if fx.empty:
        return "", ""
    m = str(fx["mean"].idxmax())
    return f"{m}: {effect_text(fx.loc[m])}", f"{fx.loc[m, 'verdict']} plain"


def _xnli(df: pd.DataFrame) -> dict:
    g = grid_frame(df)
    g = g[(g.alignment == "none") & (g.finetune != "none")]
    clean = g[(g.metric == "accuracy") & (g.premise_lang == g.hypothesis_lang)
              & (g.attack == "none")]
    acc = clean.assign(method=clean.finetune)
    acc = acc[acc.method != "shuffled-labels"]
    zs = acc[acc.eval_lang != "en"]
    best, verdict = _best(method_effects(zs, sorted(set(zs.method))))
    plain_att = g[(g.metric == "attacked_accuracy") & (g.finetune == "plain")]
    return {"seeds": int(acc[acc.method == "plain"].seed.nunique()),
            "measure": "accuracy, plain fine-tuning (zero-shot: es sw ur my)",
            "English": acc[(acc.method == "plain") & (acc.eval_lang == "en")].value.mean(),
            "other languages": zs[zs.method == "plain"].value.mean(),
            "plain under attack": plain_att.value.mean() if len(plain_att) else float("nan"),
            "best method vs plain": best, "verdict": verdict}


def _udpos(df: pd.DataFrame) -> dict:
    acc = df[(df.metric == "accuracy") & (df.attack == "none")]
    zs = acc[acc.eval_lang != "en"]
    best, verdict = _best(method_effects(zs, sorted(set(zs.method))))
    att = df[(df.metric == "attacked_accuracy") & (df.method == "plain")]
    return {"seeds": int(acc[acc.method == "plain"].seed.nunique()),
            "measure": f"word accuracy, plain fine-tuning (zero-shot: {zs.eval_lang.nunique()} "
                       f"PUD languages)",
            "English": acc[(acc.method == "plain") & (acc.eval_lang == "en")].value.mean(),
            "other languages": zs[zs.method == "plain"].value.mean(),
            "plain under attack": att.value.mean() if len(att) else float("nan"),
            "best method vs plain": best, "verdict": verdict}


def _ood(df: pd.DataFrame) -> dict:
    t = df[df.task == "xnli_ood"]
    out = t[t.metric == "acc_out_of_domain"]
    zs = out[out.eval_lang != "en"]
    best, verdict = _best(method_effects(zs, sorted(set(zs.method))))
    langs = " ".join(sorted(zs.eval_lang.unique()))
    return {"seeds": int(out[out.method == "plain"].seed.nunique()),
            "measure": f"out-of-domain accuracy, plain fine-tuning (zero-shot: {langs})",
            "English": out[(out.method == "plain") & (out.eval_lang == "en")].value.mean(),
            "other languages": zs[zs.method == "plain"].value.mean(),
            "plain under attack": float("nan"),
            "best method vs plain": best, "verdict": verdict}


def _tatoeba(df: pd.DataFrame) -> dict:
    cos = df[df.metric == "retrieval_acc_cosine"]
    return {"seeds": int(cos.seed.nunique()),
            "measure": f"retrieval accuracy (cosine), e5 as shipped, "
                       f"{cos.eval_lang.nunique()} languages with English",
            "English": float("nan"), "other languages": cos.value.mean(),
            "plain under attack": float("nan"), "best method vs plain": "",
            "verdict": "no fine-tuning"}


_ROWS = {"grid_xnli_e5": _xnli, "udpos_e5": _udpos, "xnli_ood_e5": _ood,
         "tatoeba_e5": _tatoeba}


def task_table(ledgers: str | Path) -> pd.DataFrame:
    """One row per task of :data:`TASKS` whose ledger under ``ledgers`` is committed.

    Columns (:data:`COLUMNS`): the benchmark family, the ledger, seeds of plain fine-tuning,
    what the numbers measure, English (the training language), the mean over the other
    languages, plain fine-tuning's accuracy under attack (mean over attacks and attacked
    languages; NaN where the task has no attacks), and the method with the highest zero-shot
    estimate against plain with its Holm-adjusted effect and verdict.
    """
    root = Path(ledgers)
    if not root.is_dir():
        raise FileNotFoundError(f"task_table: no ledger folder {root}")
    rows = {}
    for label, name, family in TASKS:
        path = root / name / "results.jsonl"
        if path.is_file():
            rows[label] = {"benchmark": family, "ledger": name,
                           **_ROWS[name](load_results(path))}
    return pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)


__all__ = ["COLUMNS", "TASKS", "method_effects", "task_table"]
