"""Token-classification data: sentences of words with one tag each (UD part-of-speech tagging).

- :class:`TokenSentence` / :class:`TokenDataset`: words, tag ids, language and sentence id;
  the dataset holds the tag names (:data:`UPOS_TAGS` for part of speech).
- :func:`pud_pos`: the UPOS tags of one Parallel UD (PUD) treebank as a :class:`TokenDataset`
  (syntactic words, as :func:`xtutor.data.ud.read_conllu` keeps them).
- :func:`split_ids`: a seeded train/test split of sentence ids. PUD holds the same 1000
  sentences in every language, so a split by id keeps every translation of a training
  sentence out of every language's test set (:meth:`TokenDataset.select`).
- :func:`pos_lexicon`: word -> the UPOS tags it carries in a treebank (to check what a
  dictionary translation's part of speech is).

Example:
    >>> s = TokenSentence(("Dogs", "bark", "."), (7, 15, 12), "en", "s1")
    >>> ds = TokenDataset("udpos", UPOS_TAGS, [s])
    >>> [ds.tag_names[t] for t in ds[0].tags], ds.n_words
    (['NOUN', 'VERB', 'PUNCT'], 3)
    >>> split_ids(["a", "b", "c", "d"], n_train=3, n_test=1, seed=0)
    (('c', 'a', 'b'), ('d',))
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from xtutor.data.corpora import UDSentence

#: The 17 Universal Dependencies part-of-speech tags, in a fixed order (tag ids index it).
UPOS_TAGS: tuple[str, ...] = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
)


@dataclass(frozen=True)
class TokenSentence:
    """One sentence of a token-classification task: ``tags[i]`` is the tag id of ``words[i]``.

    Example:
        >>> TokenSentence(("a", "b"), (0,), "en")
        Traceback (most recent call last):
        ...
        ValueError: TokenSentence '': 2 words but 1 tags
    """

    words: tuple[str, ...]
    tags: tuple[int, ...]
    lang: str
    id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "tags", tuple(self.tags))
        if len(self.words) != len(self.tags):
            raise ValueError(f"TokenSentence {self.id!r}: {len(self.words)} words but "
                             f"{len(self.tags)} tags")
        if not self.words:
            raise ValueError(f"TokenSentence {self.id!r} has no words")
        bad = [i for i, w in enumerate(self.words) if not isinstance(w, str) or not w.strip()]
        if bad:
            raise ValueError(f"TokenSentence {self.id!r}: word {bad[0]} is empty or not a str")

    def __len__(self) -> int:
        return len(self.words)

    def with_words(self, words: Sequence[str]) -> TokenSentence:
        """The same sentence with its words replaced one for one (tags kept).

        Example:
            >>> TokenSentence(("a", "dog"), (5, 7), "en").with_words(["a", "Hund"]).words
            ('a', 'Hund')
        """
        words = tuple(words)
        if len(words) != len(self.words):
            raise ValueError(f"TokenSentence {self.id!r}: with_words needs {len(self.words)} "
                             f"words (one per tag), got {len(words)}")
        return self if words == self.words else replace(self, words=words)


@dataclass
class TokenDataset:
    """A list of :class:`TokenSentence` with its task name and tag names.

    Example:
        >>> ds = TokenDataset("udpos", ("NOUN", "VERB"), [TokenSentence(("x",), (2,), "en")])
        Traceback (most recent call last):
        ...
        ValueError: sentence 0 ('') has tag 2 at word 0, expected an int in [0, 2) for tag_names ('NOUN', 'VERB')
    """  # noqa: E501

    task: str
    tag_names: tuple[str, ...]
    sentences: list[TokenSentence] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tag_names = tuple(self.tag_names)
        if len(self.tag_names) < 2:
            raise ValueError(f"tag_names needs at least two tags, got {self.tag_names}")
        if len(set(self.tag_names)) != len(self.tag_names):
            raise ValueError(f"tag_names has duplicates: {self.tag_names}")
        k = len(self.tag_names)
        for i, s in enumerate(self.sentences):
            if not isinstance(s, TokenSentence):
                raise TypeError(f"sentences[{i}] is {type(s).__name__}, expected TokenSentence")
            bad = next((j for j, t in enumerate(s.tags)
                        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < k),
                       None)
            if bad is not None:
                raise ValueError(f"sentence {i} ({s.id!r}) has tag {s.tags[bad]!r} at word "
                                 f"{bad}, expected an int in [0, {k}) for tag_names "
                                 f"{self.tag_names}")

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self) -> Iterator[TokenSentence]:
        return iter(self.sentences)

    def __getitem__(self, i: int) -> TokenSentence:
        return self.sentences[i]

    @property
    def n_words(self) -> int:
        """The number of tagged words."""
        return sum(len(s) for s in self.sentences)

    @property
    def ids(self) -> list[str]:
        """The sentence ids, in order."""
        return [s.id for s in self.sentences]

    @property
    def languages(self) -> list[str]:
        """The distinct languages, in order of first appearance."""
        return list(dict.fromkeys(s.lang for s in self.sentences))

    def select(self, ids: Iterable[str]) -> TokenDataset:
        """The sentences whose id is in ``ids``, in the order of ``ids`` (ids this dataset
        lacks are skipped; a repeated id in ``ids`` is refused).

        Example:
            >>> ds = TokenDataset("t", ("A", "B"), [TokenSentence(("x",), (0,), "en", "s1"),
            ...                                     TokenSentence(("y",), (1,), "en", "s2")])
            >>> ds.select(["s2", "s9"]).ids
            ['s2']
        """
        ids = list(ids)
        if len(set(ids)) != len(ids):
            raise ValueError("select: ids has duplicates")
        index = {s.id: s for s in self.sentences}
        return TokenDataset(self.task, self.tag_names, [index[i] for i in ids if i in index])

    def subset(self, n: int | None = None, seed: int = 0) -> TokenDataset:
        """A seeded random subset of ``n`` sentences in dataset order (all if ``n`` is None
        or larger)."""
        if n is None or n >= len(self.sentences):
            return TokenDataset(self.task, self.tag_names, list(self.sentences))
        if n <= 0:
            raise ValueError(f"subset size n must be positive, got {n}")
        idx = sorted(random.Random(seed).sample(range(len(self.sentences)), n))
        return TokenDataset(self.task, self.tag_names, [self.sentences[i] for i in idx])

    def tag_counts(self) -> Counter[str]:
        """How often each tag occurs (by name).

        Example:
            >>> TokenDataset("t", ("A", "B"), [TokenSentence(("x", "y"), (1, 1), "en")]
            ...              ).tag_counts()
            Counter({'B': 2})
        """
        return Counter(self.tag_names[t] for s in self.sentences for t in s.tags)


def ud_pos_sentences(sentences: Iterable[UDSentence], lang: str, tag_names: Sequence[str]
                     = UPOS_TAGS) -> list[TokenSentence]:
    """:class:`UDSentence` s as :class:`TokenSentence` s of their UPOS tags; a tag outside
    ``tag_names`` (such as ``_``) is refused, naming the sentence."""
    index = {t: i for i, t in enumerate(tag_names)}
    out = []
    for s in sentences:
        bad = [t for t in s.upos if t not in index]
        if bad:
            raise ValueError(f"UD sentence {s.sent_id!r} ({lang}) has UPOS tag {bad[0]!r}, not "
                             f"one of {tuple(tag_names)}")
        out.append(TokenSentence(s.tokens, tuple(index[t] for t in s.upos), lang, s.sent_id))
    return out


def pud_pos(lang: str, root: str | os.PathLike[str] | None = None) -> TokenDataset:
    """The PUD treebank of ``lang`` as part-of-speech data (task ``udpos``, :data:`UPOS_TAGS`).

    ``root``: the PUD folder (or the ``.conllu`` file), default ``<shared data>/ud_pud``
    (:func:`xtutor.data.ud.load_pud`). Words are the treebank's syntactic words (a
    multiword token such as German ``zum`` is its two words ``zu dem``).

    Example:
        >>> en = pud_pos("en")  # doctest: +SKIP
        >>> len(en), en[0].id, en.tag_names[en[0].tags[0]]  # doctest: +SKIP
        (1000, 'n01001011', 'PUNCT')
    """
    from xtutor.data.ud import load_pud

    return TokenDataset("udpos", UPOS_TAGS, ud_pos_sentences(load_pud(lang, root), lang))


def split_ids(ids: Sequence[str], n_train: int, n_test: int | None = None, seed: int = 0
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A seeded split of sentence ids: ``n_train`` training ids and up to ``n_test`` test ids
    (``None``: all the others), disjoint, each in the shuffled order.

    Select the training sentences of the source language and the test sentences of every
    language with them (:meth:`TokenDataset.select`): with a parallel treebank, no test
    sentence is then a translation of a training sentence.

    Example:
        >>> train, test = split_ids([f"s{i}" for i in range(10)], n_train=8, seed=1)
        >>> len(train), len(test), set(train) & set(test)
        (8, 2, set())
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        raise ValueError("split_ids: ids has duplicates")
    if isinstance(n_train, bool) or not isinstance(n_train, int) or not 1 <= n_train < len(ids):
        raise ValueError(f"split_ids: n_train must be an int in [1, {len(ids)}) (the number of "
                         f"ids, leaving some to test), got {n_train!r}")
    if n_test is not None and (isinstance(n_test, bool) or not isinstance(n_test, int)
                               or n_test < 1):
        raise ValueError(f"split_ids: n_test must be an int >= 1 or None, got {n_test!r}")
    order = sorted(ids)  # the split does not depend on the file order
    random.Random(seed).shuffle(order)
    train, rest = order[:n_train], order[n_train:]
    return tuple(train), tuple(rest if n_test is None else rest[:n_test])


def pos_lexicon(data: TokenDataset) -> dict[str, frozenset[str]]:
    """Lower-cased word -> the tag names it carries anywhere in ``data``.

    Example:
        >>> ds = TokenDataset("udpos", UPOS_TAGS, [
        ...     TokenSentence(("Run", "."), (15, 12), "en"),
        ...     TokenSentence(("a", "run"), (5, 7), "en")])
        >>> sorted(pos_lexicon(ds)["run"])
        ['NOUN', 'VERB']
    """
    out: dict[str, set[str]] = {}
    for s in data:
        for w, t in zip(s.words, s.tags, strict=True):
            out.setdefault(w.lower(), set()).add(data.tag_names[t])
    return {w: frozenset(tags) for w, tags in out.items()}


__all__ = ["UPOS_TAGS", "TokenDataset", "TokenSentence", "pos_lexicon", "pud_pos", "split_ids",
           "ud_pos_sentences"]
