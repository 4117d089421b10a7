"""The general experiment runner behind ``xtutor run CONFIG.yaml``.

A config is a YAML mapping with an ``experiment`` kind and that kind's settings. Each kind is a
function ``(settings, out_dir, show_progress) -> list[Record]`` registered in ``EXPERIMENTS``;
the runner validates the file, runs the experiment and writes ``out_dir/results.jsonl``.

Example config (``configs/lab_toy.yaml``)::

    experiment: lab
    preset: default
    seed: 0
    overrides: {"mlm.steps": 600}
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from xtutor.experiments.adversarial import experiment as _adversarial
from xtutor.experiments.grid import experiment as _grid
from xtutor.experiments.robust import experiment as _robust
from xtutor.experiments.settings import reject_unknown
from xtutor.experiments.tatoeba import experiment as _tatoeba
from xtutor.results import Record

Experiment = Callable[[dict[str, Any], Path, bool], list[Record]]


def _lab(settings: dict[str, Any], out: Path, show_progress: bool) -> list[Record]:
    from xtutor.lab import LabConfig, run_lab

    reject_unknown(settings, {"preset", "seed", "overrides"}, "lab")
    cfg = LabConfig.preset(settings.get("preset", "default"), seed=int(settings.get("seed", 0)))
    cfg = cfg.override(**(settings.get("overrides") or {}))
    return run_lab(cfg, out, show_progress=show_progress).records


#: Experiment kinds known to ``xtutor run``.
EXPERIMENTS: dict[str, Experiment] = {"adversarial": _adversarial, "grid": _grid, "lab": _lab,
                                      "robust": _robust, "tatoeba": _tatoeba}


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check a run config; errors name the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a mapping with an 'experiment' key, got "
                         f"{type(cfg).__name__}")
    kind = cfg.get("experiment")
    if kind not in EXPERIMENTS:
        raise ValueError(f"{path}: 'experiment' must be one of {sorted(EXPERIMENTS)}, "
                         f"got {kind!r}")
    return cfg


def run_config(path: str | Path, out_dir: str | Path, show_progress: bool = True
               ) -> list[Record]:
    """Run the experiment a config file describes; returns its records.

    Example:
        >>> run_config("configs/does-not-exist.yaml", "/tmp/x")
        Traceback (most recent call last):
        ...
        FileNotFoundError: config file configs/does-not-exist.yaml does not exist
    """
    cfg = load_config(path)
    settings = {k: v for k, v in cfg.items() if k != "experiment"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return EXPERIMENTS[cfg["experiment"]](settings, out, show_progress)
