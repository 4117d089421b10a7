"""Datasets as one common example type per task.

Loaders read the Hugging Face Hub when online and local files in each dataset's published
format when offline. The toy family (:mod:`xtutor.toyworld`) produces the same types, so the
same training and evaluation code serves toy, offline-real and Colab-real runs.
"""

from xtutor.data.types import (
    NLI_LABELS,
    PAWS_LABELS,
    PairDataset,
    PairExample,
    check_label_order,
)

__all__ = ["NLI_LABELS", "PAWS_LABELS", "PairDataset", "PairExample", "check_label_order"]
