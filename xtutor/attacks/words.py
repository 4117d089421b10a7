"""Splitting a sentence into editable words and putting it back together.

Attacks edit whitespace-separated tokens. Each token is split into leading punctuation, a
*core* (what transformations change) and trailing punctuation, so ``"tena."`` is edited as
``"tena"`` and keeps its full stop. Scripts written without spaces (Chinese, Japanese, Thai)
are one token per space-separated run; segment them first if word-level edits are wanted.

Example:
    >>> split_token("(Hund),")
    ('(', 'Hund', '),')
    >>> words("Naam, sikukuwa  nafikiri.")
    ('Naam,', 'sikukuwa', 'nafikiri.')
    >>> replace_core("tena.", "pena")
    'pena.'
"""

from __future__ import annotations

import unicodedata

#: Premise and hypothesis, as indices into a pair (``side`` in positions).
PREMISE, HYPOTHESIS = 0, 1


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LNM"  # letters, numbers, combining marks


def split_token(token: str) -> tuple[str, str, str]:
    """``(leading punctuation, core, trailing punctuation)`` of one whitespace token."""
    i, j = 0, len(token)
    while i < j and not _is_word_char(token[i]):
        i += 1
    while j > i and not _is_word_char(token[j - 1]):
        j -= 1
    return token[:i], token[i:j], token[j:]


def core(token: str) -> str:
    """The editable part of ``token`` (empty for pure punctuation)."""
    return split_token(token)[1]


def replace_core(token: str, new_core: str) -> str:
    """``token`` with its core replaced by ``new_core``, punctuation kept."""
    lead, _, trail = split_token(token)
    return lead + new_core + trail


def words(text: str) -> tuple[str, ...]:
    """The whitespace tokens of ``text`` (runs of whitespace collapse)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return tuple(text.split())


def join(tokens: tuple[str, ...] | list[str]) -> str:
    """Tokens back to text, one space between them."""
    return " ".join(tokens)


def match_case(template: str, word: str) -> str:
    """``word`` capitalised like ``template`` (all caps, first letter, or as is).

    Example:
        >>> match_case("Dog", "hund"), match_case("DOG", "hund"), match_case("dog", "Hund")
        ('Hund', 'HUND', 'Hund')
    """
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper() and word[:1].islower():
        return word[:1].upper() + word[1:]
    return word


def script_of(ch: str) -> str:
    """The script of a character, from its Unicode name (``LATIN``, ``GEORGIAN``, ...).

    Example:
        >>> script_of("a"), script_of("ж"), script_of("1")
        ('LATIN', 'CYRILLIC', 'DIGIT')
    """
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else "UNKNOWN"
