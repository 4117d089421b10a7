"""When an attack has won.

:class:`Untargeted`: the attack succeeds as soon as the victim no longer predicts the gold
label; its search score is the cross-entropy loss on the gold label (higher is better for the
attacker). Examples the victim already gets wrong are *skipped* (there is nothing to attack).
:class:`Targeted` wants one given label instead.

Example:
    >>> import numpy as np
    >>> g = Untargeted()
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    >>> g.succeeded(logits, 0).tolist(), g.skip(logits[1], 0)
    ([False, True], True)
    >>> bool(g.score(logits, 0)[1] > g.score(logits, 0)[0])
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of a ``(n, k)`` (or ``(k,)``) array."""
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Goal(Protocol):
    """Decides skipping, success and the score the search maximises."""

    name: str

    def skip(self, logits: np.ndarray, label: int) -> bool:
        """Whether an example with clean ``logits`` (shape ``(k,)``) is not attacked."""
        ...

    def succeeded(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Boolean per row of ``logits`` ``(n, k)``."""
        ...

    def score(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Score per row (higher: closer to success)."""
        ...


@dataclass(frozen=True)
class Untargeted:
    """Win when the prediction is no longer the gold label; score = loss on the gold label."""

    name: str = "untargeted"

    def skip(self, logits: np.ndarray, label: int) -> bool:
        """Already misclassified."""
        return int(np.argmax(logits)) != label

    def succeeded(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Rows whose argmax is not ``label``."""
        return np.asarray(logits).argmax(axis=1) != label

    def score(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Cross-entropy of each row against ``label``."""
        return -log_softmax(np.asarray(logits, dtype=np.float64))[:, label]


@dataclass(frozen=True)
class Targeted:
    """Win when the victim predicts ``target``; examples with gold label ``target`` or already
    predicted as ``target`` are skipped.

    Example:
        >>> import numpy as np
        >>> Targeted(2).succeeded(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), 0).tolist()
        [True, False]
    """

    target: int
    name: str = "targeted"

    def __post_init__(self) -> None:
        if not isinstance(self.target, int) or self.target < 0:
            raise ValueError(f"target must be a label index >= 0, got {self.target!r}")

    def skip(self, logits: np.ndarray, label: int) -> bool:
        """Gold label is the target, or the clean prediction is wrong."""
        return label == self.target or int(np.argmax(logits)) != label

    def succeeded(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Rows whose argmax is the target."""
        return np.asarray(logits).argmax(axis=1) == self.target

    def score(self, logits: np.ndarray, label: int) -> np.ndarray:
        """Log-probability of the target."""
        return log_softmax(np.asarray(logits, dtype=np.float64))[:, self.target]
