"""Training: MLM pretraining, pair-classification and token-classification fine-tuning, and
contrastive alignment.

Example:
    >>> from xtutor.training import MLMConfig, FinetuneConfig
    >>> MLMConfig(steps=10).steps, FinetuneConfig(epochs=1).epochs
    (10, 1)
"""

from xtutor.training.align import AlignConfig, AlignResult, align
from xtutor.training.classify import (
    FinetuneConfig,
    classifier_from_encoder,
    finetune,
)
from xtutor.training.mlm import MLMConfig, mask_tokens, pretrain_mlm
from xtutor.training.tokens import (
    finetune_tokens,
    predict_tokens,
    tagger_from_encoder,
    token_accuracy,
)

__all__ = [
    "AlignConfig", "AlignResult", "align",
    "FinetuneConfig", "MLMConfig", "classifier_from_encoder", "finetune", "mask_tokens",
    "pretrain_mlm", "finetune_tokens", "predict_tokens", "tagger_from_encoder", "token_accuracy",
]
