"""Fine-tuning an encoder on a sentence-pair classification task (NLI, paraphrase), optionally
with any combination of the noise-robust regularisers of :mod:`xtutor.regularizers`, through
Hugging Face Accelerate, with checkpoint save/resume."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from accelerate import Accelerator
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xtutor.data.types import PairDataset, PairExample
from xtutor.encode import base_encoder
from xtutor.precision import TRAIN_PRECISIONS
from xtutor.progress import progress
from xtutor.regularizers.adversarial import AdversarialTraining
from xtutor.regularizers.base import Regularizer, StepContext, cross_entropy, token_mask
from xtutor.reproducibility import config_hash, set_seed
from xtutor.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from xtutor.training.loop import NonFiniteLossError, make_optimizer

#: Numeric precisions of fine-tuning (:data:`xtutor.precision.TRAIN_PRECISIONS`).
PRECISIONS: tuple[str, ...] = TRAIN_PRECISIONS


@dataclass(frozen=True)
class FinetuneConfig:
    """Pair-classification fine-tuning settings.

    Attributes:
        epochs, batch_size, lr, warmup_ratio, weight_decay, max_length, max_grad_norm, seed:
            the usual.
        freeze_embeddings: keep the word-embedding matrix fixed (position and token-type
            embeddings, every layer and the head still train). For a multilingual encoder the
            matrix is most of the parameters (96M of e5-small's 118M), so a step is much
            cheaper; embedding-space adversarial training still works, since it perturbs the
            embeddings' output, not the matrix.
        precision: :data:`PRECISIONS`; mixed precision through Accelerate (autocast).
        group_by_length: batches of examples of similar length (Hugging Face's
            ``group_by_length``): each seeded permutation is cut into chunks of 50 batches,
            each chunk sorted by token count and cut into batches, and the batches shuffled,
            so a batch pads far less while the epoch still visits every example once.
        fused_optimizer: PyTorch's fused AdamW kernel (``torch.optim.AdamW(fused=True)``, as
            ``Trainer``'s default ``adamw_torch_fused``) instead of the multi-tensor one.

    Example:
        >>> FinetuneConfig(precision="int8")
        Traceback (most recent call last):
        ...
        ValueError: FinetuneConfig: precision must be one of ('fp32', 'bf16', 'fp16'), got 'int8'
    """

    epochs: float = 2.0
    batch_size: int = 32
    lr: float = 5e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    max_grad_norm: float = 1.0
    seed: int = 0
    freeze_embeddings: bool = False
    precision: str = "fp32"
    group_by_length: bool = False
    fused_optimizer: bool = False

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.batch_size <= 0:
            raise ValueError(f"FinetuneConfig: epochs and batch_size must be positive "
                             f"(got {self.epochs}, {self.batch_size})")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"FinetuneConfig: warmup_ratio must be in [0, 1), got "
                             f"{self.warmup_ratio}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"FinetuneConfig: precision must be one of {PRECISIONS}, got "
                             f"{self.precision!r}")


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
    return head_from_encoder(model, label_names, AutoModelForSequenceClassification, seed)


def head_for_training(model: PreTrainedModel, label_names: Sequence[str], auto_class: Any,
                      seed: int = 0) -> PreTrainedModel:
    """The model to fine-tune: a copy of ``model`` when it already is an ``auto_class`` model
    over ``label_names`` (label order checked: continue training it), else a new seeded head
    on its encoder (:func:`head_from_encoder`).

    Example:
        >>> from transformers import AutoModelForSequenceClassification as Auto
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> clf = head_for_training(enc, ("a", "b"), Auto)
        >>> head_for_training(clf, ("a", "b"), Auto) is not clf  # a copy, same weights
        True
    """
    from xtutor.data.types import check_label_order

    suffix = auto_class.__name__.removeprefix("AutoModel")  # e.g. "ForSequenceClassification"
    if getattr(model.config, "num_labels", None) == len(label_names) and \
            type(model).__name__.endswith(suffix):
        check_label_order(model.config.id2label, tuple(label_names))
        return copy.deepcopy(model)
    return head_from_encoder(model, tuple(label_names), auto_class, seed)


def head_from_encoder(model: PreTrainedModel, label_names: tuple[str, ...] | list[str],
                      auto_class: Any, seed: int = 0) -> PreTrainedModel:
    """A new model of ``auto_class`` (``AutoModelForSequenceClassification``,
    ``AutoModelForTokenClassification``...) with ``model``'s encoder weights and a new seeded
    head over ``label_names`` (its ``id2label``); on ``model``'s device.

    Example:
        >>> from transformers import AutoModelForTokenClassification
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> type(head_from_encoder(enc, ("NOUN", "VERB"), AutoModelForTokenClassification)
        ...      ).__name__
        'BertForTokenClassification'
    """
    if len(label_names) < 2:
        raise ValueError(f"label_names needs at least two labels, got {label_names}")
    cfg = copy.deepcopy(model.config)
    cfg.num_labels = len(label_names)
    cfg.id2label = dict(enumerate(label_names))
    cfg.label2id = {n: i for i, n in enumerate(label_names)}
    cfg.architectures = None
    torch.manual_seed(seed)
    clf = auto_class.from_config(cfg)
    src = base_encoder(model).state_dict()
    missing, unexpected = base_encoder(clf).load_state_dict(src, strict=False)
    # the pooler may be on one side only: a BERT head uses a (new) pooler the bare encoder may
    # lack; an XLM-R / RoBERTa head has none and reads <s> itself, so the encoder's is unused
    bad = [k for k in missing if not k.startswith("pooler.")]
    extra = [k for k in unexpected if not k.startswith("pooler.")]
    if bad or extra:
        raise ValueError(f"encoder weights do not fit the classifier: missing {bad[:5]}, "
                         f"unexpected {extra[:5]}")
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


#: Batches per length-sorted chunk with ``group_by_length`` (Hugging Face uses 50 too).
GROUP_BATCHES = 50


class _Sampler:
    """The seeded batch order of :func:`finetune` (a fresh permutation appended whenever fewer
    than ``batch_size`` indices are left); each batch is served ``repeat`` times in a row.
    With ``lengths``, each permutation is grouped by length (``FinetuneConfig.group_by_length``).
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator, repeat: int = 1,
                 lengths: Sequence[int] | None = None):
        self.n, self.size, self.g, self.repeat = n, batch_size, generator, repeat
        self.lengths = list(lengths) if lengths is not None else None
        self.perm: list[int] = []
        self.current: list[int] = []
        self.left = 0

    def next(self) -> tuple[list[int], bool]:
        """The next batch's indices and whether it is a new batch (not a replay)."""
        if self.left > 0:
            self.left -= 1
            return self.current, False
        if len(self.perm) < self.size:
            self.perm += self._permutation()
        self.current, self.perm = self.perm[:self.size], self.perm[self.size:]
        self.left = self.repeat - 1
        return self.current, True

    def _permutation(self) -> list[int]:
        perm = torch.randperm(self.n, generator=self.g).tolist()
        if self.lengths is None:
            return perm
        chunk = self.size * GROUP_BATCHES
        batches: list[list[int]] = []
        for s in range(0, len(perm), chunk):
            part = sorted(perm[s:s + chunk], key=lambda j: -self.lengths[j])  # stable
            batches += [part[b:b + self.size] for b in range(0, len(part), self.size)]
        order = torch.randperm(len(batches), generator=self.g).tolist()
        return [j for b in order for j in batches[b]]

    def state_dict(self) -> dict[str, Any]:
        return {"perm": list(self.perm), "current": list(self.current), "left": self.left,
                "generator": self.g.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.perm, self.current = list(state["perm"]), list(state["current"])
        self.left = int(state["left"])
        self.g.set_state(state["generator"])


def _check_regularizers(regularizers: Sequence[Regularizer]) -> list[Regularizer]:
    if isinstance(regularizers, Regularizer):
        regularizers = [regularizers]
    if not isinstance(regularizers, (list, tuple)):
        raise TypeError(f"regularizers must be a list of Regularizer objects, got "
                        f"{type(regularizers).__name__}")
    for i, r in enumerate(regularizers):
        if not isinstance(r, Regularizer):
            raise TypeError(f"regularizers[{i}] is {type(r).__name__}, expected a "
                            f"xtutor.regularizers Regularizer")
    adv = [r for r in regularizers if isinstance(r, AdversarialTraining)]
    if len(adv) > 1:
        raise ValueError(f"at most one adversarial regulariser per run, got "
                         f"{[r.name for r in adv]}")
    return list(regularizers)


@dataclass(frozen=True)
class TrainTask:
    """A task's side of the shared fine-tuning loop :func:`train_classifier`: its examples, how
    they become batches, how regularisers' text noise applies to one of them, and its loss.

    :func:`finetune` (sentence pairs) and :func:`xtutor.training.tokens.finetune_tokens`
    (token classification) build one; everything else (optimiser, schedule, precision,
    frozen embeddings, regularisers, checkpoints, Accelerate) is the loop's.

    Attributes:
        name: the task's name (progress bar, checkpoint fingerprint).
        examples: the training examples, indexed by the sampler.
        batch: ``indices -> (inputs, labels)`` from the pre-tokenised examples (padded, CPU).
        encode: ``examples -> (inputs, labels)`` for (augmented) examples (padded, CPU).
        loss: ``(logits, labels) -> scalar`` task loss.
        digest: a hash of the training data (checkpoint fingerprint).
        augment: ``(regulariser, example, rng) -> example``: a regulariser's text noise.
        augment_hook: the :class:`~xtutor.regularizers.Regularizer` method ``augment``
            calls (a regulariser that does not override it leaves the examples alone, and
            the pre-tokenised batches are used).
        lengths: tokens per example (for ``FinetuneConfig.group_by_length``).
    """

    name: str
    examples: Sequence[Any]
    batch: Callable[[list[int]], tuple[dict[str, torch.Tensor], torch.Tensor]]
    encode: Callable[[list[Any]], tuple[dict[str, torch.Tensor], torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    digest: str
    augment: Callable[[Regularizer, Any, random.Random], Any]
    augment_hook: str = "augment"
    lengths: Sequence[int] | None = None

    def augments(self, regularizer: Regularizer) -> bool:
        """Whether ``regularizer`` changes this task's text."""
        return getattr(type(regularizer), self.augment_hook) is not \
            getattr(Regularizer, self.augment_hook)


def pair_task(tokenizer: PreTrainedTokenizerBase, train: PairDataset, max_length: int
              ) -> TrainTask:
    """The :class:`TrainTask` of sentence-pair classification (cross-entropy on one label per
    pair; regularisers' ``augment`` changes a pair's text, never its label)."""
    items = tokenize_pairs(tokenizer, train, max_length)
    labels = torch.tensor(train.labels)
    h = hashlib.sha1()
    for e in train:
        h.update(f"{e.premise}\t{e.hypothesis}\t{e.label}\n".encode())

    def batch(idx: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return collate([items[j] for j in idx], tokenizer.pad_token_id), labels[idx]

    def encode(examples: list[PairExample]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        enc = tokenizer([e.premise for e in examples], [e.hypothesis for e in examples],
                        truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt")
        inputs = {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")
                  if k in enc}
        return inputs, torch.tensor([e.label for e in examples])

    return TrainTask(train.task, train.examples, batch, encode, cross_entropy,
                     h.hexdigest()[:16], lambda r, e, rng: r.augment(e, rng),
                     lengths=[len(it["input_ids"]) for it in items])


def check_finetune_arguments(config: FinetuneConfig | None, regularizers: Sequence[Regularizer],
                             checkpoint_dir: str | os.PathLike[str] | None,
                             checkpoint_every: int) -> tuple[FinetuneConfig, list[Regularizer]]:
    """The config (default :class:`FinetuneConfig`) and regulariser list of a fine-tuning run,
    checked; errors name the argument."""
    config = config or FinetuneConfig()
    if not isinstance(config, FinetuneConfig):
        raise TypeError(f"config must be a FinetuneConfig, got {type(config).__name__}")
    regs = _check_regularizers(regularizers)
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or \
            checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be an int >= 0, got {checkpoint_every!r}")
    if checkpoint_every and checkpoint_dir is None:
        raise ValueError(f"checkpoint_every={checkpoint_every} needs a checkpoint_dir")
    return config, regs


def finetune(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, train: PairDataset,
             config: FinetuneConfig | None = None, show_progress: bool = True, *,
             regularizers: Sequence[Regularizer] = (),
             checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 0,
             accelerator: Accelerator | None = None, cpu: bool | None = None
             ) -> tuple[PreTrainedModel, list[float]]:
    """Fine-tune a copy of ``model`` on ``train``; returns ``(classifier, loss_curve)``.

    The step objective is ``CE(f(x~), y) + sum_r L_r``: ``x~`` is the batch after each
    regulariser's text ``augment`` and embedding noise, ``L_r`` their extra losses (KL
    consistency, contrastive alignment); at most one
    :class:`~xtutor.regularizers.AdversarialTraining` changes the forward/backward passes
    (PGD, FreeLB, free). AdamW with linear warm-up and decay, gradient clipping, NaN detection
    (:class:`~xtutor.training.loop.NonFiniteLossError`) and seeded batches, noise and dropout
    (the loop is :func:`train_classifier`, shared with token classification).

    Training runs through Hugging Face Accelerate, so the same code runs on the CPU, one GPU or
    several (``accelerate launch``; each process takes its share of every batch).
    Seeds Python, NumPy and torch with ``config.seed``
    (:func:`~xtutor.reproducibility.set_seed`) and leaves torch's deterministic mode as it is:
    for bit-repeatable GPU runs, call it inside ``with xtutor.reproducibility.deterministic():``.

    Args:
        model: a bare encoder, an MLM model or an existing classifier (whose label order must
            match ``train.label_names``); never changed.
        tokenizer: its tokenizer.
        train: the training pairs.
        config: :class:`FinetuneConfig`.
        show_progress: a tqdm bar (main process only).
        regularizers: any combination of :mod:`xtutor.regularizers` objects.
        checkpoint_dir: save checkpoints there and, if one exists, resume from the newest (the
            final weights equal those of an uninterrupted run).
        checkpoint_every: save every this many steps (``0``: only at the end).
        accelerator: an ``accelerate.Accelerator`` to use; default ``Accelerator(cpu=cpu)``.
        cpu: force the CPU (default: the CPU when no GPU is visible).

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
    config, regs = check_finetune_arguments(config, regularizers, checkpoint_dir,
                                            checkpoint_every)
    set_seed(config.seed)
    clf = head_for_training(model, train.label_names, AutoModelForSequenceClassification,
                            seed=config.seed)
    return train_classifier(clf, tokenizer, pair_task(tokenizer, train, config.max_length),
                            config, regs, show_progress=show_progress,
                            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                            accelerator=accelerator, cpu=cpu)


def train_classifier(clf: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, task: TrainTask,
                     config: FinetuneConfig, regs: list[Regularizer], *,
                     show_progress: bool = True,
                     checkpoint_dir: str | os.PathLike[str] | None = None,
                     checkpoint_every: int = 0, accelerator: Accelerator | None = None,
                     cpu: bool | None = None) -> tuple[PreTrainedModel, list[float]]:
    """The fine-tuning loop shared by every task: trains ``clf`` itself (a new classifier;
    the callers copy the user's model) on ``task``; returns ``(clf, loss_curve)``.

    Arguments as in :func:`finetune`, checked by :func:`check_finetune_arguments`; the caller
    seeds (:func:`~xtutor.reproducibility.set_seed`) before building ``clf``.
    """
    if config.freeze_embeddings:  # after the classifier is built: it is a new model
        clf.get_input_embeddings().weight.requires_grad_(False)
    if accelerator is None:
        on_cpu = not torch.cuda.is_available() if cpu is None else cpu
        if config.precision == "fp16" and on_cpu:
            raise ValueError("FinetuneConfig.precision 'fp16' needs a GPU; use 'bf16' on a CPU")
        accelerator = Accelerator(cpu=on_cpu)
    device = accelerator.device
    if config.precision == "fp16" and device.type != "cuda":
        raise ValueError("FinetuneConfig.precision 'fp16' needs a GPU; use 'bf16' on a CPU")
    # mixed precision by autocast around the forward passes (Accelerate's own setting is
    # process-wide and cannot change between runs); fp16 also scales the loss
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[config.precision]
    scaler = torch.amp.GradScaler("cuda") if config.precision == "fp16" else None
    n = len(task.examples)
    steps_per_epoch = max(1, n // config.batch_size)
    total = max(1, int(round(config.epochs * steps_per_epoch)))
    adv = next((r for r in regs if isinstance(r, AdversarialTraining)), None)
    augment = any(task.augments(r) for r in regs)
    use_embeds = any(r.uses_embeddings for r in regs)
    if config.group_by_length and task.lengths is None:
        raise ValueError(f"FinetuneConfig.group_by_length: task {task.name!r} gives no example "
                         f"lengths")
    sampler = _Sampler(n, config.batch_size, torch.Generator().manual_seed(config.seed),
                       adv.replays if adv is not None else 1,
                       task.lengths if config.group_by_length else None)
    noise_gen = torch.Generator().manual_seed(config.seed + 7919)
    rng = random.Random(config.seed)
    clf.to(device)
    opt, sched = make_optimizer(clf, config.lr, config.weight_decay,
                                int(config.warmup_ratio * total), total,
                                fused=config.fused_optimizer)
    model_p, opt_p = accelerator.prepare(clf, opt)
    if accelerator.mixed_precision != "no":
        # Accelerate's precision is process-wide: after any bf16/fp16 Accelerator in this
        # process (a Trainer(bf16=True) run, `accelerate launch --mixed_precision`), prepare()
        # wraps clf.forward in its autocast, which would silently override config.precision
        # in training and in every later evaluation of the returned model. xtutor autocasts
        # itself (amp_dtype below), so take that wrapper off again.
        accelerator.unwrap_model(model_p, keep_fp32_wrapper=False)
    embed_layer = clf.get_input_embeddings()
    special = list(tokenizer.all_special_ids)
    for r in regs:
        r.setup(tokenizer, device)
    fingerprint = {"config": config_hash(asdict(config)), "task": task.name, "n": n,
                   "data": task.digest, "total_steps": total,
                   "regularizers": [repr(r) for r in regs]}
    start, losses = 0, []
    ckpt = latest_checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, fingerprint)
        accelerator.unwrap_model(model_p).load_state_dict(state["model"])
        opt_p.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        sampler.load_state_dict(state["sampler"])
        rng.setstate(state["rng"]["python"])
        noise_gen.set_state(state["rng"]["noise"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        for r, s in zip(regs, state["regularizers"], strict=True):
            r.load_state_dict(s)
        start, losses = int(state["step"]), list(state["losses"])
    rank, world = accelerator.process_index, accelerator.num_processes
    desc = f"fine-tune {task.name}" + "".join(f"+{r.name}" for r in regs)

    def on_device(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(device) for k, v in inputs.items()}

    def tokenize(examples: list[Any]) -> dict[str, torch.Tensor]:
        return on_device(task.encode(examples)[0])

    def forward(batch: dict[str, torch.Tensor], inputs_embeds: torch.Tensor | None = None
                ) -> torch.Tensor:
        if inputs_embeds is None:
            return model_p(**batch).logits
        rest = {k: v for k, v in batch.items() if k != "input_ids"}
        return model_p(inputs_embeds=inputs_embeds, **rest).logits

    def save(step: int) -> None:
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process or checkpoint_dir is None:
            return
        rngs = {"python": rng.getstate(), "noise": noise_gen.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
        save_checkpoint(checkpoint_dir, step, {
            "step": step, "fingerprint": fingerprint, "losses": list(losses),
            "model": accelerator.unwrap_model(model_p).state_dict(),
            "optimizer": opt_p.state_dict(), "scheduler": sched.state_dict(),
            "sampler": sampler.state_dict(), "rng": rngs,
            "regularizers": [r.state_dict() for r in regs]})

    model_p.train()
    bar = progress(range(start, total), desc=desc, leave=False,
               show=show_progress and accelerator.is_local_main_process)
    for i in bar:
        idx, first = sampler.next()
        local = idx[rank::world] or idx[:1]
        examples = [task.examples[j] for j in local]
        if augment:
            for r in regs:
                examples = [task.augment(r, e, rng) for e in examples]
            inputs, y = task.encode(examples)
        else:
            inputs, y = task.batch(local)
        batch, y = on_device(inputs), y.to(device)
        mask = token_mask(batch["input_ids"], batch.get("attention_mask"),
                          special if adv is None or adv.config.skip_special else ()) \
            if regs else batch["attention_mask"].bool()

        def objective(delta: torch.Tensor | None, with_extras: bool, sync: bool,
                      step: int = i, batch: dict[str, torch.Tensor] = batch,
                      examples: list[Any] = examples, y: torch.Tensor = y,
                      mask: torch.Tensor = mask) -> tuple[torch.Tensor, torch.Tensor]:
            with contextlib.nullcontext() if sync else accelerator.no_sync(model_p), \
                    torch.autocast(device.type, dtype=amp_dtype or torch.float32,
                                   enabled=amp_dtype is not None):
                if use_embeds or delta is not None:
                    e = embed_layer(batch["input_ids"])
                    for r in regs:
                        e = r.perturb_embeddings(e, mask, noise_gen)
                    logits = forward(batch, e if delta is None else e + delta)
                else:
                    logits = forward(batch)
                loss = task.loss(logits.float(), y)
                extra = torch.zeros((), device=device)
                if with_extras:
                    ctx = StepContext(step=step, examples=examples, batch=batch, labels=y,
                                      logits=logits, token_mask=mask, rng=rng,
                                      generator=noise_gen, classifier=clf, forward=forward,
                                      embed=embed_layer, tokenize=tokenize, device=device)
                    for r in regs:
                        term = r.loss(ctx)
                        if term is not None:
                            extra = extra + term
            return loss, extra

        def backward(loss: torch.Tensor, step: int = i) -> None:
            val = float(loss.detach())
            if not math.isfinite(val):
                raise NonFiniteLossError(
                    f"{desc}: loss became {val} at step {step}; lower the learning rate "
                    f"({config.lr}) or the regularisers' strength, or check this batch")
            accelerator.backward(scaler.scale(loss) if scaler is not None else loss)

        opt_p.zero_grad(set_to_none=True)
        if adv is not None:
            step_loss = adv.train_step(objective, mask, torch.Size((*batch["input_ids"].shape,
                                                                    embed_layer.embedding_dim)),
                                       backward, noise_gen, first, embed_layer.weight.dtype)
        else:
            loss, extra = objective(None, True, True)
            step_loss = (loss + extra).detach()
            backward(loss + extra)
        if scaler is not None:
            scaler.unscale_(opt_p)
        if config.max_grad_norm > 0:
            norm = accelerator.clip_grad_norm_(model_p.parameters(), config.max_grad_norm)
            if norm is not None and not math.isfinite(float(norm)) and scaler is None:
                raise NonFiniteLossError(f"{desc}: the gradient norm became {float(norm)} at "
                                         f"step {i}; lower the learning rate ({config.lr})")
        if scaler is not None:
            scaler.step(opt_p)
            scaler.update()
        else:
            opt_p.step()
        sched.step()
        val = float(accelerator.reduce(step_loss, "mean")) if world > 1 else float(step_loss)
        losses.append(val)
        if i % 10 == 0:
            bar.set_postfix(loss=f"{val:.3f}")
        if checkpoint_dir is not None and (
                (checkpoint_every and (i + 1) % checkpoint_every == 0) or i + 1 == total):
            save(i + 1)
    model_p.eval()
    out = accelerator.unwrap_model(model_p)
    out.eval()
    return out, losses
