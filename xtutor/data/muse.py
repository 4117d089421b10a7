"""MUSE bilingual dictionaries as a :class:`Dictionary` (many translations per word, file order).

Files ``<src>-<tgt>.txt`` (``en-de.txt``...): one pair per line, ``source_word target_word``
separated by whitespace (a space in most files, a tab in some). ``path=None`` reads
``$XTUTOR_DATA_DIR/muse`` (see :func:`xtutor.data.paths.shared_data_dir`).

Malformed lines (not exactly two whitespace-separated fields) raise a ValueError naming file and
line by default; ``errors="skip"`` drops them and emits one
:class:`~xtutor.data.paths.MalformedRowsWarning` with their count and line numbers. Blank lines
carry no pair and are ignored.
"""

from __future__ import annotations

import os
import re

from xtutor.data.corpora import Dictionary
from xtutor.data.paths import Errors, RowErrors, read_text_lines, resolve_local

_CODE = re.compile(r"^[a-z]{2,3}$")


def muse_pairs(path: str | os.PathLike[str] | None = None) -> list[tuple[str, str]]:
    """The ``(src, tgt)`` language pairs with a dictionary file in the MUSE folder, sorted.

    Example:
        >>> ("en", "de") in muse_pairs()  # doctest: +SKIP
        True
    """
    folder = resolve_local(path, "muse", "MUSE dictionaries")
    out = []
    for f in folder.glob("*-*.txt"):
        a, _, b = f.stem.partition("-")
        if _CODE.match(a) and _CODE.match(b):
            out.append((a, b))
    return sorted(out)


def load_muse(
    src: str,
    tgt: str,
    path: str | os.PathLike[str] | None = None,
    *,
    errors: Errors = "raise",
) -> Dictionary:
    """The MUSE ``src``-``tgt`` dictionary (``path``: the folder, or the ``.txt`` file itself).

    Example:
        >>> d = load_muse("en", "de")  # doctest: +SKIP
        >>> d.translations("the")  # doctest: +SKIP
        ['die', 'der', 'dem', 'den', 'das']
    """
    a, b = str(src).strip().lower(), str(tgt).strip().lower()
    for name, code in (("src", a), ("tgt", b)):
        if not _CODE.match(code):
            raise ValueError(f"MUSE {name} must be a 2- or 3-letter language code, got {code!r}")
    p = resolve_local(path, "muse", "MUSE dictionaries")
    file = p / f"{a}-{b}.txt" if p.is_dir() else p
    stem_a, _, stem_b = file.stem.partition("-")
    if not p.is_dir() and _CODE.match(stem_a) and _CODE.match(stem_b) and file.stem != f"{a}-{b}":
        raise ValueError(f"path={str(path)!r} is the {file.stem} dictionary, not {a}-{b}")
    if not file.is_file():
        pairs = muse_pairs(p)
        raise FileNotFoundError(
            f"no MUSE dictionary {file.name} in {p}; available: "
            + ", ".join(f"{x}-{y}" for x, y in pairs)
        )
    errs = RowErrors(file, errors)
    out: list[tuple[str, str]] = []
    for i, line in enumerate(read_text_lines(file), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            errs.bad(i, f"expected 2 whitespace-separated words, got {len(fields)}: {line!r}")
            continue
        out.append((fields[0], fields[1]))
    errs.finish()
    if not out:
        raise ValueError(f"{file} holds no dictionary pairs")
    return Dictionary(a, b, out)
