"""What constrains an attack: budget, protected words and positions, which side may change.

A position is ``(side, index)``: ``side`` 0 is the premise, 1 the hypothesis, ``index`` the
whitespace token (see :mod:`xtutor.attacks.words`). :class:`Constraints` says which positions
may be edited and how many; the search never edits a position twice (no repeated
modification of a word) and :meth:`Constraints.violations` re-checks a finished perturbation.

Example:
    >>> c = Constraints(max_word_fraction=0.5, sides="hypothesis", protected_words={"not"})
    >>> pair = (("a", "dog", "runs"), ("the", "dog", "does", "not", "run."))
    >>> c.allowed_positions(pair)
    [(1, 0), (1, 1), (1, 2), (1, 4)]
    >>> c.budget(pair)
    2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from xtutor.attacks.words import core

Side = Literal["premise", "hypothesis", "both"]
SIDES: tuple[str, ...] = ("premise", "hypothesis", "both")
TokenPair = tuple[tuple[str, ...], tuple[str, ...]]
Position = tuple[int, int]


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
    adjacent characters each cost 1.

    Example:
        >>> edit_distance("form", "from"), edit_distance("cat", "cart"), edit_distance("", "ab")
        (1, 1, 2)
    """
    n, m = len(a), len(b)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[n][m]


@dataclass(frozen=True)
class Constraints:
    """Limits on a perturbation.

    Attributes:
        max_word_fraction: at most ``floor(max_word_fraction * n)`` words changed, ``n`` the
            number of words on the sides that may change (so the perturbed fraction never
            exceeds it).
        max_words: an absolute cap on changed words as well (None: no cap).
        max_char_edits: at most this many character edits (:func:`edit_distance`) inside one
            word, for character-level transformations; None: no limit (word substitution and
            code-switching replace whole words).
        sides: which side may change: ``"premise"``, ``"hypothesis"`` or ``"both"``.
        protected_words: words never edited (compared case-insensitively, punctuation
            stripped), e.g. negation words whose change would change the gold label.
        protected_positions: ``(side, index)`` positions never edited.
        protected_substrings: words containing one of these never edited (negation particles
            written inside a longer word, e.g. Myanmar ``မဟုတ်``).
        protect_numbers: never edit a word with a digit in any script (``12``, ``۱۲``,
            ``၁၂``): numbers decide many NLI labels.
        protect_names: never edit a capitalised word that does not start a sentence (a
            heuristic for named entities in cased scripts; caseless scripts such as Arabic,
            Devanagari or Myanmar are not covered).
        label_check: ``(original, candidate, gold) -> bool``, whether a candidate perturbation
            keeps the gold label; the search never queries (or returns) a candidate it
            rejects. Only where the label can be decided exactly, as on the toy family
            (:func:`xtutor.toyreading.label_preserved`); None: no check.
    """

    max_word_fraction: float = 0.2
    max_words: int | None = None
    max_char_edits: int | None = None
    sides: Side = "both"
    protected_words: frozenset[str] = field(default_factory=frozenset)
    protected_positions: frozenset[Position] = field(default_factory=frozenset)
    protected_substrings: frozenset[str] = field(default_factory=frozenset)
    protect_numbers: bool = False
    protect_names: bool = False
    label_check: Callable[[TokenPair, TokenPair, int], bool] | None = field(
        default=None, compare=False)

    def __post_init__(self) -> None:
        if self.label_check is not None and not callable(self.label_check):
            raise TypeError("label_check must be a callable (original, candidate, gold) -> bool "
                            f"or None, got {type(self.label_check).__name__}")
        if not 0.0 <= float(self.max_word_fraction) <= 1.0:
            raise ValueError(f"max_word_fraction must be in [0, 1], got {self.max_word_fraction}")
        if self.max_words is not None and self.max_words < 0:
            raise ValueError(f"max_words must be >= 0 or None, got {self.max_words}")
        if self.max_char_edits is not None and self.max_char_edits < 1:
            raise ValueError(f"max_char_edits must be >= 1 or None, got {self.max_char_edits}")
        if self.sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, got {self.sides!r}")
        if isinstance(self.protected_words, str):
            raise TypeError("protected_words must be a collection of words, not one string")
        object.__setattr__(self, "protected_words",
                           frozenset(w.lower() for w in self.protected_words))
        if isinstance(self.protected_substrings, str):
            raise TypeError("protected_substrings must be a collection of strings, not one "
                            "string")
        object.__setattr__(self, "protected_substrings",
                           frozenset(w.lower() for w in self.protected_substrings if w))
        pos = frozenset(tuple(p) for p in self.protected_positions)
        bad = [p for p in pos if len(p) != 2 or p[0] not in (0, 1)]
        if bad:
            raise ValueError(f"protected_positions must be (side, index) with side 0 (premise) "
                             f"or 1 (hypothesis), got {sorted(bad)}")
        object.__setattr__(self, "protected_positions", pos)

    @property
    def side_ids(self) -> tuple[int, ...]:
        """The sides that may change, as 0 (premise) / 1 (hypothesis)."""
        return {"premise": (0,), "hypothesis": (1,), "both": (0, 1)}[self.sides]

    def n_words(self, pair: TokenPair) -> int:
        """Words on the sides that may change (the denominator of the perturbed fraction)."""
        return sum(len(pair[s]) for s in self.side_ids)

    def budget(self, pair: TokenPair) -> int:
        """How many words may change in ``pair``."""
        b = math.floor(self.max_word_fraction * self.n_words(pair) + 1e-9)
        return b if self.max_words is None else min(b, self.max_words)

    def allowed_positions(self, pair: TokenPair) -> list[Position]:
        """Positions that may be edited: on an allowed side, with letters or digits, not
        protected."""
        out = []
        for s in self.side_ids:
            for i, tok in enumerate(pair[s]):
                c = core(tok)
                if c and c.lower() not in self.protected_words and \
                        (s, i) not in self.protected_positions and \
                        not any(x in c.lower() for x in self.protected_substrings) and \
                        not (self.protect_numbers and is_number(c)) and \
                        not (self.protect_names and is_name(pair[s], i)):
                    out.append((s, i))
        return out

    def keeps_label(self, original: TokenPair, candidate: TokenPair, gold: int) -> bool:
        """Whether ``candidate`` passes :attr:`label_check` (always, without one).

        Example:
            >>> c = Constraints(label_check=lambda o, p, y: "not" in p[1])
            >>> c.keeps_label(((), ("not",)), ((), ("no",)), 0), Constraints().keeps_label(
            ...     ((), ("not",)), ((), ("no",)), 0)
            (False, True)
        """
        return self.label_check is None or bool(self.label_check(original, candidate, gold))

    def word_ok(self, original: str, candidate: str) -> bool:
        """Whether ``candidate`` may replace ``original`` (the char-edit limit)."""
        return self.max_char_edits is None or \
            edit_distance(original, candidate) <= self.max_char_edits

    def violations(self, original: TokenPair, perturbed: TokenPair) -> list[str]:
        """Reasons why ``perturbed`` is not an allowed perturbation of ``original`` (empty
        when it is)."""
        out = []
        if any(len(original[s]) != len(perturbed[s]) for s in (0, 1)):
            return ["the number of words changed (attacks replace words one for one)"]
        allowed = set(self.allowed_positions(original))
        changed = [(s, i) for s in (0, 1) for i, (a, b) in
                   enumerate(zip(original[s], perturbed[s], strict=True)) if a != b]
        out += [f"position {p} ({original[p[0]][p[1]]!r}) may not change" for p in changed
                if p not in allowed]
        if len(changed) > self.budget(original):
            out.append(f"{len(changed)} words changed, budget {self.budget(original)}")
        out += [f"position {p}: {original[p[0]][p[1]]!r} -> {perturbed[p[0]][p[1]]!r} exceeds "
                f"{self.max_char_edits} character edits" for p in changed
                if not self.word_ok(core(original[p[0]][p[1]]), core(perturbed[p[0]][p[1]]))]
        return out


def is_number(word: str) -> bool:
    """Whether ``word`` contains a digit of any script.

    Example:
        >>> is_number("1990"), is_number("۱۲"), is_number("two")
        (True, True, False)
    """
    return any(ch.isdigit() for ch in word)


def is_name(tokens: Sequence[str], i: int) -> bool:
    """Whether ``tokens[i]`` looks like a name: capitalised (a cased script) and not the first
    word of a sentence.

    Example:
        >>> t = "The man met Maria in Paris . He".split()
        >>> [w for i, w in enumerate(t) if is_name(t, i)]
        ['Maria', 'Paris']
    """
    c = core(tokens[i])
    if not c or not c[0].isupper() or c[0] == c[0].lower():
        return False
    if i == 0:
        return False
    return tokens[i - 1].rstrip()[-1:] not in ".!?\"'«“:"


def changed_positions(original: TokenPair, perturbed: TokenPair) -> list[Position]:
    """Positions whose token differs between two token pairs of the same shape.

    Example:
        >>> changed_positions((("a", "b"), ("c",)), (("a", "x"), ("c",)))
        [(0, 1)]
    """
    return [(s, i) for s in (0, 1)
            for i, (a, b) in enumerate(zip(original[s], perturbed[s], strict=True)) if a != b]


def as_frozenset(words: Iterable[str] | None) -> frozenset[str]:
    """``words`` as a frozenset (None: empty)."""
    return frozenset(words or ())
