"""``experiment: grid``: the full factorial behind chapter 5, resumable.

Every cell of {alignment} x {fine-tuning} x {seed} is one pipeline run through the code of the
earlier chapters: the MLM-pretrained encoder (chapter 1) is aligned with a contrastive method
(chapter 2), fine-tuned on the source language with a noise-robust method (chapter 3),
evaluated clean on every premise-language x hypothesis-language pair (the generalized matrix)
and attacked in every language (chapter 4). Each (seed, alignment) also gets its alignment
measured (retrieval, word-alignment AER, language-ID probe; toy family).

========================= ===================================================================
axis                      values
========================= ===================================================================
``alignments``            ``none``, ``sentence``, ``word``, ``sentence+word``,
                          ``image-pivot`` (toy only: there are no images offline)
``finetunes``             ``plain``, ``pgd``, ``freelb``, ``free`` (adversarial training),
                          ``smoothing``, ``codeswitch``, ``consistency``
``controls``              ``shuffled-labels`` (plain fine-tuning on permuted labels: clean
                          accuracy must be chance), ``random-init`` (the encoder without
                          pretraining or alignment: no alignment)
========================= ===================================================================

Records have ``experiment="grid"`` and ``method="<alignment>/<finetune>"`` (``<finetune>`` is
``none`` for alignment measurements); :func:`grid_frame` splits the two and
:func:`grid_scores` reduces a cell to the quantities chapter 5 compares (source accuracy,
zero-shot accuracy, mixed-pair accuracy, accuracy under each attack, retrieval...).

Resuming: each finished cell is written atomically to ``out/cells/<cell>.<hash>.jsonl`` (hash
of every setting that changes results) before the next starts; a rerun with the same ``out``
skips cells whose file exists, so an interrupted run continues where it stopped and loses
nothing. Aligned toy encoders are kept in ``out/encoders/`` (``save_encoders``), so a resumed
run does not re-align either. Changing a hyperparameter changes the hash: old cells are then
ignored, never mixed in. The hash covers the settings, not xtutor's code: after updating
xtutor, start a new ``out`` folder. ``out/results.jsonl`` is rewritten (atomically) from the
cells at the end of every run.

Two setups:

- ``setup: toy``: the toy family of a lab preset; encoders cached like the chapters'
  (``$XTUTOR_CACHE/toy-encoders``); dictionaries ``ToyWorld.dictionary``; attacks with the toy
  resources of :func:`xtutor.experiments.adversarial.toy_resources`.
- ``setup: xnli``: ``e5-small-offline`` (or any :func:`xtutor.models.load_encoder` name),
  aligned on XNLI *dev* translations (en-xx for every language with a dev set offline:
  sw, ur, my; disjoint from the test sets), fine-tuned on
  English XNLI dev, evaluated on XNLI test subsets of ``languages`` and their mixed pairs,
  attacked with MUSE / Swadesh resources (:func:`~xtutor.experiments.adversarial.real_resources`;
  ``code_switch`` only where a language has a dictionary). ``word`` alignment uses silver
  word links (itermax on the encoder's own word vectors, as SimAlign) since there are no gold
  links for XNLI.

Example:
    >>> s = GridSettings.from_settings({"preset": "tiny", "seeds": [0], "alignments": ["none"],
    ...                                 "finetunes": ["plain"], "controls": []})
    >>> [c.name for c in grid_cells(s)]
    ['seed0__none__none', 'seed0__none__plain']
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.experiments.settings import reject_unknown
from xtutor.reproducibility import config_hash, provenance
from xtutor.results import Record, read_records, stamp, write_records
from xtutor.stats import PairedComparison

KIND = "grid"
#: Alignment methods of the grid (chapter 2); ``image-pivot`` needs the toy family's images.
ALIGNMENTS: tuple[str, ...] = ("none", "sentence", "word", "sentence+word", "image-pivot")
#: Fine-tuning methods of the grid (chapter 3; the contrastive auxiliary loss is the
#: alignment axis here).
FINETUNES: tuple[str, ...] = ("plain", "pgd", "freelb", "free", "smoothing", "codeswitch",
                              "consistency")
#: Negative controls, each run once per seed (clean evaluation only).
CONTROLS: tuple[str, ...] = ("shuffled-labels", "random-init")
#: Attacks the grid can run (:data:`xtutor.experiments.adversarial.ATTACKS`).
GRID_ATTACKS: tuple[str, ...] = ("char_noise", "word_substitution", "code_switch",
                                 "embedding_pgd")
#: Sizes of the XNLI setup per ``profile``: NLI train pairs (English dev), test pairs per
#: language pair, attacked pairs per language, parallel pairs for alignment, epochs, max length.
XNLI_GRID_PROFILES: dict[str, dict[str, int]] = {
    "smoke": {"train": 16, "test": 8, "attack": 4, "pairs": 16, "align_steps": 2, "epochs": 1,
              "max_length": 48},
    "ci": {"train": 192, "test": 200, "attack": 12, "pairs": 640, "align_steps": 40,
           "epochs": 1, "max_length": 64},
    "small": {"train": 600, "test": 200, "attack": 40, "pairs": 2000, "align_steps": 200,
              "epochs": 3, "max_length": 96},
    "full": {"train": 2490, "test": 5010, "attack": 200, "pairs": 8000, "align_steps": 1000,
             "epochs": 3, "max_length": 128},
}


def _tuple(name: str, value: Any, allowed: Sequence[Any] | None = None,
           kind: type = str, empty: bool = False) -> tuple:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or (not value and not empty):
        raise ValueError(f"grid setting {name!r} must be a non-empty list, got {value!r}")
    bad = [v for v in value if not isinstance(v, kind) or isinstance(v, bool)
           or (allowed is not None and v not in allowed)]
    if bad:
        what = f"one of {list(allowed)}" if allowed is not None else kind.__name__
        raise ValueError(f"grid setting {name!r}: {bad[0]!r} is not {what}")
    if len(set(value)) != len(value):
        raise ValueError(f"grid setting {name!r} has duplicates: {list(value)}")
    return tuple(value)


@dataclass(frozen=True)
class GridSettings:
    """Validated settings of a grid (module docstring); unknown keys are refused.

    Attributes:
        setup: ``toy`` or ``xnli``.
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
            (:class:`xtutor.experiments.adversarial.AdversarialConfig`).
        robust: hyperparameters of the fine-tuning methods
            (:class:`xtutor.experiments.robust.RobustSettings` fields).
        model, profile, languages, codeswitch_languages, attack_targets, data_dir: xnli only.
        save_encoders: keep aligned encoders in ``out/encoders`` for resuming.
    """

    setup: str = "toy"
    seeds: tuple[int, ...] = (0, 1, 2)
    alignments: tuple[str, ...] = ("none", "sentence", "word", "image-pivot")
    finetunes: tuple[str, ...] = ("plain", "free", "smoothing", "codeswitch")
    controls: tuple[str, ...] = CONTROLS
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
    robust: tuple[tuple[str, Any], ...] = ()
    model: str = "e5-small-offline"
    profile: str = "small"
    languages: tuple[str, ...] = ("en", "es", "sw", "ur", "my")
    codeswitch_languages: tuple[str, ...] = ("es", "de", "fr", "ru", "hi", "ar")
    attack_targets: tuple[str, ...] = ("es", "de", "fr")
    data_dir: str | None = None
    save_encoders: bool = True

    def __post_init__(self) -> None:
        from xtutor.experiments.robust import RobustSettings

        if self.setup not in ("toy", "xnli"):
            raise ValueError(f"grid setting 'setup' must be 'toy' or 'xnli', got {self.setup!r}")
        object.__setattr__(self, "seeds", _tuple("seeds", self.seeds, kind=int))
        object.__setattr__(self, "alignments", _tuple("alignments", self.alignments,
                                                      ALIGNMENTS))
        object.__setattr__(self, "finetunes", _tuple("finetunes", self.finetunes, FINETUNES,
                                                     empty=True))
        object.__setattr__(self, "controls", _tuple("controls", self.controls, CONTROLS,
                                                    empty=True))
        object.__setattr__(self, "attacks", _tuple("attacks", self.attacks, GRID_ATTACKS,
                                                   empty=True))
        object.__setattr__(self, "languages", _tuple("languages", self.languages))
        object.__setattr__(self, "codeswitch_languages",
                           _tuple("codeswitch_languages", self.codeswitch_languages))
        object.__setattr__(self, "attack_targets", _tuple("attack_targets", self.attack_targets))
        robust = dict(self.robust) if not isinstance(self.robust, Mapping) else self.robust
        names = {f.name for f in fields(RobustSettings)} - {
            "setup", "preset", "overrides", "tasks", "model", "profile", "languages",
            "codeswitch_languages", "data_dir", "seeds", "methods", "lr"}
        unknown = sorted(set(robust) - names)
        if unknown:
            raise ValueError(f"grid setting 'robust' does not take {unknown}; allowed: "
                             f"{sorted(names)}")
        RobustSettings(**robust)  # validates the values
        object.__setattr__(self, "robust", tuple(sorted(robust.items())))
        if self.setup == "xnli":
            if "image-pivot" in self.alignments:
                raise ValueError("grid setup 'xnli': 'image-pivot' needs captioned images, which "
                                 "exist only for the toy family offline; leave it out of "
                                 "'alignments'")
            if self.profile not in XNLI_GRID_PROFILES:
                raise ValueError(f"grid setting 'profile' must be one of "
                                 f"{list(XNLI_GRID_PROFILES)}, got {self.profile!r}")
            if "en" not in self.languages:
                raise ValueError(f"grid setup 'xnli': languages must include 'en' (the "
                                 f"training language), got {list(self.languages)}")
        for name in ("align_steps", "align_pairs", "n_attack", "n_eval_pairs", "aer_pairs",
                     "probe_per_language", "max_candidates", "beam_width", "pgd_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"grid setting {name!r} must be >= 1, got "
                                 f"{getattr(self, name)}")
        if not 0 < self.max_word_fraction <= 1:
            raise ValueError(f"grid setting 'max_word_fraction' must be in (0, 1], got "
                             f"{self.max_word_fraction}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> GridSettings:
        """Build from a config mapping, refusing unknown keys (named in the error)."""
        settings = dict(settings or {})
        reject_unknown(settings, {f.name for f in fields(cls)}, KIND)
        return cls(**settings)

    def results_hash(self) -> str:
        """Hash of every setting that changes a cell's numbers (not the axes' lists, which
        only choose cells, and not ``save_encoders``)."""
        d = asdict(self)
        for k in ("seeds", "alignments", "finetunes", "controls", "save_encoders"):
            d.pop(k)
        return config_hash(d)[:10]


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
    def method(self) -> str:
        """The records' ``method``: ``<alignment>/<finetune>``."""
        return f"{self.alignment}/{self.finetune}"

    @property
    def is_control(self) -> bool:
        """Whether the cell is a negative control (clean evaluation only)."""
        return self.alignment == "random-init" or self.finetune == "shuffled-labels"


def grid_cells(settings: GridSettings) -> list[Cell]:
    """Every cell of the grid in run order: per seed, per alignment, its alignment measurement,
    then each fine-tuning method; then the seed's controls (without ``finetunes``, only the
    random-init encoder's alignment measurement)."""
    out = []
    for seed in settings.seeds:
        for a in settings.alignments:
            out.append(Cell(seed, a, "none"))
            out += [Cell(seed, a, f) for f in settings.finetunes]
        if "random-init" in settings.controls:
            out.append(Cell(seed, "random-init", "none"))
            if settings.finetunes:  # an alignment-only grid fine-tunes nothing
                out.append(Cell(seed, "random-init", "plain"))
        if "shuffled-labels" in settings.controls and settings.finetunes:
            out.append(Cell(seed, "none", "shuffled-labels"))
    return out


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


def grid_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Split ``method="<alignment>/<finetune>"`` into ``alignment`` and ``finetune`` columns.

    Example:
        >>> grid_frame(pd.DataFrame({"method": ["word/free"]}))[["alignment", "finetune"]].values
        array([['word', 'free']], dtype=object)
    """
    parts = df.method.astype(str).str.split("/", n=1, expand=True)
    if parts.shape[1] != 2 or parts[1].isna().any():
        bad = df.method[parts.get(1, df.method).isna()].unique()[:3].tolist() \
            if parts.shape[1] == 2 else df.method.unique()[:3].tolist()
        raise ValueError(f"grid_frame: methods {bad} are not of the form "
                         f"'<alignment>/<finetune>'")
    out = df.copy()
    out["alignment"], out["finetune"] = parts[0], parts[1]
    return out


def grid_scores(df: pd.DataFrame, source: str | None = None, by_language: bool = False
                ) -> pd.DataFrame:
    """Reduce grid records to one value per (seed, alignment, finetune, quantity).

    Quantities: ``source`` (clean accuracy on the source language), ``zero_shot`` (clean,
    mean over the other languages), ``mixed`` (clean, mean over premise != hypothesis
    language pairs), ``mixed_minus_zero_shot``, ``attacked:<attack>`` (accuracy under each
    attack, mean over non-source languages; ``attacked:all`` the mean over attacks too),
    ``drop:<attack>`` and ``drop:all`` (clean minus attacked accuracy on the same attacked
    pairs: the robustness gap), ``retrieval``, ``aer``, ``lang_id`` (alignment
    measurements of the alignment, finetune ``none``). ``source`` defaults to the records'
    ``train_lang``. With ``by_language`` the values are kept per ``eval_lang`` (a language or
    a mixed pair; the units of a seed x language paired comparison) and the difference
    ``mixed_minus_zero_shot``, which spans languages, is left out.

    Example:
        >>> df = pd.DataFrame({"method": ["none/plain"] * 3, "seed": 0, "train_lang": "L0",
        ...     "premise_lang": ["L0", "L1", "L0"], "hypothesis_lang": ["L0", "L1", "L1"],
        ...     "eval_lang": ["L0", "L1", "L0-L1"], "attack": "none", "task": "nli",
        ...     "metric": "accuracy", "value": [0.9, 0.5, 0.6]})
        >>> grid_scores(df).set_index("quantity").value.round(2).to_dict()
        {'source': 0.9, 'zero_shot': 0.5, 'mixed': 0.6, 'mixed_minus_zero_shot': 0.1}
    """
    g = grid_frame(df)
    src = source or (g.train_lang.dropna().iloc[0] if len(g) else "")
    keys = ["seed", "alignment", "finetune"] + (["eval_lang"] if by_language else [])
    parts = []
    clean = g[(g.metric == "accuracy") & (g.attack == "none")]
    same = clean[clean.premise_lang == clean.hypothesis_lang]
    for name, rows in (("source", same[same.premise_lang == src]),
                       ("zero_shot", same[same.premise_lang != src]),
                       ("mixed", clean[clean.premise_lang != clean.hypothesis_lang])):
        if len(rows):
            parts.append(rows.groupby(keys).value.mean().rename(name))
    if not by_language and {"zero_shot", "mixed"} <= {p.name for p in parts}:
        wide = pd.concat(parts, axis=1)
        parts.append((wide["mixed"] - wide["zero_shot"]).rename("mixed_minus_zero_shot"))
    att = g[(g.metric == "attacked_accuracy") & (g.eval_lang != src)]
    drop = g[g.metric.isin(["clean_accuracy", "attacked_accuracy"]) & (g.eval_lang != src)]
    drop = drop.assign(value=drop.value.where(drop.metric == "clean_accuracy", -drop.value))
    for a, rows in att.groupby("attack"):
        parts.append(rows.groupby(keys).value.mean().rename(f"attacked:{a}"))
    per_lang = list(dict.fromkeys([*keys, "eval_lang"]))
    for a, rows in drop.groupby("attack"):  # clean minus attacked accuracy, same pairs
        parts.append(rows.groupby(per_lang).value.sum().groupby(keys).mean()
                     .rename(f"drop:{a}"))
    if len(att):
        parts.append(att.groupby(keys).value.mean().rename("attacked:all"))
        parts.append(drop.groupby([*per_lang, "attack"]).value.sum().groupby(keys)
                     .mean().rename("drop:all"))
    for metric, name in (("retrieval_acc_cosine", "retrieval"), ("aer_itermax", "aer"),
                         ("lang_id_acc", "lang_id")):
        rows = g[g.metric == metric]
        if len(rows):
            parts.append(rows.groupby(keys).value.mean().rename(name))
    if not parts:
        return pd.DataFrame(columns=[*keys, "quantity", "value"])
    long = [p.rename("value").reset_index().assign(quantity=p.name) for p in parts]
    return pd.concat(long, ignore_index=True)[[*keys, "quantity", "value"]]


# ---------------------------------------------------------------------------------------------
# setups: where the encoders, data and resources come from


class _ToySetup:
    """The toy family of one seed."""

    def __init__(self, s: GridSettings, seed: int, cache_dir: Path | None) -> None:
        from xtutor.lab import LabConfig
        from xtutor.toyworld import ToyWorld

        self.s, self.seed, self.cache_dir = s, seed, cache_dir
        self.lab = LabConfig.preset(s.preset, seed=seed)
        self.world = ToyWorld(self.lab.world)
        self.langs = list(self.world.languages)
        self.src = self.langs[0]
        self.model_name = f"toy-mlm-{s.preset}"
        self.ft = replace(self.lab.finetune, epochs=s.epochs or self.lab.finetune.epochs,
                          lr=s.lr or self.lab.finetune.lr)
        self.max_length = self.ft.max_length
        self.tables = {lang: self.world.dictionary(self.src, lang) for lang in self.langs[1:]}
        self._base: tuple[PreTrainedModel, PreTrainedTokenizerBase] | None = None

    def base(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from xtutor.experiments.encoders import pretrained_toy

        if self._base is None:
            self._base = pretrained_toy(self.lab, self.world, cache_dir=self.cache_dir)
        return self._base

    def random_init(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from xtutor.experiments.encoders import random_toy

        return random_toy(self.lab, self.world)

    def align(self, alignment: str) -> PreTrainedModel:
        from xtutor.experiments.contrastive import ContrastiveConfig, align_toy

        model, tok = self.base()
        cfg = ContrastiveConfig(lab_preset=self.s.preset, seeds=(self.seed,),
                                pairs_per_language=self.s.align_pairs,
                                captions_per_language=self.s.align_pairs,
                                text_steps=self.s.align_steps, pivot_steps=self.s.align_steps,
                                lr=self.s.align_lr)
        return align_toy(model, tok, self.world, alignment, cfg, self.seed)

    def alignment_records(self, model: PreTrainedModel, tok: PreTrainedTokenizerBase,
                          cell: Cell) -> list[Record]:
        from xtutor.experiments.encoders import toy_alignment_metrics

        recs = toy_alignment_metrics(model, tok, self.world, seed=self.seed,
                                     model_name=self.model_name, method=cell.method,
                                     experiment=KIND, n_pairs=self.s.n_eval_pairs,
                                     aer_pairs=self.s.aer_pairs,
                                     probe_per_language=self.s.probe_per_language)
        return [r for r in recs if "@" not in r.metric]

    def train(self) -> PairDataset:
        return self.world.nli(self.s.nli_train or self.lab.nli_train, self.src,
                              seed=1_000 + self.seed)

    def tests(self) -> dict[tuple[str, str], PairDataset]:
        test_seed = 2_000 + self.seed
        triples = self.world.nli_meanings(self.s.n_test or self.lab.nli_test, seed=test_seed)
        return {(a, b): self.world.render_pairs(triples, "nli", a, b, seed=test_seed)
                for a in self.langs for b in self.langs}

    def attack_sets(self) -> dict[str, PairDataset]:
        return {lang: self.world.nli(self.s.n_attack, lang, seed=4_000 + self.seed)
                for lang in self.langs}

    def attack_resources(self, clf: PreTrainedModel, tok: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]:
        from xtutor.experiments.adversarial import toy_resources

        return toy_resources(self.world, clf, tok)


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


class _XnliSetup:
    """Real data: an encoder from :func:`xtutor.models.load_encoder` and XNLI slices."""

    def __init__(self, s: GridSettings, seed: int, cache_dir: Path | None) -> None:
        from xtutor.data.paths import require_shared_data
        from xtutor.training import FinetuneConfig

        self.s, self.seed = s, seed
        self.prof = XNLI_GRID_PROFILES[s.profile]
        self.root = Path(s.data_dir) if s.data_dir else require_shared_data()
        self.langs = list(s.languages)
        self.src = "en"
        self.model_name = s.model
        self.max_length = self.prof["max_length"]
        self.ft = FinetuneConfig(epochs=float(self.prof["epochs"]), batch_size=16,
                                 lr=s.lr if s.lr is not None else 1e-4,
                                 max_length=self.max_length, warmup_ratio=0.1, seed=seed)
        self._base: tuple[PreTrainedModel, PreTrainedTokenizerBase] | None = None
        self._tables: dict[str, Any] | None = None

    @property
    def tables(self) -> dict[str, Any]:
        from xtutor.data.muse import load_muse

        if self._tables is None:
            self._tables = {lang: load_muse("en", lang, self.root / "muse")
                            for lang in self.s.codeswitch_languages}
        return self._tables

    def base(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from xtutor.models import load_encoder

        if self._base is None:
            self._base = load_encoder(self.s.model)
        return self._base

    def random_init(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        from xtutor.reproducibility import set_seed

        model, tok = self.base()
        set_seed(self.seed)
        return AutoModel.from_config(model.config).eval(), tok

    def _parallel(self) -> list[TextPair]:
        from xtutor.data.xnli import load_xnli

        xnli = self.root / "xnli"
        en = load_xnli("en", "dev", xnli)
        pairs = []
        for lang in self.langs:
            if lang == "en":
                continue
            try:
                other = load_xnli(lang, "dev", xnli)
            except FileNotFoundError:  # e.g. Spanish: only its test set is offline
                continue
            for x, y in zip(en, other, strict=True):
                pairs += [(x.premise, y.premise), (x.hypothesis, y.hypothesis)]
        if not pairs:
            raise ValueError(f"grid setup 'xnli': no XNLI dev set of {self.langs} besides "
                             f"English in {xnli}; alignment needs en-xx dev translations")
        rng = random.Random(30_000 + self.seed)
        pairs = rng.sample(pairs, min(len(pairs), self.prof["pairs"]))
        return [TextPair.from_text(a, b) for a, b in pairs if a.split() and b.split()]

    def align(self, alignment: str) -> PreTrainedModel:
        from xtutor.training import AlignConfig, align

        model, tok = self.base()
        pairs = self._parallel()
        common = {"steps": self.prof["align_steps"], "batch_size": 16, "lr": 2e-5,
                  "seed": self.seed, "max_length": self.max_length}
        if alignment in ("word", "sentence+word"):
            pairs = silver_links(model, tok, pairs)
        cfg = {"sentence": AlignConfig(**common),
               "word": AlignConfig(sentence_weight=0.0, word_weight=1.0, **common),
               "sentence+word": AlignConfig(word_weight=1.0, **common)}[alignment]
        return align(model, tok, pairs=pairs, config=cfg, show_progress=False).model.eval()

    def alignment_records(self, model: PreTrainedModel, tok: PreTrainedTokenizerBase,
                          cell: Cell) -> list[Record]:
        from xtutor.alignment import retrieval_both_directions
        from xtutor.data.xnli import load_xnli
        from xtutor.encode import encode
        from xtutor.experiments.encoders import text_prefix

        pre = text_prefix(self.s.model)
        xnli = self.root / "xnli"
        en = load_xnli("en", "test", xnli).subset(self.prof["test"], seed=5_000 + self.seed)
        ids = [ex.id for ex in en]
        out = []
        a = encode(model, tok, [ex.premise for ex in en], prefix=pre,
                   max_length=self.max_length)
        for lang in [x for x in self.langs if x != "en"]:
            other = {ex.id: ex for ex in load_xnli(lang, "test", xnli)}
            b = encode(model, tok, [other[i].premise for i in ids], prefix=pre,
                       max_length=self.max_length)
            fwd, bwd = retrieval_both_directions(a, b)
            out.append(Record(experiment=KIND, model=self.model_name, method=cell.method,
                              task="retrieval", train_lang="en", eval_lang=lang,
                              premise_lang="en", hypothesis_lang=lang,
                              metric="retrieval_acc_cosine", value=(fwd + bwd) / 2,
                              n=len(ids), seed=self.seed))
        return out

    def train(self) -> PairDataset:
        from xtutor.data.xnli import load_xnli

        return load_xnli("en", "dev", self.root / "xnli").subset(self.prof["train"],
                                                                 seed=self.seed)

    def tests(self) -> dict[tuple[str, str], PairDataset]:
        from xtutor.data.xnli import load_xnli, load_xnli_pairs

        xnli = self.root / "xnli"
        out = {}
        for a in self.langs:
            for b in self.langs:
                data = load_xnli(a, "test", xnli) if a == b else \
                    load_xnli_pairs(a, b, "test", xnli)
                out[(a, b)] = data.subset(self.prof["test"], seed=1_000 + self.seed)
        return out

    def attack_sets(self) -> dict[str, PairDataset]:
        from xtutor.data.xnli import load_xnli

        return {lang: load_xnli(lang, "test", self.root / "xnli").subset(
            self.prof["attack"], seed=4_000 + self.seed) for lang in self.langs}

    def attack_resources(self, clf: PreTrainedModel, tok: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]:
        from xtutor.experiments.adversarial import real_resources

        return real_resources(sets, clf, tok, targets=self.s.attack_targets, data_dir=self.root)


# ---------------------------------------------------------------------------------------------
# running cells


def _shuffled(data: PairDataset, seed: int) -> PairDataset:
    """``data`` with labels that carry no information about the pairs: within each true class
    the examples are shuffled and dealt the labels in turn, so every true class is spread
    evenly over all labels and the labels stay balanced (a plain permutation agrees with the
    truth slightly more or less than chance by luck, which a flexible model can learn from)."""
    rng = random.Random(60_000 + seed)
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


def _encoder_path(out: Path, seed: int, alignment: str, h: str) -> Path:
    return out / "encoders" / f"seed{seed}__{alignment}.{h}"


def _aligned(setup: Any, s: GridSettings, out: Path, alignment: str, h: str
             ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model, tok = setup.base()
    if alignment == "none":
        return model, tok
    path = _encoder_path(out, setup.seed, alignment, h)
    if (path / "config.json").is_file():
        return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    aligned = setup.align(alignment)
    if s.save_encoders:
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        aligned.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        shutil.rmtree(path, ignore_errors=True)
        tmp.replace(path)
    return aligned, tok


def _finetune_cell(setup: Any, s: GridSettings, cell: Cell, model: PreTrainedModel,
                   tok: PreTrainedTokenizerBase) -> list[Record]:
    from xtutor.experiments.adversarial import AdversarialConfig, adversarial_study
    from xtutor.experiments.robust import RobustSettings, _regularizers, evaluate_matrix
    from xtutor.training import finetune

    train = setup.train()
    method = "plain" if cell.finetune == "shuffled-labels" else cell.finetune
    if cell.finetune == "shuffled-labels":
        train = _shuffled(train, cell.seed)
    regs = _regularizers(method, RobustSettings(**dict(s.robust)), setup.tables, [])
    t0 = time.perf_counter()
    clf, losses = finetune(model, tok, train, setup.ft, show_progress=False, regularizers=regs)
    clf.eval()
    seconds = time.perf_counter() - t0
    common = {"experiment": KIND, "model": setup.model_name, "method": cell.method,
              "seed": cell.seed}
    recs = evaluate_matrix(clf, tok, setup.tests(), model_name=setup.model_name,
                           method=cell.method, train_lang=setup.src, seed=cell.seed,
                           experiment=KIND, max_length=setup.max_length)
    recs.append(Record(**common, task=train.task, train_lang=setup.src, eval_lang=setup.src,
                       metric="train_seconds", value=seconds, n=len(losses)))
    if cell.is_control or not s.attacks:
        return recs
    sets = setup.attack_sets()
    tables, dicts = setup.attack_resources(clf, tok, sets)
    cfg = AdversarialConfig(attacks=s.attacks, max_word_fraction=s.max_word_fraction,
                            max_candidates=s.max_candidates, beam_width=s.beam_width,
                            pgd_steps=s.pgd_steps, pgd_epsilon=s.pgd_epsilon,
                            max_length=setup.max_length, n_examples=0)
    for lang, data in sets.items():  # code_switch only where the language has a dictionary
        attacks = tuple(a for a in s.attacks if a != "code_switch" or dicts.get(lang))
        if not attacks:
            continue
        st = adversarial_study(clf, tok, {lang: data}, neighbour_tables=tables,
                               dictionaries=dicts, config=replace(cfg, attacks=attacks),
                               model_name=setup.model_name, train_lang=setup.src,
                               method=cell.method, experiment=KIND, seed=cell.seed)
        recs += st.records
    return recs


def _cell_path(out: Path, cell: Cell, h: str) -> Path:
    return out / "cells" / f"{cell.name}.{h}.jsonl"


def run_grid(settings: GridSettings | Mapping[str, Any] | None, out_dir: str | Path, *,
             cache_dir: str | Path | None = None, show_progress: bool = True,
             on_cell: Callable[[Cell, float], None] | None = None) -> GridResult:
    """Run (or resume) the grid of ``settings`` in ``out_dir``; returns every cell's records.

    Finished cells already in ``out_dir/cells`` (same settings hash) are read, not recomputed.
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
    from xtutor.profiles import cache_dir as default_cache

    s = settings if isinstance(settings, GridSettings) else GridSettings.from_settings(settings)
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    h = s.results_hash()
    cache = Path(cache_dir) if cache_dir is not None else default_cache() / "toy-encoders"
    t0 = time.perf_counter()
    cells = grid_cells(s)
    todo = [c for c in cells if not _cell_path(out, c, h).is_file()]
    computed, reused = [c.name for c in todo], [c.name for c in cells if c not in todo]
    setups: dict[int, Any] = {}
    models: dict[tuple[int, str], tuple[PreTrainedModel, PreTrainedTokenizerBase]] = {}
    bar = tqdm(todo, desc=f"grid ({len(reused)} cells done before)", disable=not show_progress)
    for cell in bar:
        bar.set_postfix_str(cell.name)
        c0 = time.perf_counter()
        if cell.seed not in setups:
            setups = {cell.seed: (_ToySetup if s.setup == "toy" else _XnliSetup)(
                s, cell.seed, cache)}
            models = {}
        setup = setups[cell.seed]
        key = (cell.seed, cell.alignment)
        if key not in models:
            models = {k: v for k, v in models.items() if k[1] == "none"}  # bound the memory
            models[key] = setup.random_init() if cell.alignment == "random-init" else \
                _aligned(setup, s, out, cell.alignment, h)
        model, tok = models[key]
        if cell.finetune == "none":
            recs = setup.alignment_records(model, tok, cell)
        else:
            recs = _finetune_cell(setup, s, cell, model, tok)
        write_records(_cell_path(out, cell, h), stamp(recs, asdict(s)))
        if on_cell is not None:
            on_cell(cell, time.perf_counter() - c0)
    records = [r for c in cells for r in read_records(_cell_path(out, c, h))]
    write_records(out / "results.jsonl", records)
    return GridResult(records, computed, reused, time.perf_counter() - t0)


def compare(df: pd.DataFrame, quantity: str, treatment: str, control: str, *,
            by_language: bool = True, seed: int = 0) -> PairedComparison:
    """``treatment - control`` (two ``<alignment>/<finetune>`` methods) on one
    :func:`grid_scores` quantity, paired by seed and language (``by_language``) or by seed,
    with a 95% percentile-bootstrap interval and the paired t-test.

    Example:
        >>> df = pd.DataFrame({"method": ["none/plain", "word/plain"] * 2, "seed": [0, 0, 1, 1],
        ...     "train_lang": "L0", "premise_lang": "L1", "hypothesis_lang": "L1",
        ...     "eval_lang": "L1", "attack": "none", "task": "nli", "metric": "accuracy",
        ...     "value": [0.4, 0.6, 0.5, 0.6]})
        >>> round(compare(df, "zero_shot", "word/plain", "none/plain").mean, 2)
        0.15
    """
    from xtutor.stats import paired_difference

    sc = grid_scores(df, by_language=by_language)
    sc = sc[sc.quantity == quantity]
    if sc.empty:
        raise ValueError(f"compare: no {quantity!r} scores in the records; quantities: "
                         f"{sorted(set(grid_scores(df).quantity))}")
    sc = sc.assign(method=sc.alignment + "/" + sc.finetune)
    on = ["seed", "eval_lang"] if by_language else ["seed"]
    return paired_difference(sc, "method", treatment, control, on=on, interval="bootstrap",
                             seed=seed)


def effects_frame(comparisons: Mapping[str, PairedComparison]) -> pd.DataFrame:
    """One row per named comparison: mean difference, 95% interval, p-value, units, wins and
    the verdict in words (for tables and :func:`xtutor.plots.effects_plot`)."""
    return pd.DataFrame([{"label": k, "mean": c.mean, "ci_low": c.ci_low, "ci_high": c.ci_high,
                          "p_value": c.p_value, "n": c.n, "wins": c.wins,
                          "verdict": c.verdict} for k, c in comparisons.items()])


def chapter_grid(profile: str) -> GridSettings:
    """The toy grid chapter 5 runs in a book profile: ``ci`` is ``configs/grid_toy.yaml`` with
    seeds 0-2 and 30 attacked pairs per language; ``toy`` and ``real`` are that config as is
    (5 seeds, 60 pairs; ``tests/test_grid.py`` checks the two agree).

    Example:
        >>> chapter_grid("ci").seeds
        (0, 1, 2)
    """
    full = GridSettings(
        setup="toy", preset="ci", seeds=(0, 1, 2, 3, 4),
        alignments=("none", "sentence", "word", "image-pivot"),
        finetunes=("plain", "free", "smoothing", "codeswitch"), controls=CONTROLS,
        attacks=("char_noise", "word_substitution", "code_switch"), align_steps=400,
        align_pairs=512, n_attack=60, max_word_fraction=0.2, max_candidates=8, beam_width=2,
        robust={"adv_steps": 2, "adv_step_size": 0.025, "adv_epsilon": 0.05,
                "smoothing_rate": 0.15, "smoothing_noise": 0.02, "codeswitch_rate": 0.3})
    if profile == "ci":
        return replace(full, seeds=(0, 1, 2), n_attack=30)
    if profile in ("toy", "real"):
        return full
    raise ValueError(f"profile must be 'ci', 'toy' or 'real', got {profile!r}")


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every :func:`grid_scores` quantity, one row per (alignment,
    finetune), one column per quantity."""
    sc = grid_scores(df)
    return sc.groupby(["alignment", "finetune", "quantity"], sort=False).value.mean() \
        .unstack("quantity")


def experiment(settings: dict[str, Any], out: Path, show_progress: bool) -> list[Record]:
    """The ``grid`` kind of ``xtutor run``: run or resume the grid in ``out`` and write
    ``results.jsonl``, ``summary.txt`` and ``config.json``."""
    s = GridSettings.from_settings(settings)
    res = run_grid(s, out, show_progress=show_progress)
    table = summary_table(pd.DataFrame([r.to_dict() for r in res.records]))
    lines = [f"grid ({s.setup}): {len(res.computed)} cells computed, {len(res.reused)} reused, "
             f"{res.seconds:.0f} s", "", "mean over seeds:", table.round(3).to_string()]
    (Path(out) / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"settings": asdict(s), **provenance(asdict(s)), "seconds": round(res.seconds, 1),
            "computed": res.computed, "reused": res.reused}
    (Path(out) / "config.json").write_text(json.dumps(meta, indent=2, default=str),
                                           encoding="utf-8")
    return res.records


__all__ = ["ALIGNMENTS", "CONTROLS", "FINETUNES", "Cell", "GridResult", "GridSettings",
           "TextPair", "chapter_grid", "compare", "effects_frame", "grid_cells", "grid_frame",
           "grid_scores", "run_grid", "silver_links", "summary_table"]
