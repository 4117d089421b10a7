"""Randomized smoothing during training (Huang et al. 2021, "Improving zero-shot cross-lingual
transfer learning via robust training"): the model is trained on randomly perturbed inputs, so
that its prediction is stable in a neighbourhood of each input.

Two kinds of noise, usable together:

- *data augmentation*: each word that has neighbours (synonyms, or dictionary translations)
  is replaced, with probability ``rate``, by one of them drawn uniformly;
- *random perturbation*: Gaussian noise ``E(x) + sigma * N(0, I)`` on the word embeddings of
  real tokens.

The training loss is the usual ``CE(f(x~), y)`` on the noisy input ``x~``.

Example:
    >>> import random
    >>> from xtutor.data.types import PairExample
    >>> rs = RandomizedSmoothing({"dog": ["hound"]}, SmoothingConfig(rate=1.0, noise_std=0.0))
    >>> rs.augment(PairExample("the dog", "a dog", 0, "en", "en"), random.Random(0)).premise
    'the hound'
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from xtutor.data.types import PairExample
from xtutor.regularizers.base import (
    Regularizer,
    Sides,
    WordTable,
    as_table,
    check_rate,
    check_sides,
    gaussian_noise,
    substitute_pair,
    substitute_tokens,
)


@dataclass(frozen=True)
class SmoothingConfig:
    """Settings of :class:`RandomizedSmoothing`.

    Attributes:
        rate: probability that a word with neighbours is replaced (0 = no substitution).
        noise_std: ``sigma`` of the Gaussian noise on word embeddings (0 = none).
        sides: which sentences are perturbed (``both``, ``premise``, ``hypothesis``; token
            classification has one sentence and ignores it).

    Example:
        >>> SmoothingConfig(rate=1.5)
        Traceback (most recent call last):
        ...
        ValueError: SmoothingConfig.rate must be a number in [0, 1], got 1.5
    """

    rate: float = 0.15
    noise_std: float = 0.0
    sides: Sides = "both"

    def __post_init__(self) -> None:
        check_rate(self.rate, "SmoothingConfig.rate")
        check_sides(self.sides, "SmoothingConfig.sides")
        if not isinstance(self.noise_std, (int, float)) or not self.noise_std >= 0:
            raise ValueError(f"SmoothingConfig.noise_std must be >= 0, got {self.noise_std!r}")


def neighbours_from_dictionaries(tables: Iterable[WordTable], symmetric: bool = False
                                 ) -> dict[str, list[str]]:
    """Merge word tables into one neighbour table (``symmetric``: also target -> source).

    Example:
        >>> neighbours_from_dictionaries([[("a", "b")], [("a", "c")]], symmetric=True)
        {'a': ['b', 'c'], 'b': ['a'], 'c': ['a']}
    """
    out: dict[str, list[str]] = {}
    for i, t in enumerate(tables):
        for a, bs in as_table(t, f"tables[{i}]").items():
            for b in bs:
                for x, y in ((a, b), (b, a)) if symmetric else ((a, b),):
                    lst = out.setdefault(x, [])
                    if y not in lst:
                        lst.append(y)
    return out


class RandomizedSmoothing(Regularizer):
    """Random neighbour substitution and Gaussian embedding noise during training.

    Args:
        neighbours: a word table (``{word: [neighbours]}``, a
            :class:`~xtutor.data.corpora.Dictionary` or ``(word, neighbour)`` pairs); ``None``
            for embedding noise only.
        config: :class:`SmoothingConfig`.
    """

    name = "smoothing"
    supports_tokens = True

    def __init__(self, neighbours: WordTable | None = None,
                 config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self.table = {} if neighbours is None else as_table(neighbours, "neighbours")
        if self.config.rate > 0 and not self.table:
            raise ValueError("RandomizedSmoothing: rate > 0 needs a non-empty neighbours table "
                             "(or set rate=0 for embedding noise only)")
        if self.config.rate == 0 and self.config.noise_std == 0:
            raise ValueError("RandomizedSmoothing: rate and noise_std are both 0; nothing "
                             "would be perturbed")
        self.uses_embeddings = self.config.noise_std > 0

    def _choose(self, word: str) -> list[str]:
        return self.table.get(word, [])

    def augment(self, example: PairExample, rng: random.Random) -> PairExample:
        if self.config.rate == 0:
            return example
        return substitute_pair(example, self._choose, self.config.rate, self.config.sides, rng)

    def augment_words(self, words: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
        if self.config.rate == 0:
            return words
        return substitute_tokens(words, self._choose, self.config.rate, rng)[0]

    def perturb_embeddings(self, embeds: torch.Tensor, mask: torch.Tensor,
                           generator: torch.Generator) -> torch.Tensor:
        return gaussian_noise(embeds, mask, self.config.noise_std, generator)
