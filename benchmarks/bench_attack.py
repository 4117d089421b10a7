"""Word-substitution attack: ``xtutor.attacks.word_substitution`` against TextAttack's greedy
word-swap recipe (greedy search by word importance, deletion scoring), same victim, examples,
neighbour table and budget.

The victim is a toy-family NLI classifier trained in the script (a lab preset's encoder,
MLM-pretrained, then fine-tuned on the source language ``L0``), attacked on held-out NLI pairs
of one toy language. Both libraries get:

- the same candidate words: TextAttack's ``WordSwap`` is given ``xtutor``'s
  :class:`~xtutor.attacks.WordSubstitution` as its replacement function, over the embedding
  nearest-neighbour table of the classifier's input embeddings (``--k`` neighbours);
- the same budget: at most ``--max-words`` changed words per pair (``MaxWordsPerturbed`` in
  TextAttack), both sides may change, no word changed twice (``RepeatModification``);
- the same goal (untargeted: the gold label is no longer predicted; misclassified pairs are
  skipped) and the same search (greedy-WIR, ``wir_method="delete"``);
- the same model batch size, CPU, torch threads, one process.

Both run at the same precision (``--precision fp32``, ``bf16`` or ``both``, the default):
xtutor through ``Victim.from_model(..., precision=)``, TextAttack inside ``torch.autocast("cpu",
dtype=torch.bfloat16)`` with the classifier's logits cast back to fp32 (as xtutor's victim
returns them). The script refuses to start on a loaded machine (exit status 3;
``--allow-loaded`` runs anyway and marks the table). Each library attacks all examples
``--repeats`` times (default 5) after a warm-up on a few examples, alternating the sides and
reversing their order every repeat (TextAttack's caches are cleared before each of its passes);
the table gives every pass, best and median time, the ratios TextAttack / xtutor at each
precision and fp32 / bf16 per library (above 1: the second is faster), each one's success rate,
model forward passes and queries per pass (xtutor's victim also counts its cache hits), and the
agreement of the per-example outcomes, between the libraries and between bf16 and fp32.

TextAttack 0.3.x imports ``flair`` at import time, and flair 0.15 does not import with
transformers 5; this recipe uses no flair code (flair serves TextAttack's POS constraints), so
when flair fails to import the script registers a stand-in module that raises if anything
calls it. TextAttack also reads NLTK's English stopword list at import time; when that corpus
is not installed the script points NLTK at an empty placeholder (no stopword constraint is
used here). Both are printed when they happen.

Run::

    python -m venv --system-site-packages /tmp/ta-venv
    /tmp/ta-venv/bin/pip install textattack --no-deps   # plus its imports, not torch/transformers
    /tmp/ta-venv/bin/python benchmarks/bench_attack.py --n 200 --threads 2

Without TextAttack the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from collections import OrderedDict
from importlib import metadata
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


def _shim_flair() -> bool:
    """Register a stand-in ``flair`` when the real one does not import; True if shimmed."""
    try:
        import flair  # noqa: F401

        return False
    except Exception:
        for k in [k for k in sys.modules if k == "flair" or k.startswith("flair.")]:
            del sys.modules[k]

    def refuse(*_a: object, **_k: object) -> None:
        raise RuntimeError("flair is a stand-in in bench_attack.py (it does not import with "
                           "this transformers version)")

    flair = types.ModuleType("flair")
    data = types.ModuleType("flair.data")
    models = types.ModuleType("flair.models")
    data.Tokenizer = type("Tokenizer", (), {})  # type: ignore[attr-defined]
    data.Sentence = type("Sentence", (), {"__init__": refuse})  # type: ignore[attr-defined]
    models.SequenceTagger = type("SequenceTagger", (), {"load": staticmethod(refuse)})  # type: ignore[attr-defined]  # noqa: E501
    flair.__path__ = []  # type: ignore[attr-defined]
    flair.data, flair.models = data, models  # type: ignore[attr-defined]
    sys.modules.update({"flair": flair, "flair.data": data, "flair.models": models})
    return True


def _stopwords_placeholder() -> str | None:
    """Point NLTK at an empty English stopword list if it has none; the folder used, or None."""
    try:
        import nltk
    except ImportError:
        return None
    try:
        nltk.data.find("corpora/stopwords")
        return None
    except LookupError:
        root = Path(tempfile.mkdtemp(prefix="bench-attack-nltk-"))
        (root / "corpora" / "stopwords").mkdir(parents=True)
        (root / "corpora" / "stopwords" / "english").write_text("", encoding="utf-8")
        nltk.data.path.insert(0, str(root))
        return str(root)


def import_textattack() -> tuple[object | None, list[str]]:
    """``(textattack module or None, notes about import workarounds)``."""
    notes = []
    try:
        import textattack  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name == "textattack":
            return None, notes
    except Exception:
        pass
    else:
        return sys.modules["textattack"], notes
    for k in [k for k in sys.modules if k == "textattack" or k.startswith("textattack.")]:
        del sys.modules[k]
    if _shim_flair():
        notes.append("flair does not import here: using a stand-in flair module (unused by "
                     "this recipe)")
    folder = _stopwords_placeholder()
    if folder:
        notes.append(f"NLTK stopwords corpus missing: empty placeholder in {folder} (unused by "
                     f"this recipe)")
    try:
        import textattack
    except Exception as e:  # a missing dependency of TextAttack's own imports
        notes.append(f"TextAttack is installed but does not import: {type(e).__name__}: {e}")
        return None, notes
    return textattack, notes


def build_victim(preset: str, seed: int, lang: str, n: int):
    """A toy NLI classifier (pretrained + fine-tuned on L0) and ``n`` test pairs in ``lang``."""
    from xtutor.lab import LabConfig, pretrain_toy_encoder
    from xtutor.toyworld import ToyWorld
    from xtutor.training.classify import finetune

    cfg = LabConfig.preset(preset, seed)
    world = ToyWorld(cfg.world)
    enc, tok, _ = pretrain_toy_encoder(cfg, world, show_progress=False)
    clf, _ = finetune(enc, tok, world.nli(cfg.nli_train, world.languages[0], seed=1000 + seed),
                      cfg.finetune, show_progress=False)
    return world, clf.eval(), tok, world.nli(n, lang, seed=2000 + seed)


def textattack_attack(ta, clf, tok, candidates, max_words: int, batch_size: int):
    """TextAttack's greedy word swap (WIR, delete) with the given replacement function."""
    from textattack import Attack
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import RepeatModification
    from textattack.goal_functions import UntargetedClassification
    from textattack.models.wrappers import HuggingFaceModelWrapper
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwap

    class TableSwap(WordSwap):
        def _get_replacement_words(self, word):
            return candidates(word)

    wrapper = HuggingFaceModelWrapper(clf, tok)
    goal = UntargetedClassification(wrapper, model_batch_size=batch_size)
    constraints = [RepeatModification(), MaxWordsPerturbed(max_num_words=max_words)]
    return Attack(goal, constraints, TableSwap(), GreedyWordSwapWIR(wir_method="delete"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="NLI pairs to attack (default 200)")
    ap.add_argument("--lang", default="L0", help="toy language of the attacked pairs")
    ap.add_argument("--preset", default="ci", help="lab preset of the victim (default ci)")
    ap.add_argument("--k", type=int, default=8, help="neighbours per word in the table")
    ap.add_argument("--max-words", type=int, default=2, help="changed words per pair")
    ap.add_argument("--batch-size", type=int, default=32, help="model batch size (both)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--seed", type=int, default=0)
    add_common_arguments(ap, repeats=5)
    args = ap.parse_args(argv)
    precs = precisions(args)

    ta, notes = import_textattack()
    if ta is None:
        for note in notes:
            print(note)
        print("TextAttack is not available, so there is nothing to compare with; install it "
              "(see the module docstring) and run again. (Not an error: exiting 0.)")
        return 0

    load = LoadGuard()
    refused = load.before(args.allow_loaded)
    if refused is not None:
        return refused

    import transformers

    from xtutor.attacks import Victim, WordSubstitution, embedding_neighbour_table
    from xtutor.attacks import word_substitution as xt_word_substitution

    torch.set_num_threads(args.threads)
    world, clf, tok, data = build_victim(args.preset, args.seed, args.lang, args.n)
    table = embedding_neighbour_table(clf, tok, world.vocabulary([args.lang]), k=args.k)
    sub = WordSubstitution(table, max_candidates=args.k)
    xt_attack = xt_word_substitution(table, max_word_fraction=1.0, max_words=args.max_words,
                                     max_candidates=args.k, scoring="delete")
    ta_attack = textattack_attack(ta, clf, tok, sub.candidates, args.max_words,
                                  args.batch_size)
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult

    Victim.from_model(clf, tok, data.label_names)  # label order check
    warm = data.subset(min(10, len(data)))
    victims: dict[str, Victim] = {}  # the last pass's victim per precision (its counters)
    ta_queries: dict[str, int] = {}

    def xtutor_pass(precision: str, examples):
        def run() -> list[str]:
            victim = Victim.from_model(clf, tok, data.label_names, batch_size=args.batch_size,
                                       precision=precision)
            victims[precision] = victim
            return [r.status for r in xt_attack.run(victim, examples).results]
        return run

    def textattack_pass(precision: str, examples):
        def run() -> list[str]:
            out, queries = [], 0
            with other_precision(precision, clf):
                for e in examples:
                    res = ta_attack.attack(OrderedDict(premise=e.premise,
                                                       hypothesis=e.hypothesis), e.label)
                    queries += int(getattr(res, "num_queries", 0) or 0)
                    out.append("skipped" if isinstance(res, SkippedAttackResult) else
                               "failed" if isinstance(res, FailedAttackResult) else "succeeded")
            ta_queries[precision] = queries
            return out
        return run

    calls = ForwardCounter(clf)  # the same model object serves both libraries

    def xtutor_counts(precision: str) -> dict[str, int]:
        v = victims[precision]
        return {"forward passes": calls.count, "queries": v.queries, "cache hits": v.cache_hits}

    def textattack_before() -> None:
        calls.reset()
        ta_attack.clear_cache()

    sides = []
    for p in precs:
        sides += [Side(f"xtutor:{p}", "xtutor.attacks", p, xtutor_pass(p, data),
                       warmup=xtutor_pass(p, warm), before=calls.reset,
                       counts=lambda p=p: xtutor_counts(p)),
                  Side(f"textattack:{p}", "TextAttack", p, textattack_pass(p, data),
                       warmup=textattack_pass(p, warm), before=textattack_before,
                       counts=lambda p=p: {"forward passes": calls.count,
                                           "queries": ta_queries[p]})]
    with calls:
        results = run_alternating(sides, args.repeats)
    load.after()

    def rate(st: list[str]) -> tuple[float, int, int, int]:
        s, f, k = st.count("succeeded"), st.count("failed"), st.count("skipped")
        return (s / (s + f) if s + f else 0.0), s, f, k

    print(f"word-substitution attack benchmark: toy NLI victim (lab preset {args.preset!r}, "
          f"fine-tuned on L0), {args.n} pairs in {args.lang}, {args.k} embedding neighbours "
          f"per word, at most {args.max_words} changed words, greedy-WIR (delete), model batch "
          f"{args.batch_size}, CPU, {torch.get_num_threads()} threads, precision "
          f"{', '.join(precs)} (TextAttack bf16: torch.autocast('cpu', bfloat16), logits cast "
          f"to fp32), {args.repeats} timed passes each (order reversed every repeat)")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"textattack {metadata.version('textattack')}")
    for note in notes:
        print(f"note: {note}")
    if "bf16" in precs and bf16_note():
        print(bf16_note())
    ratios = library_ratios("textattack", "TextAttack", precs)
    extra = {}
    for key, r in results.items():
        sr, s, f, k = rate(r.output)
        extra[key] = {"success rate": f"{sr:.3f}", "succ/fail/skip": f"{s}/{f}/{k}"}
    print_table(results, ratios, load, extra=extra)

    def agree(a: str, b: str) -> int:
        return sum(x == y for x, y in zip(results[a].output, results[b].output, strict=True))

    for p in precs:
        n_same = agree(f"xtutor:{p}", f"textattack:{p}")
        print(f"per-example outcome agreement xtutor vs TextAttack, {p}: {n_same}/{len(data)}")
        if n_same != len(data):
            print(f"WARNING: the outcomes differ at {p}; the two do not run the same search "
                  f"there")
    if len(precs) == 2:
        for lib, label in (("xtutor", "xtutor"), ("textattack", "TextAttack")):
            print(f"bf16 vs fp32 outcome agreement, {label}: "
                  f"{agree(f'{lib}:bf16', f'{lib}:fp32')}/{len(data)}")
    print(summary_line(results, ratios, load, "attack"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
