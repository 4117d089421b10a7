"""Words an attack must not touch because changing them can change the gold label.

A word-substitution or code-switching attack is meant to keep the meaning of a pair; replacing
"not" with "also", "1990" with "1991" or "Maria" with "Anna" changes the question, and a
changed prediction there is not a fooled model. :func:`label_protection` gives the
:class:`~xtutor.attacks.constraints.Constraints` settings that protect, per language:

- negation words (standalone words; for Myanmar, negation written inside a longer word is
  matched as a substring: ``မဟုတ်`` "is not", ``မရှိ`` "there is not", the final ``ဘူး``;
  for Korean the stems of the inflected negators: ``않`` of ``-지 않다``, ``없`` "there is
  not", ``아니``/``아닌`` "is not", ``못하`` "cannot");
- numbers in any script (``protect_numbers``);
- capitalised words inside a sentence, a named-entity heuristic for cased scripts
  (``protect_names``).

Limits, said plainly: Swahili marks most negation with verb prefixes (``ha-``, ``si-``), so
only its standalone negators and the common negated copulas are listed; names in caseless
scripts (Urdu, Myanmar, Korean) are not detected; Japanese and Chinese, written without
spaces, have no list (the word attacks edit whitespace words, see
:mod:`xtutor.attacks.words`). These lists were written for this project from grammar
references, not taken from another tool.

Example:
    >>> p = label_protection("en")
    >>> "not" in p["protected_words"], p["protect_numbers"], p["protect_names"]
    (True, True, True)
    >>> label_protection("xx")["protected_words"]
    ()
"""

from __future__ import annotations

from typing import Any

#: Standalone negation words per language (lower case).
NEGATION_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("not", "no", "never", "n't", "nobody", "nothing", "none", "neither", "nor",
           "nowhere", "without", "cannot", "can't", "don't", "doesn't", "didn't", "isn't",
           "aren't", "wasn't", "weren't", "won't", "wouldn't", "shouldn't", "couldn't",
           "hasn't", "haven't", "hadn't", "havent", "dont", "didnt", "isnt", "wasnt"),
    "es": ("no", "nunca", "jamás", "ni", "nada", "nadie", "ninguno", "ninguna", "ningún",
           "sin", "tampoco"),
    "fr": ("ne", "n'", "pas", "jamais", "rien", "personne", "aucun", "aucune", "sans", "ni",
           "non"),
    "de": ("nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals",
           "nichts", "niemand", "ohne", "weder", "noch"),
    "sw": ("si", "sio", "siyo", "hapana", "bila", "hakuna", "wala", "hakuwa", "hawakuwa",
           "hajawahi", "sijawahi", "sikuwa", "haikuwa", "hatukuwa"),
    "ur": ("نہیں", "نہ", "مت", "بغیر", "بلا", "کبھی"),
    "hi": ("नहीं", "न", "मत", "बिना", "कभी"),
    "my": (),
    "ko": ("안", "못", "전혀", "결코"),
}

#: Negation written inside longer words, matched as substrings (lower case).
NEGATION_SUBSTRINGS: dict[str, tuple[str, ...]] = {
    "my": ("မဟုတ်", "မရှိ", "ဘူး"),
    "ko": ("않", "없", "아니", "아닌", "아님", "못하"),
}


def label_protection(lang: str) -> dict[str, Any]:
    """Constraints settings that keep a pair's gold label in language ``lang``: keyword
    arguments for :class:`xtutor.attacks.study.AttackConfig` (and the attack recipes).
    Languages without lists still get numbers and names protected."""
    if not isinstance(lang, str) or not lang:
        raise ValueError(f"lang must be a language code such as 'en', got {lang!r}")
    return {"protected_words": NEGATION_WORDS.get(lang, ()),
            "protected_substrings": NEGATION_SUBSTRINGS.get(lang, ()),
            "protect_numbers": True, "protect_names": True}


__all__ = ["NEGATION_SUBSTRINGS", "NEGATION_WORDS", "label_protection"]
