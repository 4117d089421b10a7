"""Run profiles: how big each chapter's experiments are.

A chapter starts with ``PROFILE = xtutor.profiles.current()``; the profile is chosen by the
environment variable ``XTUTOR_PROFILE`` (on Colab the first cell sets it to ``"real"``):

- ``ci``: small sizes that run every chapter in a few minutes on 2 CPU cores (what CI executes);
- ``toy``: the full-size toy experiments (the sizes of ``xtutor lab``), tens of minutes on CPU;
- ``real``: the toy experiments at full size plus real encoders (mBERT, XLM-R) and Hub datasets,
  for a GPU with internet.

Example:
    >>> get_profile("ci").seeds
    (0, 1, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    """Sizes shared by the chapters."""

    name: str
    seeds: tuple[int, ...]
    lab_preset: str
    mlm_steps: int
    nli_train: int
    nli_test: int
    pairs: int
    real_models: tuple[str, ...]
    real_max_examples: int | None

    @property
    def uses_hub(self) -> bool:
        """Whether this profile downloads models and data from the Hugging Face Hub."""
        return self.name == "real"


PROFILES: dict[str, Profile] = {
    "ci": Profile("ci", (0, 1, 2), "ci", 300, 3000, 600, 400, ("e5-small-offline",), 500),
    "toy": Profile("toy", (0, 1, 2, 3, 4), "default", 600, 8000, 1000, 500,
                   ("e5-small-offline",), None),
    "real": Profile("real", (0, 1, 2), "default", 600, 8000, 1000, 500,
                    ("bert-base-multilingual-cased", "xlm-roberta-base"), None),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``ci``, ``toy`` or ``real``)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
                         f"(set XTUTOR_PROFILE)") from None


def current() -> Profile:
    """The profile named by ``XTUTOR_PROFILE`` (default ``ci``)."""
    return get_profile(os.environ.get("XTUTOR_PROFILE", "ci"))


def cache_dir() -> Path:
    """Where chapters cache reusable artefacts (pretrained toy encoders, converted e5 weights):
    ``$XTUTOR_CACHE`` or ``~/.cache/xtutor``.

    Example:
        >>> isinstance(cache_dir(), Path)
        True
    """
    env = os.environ.get("XTUTOR_CACHE")
    return Path(env).expanduser() if env and env.strip() else Path.home() / ".cache" / "xtutor"


def runs_dir() -> Path:
    """Where chapters write their result ledgers: ``$XTUTOR_RUNS``, else ``runs/`` at the root
    of an xtutor checkout, else ``runs/`` in the working directory (e.g. on Colab).

    Example:
        >>> runs_dir().name
        'runs'
    """
    env = os.environ.get("XTUTOR_RUNS")
    if env and env.strip():
        return Path(env).expanduser()
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "xtutor").is_dir():
        return root / "runs"
    return Path.cwd() / "runs"
