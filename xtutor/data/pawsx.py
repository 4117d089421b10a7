"""PAWS-X: cross-lingual paraphrase identification, as a :class:`PairDataset` over ``PAWS_LABELS``.

The published release (``x-final/<lang>/``) has one TSV per split with the header
``id, sentence1, sentence2, label`` and labels 0 (not a paraphrase) / 1 (paraphrase):
``dev_2k.tsv``, ``test_2k.tsv`` and ``translated_train.tsv`` (English: ``train.tsv``). The files
contain bare quote characters, so they are split on tabs without quote processing. With
``path=None`` the Hub dataset ``google-research-datasets/paws-x`` is used.

The dev and test sets are human translations of the same English items, with the item's
``id`` in every language: :func:`check_pawsx_parallel` checks that two languages' sets line up
by id, :func:`join_pawsx_pairs` pairs ``sentence1`` of one language with ``sentence2`` of
another (mixed-language evaluation).
"""

from __future__ import annotations

import os
from pathlib import Path

from xtutor.data.hub import hub_label_names, load_hub_dataset
from xtutor.data.paths import Errors, RowErrors, first_existing, iter_tsv_rows, tsv_header
from xtutor.data.types import PAWS_LABELS, PairDataset, PairExample, check_label_order

#: Least fraction of the items of two PAWS-X sets (of the larger) whose ids both must have for
#: the two to count as parallel (:func:`check_pawsx_parallel`): a few items lack a translation.
MIN_SHARED_IDS = 0.9

#: PAWS-X languages (Hub configs).
PAWSX_LANGUAGES: tuple[str, ...] = ("de", "en", "es", "fr", "ja", "ko", "zh")
PAWSX_HUB_ID = "google-research-datasets/paws-x"
PAWSX_COLUMNS: tuple[str, ...] = ("id", "sentence1", "sentence2", "label")

_SPLITS = {"dev": "validation", "validation": "validation", "test": "test", "train": "train"}
_FILES = {
    "validation": ("dev_2k.tsv", "dev.tsv"),
    "test": ("test_2k.tsv", "test.tsv"),
    "train": ("translated_train.tsv", "train.tsv"),
}


def _check(lang: str, split: str) -> tuple[str, str]:
    code = str(lang).strip().lower()
    if code not in PAWSX_LANGUAGES:
        raise ValueError(
            f"unknown PAWS-X language {lang!r}; valid: {', '.join(PAWSX_LANGUAGES)}"
        )
    key = str(split).strip().lower()
    if key not in _SPLITS:
        raise ValueError(
            f"unknown PAWS-X split {split!r}; expected 'train', 'validation' (or 'dev') or 'test'"
        )
    return code, _SPLITS[key]


def find_pawsx_file(folder: Path, lang: str, split: str) -> Path:
    """The published file for ``lang``/``split`` under ``folder`` (``x-final/``, its ``<lang>/``
    sub-folder, or a folder holding the files directly), else FileNotFoundError."""
    lang, split = _check(lang, split)
    bases = [folder / lang, folder / "x-final" / lang, folder]
    tried = [b / name for b in bases for name in _FILES[split]]
    found = first_existing(tried)
    if found is None:
        raise FileNotFoundError(
            f"no PAWS-X {split} file for {lang!r} under {folder}; looked for: "
            + ", ".join(str(p) for p in tried)
        )
    return found


def read_pawsx_file(
    file: str | os.PathLike[str], lang: str, errors: Errors = "raise"
) -> PairDataset:
    """Read one published PAWS-X TSV (``id, sentence1, sentence2, label``).

    A row with the wrong number of fields, an empty sentence or a label other than 0/1 raises a
    ValueError naming file and line (``errors="skip"`` drops it with one warning instead).

    Example:
        >>> ds = read_pawsx_file("x-final/de/test_2k.tsv", "de")  # doctest: +SKIP
        >>> ds.label_names  # doctest: +SKIP
        ('not_paraphrase', 'paraphrase')
    """
    file = Path(file)
    lang = _check(lang, "test")[0]
    header = tsv_header(file)
    if tuple(header) != PAWSX_COLUMNS:
        raise ValueError(f"{file}: header {header}, expected {list(PAWSX_COLUMNS)}")
    errs = RowErrors(file, errors)
    examples = []
    for line, fields, _ in iter_tsv_rows(file, 4):
        if fields is None:
            errs.bad(line, "expected 4 tab-separated fields (id, sentence1, sentence2, label)")
            continue
        ex_id, s1, s2, raw = (f.strip() for f in fields)
        if raw not in ("0", "1"):
            errs.bad(line, f"unknown label {raw!r}, expected 0 (not paraphrase) or 1 (paraphrase)")
        elif not s1 or not s2:
            errs.bad(line, "empty sentence1 or sentence2")
        else:
            examples.append(PairExample(s1, s2, int(raw), lang, lang, ex_id))
    errs.finish()
    return PairDataset("pawsx", PAWS_LABELS, examples)


def load_pawsx(
    lang: str,
    split: str = "test",
    path: str | os.PathLike[str] | None = None,
    *,
    errors: Errors = "raise",
) -> PairDataset:
    """PAWS-X in one language as a :class:`PairDataset` with labels in ``PAWS_LABELS`` order.

    ``split``: ``"train"``, ``"validation"`` (alias ``"dev"``) or ``"test"``. ``path``: a
    published TSV file or a folder (see :func:`find_pawsx_file`); ``path=None`` reads the Hub and
    raises a RuntimeError at once when it is unreachable.

    Example:
        >>> ds = load_pawsx("fr", "validation", path="/data/paws-x/x-final")  # doctest: +SKIP
        >>> len(ds)  # doctest: +SKIP
        2000
    """
    lang, split = _check(lang, split)
    if path is None:
        return _load_pawsx_hub(lang, split)
    p = Path(path).expanduser()
    if p.is_dir():
        p = find_pawsx_file(p, lang, split)
    elif not p.is_file():
        raise FileNotFoundError(f"path={str(path)!r} for load_pawsx is neither a file nor a folder")
    return read_pawsx_file(p, lang, errors)


def _load_pawsx_hub(lang: str, split: str) -> PairDataset:
    ds = load_hub_dataset(
        PAWSX_HUB_ID, lang, split,
        local_hint="pass path= to xtutor.data.load_pawsx: the x-final/ folder of the PAWS-X "
                   "release or one of its TSV files (id, sentence1, sentence2, label)",
    )
    names = hub_label_names(ds)
    # The Hub names the classes "0"/"1" (index-like, no order information to check).
    if names is not None and names not in (["0", "1"], [0, 1]):
        check_label_order(names, PAWS_LABELS)
    examples = []
    for k, row in enumerate(ds):
        label = row["label"]
        if label not in (0, 1) or isinstance(label, bool):
            raise ValueError(
                f"{PAWSX_HUB_ID} {lang}/{split} row {k}: label {label!r}, expected 0 or 1"
            )
        examples.append(
            PairExample(row["sentence1"], row["sentence2"], int(label), lang, lang, str(row["id"]))
        )
    return PairDataset("pawsx", PAWS_LABELS, examples)


def _ids(data: PairDataset, lang: str, split: str) -> dict[str, PairExample]:
    out: dict[str, PairExample] = {}
    for ex in data:
        if ex.id in out:
            raise ValueError(f"PAWS-X {split} {lang}: id {ex.id!r} occurs more than once; the "
                             f"ids must name one item each to pair languages by id")
        out[ex.id] = ex
    return out


def check_pawsx_parallel(first: PairDataset, second: PairDataset, first_lang: str,
                         second_lang: str, split: str = "test",
                         min_shared: float = MIN_SHARED_IDS) -> set[str]:
    """The ids two PAWS-X sets of one split share, once checked to line up as translations of
    the same items: ids unique within each set, the same label for every shared id, and at
    least ``min_shared`` of the larger set's ids shared (``1.0``: the same ids exactly; the
    default tolerates the few items without a translation). Otherwise a ValueError names the
    split, the languages and the first mismatches. ``first_lang``/``second_lang`` and ``split``
    only name the sets in messages.

    Example:
        >>> en = PairDataset("pawsx", PAWS_LABELS, [PairExample("A", "B", 1, "en", "en", "7")])
        >>> de = PairDataset("pawsx", PAWS_LABELS, [PairExample("X", "Y", 1, "de", "de", "7")])
        >>> check_pawsx_parallel(en, de, "en", "de")
        {'7'}
        >>> bad = PairDataset("pawsx", PAWS_LABELS, [PairExample("X", "Y", 1, "de", "de", "8")])
        >>> check_pawsx_parallel(en, bad, "en", "de")
        Traceback (most recent call last):
        ...
        ValueError: PAWS-X test en/de: the ids do not line up: 0 of 1 shared ...
    """
    if not 0 < min_shared <= 1:
        raise ValueError(f"min_shared must be in (0, 1], got {min_shared}")
    a, b = _ids(first, first_lang, split), _ids(second, second_lang, split)
    shared = set(a) & set(b)
    if not a or not b:
        raise ValueError(f"PAWS-X {split} {first_lang}/{second_lang}: an empty set "
                         f"({len(a)} and {len(b)} items); nothing to pair")
    larger = max(len(a), len(b))
    if len(shared) < min_shared * larger:
        only_a, only_b = sorted(set(a) - shared), sorted(set(b) - shared)
        raise ValueError(
            f"PAWS-X {split} {first_lang}/{second_lang}: the ids do not line up: "
            f"{len(shared)} of {larger} shared (at least {min_shared:.0%} expected); only in "
            f"{first_lang}: {only_a[:3]}, only in {second_lang}: {only_b[:3]}")
    wrong = [i for i in sorted(shared) if a[i].label != b[i].label]
    if wrong:
        i = wrong[0]
        raise ValueError(
            f"PAWS-X {split} {first_lang}/{second_lang}: the ids do not line up: {len(wrong)} "
            f"shared ids have different labels, e.g. id {i!r}: "
            f"{PAWS_LABELS[a[i].label]!r} ({first_lang}) vs {PAWS_LABELS[b[i].label]!r} "
            f"({second_lang})")
    return shared


def join_pawsx_pairs(sentence1s: PairDataset, sentence2s: PairDataset, premise_lang: str,
                     hypothesis_lang: str, split: str = "test") -> PairDataset:
    """``sentence1`` of one language's PAWS-X set paired by ``id`` with ``sentence2`` of
    another's (mixed-language evaluation), in the order of ``sentence1s``. The two sets must
    hold the same ids with the same labels (:func:`check_pawsx_parallel` with
    ``min_shared=1``): restrict both to their shared ids first where translations are missing.

    Example:
        >>> en = PairDataset("pawsx", PAWS_LABELS,
        ...                  [PairExample("Anna saw Ben.", "Ben saw Anna.", 0, "en", "en", "3")])
        >>> de = PairDataset("pawsx", PAWS_LABELS,
        ...                  [PairExample("Anna sah Ben.", "Ben sah Anna.", 0, "de", "de", "3")])
        >>> ex = join_pawsx_pairs(en, de, "en", "de")[0]
        >>> ex.premise, ex.hypothesis, ex.hypothesis_lang, ex.id
        ('Anna saw Ben.', 'Ben sah Anna.', 'de', '3')
    """
    pl, _ = _check(premise_lang, split)
    hl, _ = _check(hypothesis_lang, split)
    check_pawsx_parallel(sentence1s, sentence2s, pl, hl, split, min_shared=1.0)
    other = {ex.id: ex for ex in sentence2s}
    return PairDataset("pawsx", PAWS_LABELS,
                       [PairExample(x.premise, other[x.id].hypothesis, x.label, pl, hl, x.id)
                        for x in sentence1s])
