"""Example types for the tasks that are not sentence-pair classification.

* :class:`ParallelCorpus` -- line-aligned translations (Tatoeba, bitext retrieval).
* :class:`Dictionary` -- a bilingual word dictionary with many translations per word (MUSE).
* :class:`UDSentence` -- one Universal Dependencies sentence (PUD).
* :class:`SentenceExample` / :class:`SentenceDataset` -- single-sentence classification
  (SST-2, CoLA) and regression (STS-B, SICK relatedness; these carry a second sentence).

Sentence-pair classification uses :class:`xtutor.data.types.PairDataset`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass
class ParallelCorpus:
    """Two lists of sentences, line i of ``src`` translating line i of ``tgt``.

    Example:
        >>> pc = ParallelCorpus("deu", "eng", ["Hallo.", "Danke."], ["Hello.", "Thanks."])
        >>> len(pc), pc[1]
        (2, ('Danke.', 'Thanks.'))
    """

    src_lang: str
    tgt_lang: str
    src: list[str] = field(default_factory=list)
    tgt: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.src) != len(self.tgt):
            raise ValueError(
                f"ParallelCorpus {self.src_lang}-{self.tgt_lang}: {len(self.src)} source "
                f"sentences but {len(self.tgt)} target sentences; they must be line aligned"
            )

    def __len__(self) -> int:
        return len(self.src)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(zip(self.src, self.tgt, strict=True))

    def __getitem__(self, i: int) -> tuple[str, str]:
        return self.src[i], self.tgt[i]


@dataclass
class Dictionary:
    """A bilingual dictionary: ``(source_word, target_word)`` pairs in file order.

    A word may have many translations; :meth:`translations` keeps their file order.

    Example:
        >>> d = Dictionary("en", "de", [("the", "die"), ("the", "der"), ("dog", "Hund")])
        >>> d.translations("the"), d.translations("cat")
        (['die', 'der'], [])
        >>> d.to_dict()
        {'the': ['die', 'der'], 'dog': ['Hund']}
    """

    src_lang: str
    tgt_lang: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    _index: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.pairs = [(str(a), str(b)) for a, b in self.pairs]
        index: dict[str, list[str]] = {}
        for a, b in self.pairs:
            index.setdefault(a, []).append(b)
        self._index = index

    def __len__(self) -> int:
        """The number of pairs (not of distinct source words)."""
        return len(self.pairs)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def words(self) -> list[str]:
        """Distinct source words, in order of first appearance."""
        return list(self._index)

    def translations(self, word: str) -> list[str]:
        """All translations of ``word`` in file order (empty when it is not in the dictionary)."""
        return list(self._index.get(word, ()))

    def to_dict(self) -> dict[str, list[str]]:
        """``{source_word: [translations in file order]}``, keys in order of first appearance."""
        return {k: list(v) for k, v in self._index.items()}


@dataclass(frozen=True)
class UDSentence:
    """One CoNLL-U sentence: its syntactic words (multiword-token ranges and empty nodes dropped).

    ``head[i]`` is the 1-based index of token i's head (0 = root), as in CoNLL-U. ``metadata``
    holds the ``# key = value`` comments (``sent_id``, ``text``, ``text_en``, ...).

    Example:
        >>> s = UDSentence("s1", "Dogs bark.", ("Dogs", "bark", "."), ("NOUN", "VERB", "PUNCT"),
        ...                (2, 0, 2), ("nsubj", "root", "punct"), "en")
        >>> s.root, len(s)
        (1, 3)
    """

    sent_id: str
    text: str
    tokens: tuple[str, ...]
    upos: tuple[str, ...]
    head: tuple[int, ...]
    deprel: tuple[str, ...]
    lang: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        for name in ("upos", "head", "deprel"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"UDSentence {self.sent_id!r}: {name} has {len(getattr(self, name))} items "
                    f"but there are {n} tokens"
                )
        for i, h in enumerate(self.head):
            if not 0 <= h <= n:
                raise ValueError(
                    f"UDSentence {self.sent_id!r}: token {i + 1} has head {h}, expected 0..{n}"
                )

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def root(self) -> int:
        """0-based index of the first token whose head is 0 (-1 when there is none)."""
        return next((i for i, h in enumerate(self.head) if h == 0), -1)


@dataclass(frozen=True)
class SentenceExample:
    """A single-sentence (or regression) example.

    ``label`` is an int index into the dataset's ``label_names`` for classification, a float for
    regression. ``text_b`` holds the second sentence of pair regression tasks (STS-B, SICK).

    Example:
        >>> SentenceExample("a gripping film", 1, "en", "sst2-0").label
        1
    """

    text: str
    label: int | float
    lang: str
    id: str = ""
    text_b: str | None = None


@dataclass
class SentenceDataset:
    """A list of :class:`SentenceExample`; ``label_names`` is None for regression tasks.

    Example:
        >>> ds = SentenceDataset("sst2", ("negative", "positive"),
        ...                      [SentenceExample("dull", 0, "en")])
        >>> ds.label_names[ds[0].label], ds.is_regression
        ('negative', False)
        >>> SentenceDataset("stsb", None, [SentenceExample("a", 4.2, "en", text_b="b")]).labels
        [4.2]
    """

    task: str
    label_names: tuple[str, ...] | None
    examples: list[SentenceExample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.label_names is not None:
            self.label_names = tuple(self.label_names)
            if len(self.label_names) < 2:
                raise ValueError(
                    f"label_names needs at least two labels (or None for regression), "
                    f"got {self.label_names}"
                )
        k = None if self.label_names is None else len(self.label_names)
        for i, ex in enumerate(self.examples):
            if k is not None:
                ok = isinstance(ex.label, int) and not isinstance(ex.label, bool)
                if not ok or not 0 <= ex.label < k:
                    raise ValueError(
                        f"example {i} ({ex.id or 'no id'}) has label {ex.label!r}, expected an "
                        f"int in [0, {k}) for label_names {self.label_names}"
                    )
            else:
                ok = isinstance(ex.label, (int, float)) and not isinstance(ex.label, bool)
                if not ok or not math.isfinite(ex.label):
                    raise ValueError(
                        f"example {i} ({ex.id or 'no id'}) has label {ex.label!r}, expected a "
                        f"finite number for the regression task {self.task!r}"
                    )

    @property
    def is_regression(self) -> bool:
        return self.label_names is None

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[SentenceExample]:
        return iter(self.examples)

    def __getitem__(self, i: int) -> SentenceExample:
        return self.examples[i]

    @property
    def labels(self) -> list[int | float]:
        """The labels, in order."""
        return [ex.label for ex in self.examples]

    def subset(self, n: int | None = None, seed: int = 0) -> SentenceDataset:
        """A seeded random subset of ``n`` examples (all of them if ``n`` is None or larger)."""
        import random

        if n is None or n >= len(self.examples):
            return SentenceDataset(self.task, self.label_names, list(self.examples))
        if n <= 0:
            raise ValueError(f"subset size n must be positive, got {n}")
        idx = sorted(random.Random(seed).sample(range(len(self.examples)), n))
        return SentenceDataset(self.task, self.label_names, [self.examples[i] for i in idx])
