"""Training: MLM pretraining and pair-classification fine-tuning.

Example:
    >>> from xtutor.training import MLMConfig, FinetuneConfig
    >>> MLMConfig(steps=10).steps, FinetuneConfig(epochs=1).epochs
    (10, 1)
"""

from xtutor.training.classify import (
    FinetuneConfig,
    classifier_from_encoder,
    finetune,
)
from xtutor.training.mlm import MLMConfig, mask_tokens, pretrain_mlm

__all__ = [
    "FinetuneConfig", "MLMConfig", "classifier_from_encoder", "finetune", "mask_tokens",
    "pretrain_mlm",
]
