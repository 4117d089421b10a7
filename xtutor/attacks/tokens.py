"""Attacks on a tagger: character noise and dictionary code-switching of words, tags kept.

A word-level transformation of :mod:`xtutor.attacks.transformations` proposes replacements for
a word's core (its punctuation stays, :mod:`xtutor.attacks.words`); the word keeps its gold
tag, since a typo does not change a word's part of speech, and a translation is assumed to
keep it (which :func:`attack_tokens` checks where it can: see ``pos_disagreement``).

The search is **random with a budget, worst of** ``tries``: in each sentence, ``k =
max(1, floor(word_fraction * words))`` of the words that have candidates are drawn at random
and each is replaced by a random candidate; this is done ``tries`` times independently, all
tries of all sentences are tagged in one batched call, and per sentence the try with the most
tagging errors is kept (ties: the first). ``tries=1`` is plain random noise; more tries make
it a black-box attack that spends ``tries`` queries per sentence. The draws depend only on
``seed``, the attack and the sentences (their ids), so every model is attacked with the same
candidates.

Code-switching also reports how often the dictionary's word has another part of speech than
the source word's gold tag, where the switched word's language has a tagged lexicon
(:func:`xtutor.data.tokens.pos_lexicon`): the word is *known* when it occurs in the lexicon,
and *disagrees* when none of its tags there is the gold tag. A high rate means the "gold" tag
kept by the attack is doubtful for those words.

Example:
    >>> import numpy as np
    >>> from xtutor.attacks.transformations import CodeSwitch
    >>> from xtutor.data.tokens import TokenSentence, TokenDataset, UPOS_TAGS
    >>> data = TokenDataset("udpos", UPOS_TAGS, [TokenSentence(("the", "dog", "."),
    ...                                                        (5, 7, 12), "en")])
    >>> cs = CodeSwitch({"de": {"dog": ["Hund"]}})
    >>> tag_all_nouns = lambda sents: [np.full(len(s.words), 7) for s in sents]
    >>> res = attack_tokens(tag_all_nouns, data, cs, TokenAttackConfig(word_fraction=1.0),
    ...                     lexicons={"de": {"hund": frozenset({"NOUN"})}})
    >>> res.perturbed[0].words, res.perturbed[0].tags, res.pos_known, res.pos_disagree
    (('the', 'Hund', '.'), (5, 7, 12), 1, 0)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xtutor.attacks.transformations import CodeSwitch, Transformation, invert
from xtutor.attacks.words import core, replace_core
from xtutor.data.tokens import TokenDataset, TokenSentence
from xtutor.results import Record

#: The attacks on taggers, by record name.
TOKEN_ATTACKS: tuple[str, ...] = ("char_noise", "code_switch")
#: ``sentences -> one array of predicted tag ids per sentence`` (e.g. a partial
#: :func:`xtutor.training.tokens.predict_tokens`).
Tagger = Callable[[Sequence[TokenSentence]], Sequence[np.ndarray]]


@dataclass(frozen=True)
class TokenAttackConfig:
    """Budget of a token attack (module docstring).

    Attributes:
        word_fraction: at most this fraction of a sentence's words change (at least one, when
            a word has candidates).
        tries: random perturbations per sentence; the one with the most errors is kept.
        seed: seeds the draws (with the attack's name and the sentence ids).

    Example:
        >>> TokenAttackConfig(word_fraction=0)
        Traceback (most recent call last):
        ...
        ValueError: TokenAttackConfig.word_fraction must be in (0, 1], got 0
    """

    word_fraction: float = 0.2
    tries: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.word_fraction, bool) or not 0 < self.word_fraction <= 1:
            raise ValueError(f"TokenAttackConfig.word_fraction must be in (0, 1], got "
                             f"{self.word_fraction!r}")
        if isinstance(self.tries, bool) or not isinstance(self.tries, int) or self.tries < 1:
            raise ValueError(f"TokenAttackConfig.tries must be an int >= 1, got {self.tries!r}")


@dataclass
class TokenAttackResult:
    """What :func:`attack_tokens` returns for one attack on one dataset.

    Attributes:
        attack: the transformation's name. original / perturbed: the sentences before and
            after (same tags). clean / attacked: the tagger's predictions on them.
        changed: per sentence, the positions of the changed words.
        pos_known, pos_disagree: code-switching only: switched words found in their
            language's lexicon, and those of them whose lexicon tags exclude the gold tag.
    """

    attack: str
    original: list[TokenSentence]
    perturbed: list[TokenSentence]
    clean: list[np.ndarray]
    attacked: list[np.ndarray]
    changed: list[tuple[int, ...]]
    pos_known: int = 0
    pos_disagree: int = 0
    tag_names: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_words(self) -> int:
        """Words attacked (all words of the sentences)."""
        return sum(len(s) for s in self.original)

    @property
    def n_changed(self) -> int:
        """Words changed."""
        return sum(len(c) for c in self.changed)

    def _accuracy(self, preds: list[np.ndarray]) -> float:
        right = sum(int((np.asarray(p) == np.asarray(s.tags)).sum())
                    for p, s in zip(preds, self.original, strict=True))
        return right / self.n_words

    @property
    def clean_accuracy(self) -> float:
        """Tag accuracy on the original sentences."""
        return self._accuracy(self.clean)

    @property
    def attacked_accuracy(self) -> float:
        """Tag accuracy on the perturbed sentences (gold tags unchanged)."""
        return self._accuracy(self.attacked)

    def records(self, *, experiment: str, model: str, method: str, task: str, train_lang: str,
                eval_lang: str, seed: int) -> list[Record]:
        """Unstamped records: ``clean_accuracy``, ``attacked_accuracy`` (``n``: words),
        ``words_changed_fraction``; for code-switching also ``codeswitch_pos_known``
        (``n``: switched words) and ``codeswitch_pos_disagreement`` (``n``: known words; left
        out when no switched word is known)."""
        def rec(metric: str, value: float, n: int) -> Record:
            return Record(experiment=experiment, model=model, method=method, task=task,
                          train_lang=train_lang, eval_lang=eval_lang, metric=metric,
                          value=float(value), n=int(n), seed=seed, attack=self.attack)

        out = [rec("clean_accuracy", self.clean_accuracy, self.n_words),
               rec("attacked_accuracy", self.attacked_accuracy, self.n_words),
               rec("words_changed_fraction", self.n_changed / self.n_words, self.n_words)]
        if self.attack == "code_switch":
            out.append(rec("codeswitch_pos_known",
                           self.pos_known / self.n_changed if self.n_changed else 0.0,
                           self.n_changed))
            if self.pos_known:
                out.append(rec("codeswitch_pos_disagreement",
                               self.pos_disagree / self.pos_known, self.pos_known))
        return out


def _candidates(transformation: Transformation, word: str) -> list[str]:
    c = core(word)
    return [replace_core(word, x) for x in transformation.candidates(c)] if c else []


def _rng(seed: int, attack: str, sentence: TokenSentence, index: int, k: int
         ) -> random.Random:
    # keyed on the sentence id (its position when it has none), so a subset draws the same
    key = sentence.id or f"#{index}"
    return random.Random(f"{seed}\x00{attack}\x00{sentence.lang}\x00{key}\x00{k}")


def attack_tokens(tagger: Tagger, data: TokenDataset | Sequence[TokenSentence],
                  transformation: Transformation, config: TokenAttackConfig | None = None, *,
                  lexicons: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
                  tag_names: Sequence[str] | None = None) -> TokenAttackResult:
    """Attack every sentence of ``data`` with ``transformation`` (random search with a budget,
    worst of ``config.tries``; module docstring); tags are never changed.

    Args:
        tagger: ``sentences -> predicted tag ids per sentence`` (one call per attack).
        data: the sentences (with gold tags).
        transformation: e.g. :class:`~xtutor.attacks.transformations.CharNoise` or
            :class:`~xtutor.attacks.transformations.CodeSwitch`.
        config: :class:`TokenAttackConfig`.
        lexicons: code-switching only: language -> lower-cased word -> tag names, to count
            how often a switched word's part of speech disagrees with the gold tag.
        tag_names: the tag names (default ``data.tag_names``; needed with ``lexicons`` when
            ``data`` is a plain list).
    """
    config = config or TokenAttackConfig()
    sents = list(data.sentences if isinstance(data, TokenDataset) else data)
    if not sents:
        raise ValueError("attack_tokens: data holds no sentences")
    names = tuple(tag_names if tag_names is not None else
                  data.tag_names if isinstance(data, TokenDataset) else ())
    if lexicons and not names:
        raise ValueError("attack_tokens: lexicons need tag_names (or a TokenDataset)")
    name = getattr(transformation, "name", type(transformation).__name__)
    tries: list[list[tuple[TokenSentence, tuple[int, ...]]]] = []
    for n, s in enumerate(sents):
        cands = [_candidates(transformation, w) for w in s.words]
        eligible = [i for i, c in enumerate(cands) if c]
        k = min(len(eligible), max(1, math.floor(config.word_fraction * len(s))))
        mine = []
        for t in range(config.tries if eligible else 1):
            rng = _rng(config.seed, name, s, n, t)
            pos = tuple(sorted(rng.sample(eligible, k)))
            words = list(s.words)
            for i in pos:
                words[i] = cands[i][rng.randrange(len(cands[i]))]
            mine.append((s.with_words(words), pos))
        tries.append(mine)
    clean = [np.asarray(p) for p in tagger(sents)]
    flat = [x for mine in tries for x, _ in mine]
    preds = [np.asarray(p) for p in tagger(flat)]
    perturbed, attacked, changed = [], [], []
    j = 0
    for s, mine in zip(sents, tries, strict=True):
        errors = [int((preds[j + t] != np.asarray(s.tags)).sum()) for t in range(len(mine))]
        best = int(np.argmax(errors))
        perturbed.append(mine[best][0])
        changed.append(mine[best][1])
        attacked.append(preds[j + best])
        j += len(mine)
    known = disagree = 0
    if lexicons and isinstance(transformation, CodeSwitch):
        for s, p, pos in zip(sents, perturbed, changed, strict=True):
            for i in pos:
                word = core(p.words[i])
                lang = transformation.language_of(word)
                tags = (lexicons.get(lang) or {}).get(word.lower()) if lang else None
                if tags is not None:
                    known += 1
                    disagree += names[s.tags[i]] not in tags
    return TokenAttackResult(name, sents, perturbed, clean, attacked, changed, known, disagree,
                             names)


def token_dictionaries(lang: str, targets: Sequence[str], muse_dir: str | Path
                       ) -> dict[str, dict[str, list[str]]]:
    """Code-switching dictionaries for sentences in ``lang`` from the MUSE folder: English
    switches into each of ``targets`` that has an ``en-xx`` file; another language switches
    into English through its ``en-<lang>`` file read backwards; none when there is no file
    (leave code-switching out for that language).

    Example:
        >>> sorted(token_dictionaries("en", ["de", "fr"], "muse"))  # doctest: +SKIP
        ['de', 'fr']
    """
    from xtutor.data.muse import load_muse, muse_pairs

    have = set(muse_pairs(muse_dir))
    if lang == "en":
        return {t: load_muse("en", t, muse_dir).to_dict() for t in targets
                if t != "en" and ("en", t) in have}
    if ("en", lang) in have:
        return {"en": invert(load_muse("en", lang, muse_dir))}
    return {}


__all__ = ["TOKEN_ATTACKS", "Tagger", "TokenAttackConfig", "TokenAttackResult",
           "attack_tokens", "token_dictionaries"]
