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
``../shared/data``; English dev to train, test sets to evaluate). A token-level task (UD-POS)
fits the same interface with token datasets.

Example:
    >>> from xtutor.lab import LabConfig
    >>> s = ToySetup(LabConfig.preset("tiny", seed=0))
    >>> s.src, s.languages, s.streams.test
    ('L0', ('L0', 'L1', 'L2'), 2000)
    >>> len(s.train()), sorted(s.tests())[:2]
    (240, [('L0', 'L0'), ('L0', 'L1')])
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.results import Record
from xtutor.training import FinetuneConfig

Encoder = tuple[PreTrainedModel, PreTrainedTokenizerBase]
#: Alignment methods a setup may offer (``image-pivot``: the toy family only).
ALIGNMENTS: tuple[str, ...] = ("none", "sentence", "word", "sentence+word", "image-pivot")


@dataclass(frozen=True)
class SeedStreams:
    """The random streams of one seed, by name: each kind of data is drawn from its own
    stream, so that no test item is ever a training item and a stream means the same thing in
    every experiment.

    Attributes:
        seed: the seed itself (model initialisation, fine-tuning order).
        train, test, attack, certify, retrieval: source-language training data, clean test
            sets, attacked sets, certified sets, held-out parallel pairs for retrieval.
        parallel: parallel pairs of the contrastive auxiliary loss (toy: ``parallel + i`` for
            the ``i``-th target language).
        align: parallel pairs sampled for alignment (real text).
        shuffle: the label shuffle of the shuffled-labels control.

    Example:
        >>> SeedStreams.toy(3).attack, SeedStreams.xnli(3).train
        (4003, 3)
    """

    seed: int
    train: int
    test: int
    attack: int
    certify: int
    retrieval: int
    parallel: int
    align: int
    shuffle: int

    @classmethod
    def toy(cls, seed: int) -> SeedStreams:
        """The toy family's streams (as chapters 1-5 have always drawn them)."""
        return cls(seed, train=1_000 + seed, test=2_000 + seed, certify=3_000 + seed,
                   attack=4_000 + seed, retrieval=10_000 + seed, parallel=20_000 + 10 * seed,
                   align=20_000 + seed, shuffle=60_000 + seed)

    @classmethod
    def xnli(cls, seed: int) -> SeedStreams:
        """The XNLI setup's streams (subsets of English dev and of the test sets)."""
        return cls(seed, train=seed, test=1_000 + seed, certify=3_000 + seed,
                   attack=4_000 + seed, retrieval=5_000 + seed, parallel=seed,
                   align=30_000 + seed, shuffle=60_000 + seed)


class Setup(Protocol):
    """What :func:`xtutor.experiments.unit.run_unit` needs from a setup (module docstring)."""

    seed: int
    streams: SeedStreams
    src: str
    languages: tuple[str, ...]
    model_name: str
    max_length: int
    finetune_config: FinetuneConfig

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


@dataclass(frozen=True)
class AlignmentSettings:
    """Contrastive alignment of a setup's encoder: steps per method, parallel pairs (per target
    language, or captions per language for the image pivot; real text: pairs in all) and the
    learning rate (``None``: the setup's default)."""

    steps: int = 400
    pairs: int = 512
    lr: float | None = None


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
    """

    def __init__(self, lab: Any, *, preset: str | None = None,
                 cache_dir: str | Path | None = None, model_name: str = "toy-mlm",
                 alignment: AlignmentSettings | None = None, n_eval_pairs: int = 200,
                 aer_pairs: int = 100, probe_per_language: int = 100,
                 encoder: Encoder | None = None, show_progress: bool = False) -> None:
        from xtutor.toyworld import ToyWorld

        self.lab = lab
        self.seed = int(lab.seed)
        self.streams = SeedStreams.toy(self.seed)
        self.world = ToyWorld(lab.world)
        self.languages = tuple(self.world.languages)
        if len(self.languages) < 2:
            raise ValueError("a toy setup needs at least 2 languages (a source and a target)")
        self.src = self.languages[0]
        self.model_name = model_name
        self.finetune_config = lab.finetune
        self.max_length = lab.finetune.max_length
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


# ---------------------------------------------------------------------------------------------
# real text: XNLI


@dataclass(frozen=True)
class XnliSizes:
    """Sizes of the XNLI setup: English dev pairs to train on, test pairs per language pair,
    attacked pairs per language, parallel pairs for alignment, alignment steps, epochs, batch
    size and max length."""

    train: int = 600
    test: int = 200
    attack: int = 40
    pairs: int = 2000
    align_steps: int = 200
    epochs: float = 3
    batch_size: int = 16
    max_length: int = 96


@dataclass(frozen=True)
class _Words:
    tokens: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class TextPair:
    """A parallel sentence pair of real text in the shape :func:`xtutor.training.align`
    expects (``.src``/``.tgt`` with ``.tokens`` and ``.text``, word links ``.alignment``)."""

    src: _Words
    tgt: _Words
    alignment: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_text(cls, src: str, tgt: str) -> TextPair:
        """Whitespace words of two sentences, no links yet.

        Example:
            >>> TextPair.from_text("a b", "c d e").tgt.tokens
            ('c', 'd', 'e')
        """
        return cls(_Words(tuple(src.split())), _Words(tuple(tgt.split())))


def silver_links(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 pairs: Sequence[TextPair], method: str = "itermax") -> list[TextPair]:
    """``pairs`` with word links predicted by ``model`` itself (SimAlign-style, batched): the
    word-level objective on real text, where no gold links exist.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> p = w.parallel("L0", "L1", 2, seed=0)
        >>> out = silver_links(m, t, [TextPair.from_text(x.src.text, x.tgt.text) for x in p])
        >>> all(len(q.alignment) > 0 for q in out)
        True
    """
    from xtutor.word_alignment import align_many, word_embeddings

    src = word_embeddings(model, tokenizer, [list(p.src.tokens) for p in pairs])
    tgt = word_embeddings(model, tokenizer, [list(p.tgt.tokens) for p in pairs])
    links = align_many(src, tgt, method)  # type: ignore[arg-type]
    return [replace(p, alignment=tuple(sorted(ln))) for p, ln in zip(pairs, links, strict=True)]


class XnliSetup:
    """A real encoder on the XNLI slices for one seed: fine-tuned on English dev pairs,
    evaluated on test subsets of ``languages`` and their mixed pairs.

    Test items never enter training: training uses the dev split only, and the parallel text
    of alignment and of the contrastive loss comes from dev translations (disjoint from test).

    Args:
        seed: the seed. model: a :func:`xtutor.models.load_encoder` name.
        sizes: :class:`XnliSizes`. languages: evaluation languages (must include ``en``).
        codeswitch_languages: MUSE ``en-xx`` dictionaries of the regularisers.
        attack_targets: languages the code-switching attack switches into.
        lr: fine-tuning learning rate. data_dir: the shared data folder (``None``:
            ``$XTUTOR_DATA_DIR`` or ``../shared/data``).
        align_lr: learning rate of contrastive alignment.
    """

    def __init__(self, seed: int, *, model: str = "e5-small-offline",
                 sizes: XnliSizes | None = None,
                 languages: Sequence[str] = ("en", "es", "sw", "ur", "my"),
                 codeswitch_languages: Sequence[str] = ("es", "de", "fr", "ru", "hi", "ar"),
                 attack_targets: Sequence[str] = ("es", "de", "fr"), lr: float = 1e-4,
                 data_dir: str | Path | None = None, align_lr: float = 2e-5) -> None:
        from xtutor.data.paths import require_shared_data

        if "en" not in languages:
            raise ValueError(f"xnli setup: languages must include 'en' (the training "
                             f"language), got {list(languages)}")
        self.seed = seed
        self.streams = SeedStreams.xnli(seed)
        self.sizes = sizes or XnliSizes()
        self.root = Path(data_dir) if data_dir else require_shared_data()
        self.languages = tuple(languages)
        self.codeswitch_languages = tuple(codeswitch_languages)
        self.attack_targets = tuple(attack_targets)
        self.src = "en"
        self.model_name = model
        self.max_length = self.sizes.max_length
        self.align_lr = align_lr
        self.finetune_config = FinetuneConfig(
            epochs=float(self.sizes.epochs), batch_size=self.sizes.batch_size, lr=lr,
            max_length=self.max_length, warmup_ratio=0.1, seed=seed)
        self._encoder: Encoder | None = None
        self._tables: dict[str, Any] | None = None

    def _xnli(self, lang: str, split: str) -> PairDataset:
        from xtutor.data.xnli import load_xnli

        return load_xnli(lang, split, self.root / "xnli")

    def encoder(self) -> Encoder:
        """The encoder as shipped (loaded once)."""
        from xtutor.models import load_encoder

        if self._encoder is None:
            self._encoder = load_encoder(self.model_name)
        return self._encoder

    def random_init(self) -> Encoder:
        """The same architecture with random weights (the random-init control)."""
        from xtutor.reproducibility import set_seed

        model, tok = self.encoder()
        set_seed(self.seed)
        return AutoModel.from_config(model.config).eval(), tok

    def align_pairs(self) -> list[TextPair]:
        """Parallel dev premises and hypotheses, English with every other language that has a
        dev set offline (``sizes.pairs`` of them, stream ``align``)."""
        pairs = self._dev_translations()
        rng = random.Random(self.streams.align)
        pairs = rng.sample(pairs, min(len(pairs), self.sizes.pairs))
        return [TextPair.from_text(a, b) for a, b in pairs if a.split() and b.split()]

    def _dev_translations(self) -> list[tuple[str, str]]:
        en = self._xnli("en", "dev")
        pairs: list[tuple[str, str]] = []
        for lang in self.languages:
            if lang == "en":
                continue
            try:
                other = self._xnli(lang, "dev")
            except FileNotFoundError:  # e.g. Spanish: only its test set is offline
                continue
            for x, y in zip(en, other, strict=True):
                pairs += [(x.premise, y.premise), (x.hypothesis, y.hypothesis)]
        if not pairs:
            raise ValueError(f"xnli setup: no XNLI dev set of {list(self.languages)} besides "
                             f"English in {self.root / 'xnli'}; alignment needs en-xx dev "
                             f"translations")
        return pairs

    def align(self, alignment: str) -> PreTrainedModel:
        """A copy of the encoder aligned on dev translations (sentence InfoNCE, or word-level
        contrastive on silver itermax links)."""
        from xtutor.training import AlignConfig, align

        if alignment not in ("sentence", "word", "sentence+word"):
            raise ValueError(f"xnli setup: alignment must be 'sentence', 'word' or "
                             f"'sentence+word' (no images offline), got {alignment!r}")
        model, tok = self.encoder()
        pairs = self.align_pairs()
        common = {"steps": self.sizes.align_steps, "batch_size": 16, "lr": self.align_lr,
                  "seed": self.seed, "max_length": self.max_length}
        if alignment in ("word", "sentence+word"):
            pairs = silver_links(model, tok, pairs)
        cfg = {"sentence": AlignConfig(**common),
               "word": AlignConfig(sentence_weight=0.0, word_weight=1.0, **common),
               "sentence+word": AlignConfig(word_weight=1.0, **common)}[alignment]
        return align(model, tok, pairs=pairs, config=cfg, show_progress=False).model.eval()

    def alignment_records(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          method: str, experiment: str) -> list[Record]:
        """Premise retrieval English <-> each language on ``sizes.test`` test items (mean of
        both directions)."""
        from xtutor.alignment import retrieval_both_directions
        from xtutor.encode import encode
        from xtutor.experiments.encoders import text_prefix

        pre = text_prefix(self.model_name)
        en = self._xnli("en", "test").subset(self.sizes.test, seed=self.streams.retrieval)
        ids = [ex.id for ex in en]
        out = []
        a = encode(model, tokenizer, [ex.premise for ex in en], prefix=pre,
                   max_length=self.max_length)
        for lang in [x for x in self.languages if x != "en"]:
            other = {ex.id: ex for ex in self._xnli(lang, "test")}
            b = encode(model, tokenizer, [other[i].premise for i in ids], prefix=pre,
                       max_length=self.max_length)
            fwd, bwd = retrieval_both_directions(a, b)
            out.append(Record(experiment=experiment, model=self.model_name, method=method,
                              task="retrieval", train_lang="en", eval_lang=lang,
                              premise_lang="en", hypothesis_lang=lang,
                              metric="retrieval_acc_cosine", value=(fwd + bwd) / 2,
                              n=len(ids), seed=self.seed))
        return out

    def train(self, task: str = "nli") -> PairDataset:
        """``sizes.train`` English dev pairs (stream ``train``)."""
        if task != "nli":
            raise ValueError(f"xnli setup: task must be 'nli', got {task!r}")
        return self._xnli("en", "dev").subset(self.sizes.train, seed=self.streams.train)

    def tests(self, task: str = "nli") -> dict[tuple[str, str], PairDataset]:
        """``sizes.test`` test items for every premise x hypothesis language pair (the same
        items in every pair: XNLI is parallel)."""
        from xtutor.data.xnli import load_xnli_pairs

        if task != "nli":
            raise ValueError(f"xnli setup: task must be 'nli', got {task!r}")
        out = {}
        for a in self.languages:
            for b in self.languages:
                data = self._xnli(a, "test") if a == b else \
                    load_xnli_pairs(a, b, "test", self.root / "xnli")
                out[(a, b)] = data.subset(self.sizes.test, seed=self.streams.test)
        return out

    def attack_sets(self, n: int, stream: str = "attack") -> dict[str, PairDataset]:
        """``n`` test pairs per language from the named stream."""
        seed = getattr(self.streams, stream)
        return {lang: self._xnli(lang, "test").subset(n, seed=seed) for lang in self.languages}

    def attack_resources(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]:
        """MUSE / Swadesh dictionaries and dataset-word neighbour tables
        (:func:`xtutor.attacks.resources.real_resources`)."""
        from xtutor.attacks.resources import real_resources

        return real_resources(sets, model, tokenizer, targets=self.attack_targets,
                              data_dir=self.root)

    def dictionaries(self) -> dict[str, Any]:
        """MUSE ``en-xx`` dictionaries of ``codeswitch_languages`` (loaded once)."""
        from xtutor.data.muse import load_muse

        if self._tables is None:
            self._tables = {lang: load_muse("en", lang, self.root / "muse")
                            for lang in self.codeswitch_languages}
        return self._tables

    def parallel(self, n: int) -> list[Any]:
        """``n`` dev translation pairs (English, other) for the contrastive loss (stream
        ``parallel``)."""
        pairs = self._dev_translations()
        return random.Random(self.streams.parallel).sample(pairs, min(len(pairs), n))


__all__ = ["ALIGNMENTS", "AlignmentSettings", "SeedStreams", "Setup", "TextPair", "ToySetup",
           "XnliSetup", "XnliSizes", "shuffled_labels", "silver_links"]
