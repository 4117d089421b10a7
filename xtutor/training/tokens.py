"""Token classification (part-of-speech tagging): a tagger from an encoder, word labels on the
first subword, fine-tuning with the regularisers, and batched prediction.

A sentence arrives as words (:class:`~xtutor.data.tokens.TokenSentence`). The tokenizer splits
each word into subwords; the word's tag is the label of its **first** subword, and every other
subword, special token and pad gets ``-100`` (ignored by the loss), as in XTREME and the
Hugging Face token-classification examples. Prediction reads the tag of each word off its
first subword the same way; a word with no subword (cut off by ``max_length``) gets ``-1``,
which :func:`token_accuracy` counts as an error.

:func:`finetune_tokens` runs the loop of :func:`xtutor.training.classify.finetune`
(:func:`~xtutor.training.classify.train_classifier`: AdamW, warm-up, precision, frozen word
embeddings, checkpoints, Accelerate) with the token task's batches and loss
``CE = mean over labelled subwords``. Regularisers apply when they declare
``supports_tokens``: adversarial training (``pgd``, ``freelb``, ``free``: the perturbation is
on ``inputs_embeds``), smoothing and code-switching (word-for-word swaps through
:meth:`~xtutor.regularizers.Regularizer.augment_words`, so each word keeps its tag) and the
contrastive auxiliary loss (on parallel sentences, independent of the tags). KL consistency
compares one prediction per example and is refused, naming it.

Example:
    >>> first_subword_labels([None, 0, 0, 1, None], [7, 12])
    [-100, 7, -100, 12, -100]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from torch.nn import functional as F
from transformers import (
    AutoModelForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xtutor.data.tokens import TokenDataset, TokenSentence
from xtutor.data.types import check_label_order
from xtutor.precision import autocast
from xtutor.progress import progress
from xtutor.regularizers.base import Regularizer
from xtutor.reproducibility import set_seed
from xtutor.training.classify import (
    FinetuneConfig,
    TrainTask,
    check_finetune_arguments,
    head_for_training,
    head_from_encoder,
    train_classifier,
)

#: The label of subwords that carry no tag (ignored by the loss).
IGNORE_INDEX = -100


def tagger_from_encoder(model: PreTrainedModel, tag_names: Sequence[str], seed: int = 0
                        ) -> PreTrainedModel:
    """A ``*ForTokenClassification`` model whose encoder is a copy of ``model``'s (new seeded
    head; ``id2label`` follows ``tag_names``).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> tagger_from_encoder(enc, ("NOUN", "VERB")).config.id2label
        {0: 'NOUN', 1: 'VERB'}
    """
    return head_from_encoder(model, tuple(tag_names), AutoModelForTokenClassification, seed)


def first_subword_labels(word_ids: Sequence[int | None], tags: Sequence[int]) -> list[int]:
    """Subword labels: the tag of word ``w`` on its first subword, ``-100`` on every other
    subword and on special tokens (``word_ids[k] is None``).

    ``word_ids`` is a fast tokenizer's ``encoding.word_ids(i)``.

    Example:
        >>> first_subword_labels([None, 0, 1, 1, 1, 2, None], [3, 4, 5])
        [-100, 3, 4, -100, -100, 5, -100]
    """
    out, prev = [], None
    for w in word_ids:
        if w is None or w == prev:
            out.append(IGNORE_INDEX)
        else:
            if not 0 <= w < len(tags):
                raise ValueError(f"word id {w} is outside the sentence's {len(tags)} tags")
            out.append(int(tags[w]))
        prev = w if w is not None else prev
    return out


def _words(s: TokenSentence | Sequence[str]) -> list[str]:
    return list(s.words) if isinstance(s, TokenSentence) else list(s)


def encode_words(tokenizer: PreTrainedTokenizerBase,
                 sentences: Sequence[TokenSentence] | Sequence[Sequence[str]],
                 max_length: int, **kwargs: Any) -> Any:
    """Tokenise pre-split sentences (``is_split_into_words``, truncated to ``max_length``);
    ``kwargs`` go to the tokenizer (``padding``, ``return_tensors``...). Needs a fast
    tokenizer, which knows each subword's word (``word_ids``)."""
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"token classification needs a fast tokenizer (for word_ids), got "
                        f"{type(tokenizer).__name__}")
    return tokenizer([_words(s) for s in sentences], is_split_into_words=True, truncation=True,
                     max_length=max_length, **kwargs)


def tokenize_sentences(tokenizer: PreTrainedTokenizerBase, sentences: Sequence[TokenSentence],
                       max_length: int) -> list[dict[str, torch.Tensor]]:
    """Tokenise tagged sentences once (unpadded), with first-subword ``labels``.

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> tok = build_word_tokenizer(["dogs", "bark"])
        >>> item = tokenize_sentences(tok, [TokenSentence(("dogs", "bark"), (7, 15), "en")],
        ...                           16)[0]
        >>> item["input_ids"].tolist(), item["labels"].tolist()
        ([2, 5, 6, 3], [-100, 7, 15, -100])
    """
    if len(sentences) == 0:
        raise ValueError("no sentences to tokenise")
    enc = encode_words(tokenizer, sentences, max_length)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc]
    out = []
    for i, s in enumerate(sentences):
        item = {k: torch.tensor(enc[k][i]) for k in keys}
        item["labels"] = torch.tensor(first_subword_labels(enc.word_ids(i), s.tags))
        out.append(item)
    return out


def collate_tokens(items: list[dict[str, torch.Tensor]], pad_id: int
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Pad tokenised sentences into ``(inputs, labels)``: ``input_ids`` with ``pad_id``,
    masks with 0, labels with ``-100``."""
    pad = torch.nn.utils.rnn.pad_sequence
    inputs = {k: pad([x[k] for x in items], batch_first=True,
                     padding_value=pad_id if k == "input_ids" else 0)
              for k in items[0] if k != "labels"}
    labels = pad([x["labels"] for x in items], batch_first=True, padding_value=IGNORE_INDEX)
    return inputs, labels


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``(B, T, C)`` logits over the subwords whose label is not
    ``-100``.

    Example:
        >>> round(float(token_cross_entropy(torch.zeros(1, 3, 2),
        ...                                 torch.tensor([[-100, 1, -100]]))), 4)
        0.6931
    """
    if logits.ndim != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(f"logits must be (B, T, C) and labels (B, T); got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=IGNORE_INDEX)


def token_task(tokenizer: PreTrainedTokenizerBase, data: TokenDataset, max_length: int
               ) -> TrainTask:
    """The :class:`~xtutor.training.classify.TrainTask` of token classification: first-subword
    labels, :func:`token_cross_entropy`, and regularisers' text noise through
    ``augment_words`` (word for word, tags kept)."""
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty")
    items = tokenize_sentences(tokenizer, data.sentences, max_length)
    pad = tokenizer.pad_token_id
    if pad is None:
        raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
    h = hashlib.sha1()
    for s in data:
        h.update(f"{s.lang}\t{s.id}\t{chr(31).join(s.words)}\t{s.tags}\n".encode())

    def batch(idx: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return collate_tokens([items[j] for j in idx], pad)

    def encode(sentences: list[TokenSentence]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return collate_tokens(tokenize_sentences(tokenizer, sentences, max_length), pad)

    def augment(r: Regularizer, s: TokenSentence, rng: Any) -> TokenSentence:
        return s.with_words(r.augment_words(s.words, rng))

    return TrainTask(data.task, data.sentences, batch, encode, token_cross_entropy,
                     h.hexdigest()[:16], augment, augment_hook="augment_words",
                     lengths=[len(it["input_ids"]) for it in items])


def check_token_regularizers(regularizers: Sequence[Regularizer], task: str = "udpos") -> None:
    """Refuse a regulariser that cannot train a token classifier, naming it and ``task``.

    Example:
        >>> from xtutor.regularizers import KLConsistency
        >>> check_token_regularizers([KLConsistency()])
        Traceback (most recent call last):
        ...
        ValueError: regulariser 'consistency' cannot be used for token classification (task 'udpos'): its hooks expect one label and one prediction per example; token-capable methods: ['plain', 'pgd', 'freelb', 'free', 'smoothing', 'codeswitch', 'contrastive']
    """  # noqa: E501
    from xtutor.regularizers.factory import TOKEN_METHODS

    for r in regularizers:
        if not getattr(r, "supports_tokens", False):
            raise ValueError(
                f"regulariser {r.name!r} cannot be used for token classification (task "
                f"{task!r}): its hooks expect one label and one prediction per example; "
                f"token-capable methods: {list(TOKEN_METHODS)}")


def finetune_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    data: TokenDataset, config: FinetuneConfig | None = None,
                    show_progress: bool = True, *, regularizers: Sequence[Regularizer] = (),
                    checkpoint_dir: str | os.PathLike[str] | None = None,
                    checkpoint_every: int = 0, accelerator: Accelerator | None = None,
                    cpu: bool | None = None) -> tuple[PreTrainedModel, list[float]]:
    """Fine-tune a tagger on a copy of ``model`` with ``data``; returns ``(tagger, losses)``.

    Everything but the task is :func:`xtutor.training.classify.finetune`'s (same arguments,
    same loop, seeding and checkpoints): ``model`` is a bare encoder (a new head over
    ``data.tag_names`` is put on it) or a token classifier with the same tag order;
    ``regularizers`` must support tokens (:func:`check_token_regularizers`).

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.data.tokens import TokenDataset, TokenSentence
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> tok = build_word_tokenizer(["dogs", "bark", "cats"])
        >>> data = TokenDataset("pos", ("NOUN", "VERB"), [
        ...     TokenSentence(("dogs", "bark"), (0, 1), "en"),
        ...     TokenSentence(("cats", "bark"), (0, 1), "en")] * 4)
        >>> tagger, losses = finetune_tokens(enc, tok, data, FinetuneConfig(epochs=1,
        ...                                  batch_size=4), show_progress=False)
        >>> len(losses), type(tagger).__name__
        (2, 'BertForTokenClassification')
    """
    config, regs = check_finetune_arguments(config, regularizers, checkpoint_dir,
                                            checkpoint_every)
    check_token_regularizers(regs, data.task)
    set_seed(config.seed)
    tagger = head_for_training(model, data.tag_names, AutoModelForTokenClassification,
                               seed=config.seed)
    return train_classifier(tagger, tokenizer, token_task(tokenizer, data, config.max_length),
                            config, regs, show_progress=show_progress,
                            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                            accelerator=accelerator, cpu=cpu)


def predict_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                   data: TokenDataset | Sequence[TokenSentence] | Sequence[Sequence[str]],
                   batch_size: int = 64, max_length: int = 128, precision: str = "fp32",
                   show_progress: bool = False) -> list[np.ndarray]:
    """The predicted tag id of every word, one array per sentence (``-1`` for a word that
    lost all its subwords to ``max_length``).

    Batched in order of decreasing length (little padding), under ``torch.inference_mode``;
    ``precision`` as in :mod:`xtutor.precision`. A :class:`TokenDataset` whose tag order
    differs from the model's ``id2label`` is refused.

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> enc, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> tagger = tagger_from_encoder(enc, ("NOUN", "VERB"))
        >>> tok = build_word_tokenizer(["dogs", "bark"])
        >>> [p.shape for p in predict_tokens(tagger, tok, [["dogs", "bark"], ["dogs"]])]
        [(2,), (1,)]
    """
    if isinstance(data, TokenDataset):
        check_label_order(getattr(model.config, "id2label", None), data.tag_names)
        sentences: Sequence[Any] = data.sentences
    else:
        sentences = data
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    lengths = [len(_words(s)) for s in sentences]
    order = np.argsort(lengths, kind="stable")[::-1]
    out: list[np.ndarray] = [np.full(n, -1, dtype=np.int64) for n in lengths]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(precision, device):
            for s in progress(range(0, len(order), batch_size), desc="tag", leave=False,
                          show=show_progress):
                idx = order[s:s + batch_size]
                enc = encode_words(tokenizer, [sentences[i] for i in idx], max_length,
                                   padding=True, return_tensors="pt")
                inputs = {k: enc[k].to(device) for k in ("input_ids", "token_type_ids",
                                                         "attention_mask") if k in enc}
                pred = model(**inputs).logits.argmax(-1).cpu().numpy()
                for row, i in enumerate(idx):
                    prev = None
                    for k, w in enumerate(enc.word_ids(row)):
                        if w is not None and w != prev:
                            out[i][w] = pred[row, k]
                        prev = w if w is not None else prev
    finally:
        model.train(was_training)
    return out


def token_accuracy(predictions: Sequence[np.ndarray], data: TokenDataset
                   | Sequence[TokenSentence]) -> float:
    """Fraction of words whose predicted tag is the gold tag (over all words of ``data``).

    Example:
        >>> from xtutor.data.tokens import TokenSentence
        >>> token_accuracy([np.array([7, 1])], [TokenSentence(("a", "b"), (7, 15), "en")])
        0.5
    """
    sents = data.sentences if isinstance(data, TokenDataset) else list(data)
    if len(predictions) != len(sents):
        raise ValueError(f"predictions ({len(predictions)}) and sentences ({len(sents)}) "
                         f"differ in number")
    right = total = 0
    for p, s in zip(predictions, sents, strict=True):
        if len(p) != len(s.tags):
            raise ValueError(f"sentence {s.id!r}: {len(p)} predictions for {len(s.tags)} words")
        right += int((np.asarray(p) == np.asarray(s.tags)).sum())
        total += len(s.tags)
    if total == 0:
        raise ValueError("no words: accuracy of an empty set is undefined")
    return right / total


__all__ = ["IGNORE_INDEX", "check_token_regularizers", "collate_tokens", "encode_words",
           "finetune_tokens", "first_subword_labels", "predict_tokens", "tagger_from_encoder",
           "token_accuracy", "token_cross_entropy", "token_task", "tokenize_sentences"]
