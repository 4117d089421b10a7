"""Download the real test sets (Tatoeba, PUD) into the folder layout the loaders read.

Offline, the loaders read ``../shared/data`` (or ``$XTUTOR_DATA_DIR``). On a machine with
internet (Colab), :func:`fetch_real_data` downloads the same files from their public sources
into a folder of the same layout; point ``XTUTOR_DATA_DIR`` at it and every chapter's real-data
cells run unchanged:

- Tatoeba: ``tatoeba/v1/tatoeba.<xxx>-eng.{<xxx>,eng}`` from the LASER repository;
- PUD: ``ud_pud/<xx>_pud-ud-test.conllu`` from the Universal Dependencies repositories.

Files already present are kept (a download is written to a temporary name and renamed, with
:func:`xtutor.io.atomic_write_bytes`, so an interrupted download never leaves a truncated file
behind).

Example:
    >>> pud_url("de")
    'https://raw.githubusercontent.com/UniversalDependencies/UD_German-PUD/master/de_pud-ud-test.conllu'
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from xtutor.io import atomic_write_bytes

TATOEBA_BASE = "https://raw.githubusercontent.com/facebookresearch/LASER/main/data/tatoeba/v1"
UD_BASE = "https://raw.githubusercontent.com/UniversalDependencies"

#: UD treebank names of the PUD languages.
PUD_TREEBANKS: dict[str, str] = {
    "ar": "Arabic", "cs": "Czech", "de": "German", "en": "English", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "hi": "Hindi", "id": "Indonesian", "is": "Icelandic",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "zh": "Chinese",
}


def tatoeba_urls(lang: str) -> dict[str, str]:
    """File name -> URL of the ``lang``-English Tatoeba test set (ISO 639-3 ``lang``)."""
    if not (len(lang) == 3 and lang.isalpha() and lang.islower()):
        raise ValueError(f"Tatoeba language must be an ISO 639-3 code such as 'deu', got "
                         f"{lang!r}")
    names = [f"tatoeba.{lang}-eng.{lang}", f"tatoeba.{lang}-eng.eng"]
    return {n: f"{TATOEBA_BASE}/{n}" for n in names}


def pud_url(lang: str) -> str:
    """URL of the PUD test treebank of ``lang`` (ISO 639-1)."""
    if lang not in PUD_TREEBANKS:
        raise ValueError(f"no PUD treebank for {lang!r}; PUD languages: "
                         f"{', '.join(sorted(PUD_TREEBANKS))}")
    return f"{UD_BASE}/UD_{PUD_TREEBANKS[lang]}-PUD/master/{lang}_pud-ud-test.conllu"


def download(url: str, dest: str | os.PathLike[str], timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` (kept if it exists); errors name the URL and the fix."""
    dest = Path(dest)
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (fixed hosts)
            data = r.read()
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"could not download {url} ({e}); without internet, copy the file "
                           f"to {dest} by hand or set XTUTOR_DATA_DIR to a folder that has "
                           f"it") from e
    return atomic_write_bytes(dest, data)


def fetch_real_data(dest: str | os.PathLike[str], tatoeba: Sequence[str] = ("deu", "fra",
                    "swh", "amh"), pud: Sequence[str] = ("en", "de", "fr")) -> Path:
    """Download Tatoeba and PUD test sets into ``dest`` and return ``dest``.

    Then ``os.environ["XTUTOR_DATA_DIR"] = str(dest)`` makes the loaders read them.

    Example:
        >>> fetch_real_data("data-real", tatoeba=["deu"], pud=["en", "de"])  # doctest: +SKIP
        PosixPath('data-real')
    """
    root = Path(dest)
    for lang in tatoeba:
        for name, url in tatoeba_urls(lang).items():
            download(url, root / "tatoeba" / "v1" / name)
    for lang in pud:
        download(pud_url(lang), root / "ud_pud" / f"{lang}_pud-ud-test.conllu")
    return root
