"""Where the local data lives, and the small file helpers every loader shares.

The real data slices used by tests and benchmarks live outside the project (never copied into
it). :func:`shared_data_dir` finds them: the environment variable ``XTUTOR_DATA_DIR`` when set,
else ``../shared/data`` next to the repository root when that folder exists.

Example:
    >>> from xtutor.data.paths import shared_data_dir
    >>> root = shared_data_dir()  # None when no data folder is available
    >>> xnli_dir = None if root is None else root / "xnli"
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

#: Environment variable naming the folder that holds the real data slices.
DATA_DIR_ENV = "XTUTOR_DATA_DIR"

#: What loaders do with a malformed row: ``"raise"`` (default) a ValueError naming file and line,
#: or ``"skip"`` it and emit one :class:`MalformedRowsWarning` with the count and line numbers.
Errors = Literal["raise", "skip"]


class MalformedRowsWarning(UserWarning):
    """Emitted once per file when ``errors="skip"`` dropped malformed rows."""


def repo_root() -> Path:
    """The repository root: the parent of the ``xtutor`` package folder."""
    return Path(__file__).resolve().parent.parent.parent


def shared_data_dir() -> Path | None:
    """The folder with the real data slices, or None when there is none.

    ``XTUTOR_DATA_DIR`` wins when set (None if it names no folder: an explicit setting is never
    silently replaced by the default); otherwise ``<repo root>/../shared/data`` if it exists.

    Example:
        >>> d = shared_data_dir()
        >>> d is None or d.is_dir()
        True
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env is not None and env.strip():
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    p = repo_root().parent / "shared" / "data"
    return p if p.is_dir() else None


def require_shared_data(sub: str | os.PathLike[str] = "") -> Path:
    """``shared_data_dir() / sub``, raising a FileNotFoundError that says how to fix it.

    Example:
        >>> require_shared_data("xnli")  # doctest: +SKIP
        PosixPath('/work/shared/data/xnli')
    """
    root = shared_data_dir()
    if root is None:
        env = os.environ.get(DATA_DIR_ENV)
        where = (
            f"{DATA_DIR_ENV}={env!r} is not a folder"
            if env is not None and env.strip()
            else f"{DATA_DIR_ENV} is unset and {repo_root().parent / 'shared' / 'data'} is absent"
        )
        raise FileNotFoundError(
            f"no local data folder: {where}. Set {DATA_DIR_ENV} to the folder holding the data "
            f"slices (xnli/, tatoeba/, muse/, ud_pud/), or pass an explicit path= to the loader."
        )
    p = root / sub
    if not p.exists():
        raise FileNotFoundError(
            f"{p} does not exist: the local data folder {root} has no {str(sub)!r}; "
            f"pass an explicit path= to the loader instead."
        )
    return p


def resolve_local(
    path: str | os.PathLike[str] | None, sub: str, what: str
) -> Path:
    """``path`` as a Path when given (must exist), else ``require_shared_data(sub)``."""
    if path is None:
        return require_shared_data(sub)
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"path={str(path)!r} for {what} does not exist")
    return p


def read_text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 file, split on ``\\n`` only (not on U+2028 and friends).

    A UTF-8 byte-order mark and a trailing ``\\r`` on each line are removed; a final newline does
    not produce an extra empty line.
    """
    text = path.read_text(encoding="utf-8-sig")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


class RowErrors:
    """Collects malformed rows of one file under an ``errors`` policy.

    Example:
        >>> errs = RowErrors("f.tsv", "skip")
        >>> errs.bad(3, "expected 4 fields, got 2")
        >>> errs.count
        1
    """

    def __init__(self, file: str | os.PathLike[str], errors: Errors = "raise") -> None:
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
        self.file = str(file)
        self.errors = errors
        self.lines: list[int] = []
        self.reasons: list[str] = []

    @property
    def count(self) -> int:
        return len(self.lines)

    def bad(self, line: int, reason: str) -> None:
        """Record a malformed row (1-based ``line``); raises under ``errors="raise"``."""
        if self.errors == "raise":
            raise ValueError(
                f"{self.file}, line {line}: {reason} (pass errors='skip' to drop such rows "
                f"with a warning)"
            )
        self.lines.append(line)
        self.reasons.append(reason)

    def finish(self, stacklevel: int = 3) -> None:
        """Warn once with the count of skipped rows (no-op when none were skipped)."""
        if self.lines:
            shown = ", ".join(
                f"line {n}: {r}" for n, r in zip(self.lines[:5], self.reasons[:5], strict=True)
            )
            more = f" (+{self.count - 5} more)" if self.count > 5 else ""
            warnings.warn(
                f"{self.file}: skipped {self.count} malformed row(s): {shown}{more}",
                MalformedRowsWarning,
                stacklevel=stacklevel,
            )


def iter_tsv_rows(
    path: Path, n_fields: int | None = None
) -> Iterator[tuple[int, list[str] | None, str]]:
    """Yield ``(line_number, fields, raw_line)`` for the data rows of an unquoted TSV file.

    Published TSVs (XNLI, PAWS-X) contain bare ``"`` characters, so fields are split on tabs with
    no quote processing. The header is line 1 and is not yielded. ``fields`` is None when the row
    does not have ``n_fields`` fields. Blank lines are skipped.
    """
    for i, line in enumerate(read_text_lines(path)[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        yield i, (fields if n_fields is None or len(fields) == n_fields else None), line


def tsv_header(path: Path) -> list[str]:
    """The header fields of a TSV file (the first line, split on tabs, stripped)."""
    with path.open(encoding="utf-8-sig") as fh:
        first = fh.readline()
    return [h.strip() for h in first.rstrip("\r\n").split("\t")]


def first_existing(candidates: Iterable[Path]) -> Path | None:
    """The first candidate that is a file, or None."""
    for c in candidates:
        if c.is_file():
            return c
    return None
