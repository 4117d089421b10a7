"""Regularisers for noise-robust fine-tuning of pair classifiers, one small module each.

- :mod:`~xtutor.regularizers.adversarial`: embedding-space adversarial training (PGD, FreeLB,
  "free" adversarial training), norm-bounded, on real tokens only;
- :mod:`~xtutor.regularizers.smoothing`: randomized smoothing in training (neighbour
  substitution, Gaussian embedding noise; Huang et al. 2021);
- :mod:`~xtutor.regularizers.codeswitch`: code-switch augmentation with bilingual dictionaries;
- :mod:`~xtutor.regularizers.consistency`: KL consistency between clean and perturbed views;
- :mod:`~xtutor.regularizers.contrastive`: the contrastive alignment objective as an auxiliary
  loss on parallel pairs;
- :mod:`~xtutor.regularizers.factory`: the regularisers of a fine-tuning method by name
  (:func:`make_regularizers`, :class:`RegularizerSettings`).

Pass any combination to :func:`xtutor.training.finetune` (``regularizers=[...]``); the
interface is :class:`~xtutor.regularizers.base.Regularizer`.

Example:
    >>> from xtutor.regularizers import AdversarialTraining, AdversarialConfig, KLConsistency
    >>> [r.name for r in (AdversarialTraining(AdversarialConfig("freelb")), KLConsistency())]
    ['freelb', 'consistency']
"""

from xtutor.regularizers.adversarial import (
    AdversarialConfig,
    AdversarialTraining,
    ascend,
    init_delta,
    perturbation_norm,
    pgd_perturbation,
    project,
)
from xtutor.regularizers.base import (
    Regularizer,
    StepContext,
    as_table,
    gaussian_noise,
    substitute_words,
    token_mask,
)
from xtutor.regularizers.codeswitch import CodeSwitch, CodeSwitchConfig
from xtutor.regularizers.consistency import ConsistencyConfig, KLConsistency, kl_consistency
from xtutor.regularizers.contrastive import ContrastiveAlignment, ContrastiveConfig
from xtutor.regularizers.factory import METHODS, RegularizerSettings, make_regularizers
from xtutor.regularizers.smoothing import (
    RandomizedSmoothing,
    SmoothingConfig,
    neighbours_from_dictionaries,
)

__all__ = [
    "AdversarialConfig", "AdversarialTraining", "CodeSwitch", "CodeSwitchConfig",
    "ConsistencyConfig", "ContrastiveAlignment", "ContrastiveConfig", "KLConsistency", "METHODS",
    "RandomizedSmoothing", "Regularizer", "RegularizerSettings", "SmoothingConfig",
    "StepContext", "as_table", "ascend", "gaussian_noise", "init_delta", "kl_consistency",
    "make_regularizers", "neighbours_from_dictionaries",
    "perturbation_norm", "pgd_perturbation", "project", "substitute_words", "token_mask",
]
