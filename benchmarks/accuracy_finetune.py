"""Accuracy of fine-tuning settings over seeds: which of xtutor's speed settings costs accuracy?

``bench_finetune.py`` times xtutor against ``Trainer`` and reports accuracy beside the times,
on 400 test pairs per language drawn anew for every seed: one seed's accuracy difference has a
standard error of about 0.03 from the test sample alone, and the training seed moves English
accuracy by up to 0.1. That is too coarse to tell whether a speed setting costs 0.01. This
script measures accuracy only (no timing; it may share the machine): it trains one model per
seed and setting, evaluates every model on the **same** test pairs (``--n-test`` per language,
drawn once, default 1000), appends one JSON line per model to ``--out`` (resumable: models
already there with the same settings are skipped), and prints, per language and for the mean of
the zero-shot languages, each setting's mean accuracy and its paired difference to
``--reference`` with seeds as the units (Student-t 95% interval over seeds, as
:func:`xtutor.stats.paired_difference`), whether the difference is within ``--margin`` either
way (its mean; its whole interval: equivalence) and whether it is not lower than ``-margin``
(its mean; the interval's lower bound: non-inferiority).

Settings are ``SIDE:PRECISION`` with SIDE one of ``trainer`` (Hugging Face ``Trainer`` with its
defaults), ``full`` (xtutor, every weight trained), ``frozen`` (word-embedding matrix fixed),
``grouped`` (every weight trained, length-grouped batches and fused AdamW), ``fast`` (frozen,
length-grouped batches, fused AdamW: the real configs' setting) and PRECISION ``fp32`` or
``bf16``. Every other training setting is ``bench_finetune.py``'s (same model, data, head seed,
batch size, steps, learning rate, warm-up, weight decay, maximum length); each model is
evaluated at its training precision with xtutor's ``predict_pairs``.

Run (needs the shared data folder; about 25 minutes per seed for the default five settings on
two cores; two processes with disjoint ``--seeds`` and ``--threads 1`` may share one file)::

    python benchmarks/accuracy_finetune.py --seeds 0 1 2 --out runs/accuracy_finetune.jsonl
    python benchmarks/accuracy_finetune.py --summary --out runs/accuracy_finetune.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from bench_finetune import add_recipe_arguments

SIDES = ("trainer", "full", "frozen", "grouped", "fast")
DEFAULT_SETTINGS = ["trainer:fp32", "full:fp32", "frozen:fp32", "frozen:bf16", "fast:bf16"]
#: The settings that make a run the same experiment (a resumed run must match them).
KEYS = ("n_train", "n_test", "langs", "epochs", "batch_size", "lr", "max_length")


def _setting(text: str) -> str:
    side, _, prec = text.partition(":")
    if side not in SIDES or prec not in ("fp32", "bf16"):
        raise argparse.ArgumentTypeError(
            f"a setting is SIDE:PRECISION with SIDE in {SIDES} and PRECISION fp32 or bf16, "
            f"got {text!r}")
    return text


def _config(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in KEYS}


def _done(path: Path, config: dict) -> set[tuple[int, str]]:
    if not path.exists():
        return set()
    done = set()
    for i, line in enumerate(path.read_text().splitlines(), 1):
        row = json.loads(line)
        if row["config"] != config:
            raise SystemExit(f"--out {path}: line {i} was run with other settings "
                             f"({row['config']}) than these ({config}); use another file")
        done.add((row["seed"], row["setting"]))
    return done


def train_one(enc, tok, train, args: argparse.Namespace, seed: int, setting: str):
    """Train the model of ``setting`` (``SIDE:PRECISION``) on ``train`` with ``seed``, as
    ``bench_finetune.py`` does."""
    from bench_finetune import _steps, train_trainer, train_xtutor

    side, prec = setting.split(":")
    if side == "trainer":
        steps = _steps(len(train), args.batch_size, args.epochs)
        return train_trainer(enc, tok, train, args, seed, steps, prec)[0]
    return train_xtutor(enc, tok, train, args, seed, side, prec, args.epochs)[0]


def run(args: argparse.Namespace) -> None:
    import transformers
    from bench_finetune import _predict

    import xtutor
    from xtutor.data.paths import require_shared_data
    from xtutor.data.xnli import load_xnli
    from xtutor.evaluation import accuracy
    from xtutor.models import load_encoder
    from xtutor.reproducibility import git_revision

    torch.set_num_threads(args.threads)
    config = _config(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out, config)
    folder = require_shared_data("xnli")
    tests = {lang: load_xnli(lang, "test", folder).subset(args.n_test, seed=1_000)
             for lang in args.langs}
    enc, tok = load_encoder("e5-small-offline")
    revision = git_revision(Path(__file__).resolve().parent)
    for seed in args.seeds:
        train = load_xnli("en", "dev", folder).subset(args.n_train, seed=seed)
        for setting in args.settings:
            if (seed, setting) in done:
                print(f"seed {seed} {setting}: already in {out}", flush=True)
                continue
            t0 = time.perf_counter()
            clf = train_one(enc, tok, train, args, seed, setting).eval()
            t_train = time.perf_counter() - t0
            prec = setting.split(":")[1]
            t0 = time.perf_counter()
            preds = _predict(clf, tok, tests, args.max_length, prec)
            acc = {lang: accuracy(preds[lang], d.labels) for lang, d in tests.items()}
            row = {"seed": seed, "setting": setting, "accuracy": acc, "config": config,
                   "threads": args.threads, "train_s": round(t_train, 1),
                   "eval_s": round(time.perf_counter() - t0, 1), "git_revision": revision,
                   "xtutor": xtutor.__version__, "torch": torch.__version__,
                   "transformers": transformers.__version__}
            with out.open("a") as f:  # one short line per write: appends stay whole
                f.write(json.dumps(row) + "\n")
            print(f"seed {seed} {setting}: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
                  + f" ({t_train:.0f} s training)", flush=True)


def summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from xtutor.stats import paired_difference

    path = Path(args.out)
    if not path.exists():
        raise SystemExit(f"--out {path}: no such file; run without --summary first")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    configs = {json.dumps(r["config"], sort_keys=True) for r in rows}
    if len(configs) != 1:
        raise SystemExit(f"--out {path}: rows of {len(configs)} different settings")
    langs = rows[0]["config"]["langs"]
    zero_shot = [lang for lang in langs if lang != "en"]
    long = pd.DataFrame([{"seed": r["seed"], "setting": r["setting"], "lang": lang,
                          "value": r["accuracy"][lang]} for r in rows for lang in langs])
    if zero_shot:
        zs = long[long["lang"].isin(zero_shot)].groupby(["seed", "setting"], as_index=False)[
            "value"].mean().assign(lang="zero-shot mean")
        long = pd.concat([long, zs], ignore_index=True)
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    if args.reference not in settings:
        raise SystemExit(f"--reference {args.reference!r} is not in {path} ({settings})")
    seeds = sorted(int(s) for s in long["seed"].unique())
    print(f"{path}: {len(rows)} models, seeds {seeds}; test pairs per language "
          f"{rows[0]['config']['n_test']} (the same for every model); reference "
          f"{args.reference}; margin {args.margin}")
    for lang in [*langs, *(["zero-shot mean"] if zero_shot else [])]:
        part = long[long["lang"] == lang]
        print(f"\n{lang}:")
        for s in settings:
            vals = part[part["setting"] == s].sort_values("seed")["value"]
            line = f"  {s:>13}: mean {vals.mean():.3f} over {len(vals)} seeds " \
                   f"({', '.join(f'{v:.3f}' for v in vals)})"
            if s != args.reference:
                common = set(part[part["setting"] == s]["seed"]) & \
                    set(part[part["setting"] == args.reference]["seed"])
                both = part[part["seed"].isin(common)]
                c = paired_difference(both, "setting", s, args.reference, interval="t",
                                      bounds=(-1.0, 1.0))
                within = abs(c.mean) <= args.margin
                equivalent = (not math.isnan(c.ci_low)) and -args.margin <= c.ci_low \
                    and c.ci_high <= args.margin
                lower_ok = (not math.isnan(c.ci_low)) and c.ci_low >= -args.margin
                line += (f"; minus {args.reference}: {c} | mean within +-{args.margin}: "
                         f"{'yes' if within else 'NO'}; 95% interval within: "
                         f"{'yes' if equivalent else 'no'}; not lower by more than "
                         f"{args.margin}: mean {'yes' if c.mean >= -args.margin else 'NO'}, "
                         f"95% lower bound {'yes' if lower_ok else 'no'}")
            print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="JSON-lines file of results (appended)")
    p.add_argument("--summary", action="store_true", help="only print the summary of --out")
    p.add_argument("--settings", nargs="+", type=_setting, default=DEFAULT_SETTINGS)
    p.add_argument("--reference", type=_setting, default="full:fp32")
    p.add_argument("--margin", type=float, default=0.01)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_recipe_arguments(p, n_test=1000)
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.summary:
        return summary(args)
    run(args)
    return summary(args)


if __name__ == "__main__":
    sys.exit(main())
