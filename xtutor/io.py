"""Atomic writes: a file or a directory appears complete under its final name, or not at all.

Every writer in xtutor that must survive an interruption (result ledgers, training checkpoints,
cached encoders, converted e5 weights, downloads) goes through this module:

- :func:`atomic_path` yields a temporary path in the same folder as the target; when the
  ``with`` block ends normally the file is flushed to disk and renamed over the target, when it
  raises the temporary file is removed and the target is left as it was;
- :func:`atomic_write_text` and :func:`atomic_write_bytes` are the one-line versions;
- :func:`atomic_save_dir` does the same for a directory written by a function (for example
  ``model.save_pretrained``): the function writes into a temporary sibling directory, which
  then replaces the target.

Temporary names start with a dot and end with ``.tmp`` (``.results.jsonl.1a2b3c4d.tmp``), so
they are easy to recognise should a process be killed before it can clean up. New files and
directories get the usual permissions (``0o666`` / ``0o777`` minus the umask).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "numbers.txt") as tmp:
    ...     _ = tmp.write_text("1 2 3")
    >>> (d / "numbers.txt").read_text()
    '1 2 3'
    >>> [p.name for p in d.iterdir()]
    ['numbers.txt']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

StrPath = str | os.PathLike[str]

__all__ = ["atomic_path", "atomic_save_dir", "atomic_write_bytes", "atomic_write_text"]


def _sibling(path: Path, tag: str = "") -> Path:
    """A fresh hidden name next to ``path``: ``.<name>.<tag><random>.tmp``."""
    return path.with_name(f".{path.name}.{tag}{secrets.token_hex(4)}.tmp")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(path: StrPath, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary file path next to ``path``; rename it over ``path`` on success.

    The temporary file exists (empty) when the block starts; write it by any means (``open``,
    ``torch.save``, ``np.save``...). On normal exit it is synced to disk (``fsync=True``) and
    renamed over ``path`` with :func:`os.replace`, so readers see either the old or the new
    file, never a partial one. If the block raises, the temporary file is deleted and ``path``
    is untouched. Missing parent folders are created.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> target = Path(tempfile.mkdtemp()) / "a" / "b.txt"
        >>> try:
        ...     with atomic_path(target) as tmp:
        ...         _ = tmp.write_text("half")
        ...         raise KeyboardInterrupt
        ... except KeyboardInterrupt:
        ...     pass
        >>> target.exists(), list(target.parent.iterdir())
        (False, [])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _sibling(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        os.close(fd)
        break
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: StrPath, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "x.bin", b"\\x00\\x01")
        >>> p.read_bytes()
        b'\\x00\\x01'
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: StrPath, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``.

    Newlines are written as given (no platform translation).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp()) / "x.txt"
        >>> _ = atomic_write_text(p, "old\\n")
        >>> _ = atomic_write_text(p, "new\\n")
        >>> p.read_text()
        'new\\n'
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def _replace_dir(src: Path, dest: Path) -> None:
    """Move directory ``src`` to ``dest``, replacing whatever ``dest`` holds."""
    try:
        os.replace(src, dest)  # dest missing (or an empty directory, on POSIX)
        return
    except OSError:
        if not (dest.exists() or dest.is_symlink()):
            raise
    old = _sibling(dest, "old-")
    os.replace(dest, old)  # a directory cannot be renamed over a full one: move it aside
    try:
        os.replace(src, dest)
    finally:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def atomic_save_dir(path: StrPath, save_fn: Callable[[Path], object]) -> Path:
    """Call ``save_fn(tmp_dir)`` on a fresh sibling directory, then put it in place of ``path``.

    ``save_fn`` writes the directory's contents (``lambda d: model.save_pretrained(d)``). If it
    raises, the temporary directory is removed and ``path`` is untouched. Otherwise the
    temporary directory is renamed to ``path``; an existing ``path`` is replaced (moved aside
    and deleted), so concurrent writers of the same content are harmless: the last one wins.
    Missing parent folders are created. Returns ``path``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> root = Path(tempfile.mkdtemp())
        >>> def save(d):
        ...     _ = (d / "config.json").write_text("{}")
        >>> out = atomic_save_dir(root / "model", save)
        >>> out = atomic_save_dir(root / "model", save)  # replaces the first copy
        >>> sorted(p.name for p in root.iterdir()), sorted(p.name for p in out.iterdir())
        (['model'], ['config.json'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _sibling(path)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        break
    try:
        save_fn(tmp)
        _replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path
