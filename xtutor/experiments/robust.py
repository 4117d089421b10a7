"""``experiment: robust``: noise-robust fine-tuning for zero-shot cross-lingual transfer.

A pair classifier is fine-tuned on the source language only, once per regulariser (``method``)
of :mod:`xtutor.regularizers`, and evaluated zero-shot on every language and on every
premise-language x hypothesis-language pair (the generalized matrix):

========== ==================================================================================
method     what is added to plain fine-tuning (``CE`` on the source language)
========== ==================================================================================
plain      nothing
pgd        PGD adversarial training on word embeddings (``adv_steps`` ascent steps, L2 ball)
freelb     FreeLB (``adv_steps`` ascent steps, gradients averaged)
free       "free" adversarial training (each batch replayed ``adv_steps`` times, same cost)
smoothing  randomized smoothing: neighbour substitution (dictionary translations) + noise
codeswitch code-switch augmentation with bilingual dictionaries
consistency KL consistency (symmetric) between a pair and its code-switched version (xTune)
contrastive the chapter-2 InfoNCE alignment on parallel sentences as an auxiliary loss
========== ==================================================================================

``pgd``/``freelb``/``free``/``plain`` use no target-language resource; ``smoothing``,
``codeswitch`` and ``consistency`` use bilingual dictionaries; ``contrastive`` uses parallel
sentences. The training wall time of each run is recorded (``metric = train_seconds``, ``n`` =
optimiser steps), so a chapter can report each method's cost relative to ``plain``.

Two setups:

- ``setup: toy`` (:func:`robust_transfer`): the toy family of a lab preset (``tiny``, ``ci``,
  ``default``), one MLM-pretrained encoder per seed shared by every method, tasks ``nli`` and
  ``paws`` (train ``nli_train`` pairs in L0, test ``nli_test`` meanings rendered in every
  language pair). Dictionaries: ``ToyWorld.dictionary``; parallel pairs: ``ToyWorld.parallel``.
- ``setup: xnli`` (:func:`robust_xnli`): ``e5-small-offline`` fine-tuned on a subsample of the
  English XNLI *dev* set (no XNLI training data offline), evaluated on subsampled test sets of
  ``en es sw ur my`` and every mixed-language pair. Dictionaries: MUSE ``en-xx`` (``es de fr
  ru hi ar`` by default; MUSE has no sw, ur or my); parallel pairs for ``contrastive``: XNLI
  dev premises and hypotheses, English with ``sw ur my`` (dev sets, disjoint from the test
  sets). Profiles (``XNLI_PROFILES``): ``smoke`` (train 16, test 8 per language pair, 1 step;
  for tests), ``small`` (train 600, test 300, 3 epochs), ``full`` (train 2490, test 5010, 3
  epochs).

Example:
    >>> s = RobustSettings.from_settings({"preset": "tiny", "seeds": [0], "methods": ["plain"]})
    >>> s.preset, s.seeds, s.methods
    ('tiny', (0,), ('plain',))
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.evaluation import accuracy, predict_pairs
from xtutor.experiments.settings import reject_unknown
from xtutor.regularizers import (
    AdversarialConfig,
    AdversarialTraining,
    CodeSwitch,
    CodeSwitchConfig,
    ConsistencyConfig,
    ContrastiveAlignment,
    ContrastiveConfig,
    KLConsistency,
    RandomizedSmoothing,
    Regularizer,
    SmoothingConfig,
    neighbours_from_dictionaries,
)
from xtutor.regularizers.base import WordTable
from xtutor.results import Record, stamp, write_records
from xtutor.training import FinetuneConfig, finetune

KIND = "robust"
#: Every method, in report order.
METHODS: tuple[str, ...] = ("plain", "pgd", "freelb", "free", "smoothing", "codeswitch",
                            "consistency", "contrastive")
#: Sizes of the XNLI profiles: train pairs, test pairs per language pair, epochs, batch size,
#: max length.
XNLI_PROFILES: dict[str, dict[str, int]] = {
    "smoke": {"train": 16, "test": 8, "epochs": 1, "batch_size": 16, "max_length": 48},
    "small": {"train": 600, "test": 300, "epochs": 3, "batch_size": 16, "max_length": 128},
    "full": {"train": 2490, "test": 5010, "epochs": 3, "batch_size": 32, "max_length": 128},
}
XNLI_LANGS: tuple[str, ...] = ("en", "es", "sw", "ur", "my")


def _tuple(name: str, value: Any, kind: type) -> tuple:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"robust setting {name!r} must be a non-empty list, got {value!r}")
    bad = [v for v in value if not isinstance(v, kind) or isinstance(v, bool)]
    if bad:
        raise ValueError(f"robust setting {name!r} must hold {kind.__name__} values, got "
                         f"{bad[0]!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"robust setting {name!r} has duplicates: {list(value)}")
    return tuple(value)


@dataclass(frozen=True)
class RobustSettings:
    """Validated settings of a ``robust`` run (module docstring); unknown keys are refused.

    Attributes:
        setup: ``toy`` or ``xnli``.
        preset, overrides, tasks: toy only (a lab preset, dotted overrides of
            :class:`xtutor.lab.LabConfig`, and ``nli``/``paws``).
        model, profile, languages, codeswitch_languages, data_dir: xnli only.
        seeds, methods: shared.
        adv_steps, adv_step_size, adv_epsilon, adv_norm: adversarial methods (``free`` replays
            each batch ``adv_steps`` times).
        smoothing_rate, smoothing_noise, codeswitch_rate, consistency_weight,
        contrastive_weight, contrastive_pairs, contrastive_batch: the other methods.
    """

    setup: str = "toy"
    preset: str = "ci"
    overrides: tuple[tuple[str, Any], ...] = ()
    tasks: tuple[str, ...] = ("nli", "paws")
    model: str = "e5-small-offline"
    profile: str = "small"
    languages: tuple[str, ...] = XNLI_LANGS
    codeswitch_languages: tuple[str, ...] = ("es", "de", "fr", "ru", "hi", "ar")
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    adv_steps: int = 2
    adv_step_size: float = 0.025
    adv_epsilon: float = 0.05
    adv_norm: str = "l2"
    smoothing_rate: float = 0.15
    smoothing_noise: float = 0.02
    codeswitch_rate: float = 0.3
    consistency_weight: float = 1.0
    contrastive_weight: float = 0.5
    contrastive_pairs: int = 1000
    contrastive_batch: int = 16
    lr: float | None = None

    def __post_init__(self) -> None:
        if self.setup not in ("toy", "xnli"):
            raise ValueError(f"robust setting 'setup' must be 'toy' or 'xnli', got {self.setup!r}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"robust setting 'methods': unknown {bad}; choose from "
                             f"{list(METHODS)}")
        bad = [t for t in self.tasks if t not in ("nli", "paws")]
        if bad:
            raise ValueError(f"robust setting 'tasks': unknown {bad}; choose 'nli' or 'paws'")
        if self.profile not in XNLI_PROFILES:
            raise ValueError(f"robust setting 'profile' must be one of {list(XNLI_PROFILES)}, "
                             f"got {self.profile!r}")
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"robust setting 'seeds' must be >= 0, got {self.seeds}")
        # the configs of the methods check the remaining numbers
        AdversarialConfig(steps=self.adv_steps, step_size=self.adv_step_size,
                          epsilon=self.adv_epsilon, norm=self.adv_norm)  # type: ignore[arg-type]
        SmoothingConfig(self.smoothing_rate, self.smoothing_noise)
        CodeSwitchConfig(self.codeswitch_rate)
        ConsistencyConfig(self.consistency_weight)
        ContrastiveConfig(weight=self.contrastive_weight, batch_size=self.contrastive_batch)
        if self.contrastive_pairs < 2:
            raise ValueError(f"robust setting 'contrastive_pairs' must be >= 2, got "
                             f"{self.contrastive_pairs}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RobustSettings:
        """Check a config's settings (lists become tuples); errors name the setting."""
        settings = dict(settings or {})
        reject_unknown(settings, (f.name for f in fields(cls)), KIND)
        kw: dict[str, Any] = {}
        for k, v in settings.items():
            if k in ("tasks", "methods", "languages", "codeswitch_languages"):
                kw[k] = _tuple(k, v, str)
            elif k == "seeds":
                kw[k] = _tuple(k, v, int)
            elif k == "overrides":
                if not isinstance(v, (Mapping, type(None))):
                    raise ValueError(f"robust setting 'overrides' must be a mapping, got {v!r}")
                kw[k] = tuple(sorted((v or {}).items()))
            else:
                kw[k] = v
        return cls(**kw)


@dataclass
class RobustResult:
    """What a robust study returns: records (accuracy and ``train_seconds``) and timings."""

    records: list[Record]
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame."""
        return pd.DataFrame([r.to_dict() for r in self.records])

    def cost_frame(self, column: str = "cpu_seconds") -> pd.DataFrame:
        """The timings, one row per run, with ``ratio``: the run's training time divided by
        that of ``plain`` with the same seed and task (``column`` as in :meth:`cost_ratio`)."""
        t = self.timings
        if t.empty or "plain" not in set(t.method):
            raise ValueError("cost_ratio needs timings of the 'plain' method")
        if column not in ("cpu_seconds", "seconds"):
            raise ValueError(f"column must be 'cpu_seconds' or 'seconds', got {column!r}")
        plain = t[t.method == "plain"].set_index(["seed", "task"])[column]
        return t.assign(ratio=[v / plain[(sd, tk)] for v, sd, tk in
                               zip(t[column], t.seed, t.task, strict=True)])

    def cost_ratio(self, column: str = "cpu_seconds") -> pd.DataFrame:
        """Training time of each method relative to ``plain`` (same seed and task): mean, median
        and count over runs. ``column``: ``cpu_seconds`` (process CPU time, the steadier
        measure on a shared machine) or ``seconds`` (wall time)."""
        r = self.cost_frame(column)
        return r.groupby("method", sort=False).ratio.agg(["mean", "median", "count"])

    def group_frame(self) -> pd.DataFrame:
        """Mean accuracy per task, method, group and seed (columns ``task method group seed
        value``); groups: ``source`` (both sides in the training language), ``zero-shot``
        (both sides in one other language) and ``mixed`` (premise and hypothesis in different
        languages: the generalized setting)."""
        df = self.frame()
        df = df[df.metric == "accuracy"].copy()
        src = df.train_lang
        df["group"] = "mixed"
        same = df.premise_lang == df.hypothesis_lang
        df.loc[same & (df.premise_lang == src), "group"] = "source"
        df.loc[same & (df.premise_lang != src), "group"] = "zero-shot"
        return df.groupby(["task", "method", "group", "seed"], sort=False).value.mean() \
            .reset_index()

    def gain_by_group(self, method: str, control: str = "plain", task: str | None = None
                      ) -> pd.DataFrame:
        """Per task, group and seed: accuracy of ``method`` minus that of ``control`` (columns
        ``task group seed value``), e.g. to ask whether a regulariser gains more on mixed pairs
        than on same-language pairs (``paired_difference(g, "group", "mixed", "zero-shot")``).
        """
        g = self.group_frame()
        if task is not None:
            g = g[g.task == task]
        sides = {}
        for name in (method, control):
            part = g[g.method == name]
            if part.empty:
                raise ValueError(f"gain_by_group: no accuracy records of method {name!r}")
            sides[name] = part.set_index(["task", "group", "seed"]).value
        if set(sides[method].index) != set(sides[control].index):
            raise ValueError(f"gain_by_group: {method!r} and {control!r} were not run on the "
                             f"same tasks and seeds")
        diff = sides[method] - sides[control].loc[sides[method].index]
        return diff.rename("value").reset_index()

    def accuracy_table(self) -> pd.DataFrame:
        """Mean accuracy (over seeds) per task and method: source language, zero-shot mean over
        the other languages, and mixed-language pairs mean; with the std over seeds."""
        per_seed = self.group_frame().set_index(["task", "method", "group", "seed"]).value
        out = per_seed.groupby(["task", "method", "group"], sort=False).agg(["mean", "std"])
        return out.unstack("group")


def _regularizers(method: str, s: RobustSettings, tables: Mapping[str, WordTable],
                  parallel: Sequence[Any]) -> list[Regularizer]:
    adv = {"steps": s.adv_steps, "step_size": s.adv_step_size, "epsilon": s.adv_epsilon,
           "norm": s.adv_norm}
    if method == "plain":
        return []
    if method in ("pgd", "freelb", "free"):
        return [AdversarialTraining(AdversarialConfig(method=method, **adv))]  # type: ignore
    if method == "smoothing":
        return [RandomizedSmoothing(neighbours_from_dictionaries(tables.values()),
                                    SmoothingConfig(s.smoothing_rate, s.smoothing_noise))]
    if method == "codeswitch":
        return [CodeSwitch(dict(tables), CodeSwitchConfig(s.codeswitch_rate))]
    if method == "consistency":
        view = CodeSwitch(dict(tables), CodeSwitchConfig(s.codeswitch_rate))
        return [KLConsistency(ConsistencyConfig(s.consistency_weight, symmetric=True), view)]
    if method == "contrastive":
        return [ContrastiveAlignment(parallel, ContrastiveConfig(
            weight=s.contrastive_weight, batch_size=s.contrastive_batch))]
    raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")


def evaluate_matrix(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    tests: Mapping[tuple[str, str], PairDataset], *, experiment: str,
                    model_name: str, method: str, train_lang: str, seed: int,
                    max_length: int = 128) -> list[Record]:
    """Accuracy on each ``(premise_lang, hypothesis_lang) -> dataset``, as records
    (``eval_lang`` is the language, or ``a-b`` for a mixed pair)."""
    out = []
    for (a, b), data in tests.items():
        acc = accuracy(predict_pairs(model, tokenizer, data, max_length=max_length),
                       data.labels)
        out.append(Record(experiment=experiment, model=model_name, method=method,
                          task=data.task, train_lang=train_lang,
                          eval_lang=a if a == b else f"{a}-{b}", premise_lang=a,
                          hypothesis_lang=b, metric="accuracy", value=acc, n=len(data),
                          seed=seed))
    return out


def _train_and_eval(model: PreTrainedModel, tok: PreTrainedTokenizerBase, train: PairDataset,
                    tests: Mapping[tuple[str, str], PairDataset], ft: FinetuneConfig,
                    method: str, s: RobustSettings, tables: Mapping[str, WordTable],
                    parallel: Sequence[Any], *, model_name: str, train_lang: str, seed: int,
                    show_progress: bool) -> tuple[list[Record], dict[str, Any]]:
    regs = _regularizers(method, s, tables, parallel)
    t0, c0 = time.perf_counter(), time.process_time()
    clf, losses = finetune(model, tok, train, ft, show_progress=show_progress,
                           regularizers=regs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    recs = evaluate_matrix(clf, tok, tests, experiment=KIND, model_name=model_name,
                           method=method, train_lang=train_lang, seed=seed,
                           max_length=ft.max_length)
    recs.append(Record(experiment=KIND, model=model_name, method=method, task=train.task,
                       train_lang=train_lang, eval_lang=train_lang, metric="train_seconds",
                       value=seconds, n=len(losses), seed=seed))
    recs.append(Record(experiment=KIND, model=model_name, method=method, task=train.task,
                       train_lang=train_lang, eval_lang=train_lang, metric="train_cpu_seconds",
                       value=cpu, n=len(losses), seed=seed))
    timing = {"seed": seed, "task": train.task, "method": method, "seconds": seconds,
              "cpu_seconds": cpu, "steps": len(losses), "final_loss": losses[-1]}
    return recs, timing


def robust_transfer(preset: str = "ci", seeds: Sequence[int] = (0, 1, 2),
                    methods: Sequence[str] = METHODS, tasks: Sequence[str] = ("nli", "paws"),
                    settings: RobustSettings | None = None, show_progress: bool = False,
                    on_run: Callable[[dict[str, Any]], None] | None = None,
                    cache_dir: str | Path | None = None) -> RobustResult:
    """The toy study: for each seed, pretrain the lab encoder once, then fine-tune on L0 with
    each method and task and evaluate on the generalized matrix (see the module docstring).

    With ``cache_dir`` the encoders come from
    :func:`xtutor.experiments.encoders.pretrained_toy` (saved there, or loaded when chapters
    1-2 saved them): the cache key is the preset's config with only the pretraining settings
    (``world``, ``encoder``, ``mlm``, ``corpus_per_language``) of the ``overrides``, so
    overriding the fine-tuning sizes still reuses the preset's encoders.

    ``settings`` gives the method hyperparameters and lab ``overrides``; its ``preset``,
    ``seeds``, ``methods`` and ``tasks`` are replaced by the arguments. ``on_run`` is called
    with each run's timing row (seed, task, method, seconds, ...) as soon as it is done.

    Example (tens of seconds; ``tests/test_robust_experiment.py`` runs it):
        >>> res = robust_transfer("tiny", seeds=[0], methods=["plain", "free"],
        ...                       tasks=["nli"])  # doctest: +SKIP
        >>> sorted(set(res.frame().method)), len(res.timings)  # doctest: +SKIP
        (['free', 'plain'], 2)
    """
    from dataclasses import replace

    from xtutor.lab import LabConfig, pretrain_toy_encoder
    from xtutor.toyworld import ToyWorld

    s = replace(settings or RobustSettings(), setup="toy", preset=preset,
                seeds=tuple(int(x) for x in seeds), methods=tuple(methods), tasks=tuple(tasks))
    records: list[Record] = []
    timings: list[dict[str, Any]] = []
    for seed in s.seeds:
        cfg = LabConfig.preset(s.preset, seed=seed).override(**dict(s.overrides))
        if s.lr is not None:
            cfg = cfg.override(**{"finetune.lr": s.lr})
        world = ToyWorld(cfg.world)
        langs = world.languages
        src, others = langs[0], langs[1:]
        if not others:
            raise ValueError("the robust study needs at least 2 languages")
        if cache_dir is None:
            model, tok, _ = pretrain_toy_encoder(cfg, world, show_progress=show_progress)
        else:
            from xtutor.experiments.encoders import pretrained_toy

            model, tok = pretrained_toy(_pretraining_config(cfg, s.preset, seed), world,
                                        cache_dir=cache_dir, show_progress=show_progress)
        tables = {lang: world.dictionary(src, lang) for lang in others}
        per_lang = max(2, s.contrastive_pairs // len(others))
        parallel = [p for i, lang in enumerate(others)
                    for p in world.parallel(src, lang, per_lang, seed=20_000 + 10 * seed + i)]
        pairs = [(a, b) for a in langs for b in langs] if cfg.generalized else \
            [(a, a) for a in langs]
        for task in s.tasks:
            test_seed = 2_000 + seed
            if task == "nli":
                train = world.nli(cfg.nli_train, src, seed=1_000 + seed)
                triples = world.nli_meanings(cfg.nli_test, seed=test_seed)
                tests = {(a, b): world.render_pairs(triples, "nli", a, b, seed=test_seed)
                         for a, b in pairs}
            else:
                train = world.paws(cfg.nli_train, src, seed=1_000 + seed)
                items = world.paws_meanings(cfg.nli_test, seed=test_seed)
                trip = [(x, y, lab) for x, y, lab, _ in items]
                voices = [v for *_, v in items]
                tests = {(a, b): world.render_pairs(trip, "paws", a, b, seed=test_seed,
                                                    voices=voices) for a, b in pairs}
            for method in s.methods:
                recs, timing = _train_and_eval(
                    model, tok, train, tests, cfg.finetune, method, s, tables, parallel,
                    model_name="toy-mlm", train_lang=src, seed=seed, show_progress=show_progress)
                records += recs
                timings.append(timing)
                if on_run is not None:
                    on_run({**timing, "zero_shot": _zero_shot_mean(recs, src)})
    return RobustResult(stamp(records, asdict(s)), pd.DataFrame(timings))


def _pretraining_config(cfg: Any, preset: str, seed: int) -> Any:
    """The preset's config for ``seed`` with the pretraining fields of ``cfg`` (the cache key of
    the encoder: fine-tuning overrides do not change the pretrained model)."""
    from dataclasses import replace

    from xtutor.lab import LabConfig

    return replace(LabConfig.preset(preset, seed=seed), world=cfg.world, encoder=cfg.encoder,
                   mlm=cfg.mlm, corpus_per_language=cfg.corpus_per_language)


def _zero_shot_mean(records: list[Record], src: str) -> float:
    vals = [r.value for r in records if r.metric == "accuracy"
            and r.premise_lang == r.hypothesis_lang and r.premise_lang != src]
    return sum(vals) / len(vals) if vals else float("nan")


def robust_xnli(settings: RobustSettings | None = None, show_progress: bool = False,
                on_run: Callable[[dict[str, Any]], None] | None = None) -> RobustResult:
    """The real-data study: ``settings.model`` (default ``e5-small-offline``) fine-tuned on a
    subsample of English XNLI dev, evaluated zero-shot on subsampled test sets of
    ``settings.languages`` and every mixed-language pair (sizes: ``XNLI_PROFILES``).

    Needs the XNLI files (``$XTUTOR_DATA_DIR/xnli`` or ``../shared/data/xnli``) and, for the
    dictionary methods, the MUSE dictionaries next to them.

    Example:
        >>> robust_xnli(RobustSettings(setup="xnli", profile="smoke"))  # doctest: +SKIP
    """
    from xtutor.data.muse import load_muse
    from xtutor.data.paths import require_shared_data
    from xtutor.data.xnli import load_xnli, load_xnli_pairs
    from xtutor.models import load_encoder

    s = settings or RobustSettings(setup="xnli")
    prof = XNLI_PROFILES[s.profile]
    root = Path(s.data_dir) if s.data_dir else None
    xnli_dir = root / "xnli" if root else require_shared_data("xnli")
    if "en" not in s.languages:
        raise ValueError(f"robust xnli: languages must include 'en' (the training language), "
                         f"got {s.languages}")
    needs_dicts = {"smoothing", "codeswitch", "consistency"} & set(s.methods)
    tables: dict[str, WordTable] = {}
    if needs_dicts:
        muse_dir = root / "muse" if root else require_shared_data("muse")
        tables = {lang: load_muse("en", lang, muse_dir) for lang in s.codeswitch_languages}
    model, tok = load_encoder(s.model)
    ft = FinetuneConfig(epochs=float(prof["epochs"]), batch_size=prof["batch_size"],
                        lr=s.lr if s.lr is not None else 1e-4, max_length=prof["max_length"],
                        warmup_ratio=0.1)
    records: list[Record] = []
    timings: list[dict[str, Any]] = []
    langs = s.languages
    for seed in s.seeds:
        ft_seed = replace_seed(ft, seed)
        train = load_xnli("en", "dev", xnli_dir).subset(prof["train"], seed=seed)
        test_seed = 1_000 + seed
        tests = {}
        for a in langs:
            for b in langs:
                data = load_xnli(a, "test", xnli_dir) if a == b else \
                    load_xnli_pairs(a, b, "test", xnli_dir)
                tests[(a, b)] = data.subset(prof["test"], seed=test_seed)
        parallel: list[tuple[str, str]] = []
        if "contrastive" in s.methods:
            en_dev = load_xnli("en", "dev", xnli_dir)
            for lang in ("sw", "ur", "my"):
                other = load_xnli(lang, "dev", xnli_dir)
                for x, y in zip(en_dev, other, strict=True):
                    parallel += [(x.premise, y.premise), (x.hypothesis, y.hypothesis)]
            import random

            parallel = random.Random(seed).sample(parallel, min(len(parallel),
                                                                s.contrastive_pairs))
        for method in s.methods:
            recs, timing = _train_and_eval(
                model, tok, train, tests, ft_seed, method, s, tables, parallel,
                model_name=s.model, train_lang="en", seed=seed, show_progress=show_progress)
            records += recs
            timings.append(timing)
            if on_run is not None:
                on_run({**timing, "zero_shot": _zero_shot_mean(recs, "en")})
    return RobustResult(stamp(records, asdict(s)), pd.DataFrame(timings))


def replace_seed(config: FinetuneConfig, seed: int) -> FinetuneConfig:
    """``config`` with ``seed`` (helper for per-seed runs).

    Example:
        >>> replace_seed(FinetuneConfig(), 3).seed
        3
    """
    from dataclasses import replace

    return replace(config, seed=seed)


def experiment(settings: dict[str, Any], out: Path, show_progress: bool) -> list[Record]:
    """The ``robust`` kind of ``xtutor run``: run the study and write ``results.jsonl``,
    ``timings.csv``, ``summary.txt`` and ``config.json`` into ``out``."""
    s = RobustSettings.from_settings(settings)
    t0 = time.time()
    if s.setup == "toy":
        res = robust_transfer(s.preset, s.seeds, s.methods, s.tasks, s, show_progress)
    else:
        res = robust_xnli(s, show_progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_records(out / "results.jsonl", res.records)
    res.timings.to_csv(out / "timings.csv", index=False)
    lines = [f"robust ({s.setup}), {time.time() - t0:.0f} s", "",
             "accuracy (mean over seeds; std):", res.accuracy_table().round(3).to_string(), ""]
    if "plain" in s.methods:
        lines += ["training cost relative to plain (CPU time):",
                  res.cost_ratio().round(2).to_string(), "",
                  "training cost relative to plain (wall time):",
                  res.cost_ratio("seconds").round(2).to_string()]
    (out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from xtutor.reproducibility import provenance

    meta = {"settings": asdict(s), **provenance(asdict(s)), "seconds": round(time.time() - t0, 1)}
    (out / "config.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return res.records
