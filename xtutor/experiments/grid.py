"""``experiment: grid``: the full factorial behind chapter 5, resumable and shardable.

Every cell of {alignment} x {fine-tuning} x {seed} is one unit of
:func:`xtutor.experiments.unit.run_unit`: the setup's pretrained encoder (chapter 1) is aligned
with a contrastive method (chapter 2), fine-tuned on the source language with a noise-robust
method (chapter 3), evaluated clean on every premise-language x hypothesis-language pair (the
generalized matrix) and attacked in every language (chapter 4). Each (seed, alignment) also
gets its alignment measured (retrieval, word-alignment AER, language-ID probe; toy family).

========================= ===================================================================
axis                      values
========================= ===================================================================
``alignments``            ``none``, ``sentence``, ``word``, ``sentence+word``,
                          ``image-pivot`` (toy only: there are no images offline)
``finetunes``             ``plain``, ``pgd``, ``freelb``, ``free`` (adversarial training),
                          ``smoothing``, ``codeswitch``, ``consistency``, ``contrastive``
``controls``              ``shuffled-labels`` (plain fine-tuning on balanced shuffled labels:
                          clean accuracy must be chance), ``random-init`` (the encoder without
                          pretraining or alignment: no alignment), ``shuffled-pairs`` (toy:
                          the ``sentence`` alignment's InfoNCE, same pairs and steps, with the
                          translations shuffled: equal compute, no translation signal;
                          alignment ``sentence-shuffled``), ``hypothesis-only`` (plain
                          fine-tuning and evaluation with every premise blanked: what the
                          hypothesis alone gives away)
========================= ===================================================================

Records have ``experiment="grid"`` and ``method="<alignment>/<finetune>"`` (``<finetune>`` is
``none`` for alignment measurements); :mod:`xtutor.experiments.grid_analysis` reads them.

Running, resuming and sharding are the runner's (:mod:`xtutor.runner`): each finished cell is
written atomically to ``out/cells/<cell>.<hash>.jsonl`` (hash of every setting that changes
results) before the next starts, a rerun skips finished cells, ``--shard i/n`` runs a
deterministic share of the cells (grouped by seed and alignment, so an aligned encoder is
trained by one shard only). Aligned toy encoders are kept in ``out/encoders/``
(``save_encoders``), so a resumed run does not re-align either.

Three setups (:mod:`xtutor.experiments.setups`): ``setup: toy`` (the toy family of a lab
preset, encoders cached in ``$XTUTOR_CACHE/toy-encoders``), ``setup: xnli`` (a real
encoder, aligned on XNLI *dev* translations, fine-tuned on English XNLI dev, evaluated on XNLI
test subsets of ``languages`` and their mixed pairs, attacked with MUSE / Swadesh resources;
``word`` alignment on silver itermax links) and ``setup: pawsx`` (the same with paraphrase
identification: fine-tuned on English PAWS-X *train* pairs, evaluated on the PAWS-X test sets
of ``languages`` and their mixed pairs paired by id, aligned on PAWS-X dev translations, two
labels; :class:`~xtutor.experiments.pawsx_setup.PawsxSetup`). XNLI comes from
``<data folder>/xnli`` (``xnli_source: local``) or from the Hugging Face Hub (``xnli_source:
hub``: ``facebook/xnli``, its 15 languages), as in ``configs/grid_xnli_xlmr.yaml`` for a GPU;
PAWS-X from the Hub (``pawsx_source: hub``: ``google-research-datasets/paws-x``) or
``<data folder>/pawsx`` (``local``), as in ``configs/grid_pawsx_xlmr.yaml``.

Example:
    >>> s = GridSettings(preset="tiny", seeds=(0,), alignments=("none",),
    ...                  finetunes=("plain",), controls=())
    >>> [c.name for c in grid_cells(s)]
    ['seed0__none__none', 'seed0__none__plain']
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.study import AttackConfig
from xtutor.experiments.grid_analysis import (
    compare,
    effects_frame,
    grid_frame,
    grid_scores,
    summary_table,
)
from xtutor.experiments.pawsx_setup import PAWSX_SOURCES, PawsxSetup
from xtutor.experiments.setups import (
    AlignmentSettings,
    Setup,
    ToySetup,
    XnliSetup,
    XnliSizes,
)
from xtutor.experiments.unit import run_unit
from xtutor.regularizers.factory import METHODS, NEEDS_DICTIONARIES, RegularizerSettings
from xtutor.results import Record

KIND = "grid"
#: The grid's setups: the toy family, XNLI and PAWS-X (module docstring).
SETUPS: tuple[str, ...] = ("toy", "xnli", "pawsx")
#: Alignment methods of the grid (chapter 2); ``image-pivot`` needs the toy family's images.
ALIGNMENTS: tuple[str, ...] = ("none", "sentence", "word", "sentence+word", "image-pivot")
#: Fine-tuning methods of the grid (chapter 3).
FINETUNES: tuple[str, ...] = METHODS
#: Negative controls, each run once per seed (clean evaluation only).
CONTROLS: tuple[str, ...] = ("shuffled-labels", "random-init", "shuffled-pairs",
                             "hypothesis-only")
#: The alignment of the ``shuffled-pairs`` control (:mod:`xtutor.experiments.contrastive`).
SHUFFLED_ALIGNMENT = "sentence-shuffled"
#: Attacks the grid can run (:data:`xtutor.attacks.study.ATTACKS`).
GRID_ATTACKS: tuple[str, ...] = ("char_noise", "word_substitution", "code_switch",
                                 "embedding_pgd")
#: Sizes of the XNLI setup per ``profile`` (:class:`~xtutor.experiments.setups.XnliSizes`).
XNLI_GRID_PROFILES: dict[str, XnliSizes] = {
    "smoke": XnliSizes(train=16, test=8, attack=4, pairs=16, align_steps=2, epochs=1,
                       max_length=48),
    "ci": XnliSizes(train=192, test=200, attack=12, pairs=640, align_steps=40, epochs=1,
                    max_length=64),
    "small": XnliSizes(train=600, test=200, attack=40, pairs=2000, align_steps=200, epochs=3,
                       max_length=96),
    "full": XnliSizes(train=2490, test=5010, attack=200, pairs=8000, align_steps=1000,
                      epochs=3, max_length=128),
    # the committed real ledger (data/ledgers/grid_xnli_e5): sized for about 4 h on 2 cores
    "ledger": XnliSizes(train=2490, test=500, test_mixed=200, attack=100, pairs=4000,
                        align_steps=300, epochs=2, max_length=96, retrieval=500),
}
#: Sizes of the PAWS-X setup per ``profile``: ``train`` English train pairs (of 49401;
#: ``pawsx_train`` overrides it), ``test`` items per language pair (a test set has 2000),
#: ``pairs`` dev translation pairs for alignment; PAWS-X sentences are long, hence
#: ``max_length`` 128 where the budget allows.
PAWSX_GRID_PROFILES: dict[str, XnliSizes] = {
    "smoke": XnliSizes(train=16, test=8, attack=4, pairs=16, align_steps=2, epochs=1,
                       max_length=48),
    "ci": XnliSizes(train=192, test=200, attack=12, pairs=640, align_steps=40, epochs=1,
                    max_length=96),
    "small": XnliSizes(train=2000, test=500, attack=40, pairs=2000, align_steps=200,
                       epochs=2, max_length=128),
    "full": XnliSizes(train=10000, test=2000, attack=200, pairs=8000, align_steps=1000,
                      epochs=3, max_length=128),
}


def _check_axis(name: str, values: tuple, allowed: tuple | None, empty: bool) -> None:
    if not values and not empty:
        raise ValueError(f"grid setting {name!r} must be a non-empty list")
    bad = [v for v in values if allowed is not None and v not in allowed]
    if bad:
        raise ValueError(f"grid setting {name!r}: {bad[0]!r} is not one of {list(allowed)}")
    if len(set(values)) != len(values):
        raise ValueError(f"grid setting {name!r} has duplicates: {list(values)}")


@dataclass(frozen=True)
class GridSettings:
    """Settings of a grid (module docstring); unknown keys are refused
    (:func:`xtutor.settings.check_settings`).

    Attributes:
        setup: ``toy``, ``xnli`` or ``pawsx`` (:data:`SETUPS`).
        seeds, alignments, finetunes, controls, attacks: the grid's axes (no ``finetunes``:
            an alignment-only grid).
        preset: toy lab preset (``tiny``, ``ci``, ``default``); its encoder, world and sizes.
        align_steps, align_pairs, align_lr: contrastive alignment (steps per method, parallel
            pairs per target language or captions per language for the pivot); toy only
            (the xnli sizes come from ``profile``).
        nli_train, epochs, n_test: toy fine-tuning and clean test sizes (``None``: the
            preset's). lr: fine-tuning learning rate (``None``: the preset's for toy, 1e-4
            for xnli).
        n_attack: attacked pairs per language (toy); n_eval_pairs, aer_pairs,
            probe_per_language: alignment measurement sizes (toy).
        max_word_fraction, max_candidates, beam_width, pgd_steps, pgd_epsilon: attack budget
            (:class:`xtutor.attacks.study.AttackConfig`).
        robust: hyperparameters of the fine-tuning methods
            (:class:`xtutor.regularizers.RegularizerSettings`).
        model, profile, languages, codeswitch_languages, attack_targets, data_dir: xnli and
            pawsx only (``profile``: :data:`XNLI_GRID_PROFILES` or
            :data:`PAWSX_GRID_PROFILES`).
        save_encoders: keep aligned encoders in ``out/encoders`` for resuming.
        alignment_seeds: seeds of the cells whose alignment is not ``none`` (``None``: every
            seed), e.g. five seeds for the unaligned row and three for the rest.
        precision: of evaluation, attack and retrieval forward passes; finetune_precision and
            freeze_embeddings: fine-tuning speed settings (xnli only; see
            :class:`xtutor.training.FinetuneConfig` and :mod:`xtutor.precision`).
        query_budget: victim queries per attacked example and attack (None: no cap).
        attack_sides: which side of a pair the text attacks may edit (``both``, ``premise``,
            ``hypothesis``). attack_languages: languages attacked (xnli; None: all).
        n_examples: successful adversarial pairs kept per cell, language and attack, written to
            ``out/examples/`` beside the cells (for a chapter to show; changes no record).
        protect_labels: attacks keep the gold label. xnli: they leave negation words, numbers
            and names alone (:func:`xtutor.attacks.protect.label_protection`); toy: every
            candidate is checked exactly with the generator's semantics and one that would
            change the label is never queried, polarity, case and voice forms are left alone
            (:mod:`xtutor.toyreading`), and the cells gain ``label_preserved_rate`` and
            ``label_rejected_fraction`` records.
        retrieval_after: also measure retrieval with each fine-tuned encoder (xnli only): does
            English fine-tuning erode alignment?
        xnli_source: where the xnli setup reads XNLI: ``local`` files in ``data_dir/xnli``
            or the ``hub`` (``facebook/xnli``; ``languages`` among its 15). MUSE and
            Swadesh still come from the data folder (on Colab:
            :func:`xtutor.data.fetch.colab_setup`).
        pawsx_source: where the pawsx setup reads PAWS-X: the ``hub``
            (``google-research-datasets/paws-x``) or ``local`` files in ``data_dir/pawsx``
            (:data:`~xtutor.experiments.pawsx_setup.PAWSX_SOURCES`). pawsx only.
        pawsx_train: English PAWS-X train pairs to fine-tune on (``None``: the profile's
            ``train``). pawsx only.
    """

    setup: str = "toy"
    seeds: tuple[int, ...] = (0, 1, 2)
    alignments: tuple[str, ...] = ("none", "sentence", "word", "image-pivot")
    finetunes: tuple[str, ...] = ("plain", "free", "smoothing", "codeswitch")
    controls: tuple[str, ...] = ("shuffled-labels", "random-init")
    attacks: tuple[str, ...] = ("char_noise", "word_substitution", "code_switch")
    preset: str = "ci"
    align_steps: int = 400
    align_pairs: int = 512
    align_lr: float = 1e-3
    nli_train: int | None = None
    epochs: float | None = None
    lr: float | None = None
    n_test: int | None = None
    n_attack: int = 30
    n_eval_pairs: int = 200
    aer_pairs: int = 100
    probe_per_language: int = 100
    max_word_fraction: float = 0.2
    max_candidates: int = 8
    beam_width: int = 2
    pgd_steps: int = 5
    pgd_epsilon: float = 0.2
    robust: RegularizerSettings = field(default_factory=RegularizerSettings)
    model: str = "e5-small-offline"
    profile: str = "small"
    languages: tuple[str, ...] = ("en", "es", "sw", "ur", "my")
    codeswitch_languages: tuple[str, ...] = ("es", "de", "fr", "ru", "hi", "ar")
    attack_targets: tuple[str, ...] = ("es", "de", "fr")
    data_dir: str | None = None
    save_encoders: bool = True
    alignment_seeds: tuple[int, ...] | None = None
    precision: str = "fp32"
    finetune_precision: str = "fp32"
    freeze_embeddings: bool = False
    query_budget: int | None = None
    protect_labels: bool = False
    retrieval_after: bool = False
    attack_sides: str = "both"
    attack_languages: tuple[str, ...] | None = None
    n_examples: int = 0
    xnli_source: str = "local"
    pawsx_source: str = "hub"
    pawsx_train: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.robust, Mapping):  # a plain mapping in Python code
            object.__setattr__(self, "robust", RegularizerSettings(**self.robust))
        if self.setup not in SETUPS:
            raise ValueError(f"grid setting 'setup' must be one of {list(SETUPS)}, got "
                             f"{self.setup!r}")
        for name, allowed, empty in (("seeds", None, False), ("alignments", ALIGNMENTS, False),
                                     ("finetunes", FINETUNES, True),
                                     ("controls", CONTROLS, True),
                                     ("attacks", GRID_ATTACKS, True),
                                     ("languages", None, False)):
            object.__setattr__(self, name, tuple(getattr(self, name)))
            _check_axis(name, getattr(self, name), allowed, empty)
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"grid setting 'seeds' must be >= 0, got {list(self.seeds)}")
        if self.alignment_seeds is not None:
            object.__setattr__(self, "alignment_seeds", tuple(self.alignment_seeds))
            extra = [x for x in self.alignment_seeds if x not in self.seeds]
            if extra:
                raise ValueError(f"grid setting 'alignment_seeds' must be a subset of 'seeds' "
                                 f"{list(self.seeds)}, got {extra}")
        from xtutor.precision import check_precision_settings

        check_precision_settings("grid", self.precision, self.finetune_precision)
        from xtutor.attacks.constraints import SIDES

        if self.attack_sides not in SIDES:
            raise ValueError(f"grid setting 'attack_sides' must be one of {list(SIDES)}, got "
                             f"{self.attack_sides!r}")
        if self.attack_languages is not None:
            object.__setattr__(self, "attack_languages", tuple(self.attack_languages))
            bad = [x for x in self.attack_languages if x not in self.languages]
            if bad:
                raise ValueError(f"grid setting 'attack_languages': {bad} are not among "
                                 f"'languages' {list(self.languages)}")
        if self.query_budget is not None and int(self.query_budget) < 1:
            raise ValueError(f"grid setting 'query_budget' must be >= 1 or null, got "
                             f"{self.query_budget}")
        if self.setup == "toy":
            changed = [n for n, default in (("precision", "fp32"),
                                            ("finetune_precision", "fp32"),
                                            ("freeze_embeddings", False),
                                            ("retrieval_after", False),
                                            ("attack_languages", None))
                       if getattr(self, n) != default]
            if changed:
                raise ValueError(f"grid settings {changed} apply to setup 'xnli' only (or "
                                 f"'pawsx', the other real-text setup); leave them out for the "
                                 f"toy family")
        if self.setup != "xnli" and self.xnli_source != "local":
            raise ValueError(f"grid setting 'xnli_source' applies to setup 'xnli' only, not "
                             f"{self.setup!r}" + ("; PAWS-X is read from 'pawsx_source'"
                                                  if self.setup == "pawsx" else ""))
        if self.setup != "pawsx":
            changed = [n for n, default in (("pawsx_source", "hub"), ("pawsx_train", None))
                       if getattr(self, n) != default]
            if changed:
                raise ValueError(f"grid settings {changed} apply to setup 'pawsx' only, not "
                                 f"{self.setup!r}")
        if self.setup in ("xnli", "pawsx"):
            if "shuffled-pairs" in self.controls:
                raise ValueError(f"grid control 'shuffled-pairs' is implemented for the toy "
                                 f"family only; leave it out of 'controls' for setup "
                                 f"{self.setup!r}")
            if "image-pivot" in self.alignments:
                raise ValueError(f"grid setup {self.setup!r}: 'image-pivot' needs captioned "
                                 f"images, which exist only for the toy family offline; leave "
                                 f"it out of 'alignments'")
            profiles = XNLI_GRID_PROFILES if self.setup == "xnli" else PAWSX_GRID_PROFILES
            if self.profile not in profiles:
                raise ValueError(f"grid setting 'profile' must be one of "
                                 f"{list(profiles)}, got {self.profile!r}")
            if "en" not in self.languages:
                raise ValueError(f"grid setup {self.setup!r}: languages must include 'en' (the "
                                 f"training language), got {list(self.languages)}")
        if self.setup == "pawsx":
            from xtutor.data.pawsx import PAWSX_LANGUAGES

            bad = [x for x in self.languages if x not in PAWSX_LANGUAGES]
            if bad:
                raise ValueError(f"grid setting 'languages': {bad} are not PAWS-X languages "
                                 f"(setup 'pawsx'); PAWS-X has {list(PAWSX_LANGUAGES)}")
            if self.pawsx_source not in PAWSX_SOURCES:
                raise ValueError(f"grid setting 'pawsx_source' must be one of "
                                 f"{list(PAWSX_SOURCES)}, got {self.pawsx_source!r}")
            if self.pawsx_train is not None and int(self.pawsx_train) < 1:
                raise ValueError(f"grid setting 'pawsx_train' must be >= 1 or null, got "
                                 f"{self.pawsx_train}")
        if self.setup == "xnli":
            from xtutor.experiments.xnli_setup import XNLI_SOURCES

            if self.xnli_source not in XNLI_SOURCES:
                raise ValueError(f"grid setting 'xnli_source' must be one of "
                                 f"{list(XNLI_SOURCES)}, got {self.xnli_source!r}")
            from xtutor.data.xnli import XNLI_HUB_ID, XNLI_LANGUAGES

            off_hub = [x for x in self.languages if x not in XNLI_LANGUAGES]
            if self.xnli_source == "hub" and off_hub:
                raise ValueError(f"grid setting 'languages': {off_hub} are not on the Hub "
                                 f"({XNLI_HUB_ID}) that xnli_source 'hub' reads; its "
                                 f"languages are {list(XNLI_LANGUAGES)}")
        if int(self.n_examples) < 0:
            raise ValueError(f"grid setting 'n_examples' must be >= 0, got {self.n_examples}")
        for name in ("align_steps", "align_pairs", "n_attack", "n_eval_pairs", "aer_pairs",
                     "probe_per_language", "max_candidates", "beam_width", "pgd_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"grid setting {name!r} must be >= 1, got "
                                 f"{getattr(self, name)}")
        if not 0 < self.max_word_fraction <= 1:
            raise ValueError(f"grid setting 'max_word_fraction' must be in (0, 1], got "
                             f"{self.max_word_fraction}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None, source: str = "grid"
                      ) -> GridSettings:
        """Build from a config mapping (types converted, unknown keys refused)."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=source)


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``finetune == "none"`` measures the alignment of ``alignment``."""

    seed: int
    alignment: str
    finetune: str

    @property
    def name(self) -> str:
        """File-name-safe identifier, e.g. ``seed0__sentence+word__plain``."""
        return f"seed{self.seed}__{self.alignment}__{self.finetune}"

    @property
    def group(self) -> str:
        """Cells sharing an encoder (one seed and alignment): one shard runs them all."""
        return f"seed{self.seed}__{self.alignment}"

    @property
    def method(self) -> str:
        """The records' ``method``: ``<alignment>/<finetune>``."""
        return f"{self.alignment}/{self.finetune}"

    @property
    def is_control(self) -> bool:
        """Whether the cell is a negative control (clean evaluation only)."""
        return self.alignment in ("random-init", SHUFFLED_ALIGNMENT) or \
            self.finetune in ("shuffled-labels", "hypothesis-only")


def grid_cells(settings: GridSettings) -> list[Cell]:
    """Every cell of the grid in run order: per seed, per alignment, its alignment measurement,
    then each fine-tuning method; then the seed's controls (without ``finetunes``, only the
    random-init encoder's alignment measurement)."""
    out = []
    for seed in settings.seeds:
        for a in settings.alignments:
            if a != "none" and settings.alignment_seeds is not None and \
                    seed not in settings.alignment_seeds:
                continue
            out.append(Cell(seed, a, "none"))
            out += [Cell(seed, a, f) for f in settings.finetunes]
        if "random-init" in settings.controls:
            out.append(Cell(seed, "random-init", "none"))
            if settings.finetunes:  # an alignment-only grid fine-tunes nothing
                out.append(Cell(seed, "random-init", "plain"))
        if "shuffled-labels" in settings.controls and settings.finetunes:
            out.append(Cell(seed, "none", "shuffled-labels"))
        if "shuffled-pairs" in settings.controls:
            out.append(Cell(seed, SHUFFLED_ALIGNMENT, "none"))
            if settings.finetunes:
                out.append(Cell(seed, SHUFFLED_ALIGNMENT, "plain"))
        if "hypothesis-only" in settings.controls and settings.finetunes:
            out.append(Cell(seed, "none", "hypothesis-only"))
    return out


def real_sizes(s: GridSettings) -> XnliSizes:
    """The sizes of a real-text grid: its ``profile`` of :data:`XNLI_GRID_PROFILES` or
    :data:`PAWSX_GRID_PROFILES` (``pawsx_train``, when set, replaces ``train``).

    Example:
        >>> real_sizes(GridSettings(setup="pawsx", alignments=("none",),
        ...                         languages=("en", "de"), pawsx_train=500)).train
        500
    """
    if s.setup == "xnli":
        return XNLI_GRID_PROFILES[s.profile]
    if s.setup == "pawsx":
        sizes = PAWSX_GRID_PROFILES[s.profile]
        return sizes if s.pawsx_train is None else replace(sizes, train=int(s.pawsx_train))
    raise ValueError(f"grid setup {s.setup!r} has no real-text sizes (setups 'xnli', 'pawsx')")


def _missing_muse(setup: XnliSetup, s: GridSettings) -> list[str]:
    """MUSE files the regularisers of ``s`` will read that the setup's data folder lacks."""
    if not NEEDS_DICTIONARIES & set(s.finetunes):
        return []
    muse = setup.data_root("the regularisers' dictionaries (MUSE)") / "muse"
    return [f"muse/en-{x}.txt" for x in s.codeswitch_languages
            if not (muse / f"en-{x}.txt").is_file()]


def grid_setup(s: GridSettings, seed: int, cache_dir: str | Path | None = None) -> Setup:
    """The :class:`~xtutor.experiments.setups.Setup` of one seed of grid ``s``."""
    if s.setup in ("xnli", "pawsx"):
        real = {"model": s.model, "sizes": real_sizes(s), "languages": s.languages,
                "codeswitch_languages": s.codeswitch_languages,
                "attack_targets": s.attack_targets, "lr": s.lr if s.lr is not None else 1e-4,
                "data_dir": s.data_dir, "freeze_embeddings": s.freeze_embeddings,
                "train_precision": s.finetune_precision, "precision": s.precision,
                "protect_labels": s.protect_labels, "attack_languages": s.attack_languages}
        setup = XnliSetup(seed, **real, source=s.xnli_source) if s.setup == "xnli" else \
            PawsxSetup(seed, **real, source=s.pawsx_source)
        hub = (s.xnli_source if s.setup == "xnli" else s.pawsx_source) == "hub"
        if hub:  # fail at the first cell, not after hours of alignment
            needs = [x for x, on in (
                ("the attacks' resources", bool(s.attacks and s.finetunes)),
                ("the regularisers' dictionaries", bool(NEEDS_DICTIONARIES & set(s.finetunes))),
            ) if on]
            if needs:
                setup.data_root(" and ".join(needs) + " (MUSE, Swadesh)")
        missing = _missing_muse(setup, s) if s.setup == "pawsx" else []
        if missing:
            methods = sorted(NEEDS_DICTIONARIES & set(s.finetunes))
            raise FileNotFoundError(
                f"grid setup 'pawsx': fine-tuning methods {methods} read the MUSE dictionaries "
                f"of codeswitch_languages {list(s.codeswitch_languages)}, and the data folder "
                f"{setup.data_root('MUSE')} lacks {missing}; fetch them with "
                f"xtutor.data.fetch.fetch_files(<data folder>, xtutor.data.fetch.data_files("
                f"muse=[...])) or leave those languages out of 'codeswitch_languages'")
        return setup
    from xtutor.lab import LabConfig

    lab = LabConfig.preset(s.preset, seed=seed)
    lab = replace(lab, nli_train=s.nli_train or lab.nli_train, nli_test=s.n_test or lab.nli_test,
                  finetune=replace(lab.finetune, epochs=s.epochs or lab.finetune.epochs,
                                   lr=s.lr or lab.finetune.lr))
    return ToySetup(lab, preset=s.preset, cache_dir=cache_dir, model_name=f"toy-mlm-{s.preset}",
                    alignment=AlignmentSettings(s.align_steps, s.align_pairs, s.align_lr),
                    n_eval_pairs=s.n_eval_pairs, aer_pairs=s.aer_pairs,
                    probe_per_language=s.probe_per_language, label_check=s.protect_labels)


def default_toy_cache() -> Path:
    """``$XTUTOR_CACHE/toy-encoders``: where the chapters and the grid cache toy encoders."""
    from xtutor.profiles import cache_dir

    return cache_dir() / "toy-encoders"


def _aligned(setup: Setup, s: GridSettings, out: Path, alignment: str, h: str
             ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The setup's encoder aligned with ``alignment`` (read from ``out/encoders`` when a
    previous run saved it)."""
    from xtutor.io import atomic_save_dir

    model, tok = setup.encoder()
    if alignment == "none":
        return model, tok
    path = out / "encoders" / f"seed{setup.seed}__{alignment}.{h}"
    if (path / "config.json").is_file():
        return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    aligned = setup.align(alignment)
    if s.save_encoders:
        atomic_save_dir(path, lambda tmp: (aligned.save_pretrained(tmp),
                                           tok.save_pretrained(tmp)))
    return aligned, tok


def run_cell(s: GridSettings, cell: Cell, ctx: Any) -> list[Record]:
    """Compute one cell (unstamped records). ``ctx`` is the runner's
    :class:`~xtutor.runner.RunContext`: its ``state`` keeps the current seed's setup and
    encoders between cells, ``out`` receives aligned encoders, ``cache_dir`` the pretrained
    toy encoders."""
    state = ctx.state
    if state.get("seed") != cell.seed:  # one seed's setup and encoders in memory at a time
        state.clear()
        state["seed"] = cell.seed
        state["setup"] = grid_setup(s, cell.seed, ctx.toy_cache or default_toy_cache())
        state["models"] = {}
    setup: Setup = state["setup"]
    models: dict[str, Any] = state["models"]
    if cell.alignment not in models:
        for k in [k for k in models if k != "none"]:  # bound the memory
            del models[k]
        models[cell.alignment] = setup.random_init() if cell.alignment == "random-init" else \
            _aligned(setup, s, ctx.out, cell.alignment, ctx.cell_hash)
    model, tok = models[cell.alignment]
    if cell.finetune == "none":
        return setup.alignment_records(model, tok, cell.method, KIND)
    attack = None
    if s.attacks and not cell.is_control:
        attack = AttackConfig(attacks=s.attacks, max_word_fraction=s.max_word_fraction,
                              max_candidates=s.max_candidates, beam_width=s.beam_width,
                              pgd_steps=s.pgd_steps, pgd_epsilon=s.pgd_epsilon,
                              max_length=setup.max_length, n_examples=s.n_examples,
                              query_budget=s.query_budget, precision=setup.precision,
                              sides=s.attack_sides)
    n_attack = s.n_attack if s.setup == "toy" else real_sizes(s).attack
    method = "plain" if cell.finetune in ("shuffled-labels", "hypothesis-only") \
        else cell.finetune
    res = run_unit(setup, method, encoder=model, regularizers=s.robust,
                   shuffle_labels=cell.finetune == "shuffled-labels",
                   hypothesis_only=cell.finetune == "hypothesis-only", attack=attack,
                   n_attack=n_attack, experiment=KIND, method=cell.method)
    records = res.records
    if s.retrieval_after and not cell.is_control:  # alignment after English fine-tuning
        records += setup.alignment_records(res.classifier, tok, cell.method, KIND)
    if res.examples:  # a few successful adversarial pairs per language and attack, to show
        write_examples(ctx.out, cell, ctx.cell_hash, res.examples)
    return records


def write_examples(out: Path, cell: Cell, h: str, examples: list[dict[str, Any]]) -> Path:
    """Write a cell's adversarial examples to ``out/examples/<cell>.<hash>.jsonl`` (atomic;
    beside the cell's records, not part of them: ``xtutor verify`` compares records only).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> write_examples(d, Cell(0, "none", "plain"), "abc", [{"attack": "char_noise"}]).name
        'seed0__none__plain.abc.jsonl'
    """
    import json

    from xtutor.io import atomic_write_text

    path = Path(out) / "examples" / f"{cell.name}.{h}.jsonl"
    rows = [{"seed": cell.seed, "method": cell.method, **e} for e in examples]
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def read_examples(out: str | Path) -> pd.DataFrame:
    """Every adversarial example a grid run kept (``out/examples/*.jsonl``) as one frame
    (empty when none were kept).

    Example:
        >>> import tempfile
        >>> read_examples(tempfile.mkdtemp()).empty
        True
    """
    import json

    rows = [json.loads(line) for f in sorted((Path(out) / "examples").glob("*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pd.DataFrame(rows)


def summarize(s: GridSettings, records: list[Record], out: Path) -> str:
    """The grid's ``summary.txt``: mean over seeds of every quantity of
    :func:`~xtutor.experiments.grid_analysis.grid_scores`, per (alignment, fine-tuning)."""
    table = summary_table(pd.DataFrame([r.to_dict() for r in records]))
    return f"grid ({s.setup}), mean over seeds:\n{table.round(3).to_string()}\n"


@dataclass
class GridResult:
    """What :func:`run_grid` returns: every cell's records and what was (re)computed."""

    records: list[Record]
    computed: list[str]
    reused: list[str]
    seconds: float

    def frame(self) -> pd.DataFrame:
        """The records as a frame with ``alignment`` and ``finetune`` columns."""
        return grid_frame(pd.DataFrame([r.to_dict() for r in self.records]))


def run_grid(settings: GridSettings | Mapping[str, Any] | None, out_dir: str | Path, *,
             cache_dir: str | Path | None = None, show_progress: bool = True,
             on_cell: Callable[[Cell, float], None] | None = None) -> GridResult:
    """Run (or resume) the grid of ``settings`` in ``out_dir`` through the runner
    (:func:`xtutor.runner.run_experiment`); returns every cell's records.

    ``cache_dir``: where the pretrained toy encoders are cached (default
    ``$XTUTOR_CACHE/toy-encoders``, shared with the chapters). ``on_cell(cell, seconds)`` is
    called after each computed cell (an exception there stops the run; finished cells stay).

    Example (a tiny grid, about a minute; ``tests/test_grid.py`` runs it):
        >>> res = run_grid({"preset": "tiny", "seeds": [0], "alignments": ["none"],
        ...                 "finetunes": ["plain"], "controls": []},
        ...                "/tmp/grid-doc")  # doctest: +SKIP
        >>> sorted(set(res.frame().finetune))  # doctest: +SKIP
        ['none', 'plain']
    """
    from xtutor.runner import run_experiment

    s = settings if isinstance(settings, GridSettings) else GridSettings.from_settings(settings)
    run = run_experiment(KIND, s, out_dir, toy_cache=cache_dir, show_progress=show_progress,
                         on_cell=on_cell)
    return GridResult(run.records, run.computed, run.reused, run.seconds)


def remove_encoders(out_dir: str | Path) -> None:
    """Delete the aligned encoders a grid saved in ``out_dir/encoders`` (before committing a
    ledger: weights do not belong in it)."""
    shutil.rmtree(Path(out_dir) / "encoders", ignore_errors=True)


__all__ = ["ALIGNMENTS", "CONTROLS", "FINETUNES", "PAWSX_GRID_PROFILES", "SETUPS", "Cell",
           "GridResult", "GridSettings",
           "compare", "effects_frame", "grid_cells", "grid_frame", "grid_scores", "grid_setup",
           "real_sizes",
           "read_examples", "write_examples",
           "remove_encoders", "run_cell", "run_grid", "summarize", "summary_table"]
