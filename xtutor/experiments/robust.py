"""``experiment: robust``: noise-robust fine-tuning for zero-shot cross-lingual transfer.

A pair classifier is fine-tuned on the source language only, once per regulariser (``method``)
of :mod:`xtutor.regularizers`, and evaluated zero-shot on every language and on every
premise-language x hypothesis-language pair (the generalized matrix);
the methods are those of :mod:`xtutor.regularizers.factory` (its table says what each adds
to plain fine-tuning), each run through :func:`xtutor.experiments.unit.run_unit`.

``pgd``/``freelb``/``free``/``plain`` use no target-language resource; ``smoothing``,
``codeswitch`` and ``consistency`` use bilingual dictionaries; ``contrastive`` uses parallel
sentences. The training wall and CPU time of each run are recorded (``train_seconds``,
``train_cpu_seconds``, ``n`` = optimiser steps), so a chapter can report each method's cost
relative to ``plain``. Each (seed, task, method) is one cell of the runner (resumable,
shardable).

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
    >>> s = RobustSettings.from_settings({"preset": "tiny", "seeds": [0], "methods": ["plain"],
    ...                                   "adv_steps": "3"})
    >>> s.preset, s.seeds, s.methods, s.adv_steps
    ('tiny', (0,), ('plain',), 3)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from xtutor.experiments.setups import Setup, ToySetup, XnliSetup, XnliSizes
from xtutor.experiments.unit import run_unit
from xtutor.regularizers.factory import METHODS, RegularizerSettings
from xtutor.results import Record, stamp
from xtutor.training import FinetuneConfig

KIND = "robust"
#: Sizes of the XNLI profiles (:class:`~xtutor.experiments.setups.XnliSizes`).
XNLI_PROFILES: dict[str, XnliSizes] = {
    "smoke": XnliSizes(train=16, test=8, epochs=1, batch_size=16, max_length=48),
    "small": XnliSizes(train=600, test=300, epochs=3, batch_size=16, max_length=128),
    "full": XnliSizes(train=2490, test=5010, epochs=3, batch_size=32, max_length=128),
}
XNLI_LANGS: tuple[str, ...] = ("en", "es", "sw", "ur", "my")


@dataclass(frozen=True)
class RobustSettings(RegularizerSettings):
    """Settings of a ``robust`` run (module docstring): the methods' hyperparameters
    (:class:`~xtutor.regularizers.RegularizerSettings`, at the top level of the config) and
    the study's. Unknown keys are refused (:func:`xtutor.settings.check_settings`).

    Attributes:
        setup: ``toy`` or ``xnli``.
        preset, overrides, tasks: toy only (a lab preset, dotted overrides of
            :class:`xtutor.lab.LabConfig`, and ``nli``/``paws``).
        model, profile, languages, codeswitch_languages, data_dir: xnli only.
        seeds, methods: shared. lr: fine-tuning learning rate (``None``: the preset's for
            toy, 1e-4 for xnli).
    """

    setup: str = "toy"
    preset: str = "ci"
    overrides: dict[str, Any] = field(default_factory=dict)
    tasks: tuple[str, ...] = ("nli", "paws")
    model: str = "e5-small-offline"
    profile: str = "small"
    languages: tuple[str, ...] = XNLI_LANGS
    codeswitch_languages: tuple[str, ...] = ("es", "de", "fr", "ru", "hi", "ar")
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    lr: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("tasks", "languages", "codeswitch_languages", "seeds", "methods"):
            vals = tuple(getattr(self, name))
            object.__setattr__(self, name, vals)
            if not vals:
                raise ValueError(f"robust setting {name!r} must be a non-empty list")
            if len(set(vals)) != len(vals):
                raise ValueError(f"robust setting {name!r} has duplicates: {list(vals)}")
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
            raise ValueError(f"robust setting 'seeds' must be >= 0, got {list(self.seeds)}")
        if self.setup == "toy":
            self.lab(self.seeds[0])  # checks the overrides (one line naming the key)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RobustSettings:
        """Check a config's settings (types converted, unknown keys refused)."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=f"experiment {KIND!r}")

    def lab(self, seed: int) -> Any:
        """The toy lab config of ``seed``: the preset with ``overrides`` and ``lr``."""
        from xtutor.lab import LabConfig
        from xtutor.settings import override

        cfg = override(LabConfig.preset(self.preset, seed=seed), self.overrides,
                       source="robust setting 'overrides'")
        if self.lr is not None:
            cfg = replace(cfg, finetune=replace(cfg.finetune, lr=self.lr))
        return cfg

    def setup_for(self, seed: int, cache_dir: str | Path | None = None,
                  show_progress: bool = False) -> Setup:
        """The :class:`~xtutor.experiments.setups.Setup` of ``seed``."""
        if self.setup == "toy":
            return ToySetup(self.lab(seed), preset=self.preset, cache_dir=cache_dir,
                            model_name="toy-mlm", show_progress=show_progress)
        return XnliSetup(seed, model=self.model, sizes=XNLI_PROFILES[self.profile],
                         languages=self.languages,
                         codeswitch_languages=self.codeswitch_languages,
                         lr=self.lr if self.lr is not None else 1e-4, data_dir=self.data_dir)


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


@dataclass(frozen=True)
class RobustCell:
    """One (seed, task, method) run of a robust study."""

    seed: int
    task: str
    method: str

    @property
    def name(self) -> str:
        return f"seed{self.seed}__{self.task}__{self.method}"

    @property
    def group(self) -> str:
        return f"seed{self.seed}"


def robust_cells(s: RobustSettings) -> list[RobustCell]:
    """Every (seed, task, method) of ``s`` in run order (xnli: task ``nli`` only)."""
    tasks = s.tasks if s.setup == "toy" else ("nli",)
    return [RobustCell(seed, t, m) for seed in s.seeds for t in tasks for m in s.methods]


def run_cell(s: RobustSettings, cell: RobustCell, ctx: Any) -> list[Record]:
    """Fine-tune with one method and evaluate the matrix (unstamped records)."""
    if ctx.state.get("seed") != cell.seed:
        ctx.state.update(seed=cell.seed, setup=s.setup_for(cell.seed, ctx.toy_cache,
                                                           ctx.show_progress))
    res = run_unit(ctx.state["setup"], cell.method, task=cell.task, regularizers=s,
                   experiment=KIND, show_progress=ctx.show_progress)
    return res.records


def _timings(records: Sequence[Record]) -> pd.DataFrame:
    rows: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if r.metric in ("train_seconds", "train_cpu_seconds"):
            row = rows.setdefault((r.seed, r.task, r.method), {
                "seed": r.seed, "task": r.task, "method": r.method, "steps": r.n})
            row["seconds" if r.metric == "train_seconds" else "cpu_seconds"] = r.value
    return pd.DataFrame(list(rows.values()))


def robust_study(settings: RobustSettings | Mapping[str, Any], *,
                 cache_dir: str | Path | None = None, show_progress: bool = False,
                 on_run: Callable[[dict[str, Any]], None] | None = None) -> RobustResult:
    """Run a robust study in memory (no files): every cell of :func:`robust_cells` through
    :func:`~xtutor.experiments.unit.run_unit`; ``on_run`` gets each run's timing row with its
    mean zero-shot accuracy as soon as it is done."""
    from xtutor.reproducibility import deterministic
    from xtutor.runner import RunContext

    s = settings if isinstance(settings, RobustSettings) else \
        RobustSettings.from_settings(settings)
    ctx = RunContext(Path("."), "", Path(cache_dir) if cache_dir is not None else None,
                     show_progress)
    records: list[Record] = []
    with deterministic():
        for cell in robust_cells(s):
            recs = run_cell(s, cell, ctx)
            records += recs
            if on_run is not None:
                row = _timings(recs).iloc[0].to_dict()
                on_run({**row, "zero_shot": _zero_shot_mean(recs, ctx.state["setup"].src)})
    return RobustResult(stamp(records, {"experiment": KIND, **_sd(s)}), _timings(records))


def _sd(s: RobustSettings) -> dict[str, Any]:
    from xtutor.settings import settings_dict

    return settings_dict(s)


def robust_transfer(preset: str = "ci", seeds: Sequence[int] = (0, 1, 2),
                    methods: Sequence[str] = METHODS, tasks: Sequence[str] = ("nli", "paws"),
                    settings: RobustSettings | None = None, show_progress: bool = False,
                    on_run: Callable[[dict[str, Any]], None] | None = None,
                    cache_dir: str | Path | None = None) -> RobustResult:
    """The toy study: for each seed, the lab encoder (pretrained once, or read from
    ``cache_dir`` as in :func:`xtutor.experiments.encoders.pretrained_toy`, keyed on the
    preset's pretraining settings so fine-tuning overrides reuse it), then fine-tuning on L0
    with each method and task and evaluation on the generalized matrix.

    ``settings`` gives the method hyperparameters and lab ``overrides``; its ``preset``,
    ``seeds``, ``methods`` and ``tasks`` are replaced by the arguments.

    Example (tens of seconds; ``tests/test_robust_experiment.py`` runs it):
        >>> res = robust_transfer("tiny", seeds=[0], methods=["plain", "free"],
        ...                       tasks=["nli"])  # doctest: +SKIP
        >>> sorted(set(res.frame().method)), len(res.timings)  # doctest: +SKIP
        (['free', 'plain'], 2)
    """
    s = replace(settings or RobustSettings(), setup="toy", preset=preset,
                seeds=tuple(int(x) for x in seeds), methods=tuple(methods), tasks=tuple(tasks))
    return robust_study(s, cache_dir=cache_dir, show_progress=show_progress, on_run=on_run)


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
    s = replace(settings or RobustSettings(setup="xnli"), setup="xnli")
    return robust_study(s, show_progress=show_progress, on_run=on_run)


def replace_seed(config: FinetuneConfig, seed: int) -> FinetuneConfig:
    """``config`` with ``seed`` (helper for per-seed runs).

    Example:
        >>> replace_seed(FinetuneConfig(), 3).seed
        3
    """
    return replace(config, seed=seed)


def summarize(s: RobustSettings, records: list[Record], out: Path) -> str:
    """``summary.txt`` of a robust run (accuracy table and training-cost ratios); also writes
    ``timings.csv``."""
    res = RobustResult(list(records), _timings(records))
    res.timings.to_csv(out / "timings.csv", index=False)
    lines = [f"robust ({s.setup})", "",
             "accuracy (mean over seeds; std):", res.accuracy_table().round(3).to_string(), ""]
    if "plain" in s.methods:
        lines += ["training cost relative to plain (CPU time):",
                  res.cost_ratio().round(2).to_string(), "",
                  "training cost relative to plain (wall time):",
                  res.cost_ratio("seconds").round(2).to_string()]
    return "\n".join(lines) + "\n"


def _kind() -> Any:
    from xtutor.runner import Kind

    return Kind(KIND, RobustSettings, robust_cells, run_cell, axes=("seeds", "methods", "tasks"),
                summarize=summarize)


KIND_SPEC = _kind()
