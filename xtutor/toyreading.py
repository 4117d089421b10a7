"""An exact reader of the toy languages: parsing, word readings and a label oracle for attacks.

Word-level attacks (:mod:`xtutor.attacks`) replace words in place. On real text nobody can say
whether a replacement kept the gold label; on the toy family (:mod:`xtutor.toyworld`) the
generator's semantics can. This module reads toy sentences back into :class:`Meaning` objects:

- :func:`lexicon` indexes every word form of every language of a world (nouns in number and
  case, attributes, verbs in voice, agreement and negation, function words) by its readings;
  :func:`word_readings` looks one form up;
- :func:`parse` finds every ``(meaning, voice)`` whose rendering is exactly the given words;
- :func:`read_substituted` reads a perturbed sentence *positionally* against the analysis of
  its clean version, with these rules for a changed position:

  - a non-word (in no language of the world: a typo) is read as the clean word;
  - a noun position (slot ``A`` or ``P``) takes a noun reading: the entity and number of that
    noun phrase are replaced, its attributes kept (case is not read: roles come from the clean
    analysis);
  - an attribute position (``A.attr3``) takes an attribute reading: that attribute is replaced,
    the noun phrase's attributes are sorted and de-duplicated;
  - a verb position takes a verb reading: the verb is replaced (voice and agreement are not
    read). Negation carried by the verb follows the new form: in a language with negation
    affixes the sentence is negated iff the new form carries a negation affix; in a particle
    language a new form with a negation affix negates the sentence, one without leaves the
    particle's negation as it was;
  - a negation-particle position keeps the negation only if the new word reads as a negation
    word of some language; any other word drops it;
  - case-particle (``ACC``) and passive agent marker (``BY``) positions need a word of the same
    function, otherwise the sentence is unreadable;
  - an unreadable position makes the reading empty; a word with several compatible readings
    gives every resulting meaning;
- :func:`nli_label_preserved`, :func:`label_preserved` and :func:`label_preserved_rate` say
  whether a perturbed pair still has its gold label under *every* reading
  (:func:`xtutor.toyworld.nli_label`);
- :func:`protected_words` lists the word forms that carry polarity, case or voice: the
  ``protected_words`` an attack should leave alone.

The lexicon lists the forms of :meth:`ToyWorld.vocabulary`, so the negation and accusative
morphemes of languages that attach them to words are words too (a :class:`FunctionReading`
with ``free=False``); a negation position accepts them as negation.

Example:
    >>> from xtutor.toyworld import ToyWorld, WorldConfig
    >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
    >>> dog, big_dog, cat = NounPhrase(0), NounPhrase(0, (1,)), NounPhrase(3)
    >>> p = w.render(Meaning(big_dog, 2, cat), "L0").text
    >>> h = w.render(Meaning(dog, 2, cat, negated=True), "L0").text
    >>> p, h
    ('kemlam zema nuretbi kettusos', 'zema se nuretbi kettusos')
    >>> parse(w, h, "L0") == [(Meaning(dog, 2, cat, negated=True), "active")]
    True
    >>> nli_label_preserved(w, "L0", p, "L0", h, p, "zema fumik nuretbi kettusos", gold=2)
    False
    >>> nli_label_preserved(w, "L0", p, "L0", h, p, "zema sx nuretbi kettusos", gold=2)
    True
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from xtutor.data.types import NLI_LABELS, PairExample
from xtutor.toylanguages import Meaning, NounPhrase, Voice, WorldConfig
from xtutor.toyworld import ToyWorld, nli_label

_AFFIX_NEGATION = ("prefix", "suffix")


@dataclass(frozen=True)
class NounReading:
    """A noun form: ``entity`` in a number, with the accusative suffix (``acc``) or not."""

    lang: str
    entity: int
    plural: bool = False
    acc: bool = False


@dataclass(frozen=True)
class AttributeReading:
    """An attribute (adjective) form."""

    lang: str
    attr: int


@dataclass(frozen=True)
class VerbReading:
    """A verb form. ``negated``: it carries a negation affix; ``agreement``: the plural-subject
    agreement affix."""

    lang: str
    verb: int
    negated: bool = False
    passive: bool = False
    agreement: bool = False


@dataclass(frozen=True)
class FunctionReading:
    """A function word: ``kind`` ``"NEG"`` (negation), ``"ACC"`` (accusative) or ``"BY"``
    (passive agent marker). ``free``: the morpheme is a word of its own in sentences of its
    language (a particle), not an affix (or, for ``ACC``, unused: no case marking)."""

    lang: str
    kind: Literal["NEG", "ACC", "BY"]
    free: bool = True


Reading = NounReading | AttributeReading | VerbReading | FunctionReading


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Every word form of a world's languages with its readings.

    Attributes:
        config: the world's configuration (a world is deterministic given it).
        readings: word form -> its readings in every language.
        by_lang: language code -> word form -> its readings in that language, in a fixed order.
    """

    config: WorldConfig
    readings: Mapping[str, frozenset[Reading]]
    by_lang: Mapping[str, Mapping[str, tuple[Reading, ...]]]

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is a form of some language of the world."""
        return word in self.readings


def _build_lexicon(world: ToyWorld) -> Lexicon:
    cfg = world.config
    per_lang: dict[str, dict[str, list[Reading]]] = {}
    for code in world.languages:
        L = world.language(code)
        table: dict[str, list[Reading]] = {}

        def add(word: str, reading: Reading, table: dict[str, list[Reading]] = table) -> None:
            lst = table.setdefault(word, [])
            if reading not in lst:
                lst.append(reading)

        for e in range(cfg.n_entities):
            for plural, case in itertools.product((False, True), (False, True)):
                acc = case and L.case_marking == "suffix"  # other languages: no case form
                add(world._noun(L, NounPhrase(e, (), plural), acc),
                    NounReading(code, e, plural, acc))
        for a, form in enumerate(L.attributes):
            add(form, AttributeReading(code, a))
        for v in range(cfg.n_verbs):
            for neg, passive, pl in itertools.product((False, True), repeat=3):
                add(world._verb(L, v, neg, passive, pl),
                    VerbReading(code, v, neg and L.negation in _AFFIX_NEGATION, passive,
                                pl and L.verb_agreement))
        add(L.neg_word, FunctionReading(code, "NEG", L.negation not in _AFFIX_NEGATION))
        add(L.acc_affix, FunctionReading(code, "ACC", L.case_marking == "particle"))
        add(L.by_word, FunctionReading(code, "BY", True))
        per_lang[code] = table
    merged: dict[str, set[Reading]] = {}
    for table in per_lang.values():
        for word, rs in table.items():
            merged.setdefault(word, set()).update(rs)
    return Lexicon(
        config=cfg,
        readings=MappingProxyType({w: frozenset(rs) for w, rs in merged.items()}),
        by_lang=MappingProxyType({
            code: MappingProxyType({w: tuple(rs) for w, rs in table.items()})
            for code, table in per_lang.items()
        }),
    )


@functools.lru_cache(maxsize=16)
def _lexicon_for_config(config: WorldConfig) -> Lexicon:
    return _build_lexicon(ToyWorld(config))


def lexicon(world: ToyWorld) -> Lexicon:
    """The :class:`Lexicon` of ``world``, cached per ``world.config`` (a :class:`ToyWorld` is
    deterministic given its configuration).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> lex = lexicon(w)
        >>> sorted(lex.readings) == w.vocabulary() and lexicon(w) is lex
        True
    """
    if not isinstance(world, ToyWorld):
        raise TypeError(f"world must be a ToyWorld, got {type(world).__name__}")
    return _lexicon_for_config(world.config)


def word_readings(world: ToyWorld, word: str) -> frozenset[Reading]:
    """Everything the word form ``word`` can be in any language of ``world`` (empty if it is
    no word of the world).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> sorted(word_readings(w, "se"), key=repr)
        [FunctionReading(lang='L0', kind='NEG', free=True)]
        >>> sorted(word_readings(w, "ροκθελωχλε"), key=repr)
        [VerbReading(lang='L1', verb=2, negated=True, passive=False, agreement=False)]
        >>> word_readings(w, "xyz")
        frozenset()
    """
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    return lexicon(world).readings.get(word, frozenset())


def _tokens(value: str | Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, Sequence) and all(isinstance(t, str) for t in value):
        return tuple(value)
    raise TypeError(f"{name} must be a str or a sequence of str, got {type(value).__name__}")


def parse(world: ToyWorld, text_or_tokens: str | Sequence[str], lang: str
          ) -> list[tuple[Meaning, Voice]]:
    """Every ``(meaning, voice)`` whose rendering in ``lang`` is exactly these words.

    A string is split on whitespace. Words are looked up in the language's lexicon; the
    candidate meanings (which words are the two nouns and the verb, the attributes attached to
    the noun they stand next to, both role orders, polarity) are rendered and kept when the
    rendering matches. The result is empty when the words are no sentence of ``lang``.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> m = Meaning(NounPhrase(0, (1,)), 2, NounPhrase(3), negated=True)
        >>> s = w.render(m, "L1", "passive")
        >>> parse(w, s.text, "L1") == [(m, "passive")]
        True
        >>> parse(w, "kettusos zema", "L0")
        []
    """
    L = world.language(lang)
    tokens = _tokens(text_or_tokens, "text_or_tokens")
    table = lexicon(world).by_lang[L.code]
    options: list[tuple[Reading, ...]] = []
    for t in tokens:
        rs = table.get(t)
        if not rs:
            return []
        options.append(rs)
    negs = (False, True)
    out: list[tuple[Meaning, Voice]] = []
    for combo in itertools.product(*options):
        nouns = [i for i, r in enumerate(combo) if isinstance(r, NounReading)]
        verbs = [i for i, r in enumerate(combo) if isinstance(r, VerbReading)]
        if len(nouns) != 2 or len(verbs) != 1:
            continue
        attrs: dict[int, list[int]] = {nouns[0]: [], nouns[1]: []}
        ok = True
        for i, r in enumerate(combo):
            if isinstance(r, AttributeReading):
                # the renderer keeps a noun phrase's adjectives next to its noun
                if L.adjective_position == "before":
                    owner = next((j for j in nouns if j > i), None)
                else:
                    owner = next((j for j in reversed(nouns) if j < i), None)
                if owner is None:
                    ok = False
                    break
                attrs[owner].append(r.attr)
        if not ok:
            continue
        nps = {}
        for j in nouns:
            r = combo[j]
            assert isinstance(r, NounReading)
            nps[j] = NounPhrase(r.entity, tuple(sorted(attrs[j])), r.plural)
        v = combo[verbs[0]]
        assert isinstance(v, VerbReading)
        voice: Voice = "passive" if v.passive else "active"
        for a, p in ((nouns[0], nouns[1]), (nouns[1], nouns[0])):
            for neg in negs:
                m = Meaning(nps[a], v.verb, nps[p], neg)
                if (m, voice) not in out and world.render(m, L.code, voice).tokens == tokens:
                    out.append((m, voice))
    return out


def _slot_kind(slot: frozenset[str]) -> tuple[str, str, int]:
    """``(kind, role, attribute)`` of a rendered word's slot set."""
    if "V" in slot:
        return "verb", "", -1
    for role in ("A", "P"):
        if role in slot:
            return "noun", role, -1
    for s in slot:
        if ".attr" in s:
            role, _, k = s.partition(".attr")
            return "attr", role, int(k)
    if "NEG" in slot:
        return "neg", "", -1
    if "ACC" in slot:
        return "acc", "", -1
    if "BY" in slot:
        return "by", "", -1
    raise ValueError(f"unknown slot set {sorted(slot)}")  # pragma: no cover


def read_substituted(world: ToyWorld, lang: str, clean_tokens: str | Sequence[str],
                     new_tokens: str | Sequence[str]) -> set[Meaning]:
    """The meanings of ``new_tokens``, a word-by-word substitution of the ``lang`` sentence
    ``clean_tokens``, read position by position against the clean analysis (the rules are in
    the module docstring). Empty when some changed position is unreadable.

    Strings are split on whitespace. Raises ``ValueError`` when ``clean_tokens`` is no sentence
    of ``lang`` or when the two have different lengths.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> clean = "zema se nuretbi kettusos"
        >>> read_substituted(w, "L0", clean, "zema se nuretbi neru") == {
        ...     Meaning(NounPhrase(0), 2, NounPhrase(1), negated=True)}
        True
        >>> read_substituted(w, "L0", clean, "zema fumik nuretbi kettusos") == {
        ...     Meaning(NounPhrase(0), 2, NounPhrase(3), negated=False)}
        True
        >>> read_substituted(w, "L0", clean, "zema se fumik kettusos")
        set()
    """
    return _read(world, lang, clean_tokens, new_tokens, "clean_tokens", "new_tokens")


def _read(world: ToyWorld, lang: str, clean_tokens: str | Sequence[str],
          new_tokens: str | Sequence[str], clean_name: str, new_name: str) -> set[Meaning]:
    clean = _tokens(clean_tokens, clean_name)
    new = _tokens(new_tokens, new_name)
    if len(clean) != len(new):
        raise ValueError(f"{new_name} has {len(new)} words but {clean_name} has {len(clean)}: "
                         "only in-place substitutions can be read")
    analyses = parse(world, clean, lang)
    if not analyses:
        raise ValueError(f"{clean_name} {' '.join(clean)!r} is not a sentence of {lang!r}")
    lex = lexicon(world)
    out: set[Meaning] = set()
    for meaning, voice in analyses:
        sent = world.render(meaning, lang, voice)
        nouns = {"A": meaning.agent, "P": meaning.patient}
        attr_pos: dict[int, tuple[str, int]] = {}
        neg_src: dict[int, bool] = {}
        kinds = []
        for i, slot in enumerate(sent.slots):
            kind, role, k = _slot_kind(slot)
            kinds.append((kind, role))
            if kind == "attr":
                attr_pos[i] = (role, k)
            elif kind == "neg" or (kind == "verb" and "NEG" in slot):
                neg_src[i] = True
        # per changed position, the edits it allows: (field, position or role, value)
        choices: list[list[tuple]] = []
        readable = True
        for i, (old, word) in enumerate(zip(clean, new, strict=True)):
            if old == word or not lex.is_word(word):
                continue
            rs = lex.readings[word]
            kind, role = kinds[i]
            if kind == "noun":
                edits = [("noun", role, (r.entity, r.plural))
                         for r in rs if isinstance(r, NounReading)]
            elif kind == "attr":
                edits = [("attr", i, r.attr) for r in rs if isinstance(r, AttributeReading)]
            elif kind == "verb":
                edits = [("verb", i, (r.verb, r.negated))
                         for r in rs if isinstance(r, VerbReading)]
            elif kind == "neg":
                edits = [("neg", i, isinstance(r, FunctionReading) and r.kind == "NEG")
                         for r in rs]
            else:
                want = kind.upper()
                edits = [("keep", i, None) for r in rs
                         if isinstance(r, FunctionReading) and r.kind == want]
            edits = sorted(set(edits), key=repr)
            if not edits:
                readable = False
                break
            choices.append(edits)
        if not readable:
            continue
        if not choices:
            out.add(meaning)
            continue
        for combo in itertools.product(*choices):
            ent = {role: (np_.entity, np_.plural) for role, np_ in nouns.items()}
            attr_vals = {i: k for i, (_, k) in attr_pos.items()}
            negs = dict(neg_src)
            verb = meaning.verb
            for field, where, value in combo:
                if field == "noun":
                    ent[where] = value
                elif field == "attr":
                    attr_vals[where] = value
                elif field == "verb":
                    verb, negs[where] = value
                elif field == "neg":
                    negs[where] = value
            phrases = {
                role: NounPhrase(ent[role][0],
                                 tuple(sorted({attr_vals[i] for i, (r, _) in attr_pos.items()
                                               if r == role})),
                                 ent[role][1])
                for role in nouns
            }
            out.add(Meaning(phrases["A"], verb, phrases["P"], any(negs.values())))
    return out


def nli_label_preserved(world: ToyWorld, premise_lang: str, premise: str | Sequence[str],
                        hypothesis_lang: str, hypothesis: str | Sequence[str],
                        new_premise: str | Sequence[str], new_hypothesis: str | Sequence[str],
                        gold: int) -> bool:
    """Whether the perturbed pair ``(new_premise, new_hypothesis)`` still has the NLI label
    ``gold`` (an index into ``NLI_LABELS``) under every reading (:func:`read_substituted`).

    False when either side is unreadable. Strings are split on whitespace.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> p, h = "kemlam zema nuretbi kettusos", "zema nuretbi kettusos"
        >>> NLI_LABELS.index("entailment")
        0
        >>> nli_label_preserved(w, "L0", p, "L0", h, p, h, gold=0)
        True
        >>> nli_label_preserved(w, "L0", p, "L0", h, p, "neru nuretbi kettusos", gold=0)
        False
    """
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(NLI_LABELS):
        raise ValueError(f"gold must be an index into NLI_LABELS {NLI_LABELS}, got {gold!r}")
    ps = _read(world, premise_lang, premise, new_premise, "premise", "new_premise")
    hs = _read(world, hypothesis_lang, hypothesis, new_hypothesis, "hypothesis",
               "new_hypothesis")
    if not ps or not hs:
        return False
    return all(nli_label(p, h) == gold for p in ps for h in hs)


def label_preserved(world: ToyWorld, clean: PairExample, perturbed: PairExample) -> bool:
    """:func:`nli_label_preserved` for a clean NLI example and its perturbed copy (the clean
    example's languages and label are used).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> ex = w.nli(3, "L1", seed=0)[0]
        >>> label_preserved(w, ex, ex)
        True
    """
    for name, ex in (("clean", clean), ("perturbed", perturbed)):
        if not isinstance(ex, PairExample):
            raise TypeError(f"{name} must be a PairExample, got {type(ex).__name__}")
    return nli_label_preserved(world, clean.premise_lang, clean.premise, clean.hypothesis_lang,
                               clean.hypothesis, perturbed.premise, perturbed.hypothesis,
                               clean.label)


def label_preserved_rate(world: ToyWorld, pairs: Iterable[tuple[PairExample, PairExample]]
                         ) -> float:
    """The fraction of ``(clean, perturbed)`` NLI example pairs whose gold label survives the
    perturbation (:func:`label_preserved`).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> ds = w.nli(10, "L0", seed=0)
        >>> label_preserved_rate(w, [(ex, ex) for ex in ds])
        1.0
    """
    flags = [label_preserved(world, clean, new) for clean, new in pairs]
    if not flags:
        raise ValueError("pairs is empty: no (clean, perturbed) examples to check")
    return sum(flags) / len(flags)


def protected_words(world: ToyWorld) -> frozenset[str]:
    """Word forms whose substitution can change a label without changing a content word:
    negation words and morphemes, verb forms with a negation affix, accusative particles and
    morphemes, accusative (suffixed) noun forms and passive agent markers, in every language.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2, seed=0))
        >>> prot = protected_words(w)
        >>> "se" in prot, "ροκθελωχλε" in prot, "zema" in prot
        (True, True, False)
    """
    out = set()
    for word, rs in lexicon(world).readings.items():
        for r in rs:
            if (isinstance(r, FunctionReading) or (isinstance(r, VerbReading) and r.negated)
                    or (isinstance(r, NounReading) and r.acc)):
                out.add(word)
                break
    return frozenset(out)


__all__ = [
    "AttributeReading",
    "FunctionReading",
    "Lexicon",
    "NounReading",
    "Reading",
    "VerbReading",
    "label_preserved",
    "label_preserved_rate",
    "lexicon",
    "nli_label_preserved",
    "parse",
    "protected_words",
    "read_substituted",
    "word_readings",
]
