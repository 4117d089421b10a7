"""Code-switch augmentation (CoSDA-ML, Qin et al. 2020; xTune, Zheng et al. 2021): words of a
source-language training pair are replaced by dictionary translations into other languages.

Each word found in at least one dictionary is switched with probability ``rate``; the target
language is drawn uniformly among the dictionaries that hold the word, then one of its
translations uniformly. The label is kept (translation preserves meaning); in token
classification (:meth:`CodeSwitch.augment_words`) each switched word keeps its own tag.

Dictionaries may be :class:`~xtutor.data.corpora.Dictionary` objects (``load_muse("en", "de")``),
``{word: [translations]}`` tables or ``(word, translation)`` pairs
(``ToyWorld.dictionary("L0", "L1")``), given as a list or as ``{language: table}``.

Example:
    >>> import random
    >>> from xtutor.data.types import PairExample
    >>> cs = CodeSwitch({"de": {"dog": ["Hund"]}, "fr": {"dog": ["chien"]}},
    ...                 CodeSwitchConfig(rate=1.0))
    >>> cs.augment(PairExample("a dog", "the dog", 0, "en", "en"), random.Random(1)).premise
    'a Hund'
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xtutor.data.corpora import Dictionary
from xtutor.data.types import PairExample
from xtutor.regularizers.base import (
    Regularizer,
    Sides,
    WordTable,
    as_table,
    check_rate,
    check_sides,
    substitute_pair,
    substitute_tokens,
    substitute_words,
)


@dataclass(frozen=True)
class CodeSwitchConfig:
    """Settings of :class:`CodeSwitch`.

    Attributes:
        rate: probability that a word found in a dictionary is switched.
        sides: which sentences are switched (``both``, ``premise``, ``hypothesis``; token
            classification has one sentence and ignores it).

    Example:
        >>> CodeSwitchConfig(sides="left")
        Traceback (most recent call last):
        ...
        ValueError: CodeSwitchConfig.sides must be 'both', 'premise' or 'hypothesis', got 'left'
    """

    rate: float = 0.3
    sides: Sides = "both"

    def __post_init__(self) -> None:
        check_rate(self.rate, "CodeSwitchConfig.rate")
        check_sides(self.sides, "CodeSwitchConfig.sides")


def _tables(dictionaries: Mapping[str, WordTable] | Sequence[WordTable]
            ) -> dict[str, dict[str, list[str]]]:
    if isinstance(dictionaries, Dictionary):
        dictionaries = [dictionaries]
    if isinstance(dictionaries, Mapping):
        named = list(dictionaries.items())
    elif isinstance(dictionaries, (list, tuple)):
        named = []
        for i, d in enumerate(dictionaries):
            lang = d.tgt_lang if isinstance(d, Dictionary) else f"#{i}"
            named.append((lang if lang not in dict(named) else f"{lang}#{i}", d))
    else:
        raise TypeError(f"dictionaries must be a list of word tables or {{language: table}}, "
                        f"got {type(dictionaries).__name__}")
    out = {str(lang): as_table(t, f"dictionaries[{lang!r}]") for lang, t in named}
    out = {k: v for k, v in out.items() if v}
    if not out:
        raise ValueError("dictionaries holds no word translations")
    return out


class CodeSwitch(Regularizer):
    """Code-switch augmentation of the training pairs (see the module docstring).

    Args:
        dictionaries: word tables from the training language into other languages.
        config: :class:`CodeSwitchConfig`.
    """

    name = "codeswitch"
    supports_tokens = True

    def __init__(self, dictionaries: Mapping[str, WordTable] | Sequence[WordTable],
                 config: CodeSwitchConfig | None = None) -> None:
        self.config = config or CodeSwitchConfig()
        self.tables = _tables(dictionaries)
        langs: dict[str, list[str]] = {}
        for lang, t in self.tables.items():
            for w in t:
                langs.setdefault(w, []).append(lang)
        self._langs = langs

    @property
    def languages(self) -> list[str]:
        """The languages switched into."""
        return list(self.tables)

    def _chooser(self, rng: random.Random):
        def choose(word: str) -> list[str]:
            langs = self._langs.get(word)
            if not langs:
                return []
            return self.tables[langs[rng.randrange(len(langs))] if len(langs) > 1
                               else langs[0]][word]
        return choose

    def switch(self, text: str, rng: random.Random) -> str:
        """Code-switch one sentence.

        Example:
            >>> CodeSwitch([[("a", "x")]], CodeSwitchConfig(rate=1.0)).switch("a b",
            ...                                                              random.Random(0))
            'x b'
        """
        return substitute_words(text, self._chooser(rng), self.config.rate, rng)[0]

    def augment(self, example: PairExample, rng: random.Random) -> PairExample:
        return substitute_pair(example, self._chooser(rng), self.config.rate, self.config.sides,
                               rng)

    def augment_words(self, words: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
        """Code-switch the words of one tagged sentence, one for one (each keeps its tag).

        Example:
            >>> CodeSwitch([[("dog", "Hund")]], CodeSwitchConfig(rate=1.0)).augment_words(
            ...     ("the", "dog", "."), random.Random(0))
            ('the', 'Hund', '.')
        """
        return substitute_tokens(words, self._chooser(rng), self.config.rate, rng)[0]
