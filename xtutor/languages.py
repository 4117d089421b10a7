"""Describing a language against English from text alone: its script and how many subwords it
shares with English under a model's tokenizer.

Cross-lingual transfer papers plot each target language's score against a measure of its
distance from the source language. Offline, two measures need nothing but the evaluation text:
the language's writing system (:func:`dominant_script`, from Unicode character names) and the
overlap of the subword vocabularies the model uses for the two languages
(:func:`subword_overlap`, the Jaccard index of the subword types of parallel text), which is
what a shared multilingual vocabulary lets transfer through directly.

Example:
    >>> dominant_script(["Привет, мир", "Hello"])
    'Cyrillic'
    >>> dominant_script(["東京は大きい"])
    'Han'
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

#: Unicode name prefixes and the script they name (the first that matches wins).
SCRIPTS: tuple[tuple[str, str], ...] = (
    ("LATIN", "Latin"), ("CYRILLIC", "Cyrillic"), ("GREEK", "Greek"), ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"), ("DEVANAGARI", "Devanagari"), ("BENGALI", "Bengali"),
    ("THAI", "Thai"), ("MYANMAR", "Myanmar"), ("HANGUL", "Hangul"), ("CJK", "Han"),
    ("HIRAGANA", "Kana"), ("KATAKANA", "Kana"), ("GEORGIAN", "Georgian"),
    ("ARMENIAN", "Armenian"), ("ETHIOPIC", "Ethiopic"), ("TAMIL", "Tamil"),
    ("TELUGU", "Telugu"), ("KHMER", "Khmer"),
)


def char_script(ch: str) -> str | None:
    """The script of one letter (``None`` for digits, punctuation, spaces and letters of a
    script not in :data:`SCRIPTS`).

    Example:
        >>> char_script("a"), char_script("ж"), char_script("7"), char_script(" ")
        ('Latin', 'Cyrillic', None, None)
    """
    if len(ch) != 1:
        raise ValueError(f"char_script: expected one character, got {ch!r}")
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    for prefix, script in SCRIPTS:
        if name.startswith(prefix):
            return script
    return None


def dominant_script(texts: Iterable[str]) -> str:
    """The script of most letters in ``texts`` (``"other"`` when no letter has a known
    script). Japanese, which mixes kana and Han, is ``"Kana"`` when kana letters are the
    majority.

    Example:
        >>> dominant_script(["सभी मनुष्यों को", "abc"])
        'Devanagari'
    """
    counts: Counter[str] = Counter()
    n_texts = 0
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"dominant_script: texts must be strings, got {type(t).__name__}")
        n_texts += 1
        counts.update(s for s in map(char_script, t) if s is not None)
    if n_texts == 0:
        raise ValueError("dominant_script: no texts")
    return counts.most_common(1)[0][0] if counts else "other"


def subword_types(tokenizer: Any, texts: Iterable[str]) -> set[str]:
    """The set of subword types ``tokenizer`` produces for ``texts`` (special tokens
    excluded).

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> sorted(subword_types(build_word_tokenizer(["ka", "po"]), ["ka po", "ka"]))
        ['ka', 'po']
    """
    specials = set(getattr(tokenizer, "all_special_tokens", ()))
    out: set[str] = set()
    for t in texts:
        out.update(x for x in tokenizer.tokenize(t) if x not in specials)
    return out


def subword_overlap(tokenizer: Any, texts: Sequence[str], reference: Sequence[str]) -> float:
    """Jaccard index of the subword types of ``texts`` and of ``reference`` (e.g. a language's
    sentences and their English translations): 1 when the model writes both with the same
    subwords, 0 when they share none. Use parallel text of the same size for every language,
    so the measure compares languages, not amounts of text.

    Example:
        >>> from xtutor.tokenization import build_word_tokenizer
        >>> tok = build_word_tokenizer(["ka", "po", "mi"])
        >>> subword_overlap(tok, ["ka po"], ["ka mi"])
        0.3333333333333333
    """
    if not texts or not reference:
        raise ValueError("subword_overlap: texts and reference must both be non-empty")
    a, b = subword_types(tokenizer, texts), subword_types(tokenizer, reference)
    if not a | b:
        raise ValueError("subword_overlap: the tokenizer produced no subwords for either side")
    return len(a & b) / len(a | b)


__all__ = ["SCRIPTS", "char_script", "dominant_script", "subword_overlap", "subword_types"]
