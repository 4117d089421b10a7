"""Masked-language-model pretraining on monolingual text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.reproducibility import set_seed
from xtutor.training.loop import run_steps


@dataclass(frozen=True)
class MLMConfig:
    """MLM pretraining settings (BERT's 15% masking with the 80/10/10 split)."""

    steps: int = 600
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 60
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    max_length: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps <= 0 or self.batch_size <= 0:
            raise ValueError(f"MLMConfig: steps and batch_size must be positive "
                             f"(got {self.steps}, {self.batch_size})")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"MLMConfig: mask_prob must be in (0, 1), got {self.mask_prob}")


def mask_tokens(input_ids: torch.Tensor, special_mask: torch.Tensor, tokenizer:
                PreTrainedTokenizerBase, mask_prob: float, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: returns ``(masked_inputs, labels)`` with labels -100 where not masked.

    Of the chosen positions 80% become ``[MASK]``, 10% a random token, 10% stay. Special and
    padding positions (``special_mask`` true) are never chosen; every row with at least one
    real token gets at least one masked position.

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> tok = build_word_tokenizer(["a", "b", "c"])
        >>> ids = torch.tensor([[2, 5, 6, 7, 3]])
        >>> special = torch.tensor([[True, False, False, False, True]])
        >>> x, y = mask_tokens(ids, special, tok, 0.15, torch.Generator().manual_seed(0))
        >>> int((y != -100).sum()) >= 1 and bool((y[special] == -100).all())
        True
    """
    probs = torch.full(input_ids.shape, mask_prob)
    probs[special_mask] = 0.0
    chosen = torch.bernoulli(probs, generator=generator).bool()
    # guarantee one masked token per row that has any real token
    real = ~special_mask
    none = ~chosen.any(1) & real.any(1)
    if none.any():
        noise = torch.rand(input_ids.shape, generator=generator).masked_fill(special_mask, -1)
        pick = noise.argmax(1)
        rows = torch.nonzero(none).squeeze(1)
        chosen[rows, pick[rows]] = True
    labels = input_ids.masked_fill(~chosen, -100)
    x = input_ids.clone()
    r = torch.rand(input_ids.shape, generator=generator)
    x[chosen & (r < 0.8)] = tokenizer.mask_token_id
    rand_pos = chosen & (r >= 0.8) & (r < 0.9)
    n_special = len(tokenizer.all_special_ids)
    low = max(tokenizer.all_special_ids) + 1 if n_special else 0
    x[rand_pos] = torch.randint(low, len(tokenizer), (int(rand_pos.sum()),), generator=generator)
    return x, labels


def pretrain_mlm(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 texts: Sequence[str], config: MLMConfig | None = None,
                 show_progress: bool = True) -> list[float]:
    """Pretrain ``model`` (a ``*ForMaskedLM``) with MLM on ``texts``; returns the loss curve.

    Batches are drawn uniformly from ``texts`` (mix languages in ``texts`` to train a
    multilingual model on monolingual data, as mBERT was).
    Seeds Python, NumPy and torch with ``config.seed``
    (:func:`~xtutor.reproducibility.set_seed`) and leaves torch's deterministic mode as it is:
    for bit-repeatable GPU runs, call it inside ``with xtutor.reproducibility.deterministic():``.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> losses = pretrain_mlm(m, t, w.corpus("L0", 50), MLMConfig(steps=3, batch_size=8),
        ...                       show_progress=False)
        >>> len(losses)
        3
    """
    config = config or MLMConfig()
    if len(texts) == 0:
        raise ValueError("texts is empty: MLM pretraining needs a corpus")
    if not hasattr(model, "get_output_embeddings") or model.get_output_embeddings() is None:
        raise ValueError("model has no MLM head; load it with mlm_head=True or use toy_encoder")
    g = set_seed(config.seed)
    enc = tokenizer(list(texts), truncation=True, max_length=config.max_length,
                    return_special_tokens_mask=True)
    ids = [torch.tensor(x) for x in enc["input_ids"]]
    specials = [torch.tensor(x, dtype=torch.bool) for x in enc["special_tokens_mask"]]
    pad = tokenizer.pad_token_id

    def step_loss(_: int) -> torch.Tensor:
        idx = torch.randint(len(ids), (config.batch_size,), generator=g).tolist()
        batch_ids = torch.nn.utils.rnn.pad_sequence([ids[i] for i in idx], batch_first=True,
                                                    padding_value=pad)
        batch_sp = torch.nn.utils.rnn.pad_sequence([specials[i] for i in idx], batch_first=True,
                                                   padding_value=True)
        x, y = mask_tokens(batch_ids, batch_sp, tokenizer, config.mask_prob, g)
        return model(input_ids=x, attention_mask=(batch_ids != pad).long(), labels=y).loss

    return run_steps(model, step_loss, config.steps, lr=config.lr, warmup=config.warmup,
                     weight_decay=config.weight_decay, desc="MLM pretraining",
                     show_progress=show_progress)
