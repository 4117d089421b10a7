"""Batched evaluation of pair classifiers.

Example:
    >>> import numpy as np
    >>> accuracy(np.array([0, 1, 2]), [0, 1, 1])
    0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset, check_label_order
from xtutor.precision import autocast
from xtutor.progress import progress
from xtutor.results import Record


def predict_pairs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, data: PairDataset,
                  batch_size: int = 256, max_length: int = 128, show_progress: bool = False,
                  return_logits: bool = False, precision: str = "auto") -> np.ndarray:
    """Predicted labels (or logits) for every pair, batched in length order.

    Refuses a model whose ``id2label`` order differs from ``data.label_names``.
    ``precision``: ``fp32``, ``bf16``, ``fp16`` or ``auto`` (the default; :mod:`xtutor.precision`).
    """
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty: nothing to evaluate")
    check_label_order(getattr(model.config, "id2label", None), data.label_names)
    device = next(model.parameters()).device
    lengths = [len(e.premise) + len(e.hypothesis) for e in data]
    order = np.argsort(lengths, kind="stable")[::-1]
    out = np.zeros((len(data), len(data.label_names)), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(precision, device, model):
            for s in progress(range(0, len(order), batch_size), desc=f"evaluate {data.task}",
                          show=show_progress, leave=False):
                idx = order[s:s + batch_size]
                enc = tokenizer([data[i].premise for i in idx], [data[i].hypothesis for i in idx],
                                padding=True, truncation=True, max_length=max_length,
                                return_tensors="pt")
                logits = model(**{k: v.to(device) for k, v in enc.items()}).logits
                out[idx] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out if return_logits else out.argmax(1)


def accuracy(predictions: np.ndarray, labels: Sequence[int]) -> float:
    """Fraction of ``predictions`` equal to ``labels`` (same length, non-empty)."""
    labels = np.asarray(labels)
    if len(predictions) != len(labels):
        raise ValueError(f"predictions ({len(predictions)}) and labels ({len(labels)}) differ "
                         f"in length")
    if len(labels) == 0:
        raise ValueError("no labels: accuracy of an empty set is undefined")
    return float((np.asarray(predictions) == labels).mean())


def evaluate_pairs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                   data: PairDataset, batch_size: int = 256) -> float:
    """Accuracy of ``model`` on ``data``."""
    return accuracy(predict_pairs(model, tokenizer, data, batch_size), data.labels)


def evaluate_matrix(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    tests: Mapping[tuple[str, str], PairDataset], *, experiment: str,
                    model_name: str, method: str, train_lang: str, seed: int,
                    max_length: int = 128, precision: str = "auto") -> list[Record]:
    """Accuracy on each ``(premise_lang, hypothesis_lang) -> dataset`` as unstamped records
    (``eval_lang`` is the language, or ``a-b`` for a mixed pair: the generalized matrix);
    ``precision`` of the forward passes as in :mod:`xtutor.precision`.

    Example:
        >>> from xtutor.data.types import PairExample
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.training import classifier_from_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> d = w.nli(6, "L0", seed=0)
        >>> clf = classifier_from_encoder(m, d.label_names)
        >>> recs = evaluate_matrix(clf, t, {("L0", "L0"): d}, experiment="demo",
        ...                        model_name="toy", method="plain", train_lang="L0", seed=0)
        >>> recs[0].metric, recs[0].n
        ('accuracy', 6)
    """
    out = []
    for (a, b), data in tests.items():
        acc = accuracy(predict_pairs(model, tokenizer, data, max_length=max_length,
                                     precision=precision), data.labels)
        out.append(Record(experiment=experiment, model=model_name, method=method,
                          task=data.task, train_lang=train_lang,
                          eval_lang=a if a == b else f"{a}-{b}", premise_lang=a,
                          hypothesis_lang=b, metric="accuracy", value=acc, n=len(data),
                          seed=seed))
    return out
