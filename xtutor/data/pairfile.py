"""Your own pair datasets: NLI or paraphrase pairs from a local TSV, CSV or JSON-lines file.

:func:`load_pair_file` reads a file with named columns (a header row, or JSON keys) into a
:class:`PairDataset`, whatever the language: a translated XNLI test set for a language XNLI
lacks, a paraphrase set, a file with ``id, language, premise, hypothesis, label`` columns.
The rows are read by the ``datasets`` library's ``csv`` and ``json`` builders (every CSV/TSV
field as a string, so an id such as ``007`` keeps its zeros), in memory and with a temporary
cache, offline. Labels are normalised as :func:`xtutor.data.load_xnli` does it: words in any
case (``entailment``, ``neutral``, ``contradiction``; here also MultiNLI's ``contradictory``)
or integer indices (``0``, ``"2"``) in the task's label order; every malformed row raises a
ValueError naming the file, the line (the header is line 1), the column and what was expected.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = Path(tmp.name) / "qu-test.tsv"
    >>> _ = f.write_text("premise\\thypothesis\\tlabel\\n"
    ...                  "Allqu puñuchkan.\\tHuk uywa puñuchkan.\\tEntailment\\n"
    ...                  "Allqu puñuchkan.\\tAllqu phawachkan.\\t2\\n", encoding="utf-8")
    >>> ds = load_pair_file(f, language="qu")
    >>> len(ds), ds[0].premise_lang, [ds.label_names[y] for y in ds.labels]
    (2, 'qu', ['entailment', 'contradiction'])
    >>> ds[1].id
    'qu-test-1'
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from xtutor.data.hub import _offline_mode
from xtutor.data.paths import Errors, RowErrors
from xtutor.data.types import NLI_LABELS, PAWS_LABELS, PairDataset, PairExample

FileFormat = Literal["tsv", "csv", "jsonl", "json"]

#: File suffix -> format (``.json`` holds JSON lines or one JSON array of objects).
PAIR_FILE_SUFFIXES: dict[str, FileFormat] = {
    ".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "json",
}

#: Our fields and the file columns tried for each, in order, when ``columns=`` names none.
PAIR_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "premise": ("premise", "sentence1"),
    "hypothesis": ("hypothesis", "sentence2"),
    "label": ("label", "gold_label"),
    "id": ("id", "pairID"),
    "language": ("language", "lang"),
    "premise_language": ("premise_language",),
    "hypothesis_language": ("hypothesis_language",),
}
_REQUIRED = ("premise", "hypothesis", "label")
_LANGUAGE_FIELDS = ("language", "premise_language", "hypothesis_language")

#: The label order of each built-in task, and extra words accepted for its labels.
_TASK_LABELS: dict[str, tuple[str, ...]] = {"nli": NLI_LABELS, "paws": PAWS_LABELS}
_ALIASES: dict[str, dict[str, str]] = {"nli": {"contradictory": "contradiction"}}


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _label_table(
    task: str, label_names: Sequence[str] | None
) -> tuple[tuple[str, ...], dict[str, int], list[int]]:
    """(the dataset's label names, label word -> index, the file's integer label -> index)."""
    canonical = _TASK_LABELS.get(task)
    if label_names is None:
        if canonical is None:
            raise ValueError(
                f"unknown task {task!r}: use 'nli' {NLI_LABELS} or 'paws' {PAWS_LABELS}, or pass "
                f"label_names= (the file's labels, in the order of its integer labels)"
            )
        file_order = canonical
    else:
        if isinstance(label_names, str):
            raise ValueError(f"label_names must be a sequence of names, got the string "
                             f"{label_names!r}")
        file_order = tuple(str(n) for n in label_names)
        normed = [_norm(n) for n in file_order]
        if len(file_order) < 2 or len(set(normed)) != len(normed) or not all(normed):
            raise ValueError(
                f"label_names {file_order} must hold at least two distinct, non-empty names"
            )
    names = canonical if canonical is not None else file_order
    index = {_norm(n): i for i, n in enumerate(names)}
    if canonical is not None:
        if sorted(_norm(n) for n in file_order) != sorted(index):
            raise ValueError(
                f"label_names {file_order} do not name the labels of task {task!r} "
                f"{canonical}; give them in the order of the file's integer labels"
            )
        for alias, target in _ALIASES.get(task, {}).items():
            index.setdefault(alias, index[target])
    return names, index, [index[_norm(n)] for n in file_order]


def _check_file(path: str | os.PathLike[str], fmt: str | None) -> tuple[Path, FileFormat]:
    file = Path(path).expanduser()
    if fmt is None:
        suffix = file.suffix.lower()
        if suffix not in PAIR_FILE_SUFFIXES:
            raise ValueError(
                f"{file}: cannot tell the format from the suffix {suffix or '(none)'!r}; expected "
                f"{', '.join(PAIR_FILE_SUFFIXES)}, or pass format='tsv', 'csv', 'jsonl' or 'json'"
            )
        found = PAIR_FILE_SUFFIXES[suffix]
    else:
        key = str(fmt).strip().lower().lstrip(".")
        if key not in PAIR_FILE_SUFFIXES.values():
            raise ValueError(f"unknown format {fmt!r}; expected 'tsv', 'csv', 'jsonl' or 'json'")
        found = PAIR_FILE_SUFFIXES["." + key]
    if not file.is_file():
        raise FileNotFoundError(
            f"{file}: no such file" + (" (it is a folder)" if file.is_dir() else "")
        )
    if file.stat().st_size == 0:
        raise ValueError(f"{file} is empty: expected a header line (or JSON records) and rows")
    return file, found


def _scan_delimited(file: Path, delimiter: str, quoting: int) -> tuple[list[str], list[int]]:
    """The header and the 1-based line on which each data record starts.

    Blank lines are skipped, as ``pandas.read_csv`` (under the ``csv`` builder) skips them;
    a record with a field count other than the header's raises (pandas would pad short rows).
    """
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    lines: list[int] = []
    with file.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quoting=quoting)
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise ValueError(f"{file}, line 1: empty header; expected column names")
            prev = reader.line_num
            for row in reader:
                start, prev = prev + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise ValueError(
                        f"{file}, line {start}: expected {len(header)} {sep}-separated fields "
                        f"as in the header {header}, got {len(row)}"
                    )
                lines.append(start)
        except csv.Error as e:
            raise ValueError(f"{file}, line {reader.line_num}: unreadable row ({e})") from e
    bad = [h for h in header if not h.strip()]
    dup = sorted({h for h in header if header.count(h) > 1})
    if bad or dup:
        raise ValueError(
            f"{file}, line 1: the header {header} has "
            + ("an empty column name" if bad else f"duplicate column names {dup}")
        )
    if len(header) == 1:
        other = next((d for d in ("\t", ",", ";") if d != delimiter and d in header[0]), None)
        if other is not None:
            raise ValueError(
                f"{file}, line 1: the header is one column {header[0]!r} split on {sep}; "
                f"the file looks {'tab' if other == chr(9) else repr(other)}-separated: pass "
                f"delimiter={other!r} (or format='tsv' / 'csv')"
            )
    return header, lines


_WS = re.compile(r"\s*")


def _skip_ws(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return pos if m is None else m.end()


def _json_records(file: Path) -> Iterator[tuple[int, Any]]:
    """``(line, record)`` for JSON lines, or for the items of one JSON array of objects."""
    text = file.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        decoder = json.JSONDecoder()
        pos = _skip_ws(text, 0) + 1
        while True:
            pos = _skip_ws(text, pos)
            if text.startswith("]", pos):
                return
            try:
                item, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise ValueError(f"{file}, line {e.lineno}: not valid JSON ({e.msg})") from e
            yield text.count("\n", 0, pos) + 1, item
            pos = _skip_ws(text, end)
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith("]", pos):
                line = text.count("\n", 0, pos) + 1
                raise ValueError(f"{file}, line {line}: expected ',' or ']' in the JSON array")
    for i, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield i, json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{file}, line {i}: not valid JSON ({e.msg} at character {e.colno}); expected "
                f"one JSON object per line"
            ) from e


def _scan_json(file: Path) -> tuple[list[str], list[int], dict[str, str]]:
    """The keys of all records (first seen first), each record's line, and per key the first
    value the ``json`` builder cannot read as text.

    A column must hold strings or integers, one JSON type across the file (the builder gives a
    column one type); null or an absent key counts as missing.
    """
    keys: dict[str, None] = {}
    lines: list[int] = []
    kinds: dict[str, tuple[str, int]] = {}
    problems: dict[str, str] = {}
    for line, rec in _json_records(file):
        if not isinstance(rec, dict):
            raise ValueError(
                f"{file}, line {line}: expected a JSON object {{\"premise\": ..., ...}}, got "
                f"{type(rec).__name__} {json.dumps(rec)[:40]}"
            )
        keys.update(dict.fromkeys(rec))
        lines.append(line)
        for key, value in rec.items():
            if value is None or key in problems:
                continue
            shown = json.dumps(value, ensure_ascii=False)[:40]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                problems[key] = (f"{file}, line {line}, column {key!r}: expected a string or an "
                                 f"integer, got {shown}")
                continue
            kind = "a string" if isinstance(value, str) else "an integer"
            first = kinds.setdefault(key, (kind, line))
            if first[0] != kind:
                problems[key] = (
                    f"{file}, line {line}, column {key!r}: {kind} ({shown}), but {first[0]} on "
                    f"line {first[1]}; write every {key!r} value as one JSON type (e.g. all "
                    f"quoted strings)"
                )
    if not lines:
        raise ValueError(f"{file} holds no JSON records; expected one JSON object per line")
    return list(keys), lines, problems


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _read_columns(
    file: Path, fmt: FileFormat, header: list[str], delimiter: str, quoting: int, hint: str = ""
) -> dict[str, list[Any]]:
    """All columns of ``file`` as read by the ``datasets`` csv/json builder (in memory).

    ``hint`` (what the line scan found suspicious) completes the error when the builder fails.
    """
    import datasets

    if fmt in ("tsv", "csv"):
        builder = "csv"
        kw: dict[str, Any] = {
            "delimiter": delimiter, "quoting": quoting, "encoding": "utf-8",
            "na_filter": False, "keep_default_na": False,  # "NA", "null", "" stay strings
            "features": datasets.Features({h: datasets.Value("string") for h in header}),
        }
    else:
        builder, kw = "json", {}
    with tempfile.TemporaryDirectory(prefix="xtutor-pairfile-") as cache:
        try:
            with _offline_mode(), _quiet_progress():
                ds = datasets.load_dataset(
                    builder, data_files=glob.escape(str(file.resolve())), split="train",
                    keep_in_memory=True, cache_dir=cache, **kw,
                )
        except Exception as e:
            cause = e.__cause__ or e
            raise ValueError(
                f"{file}: the datasets {builder!r} reader failed ({type(cause).__name__}: "
                f"{cause}); every column must hold one type in every row"
                + (f" ({hint})" if hint else "")
            ) from e
        return ds.to_dict()


def _pick_columns(
    file: Path, available: Sequence[str], columns: Mapping[str, str] | None, fmt: FileFormat
) -> dict[str, str]:
    """Our field -> the file's column, for the fields the file has."""
    given = dict(columns or {})
    unknown = sorted(set(given) - set(PAIR_FILE_COLUMNS))
    if unknown:
        raise ValueError(
            f"columns= names unknown fields {unknown}; the fields are {list(PAIR_FILE_COLUMNS)}"
        )
    where = f"{file}, line 1 (header)" if fmt in ("tsv", "csv") else str(file)
    have = "the header has" if fmt in ("tsv", "csv") else "the records have the keys"
    picked: dict[str, str] = {}
    for fld, candidates in PAIR_FILE_COLUMNS.items():
        if fld in given:
            col = str(given[fld])
            if col not in available:
                raise ValueError(
                    f"{where}: no column {col!r} (columns={{{fld!r}: {col!r}}}); "
                    f"{have} {list(available)}"
                )
            picked[fld] = col
            continue
        found = next((c for c in candidates if c in available), None)
        if found is not None:
            picked[fld] = found
        elif fld in _REQUIRED:
            looked = " or ".join(repr(c) for c in candidates)
            raise ValueError(
                f"{where}: no column for the {fld} (looked for {looked}); {have} "
                f"{list(available)}; pass columns={{{fld!r}: '<column name>'}}"
            )
    return picked


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def load_pair_file(
    path: str | os.PathLike[str],
    *,
    task: str = "nli",
    label_names: Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    language: str | None = None,
    format: FileFormat | None = None,
    delimiter: str | None = None,
    errors: Errors = "raise",
) -> PairDataset:
    """A local TSV, CSV or JSON-lines file of sentence pairs as a :class:`PairDataset`.

    ``path``: the file; ``format`` (``"tsv"``, ``"csv"``, ``"jsonl"``, ``"json"``) is taken
    from its suffix when None. TSV fields are split on ``delimiter`` (default a tab) with no
    quote processing, as in the XNLI and PAWS-X releases; CSV follows the standard quoting rules
    (``format="csv", delimiter="\\t"`` reads a TSV with quoted fields). ``.json`` holds JSON
    lines or one array of objects.

    ``columns`` maps our fields to the file's column names. Not named there, each field takes
    the first column found of :data:`PAIR_FILE_COLUMNS`: ``premise`` (or ``sentence1``),
    ``hypothesis`` (or ``sentence2``), ``label`` (or ``gold_label``), optional ``id`` (or
    ``pairID``; else ids are ``<file stem>-<row>``), ``language`` (or ``lang``), and
    ``premise_language`` / ``hypothesis_language`` for cross-lingual pairs.

    Languages: any non-empty code, taken from the language columns; ``language`` is the code
    for a file without one. When the file has a ``language`` column too, ``language`` keeps
    only its rows (as :func:`xtutor.data.xnli.read_xnli_file` filters the XNLI 1.0 files).

    Labels: ``task="nli"`` gives ``NLI_LABELS`` order, ``task="paws"`` ``PAWS_LABELS``
    (``not_paraphrase``, ``paraphrase``). A label is a word (any case, ``-`` or space for
    ``_``; ``contradictory`` also counts as ``contradiction``) or an integer index. When the
    file's integers follow another order, ``label_names`` gives it, e.g. ``("contradiction",
    "entailment", "neutral")``: it must name the task's labels, and the labels are remapped
    into the task's order, so the dataset's ``label_names`` always match models trained on
    XNLI or PAWS-X. Any other ``task`` needs ``label_names``, which then are the dataset's.

    Errors name the file, the line (the header is line 1; for JSON the line where the record
    starts) and the column: an unknown label, an empty premise, hypothesis or language raise a
    ValueError, or with ``errors="skip"`` are dropped with one warning. A missing file raises
    FileNotFoundError; an empty file, an unknown suffix, a missing column, a missing language
    and (always) a row with the wrong number of fields raise ValueError.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> tmp = tempfile.TemporaryDirectory()
        >>> f = Path(tmp.name) / "pairs.jsonl"
        >>> _ = f.write_text('{"text_a": "Il pleut.", "text_b": "Il fait sec.", "gold": 0}\\n',
        ...                  encoding="utf-8")
        >>> ds = load_pair_file(f, columns={"premise": "text_a", "hypothesis": "text_b",
        ...                                 "label": "gold"}, language="fr",
        ...                     label_names=("contradiction", "entailment", "neutral"))
        >>> ds.label_names[ds[0].label], ds[0].premise_lang, ds[0].id
        ('contradiction', 'fr', 'pairs-0')
        >>> tmp.cleanup()
    """
    names, word_index, int_index = _label_table(task, label_names)
    if language is not None and (not isinstance(language, str) or not language.strip()):
        raise ValueError(f"language must be a non-empty string such as 'yo', got {language!r}")
    file, fmt = _check_file(path, format)
    if fmt in ("jsonl", "json"):
        if delimiter is not None:
            raise ValueError(f"{file}: delimiter= applies to TSV and CSV files, not {fmt}")
        delim, quoting = "", csv.QUOTE_NONE
        header, lines, problems = _scan_json(file)
    else:
        delim = delimiter if delimiter is not None else ("\t" if fmt == "tsv" else ",")
        if len(delim) != 1:
            raise ValueError(f"delimiter must be one character, got {delim!r}")
        quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
        header, lines = _scan_delimited(file, delim, quoting)
        problems = {}
        if not lines:
            raise ValueError(f"{file} has a header (line 1) but no rows")
    cols = _pick_columns(file, header, columns, fmt)
    for col in cols.values():
        if col in problems:
            raise ValueError(problems[col])
    if language is None and not ("language" in cols or (
            "premise_language" in cols and "hypothesis_language" in cols)):
        where = f"{file}, line 1 (header)" if fmt in ("tsv", "csv") else str(file)
        looked = " or ".join(repr(c) for c in PAIR_FILE_COLUMNS["language"])
        raise ValueError(
            f"{where}: no language column (looked for {looked}, or premise_language and "
            f"hypothesis_language) and no language= given; pass language='<code>' "
            f"(any code, e.g. 'yo') or columns={{'language': '<column name>'}}"
        )

    hint = next(iter(problems.values()), "")
    data = _read_columns(file, fmt, header, delim, quoting, hint)
    n = len(next(iter(data.values()))) if data else 0
    if n != len(lines):
        raise ValueError(
            f"{file}: the datasets reader found {n} rows where the line scan found "
            f"{len(lines)}; check the file's quoting and line ends"
        )

    errs = RowErrors(file, errors)
    k = len(names)
    cells = {fld: [_text(v).strip() for v in data[col]] for fld, col in cols.items()}
    lang_filter = language.strip() if language is not None and "language" in cols else None
    seen_langs: dict[str, None] = {}
    examples: list[PairExample] = []
    for row, line in enumerate(lines):
        langs = {side: cells[side][row] for side in _LANGUAGE_FIELDS if side in cells}
        if lang_filter is not None:
            seen_langs.setdefault(langs["language"], None)
            if langs["language"] != lang_filter:
                continue
        default = langs.get("language", language.strip() if language is not None else "")
        raw = cells["label"][row]
        label = word_index.get(_norm(raw))
        if label is None and raw.isascii() and raw.isdigit() and int(raw) < k:
            label = int_index[int(raw)]
        empty = next((f for f in ("premise", "hypothesis") if not cells[f][row]), None)
        no_lang = next((side for side, code in langs.items() if not code), None)
        if label is None:
            errs.bad(line, f"column {cols['label']!r}: unknown label {raw!r}; expected one of "
                           f"{names} (any case) or an integer 0-{k - 1}")
        elif empty is not None:
            errs.bad(line, f"column {cols[empty]!r}: missing or empty {empty}; expected a "
                           f"sentence")
        elif no_lang is not None:
            errs.bad(line, f"column {cols[no_lang]!r}: empty language; expected a language "
                           f"code such as 'yo'")
        else:
            ex_id = cells["id"][row] if "id" in cells else ""
            examples.append(PairExample(
                cells["premise"][row], cells["hypothesis"][row], label,
                langs.get("premise_language", default), langs.get("hypothesis_language", default),
                ex_id or f"{file.stem}-{row}",
            ))
    if lang_filter is not None and lang_filter not in seen_langs:
        raise ValueError(
            f"{file} has no rows for language={lang_filter!r} in column {cols['language']!r}; "
            f"it holds: {', '.join(sorted(seen_langs))}"
        )
    errs.finish()
    return PairDataset(task, names, examples)
