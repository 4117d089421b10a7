"""XNLI: cross-lingual natural language inference, as a :class:`PairDataset` over ``NLI_LABELS``.

Local formats read by :func:`load_xnli` (``path`` is one file or a folder holding them):

* the original XNLI 1.0 release, ``xnli.dev.tsv`` / ``xnli.test.tsv``: every language in one
  file, columns ``language``, ``gold_label`` (words), ``sentence1``, ``sentence2``, ``pairID``...;
* "genre" files ``<xx>.genre.<dev|test>.tsv``: ``genre, label, sentence1_<xx>, sentence2_<xx>``
  with word labels, possibly for two languages (``my.genre.*`` also holds English);
* ``xnli-<xx>-original.tsv`` (the test set): ``premise, hypothesis, label`` with integer labels
  0=entailment, 1=neutral, 2=contradiction.

With ``path=None`` the Hub dataset ``facebook/xnli`` is used (fails fast when offline). XNLI is
parallel: every language holds the same examples in the same order, which
:func:`load_xnli_pairs` uses (and checks) to build generalized cross-lingual pairs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from xtutor.data.hub import hub_label_names, load_hub_dataset
from xtutor.data.paths import (
    Errors,
    RowErrors,
    first_existing,
    iter_tsv_rows,
    shared_data_dir,
    tsv_header,
)
from xtutor.data.types import NLI_LABELS, PairDataset, PairExample, check_label_order

#: The 15 XNLI languages (Hub configs of ``facebook/xnli``).
XNLI_LANGUAGES: tuple[str, ...] = (
    "ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh",
)
#: Languages found only in local genre files (Burmese, from the "myXNLI" extension).
XNLI_LOCAL_ONLY_LANGUAGES: tuple[str, ...] = ("my",)
XNLI_HUB_ID = "facebook/xnli"

#: The ten genres of XNLI dev and test (249 dev and 501 test pairs each): MultiNLI's five
#: training genres (:data:`MNLI_GENRES`) and five more (MultiNLI's "mismatched" genres).
XNLI_GENRES: tuple[str, ...] = (
    "facetoface", "fiction", "government", "letters", "nineeleven", "oup", "slate", "telephone",
    "travel", "verbatim",
)
#: The genres of MultiNLI's training set ("matched"), the in-domain genres of GLUE-X-style
#: evaluation on XNLI (:mod:`xtutor.experiments.xnli_ood`).
MNLI_GENRES: tuple[str, ...] = ("fiction", "government", "slate", "telephone", "travel")

_SPLITS = {"dev": "dev", "validation": "dev", "valid": "dev", "test": "test", "train": "train"}
_HUB_SPLIT = {"dev": "validation", "test": "test", "train": "train"}
_WORD_LABELS = {name: i for i, name in enumerate(NLI_LABELS)}
_ORIGINAL_COLUMNS = ("language", "gold_label", "sentence1", "sentence2")


def _check_lang(lang: str) -> str:
    code = str(lang).strip().lower()
    if code not in XNLI_LANGUAGES + XNLI_LOCAL_ONLY_LANGUAGES:
        raise ValueError(
            f"unknown XNLI language {lang!r}; valid: {', '.join(XNLI_LANGUAGES)} "
            f"(and {', '.join(XNLI_LOCAL_ONLY_LANGUAGES)} from local genre files)"
        )
    return code


def _check_split(split: str) -> str:
    key = str(split).strip().lower()
    if key not in _SPLITS:
        raise ValueError(
            f"unknown XNLI split {split!r}; expected 'validation' (or 'dev'), 'test' or 'train'"
        )
    return _SPLITS[key]


def _word_label(raw: str) -> int | None:
    return _WORD_LABELS.get(raw.strip().lower())


def _int_label(raw: str) -> int | None:
    s = raw.strip()
    return int(s) if s in ("0", "1", "2") else None


def _local_hint(split: str) -> str:
    root = shared_data_dir()
    here = (
        f" (a local slice exists: path='{root / 'xnli'}')"
        if root is not None and (root / "xnli").is_dir()
        else ""
    )
    return (
        f"pass path= to xtutor.data.load_xnli: a folder or file in the XNLI 1.0 format "
        f"(xnli.{split}.tsv), <xx>.genre.{split}.tsv, or xnli-<xx>-original.tsv{here}"
    )


def find_xnli_file(folder: Path, lang: str, split: str) -> Path:
    """The file in ``folder`` holding ``lang``/``split`` (dev or test), or FileNotFoundError.

    Searched in order: ``xnli.<split>.tsv`` (also under ``XNLI-1.0/``),
    ``<lang>.genre.<split>.tsv``, any ``*.genre.<split>.tsv`` with ``sentence1_<lang>`` columns,
    and for the test split ``xnli-<lang>-original.tsv``.
    """
    lang, split = _check_lang(lang), _check_split(split)
    tried = [folder / f"xnli.{split}.tsv", folder / "XNLI-1.0" / f"xnli.{split}.tsv"]
    found = first_existing(tried)
    note = ""
    if found is not None:
        in_file = _languages_in_original(found)
        if lang in in_file:
            return found
        note = f" ({found.name} holds only {', '.join(sorted(in_file))})"
    own = folder / f"{lang}.genre.{split}.tsv"
    tried.append(own)
    if own.is_file():
        return own
    for other in sorted(folder.glob(f"*.genre.{split}.tsv")):
        if f"sentence1_{lang}" in tsv_header(other):
            return other
    tried.append(folder / f"*.genre.{split}.tsv with a sentence1_{lang} column")
    if split == "test":
        orig = folder / f"xnli-{lang}-original.tsv"
        tried.append(orig)
        if orig.is_file():
            return orig
    raise FileNotFoundError(
        f"no XNLI {split} file for language {lang!r} in {folder}; looked for: "
        + ", ".join(p.name if p.parent == folder else str(p) for p in tried)
        + note
    )


def _languages_in_original(file: Path) -> list[str]:
    header = tsv_header(file)
    if "language" not in header:
        return []
    col = header.index("language")
    langs: dict[str, None] = {}
    for _, fields, _ in iter_tsv_rows(file):
        if fields is not None and len(fields) > col:
            langs.setdefault(fields[col].strip(), None)
    return list(langs)


def read_xnli_file(
    file: str | os.PathLike[str], lang: str, split: str = "test", errors: Errors = "raise"
) -> PairDataset:
    """Read one local XNLI file (any of the three formats, detected from the header).

    ``split`` only names the example ids (``"xnli-test-17"``); in the XNLI 1.0 format ids are the
    ``pairID`` column. Labels normalise to ``NLI_LABELS``; an unknown label, a row with the wrong
    number of fields or an empty sentence raises a ValueError naming file and line (or is skipped
    with one warning under ``errors="skip"``).

    Example:
        >>> ds = read_xnli_file("xnli/xnli-es-original.tsv", "es")  # doctest: +SKIP
        >>> ds[0].label, ds.label_names[ds[0].label]  # doctest: +SKIP
        (2, 'contradiction')
    """
    file = Path(file)
    lang, split = _check_lang(lang), _check_split(split)
    header = tsv_header(file)
    errs = RowErrors(file, errors)
    examples: list[PairExample] = []

    def add(line: int, prem: str, hyp: str, label: int | None, raw: str, ex_id: str) -> None:
        if label is None:
            errs.bad(line, f"unknown label {raw!r}, expected one of {NLI_LABELS} or 0/1/2")
        elif not prem.strip() or not hyp.strip():
            errs.bad(line, "empty premise or hypothesis")
        else:
            examples.append(PairExample(prem.strip(), hyp.strip(), label, lang, lang, ex_id))

    if all(c in header for c in _ORIGINAL_COLUMNS):
        col = {c: header.index(c) for c in header}
        seen: set[str] = set()
        k = 0
        for line, fields, _ in iter_tsv_rows(file, len(header)):
            if fields is None:
                errs.bad(line, f"expected {len(header)} tab-separated fields")
                continue
            row_lang = fields[col["language"]].strip()
            seen.add(row_lang)
            if row_lang != lang:
                continue
            raw = fields[col["gold_label"]]
            ex_id = fields[col["pairID"]].strip() if "pairID" in col else f"xnli-{split}-{k}"
            add(line, fields[col["sentence1"]], fields[col["sentence2"]], _word_label(raw), raw,
                ex_id)
            k += 1
        if k == 0:
            raise ValueError(
                f"{file} has no rows for language {lang!r}; it holds: {', '.join(sorted(seen))}"
            )
    elif header[:2] == ["genre", "label"]:
        s1, s2 = f"sentence1_{lang}", f"sentence2_{lang}"
        if s1 not in header or s2 not in header:
            have = sorted({h.split("_", 1)[1] for h in header if h.startswith("sentence1_")})
            raise ValueError(
                f"{file} has no {s1}/{s2} columns for language {lang!r}; it holds: "
                f"{', '.join(have)}"
            )
        i1, i2 = header.index(s1), header.index(s2)
        for k, (line, fields, _) in enumerate(iter_tsv_rows(file, len(header))):
            if fields is None:
                errs.bad(line, f"expected {len(header)} tab-separated fields {header}")
                continue
            add(line, fields[i1], fields[i2], _word_label(fields[1]), fields[1],
                f"xnli-{split}-{k}")
    elif header == ["premise", "hypothesis", "label"]:
        stem = file.name
        if stem.startswith("xnli-") and stem.endswith("-original.tsv"):
            file_lang = stem[len("xnli-"):-len("-original.tsv")]
            if file_lang != lang:
                raise ValueError(f"{file} holds language {file_lang!r}, not {lang!r}")
        for k, (line, fields, _) in enumerate(iter_tsv_rows(file, 3)):
            if fields is None:
                errs.bad(line, "expected 3 tab-separated fields (premise, hypothesis, label)")
                continue
            add(line, fields[0], fields[1], _int_label(fields[2]), fields[2], f"xnli-{split}-{k}")
    else:
        raise ValueError(
            f"{file}: unrecognised XNLI header {header}; expected the XNLI 1.0 columns "
            f"({', '.join(_ORIGINAL_COLUMNS)}, ...), 'genre, label, sentence1_xx, sentence2_xx' "
            f"or 'premise, hypothesis, label'"
        )
    errs.finish()
    return PairDataset("xnli", NLI_LABELS, examples)


def load_xnli(
    lang: str,
    split: str = "test",
    path: str | os.PathLike[str] | None = None,
    *,
    errors: Errors = "raise",
) -> PairDataset:
    """XNLI in one language as a :class:`PairDataset` (labels in ``NLI_LABELS`` order).

    ``split`` is ``"validation"`` (alias ``"dev"``, 2490 pairs), ``"test"`` (5010 pairs) or
    ``"train"`` (Hub only: machine-translated MultiNLI). ``path`` is a local file or a folder
    (see :func:`find_xnli_file`); with ``path=None`` the Hub (``facebook/xnli``) is used, and
    an unreachable Hub raises a RuntimeError at once.

    Example:
        >>> from xtutor.data.paths import require_shared_data
        >>> sw = load_xnli("sw", "test", path=require_shared_data("xnli"))  # doctest: +SKIP
        >>> len(sw), sw[0].premise_lang  # doctest: +SKIP
        (5010, 'sw')
    """
    lang, split = _check_lang(lang), _check_split(split)
    if path is None:
        return _load_xnli_hub(lang, split)
    if split == "train":
        raise ValueError(
            "local XNLI files hold only the dev and test splits; split='train' (translated "
            "MultiNLI) needs the Hub: call load_xnli with path=None"
        )
    p = Path(path).expanduser()
    if p.is_dir():
        p = find_xnli_file(p, lang, split)
    elif not p.is_file():
        raise FileNotFoundError(f"path={str(path)!r} for load_xnli is neither a file nor a folder")
    return read_xnli_file(p, lang, split, errors)


def _load_xnli_hub(lang: str, split: str) -> PairDataset:
    if lang not in XNLI_LANGUAGES:
        raise ValueError(
            f"XNLI language {lang!r} is not on the Hub ({XNLI_HUB_ID}); it exists only in local "
            f"genre files: pass path= to load_xnli"
        )
    ds = load_hub_dataset(XNLI_HUB_ID, lang, _HUB_SPLIT[split], local_hint=_local_hint(split))
    names = hub_label_names(ds)
    if names is not None:
        check_label_order(names, NLI_LABELS)
    examples = []
    for k, row in enumerate(ds):
        label = row["label"]
        if not isinstance(label, int) or not 0 <= label < len(NLI_LABELS):
            raise ValueError(
                f"{XNLI_HUB_ID} {lang}/{_HUB_SPLIT[split]} row {k}: label {label!r}, expected 0/1/2"
            )
        examples.append(
            PairExample(row["premise"], row["hypothesis"], label, lang, lang, f"xnli-{split}-{k}")
        )
    return PairDataset("xnli", NLI_LABELS, examples)


def load_xnli_pairs(
    premise_lang: str,
    hypothesis_lang: str,
    split: str = "test",
    path: str | os.PathLike[str] | None = None,
    *,
    premise_path: str | os.PathLike[str] | None = None,
    hypothesis_path: str | os.PathLike[str] | None = None,
    errors: Errors = "raise",
) -> PairDataset:
    """Generalized cross-lingual XNLI: premises in one language, hypotheses in another.

    Both sides are loaded with :func:`load_xnli` (from ``premise_path``/``hypothesis_path`` when
    given, else ``path``) and joined row by row, since XNLI is parallel. The join is verified:
    the two sides must have the same length and identical labels row by row (and identical ids
    when both carry XNLI 1.0 ``pairID`` s), else a ValueError names the first mismatch.
    ``errors="skip"`` would misalign the sides, so it is refused here.

    Example:
        >>> ds = load_xnli_pairs("en", "sw", "test", path="/data/xnli")  # doctest: +SKIP
        >>> ds[0].premise_lang, ds[0].hypothesis_lang  # doctest: +SKIP
        ('en', 'sw')
    """
    if errors != "raise":
        raise ValueError(
            "load_xnli_pairs needs errors='raise': skipping rows on one side would misalign "
            "premises and hypotheses"
        )
    a = load_xnli(premise_lang, split, premise_path if premise_path is not None else path)
    b = load_xnli(hypothesis_lang, split, hypothesis_path if hypothesis_path is not None else path)
    return join_xnli_pairs(a, b, premise_lang, hypothesis_lang, split)


def join_xnli_pairs(
    premises: PairDataset,
    hypotheses: PairDataset,
    premise_lang: str,
    hypothesis_lang: str,
    split: str = "test",
) -> PairDataset:
    """Premises of one loaded XNLI split joined row by row with the hypotheses of another (the
    join of :func:`load_xnli_pairs`, for datasets already in memory, e.g. read from the Hub
    once). The same checks: equal lengths, equal labels row by row, equal ``pairID`` s when
    both sides carry them; ``split`` only names the split in error messages.

    Example:
        >>> en = PairDataset("xnli", NLI_LABELS,
        ...                  [PairExample("A dog.", "An animal.", 0, "en", "en", "xnli-test-0")])
        >>> de = PairDataset("xnli", NLI_LABELS,
        ...                  [PairExample("Ein Hund.", "Ein Tier.", 0, "de", "de", "xnli-test-0")])
        >>> ex = join_xnli_pairs(en, de, "en", "de")[0]
        >>> ex.premise, ex.hypothesis, ex.hypothesis_lang
        ('A dog.', 'Ein Tier.', 'de')
    """
    a, b = premises, hypotheses
    pl, hl = _check_lang(premise_lang), _check_lang(hypothesis_lang)
    if len(a) != len(b):
        raise ValueError(
            f"XNLI {split}: {len(a)} {pl} examples but {len(b)} {hl} examples; the two sides are "
            f"not parallel"
        )
    examples = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x.label != y.label:
            raise ValueError(
                f"XNLI {split} {pl}/{hl} not aligned at row {i}: label "
                f"{NLI_LABELS[x.label]!r} ({pl}, id {x.id}) vs {NLI_LABELS[y.label]!r} "
                f"({hl}, id {y.id})"
            )
        pair_ids = not x.id.startswith("xnli-") and not y.id.startswith("xnli-")
        if pair_ids and x.id != y.id:
            raise ValueError(
                f"XNLI {split} {pl}/{hl} not aligned at row {i}: pairID {x.id} vs {y.id}"
            )
        examples.append(PairExample(x.premise, y.hypothesis, x.label, pl, hl, x.id))
    return PairDataset("xnli", NLI_LABELS, examples)


def read_xnli_genres(file: str | os.PathLike[str], lang: str) -> tuple[str, ...]:
    """The genre of every example that ``read_xnli_file(file, lang)`` returns, in its order.

    Genres come from the ``genre`` column of the genre files (``<xx>.genre.<split>.tsv``) and
    of the XNLI 1.0 release; ``xnli-<xx>-original.tsv`` (e.g. the Spanish test set) and the
    Hub dataset have none, which raises a ValueError saying so. Rows are read as
    ``read_xnli_file`` reads them with ``errors="raise"`` (a malformed row raises there).

    Example:
        >>> read_xnli_genres("xnli/sw.genre.test.tsv", "sw")[:2]  # doctest: +SKIP
        ('facetoface', 'facetoface')
    """
    file = Path(file)
    lang = _check_lang(lang)
    header = tsv_header(file)
    if "genre" not in header:
        raise ValueError(
            f"{file} has no genre column, so its {lang!r} pairs have no genre; genres exist "
            f"only in the <xx>.genre.<split>.tsv files and in the XNLI 1.0 release "
            f"(xnli.<split>.tsv)"
        )
    col = header.index("genre")
    original = all(c in header for c in _ORIGINAL_COLUMNS)
    if not original and f"sentence1_{lang}" not in header:
        raise ValueError(f"{file} has no sentence1_{lang} column for language {lang!r}")
    lang_col = header.index("language") if original else -1
    out = []
    for line, fields, _ in iter_tsv_rows(file, len(header)):
        if fields is None:
            raise ValueError(f"{file}, line {line}: expected {len(header)} tab-separated fields")
        if original and fields[lang_col].strip() != lang:
            continue
        genre = fields[col].strip()
        if not genre:
            raise ValueError(f"{file}, line {line}: empty genre")
        out.append(genre)
    return tuple(out)


def load_xnli_by_genre(
    lang: str,
    split: str = "test",
    path: str | os.PathLike[str] | None = None,
    genres: Sequence[str] | None = None,
) -> dict[str, PairDataset]:
    """XNLI in one language split by genre: ``{genre: PairDataset}``, genres in sorted order,
    examples in file order with the ids :func:`load_xnli` gives them.

    ``path`` is a local file or folder as in :func:`load_xnli` (the Hub dataset has no genre
    column, so ``path=None`` is refused). ``genres`` keeps only those (each must occur). A
    file without a genre column (``xnli-es-original.tsv``) raises a ValueError that says so.

    Example:
        >>> from xtutor.data.paths import require_shared_data
        >>> sw = load_xnli_by_genre("sw", "dev", require_shared_data("xnli"))  # doctest: +SKIP
        >>> len(sw), len(sw["fiction"])  # doctest: +SKIP
        (10, 249)
    """
    lang, split = _check_lang(lang), _check_split(split)
    if path is None:
        raise ValueError(
            f"XNLI genres are not on the Hub ({XNLI_HUB_ID} has no genre column); pass path= "
            f"to a folder with <xx>.genre.<split>.tsv files or the XNLI 1.0 release"
        )
    if split == "train":
        raise ValueError("local XNLI files hold only the dev and test splits; genres exist "
                         "for split='dev' and split='test'")
    p = Path(path).expanduser()
    if p.is_dir():
        p = find_xnli_file(p, lang, split)
    elif not p.is_file():
        raise FileNotFoundError(
            f"path={str(path)!r} for load_xnli_by_genre is neither a file nor a folder")
    tags = read_xnli_genres(p, lang)
    data = read_xnli_file(p, lang, split, "raise")
    if len(tags) != len(data):
        raise ValueError(f"{p}: {len(tags)} genres for {len(data)} {lang!r} examples")
    by: dict[str, list[PairExample]] = {}
    for g, ex in zip(tags, data, strict=True):
        by.setdefault(g, []).append(ex)
    if genres is not None:
        missing = [g for g in genres if g not in by]
        if missing:
            raise ValueError(f"{p}: no {lang!r} pairs of genre(s) {missing}; its genres: "
                             f"{', '.join(sorted(by))}")
        by = {g: by[g] for g in genres}
    return {g: PairDataset(data.task, data.label_names, by[g]) for g in sorted(by)}
