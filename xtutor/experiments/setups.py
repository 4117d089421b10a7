"""Setups: where an experiment's encoder, data and resources come from, behind one interface.

A setup is everything the fine-tuning and evaluation loop needs for one seed, so that the loop
(:func:`xtutor.experiments.unit.run_unit`) exists once and a new task is a new setup:

- the encoder (:meth:`Setup.encoder`, :meth:`Setup.random_init`, :meth:`Setup.align`) and its
  alignment measurements (:meth:`Setup.alignment_records`);
- training data in the source language (:meth:`Setup.train`) and test data for every
  premise-language x hypothesis-language pair (:meth:`Setup.tests`), attack sets per
  language (:meth:`Setup.attack_sets`);
- resources of the regularisers (bilingual dictionaries :meth:`Setup.dictionaries`, parallel
  sentences :meth:`Setup.parallel`) and of the attacks (:meth:`Setup.attack_resources`);
- named seed streams (:class:`SeedStreams`): which random stream draws each kind of data.

Two setups: :class:`ToySetup` (the synthetic family of a lab preset) and :class:`XnliSetup`
(a real encoder from :func:`xtutor.models.load_encoder` on the XNLI slices of
``../shared/data``; English dev to train, test sets to evaluate), with its paraphrase sibling
:class:`~xtutor.experiments.pawsx_setup.PawsxSetup` (PAWS-X: English train pairs, test sets
of seven languages paired by id). A token-level task (UD-POS) fits the same interface with
token datasets.

Example:
    >>> from xtutor.lab import LabConfig
    >>> s = ToySetup(LabConfig.preset("tiny", seed=0))
    >>> s.src, s.languages, s.streams.test
    ('L0', ('L0', 'L1', 'L2'), 2000)
    >>> len(s.train()), sorted(s.tests())[:2]
    (240, [('L0', 'L0'), ('L0', 'L1')])
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.experiments.streams import Encoder, SeedStreams
from xtutor.results import Record
from xtutor.training import FinetuneConfig

#: Alignment methods a setup may offer (``image-pivot``: the toy family only).
ALIGNMENTS: tuple[str, ...] = ("none", "sentence", "word", "sentence+word", "image-pivot")


class Setup(Protocol):
    """What :func:`xtutor.experiments.unit.run_unit` needs from a setup (module docstring)."""

    seed: int
    streams: SeedStreams
    src: str
    languages: tuple[str, ...]
    model_name: str
    max_length: int
    finetune_config: FinetuneConfig
    precision: str  # of evaluation, attack and retrieval forward passes (xtutor.precision)

    def encoder(self) -> Encoder: ...
    def random_init(self) -> Encoder: ...
    def align(self, alignment: str) -> PreTrainedModel: ...
    def alignment_records(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          method: str, experiment: str) -> list[Record]: ...
    def train(self, task: str = "nli") -> PairDataset: ...
    def tests(self, task: str = "nli") -> dict[tuple[str, str], PairDataset]: ...
    def attack_sets(self, n: int, stream: str = "attack") -> dict[str, PairDataset]: ...
    def attack_resources(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]: ...
    def dictionaries(self) -> dict[str, Any]: ...
    def parallel(self, n: int) -> list[Any]: ...
    def attack_protection(self, lang: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AlignmentSettings:
    """Contrastive alignment of a setup's encoder: steps per method, parallel pairs (per target
    language, or captions per language for the image pivot; real text: pairs in all) and the
    learning rate (``None``: the setup's default)."""

    steps: int = 400
    pairs: int = 512
    lr: float | None = None


def blank_premises(data: PairDataset) -> PairDataset:
    """``data`` with every premise replaced by the empty string (languages, labels and ids
    kept): the input of the hypothesis-only control.

    Example:
        >>> from xtutor.data.types import PairExample
        >>> d = PairDataset("nli", ("a", "b"), [PairExample("p", "h", 1, "x", "y", "e1")])
        >>> blank_premises(d)[0]
        PairExample(premise='', hypothesis='h', label=1, premise_lang='x', hypothesis_lang='y', id='e1')
    """  # noqa: E501
    return PairDataset(data.task, data.label_names,
                       [replace(e, premise="") for e in data.examples])


def shuffled_labels(data: PairDataset, seed: int) -> PairDataset:
    """``data`` with labels that carry no information about the pairs: within each true class
    the examples are shuffled and dealt the labels in turn, so every true class is spread
    evenly over all labels and the labels stay balanced (a plain permutation agrees with the
    truth slightly more or less than chance by luck, which a flexible model can learn from).

    ``seed`` is the stream (:attr:`SeedStreams.shuffle`).

    Example:
        >>> from xtutor.data.types import PairExample
        >>> d = PairDataset("nli", ("a", "b"), [PairExample("p", "h", i % 2, "x", "x")
        ...                                     for i in range(8)])
        >>> sorted(shuffled_labels(d, 0).labels)
        [0, 0, 0, 0, 1, 1, 1, 1]
    """
    rng = random.Random(seed)
    k = len(data.label_names)
    new = list(data.labels)
    turn = rng.randrange(k)  # one running turn across the classes keeps the labels balanced
    for c in range(k):
        idx = [i for i, y in enumerate(data.labels) if y == c]
        rng.shuffle(idx)
        for i in idx:
            new[i] = turn % k
            turn += 1
    return PairDataset(data.task, data.label_names,
                       [replace(ex, label=y) for ex, y in zip(data, new, strict=True)])


# ---------------------------------------------------------------------------------------------
# the toy family


class ToySetup:
    """The toy family of a lab config for one seed (its ``seed``).

    Args:
        lab: the :class:`xtutor.lab.LabConfig` (world, encoder, pretraining, fine-tuning and
            data sizes), already seeded (``LabConfig.preset(name, seed)``) and overridden.
        preset: the lab preset ``lab`` was made from, if any: the encoder cache is then keyed
            on the preset with only ``lab``'s pretraining settings, so fine-tuning overrides
            reuse the preset's cached encoder (the chapters share encoders this way).
        cache_dir: where pretrained encoders are cached
            (:func:`xtutor.experiments.encoders.pretrained_toy`; ``None``: pretrain afresh).
        model_name: the records' ``model`` (default ``toy-mlm``).
        alignment: contrastive alignment settings (:meth:`align`).
        n_eval_pairs, aer_pairs, probe_per_language: sizes of :meth:`alignment_records`.
        encoder: an already pretrained ``(model, tokenizer)`` of ``lab`` to use.
        show_progress: progress bars while pretraining.
        label_check: attacks keep every gold label, checked exactly
            (:func:`xtutor.toyreading.label_preserved`: candidates that would change it are
            never queried) and leave polarity, case and voice forms alone
            (:func:`xtutor.toyreading.protected_words`); adds the ``label_preserved_rate``
            and ``label_rejected_fraction`` records. Off by default: ledgers made before it
            stay reproducible.
    """

    def __init__(self, lab: Any, *, preset: str | None = None,
                 cache_dir: str | Path | None = None, model_name: str = "toy-mlm",
                 alignment: AlignmentSettings | None = None, n_eval_pairs: int = 200,
                 aer_pairs: int = 100, probe_per_language: int = 100,
                 encoder: Encoder | None = None, show_progress: bool = False,
                 label_check: bool = False) -> None:
        from xtutor.toyworld import ToyWorld

        self.lab = lab
        self.seed = int(lab.seed)
        self.streams = SeedStreams.toy(self.seed)
        self.world = ToyWorld(lab.world)
        self.languages = tuple(self.world.languages)
        self.label_check = bool(label_check)
        if len(self.languages) < 2:
            raise ValueError("a toy setup needs at least 2 languages (a source and a target)")
        self.src = self.languages[0]
        self.model_name = model_name
        self.finetune_config = lab.finetune
        self.max_length = lab.finetune.max_length
        self.precision = "fp32"
        self.cache_dir = cache_dir
        self.preset = preset
        self.alignment = alignment or AlignmentSettings()
        self.measure_sizes = {"n_pairs": n_eval_pairs, "aer_pairs": aer_pairs,
                              "probe_per_language": probe_per_language}
        self.show_progress = show_progress
        self._encoder: Encoder | None = encoder

    def _pretraining_config(self) -> Any:
        from xtutor.lab import LabConfig

        if self.preset is None:
            return self.lab
        base = LabConfig.preset(self.preset, seed=self.seed)
        return replace(base, world=self.lab.world, encoder=self.lab.encoder, mlm=self.lab.mlm,
                       corpus_per_language=self.lab.corpus_per_language)

    def encoder(self) -> Encoder:
        """The MLM-pretrained encoder (cached on disk with ``cache_dir``, and in memory)."""
        from xtutor.experiments.encoders import pretrained_toy
        from xtutor.lab import pretrain_toy_encoder

        if self._encoder is None:
            if self.cache_dir is None:
                m, t, _ = pretrain_toy_encoder(self.lab, self.world,
                                               show_progress=self.show_progress)
                self._encoder = (m.eval(), t)
            else:
                self._encoder = pretrained_toy(self._pretraining_config(), self.world,
                                               cache_dir=self.cache_dir,
                                               show_progress=self.show_progress)
        return self._encoder

    def random_init(self) -> Encoder:
        """The encoder with its random initial weights (the random-init control)."""
        from xtutor.experiments.encoders import random_toy

        return random_toy(self.lab, self.world)

    def align(self, alignment: str) -> PreTrainedModel:
        """A copy of the pretrained encoder aligned with ``alignment`` (chapter 2)."""
        from xtutor.experiments.contrastive import AlignmentStudyConfig, align_toy

        model, tok = self.encoder()
        a = self.alignment
        cfg = AlignmentStudyConfig(seeds=(self.seed,), pairs_per_language=a.pairs,
                                   captions_per_language=a.pairs, text_steps=a.steps,
                                   pivot_steps=a.steps,
                                   **({"lr": a.lr} if a.lr is not None else {}))
        return align_toy(model, tok, self.world, alignment, cfg, self.seed)

    def alignment_records(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          method: str, experiment: str) -> list[Record]:
        """Retrieval, AER and language-ID probe accuracy of the last layer (held-out stream
        ``retrieval``)."""
        from xtutor.experiments.encoders import toy_alignment_metrics

        recs = toy_alignment_metrics(model, tokenizer, self.world, seed=self.seed,
                                     model_name=self.model_name, method=method,
                                     experiment=experiment, **self.measure_sizes,
                                     eval_stream=self.streams.retrieval - self.seed)
        return [r for r in recs if "@" not in r.metric]

    def train(self, task: str = "nli") -> PairDataset:
        """``lab.nli_train`` pairs of ``task`` (``nli`` or ``paws``) in the source language."""
        if task == "nli":
            return self.world.nli(self.lab.nli_train, self.src, seed=self.streams.train)
        if task == "paws":
            return self.world.paws(self.lab.nli_train, self.src, seed=self.streams.train)
        raise ValueError(f"toy setup: task must be 'nli' or 'paws', got {task!r}")

    def tests(self, task: str = "nli") -> dict[tuple[str, str], PairDataset]:
        """The same ``lab.nli_test`` meanings rendered for every premise x hypothesis language
        pair (only same-language pairs when ``lab.generalized`` is off)."""
        langs = self.languages
        pairs = [(a, b) for a in langs for b in langs] if self.lab.generalized else \
            [(a, a) for a in langs]
        seed = self.streams.test
        if task == "nli":
            triples = self.world.nli_meanings(self.lab.nli_test, seed=seed)
            return {(a, b): self.world.render_pairs(triples, "nli", a, b, seed=seed)
                    for a, b in pairs}
        if task == "paws":
            items = self.world.paws_meanings(self.lab.nli_test, seed=seed)
            trip = [(x, y, lab) for x, y, lab, _ in items]
            voices = [v for *_, v in items]
            return {(a, b): self.world.render_pairs(trip, "paws", a, b, seed=seed,
                                                    voices=voices) for a, b in pairs}
        raise ValueError(f"toy setup: task must be 'nli' or 'paws', got {task!r}")

    def attack_sets(self, n: int, stream: str = "attack") -> dict[str, PairDataset]:
        """``n`` NLI pairs per language from the named stream (``attack``, ``test``...)."""
        seed = getattr(self.streams, stream)
        return {lang: self.world.nli(n, lang, seed=seed) for lang in self.languages}

    def attack_resources(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]:
        """Neighbour tables and code-switching dictionaries of every language."""
        from xtutor.attacks.resources import toy_resources

        return toy_resources(self.world, model, tokenizer)

    def dictionaries(self) -> dict[str, Any]:
        """Source -> target dictionaries of every other language (the regularisers')."""
        return {lang: self.world.dictionary(self.src, lang) for lang in self.languages[1:]}

    def parallel(self, n: int) -> list[Any]:
        """About ``n`` parallel pairs source-target, spread over the target languages."""
        others = self.languages[1:]
        per_lang = max(2, n // len(others))
        return [p for i, lang in enumerate(others)
                for p in self.world.parallel(self.src, lang, per_lang,
                                             seed=self.streams.parallel + i)]

    def attack_protection(self, lang: str) -> dict[str, Any]:
        """Extra attack constraints for ``lang``: with ``label_check``, the exact label check
        and the protected polarity, case and voice forms of every language
        (:mod:`xtutor.toyreading`); otherwise none (the attacks then take their protected
        words from :class:`~xtutor.attacks.study.AttackConfig`)."""
        if not self.label_check:
            return {}
        from xtutor.toyreading import label_preserved, protected_words

        return {"protected_words": tuple(sorted(protected_words(self.world))),
                "label_check": functools.partial(label_preserved, self.world)}


# the real-text setup lives in its own module (re-exported here)
from xtutor.experiments.xnli_setup import TextPair, XnliSetup, XnliSizes, silver_links  # noqa: E402

__all__ = ["ALIGNMENTS", "AlignmentSettings", "SeedStreams", "Setup", "TextPair", "ToySetup",
           "XnliSetup", "XnliSizes", "blank_premises", "shuffled_labels", "silver_links"]
