"""Regularisers by method name: the one place that turns a fine-tuning method and its
hyperparameters into the :class:`~xtutor.regularizers.base.Regularizer` list that
:func:`xtutor.training.finetune` takes.

========== ==================================================================================
method     what is added to plain fine-tuning (``CE`` on the source language)
========== ==================================================================================
plain      nothing
pgd        PGD adversarial training on word embeddings (``adv_steps`` ascent steps, L2 ball)
freelb     FreeLB (``adv_steps`` ascent steps, gradients averaged)
free       "free" adversarial training (each batch replayed ``adv_steps`` times, same cost)
smoothing  randomized smoothing: neighbour substitution (dictionary translations) + noise
codeswitch code-switch augmentation with bilingual dictionaries
consistency KL consistency (symmetric) between a pair and its code-switched version (xTune)
contrastive the chapter-2 InfoNCE alignment on parallel sentences as an auxiliary loss
========== ==================================================================================

Example:
    >>> [r.name for r in make_regularizers("free", RegularizerSettings())]
    ['free']
    >>> make_regularizers("plain", RegularizerSettings())
    []
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xtutor.regularizers.adversarial import AdversarialConfig, AdversarialTraining
from xtutor.regularizers.base import Regularizer, WordTable
from xtutor.regularizers.codeswitch import CodeSwitch, CodeSwitchConfig
from xtutor.regularizers.consistency import ConsistencyConfig, KLConsistency
from xtutor.regularizers.contrastive import ContrastiveAlignment, ContrastiveConfig
from xtutor.regularizers.smoothing import (
    RandomizedSmoothing,
    SmoothingConfig,
    neighbours_from_dictionaries,
)

#: Every fine-tuning method, in report order.
METHODS: tuple[str, ...] = ("plain", "pgd", "freelb", "free", "smoothing", "codeswitch",
                            "consistency", "contrastive")
#: Methods that also train token classifiers (:func:`xtutor.training.tokens.finetune_tokens`):
#: every regulariser but KL consistency, which compares one prediction per example
#: (each regulariser says so itself with ``supports_tokens``).
TOKEN_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m != "consistency")
#: Methods that need bilingual dictionaries (``tables``) or parallel sentences (``parallel``).
NEEDS_DICTIONARIES: frozenset[str] = frozenset({"smoothing", "codeswitch", "consistency"})
NEEDS_PARALLEL: frozenset[str] = frozenset({"contrastive"})


@dataclass(frozen=True)
class RegularizerSettings:
    """Hyperparameters of the fine-tuning methods (one field group per method).

    Attributes:
        adv_steps, adv_step_size, adv_epsilon, adv_norm: ``pgd``/``freelb``/``free``
            (``free`` replays each batch ``adv_steps`` times).
        smoothing_rate, smoothing_noise: ``smoothing``.
        codeswitch_rate: ``codeswitch`` and the code-switched view of ``consistency``.
        consistency_weight: ``consistency``.
        contrastive_weight, contrastive_pairs, contrastive_batch: ``contrastive``
            (``contrastive_pairs``: parallel pairs a setup provides).

    Example:
        >>> RegularizerSettings(adv_norm="l1")
        Traceback (most recent call last):
        ...
        ValueError: AdversarialConfig: norm must be 'l2' or 'linf', got 'l1'
    """

    adv_steps: int = 2
    adv_step_size: float = 0.025
    adv_epsilon: float = 0.05
    adv_norm: str = "l2"
    smoothing_rate: float = 0.15
    smoothing_noise: float = 0.02
    codeswitch_rate: float = 0.3
    consistency_weight: float = 1.0
    contrastive_weight: float = 0.5
    contrastive_pairs: int = 1000
    contrastive_batch: int = 16

    def __post_init__(self) -> None:  # the methods' own configs check the numbers
        self.adversarial("pgd")
        SmoothingConfig(self.smoothing_rate, self.smoothing_noise)
        CodeSwitchConfig(self.codeswitch_rate)
        ConsistencyConfig(self.consistency_weight)
        ContrastiveConfig(weight=self.contrastive_weight, batch_size=self.contrastive_batch)
        if self.contrastive_pairs < 2:
            raise ValueError(f"contrastive_pairs must be >= 2, got {self.contrastive_pairs}")

    def adversarial(self, method: str) -> AdversarialConfig:
        """The :class:`~xtutor.regularizers.AdversarialConfig` of ``method``."""
        return AdversarialConfig(method=method, steps=self.adv_steps,  # type: ignore[arg-type]
                                 step_size=self.adv_step_size, epsilon=self.adv_epsilon,
                                 norm=self.adv_norm)  # type: ignore[arg-type]


def make_regularizers(method: str, settings: RegularizerSettings,
                      tables: Mapping[str, WordTable] | None = None,
                      parallel: Sequence[Any] = ()) -> list[Regularizer]:
    """The regularisers of fine-tuning ``method`` (module table).

    ``tables``: target language -> bilingual dictionary from the source language (the
    dictionary methods); ``parallel``: parallel sentence pairs (``contrastive``). A method
    whose resource is missing is refused, naming it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown fine-tuning method {method!r}; choose from {list(METHODS)}")
    tables = dict(tables or {})
    if method in NEEDS_DICTIONARIES and not tables:
        raise ValueError(f"method {method!r} needs bilingual dictionaries (tables), got none")
    if method in NEEDS_PARALLEL and len(parallel) < 2:
        raise ValueError(f"method {method!r} needs >= 2 parallel pairs, got {len(parallel)}")
    s = settings
    if method == "plain":
        return []
    if method in ("pgd", "freelb", "free"):
        return [AdversarialTraining(s.adversarial(method))]
    if method == "smoothing":
        return [RandomizedSmoothing(neighbours_from_dictionaries(tables.values()),
                                    SmoothingConfig(s.smoothing_rate, s.smoothing_noise))]
    if method == "codeswitch":
        return [CodeSwitch(tables, CodeSwitchConfig(s.codeswitch_rate))]
    if method == "consistency":
        view = CodeSwitch(tables, CodeSwitchConfig(s.codeswitch_rate))
        return [KLConsistency(ConsistencyConfig(s.consistency_weight, symmetric=True), view)]
    return [ContrastiveAlignment(parallel, ContrastiveConfig(
        weight=s.contrastive_weight, batch_size=s.contrastive_batch))]


__all__ = ["METHODS", "NEEDS_DICTIONARIES", "NEEDS_PARALLEL", "TOKEN_METHODS",
           "RegularizerSettings", "make_regularizers"]
