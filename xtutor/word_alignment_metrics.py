"""Scoring word alignments: AER, precision and recall against gold links, and a UPOS proxy.

- :func:`aer`, :func:`alignment_scores`, :func:`corpus_scores`, :func:`corpus_aer`: alignment
  error rate (Och & Ney, 2003), precision and recall against sure (``S``) and possible (``P``,
  with ``S`` included) gold links; corpus scores are micro-averaged (link counts summed over
  sentences before dividing), as in the standard evaluation scripts.
- :func:`pos_agreement`: on treebanks with no gold alignment (UD PUD), the fraction of links
  whose two words carry the same UPOS tag. It is a gold-free *proxy* only: translations change
  parts of speech legitimately, so a perfect aligner scores below 1; compare aligners or layers
  with it, against :func:`pos_chance_agreement` (random pairing of the words).

Links are ``(i, j)`` pairs of 0-based word indices, as produced by
:mod:`xtutor.word_alignment_methods`.

Example:
    >>> aer({(0, 1), (1, 0)}, sure={(0, 1)}, possible={(1, 0)})
    0.0
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xtutor.word_alignment_methods import Link


# ----------------------------------------------------------------- scoring
@dataclass(frozen=True)
class AlignmentScores:
    """Precision, recall, F1 and AER of predicted links, with the counts behind them.

    ``precision = |A ∩ P| / |A|``, ``recall = |A ∩ S| / |S|``,
    ``AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)``, with ``P ⊇ S``. Empty denominators give
    1.0 for precision and recall (nothing predicted, nothing wrong; nothing to find) and 0.0 AER.
    """

    precision: float
    recall: float
    f1: float
    aer: float
    n_predicted: int
    n_sure: int
    n_pred_sure: int
    n_pred_possible: int


def _link_set(links: Iterable[Link], name: str) -> set[Link]:
    if isinstance(links, str | bytes):
        raise TypeError(f"{name} must be a collection of (i, j) pairs")
    out: set[Link] = set()
    for x in links:
        try:
            i, j = (operator.index(v) for v in x)
        except (TypeError, ValueError):
            i = j = -1
        if isinstance(x, str | bytes) or i < 0 or j < 0 or any(isinstance(v, bool) for v in x):
            raise ValueError(f"{name} holds {x!r}; links must be (i, j) pairs of "
                             f"non-negative word indices")
        out.add((i, j))
    return out


def _scores(n_pred: int, n_sure: int, a_s: int, a_p: int) -> AlignmentScores:
    precision = a_p / n_pred if n_pred else 1.0
    recall = a_s / n_sure if n_sure else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    err = 1.0 - (a_s + a_p) / (n_pred + n_sure) if n_pred + n_sure else 0.0
    return AlignmentScores(precision, recall, f1, err, n_pred, n_sure, a_s, a_p)


def _counts(predicted: Iterable[Link], sure: Iterable[Link],
            possible: Iterable[Link] | None) -> tuple[int, int, int, int]:
    a = _link_set(predicted, "predicted")
    s = _link_set(sure, "sure")
    p = s | (_link_set(possible, "possible") if possible is not None else set())
    return len(a), len(s), len(a & s), len(a & p)


def alignment_scores(predicted: Iterable[Link], sure: Iterable[Link],
                     possible: Iterable[Link] | None = None) -> AlignmentScores:
    """Scores of one sentence pair's links (``possible`` defaults to the sure links only).

    Example:
        >>> sc = alignment_scores({(0, 0), (1, 2)}, sure={(0, 0), (1, 1)})
        >>> sc.precision, sc.recall, sc.aer
        (0.5, 0.5, 0.5)
    """
    return _scores(*_counts(predicted, sure, possible))


def aer(predicted: Iterable[Link], sure: Iterable[Link],
        possible: Iterable[Link] | None = None) -> float:
    """Alignment error rate (Och & Ney 2003) of one sentence pair; lower is better.

    Example:
        >>> aer({(0, 0), (1, 1)}, sure={(0, 0)}, possible={(1, 1)})
        0.0
        >>> round(aer({(0, 0), (1, 1)}, sure={(0, 0), (2, 2)}), 4)
        0.5
    """
    return alignment_scores(predicted, sure, possible).aer


def corpus_scores(predicted: Sequence[Iterable[Link]], sure: Sequence[Iterable[Link]],
                  possible: Sequence[Iterable[Link] | None] | None = None) -> AlignmentScores:
    """Micro-averaged scores over sentence pairs: link counts are summed, then divided.

    Example:
        >>> corpus_scores([{(0, 0)}, {(0, 1)}], [{(0, 0)}, {(0, 0), (1, 1)}]).recall
        0.3333333333333333
    """
    if len(predicted) != len(sure):
        raise ValueError(f"predicted has {len(predicted)} sentence pairs but sure has "
                         f"{len(sure)}")
    if possible is not None and len(possible) != len(sure):
        raise ValueError(f"possible has {len(possible)} sentence pairs but sure has {len(sure)}")
    if len(sure) == 0:
        raise ValueError("no sentence pairs to score")
    tot = [0, 0, 0, 0]
    for k in range(len(sure)):
        c = _counts(predicted[k], sure[k], None if possible is None else possible[k])
        tot = [t + x for t, x in zip(tot, c, strict=True)]
    return _scores(*tot)


def corpus_aer(predicted: Sequence[Iterable[Link]], sure: Sequence[Iterable[Link]],
               possible: Sequence[Iterable[Link] | None] | None = None) -> float:
    """Micro-averaged AER over sentence pairs (:func:`corpus_scores`' ``aer``)."""
    return corpus_scores(predicted, sure, possible).aer


# ----------------------------------------------------------------- gold-free proxy (UD)
def _check_upos_pairs(pairs: Sequence[tuple[Any, Any]]) -> None:
    if len(pairs) == 0:
        raise ValueError("pairs is empty")
    for k, pair in enumerate(pairs):
        if len(pair) != 2 or not all(hasattr(s, "upos") for s in pair):
            raise ValueError(f"pairs[{k}] must be two sentences with .upos tags "
                             f"(UDSentence objects)")


def pos_agreement(pairs: Sequence[tuple[Any, Any]], alignments: Sequence[Iterable[Link]]
                  ) -> float:
    """Fraction of links whose two words have the same UPOS tag (micro-averaged).

    ``pairs`` are ``(source, target)`` sentences with ``.upos`` (e.g. from
    :func:`xtutor.data.ud.load_pud_parallel`) and ``alignments[k]`` the links of pair ``k``. A
    gold-free proxy of alignment quality, not an accuracy: translation changes parts of speech
    (a German compound for an English adjective + noun), so even gold alignments score below 1.

    Example:
        >>> from types import SimpleNamespace as S
        >>> en, de = S(upos=("DET", "NOUN", "VERB")), S(upos=("DET", "NOUN", "AUX"))
        >>> pos_agreement([(en, de)], [{(0, 0), (1, 1), (2, 2)}])
        0.6666666666666666
    """
    _check_upos_pairs(pairs)
    if len(alignments) != len(pairs):
        raise ValueError(f"{len(pairs)} sentence pairs but {len(alignments)} alignments")
    same = total = 0
    for k, ((a, b), links) in enumerate(zip(pairs, alignments, strict=True)):
        for i, j in _link_set(links, f"alignments[{k}]"):
            if i >= len(a.upos) or j >= len(b.upos):
                raise ValueError(f"alignments[{k}] links ({i}, {j}) but the sentences have "
                                 f"{len(a.upos)} and {len(b.upos)} words")
            same += a.upos[i] == b.upos[j]
            total += 1
    if total == 0:
        raise ValueError("the alignments hold no links: agreement is undefined")
    return same / total


def pos_chance_agreement(pairs: Sequence[tuple[Any, Any]]) -> float:
    """UPOS agreement of a random pairing: over all ``(i, j)`` word pairs of every sentence pair.

    The baseline for :func:`pos_agreement` (micro-averaged over all cross-sentence word pairs).

    Example:
        >>> from types import SimpleNamespace as S
        >>> pos_chance_agreement([(S(upos=("DET", "NOUN")), S(upos=("NOUN", "NOUN")))])
        0.5
    """
    _check_upos_pairs(pairs)
    same = total = 0
    for a, b in pairs:
        tags_b: dict[str, int] = {}
        for t in b.upos:
            tags_b[t] = tags_b.get(t, 0) + 1
        same += sum(tags_b.get(t, 0) for t in a.upos)
        total += len(a.upos) * len(b.upos)
    if total == 0:
        raise ValueError("the sentences have no words")
    return same / total


__all__ = [
    "AlignmentScores",
    "aer",
    "alignment_scores",
    "corpus_aer",
    "corpus_scores",
    "pos_agreement",
    "pos_chance_agreement",
]
