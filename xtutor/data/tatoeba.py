"""Tatoeba similarity-search test sets (LASER / XTREME): up to 1000 sentences per language,
each paired line by line with its English translation.

Files (``data/tatoeba/v1`` of the LASER repository): ``tatoeba.<xxx>-eng.<xxx>`` and
``tatoeba.<xxx>-eng.eng`` with ISO 639-3 codes. ``path=None`` reads
``$XTUTOR_DATA_DIR/tatoeba/v1`` (see :func:`xtutor.data.paths.shared_data_dir`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from xtutor.data.corpora import ParallelCorpus
from xtutor.data.paths import read_text_lines, resolve_local

_SUB = "tatoeba/v1"
_CODE = re.compile(r"^[a-z]{3}$")


def _folder(path: str | os.PathLike[str] | None) -> Path:
    p = resolve_local(path, _SUB, "Tatoeba (the LASER data/tatoeba/v1 folder)")
    if not p.is_dir():
        raise NotADirectoryError(f"path={str(path)!r} for Tatoeba must be a folder, got a file")
    return p


def tatoeba_languages(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The ISO 639-3 codes with both ``tatoeba.xxx-eng.xxx`` and ``.eng`` files, sorted.

    Example:
        >>> langs = tatoeba_languages()  # doctest: +SKIP
        >>> len(langs), langs[:3]  # doctest: +SKIP
        (112, ['afr', 'amh', 'ang'])
    """
    folder = _folder(path)
    langs = []
    for f in folder.glob("tatoeba.*-eng.eng"):
        code = f.name[len("tatoeba."):-len("-eng.eng")]
        if (folder / f"tatoeba.{code}-eng.{code}").is_file():
            langs.append(code)
    return sorted(langs)


def load_tatoeba(lang: str, path: str | os.PathLike[str] | None = None) -> ParallelCorpus:
    """The ``lang``-English Tatoeba test set: ``src`` in ``lang``, ``tgt`` in English.

    ``lang`` is an ISO 639-3 code (``"deu"``, ``"cmn"``, ``"swh"``). Lines are split on ``\\n``
    only and kept verbatim (a trailing ``\\r`` removed). A ValueError is raised when the two files
    have different line counts.

    Example:
        >>> pc = load_tatoeba("deu")  # doctest: +SKIP
        >>> len(pc), pc.src_lang, pc.tgt_lang  # doctest: +SKIP
        (1000, 'deu', 'eng')
    """
    code = str(lang).strip().lower()
    if not _CODE.match(code):
        raise ValueError(
            f"Tatoeba language must be an ISO 639-3 code such as 'deu' or 'cmn', got {lang!r}"
        )
    folder = _folder(path)
    src_file = folder / f"tatoeba.{code}-eng.{code}"
    eng_file = folder / f"tatoeba.{code}-eng.eng"
    missing = [f.name for f in (src_file, eng_file) if not f.is_file()]
    if missing:
        langs = tatoeba_languages(folder)
        raise FileNotFoundError(
            f"no Tatoeba files for {code!r} in {folder} (missing {', '.join(missing)}); "
            f"available ({len(langs)}): {', '.join(langs)}"
        )
    src, eng = read_text_lines(src_file), read_text_lines(eng_file)
    if len(src) != len(eng):
        raise ValueError(
            f"Tatoeba {code}-eng is not line aligned: {src_file.name} has {len(src)} lines but "
            f"{eng_file.name} has {len(eng)}"
        )
    return ParallelCorpus(code, "eng", src, eng)
