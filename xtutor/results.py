"""The tidy result record that every experiment writes and every chapter reads.

One record is one measured number with everything needed to interpret and reproduce it. Records
are stored one JSON object per line (``results.jsonl``) and loaded into a pandas DataFrame.

Example:
    >>> r = Record(experiment="lab", model="toy-mlm", method="none", task="nli",
    ...            train_lang="L0", eval_lang="L1", metric="accuracy", value=0.5, n=10, seed=0)
    >>> r.to_dict()["metric"]
    'accuracy'
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from xtutor.io import atomic_write_text
from xtutor.reproducibility import provenance

RECORD_FIELDS: tuple[str, ...] = (
    "experiment", "model", "method", "task", "train_lang", "eval_lang", "premise_lang",
    "hypothesis_lang", "attack", "seed", "metric", "value", "n", "config_hash",
    "xtutor_version", "git_rev",
)


@dataclass(frozen=True)
class Record:
    """One measured number.

    ``premise_lang``/``hypothesis_lang`` are set for pair tasks (they differ in the generalized
    cross-lingual setting); ``attack`` is ``"none"`` for clean evaluation.
    """

    experiment: str
    model: str
    method: str
    task: str
    train_lang: str
    eval_lang: str
    metric: str
    value: float
    n: int
    seed: int
    premise_lang: str | None = None
    hypothesis_lang: str | None = None
    attack: str = "none"
    config_hash: str = ""
    xtutor_version: str = ""
    git_rev: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.value, (int, float)) or math.isnan(float(self.value)):
            raise ValueError(f"Record.value must be a finite number, got {self.value!r} "
                             f"(metric={self.metric!r}, eval_lang={self.eval_lang!r})")
        if int(self.n) < 0:
            raise ValueError(f"Record.n must be >= 0, got {self.n}")

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict in the canonical field order."""
        d = asdict(self)
        return {k: d[k] for k in RECORD_FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        """Build a record from a dict, refusing missing or unknown fields."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown record field(s) {sorted(unknown)}; expected {RECORD_FIELDS}")
        missing = {n for n in ("experiment", "model", "method", "task", "train_lang", "eval_lang",
                               "metric", "value", "n", "seed") if n not in d}
        if missing:
            raise ValueError(f"record is missing field(s) {sorted(missing)}")
        return cls(**d)


def stamp(records: Iterable[Record], config: Any) -> list[Record]:
    """Attach ``config_hash``, ``xtutor_version`` and ``git_rev`` to records.

    Example:
        >>> r = Record("lab", "m", "none", "nli", "L0", "L0", "accuracy", 1.0, 1, 0)
        >>> stamp([r], {"seed": 0})[0].config_hash != ""
        True
    """
    prov = provenance(config)
    out = []
    for r in records:
        d = r.to_dict()
        d.update(prov)
        out.append(Record(**d))
    return out


def write_records(path: str | Path, records: Iterable[Record], append: bool = False) -> Path:
    """Write records as JSON lines. Without ``append`` the file is replaced atomically.

    Example:
        >>> import tempfile, os
        >>> r = Record("lab", "m", "none", "nli", "L0", "L0", "accuracy", 1.0, 1, 0)
        >>> p = write_records(os.path.join(tempfile.mkdtemp(), "r.jsonl"), [r])
        >>> len(load_results(p))
        1
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    if append:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        return path
    return atomic_write_text(path, lines)


def read_records(path: str | Path) -> list[Record]:
    """Read records from a JSON-lines file, naming the line of any malformed entry."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results file at {path}")
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(Record.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, ValueError) as e:
                raise ValueError(f"{path}:{i}: not a valid result record: {e}") from e
    return out


def load_results(*paths: str | Path) -> pd.DataFrame:
    """Load one or more ``results.jsonl`` files (or folders holding one) into a DataFrame.

    Example:
        >>> df = load_results()  # no paths: an empty frame with the record columns
        >>> list(df.columns) == list(RECORD_FIELDS)
        True
    """
    rows: list[dict[str, Any]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            p = p / "results.jsonl"
        rows.extend(r.to_dict() for r in read_records(p))
    return pd.DataFrame(rows, columns=list(RECORD_FIELDS))
