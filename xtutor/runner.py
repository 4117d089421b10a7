"""The experiment runner behind ``xtutor run CONFIG.yaml`` and ``xtutor verify LEDGER``.

A config is a YAML mapping with an ``experiment`` kind and that kind's settings. Each kind
(:class:`Kind`, registered in :data:`KINDS`) declares its settings dataclass, splits a run into
*cells* (a grid cell, a (seed, method) run, or the whole run) and computes one cell at a time;
the runner owns everything else, the same way for every kind:

- settings are checked once (:func:`xtutor.settings.check_settings`): types converted, unknown
  keys refused with one line naming the file and the key;
- each finished cell is written atomically to ``out/cells/<cell>.<hash>.jsonl`` before the
  next starts (``hash``: every setting that changes results, not the axes that only choose
  cells), so an interrupted run resumes where it stopped, and a changed setting never mixes
  old cells in;
- ``shard=(i, n)`` runs a deterministic share of the cells (``--shard i/n``, ``0 <= i < n``;
  cells that share an encoder stay together), so n machines can fill one folder; a final run
  without a shard computes what is missing and merges;
- ``select=["seed2__none__*", ...]`` (``--cells``) runs only the cells whose names match one of
  the glob patterns, in the order of the first pattern each matches (so a long run can fill
  the cells a verdict needs first); the merge still needs every cell;
- when every cell is present, it writes ``results.jsonl`` (records stamped with config hash,
  xtutor version and git revision), ``summary.txt`` and ``config.json`` (kind, resolved
  settings, hashes, version, revision, start/end time, seconds, threads, device).

:func:`verify_ledger` recomputes a sample of a finished run's cells with the current code
and compares every record (``xtutor verify``).

Example config (``configs/lab_toy.yaml``)::

    experiment: lab
    preset: default
    seed: 0
    overrides: {"mlm.steps": 600}
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from xtutor.io import atomic_write_text
from xtutor.progress import progress
from xtutor.reproducibility import config_hash, deterministic, provenance
from xtutor.results import Record, read_records, stamp, write_records
from xtutor.settings import SettingsError, check_settings, settings_dict

#: Metrics that measure time, not results (skipped by :func:`verify_ledger`).
TIMING_METRICS: frozenset[str] = frozenset({"train_seconds", "train_cpu_seconds", "seconds"})


@dataclass
class RunContext:
    """What a kind's ``run_cell`` gets besides its settings and cell.

    Attributes:
        out: the run folder (a kind may keep artefacts there, e.g. aligned encoders).
        cell_hash: the settings hash of this run's cells.
        toy_cache: where pretrained toy encoders are cached (``None``: the default,
            ``$XTUTOR_CACHE/toy-encoders``).
        show_progress: progress bars inside a cell.
        state: memory kept between the cells of one run (a seed's setup, its encoders).
    """

    out: Path
    cell_hash: str
    toy_cache: Path | None = None
    show_progress: bool = False
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """One experiment kind of ``xtutor run``.

    Attributes:
        name: the ``experiment:`` value.
        settings: its settings dataclass.
        cells: settings -> the cells in run order (objects with ``name`` and ``group``).
        run_cell: ``(settings, cell, RunContext) -> records`` (unstamped).
        axes: settings fields that only choose cells (left out of the cell hash).
        volatile: settings fields that change no number (also left out).
        added: settings fields added after ledgers were written; hashed only when they differ
            from their default, so the hashes of existing ledgers stay valid.
        summarize: ``(settings, records, out) -> summary text``; may write extra files.
    """

    name: str
    settings: type
    cells: Callable[[Any], Sequence[Any]]
    run_cell: Callable[[Any, Any, RunContext], list[Record]]
    axes: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    summarize: Callable[[Any, list[Record], Path], str] | None = None


@dataclass(frozen=True)
class WholeRun:
    """The single cell of a kind that is not split (its name is the kind's)."""

    name: str

    @property
    def group(self) -> str:
        return self.name


@dataclass(frozen=True)
class SeedMethodCell:
    """A cell of one seed and one fine-tuning method (the ``udpos`` and ``xnli_ood`` kinds).

    ``shared_seed``: the cells of one seed form one shard group (they share something costly
    to rebuild); otherwise every cell is its own group, so ``--shard`` balances cells.

    Example:
        >>> c = SeedMethodCell(1, "free")
        >>> c.name, c.group, SeedMethodCell(1, "free", shared_seed=False).group
        ('seed1__free', 'seed1', 'seed1__free')
    """

    seed: int
    method: str
    shared_seed: bool = True

    @property
    def name(self) -> str:
        return f"seed{self.seed}__{self.method}"

    @property
    def group(self) -> str:
        return f"seed{self.seed}" if self.shared_seed else self.name


def _kinds() -> dict[str, Kind]:
    from xtutor import lab
    from xtutor.experiments import adversarial, grid, robust, tatoeba, udpos, xnli_ood

    return {k.name: k for k in (adversarial.KIND_SPEC, grid_kind(grid), lab.KIND_SPEC,
                                robust.KIND_SPEC, tatoeba.KIND_SPEC, udpos.KIND_SPEC,
                                xnli_ood.KIND_SPEC)}


def grid_kind(grid: Any) -> Kind:
    """The grid's :class:`Kind` (its axes are the seeds, alignments, fine-tunings, controls)."""
    return Kind("grid", grid.GridSettings, grid.grid_cells, grid.run_cell,
                axes=("seeds", "alignments", "finetunes", "controls", "alignment_seeds"),
                volatile=("save_encoders", "n_examples"),
                added=("precision", "finetune_precision", "freeze_embeddings", "query_budget",
                       "protect_labels", "retrieval_after", "attack_sides",
                       "attack_languages", "xnli_source", "pawsx_source", "pawsx_train"),
                summarize=grid.summarize)


def kinds() -> dict[str, Kind]:
    """Every experiment kind by name (``adversarial``, ``grid``, ``lab``, ``robust``,
    ``tatoeba``, ``udpos``, ``xnli_ood``).

    Example:
        >>> sorted(kinds())
        ['adversarial', 'grid', 'lab', 'robust', 'tatoeba', 'udpos', 'xnli_ood']
    """
    return _kinds()


def get_kind(name: str, source: str = "config") -> Kind:
    """The kind called ``name``; a clear error otherwise."""
    known = kinds()
    if name not in known:
        raise SettingsError(f"{source}: 'experiment' must be one of {sorted(known)}, got "
                            f"{name!r}")
    return known[name]


def load_config(path: str | Path) -> tuple[Kind, Any]:
    """Read and check a run config: its kind and its checked settings.

    Errors name the file and the problem (:class:`~xtutor.settings.SettingsError`).

    Example:
        >>> kind, s = load_config("configs/grid_toy_ci.yaml")  # doctest: +SKIP
        >>> kind.name, s.seeds  # doctest: +SKIP
        ('grid', (0, 1, 2))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(cfg, dict):
        raise SettingsError(f"{path}: expected a mapping with an 'experiment' key, got "
                            f"{type(cfg).__name__}")
    kind = get_kind(cfg.get("experiment"), str(path))
    settings = {k: v for k, v in cfg.items() if k != "experiment"}
    return kind, check_settings(kind.settings, settings, source=str(path))


def find_config(name: str) -> Path:
    """The path of ``configs/<name>.yaml`` in the xtutor checkout (for the chapters).

    Example:
        >>> find_config("grid_toy_ci").name
        'grid_toy_ci.yaml'
    """
    root = Path(__file__).resolve().parent.parent / "configs"
    path = root / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in root.glob("*.yaml")) if root.is_dir() else []
        raise FileNotFoundError(f"no config {name!r} in {root}; configs: {have}")
    return path


def find_ledger(name: str) -> Path:
    """The folder ``data/ledgers/<name>`` of the xtutor checkout (committed result ledgers, for
    the chapters). It may be a run in progress (cells but no ``results.jsonl`` yet).

    Example:
        >>> find_ledger("grid_toy").name
        'grid_toy'
    """
    root = Path(__file__).resolve().parent.parent / "data" / "ledgers"
    path = root / name
    if not path.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(f"no ledger {name!r} in {root} (a clone of the repository has "
                                f"them; `pip install` alone does not); ledgers: {have}")
    return path


def cell_hash(kind: Kind, settings: Any) -> str:
    """Hash of every setting that changes a cell's numbers (not the axes, which only choose
    cells, and not the volatile settings).

    Example:
        >>> from xtutor.experiments.grid import GridSettings
        >>> g = kinds()["grid"]
        >>> cell_hash(g, GridSettings(seeds=(0,))) == cell_hash(g, GridSettings(seeds=(0, 1)))
        True
    """
    d = settings_dict(settings)
    for k in (*kind.axes, *kind.volatile):
        d.pop(k, None)
    defaults = settings_dict(kind.settings()) if kind.added else {}
    for k in kind.added:
        if k in d and d[k] == defaults.get(k):
            d.pop(k)
    return config_hash({"experiment": kind.name, **d})[:10]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` stays ``None``.

    Example:
        >>> parse_shard("1/4")
        (1, 4)
        >>> parse_shard("4/4")
        Traceback (most recent call last):
        ...
        xtutor.settings.SettingsError: --shard: expected i/n with 0 <= i < n, got '4/4'
    """
    if text is None:
        return None
    i, sep, n = str(text).partition("/")
    try:
        out = (int(i), int(n))
    except ValueError:
        out = (-1, 0)
    if not sep or not 0 <= out[0] < out[1]:
        raise SettingsError(f"--shard: expected i/n with 0 <= i < n, got {text!r}")
    return out


def shard_cells(cells: Sequence[Any], shard: tuple[int, int] | None) -> list[Any]:
    """The cells of ``shard = (i, n)``: groups (cells sharing an encoder) in order of first
    appearance, group ``k`` to shard ``k % n``; every cell with ``None``."""
    if shard is None:
        return list(cells)
    groups: dict[str, int] = {}
    for c in cells:
        groups.setdefault(c.group, len(groups))
    i, n = shard
    return [c for c in cells if groups[c.group] % n == i]


def select_cells(cells: Sequence[Any], patterns: Sequence[str] | None) -> list[Any]:
    """The cells whose names match one of the glob ``patterns``, ordered by the first pattern
    each matches (config order within a pattern); every cell with ``None``.

    Example:
        >>> cells = [WholeRun(n) for n in ("seed0__a", "seed0__b", "seed1__a")]
        >>> [c.name for c in select_cells(cells, ["*__b", "seed*__a"])]
        ['seed0__b', 'seed0__a', 'seed1__a']
        >>> select_cells(cells, ["seed9__*"])
        Traceback (most recent call last):
        ...
        xtutor.settings.SettingsError: --cells: pattern 'seed9__*' matches no cell ...
    """
    if patterns is None:
        return list(cells)
    from fnmatch import fnmatchcase

    out: list[Any] = []
    for pat in patterns:
        hits = [c for c in cells if fnmatchcase(c.name, pat)]
        if not hits:
            example = cells[0].name if cells else "?"
            raise SettingsError(f"--cells: pattern {pat!r} matches no cell (cells look like "
                                f"{example!r})")
        out.extend(c for c in hits if c not in out)
    return out


def _cell_path(out: Path, name: str, h: str) -> Path:
    return out / "cells" / f"{name}.{h}.jsonl"


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


@dataclass
class RunResult:
    """What :func:`run_experiment` returns."""

    records: list[Record]
    computed: list[str]
    reused: list[str]
    missing: list[str]
    seconds: float

    @property
    def complete(self) -> bool:
        """Whether every cell of the settings is finished (results.jsonl was written)."""
        return not self.missing


def run_experiment(kind: Kind | str, settings: Any, out_dir: str | Path, *,
                   shard: tuple[int, int] | None = None, toy_cache: str | Path | None = None,
                   show_progress: bool = True, select: Sequence[str] | None = None,
                   on_cell: Callable[[Any, float], None] | None = None,
                   state: dict[str, Any] | None = None) -> RunResult:
    """Run (or resume) the cells of ``settings`` in ``out_dir`` (module docstring).

    Settings may be the kind's dataclass or a mapping (checked). ``on_cell(cell, seconds)``
    is called after each computed cell (an exception there stops the run; finished cells
    stay). ``state`` pre-fills :attr:`RunContext.state` (e.g. an already loaded encoder).
    Deterministic kernels are on for the run (:func:`xtutor.reproducibility
    .deterministic`) and restored afterwards.
    """
    kind = get_kind(kind) if isinstance(kind, str) else kind
    s = settings if isinstance(settings, kind.settings) else \
        check_settings(kind.settings, settings, source=f"experiment {kind.name!r}")
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    h = cell_hash(kind, s)
    cells = list(kind.cells(s))
    mine = shard_cells(select_cells(cells, select), shard)
    todo = [c for c in mine if not _cell_path(out, c.name, h).is_file()]
    computed = [c.name for c in todo]
    reused = [c.name for c in mine if c not in todo]
    ctx = RunContext(out, h, Path(toy_cache) if toy_cache is not None else None, show_progress,
                     dict(state or {}))
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    prov = {"experiment": kind.name, **settings_dict(s)}
    bar = progress(todo, desc=f"{kind.name} ({len(reused)} cells done before)",
               show=show_progress and len(cells) >= 2)
    with deterministic():
        for cell in bar:
            bar.set_postfix_str(cell.name)
            c0 = time.perf_counter()
            recs = kind.run_cell(s, cell, ctx)
            write_records(_cell_path(out, cell.name, h), stamp(recs, prov))
            if on_cell is not None:
                on_cell(cell, time.perf_counter() - c0)
    seconds = time.perf_counter() - t0
    missing = [c.name for c in cells if not _cell_path(out, c.name, h).is_file()]
    records: list[Record] = []
    partial = shard is not None or select is not None
    if not missing and not partial:
        records = [r for c in cells for r in read_records(_cell_path(out, c.name, h))]
        write_records(out / "results.jsonl", records)
        if kind.summarize is not None:
            atomic_write_text(out / "summary.txt", kind.summarize(s, records, out))
        _write_meta(out, kind, s, h, started, seconds, computed, reused)
    elif not partial:
        raise RuntimeError(f"cells {missing[:3]} are missing after the run")
    else:
        records = [r for c in mine for r in read_records(_cell_path(out, c.name, h))]
    return RunResult(records, computed, reused, missing, seconds)


def _write_meta(out: Path, kind: Kind, s: Any, h: str, started: datetime, seconds: float,
                computed: list[str], reused: list[str]) -> None:
    import platform

    import torch

    meta = {"experiment": kind.name, "settings": settings_dict(s), "cell_hash": h,
            **provenance({"experiment": kind.name, **settings_dict(s)}),
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
            "device": _device(), "python": platform.python_version(),
            "torch": torch.__version__, "cells_computed": computed, "cells_reused": reused}
    atomic_write_text(out / "config.json", json.dumps(meta, indent=2, default=str) + "\n")


def run_config(path: str | Path, out_dir: str | Path, *, shard: tuple[int, int] | None = None,
               show_progress: bool = True, select: Sequence[str] | None = None) -> RunResult:
    """Run the experiment a config file describes (see :func:`run_experiment`).

    Example:
        >>> run_config("configs/does-not-exist.yaml", "/tmp/x")
        Traceback (most recent call last):
        ...
        FileNotFoundError: config file configs/does-not-exist.yaml does not exist
    """
    kind, s = load_config(path)
    return run_experiment(kind, s, out_dir, shard=shard, show_progress=show_progress,
                          select=select)


def run_shards(path: str | Path, out_dir: str | Path, shards: int, *, threads: int = 1,
               select: Sequence[str] | None = None, timeout: float | None = None) -> None:
    """Run the cells of a config file in ``shards`` processes at once (``xtutor run --shard
    i/shards``, each with ``threads`` torch threads), and wait for all of them; a following
    :func:`run_config` (or ``run_experiment``) without a shard then merges.

    On a CPU, results are bit-exact for the same thread count, so shards of one thread
    reproduce a ledger written with one thread. A failing shard raises ``RuntimeError`` with
    the end of its output; the cells other shards finished stay.

    Example:
        >>> run_shards("configs/lab_toy.yaml", "/tmp/x", 0)
        Traceback (most recent call last):
        ...
        ValueError: shards must be >= 1, got 0
    """
    import os
    import subprocess
    import sys

    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    load_config(path)  # a bad config fails here, once, not in every shard
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    base = [sys.executable, "-m", "xtutor.cli", "run", str(path), "--out", str(out_dir),
            "--quiet"] + (["--cells", ",".join(select)] if select else [])
    procs = [subprocess.Popen(base + ["--shard", f"{i}/{shards}"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for i in range(shards)]
    failed = []
    for i, proc in enumerate(procs):
        output, _ = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            failed.append(f"shard {i}/{shards} exited with {proc.returncode}:\n"
                          + "\n".join(output.splitlines()[-15:]))
    if failed:
        raise RuntimeError("\n".join(failed))


# ---------------------------------------------------------------------------------------------
# verification of committed ledgers


def _key(r: Record) -> tuple:
    return (r.experiment, r.model, r.method, r.task, r.train_lang, r.eval_lang,
            r.premise_lang, r.hypothesis_lang, r.attack, r.seed, r.metric)


def compare_records(stored: Sequence[Record], fresh: Sequence[Record], tolerance: float = 0.0,
                    where: str = "") -> tuple[float, list[str]]:
    """Compare two record lists value by value (timing metrics skipped): the largest
    ``|difference|`` and one line per mismatch (a value or ``n`` beyond ``tolerance``, a
    record present on one side only).

    Example:
        >>> a = Record("x", "m", "plain", "nli", "L0", "L1", "accuracy", 0.5, 10, 0)
        >>> compare_records([a], [a])
        (0.0, [])
    """
    def index(recs: Sequence[Record]) -> dict[tuple, Record]:
        return {_key(r): r for r in recs if r.metric not in TIMING_METRICS}

    a, b = index(stored), index(fresh)
    problems, worst = [], 0.0
    for k in sorted(set(a) | set(b), key=str):
        name = f"{where}{k[2]} {k[5]} {k[8]} {k[10]}".strip()
        if k not in b:
            problems.append(f"{name}: in the ledger, not recomputed")
        elif k not in a:
            problems.append(f"{name}: recomputed, not in the ledger")
        else:
            d = abs(float(a[k].value) - float(b[k].value))
            worst = max(worst, d)
            if d > tolerance or a[k].n != b[k].n:
                problems.append(f"{name}: ledger {a[k].value:.6g} (n={a[k].n}), recomputed "
                                f"{b[k].value:.6g} (n={b[k].n}), |diff| {d:.3g}")
    return worst, problems


def check_reproduced(fresh: Sequence[Record], ledger: Sequence[Record], tolerance: float = 0.0
                     ) -> tuple[int, float, list[str]]:
    """Whether a fresh run reproduces a ledger on what both measured: the records of the
    ledger with the fresh run's (seed, method) pairs, attack records left out (a different
    attack budget changes them) as well as timings. Returns the number of records compared,
    the largest ``|difference|`` and :func:`compare_records`' mismatch lines.

    Example:
        >>> a = Record("x", "m", "none/plain", "nli", "L0", "L1", "accuracy", 0.5, 10, 0)
        >>> b = Record("x", "m", "none/plain", "nli", "L0", "L1", "accuracy", 0.5, 10, 1)
        >>> check_reproduced([a], [a, b])
        (1, 0.0, [])
    """
    def clean(recs: Sequence[Record]) -> list[Record]:
        return [r for r in recs if r.attack == "none" and r.metric not in TIMING_METRICS]

    runs = {(r.seed, r.method) for r in fresh}
    mine = clean(fresh)
    theirs = [r for r in clean(ledger) if (r.seed, r.method) in runs]
    worst, problems = compare_records(theirs, mine, tolerance)
    return len(mine), worst, problems


@dataclass
class VerifyReport:
    """What :func:`verify_ledger` found."""

    checked: list[str]
    agreed: int
    max_diff: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        """All checked cells agree and the ledger is consistent."""
        return not self.problems

    def summary(self) -> str:
        """``verified k/N cells, max |diff| x``."""
        return (f"verified {self.agreed}/{len(self.checked)} cells, max |diff| "
                f"{self.max_diff:.3g}")


def verify_ledger(ledger: str | Path, cells: int | None = None, seed: int = 0,
                  tolerance: float = 0.0, show_progress: bool = False,
                  threads: int | None = None, config: str | Path | None = None,
                  names: Sequence[str] | None = None) -> VerifyReport:
    """Recompute ``cells`` randomly chosen finished cells of a run folder (all when ``None``)
    with the current code and compare every record value with the stored one.

    Checks first that ``config.json``'s settings still hash to the cells' hash (a setting
    edited after the run fails here) and that ``results.jsonl`` is exactly the union of the
    cell files; then recomputes the sample in a temporary folder (aligned encoders are
    recomputed too) and compares values within ``tolerance`` (timing metrics skipped).
    ``threads``: torch threads for the recomputation, by default the ledger's own
    (``config.json``): CPU results are bit-exact for the same thread count, not across
    counts.

    A run **in progress** (cells, no ``config.json`` yet) is checked against ``config`` (its
    YAML): the finished cells must carry that config's hash, and the sample is drawn from
    them (threads default to 1, as the committed long runs use). ``names`` picks the cells
    to recompute by name instead of at random.
    """
    ledger = Path(ledger)
    meta_path = ledger / "config.json"
    problems: list[str] = []
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        kind = get_kind(meta.get("experiment"), str(meta_path))
        s = check_settings(kind.settings, meta.get("settings"), source=f"{meta_path} settings")
        h = cell_hash(kind, s)
        all_cells = list(kind.cells(s))
        if h != meta.get("cell_hash"):
            problems.append(f"{meta_path}: its settings hash to {h}, but the run wrote its "
                            f"cells under {meta.get('cell_hash')} (a setting was changed after "
                            f"the run)")
            return VerifyReport([], 0, 0.0, problems)
        missing = [c.name for c in all_cells if not _cell_path(ledger, c.name, h).is_file()]
        if missing:
            return VerifyReport([], 0, 0.0, [f"{ledger}: cells missing: {missing[:5]}"])
    elif config is not None:
        kind, s = load_config(config)
        h = cell_hash(kind, s)
        meta = {"threads": 1}
        all_cells = [c for c in kind.cells(s) if _cell_path(ledger, c.name, h).is_file()]
        if not all_cells:
            raise FileNotFoundError(f"{ledger} holds no finished cell of {config} (hash {h})")
    else:
        raise FileNotFoundError(f"{ledger} is not a finished run: no config.json (run "
                                f"`xtutor run CONFIG --out {ledger}` to the end first, or pass "
                                f"the run's config to check the cells finished so far)")
    stored = {c.name: read_records(_cell_path(ledger, c.name, h)) for c in all_cells}
    if meta_path.is_file():
        union = [r for c in all_cells for r in stored[c.name]]
        results = read_records(ledger / "results.jsonl")
        if [r.to_dict() for r in results] != [r.to_dict() for r in union]:
            _, diffs = compare_records(union, results, 0.0, "results.jsonl vs cells: ")
            problems += diffs or ["results.jsonl differs from the cell files (order or "
                                  "provenance)"]
    if names is not None:
        by_name = {c.name: c for c in all_cells}
        unknown = [n for n in names if n not in by_name]
        if unknown or not names:
            raise ValueError(f"cells {unknown} are not finished cells of {ledger}; finished: "
                             f"{sorted(by_name)[:8]}...")
        chosen = [by_name[n] for n in names]
    else:
        k = len(all_cells) if cells is None else min(int(cells), len(all_cells))
        if k < 1:
            raise ValueError(f"cells must be >= 1, got {cells}")
        sample = sorted(random.Random(seed).sample(range(len(all_cells)), k))
        chosen = [all_cells[i] for i in sample]
    agreed, worst = 0, 0.0
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads or meta.get("threads") or before))
    try:
        with tempfile.TemporaryDirectory(prefix="xtutor-verify-") as tmp, deterministic():
            ctx = RunContext(Path(tmp), h, None, show_progress)
            for cell in progress(chosen, desc="verify", show=show_progress):
                fresh = kind.run_cell(s, cell, ctx)
                d, diffs = compare_records(stored[cell.name], fresh, tolerance,
                                           f"{cell.name}: ")
                worst = max(worst, d)
                problems += diffs
                agreed += not diffs
    finally:
        torch.set_num_threads(before)
    return VerifyReport([c.name for c in chosen], agreed, worst, problems)


def settings_from(kind: str, values: Mapping[str, Any] | None) -> Any:
    """The checked settings of ``kind`` from a mapping (for code that builds settings).

    Example:
        >>> settings_from("lab", {"preset": "tiny"}).preset
        'tiny'
    """
    k = get_kind(kind)
    return check_settings(k.settings, values, source=f"experiment {kind!r}")


__all__ = ["Kind", "RunContext", "RunResult", "VerifyReport", "WholeRun", "cell_hash",
           "compare_records", "find_config", "get_kind", "kinds", "load_config", "parse_shard",
           "run_config", "run_experiment", "run_shards", "select_cells", "settings_from",
           "shard_cells", "verify_ledger"]
