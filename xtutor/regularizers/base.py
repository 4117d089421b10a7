"""The interface every regulariser implements, and what it sees at each training step.

:func:`xtutor.training.finetune` calls four hooks of each :class:`Regularizer` it is given
(every hook is a no-op in the base class, so a regulariser overrides only what it needs):

1. ``setup(tokenizer, device)`` once before training (and resets any per-run state);
2. ``augment(example, rng)`` on every training pair before tokenisation (text noise:
   word substitution, code-switching); token classification
   (:func:`xtutor.training.tokens.finetune_tokens`) calls ``augment_words(words, rng)``
   instead, which must keep the number of words (each word keeps its tag);
3. ``perturb_embeddings(embeds, mask, generator)`` on the word embeddings of the main forward
   pass (embedding noise); ``mask`` marks the real tokens;
4. ``loss(ctx)`` returns an extra loss term (consistency, auxiliary alignment) from a
   :class:`StepContext` holding the batch, the clean logits and a forward function.

The step's objective is ``L = CE(clean) + sum_r loss_r`` (adversarial training, which needs
several forward/backward passes, is handled by
:class:`~xtutor.regularizers.adversarial.AdversarialTraining`).

A regulariser that also works on token-classification batches (``(B, T)`` labels, ``(B, T, C)``
logits) says so with ``supports_tokens = True``; the others (KL consistency compares one
prediction per example) are refused for token tasks, naming the method.

Example:
    >>> import random
    >>> from xtutor.data.types import PairExample
    >>> ex = PairExample("a b", "c", 0, "L0", "L0")
    >>> Regularizer().augment(ex, random.Random(0)) is ex
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
from torch.nn import functional as F
from transformers import PreTrainedTokenizerBase

from xtutor.data.corpora import Dictionary
from xtutor.data.types import PairExample

Sides = Literal["both", "premise", "hypothesis"]
#: A word table: a :class:`~xtutor.data.corpora.Dictionary`, ``{word: [neighbours]}`` or a
#: list of ``(word, neighbour)`` pairs (e.g. ``ToyWorld.dictionary(src, tgt)``).
WordTable = Dictionary | Mapping[str, Sequence[str]] | Sequence[tuple[str, str]]

_WORD = re.compile(r"^(\W*)(.*?)(\W*)$", re.UNICODE)


class Regularizer:
    """Base class of the regularisers :func:`xtutor.training.finetune` composes.

    Subclasses set ``name`` (used as the ``method`` of result records) and override hooks.
    """

    name: str = "regularizer"
    #: True when the main forward pass must run on ``inputs_embeds`` (noise, adversarial).
    uses_embeddings: bool = False
    #: True when the hooks also apply to token classification: text noise through
    #: :meth:`augment_words`, and a ``loss`` that does not read per-example labels or logits.
    supports_tokens: bool = False

    def setup(self, tokenizer: PreTrainedTokenizerBase, device: torch.device) -> None:
        """Prepare for a training run (tokenise side data, reset state)."""

    def augment(self, example: PairExample, rng: random.Random) -> PairExample:
        """A (possibly) changed copy of one training pair; the default returns it unchanged."""
        return example

    def augment_words(self, words: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
        """The words of one token-classification sentence, (possibly) changed one for one
        (same length: word ``i`` keeps tag ``i``); the default returns them unchanged."""
        return words

    def perturb_embeddings(self, embeds: torch.Tensor, mask: torch.Tensor,
                           generator: torch.Generator) -> torch.Tensor:
        """Word embeddings ``(B, T, D)`` of the main forward pass; ``mask`` ``(B, T)``."""
        return embeds

    def loss(self, ctx: StepContext) -> torch.Tensor | None:
        """An extra loss term for this step, or ``None``."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Per-run state saved in checkpoints (empty for stateless regularisers)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def __repr__(self) -> str:
        cfg = getattr(self, "config", None)
        return f"{type(self).__name__}({cfg!r})" if cfg is not None else type(self).__name__


@dataclass
class StepContext:
    """What a regulariser's ``loss`` hook sees at one training step.

    Attributes:
        step: the optimisation step (0-based).
        examples: the training pairs of this batch (after ``augment``), or the
            :class:`~xtutor.data.tokens.TokenSentence` s of a token-classification batch.
        batch: their tokenised inputs on ``device`` (``input_ids``, ``attention_mask``...).
        labels: ``(B,)`` gold labels (token classification: ``(B, T)``, ``-100`` where a
            subword carries no label).
        logits: ``(B, C)`` logits of the main forward pass (with gradient; token
            classification: ``(B, T, C)``).
        token_mask: ``(B, T)`` real (non-pad, non-special) tokens of ``batch``.
        rng: Python RNG for text-level noise; generator: torch RNG for tensor noise (CPU).
        classifier: the (unwrapped) classifier, e.g. for its bare encoder.
        forward: ``forward(batch, inputs_embeds=None) -> logits`` through the training model.
        embed: ``embed(input_ids) -> word embeddings``.
        tokenize: ``tokenize(examples) -> batch`` on ``device``.
    """

    step: int
    examples: list[Any]
    batch: dict[str, torch.Tensor]
    labels: torch.Tensor
    logits: torch.Tensor
    token_mask: torch.Tensor
    rng: random.Random
    generator: torch.Generator
    classifier: torch.nn.Module
    forward: Callable[..., torch.Tensor]
    embed: Callable[[torch.Tensor], torch.Tensor]
    tokenize: Callable[[list[Any]], dict[str, torch.Tensor]]
    device: torch.device


def token_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               special_ids: Iterable[int] = ()) -> torch.Tensor:
    """Boolean ``(B, T)`` mask of real tokens: attended (non-pad) and not in ``special_ids``.

    Example:
        >>> ids = torch.tensor([[2, 7, 3, 0]])
        >>> token_mask(ids, torch.tensor([[1, 1, 1, 0]]), special_ids=[2, 3]).tolist()
        [[False, True, False, False]]
    """
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be 2-D (B, T), got shape {tuple(input_ids.shape)}")
    mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None \
        else attention_mask.bool()
    if mask.shape != input_ids.shape:
        raise ValueError(f"attention_mask has shape {tuple(mask.shape)}, expected "
                         f"{tuple(input_ids.shape)} like input_ids")
    special = list(special_ids)
    if special:
        mask = mask & ~torch.isin(input_ids, torch.tensor(special, device=input_ids.device))
    return mask


def gaussian_noise(embeds: torch.Tensor, mask: torch.Tensor, std: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``embeds + std * N(0, I)`` on the positions where ``mask`` is true (others unchanged).

    The noise is drawn on the CPU from ``generator`` (so runs agree across devices).

    Example:
        >>> e = torch.zeros(1, 3, 2)
        >>> out = gaussian_noise(e, torch.tensor([[True, True, False]]), 1.0,
        ...                      torch.Generator().manual_seed(0))
        >>> bool(out[0, 2].eq(0).all()), bool(out[0, :2].ne(0).all())
        (True, True)
    """
    if std < 0:
        raise ValueError(f"noise std must be >= 0, got {std}")
    if std == 0:
        return embeds
    noise = torch.randn(embeds.shape, generator=generator, dtype=torch.float32)
    noise = noise.to(device=embeds.device, dtype=embeds.dtype)
    return embeds + std * noise * mask.unsqueeze(-1).to(embeds.dtype)


def as_table(table: WordTable, name: str = "table") -> dict[str, list[str]]:
    """A word table as ``{word: [neighbours]}`` (order kept, duplicates and self-maps dropped).

    Example:
        >>> as_table([("dog", "Hund"), ("dog", "Hund"), ("cat", "Katze")])
        {'dog': ['Hund'], 'cat': ['Katze']}
    """
    if isinstance(table, Dictionary):
        items: Iterable[tuple[str, str]] = table.pairs
    elif isinstance(table, Mapping):
        items = [(k, v) for k, vs in table.items() for v in
                 ([vs] if isinstance(vs, str) else vs)]
    elif isinstance(table, (list, tuple)):
        items = table
    else:
        raise TypeError(f"{name} must be a Dictionary, a dict word -> [words] or a list of "
                        f"(word, word) pairs, got {type(table).__name__}")
    out: dict[str, list[str]] = {}
    for i, pair in enumerate(items):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and all(isinstance(w, str) for w in pair)):
            raise TypeError(f"{name}[{i}] must be a (word, word) pair of strings, got {pair!r}")
        a, b = pair
        if not a or not b or a == b or any(c.isspace() for c in b):
            continue
        lst = out.setdefault(a, [])
        if b not in lst:
            lst.append(b)
    return {k: v for k, v in out.items() if v}


def check_rate(rate: float, name: str) -> None:
    """Raise unless ``0 <= rate <= 1``."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {rate!r}")


def check_sides(sides: str, name: str) -> None:
    """Raise unless ``sides`` is ``both``, ``premise`` or ``hypothesis``."""
    if sides not in ("both", "premise", "hypothesis"):
        raise ValueError(f"{name} must be 'both', 'premise' or 'hypothesis', got {sides!r}")


def substitute_words(text: str, choose: Callable[[str], list[str]], rate: float,
                     rng: random.Random) -> tuple[str, int, int]:
    """Replace each word that has candidates with probability ``rate``.

    ``choose(word)`` returns the candidates (empty: the word cannot change). Words are split on
    whitespace; leading and trailing punctuation stays in place and lookup falls back to the
    lower-cased word. Returns ``(new_text, n_replaced, n_candidates)``.

    Example:
        >>> substitute_words("the dog, runs", lambda w: ["Hund"] if w == "dog" else [], 1.0,
        ...                  random.Random(0))
        ('the Hund, runs', 1, 1)
    """
    words, n_rep, n_cand = substitute_tokens(text.split(), choose, rate, rng)
    return " ".join(words), n_rep, n_cand


def substitute_tokens(words: Sequence[str], choose: Callable[[str], list[str]], rate: float,
                      rng: random.Random) -> tuple[tuple[str, ...], int, int]:
    """:func:`substitute_words` on a list of words, one for one (the length is kept, so word
    ``i`` keeps its tag in token classification). Returns ``(new_words, n_replaced,
    n_candidates)``.

    Example:
        >>> substitute_tokens(["the", "dog", "."], lambda w: ["Hund"] if w == "dog" else [],
        ...                   1.0, random.Random(0))
        (('the', 'Hund', '.'), 1, 1)
    """
    out, n_rep, n_cand = [], 0, 0
    for tok in words:
        m = _WORD.match(tok)
        pre, core, post = (m.group(1), m.group(2), m.group(3)) if m else ("", tok, "")
        cands = choose(core) if core else []
        if not cands and core and core.lower() != core:
            cands = choose(core.lower())
        if cands:
            n_cand += 1
            if rng.random() < rate:
                tok = pre + cands[rng.randrange(len(cands))] + post
                n_rep += 1
        out.append(tok)
    return tuple(out), n_rep, n_cand


def substitute_pair(example: PairExample, choose: Callable[[str], list[str]], rate: float,
                    sides: Sides, rng: random.Random) -> PairExample:
    """:func:`substitute_words` on the premise and/or hypothesis of one pair (label kept).

    Example:
        >>> ex = PairExample("a b", "a", 0, "L0", "L0")
        >>> substitute_pair(ex, lambda w: ["z"] if w == "a" else [], 1.0, "hypothesis",
        ...                 random.Random(0)).hypothesis
        'z'
    """
    prem, hyp = example.premise, example.hypothesis
    if sides in ("both", "premise"):
        prem = substitute_words(prem, choose, rate, rng)[0]
    if sides in ("both", "hypothesis"):
        hyp = substitute_words(hyp, choose, rate, rng)[0]
    if prem == example.premise and hyp == example.hypothesis:
        return example
    return replace(example, premise=prem, hypothesis=hyp)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``(B, C)`` logits against ``(B,)`` labels (the task loss)."""
    return F.cross_entropy(logits.float(), labels)
