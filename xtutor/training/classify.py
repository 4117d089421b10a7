"""Fine-tuning an encoder on a sentence-pair classification task (NLI, paraphrase)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xtutor.data.types import PairDataset
from xtutor.encode import base_encoder
from xtutor.reproducibility import set_seed
from xtutor.training.loop import run_steps


@dataclass(frozen=True)
class FinetuneConfig:
    """Pair-classification fine-tuning settings."""

    epochs: float = 2.0
    batch_size: int = 32
    lr: float = 5e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.batch_size <= 0:
            raise ValueError(f"FinetuneConfig: epochs and batch_size must be positive "
                             f"(got {self.epochs}, {self.batch_size})")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"FinetuneConfig: warmup_ratio must be in [0, 1), got "
                             f"{self.warmup_ratio}")


def classifier_from_encoder(model: PreTrainedModel, label_names: tuple[str, ...] | list[str],
                            seed: int = 0) -> PreTrainedModel:
    """A ``*ForSequenceClassification`` model whose encoder is a copy of ``model``'s.

    The classification head is new (seeded); ``id2label`` follows ``label_names``, so
    :func:`xtutor.data.check_label_order` can later refuse datasets in another order.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> clf = classifier_from_encoder(enc, ("entailment", "neutral", "contradiction"))
        >>> clf.config.id2label[2]
        'contradiction'
    """
    if len(label_names) < 2:
        raise ValueError(f"label_names needs at least two labels, got {label_names}")
    cfg = copy.deepcopy(model.config)
    cfg.num_labels = len(label_names)
    cfg.id2label = dict(enumerate(label_names))
    cfg.label2id = {n: i for i, n in enumerate(label_names)}
    cfg.architectures = None
    torch.manual_seed(seed)
    clf = AutoModelForSequenceClassification.from_config(cfg)
    src = base_encoder(model).state_dict()
    missing, unexpected = base_encoder(clf).load_state_dict(src, strict=False)
    bad = [k for k in missing if not k.startswith("pooler.")]
    if bad or unexpected:
        raise ValueError(f"encoder weights do not fit the classifier: missing {bad[:5]}, "
                         f"unexpected {list(unexpected)[:5]}")
    return clf.to(next(model.parameters()).device)


def tokenize_pairs(tokenizer: PreTrainedTokenizerBase, data: PairDataset, max_length: int
                   ) -> list[dict[str, torch.Tensor]]:
    """Tokenise every pair once (unpadded), for fast batching."""
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty")
    enc = tokenizer([e.premise for e in data], [e.hypothesis for e in data], truncation=True,
                    max_length=max_length)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc]
    return [{k: torch.tensor(enc[k][i]) for k in keys} for i in range(len(data))]


def collate(items: list[dict[str, torch.Tensor]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a list of tokenised examples into a batch."""
    out = {}
    for k in items[0]:
        pv = pad_id if k == "input_ids" else 0
        out[k] = torch.nn.utils.rnn.pad_sequence([x[k] for x in items], batch_first=True,
                                                 padding_value=pv)
    return out


def finetune(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, train: PairDataset,
             config: FinetuneConfig | None = None, show_progress: bool = True
             ) -> tuple[PreTrainedModel, list[float]]:
    """Fine-tune a copy of ``model`` on ``train``; returns ``(classifier, loss_curve)``.

    ``model`` may be a bare encoder, an MLM model or an existing classifier (whose label order
    must match ``train.label_names``).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> enc, tok = toy_encoder(w, layers=1, hidden=16)
        >>> clf, losses = finetune(enc, tok, w.nli(40), FinetuneConfig(epochs=1, batch_size=8),
        ...                        show_progress=False)
        >>> len(losses)
        5
    """
    from xtutor.data.types import check_label_order

    config = config or FinetuneConfig()
    set_seed(config.seed)
    if getattr(model.config, "num_labels", None) == len(train.label_names) and \
            type(model).__name__.endswith("ForSequenceClassification"):
        check_label_order(model.config.id2label, train.label_names)
        clf = copy.deepcopy(model)
    else:
        clf = classifier_from_encoder(model, train.label_names, seed=config.seed)
    items = tokenize_pairs(tokenizer, train, config.max_length)
    labels = torch.tensor(train.labels)
    steps_per_epoch = max(1, len(items) // config.batch_size)
    total = max(1, int(round(config.epochs * steps_per_epoch)))
    g = torch.Generator().manual_seed(config.seed)
    device = next(clf.parameters()).device
    perm: list[int] = []

    def step_loss(i: int) -> torch.Tensor:
        nonlocal perm
        if len(perm) < config.batch_size:
            perm += torch.randperm(len(items), generator=g).tolist()
        idx, perm = perm[:config.batch_size], perm[config.batch_size:]
        batch = {k: v.to(device) for k, v in collate([items[j] for j in idx],
                                                      tokenizer.pad_token_id).items()}
        return clf(**batch, labels=labels[idx].to(device)).loss

    losses = run_steps(clf, step_loss, total, lr=config.lr, warmup=int(config.warmup_ratio * total),
                       weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
                       desc=f"fine-tune {train.task}", show_progress=show_progress)
    return clf, losses
