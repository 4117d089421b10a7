"""``experiment: udpos``: zero-shot cross-lingual part-of-speech tagging on Parallel UD (PUD).

XTREME-R's structured-prediction task. A tagger (:mod:`xtutor.training.tokens`) is fine-tuned
on ``n_train`` English PUD sentences, once per seed and noise-robust method of
:mod:`xtutor.regularizers` (those that apply to token classification:
:data:`~xtutor.regularizers.factory.TOKEN_METHODS`), and evaluated on every PUD language.

The split is by sentence id (:func:`xtutor.data.tokens.split_ids`, seeded by ``split_seed``,
the same for every seed and method): PUD holds the same 1000 sentences in every language, so
the test sentences of every language are those whose id was *not* trained on (up to
``n_test`` of them), and no test sentence is a translation of a training sentence.

Resources: ``smoothing`` and ``codeswitch`` use the MUSE ``en-xx`` dictionaries of
``codeswitch_languages`` (word-for-word swaps, each word keeps its tag); ``contrastive`` uses
PUD translations of the *training* sentences (English with every other language, up to
``robust.contrastive_pairs`` pairs); ``plain``, ``pgd``, ``freelb`` and ``free`` use none.

Attacks (:mod:`xtutor.attacks.tokens`, random search with a budget, worst of
``attack_tries``) on the first ``n_attack`` test sentences of each of ``attack_languages``:
``char_noise`` (typos, tags unchanged) everywhere; ``code_switch`` where MUSE has a
dictionary (English switches into ``attack_targets``, another language into English), tag
kept from the source word, with the rate at which the dictionary word's tags in its own
language's PUD disagree with it.

Records (``experiment="udpos"``, ``task="udpos"``, ``train_lang="en"``, ``method`` the
fine-tuning method): ``accuracy`` per ``eval_lang`` (``n``: words); ``train_seconds`` and
``train_cpu_seconds`` (``n``: optimiser steps; :data:`xtutor.experiments.unit.TIMING_METRICS`);
per attacked language and ``attack``: ``clean_accuracy``, ``attacked_accuracy``,
``words_changed_fraction`` and, for code-switching, ``codeswitch_pos_known`` and
``codeswitch_pos_disagreement``. Each (seed, method) is one cell of the runner.

Example:
    >>> s = UdposSettings.from_settings({"seeds": [0], "methods": ["plain", "free"],
    ...                                  "n_train": "800", "robust": {"adv_steps": 3}})
    >>> s.n_train, s.robust.adv_steps, [c.name for c in udpos_cells(s)]
    (800, 3, ['seed0__plain', 'seed0__free'])
    >>> UdposSettings.from_settings({"methods": ["consistency"]})
    Traceback (most recent call last):
    ...
    xtutor.settings.SettingsError: experiment 'udpos': udpos setting 'methods': 'consistency' cannot be used for token classification (task 'udpos'): its KL term compares one prediction per example; choose from ['plain', 'pgd', 'freelb', 'free', 'smoothing', 'codeswitch', 'contrastive']
"""  # noqa: E501

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xtutor.attacks.tokens import TOKEN_ATTACKS
from xtutor.data.tokens import UPOS_TAGS, TokenDataset
from xtutor.regularizers.factory import (
    METHODS,
    NEEDS_DICTIONARIES,
    NEEDS_PARALLEL,
    TOKEN_METHODS,
    RegularizerSettings,
)
from xtutor.results import Record
from xtutor.runner import SeedMethodCell
from xtutor.training.classify import FinetuneConfig

KIND = "udpos"
TASK = "udpos"
SOURCE = "en"
#: The 19 PUD languages (all with gold UPOS tags).
PUD_LANGUAGES: tuple[str, ...] = ("ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "is",
                                  "it", "ko", "pl", "pt", "ru", "sv", "th", "tr", "zh")
_CODE = re.compile(r"^[a-z]{2,3}$")
#: Sentences per forward pass when tagging (evaluation and attacks).
EVAL_BATCH = 64


@dataclass(frozen=True)
class UdposSettings:
    """Settings of a ``udpos`` run (module docstring); unknown keys are refused
    (:func:`xtutor.settings.check_settings`).

    Attributes:
        model: an encoder name or directory (:func:`xtutor.models.load_encoder`).
        seeds, methods: the cells (methods from :data:`TOKEN_METHODS`).
        n_train: English training sentences (ids drawn with ``split_seed``).
        n_test: test sentences per language, from the ids not trained on (``None``: all).
        split_seed: seed of the id split (the same for every cell).
        languages: evaluation languages (PUD codes; must include ``en``).
        codeswitch_languages: MUSE ``en-xx`` dictionaries of ``smoothing``/``codeswitch``.
        attacks, attack_languages, attack_targets, n_attack, attack_fraction, attack_tries:
            the attacks (module docstring; ``attack_languages`` ``None``: all ``languages``;
            ``attack_fraction``/``attack_tries``: :class:`xtutor.attacks.tokens
            .TokenAttackConfig`).
        epochs, lr, batch_size, max_length: fine-tuning (``max_length`` also truncates at
            evaluation; PUD sentences have at most 118 e5 subwords).
        precision: of evaluation and attack forward passes; finetune_precision and
            freeze_embeddings: fine-tuning speed settings (:class:`xtutor.training
            .FinetuneConfig`).
        robust: hyperparameters of the methods (:class:`~xtutor.regularizers
            .RegularizerSettings`).
        data_dir: the data folder holding ``ud_pud`` and ``muse`` (default
            ``$XTUTOR_DATA_DIR`` or ``../shared/data``).
    """

    model: str = "e5-small-offline"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("plain", "free", "smoothing", "codeswitch")
    n_train: int = 800
    n_test: int | None = None
    split_seed: int = 0
    languages: tuple[str, ...] = PUD_LANGUAGES
    codeswitch_languages: tuple[str, ...] = ("de", "es", "fr", "ru", "hi", "ar", "zh", "tr")
    attacks: tuple[str, ...] = TOKEN_ATTACKS
    attack_languages: tuple[str, ...] | None = None
    attack_targets: tuple[str, ...] = ("de", "es", "fr")
    n_attack: int = 100
    attack_fraction: float = 0.2
    attack_tries: int = 4
    epochs: float = 3.0
    lr: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    precision: str = "fp32"
    finetune_precision: str = "fp32"
    freeze_embeddings: bool = False
    robust: RegularizerSettings = field(default_factory=RegularizerSettings)
    data_dir: str | None = None

    def __post_init__(self) -> None:
        from xtutor.precision import check_precision_settings

        if isinstance(self.robust, Mapping):  # a plain mapping in Python code
            object.__setattr__(self, "robust", RegularizerSettings(**self.robust))
        if not str(self.model).strip():
            raise ValueError("udpos setting 'model' must be a model name or directory")
        for name, empty in (("seeds", False), ("methods", False), ("languages", False),
                            ("codeswitch_languages", True), ("attacks", True),
                            ("attack_targets", True), ("attack_languages", True)):
            vals = getattr(self, name)
            if vals is None:
                continue
            vals = tuple(vals)
            object.__setattr__(self, name, vals)
            if not vals and not empty:
                raise ValueError(f"udpos setting {name!r} must be a non-empty list")
            if len(set(vals)) != len(vals):
                raise ValueError(f"udpos setting {name!r} has duplicates: {list(vals)}")
        for m in self.methods:
            if m not in TOKEN_METHODS:
                why = ("its KL term compares one prediction per example" if m in METHODS
                       else "unknown method")
                raise ValueError(f"udpos setting 'methods': {m!r} cannot be used for token "
                                 f"classification (task {TASK!r}): {why}; choose from "
                                 f"{list(TOKEN_METHODS)}")
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"udpos setting 'seeds' must be >= 0, got {list(self.seeds)}")
        for name in ("languages", "codeswitch_languages", "attack_targets"):
            bad = [x for x in getattr(self, name) if not _CODE.match(str(x))]
            if bad:
                raise ValueError(f"udpos setting {name!r}: {bad} are not 2- or 3-letter "
                                 f"language codes such as 'de'")
        if SOURCE not in self.languages:
            raise ValueError(f"udpos setting 'languages' must include {SOURCE!r} (the training "
                             f"language), got {list(self.languages)}")
        bad = [a for a in self.attacks if a not in TOKEN_ATTACKS]
        if bad:
            raise ValueError(f"udpos setting 'attacks': unknown {bad}; choose from "
                             f"{list(TOKEN_ATTACKS)}")
        if self.attack_languages is not None:
            bad = [x for x in self.attack_languages if x not in self.languages]
            if bad:
                raise ValueError(f"udpos setting 'attack_languages': {bad} are not among "
                                 f"'languages' {list(self.languages)}")
        if not 1 <= self.n_train < 1000:
            raise ValueError(f"udpos setting 'n_train' must be in [1, 1000) (PUD has 1000 "
                             f"sentences; some must stay for testing), got {self.n_train}")
        for name in ("n_test", "n_attack", "batch_size", "max_length"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"udpos setting {name!r} must be >= 1, got {v}")
        if self.max_length < 8:
            raise ValueError(f"udpos setting 'max_length' must be >= 8, got {self.max_length}")
        check_precision_settings("udpos", self.precision, self.finetune_precision)
        if not self.lr > 0 or not self.epochs > 0:
            raise ValueError(f"udpos settings 'lr' and 'epochs' must be positive, got "
                             f"{self.lr}, {self.epochs}")
        try:
            self.attack_config(0)
        except ValueError as e:
            raise ValueError(f"udpos settings 'attack_fraction' / 'attack_tries': {e}") from None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> UdposSettings:
        """Check a config's settings (types converted, unknown keys refused)."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=f"experiment {KIND!r}")

    @property
    def attacked_languages(self) -> tuple[str, ...]:
        """The languages attacked (``attack_languages``, default all ``languages``)."""
        return self.languages if self.attack_languages is None else self.attack_languages

    def finetune_config(self, seed: int) -> FinetuneConfig:
        """The :class:`~xtutor.training.FinetuneConfig` of ``seed``."""
        return FinetuneConfig(epochs=float(self.epochs), batch_size=self.batch_size, lr=self.lr,
                              max_length=self.max_length, warmup_ratio=0.1, seed=seed,
                              freeze_embeddings=self.freeze_embeddings,
                              precision=self.finetune_precision)

    def attack_config(self, seed: int) -> Any:
        """The :class:`~xtutor.attacks.tokens.TokenAttackConfig` of ``seed``."""
        from xtutor.attacks.tokens import TokenAttackConfig

        return TokenAttackConfig(self.attack_fraction, self.attack_tries, seed)


#: One (seed, method) run; the cells of a seed share its data split (one shard group).
UdposCell = SeedMethodCell


def udpos_cells(s: UdposSettings) -> list[UdposCell]:
    """Every (seed, method) of ``s`` in run order."""
    return [UdposCell(seed, m) for seed in s.seeds for m in s.methods]


class UdposData:
    """The data of a run, read once and shared by its cells: the English training sentences,
    each language's test sentences, the attack sets, and (on first use) dictionaries,
    parallel pairs and part-of-speech lexicons.

    Example:
        >>> d = UdposData(UdposSettings(n_train=800, n_test=100))  # doctest: +SKIP
        >>> len(d.train), len(d.tests["de"]), set(d.train.ids) & set(d.tests["de"].ids)
        ...  # doctest: +SKIP
        (800, 100, set())
    """

    def __init__(self, s: UdposSettings) -> None:
        from xtutor.data.paths import require_shared_data
        from xtutor.data.tokens import split_ids, ud_pos_sentences
        from xtutor.data.ud import load_pud

        self.settings = s
        self.root = Path(s.data_dir).expanduser() if s.data_dir else require_shared_data()
        pud = self.root / "ud_pud"
        if not pud.is_dir():
            raise FileNotFoundError(f"udpos: the data folder {self.root} has no ud_pud folder "
                                    f"(the PUD treebanks); set data_dir: or $XTUTOR_DATA_DIR")
        self.ud = {lang: load_pud(lang, pud) for lang in s.languages}
        self.full = {lang: TokenDataset(TASK, UPOS_TAGS, ud_pos_sentences(sents, lang))
                     for lang, sents in self.ud.items()}
        ids = self.full[SOURCE].ids
        self.train_ids, self.test_ids = split_ids(ids, s.n_train, s.n_test, s.split_seed)
        missing = {lang: len(set(self.test_ids) - set(d.ids)) for lang, d in self.full.items()}
        bad = {k: v for k, v in missing.items() if v}
        if bad:
            raise ValueError(f"udpos: PUD test ids missing in {bad} (the treebanks must hold "
                             f"the same sentences)")
        self.train = self.full[SOURCE].select(self.train_ids)
        self.tests = {lang: d.select(self.test_ids) for lang, d in self.full.items()}
        self.attack_sets = {lang: self.tests[lang].select(self.test_ids[:s.n_attack])
                            for lang in s.attacked_languages}
        self._tables: dict[str, Any] | None = None
        self._lexicons: dict[str, Any] = {}
        self._attack_dicts: dict[str, dict[str, Any]] = {}

    def tables(self) -> dict[str, Any]:
        """MUSE ``en-xx`` dictionaries of ``codeswitch_languages`` (loaded once)."""
        from xtutor.data.muse import load_muse

        if self._tables is None:
            self._tables = {t: load_muse(SOURCE, t, self.root / "muse")
                            for t in self.settings.codeswitch_languages}
        return self._tables

    def parallel(self, n: int, seed: int) -> list[tuple[str, str]]:
        """Up to ``n`` (English, translation) pairs of *training* sentences, every other
        evaluation language, drawn with ``seed``."""
        en = {x.sent_id: x.text for x in self.ud[SOURCE]}
        train = set(self.train_ids)
        pairs = [(en[x.sent_id], x.text) for lang, sents in self.ud.items() if lang != SOURCE
                 for x in sents if x.sent_id in train]
        if len(pairs) < 2:
            raise ValueError("udpos method 'contrastive' needs parallel sentences: add languages "
                             "other than 'en'")
        return random.Random(seed).sample(pairs, min(n, len(pairs)))

    def lexicon(self, lang: str) -> Any:
        """Word -> UPOS tags in ``lang``'s whole PUD treebank (loaded once); ``None`` when
        PUD has no treebank in ``lang``."""
        from xtutor.data.tokens import pos_lexicon, pud_pos

        if lang not in self._lexicons:
            file = self.root / "ud_pud" / f"{lang}_pud-ud-test.conllu"
            if lang in self.full:
                self._lexicons[lang] = pos_lexicon(self.full[lang])
            elif file.is_file():
                self._lexicons[lang] = pos_lexicon(pud_pos(lang, file))
            else:
                self._lexicons[lang] = None
        return self._lexicons[lang]

    def attack_dictionaries(self, lang: str) -> dict[str, Any]:
        """Code-switching dictionaries for sentences in ``lang`` (none: no MUSE file)."""
        from xtutor.attacks.tokens import token_dictionaries

        if lang not in self._attack_dicts:
            muse = self.root / "muse"
            self._attack_dicts[lang] = token_dictionaries(
                lang, self.settings.attack_targets, muse) if muse.is_dir() else {}
        return self._attack_dicts[lang]


def _state(s: UdposSettings, ctx: Any) -> tuple[UdposData, Any, Any]:
    if "udpos_data" not in ctx.state:
        ctx.state["udpos_data"] = UdposData(s)  # data first: fails before the model loads
    if "encoder" not in ctx.state:
        from xtutor.models import load_encoder

        ctx.state["encoder"] = load_encoder(s.model)
    model, tok = ctx.state["encoder"]
    return ctx.state["udpos_data"], model, tok


def run_cell(s: UdposSettings, cell: UdposCell, ctx: Any) -> list[Record]:
    """Fine-tune with one method and seed, tag every language, attack (unstamped records)."""
    from functools import partial

    from xtutor.attacks.tokens import attack_tokens
    from xtutor.attacks.transformations import CharNoise, CodeSwitch
    from xtutor.regularizers.factory import make_regularizers
    from xtutor.training.tokens import finetune_tokens, predict_tokens, token_accuracy

    data, model, tok = _state(s, ctx)
    hp = s.robust
    tables = data.tables() if cell.method in NEEDS_DICTIONARIES else {}
    parallel = data.parallel(hp.contrastive_pairs, cell.seed) \
        if cell.method in NEEDS_PARALLEL else []
    regs = make_regularizers(cell.method, hp, tables, parallel)
    t0, c0 = time.perf_counter(), time.process_time()
    tagger, losses = finetune_tokens(model, tok, data.train, s.finetune_config(cell.seed),
                                     show_progress=ctx.show_progress, regularizers=regs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    common = {"experiment": KIND, "model": s.model, "method": cell.method, "task": TASK,
              "train_lang": SOURCE, "seed": cell.seed}
    tag = partial(predict_tokens, tagger, tok, batch_size=EVAL_BATCH, max_length=s.max_length,
                  precision=s.precision)
    records = [Record(**common, eval_lang=SOURCE, metric="train_seconds", value=seconds,
                      n=len(losses)),
               Record(**common, eval_lang=SOURCE, metric="train_cpu_seconds", value=cpu,
                      n=len(losses))]
    for lang, test in data.tests.items():
        records.append(Record(**common, eval_lang=lang, metric="accuracy",
                              value=token_accuracy(tag(test), test), n=test.n_words))
    for lang, test in data.attack_sets.items():
        for attack in s.attacks:
            if attack == "char_noise":
                transformation: Any = CharNoise(seed=cell.seed)
                lexicons = None
            else:
                dicts = data.attack_dictionaries(lang)
                if not dicts:
                    continue  # no dictionary for this language
                transformation = CodeSwitch(dicts)
                lexicons = {t: lex for t in dicts if (lex := data.lexicon(t)) is not None}
            res = attack_tokens(tag, test, transformation, s.attack_config(cell.seed),
                                lexicons=lexicons)
            records += res.records(eval_lang=lang, **common)
    return records


def summary_frames(records: list[Record]) -> dict[str, pd.DataFrame]:
    """Tables of a run, means over seeds: ``accuracy`` (method x language, with ``en``, the
    zero-shot mean over the other languages and its std over seeds), ``attacks`` (per method
    and attack: mean clean and attacked accuracy over the attacked languages, their drop, and
    the code-switch part-of-speech disagreement), ``cost`` (training seconds relative to
    ``plain``, when there is one)."""
    df = pd.DataFrame([r.to_dict() for r in records])
    out: dict[str, pd.DataFrame] = {}
    acc = df[(df.metric == "accuracy") & (df.attack == "none")]
    if not acc.empty:
        table = acc.pivot_table(index="method", columns="eval_lang", values="value",
                                aggfunc="mean", sort=False)
        zs = acc[acc.eval_lang != SOURCE].groupby(["method", "seed"], sort=False).value.mean()
        table.insert(0, "zero-shot std", zs.groupby("method", sort=False).std())
        table.insert(0, "zero-shot mean", zs.groupby("method", sort=False).mean())
        if SOURCE in table:
            table.insert(0, SOURCE, table.pop(SOURCE))
        out["accuracy"] = table
    att = df[df.attack != "none"]
    if not att.empty:
        t = att.pivot_table(index=["method", "attack"], columns="metric", values="value",
                            aggfunc="mean", sort=False)
        if {"clean_accuracy", "attacked_accuracy"} <= set(t.columns):
            t["drop"] = t["clean_accuracy"] - t["attacked_accuracy"]
        keep = [c for c in ("clean_accuracy", "attacked_accuracy", "drop",
                            "words_changed_fraction", "codeswitch_pos_disagreement")
                if c in t.columns]
        out["attacks"] = t[keep]
    cost = df[df.metric == "train_cpu_seconds"]
    if not cost.empty and "plain" in set(cost.method):
        plain = cost[cost.method == "plain"].set_index("seed").value
        ratio = cost.assign(ratio=[v / plain.get(sd, float("nan"))
                                   for v, sd in zip(cost.value, cost.seed, strict=True)])
        out["cost"] = ratio.groupby("method", sort=False).agg(
            cpu_seconds=("value", "mean"), relative_to_plain=("ratio", "mean"))
    return out


def udpos_effects(df: pd.DataFrame, control: str = "plain") -> pd.DataFrame:
    """Each method against ``control`` on clean tagging accuracy, one Holm family, seeds as
    the units: ``"zero-shot: <method>"`` (paired by seed over the mean of the seed's
    non-English languages, ``pool="clusters"``) and ``"English: <method>"`` (paired by seed).

    ``df``: the ledger's records as a frame (:func:`xtutor.results.load_results`). Returns
    :func:`~xtutor.experiments.grid_analysis.effects_frame` (``adjust="holm"``) by label.

    Example:
        >>> df = pd.DataFrame({"method": ["plain", "free"] * 6, "seed": [0, 0, 1, 1, 2, 2] * 2,
        ...     "eval_lang": ["en"] * 6 + ["de"] * 6, "metric": "accuracy", "attack": "none",
        ...     "value": [.9, .91, .92, .92, .9, .93, .7, .72, .71, .74, .69, .7]})
        >>> fx = udpos_effects(df)
        >>> fx.index.tolist(), round(float(fx.loc["zero-shot: free", "mean"]), 3)
        (['zero-shot: free', 'English: free'], 0.02)
    """
    from xtutor.experiments.grid_analysis import effects_frame
    from xtutor.stats import paired_difference

    need = {"method", "seed", "eval_lang", "metric", "attack", "value"}
    if need - set(df.columns):
        raise ValueError(f"udpos_effects: df lacks columns {sorted(need - set(df.columns))} "
                         f"(pass the udpos ledger's records as a frame)")
    acc = df[(df.metric == "accuracy") & (df.attack == "none")]
    if control not in set(acc.method):
        raise ValueError(f"udpos_effects: no clean accuracy of the control {control!r}; "
                         f"methods: {sorted(acc.method.unique())}")
    zs = acc[acc.eval_lang != SOURCE]
    fam = {}
    for m in [m for m in dict.fromkeys(acc.method) if m != control]:
        fam[f"zero-shot: {m}"] = paired_difference(zs, "method", m, control,
                                                   on=("seed", "eval_lang"), pool="clusters")
        fam[f"English: {m}"] = paired_difference(acc[acc.eval_lang == SOURCE], "method", m,
                                                 control)
    return effects_frame(fam, adjust="holm").set_index("label")


def udpos_attack_effects(df: pd.DataFrame, control: str = "plain") -> pd.DataFrame:
    """Accuracy under each attack of each method against ``control``, one Holm family, seeds
    as the units (paired by seed over the mean of the seed's attacked languages,
    ``pool="clusters"``); labels ``"<attack>: <method>"``.

    Example:
        >>> df = pd.DataFrame({"method": ["plain", "free"] * 3, "seed": [0, 0, 1, 1, 2, 2],
        ...     "eval_lang": "de", "metric": "attacked_accuracy", "attack": "char_noise",
        ...     "value": [.6, .62, .61, .6, .58, .61]})
        >>> udpos_attack_effects(df).index.tolist()
        ['char_noise: free']
    """
    from xtutor.experiments.grid_analysis import effects_frame
    from xtutor.stats import paired_difference

    att = df[(df.attack != "none") & (df.metric == "attacked_accuracy")] \
        if {"attack", "metric"} <= set(df.columns) else df.iloc[:0]
    if att.empty or control not in set(att.method):
        raise ValueError(f"udpos_attack_effects: no attacked_accuracy records of the control "
                         f"{control!r} (pass the udpos ledger's records)")
    fam = {f"{a}: {m}": paired_difference(att[att.attack == a], "method", m, control,
                                          on=("seed", "eval_lang"), pool="clusters")
           for a in dict.fromkeys(att.attack)
           for m in dict.fromkeys(att.method) if m != control}
    return effects_frame(fam, adjust="holm").set_index("label")


def summarize(s: UdposSettings, records: list[Record], out: Path) -> str:
    """``summary.txt`` of a udpos run (:func:`summary_frames`)."""
    frames = summary_frames(records)
    lines = [f"udpos: {s.model} fine-tuned on {s.n_train} English PUD sentences, "
             f"{len(s.seeds)} seed(s); means over seeds", ""]
    titles = {"accuracy": "UPOS accuracy (zero-shot: mean over the non-English languages)",
              "attacks": f"under attack ({s.n_attack} test sentences per attacked language, "
                         f"mean over languages)",
              "cost": "training CPU time"}
    for k, frame in frames.items():
        lines += [titles[k] + ":", frame.round(3).to_string(), ""]
    return "\n".join(lines)


def _kind() -> Any:
    from xtutor.runner import Kind

    return Kind(KIND, UdposSettings, udpos_cells, run_cell, axes=("seeds", "methods"),
                summarize=summarize)


KIND_SPEC = _kind()


__all__ = ["KIND", "KIND_SPEC", "PUD_LANGUAGES", "UdposCell", "UdposData", "UdposSettings",
           "run_cell", "summarize", "summary_frames", "udpos_attack_effects", "udpos_cells",
           "udpos_effects"]
