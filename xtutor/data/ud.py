"""Universal Dependencies: a small CoNLL-U reader and the Parallel UD (PUD) treebanks.

:func:`read_conllu` keeps the syntactic words of each sentence (multiword-token ranges such as
``1-2`` and empty nodes such as ``8.1`` are skipped) with their UPOS tag, head and relation.
PUD holds the same 1000 sentences in many languages; :func:`load_pud_parallel` pairs two
languages by ``# sent_id`` (file order differs between languages: Icelandic, for one, is ordered
differently from English).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from xtutor.data.corpora import UDSentence
from xtutor.data.paths import read_text_lines, resolve_local

_CODE = re.compile(r"^[a-z]{2,3}$")
_PUD_FILE = "{lang}_pud-ud-test.conllu"


def read_conllu(path: str | os.PathLike[str], lang: str = "") -> list[UDSentence]:
    """Read a CoNLL-U file into :class:`UDSentence` objects, in file order.

    Comments ``# key = value`` go to ``metadata`` (``sent_id`` and ``text`` also to their own
    fields; a missing ``# text`` becomes the space-joined tokens, a missing ``# sent_id`` the
    empty string). A token line without 10 tab-separated fields, a non-integer HEAD, a head
    outside the sentence or word ids out of sequence raise a ValueError naming file and line.

    Example:
        >>> sents = read_conllu("ud_pud/en_pud-ud-test.conllu", lang="en")  # doctest: +SKIP
        >>> sents[0].sent_id, sents[0].upos[:3]  # doctest: +SKIP
        ('n01001011', ('PUNCT', 'SCONJ', 'ADJ'))
    """
    file = Path(path)
    out: list[UDSentence] = []
    meta: dict[str, str] = {}
    toks: list[str] = []
    upos: list[str] = []
    heads: list[int] = []
    rels: list[str] = []
    start = 1

    def flush(line: int) -> None:
        if not toks:
            if meta:
                raise ValueError(f"{file}, line {start}: sentence has comments but no tokens")
            return
        n = len(toks)
        bad = next((h for h in heads if h > n), None)
        if bad is not None:
            raise ValueError(
                f"{file}, sentence starting at line {start} ({meta.get('sent_id', 'no sent_id')})"
                f": head {bad} is outside the sentence's {n} words"
            )
        text = meta.get("text", " ".join(toks))
        out.append(
            UDSentence(meta.get("sent_id", ""), text, tuple(toks), tuple(upos), tuple(heads),
                       tuple(rels), lang, dict(meta))
        )

    lines = read_text_lines(file)
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            flush(i)
            meta, toks, upos, heads, rels = {}, [], [], [], []
            start = i + 1
            continue
        if line.startswith("#"):
            body = line[1:].strip()
            key, sep, value = body.partition("=")
            meta[key.strip() if sep else body] = value.strip() if sep else ""
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ValueError(f"{file}, line {i}: expected 10 tab-separated CoNLL-U fields, "
                             f"got {len(cols)}")
        wid = cols[0]
        if "-" in wid or "." in wid:
            continue  # multiword-token range or empty node
        if not wid.isdigit() or int(wid) != len(toks) + 1:
            raise ValueError(f"{file}, line {i}: word id {wid!r}, expected {len(toks) + 1}")
        if not cols[6].isdigit():
            raise ValueError(f"{file}, line {i}: HEAD {cols[6]!r} is not an integer")
        toks.append(cols[1])
        upos.append(cols[3])
        heads.append(int(cols[6]))
        rels.append(cols[7])
    flush(len(lines) + 1)
    return out


def _pud_folder(path: str | os.PathLike[str] | None) -> Path:
    return resolve_local(path, "ud_pud", "the PUD treebanks")


def pud_languages(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Language codes with a ``<lang>_pud-ud-test.conllu`` file, sorted.

    Example:
        >>> pud_languages()[:3]  # doctest: +SKIP
        ['ar', 'cs', 'de']
    """
    folder = _pud_folder(path)
    return sorted(f.name.split("_", 1)[0] for f in folder.glob("*_pud-ud-test.conllu"))


def load_pud(lang: str, path: str | os.PathLike[str] | None = None) -> list[UDSentence]:
    """The PUD test treebank of ``lang`` (``path``: the folder, or the ``.conllu`` file).

    Example:
        >>> en = load_pud("en")  # doctest: +SKIP
        >>> len(en)  # doctest: +SKIP
        1000
    """
    code = str(lang).strip().lower()
    if not _CODE.match(code):
        raise ValueError(f"PUD language must be a 2- or 3-letter code such as 'en', got {lang!r}")
    p = _pud_folder(path)
    file = p / _PUD_FILE.format(lang=code) if p.is_dir() else p
    if not file.is_file():
        raise FileNotFoundError(
            f"no PUD treebank {file.name} in {p}; available: {', '.join(pud_languages(p))}"
        )
    return read_conllu(file, lang=code)


def load_pud_parallel(
    lang_a: str, lang_b: str, path: str | os.PathLike[str] | None = None
) -> list[tuple[UDSentence, UDSentence]]:
    """Pairs ``(sentence in lang_a, its translation in lang_b)`` matched by ``# sent_id``.

    Pairs follow ``lang_a``'s file order. A ValueError is raised when a sentence lacks a
    ``sent_id``, an id repeats, or the two treebanks do not hold the same ids.

    Example:
        >>> pairs = load_pud_parallel("en", "de")  # doctest: +SKIP
        >>> pairs[0][0].sent_id == pairs[0][1].sent_id  # doctest: +SKIP
        True
    """
    sides = [load_pud(lang_a, path), load_pud(lang_b, path)]
    index: list[dict[str, UDSentence]] = []
    for lang, sents in zip((lang_a, lang_b), sides, strict=True):
        ids: dict[str, UDSentence] = {}
        for k, s in enumerate(sents):
            if not s.sent_id:
                raise ValueError(f"PUD {lang}: sentence {k} has no '# sent_id' to pair by")
            if s.sent_id in ids:
                raise ValueError(f"PUD {lang}: sent_id {s.sent_id!r} occurs more than once")
            ids[s.sent_id] = s
        index.append(ids)
    only_a = [i for i in index[0] if i not in index[1]]
    only_b = [i for i in index[1] if i not in index[0]]
    if only_a or only_b:
        raise ValueError(
            f"PUD {lang_a}/{lang_b} hold different sentences: {len(only_a)} ids only in "
            f"{lang_a} (e.g. {only_a[:3]}), {len(only_b)} only in {lang_b} (e.g. {only_b[:3]})"
        )
    return [(s, index[1][s.sent_id]) for s in sides[0]]
