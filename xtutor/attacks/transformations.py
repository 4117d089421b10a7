"""What an attack may change in a word: character noise, word substitution, code-switching.

A transformation maps one word (the *core* of a token, punctuation stripped; see
:mod:`xtutor.attacks.words`) to a list of replacement candidates. Where in the sentence it is
applied, and how often, is decided by :mod:`~xtutor.attacks.constraints` and
:mod:`~xtutor.attacks.search`.

- :class:`CharNoise`: typos (swap adjacent letters, drop, insert, keyboard-neighbour
  substitution). Latin, Cyrillic and Greek letters use their keyboard layout; letters of any other
  script fall back to letters of the same script found in the same word, so noise never mixes
  scripts.
- :class:`WordSubstitution`: replace a word by one of its neighbours in a table (synonyms, or
  the embedding nearest neighbours of :func:`embedding_neighbour_table`).
- :class:`CodeSwitch`: replace a word by its translation into other languages (PolyGloss-style
  code-mixing), from bilingual dictionaries: MUSE (:func:`xtutor.data.muse.load_muse`), NLTK
  Swadesh lists (:func:`read_swadesh`) or the toy family (:func:`toy_dictionaries`).

Example:
    >>> sorted(CharNoise(ops=("swap",)).candidates("cat"))
    ['act', 'cta']
    >>> WordSubstitution({"big": ["large", "huge"]}).candidates("Big")
    ['Large', 'Huge']
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from xtutor.attacks.words import match_case, script_of
from xtutor.data.corpora import Dictionary

CHAR_OPS: tuple[str, ...] = ("swap", "drop", "insert", "keyboard")

_ROWS = {
    "latin": ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    "cyrillic": ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"),
    "greek": ("ςερτυθιοπ", "ασδφγηξκλ", "ζχψωβνμ"),
}


def _keyboard_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for rows in _ROWS.values():
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                near = []
                for dr in (-1, 0, 1):
                    rr = r + dr
                    if not 0 <= rr < len(rows):
                        continue
                    for dc in (-1, 0, 1):
                        cc = c + dc
                        if (dr, dc) != (0, 0) and 0 <= cc < len(rows[rr]):
                            near.append(rows[rr][cc])
                table[ch] = "".join(near)
    return table


#: Lower-case letter -> its neighbours on a QWERTY (Latin), ЙЦУКЕН (Cyrillic) or Greek keyboard.
KEYBOARD_NEIGHBOURS: Mapping[str, str] = _keyboard_table()


class Transformation(Protocol):
    """Anything with ``candidates(word) -> list of replacement words``."""

    name: str

    def candidates(self, word: str) -> list[str]:
        """Replacement candidates for ``word`` (never ``word`` itself)."""
        ...


def _seed_for(word: str, seed: int) -> int:
    return zlib.crc32(f"{seed}\x00{word}".encode()) & 0xFFFFFFFF


def keyboard_neighbours(ch: str, word: str = "") -> str:
    """Characters a typo could put in place of ``ch``: keyboard neighbours when ``ch``'s script
    has a layout here, otherwise the other letters of ``word`` in ``ch``'s script.

    Example:
        >>> keyboard_neighbours("s")
        'qweadzxc'
        >>> keyboard_neighbours("ბ", "ბადო")  # Georgian: no layout, letters of the same word
        'ადო'
    """
    low = ch.lower()
    if low in KEYBOARD_NEIGHBOURS:
        near = KEYBOARD_NEIGHBOURS[low]
        return near.upper() if ch.isupper() else near
    script = script_of(ch)
    seen: dict[str, None] = {}
    for x in word:
        if x != ch and x.isalpha() and script_of(x) == script:
            seen.setdefault(x, None)
    return "".join(seen)


@dataclass(frozen=True)
class CharNoise:
    """Typo candidates for a word: one edit each (Damerau-Levenshtein distance 1).

    Attributes:
        ops: which edits, from ``swap`` (adjacent letters), ``drop``, ``insert`` (a neighbouring
            key, or a same-script letter of the word, next to a letter) and ``keyboard``
            (replace a letter by a neighbouring key / same-script letter).
        max_candidates: keep at most this many candidates per word, a seeded sample (the same
            word always gets the same sample for the same ``seed``); None keeps all.
        min_length: words shorter than this get no candidates (a one-letter typo of a
            two-letter word is usually another word).
        seed: seeds the sample.

    Example:
        >>> noise = CharNoise(ops=("drop",), min_length=3)
        >>> noise.candidates("dog"), noise.candidates("of")
        (['og', 'dg', 'do'], [])
    """

    ops: tuple[str, ...] = CHAR_OPS
    max_candidates: int | None = 24
    min_length: int = 3
    seed: int = 0
    name: str = "char_noise"

    def __post_init__(self) -> None:
        bad = [o for o in self.ops if o not in CHAR_OPS]
        if bad or not self.ops:
            raise ValueError(f"CharNoise ops must be a non-empty subset of {CHAR_OPS}, "
                             f"got {self.ops!r}")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1 or None, got {self.max_candidates}")
        if self.min_length < 1:
            raise ValueError(f"min_length must be >= 1, got {self.min_length}")

    def candidates(self, word: str) -> list[str]:
        """One-edit typos of ``word``, in a fixed order (then sampled)."""
        if len(word) < self.min_length:
            return []
        out: dict[str, None] = {}
        n = len(word)
        if "swap" in self.ops:
            for i in range(n - 1):
                if word[i] != word[i + 1]:
                    out.setdefault(word[:i] + word[i + 1] + word[i] + word[i + 2:], None)
        if "drop" in self.ops:
            for i in range(n):
                out.setdefault(word[:i] + word[i + 1:], None)
        if "keyboard" in self.ops:
            for i, ch in enumerate(word):
                for x in keyboard_neighbours(ch, word):
                    out.setdefault(word[:i] + x + word[i + 1:], None)
        if "insert" in self.ops:
            for i, ch in enumerate(word):
                for x in keyboard_neighbours(ch, word)[:3]:
                    out.setdefault(word[:i + 1] + x + word[i + 1:], None)
        out.pop(word, None)
        cands = [c for c in out if c]
        if self.max_candidates is not None and len(cands) > self.max_candidates:
            rng = np.random.default_rng(_seed_for(word, self.seed))
            keep = sorted(rng.choice(len(cands), self.max_candidates, replace=False).tolist())
            cands = [cands[i] for i in keep]
        return cands


def _lookup(table: Mapping[str, Sequence[str]], word: str) -> list[str]:
    hits = table.get(word)
    if hits is None and word.lower() != word:
        hits = table.get(word.lower())
    return list(hits or ())


@dataclass(frozen=True)
class WordSubstitution:
    """Replace a word by one of its neighbours: ``table[word]`` (or ``table[word.lower()]``).

    Candidates keep the word's capitalisation and the table's order; at most
    ``max_candidates`` of them.

    Example:
        >>> WordSubstitution({"quick": ["fast", "quick", "rapid"]}, max_candidates=1
        ...                  ).candidates("quick")
        ['fast']
    """

    table: Mapping[str, Sequence[str]]
    max_candidates: int | None = 16
    name: str = "word_substitution"

    def __post_init__(self) -> None:
        if not isinstance(self.table, Mapping):
            raise TypeError(f"table must be a mapping word -> list of neighbours, got "
                            f"{type(self.table).__name__}")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1 or None, got {self.max_candidates}")

    def candidates(self, word: str) -> list[str]:
        """Neighbours of ``word`` from the table (never ``word`` itself)."""
        out: dict[str, None] = {}
        for c in _lookup(self.table, word):
            c = match_case(word, c)
            if c != word and c:
                out.setdefault(c, None)
        cands = list(out)
        return cands if self.max_candidates is None else cands[:self.max_candidates]


DictionaryLike = Dictionary | Mapping[str, Sequence[str]] | Sequence[tuple[str, str]]


def as_table(d: DictionaryLike) -> dict[str, list[str]]:
    """A ``{word: [translations]}`` table from a :class:`~xtutor.data.corpora.Dictionary`, a
    mapping or a list of ``(source, target)`` pairs.

    Example:
        >>> as_table([("dog", "Hund"), ("dog", "Rüde")])
        {'dog': ['Hund', 'Rüde']}
    """
    if isinstance(d, Dictionary):
        return d.to_dict()
    if isinstance(d, Mapping):
        return {str(k): [str(x) for x in v] for k, v in d.items()}
    out: dict[str, list[str]] = {}
    for item in d:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(f"dictionary pairs must be (source, target) tuples, got {item!r}")
        out.setdefault(str(item[0]), []).append(str(item[1]))
    return out


def invert(d: DictionaryLike) -> dict[str, list[str]]:
    """The reverse dictionary (target word -> source words), e.g. MUSE en-es read as es-en.

    Example:
        >>> invert({"dog": ["perro"], "hound": ["perro"]})
        {'perro': ['dog', 'hound']}
    """
    out: dict[str, list[str]] = {}
    for a, bs in as_table(d).items():
        for b in bs:
            lst = out.setdefault(b, [])
            if a not in lst:
                lst.append(a)
    return out


@dataclass(frozen=True)
class CodeSwitch:
    """Replace a word by its translation into one of several languages (PolyGloss-style).

    ``dictionaries`` maps a target language code to a dictionary from the text's language into
    it. Candidates take up to ``per_language`` translations from each language in turn (so all
    languages are represented), at most ``max_candidates`` in all.

    Example:
        >>> cs = CodeSwitch({"de": {"dog": ["Hund"]}, "fr": {"dog": ["chien", "toutou"]}},
        ...                 per_language=1)
        >>> cs.candidates("dog"), cs.language_of("chien")
        (['Hund', 'chien'], 'fr')
    """

    dictionaries: Mapping[str, DictionaryLike]
    per_language: int = 2
    max_candidates: int | None = 16
    name: str = "code_switch"
    _tables: dict[str, dict[str, list[str]]] = field(init=False, repr=False, compare=False)
    _lang_of: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dictionaries, Mapping) or not self.dictionaries:
            raise ValueError("dictionaries must be a non-empty mapping language -> dictionary")
        if self.per_language < 1:
            raise ValueError(f"per_language must be >= 1, got {self.per_language}")
        tables = {str(lang): as_table(d) for lang, d in self.dictionaries.items()}
        lang_of: dict[str, str] = {}
        for lang, t in tables.items():
            for vs in t.values():
                for v in vs:
                    lang_of.setdefault(v, lang)
        object.__setattr__(self, "_tables", tables)
        object.__setattr__(self, "_lang_of", lang_of)

    def language_of(self, word: str) -> str | None:
        """The language a candidate word was taken from (first dictionary that has it)."""
        return self._lang_of.get(word) or self._lang_of.get(word.lower())

    def candidates(self, word: str) -> list[str]:
        """Translations of ``word``, round-robin over languages (never ``word`` itself)."""
        out: dict[str, None] = {}
        for t in self._tables.values():
            taken = 0
            for c in _lookup(t, word):
                c = match_case(word, c)
                if c != word and c not in out:
                    out[c] = None
                    taken += 1
                    if taken >= self.per_language:
                        break
        cands = list(out)
        return cands if self.max_candidates is None else cands[:self.max_candidates]


#: NLTK's swadesh.zip names Swedish ``sw``; this reader calls it ``sv`` (and has no Swahili).
SWADESH_CODES: Mapping[str, str] = {"sw": "sv"}
_PAREN = re.compile(r"\([^)]*\)")


def swadesh_languages(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Language codes in NLTK's ``swadesh.zip`` (ISO 639-1; ``sv`` for NLTK's ``sw`` file).

    ``path=None`` reads ``<shared data>/nltk/swadesh.zip``.

    Example:
        >>> "de" in swadesh_languages()  # doctest: +SKIP
        True
    """
    with zipfile.ZipFile(_swadesh_zip(path)) as z:
        names = [n.split("/")[-1] for n in z.namelist()]
    return sorted(SWADESH_CODES.get(n, n) for n in names if re.fullmatch(r"[a-z]{2,3}", n))


def _swadesh_zip(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        from xtutor.data.paths import require_shared_data

        return require_shared_data("nltk/swadesh.zip")
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "swadesh.zip"
    if not p.is_file():
        raise FileNotFoundError(f"path={str(path)!r}: no NLTK swadesh.zip there")
    return p


def _swadesh_entries(line: str) -> list[str]:
    return [w.strip() for w in _PAREN.sub("", line).split(",") if w.strip()]


def read_swadesh(src: str, tgt: str, path: str | os.PathLike[str] | None = None) -> Dictionary:
    """A ``src``-``tgt`` :class:`~xtutor.data.corpora.Dictionary` from NLTK's Swadesh lists.

    The lists are aligned by line (207 basic concepts); a line with several comma-separated
    words (``"tú, usted"``) gives one pair per combination, parenthesised glosses are dropped.
    Codes are ISO 639-1 (``sv`` for Swedish, stored by NLTK as ``sw``).

    Example:
        >>> d = read_swadesh("en", "de")  # doctest: +SKIP
        >>> d.translations("dog")  # doctest: +SKIP
        ['Hund']
    """
    inverse = {v: k for k, v in SWADESH_CODES.items()}
    if src == "sw" or tgt == "sw":
        raise ValueError("NLTK's swadesh.zip has no Swahili ('sw' there is Swedish: use 'sv')")
    files = {}
    with zipfile.ZipFile(_swadesh_zip(path)) as z:
        names = set(z.namelist())
        for arg, code in (("src", src), ("tgt", tgt)):
            member = f"swadesh/{inverse.get(code, code)}"
            if member not in names:
                raise ValueError(f"{arg}={code!r} has no Swadesh list; available: "
                                 f"{swadesh_languages(path)}")
            files[arg] = z.read(member).decode("utf-8").splitlines()
    a, b = files["src"], files["tgt"]
    if len(a) != len(b):
        raise ValueError(f"Swadesh lists {src} ({len(a)} lines) and {tgt} ({len(b)} lines) are "
                         f"not aligned")
    pairs = [(x, y) for la, lb in zip(a, b, strict=True)
             for x in _swadesh_entries(la) for y in _swadesh_entries(lb)]
    return Dictionary(src, tgt, pairs)


def toy_dictionaries(world: object, src: str, tgts: Iterable[str] | None = None
                     ) -> dict[str, Dictionary]:
    """Dictionaries from toy language ``src`` into each of ``tgts`` (default: every other
    language of ``world``, a :class:`xtutor.toyworld.ToyWorld`).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> ds = toy_dictionaries(ToyWorld(WorldConfig(n_languages=3)), "L0")
        >>> sorted(ds), ds["L1"].src_lang
        (['L1', 'L2'], 'L0')
    """
    langs = world.languages  # type: ignore[attr-defined]
    if src not in langs:
        raise ValueError(f"src={src!r} is not a language of this world {list(langs)}")
    targets = [t for t in langs if t != src] if tgts is None else list(tgts)
    return {t: Dictionary(src, t, world.dictionary(src, t))  # type: ignore[attr-defined]
            for t in targets}


def vocabulary_embeddings(model: torch.nn.Module, tokenizer: object,
                          vocabulary: Sequence[str], batch_size: int = 1024) -> torch.Tensor:
    """One vector per word: the mean of its subword *input* embeddings, ``(len(vocab), dim)``."""
    emb = model.get_input_embeddings().weight.detach()  # type: ignore[operator]
    ids = tokenizer(list(vocabulary), add_special_tokens=False)["input_ids"]  # type: ignore
    out = torch.zeros(len(vocabulary), emb.shape[1])
    for s in range(0, len(ids), batch_size):
        chunk = ids[s:s + batch_size]
        flat = torch.tensor([i for x in chunk for i in x], dtype=torch.long)
        owner = torch.tensor([k for k, x in enumerate(chunk) for _ in x], dtype=torch.long)
        sums = torch.zeros(len(chunk), emb.shape[1]).index_add_(0, owner, emb[flat].float())
        counts = torch.bincount(owner, minlength=len(chunk)).clamp(min=1).unsqueeze(1)
        out[s:s + len(chunk)] = sums / counts
    return out


def embedding_neighbour_table(model: torch.nn.Module, tokenizer: object,
                              vocabulary: Sequence[str], k: int = 8,
                              min_similarity: float = 0.0, batch_size: int = 1024
                              ) -> dict[str, list[str]]:
    """``{word: its k nearest words}`` by cosine of :func:`vocabulary_embeddings` over
    ``vocabulary``.

    Neighbours below ``min_similarity`` are left out; words with no subword (empty after
    tokenisation) and duplicate words are dropped. Similarities are computed in blocks of
    ``batch_size`` rows (one matrix product each).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> table = embedding_neighbour_table(m, t, w.vocabulary()[:20], k=3)
        >>> len(table), all(len(v) == 3 for v in table.values())
        (20, True)
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    vocab = list(dict.fromkeys(w for w in vocabulary if w))
    if len(vocab) < 2:
        raise ValueError(f"vocabulary needs at least 2 distinct words, got {len(vocab)}")
    ids = tokenizer(vocab, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    vocab = [w for w, x in zip(vocab, ids, strict=True) if x]
    vecs = torch.nn.functional.normalize(
        vocabulary_embeddings(model, tokenizer, vocab, batch_size), dim=1)
    kk = min(k, len(vocab) - 1)
    table: dict[str, list[str]] = {}
    for s in range(0, len(vocab), batch_size):
        sims = vecs[s:s + batch_size] @ vecs.T
        rows = torch.arange(sims.shape[0])
        sims[rows, rows + s] = -2.0  # never a word's own neighbour
        val, idx = sims.topk(kk, dim=1)
        for r in range(sims.shape[0]):
            table[vocab[s + r]] = [vocab[j] for v, j in zip(val[r].tolist(), idx[r].tolist(),
                                                            strict=True) if v >= min_similarity]
    return table
