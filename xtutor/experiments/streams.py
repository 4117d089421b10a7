"""Named random streams of a seed (:class:`SeedStreams`) and the ``(model, tokenizer)`` pair
type shared by the setups (:mod:`xtutor.experiments.setups`,
:mod:`xtutor.experiments.xnli_setup`).

Example:
    >>> SeedStreams.toy(0).test
    2000
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

Encoder = tuple[PreTrainedModel, PreTrainedTokenizerBase]


@dataclass(frozen=True)
class SeedStreams:
    """The random streams of one seed, by name: each kind of data is drawn from its own
    stream, so that no test item is ever a training item and a stream means the same thing in
    every experiment.

    Attributes:
        seed: the seed itself (model initialisation, fine-tuning order).
        train, test, attack, certify, retrieval: source-language training data, clean test
            sets, attacked sets, certified sets, held-out parallel pairs for retrieval.
        parallel: parallel pairs of the contrastive auxiliary loss (toy: ``parallel + i`` for
            the ``i``-th target language).
        align: parallel pairs sampled for alignment (real text).
        shuffle: the label shuffle of the shuffled-labels control.

    Example:
        >>> SeedStreams.toy(3).attack, SeedStreams.xnli(3).train
        (4003, 3)
    """

    seed: int
    train: int
    test: int
    attack: int
    certify: int
    retrieval: int
    parallel: int
    align: int
    shuffle: int

    @classmethod
    def toy(cls, seed: int) -> SeedStreams:
        """The toy family's streams (as chapters 1-5 have always drawn them)."""
        return cls(seed, train=1_000 + seed, test=2_000 + seed, certify=3_000 + seed,
                   attack=4_000 + seed, retrieval=10_000 + seed, parallel=20_000 + 10 * seed,
                   align=20_000 + seed, shuffle=60_000 + seed)

    @classmethod
    def xnli(cls, seed: int) -> SeedStreams:
        """The XNLI setup's streams (subsets of English dev and of the test sets)."""
        return cls(seed, train=seed, test=1_000 + seed, certify=3_000 + seed,
                   attack=4_000 + seed, retrieval=5_000 + seed, parallel=seed,
                   align=30_000 + seed, shuffle=60_000 + seed)


__all__ = ["Encoder", "SeedStreams"]
