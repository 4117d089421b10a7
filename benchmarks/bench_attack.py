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

Each library attacks all examples ``--repeats`` times (after a warm-up on a few examples),
alternating; the table gives best and median time, the ratio TextAttack / xtutor (above 1:
xtutor is faster), each one's success rate and the agreement of the per-example outcomes.

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
import statistics
import sys
import tempfile
import time
import types
from collections import OrderedDict
from importlib import metadata
from pathlib import Path

import torch


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
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per library")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ta, notes = import_textattack()
    if ta is None:
        for note in notes:
            print(note)
        print("TextAttack is not available, so there is nothing to compare with; install it "
              "(see the module docstring) and run again. (Not an error: exiting 0.)")
        return 0

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

    def run_xtutor() -> list[str]:
        victim = Victim.from_model(clf, tok, data.label_names, batch_size=args.batch_size)
        return [r.status for r in xt_attack.run(victim, data).results]

    def run_textattack(examples=None) -> list[str]:
        out = []
        for e in examples if examples is not None else data:
            res = ta_attack.attack(OrderedDict(premise=e.premise, hypothesis=e.hypothesis),
                                   e.label)
            out.append("skipped" if isinstance(res, SkippedAttackResult) else
                       "failed" if isinstance(res, FailedAttackResult) else "succeeded")
        return out

    warm = data.subset(min(10, len(data)))
    Victim.from_model(clf, tok, data.label_names)  # label order check
    xt_word_substitution(table, max_words=args.max_words).run(
        Victim.from_model(clf, tok, data.label_names, batch_size=args.batch_size), warm)
    run_textattack(warm)

    times: dict[str, list[float]] = {"xtutor": [], "textattack": []}
    status: dict[str, list[str]] = {}
    forwards: dict[str, int] = {}
    calls: list[int] = []
    handle = clf.register_forward_hook(lambda _m, inp, _o: calls.append(1))
    try:
        for _ in range(args.repeats):
            for name, fn in (("xtutor", run_xtutor), ("textattack", run_textattack)):
                if name == "textattack":
                    ta_attack.clear_cache()
                calls.clear()
                t0 = time.perf_counter()
                status[name] = fn()
                times[name].append(time.perf_counter() - t0)
                forwards[name] = len(calls)
    finally:
        handle.remove()

    def rate(st: list[str]) -> tuple[float, int, int, int]:
        s, f, k = st.count("succeeded"), st.count("failed"), st.count("skipped")
        return (s / (s + f) if s + f else 0.0), s, f, k

    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    agree = sum(a == b for a, b in zip(status["xtutor"], status["textattack"], strict=True))
    print(f"word-substitution attack benchmark: toy NLI victim (lab preset {args.preset!r}, "
          f"fine-tuned on L0), {args.n} pairs in {args.lang}, {args.k} embedding neighbours "
          f"per word, at most {args.max_words} changed words, greedy-WIR (delete), model batch "
          f"{args.batch_size}, CPU, {torch.get_num_threads()} threads, {args.repeats} timed "
          f"runs each")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"textattack {metadata.version('textattack')}")
    for note in notes:
        print(f"note: {note}")
    print()
    print(f"| {'library':<26} | {'best (s)':>8} | {'median (s)':>10} | {'success rate':>12} | "
          f"{'succ/fail/skip':>14} |")
    print(f"| {'-' * 26} | {'-' * 8}:| {'-' * 10}:| {'-' * 12}:| {'-' * 14}:|")
    for name, label in (("xtutor", "xtutor.attacks"), ("textattack", "TextAttack")):
        r, s, f, k = rate(status[name])
        print(f"| {label:<26} | {best[name]:>8.2f} | {med[name]:>10.2f} | {r:>12.3f} | "
              f"{f'{s}/{f}/{k}':>14} |")
    print(f"| {'ratio TextAttack / xtutor':<26} | {best['textattack'] / best['xtutor']:>7.2f}x | "
          f"{med['textattack'] / med['xtutor']:>9.2f}x | {'':>12} | {'':>14} |")
    print()
    print("all timed runs (s): " + "; ".join(
        f"{name} " + " ".join(f"{t:.2f}" for t in times[name]) for name in times))
    print(f"per-example outcome agreement: {agree}/{len(data)}")
    print(f"model forward passes per run: xtutor {forwards['xtutor']}, TextAttack "
          f"{forwards['textattack']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
