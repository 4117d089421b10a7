"""The toy family as tables and figures: its grammars, sentences, gold alignments and labels.

The book's page on the toy family is made of these calls (nothing on it is typed by hand):

- :func:`family_table`: one row per language, its script, word order, adjective placement,
  negation, morphology, shared nouns and vocabulary size, read off the
  :class:`~xtutor.toylanguages.Language` objects;
- :func:`renderings`: meanings rendered in every language, with the meaning slot each word
  expresses (an interlinear gloss);
- :func:`example_pairs` and :func:`alignment_figure`: parallel sentences with their gold word
  alignments;
- :func:`label_statistics`: the label distribution of the NLI and PAWS data per language, with
  the word overlap of the two sentences per label.

Example:
    >>> world = ToyWorld()  # the default family: four languages, seed 0
    >>> family_table(world)[["language", "script", "word order"]].values.tolist()[:2]
    [['L0', 'latin', 'SVO'], ['L1', 'greek', 'SOV']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from xtutor.data.types import NLI_LABELS, PAWS_LABELS
from xtutor.toyworld import Language, Meaning, NounPhrase, ParallelPair, Sentence, ToyWorld, Voice

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: How each negation style (:data:`xtutor.toylanguages.NEGATION_STYLES`) is written in the
#: table; ``{w}`` is the language's negation word, with a hyphen where it is an affix.
NEGATION_PLACEMENT: dict[str, str] = {
    "particle_before_verb": "particle {w} before the verb",
    "particle_after_verb": "particle {w} after the verb",
    "initial": "particle {w} at the start of the sentence",
    "final": "particle {w} at the end of the sentence",
    "prefix": "verb prefix {w}-",
    "suffix": "verb suffix -{w}",
}

#: The columns of :func:`family_table`, in order.
FAMILY_COLUMNS: tuple[str, ...] = (
    "language", "script", "word order", "adjectives", "negation", "plural", "accusative",
    "verb agreement", "passive", "shared nouns", "vocabulary",
)


def affix(form: str, prefix: bool) -> str:
    """An affix written the linguists' way: ``form-`` for a prefix, ``-form`` for a suffix.

    Example:
        >>> affix("ka", prefix=True), affix("ka", prefix=False)
        ('ka-', '-ka')
    """
    return f"{form}-" if prefix else f"-{form}"


def _grammar_row(world: ToyWorld, lang: Language) -> dict[str, object]:
    case = {"none": "none", "suffix": f"suffix {affix(lang.acc_affix, False)}",
            "particle": f"particle {lang.acc_affix} after the object"}[lang.case_marking]
    plural = (f"{'prefix' if lang.plural_is_prefix else 'suffix'} "
              f"{affix(lang.plural_affix, lang.plural_is_prefix)}")
    agreement = (f"suffix {affix(lang.agree_affix, False)} for a plural subject"
                 if lang.verb_agreement else "none")
    return {
        "language": lang.code,
        "script": lang.script,
        "word order": lang.word_order,
        "adjectives": f"{lang.adjective_position} the noun",
        "negation": NEGATION_PLACEMENT[lang.negation].format(w=lang.neg_word),
        "plural": plural,
        "accusative": case,
        "verb agreement": agreement,
        "passive": f"verb suffix {affix(lang.passive_affix, False)}, agent marker {lang.by_word}",
        "shared nouns": len(lang.anchors),
        "vocabulary": len(world.vocabulary([lang.code])),
    }


def family_table(world: ToyWorld) -> pd.DataFrame:
    """One row per language of ``world``: its grammar and lexicon, as the generator drew them.

    Columns (:data:`FAMILY_COLUMNS`): ``language`` (code), ``script``, ``word order``,
    ``adjectives`` (before/after the noun), ``negation`` (where, and the negation word),
    ``plural``, ``accusative`` (none, a suffix or a particle), ``verb agreement``, ``passive``
    (the verb suffix and the agent marker), ``shared nouns`` (how many nouns have the same
    form in every language: the world's anchors) and ``vocabulary`` (every word form the
    language can produce, :meth:`~xtutor.toyworld.ToyWorld.vocabulary`). Affixes are written
    with a hyphen where they attach (``-ka`` a suffix, ``ka-`` a prefix).

    Example:
        >>> world = ToyWorld()
        >>> t = family_table(world).set_index("language")
        >>> t.loc["L0", "negation"] == f"particle {world.language('L0').neg_word} before the verb"
        True
        >>> t["shared nouns"].tolist(), t["vocabulary"].tolist()[0] == len(world.vocabulary(["L0"]))
        ([0, 0, 0, 0], True)
    """
    return pd.DataFrame([_grammar_row(world, world.language(c)) for c in world.languages],
                        columns=list(FAMILY_COLUMNS))


def gloss_meaning(meaning: Meaning) -> str:
    """A language-free description of a meaning: entities ``e3``, attributes ``a1``, verbs ``v5``.

    Example:
        >>> m = Meaning(NounPhrase(3, (1,), plural=True), 5, NounPhrase(7), negated=True)
        >>> gloss_meaning(m)
        'not: e3 [a1, plural] v5 e7'
    """
    def np_(n: NounPhrase) -> str:
        marks = [f"a{a}" for a in n.attrs] + (["plural"] if n.plural else [])
        return f"e{n.entity}" + (f" [{', '.join(marks)}]" if marks else "")

    text = f"{np_(meaning.agent)} v{meaning.verb} {np_(meaning.patient)}"
    return f"not: {text}" if meaning.negated else text


def slot_gloss(sentence: Sentence) -> str:
    """The meaning slots of each word of a sentence, word by word (``A`` agent, ``P`` patient,
    ``V`` verb, ``A.attr3`` an agent attribute, ``NEG``, ``ACC`` case, ``BY`` agent marker);
    a word with an affix carries several slots, joined by ``+``.

    Example:
        >>> s = Sentence("L1", ("x", "y"), (frozenset({"A"}), frozenset({"NEG", "V"})))
        >>> slot_gloss(s)
        'A V+NEG'
    """
    return " ".join(_join_slots(s) for s in sentence.slots)


def _join_slots(slots: frozenset[str]) -> str:
    # the word's own slot first, the affixes' after it: "V+NEG", "P+ACC"
    return "+".join(sorted(slots, key=lambda s: (s in ("NEG", "ACC", "BY"), s)))


def renderings(world: ToyWorld, meanings: Sequence[Meaning], voice: Voice = "active"
               ) -> pd.DataFrame:
    """Each meaning rendered in every language of ``world``, with its slot gloss.

    One row per (meaning, language): ``meaning`` (:func:`gloss_meaning`), ``language``,
    ``sentence``, ``slots`` (:func:`slot_gloss`) and ``words``.

    Example:
        >>> df = renderings(ToyWorld(), [Meaning(NounPhrase(0), 1, NounPhrase(2))])
        >>> df[["language", "slots"]].values.tolist()
        [['L0', 'A V P'], ['L1', 'A P+ACC V'], ['L2', 'V A P+ACC'], ['L3', 'A V P']]
    """
    if len(meanings) == 0:
        raise ValueError("meanings is empty: nothing to render")
    rows = []
    for m in meanings:
        for code in world.languages:
            s = world.render(m, code, voice)
            rows.append({"meaning": gloss_meaning(m), "language": code, "sentence": s.text,
                         "slots": slot_gloss(s), "words": len(s.tokens)})
    return pd.DataFrame(rows)


def alignment_links(pair: ParallelPair, sep: str = ", ") -> str:
    """The gold alignment of a parallel pair as ``source–target`` word links, in source order.

    Example:
        >>> a = Sentence("L0", ("x", "y"), (frozenset({"A"}), frozenset({"V"})))
        >>> b = Sentence("L1", ("v", "u"), (frozenset({"V"}), frozenset({"A"})))
        >>> alignment_links(ParallelPair(a, b, ((0, 1), (1, 0)), None))
        'x–u, y–v'
    """
    return sep.join(f"{pair.src.tokens[i]}–{pair.tgt.tokens[j]}"
                    for i, j in sorted(pair.alignment))


def example_pairs(world: ToyWorld, src: str, tgt: str, n: int = 3, seed: int = 0
                  ) -> pd.DataFrame:
    """``n`` parallel sentences from :meth:`~xtutor.toyworld.ToyWorld.parallel` with their gold
    word alignments.

    Columns: ``meaning`` (:func:`gloss_meaning`), ``source`` and ``target`` (the sentences),
    ``alignment`` (0-based ``(source, target)`` word index pairs) and ``links`` (the same as
    words, :func:`alignment_links`). The pairs are those of ``world.parallel(src, tgt, n,
    seed)``, which :func:`alignment_figure` draws.

    Example:
        >>> df = example_pairs(ToyWorld(), "L0", "L1", n=2, seed=0)
        >>> list(df.columns), len(df)
        (['meaning', 'source', 'target', 'alignment', 'links'], 2)
    """
    pairs = world.parallel(src, tgt, n, seed=seed)
    return pd.DataFrame([{"meaning": gloss_meaning(p.meaning), "source": p.src.text,
                          "target": p.tgt.text, "alignment": p.alignment,
                          "links": alignment_links(p)} for p in pairs])


def alignment_figure(pairs: Sequence[ParallelPair], title: str = "Gold word alignments"
                     ) -> Figure:
    """The gold alignment matrices of parallel pairs, side by side: target words down, source
    words across, a filled cell (labelled with the slot) where two words express a common
    meaning slot; each panel is titled with the pair's meaning (:func:`gloss_meaning`).

    Example:
        >>> fig = alignment_figure(ToyWorld().parallel("L0", "L1", 1))
        >>> fig.axes[0].get_xlabel()
        'L0 words (source)'
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if len(pairs) == 0:
        raise ValueError("pairs is empty: nothing to draw")
    cols = [len(p.src.tokens) for p in pairs]
    rows = max(len(p.tgt.tokens) for p in pairs)
    fig, axes = plt.subplots(1, len(pairs), squeeze=False,
                             figsize=(max(0.6 * sum(cols) + 1.6 * len(pairs), 5.0),
                                      0.45 * rows + 2.0),
                             gridspec_kw={"width_ratios": cols})
    for ax, p in zip(axes[0], pairs, strict=True):
        grid = np.zeros((len(p.tgt.tokens), len(p.src.tokens)))
        for i, j in p.alignment:
            grid[j, i] = 1.0
            label = _join_slots(p.src.slots[i] & p.tgt.slots[j]).replace(".attr", ".a")
            ax.text(i, j, label, ha="center", va="center", color="white", fontsize=7)
        ax.imshow(grid, cmap="Greys", vmin=0, vmax=1.4, aspect="equal")
        ax.set_xticks(range(len(p.src.tokens)), p.src.tokens, rotation=60, ha="right")
        ax.set_yticks(range(len(p.tgt.tokens)), p.tgt.tokens)
        passive = any("BY" in slots for slots in p.src.slots)
        ax.set_title(gloss_meaning(p.meaning) + (" (passive)" if passive else ""), fontsize=9)
        ax.set_xlabel(f"{p.src.lang} words (source)")
        ax.set_ylabel(f"{p.tgt.lang} words (target)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _overlap(a: str, b: str) -> float:
    x, y = set(a.split()), set(b.split())
    return len(x & y) / len(x | y)


def label_statistics(world: ToyWorld, n: int = 300, seed: int = 0,
                     tasks: Sequence[str] = ("nli", "paws")) -> pd.DataFrame:
    """Label distribution of the world's NLI and PAWS data, per language and label.

    For each task and language of ``world``, ``n`` pairs are drawn (``world.nli(n, lang,
    seed)`` or ``world.paws(...)``, premise and hypothesis in the same language). One row per
    (task, language, label): ``pairs`` (count), ``fraction`` (of the ``n``), ``word overlap``
    (mean Jaccard overlap of the two sentences' word sets) and ``words`` (mean sentence length
    in words).

    Example:
        >>> st = label_statistics(ToyWorld(), n=30)
        >>> st.groupby(["task", "language"]).pairs.sum().unique().tolist()
        [30]
        >>> st[st.task == "nli"].label.unique().tolist()
        ['entailment', 'neutral', 'contradiction']
    """
    makers = {"nli": (world.nli, NLI_LABELS), "paws": (world.paws, PAWS_LABELS)}
    unknown = [t for t in tasks if t not in makers]
    if unknown or not tasks:
        raise ValueError(f"tasks must be a non-empty subset of {list(makers)}, got {tasks!r}")
    rows = []
    for task in tasks:
        make, names = makers[task]
        for code in world.languages:
            ds = make(n, code, seed=seed)
            for k, name in enumerate(names):
                exs = [e for e in ds if e.label == k]
                rows.append({
                    "task": task, "language": code, "label": name, "pairs": len(exs),
                    "fraction": len(exs) / n,
                    "word overlap": (sum(_overlap(e.premise, e.hypothesis) for e in exs)
                                     / len(exs)) if exs else float("nan"),
                    "words": (sum(len(e.premise.split()) + len(e.hypothesis.split())
                                  for e in exs) / (2 * len(exs))) if exs else float("nan"),
                })
    return pd.DataFrame(rows)


__all__ = [
    "FAMILY_COLUMNS",
    "NEGATION_PLACEMENT",
    "affix",
    "alignment_figure",
    "alignment_links",
    "example_pairs",
    "family_table",
    "gloss_meaning",
    "label_statistics",
    "renderings",
    "slot_gloss",
]

