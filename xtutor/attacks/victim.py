"""The attacked model: batched queries on many candidate pairs, with a query counter.

A :class:`Victim` turns a list of ``(premise, hypothesis)`` candidates into logits. Every call
is batched: candidates are sorted by length and sent through the model ``batch_size`` at a time
(:func:`xtutor.evaluation.predict_pairs` for a Hugging Face classifier), so an attack that asks
for 500 candidates at once costs ``ceil(500 / batch_size)`` forward passes, not 500.

Scores are cached per victim (``cache=True``, the default): a candidate asked for again (the
clean pair re-scored by word importance, the same code-switched sentence reached by two beam
paths, a final candidate re-scored) costs no forward pass. ``queries`` counts candidate pairs
asked for (the attack's cost in TextAttack's sense, cached or not), ``cache_hits`` those
answered from the cache, ``forward_calls`` model calls (batches of uncached pairs).

Example:
    >>> import numpy as np
    >>> def rule(pairs):  # contradiction when the hypothesis says "not"
    ...     return np.array([[0.0, 0.0, 1.0] if "not" in h.split() else [1.0, 0.0, 0.0]
    ...                      for _, h in pairs])
    >>> v = Victim.from_function(rule, ("entailment", "neutral", "contradiction"), batch_size=2)
    >>> v.logits([("a b", "a"), ("a b", "not a"), ("x", "y")]).argmax(1).tolist()
    [0, 2, 0]
    >>> v.queries, v.forward_calls
    (3, 2)
    >>> _ = v.logits([("a b", "a"), ("q", "r")])  # one cached, one new pair
    >>> v.queries, v.cache_hits, v.forward_calls
    (5, 1, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset, PairExample, check_label_order
from xtutor.evaluation import predict_pairs

Pair = tuple[str, str]
LogitsFn = Callable[[list[Pair]], np.ndarray]


class Victim:
    """A pair classifier under attack: a Hugging Face model + tokenizer, or a function.

    Use :meth:`from_model` or :meth:`from_function`; both give the same interface.
    """

    def __init__(self, label_names: Sequence[str], *, model: PreTrainedModel | None = None,
                 tokenizer: PreTrainedTokenizerBase | None = None, fn: LogitsFn | None = None,
                 batch_size: int = 256, max_length: int = 128, cache: bool = True) -> None:
        if (model is None) == (fn is None):
            raise ValueError("Victim needs exactly one of model= (with tokenizer=) or fn=")
        if model is not None and tokenizer is None:
            raise ValueError("Victim(model=...) needs tokenizer= as well")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.label_names = tuple(label_names)
        if len(self.label_names) < 2:
            raise ValueError(f"label_names needs at least two labels, got {self.label_names}")
        if model is not None:
            check_label_order(getattr(model.config, "id2label", None), self.label_names)
        self.model, self.tokenizer, self.fn = model, tokenizer, fn
        self.batch_size, self.max_length = batch_size, max_length
        self.queries = 0
        self.forward_calls = 0
        self.cache_hits = 0
        self.precision = "auto"
        self._cache: dict[Pair, np.ndarray] | None = {} if cache else None

    @classmethod
    def from_model(cls, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                   label_names: Sequence[str], batch_size: int = 256,
                   max_length: int = 128, precision: str = "auto", cache: bool = True
                   ) -> Victim:
        """A victim around a ``*ForSequenceClassification`` model (label order checked);
        ``precision`` of its forward passes as in :mod:`xtutor.precision`; ``cache``: keep
        every scored pair's logits (the model must not change while the victim is used)."""
        victim = cls(label_names, model=model, tokenizer=tokenizer, batch_size=batch_size,
                     max_length=max_length, cache=cache)
        victim.precision = precision
        return victim

    @classmethod
    def from_function(cls, fn: LogitsFn, label_names: Sequence[str],
                      batch_size: int = 256, cache: bool = True) -> Victim:
        """A victim around ``fn(list of (premise, hypothesis)) -> logits (n, n_labels)``;
        ``fn`` is called once per batch of at most ``batch_size`` pairs (a deterministic
        ``fn`` when ``cache``)."""
        return cls(label_names, fn=fn, batch_size=batch_size, cache=cache)

    def reset_counters(self) -> None:
        """Set ``queries``, ``cache_hits`` and ``forward_calls`` back to 0 (the cache stays)."""
        self.queries = 0
        self.forward_calls = 0
        self.cache_hits = 0

    def clear_cache(self) -> None:
        """Forget cached scores (after changing the model in place)."""
        if self._cache is not None:
            self._cache.clear()

    def logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Logits ``(len(pairs), n_labels)`` for candidate pairs, batched; cached pairs and
        repeats within ``pairs`` are scored once."""
        pairs = list(pairs)
        k = len(self.label_names)
        if not pairs:
            return np.zeros((0, k), dtype=np.float32)
        self.queries += len(pairs)
        if self._cache is None:
            return self._score(pairs)
        cache = self._cache
        new = list(dict.fromkeys(p for p in pairs if p not in cache))
        self.cache_hits += len(pairs) - len(new)
        if new:
            for p, row in zip(new, self._score(new), strict=True):
                cache[p] = row
        return np.stack([cache[p] for p in pairs]).astype(np.float32, copy=False)

    def _score(self, pairs: list[Pair]) -> np.ndarray:
        """Forward passes for ``pairs`` (no cache), ``batch_size`` at a time."""
        k = len(self.label_names)
        n_batches = -(-len(pairs) // self.batch_size)
        self.forward_calls += n_batches
        if self.fn is not None:
            out = np.concatenate([np.asarray(self.fn(pairs[s:s + self.batch_size]),
                                             dtype=np.float32)
                                  for s in range(0, len(pairs), self.batch_size)])
            if out.shape != (len(pairs), k):
                raise ValueError(f"victim function returned logits of shape {out.shape}, "
                                 f"expected ({len(pairs)}, {k})")
            return out
        data = PairDataset("attack", self.label_names,
                           [PairExample(p, h, 0, "", "") for p, h in pairs])
        assert self.model is not None and self.tokenizer is not None
        return predict_pairs(self.model, self.tokenizer, data, batch_size=self.batch_size,
                             max_length=self.max_length, return_logits=True,
                             precision=self.precision)
