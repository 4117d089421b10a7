"""The toy-language reader: exact parsing, word readings and the label oracle for attacks."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from xtutor.data.types import NLI_LABELS, PairExample
from xtutor.toyreading import (
    AttributeReading,
    FunctionReading,
    NounReading,
    VerbReading,
    label_preserved,
    label_preserved_rate,
    lexicon,
    nli_label_preserved,
    parse,
    protected_words,
    read_substituted,
    word_readings,
)
from xtutor.toyworld import Meaning, NounPhrase, ToyWorld, WorldConfig, nli_label

ENT, NEU, CON = (NLI_LABELS.index(x) for x in ("entailment", "neutral", "contradiction"))
PARTICLE_NEG = ("particle_before_verb", "particle_after_verb", "initial", "final")
AFFIX_NEG = ("prefix", "suffix")


@pytest.fixture(scope="module")
def world() -> ToyWorld:
    return ToyWorld(WorldConfig())


def _lang_with(world: ToyWorld, **props: object) -> str:
    """The first language of ``world`` whose attributes satisfy ``props`` (a value or a tuple
    of accepted values)."""
    for code in world.languages:
        L = world.language(code)
        if all(getattr(L, k) in (v if isinstance(v, tuple) else (v,)) for k, v in props.items()):
            return code
    pytest.fail(f"no language with {props} in {world.config}")


def _world_with(**props: object) -> tuple[ToyWorld, str]:
    """A small-seed world (default sizes) with a language satisfying ``props``."""
    for seed in range(50):
        w = ToyWorld(WorldConfig(seed=seed))
        for code in w.languages:
            L = w.language(code)
            if all(getattr(L, k) in (v if isinstance(v, tuple) else (v,))
                   for k, v in props.items()):
                return w, code
    pytest.fail(f"no language with {props} in seeds 0..49")


def _slots(world: ToyWorld, text: str, lang: str) -> list[frozenset[str]]:
    (m, voice), = parse(world, text, lang)
    return list(world.render(m, lang, voice).slots)


def _replace_at(text: str, i: int, word: str) -> str:
    toks = text.split()
    toks[i] = word
    return " ".join(toks)


def _other_entity(np_: NounPhrase, n: int) -> NounPhrase:
    return replace(np_, entity=(np_.entity + 1) % n)


# ---------------------------------------------------------------- lexicon and word readings
def test_lexicon_covers_the_vocabulary_and_is_cached(world: ToyWorld) -> None:
    lex = lexicon(world)
    assert sorted(lex.readings) == world.vocabulary()
    assert lexicon(ToyWorld(WorldConfig())) is lex
    assert lexicon(ToyWorld(WorldConfig(seed=1))) is not lex
    for code in world.languages:
        assert set(lex.by_lang[code]) == set(world.vocabulary([code]))


def test_word_readings_of_every_kind(world: ToyWorld) -> None:
    L1 = world.language("L1")  # suffix negation, suffix case, agreement
    assert (L1.negation, L1.case_marking, L1.verb_agreement) == ("suffix", "suffix", True)
    noun = world._noun(L1, NounPhrase(5, (), True), acc=True)
    assert NounReading("L1", 5, True, True) in word_readings(world, noun)
    assert word_readings(world, L1.attributes[3]) == {AttributeReading("L1", 3)}
    verb = world._verb(L1, 7, neg=True, passive=True, plural_subj=True)
    assert VerbReading("L1", 7, True, True, True) in word_readings(world, verb)
    assert FunctionReading("L1", "NEG", free=False) in word_readings(world, L1.neg_word)
    assert FunctionReading("L1", "BY", free=True) in word_readings(world, L1.by_word)
    L0 = world.language("L0")
    assert word_readings(world, L0.neg_word) == {FunctionReading("L0", "NEG", free=True)}
    assert word_readings(world, "qqqq") == frozenset()
    # a particle-negation language's verb never reads as negated
    assert not any(r.negated for w in world.vocabulary(["L0"])
                   for r in word_readings(world, w) if isinstance(r, VerbReading))


def test_word_readings_in_a_particle_case_language() -> None:
    w, code = _world_with(case_marking="particle")
    L = w.language(code)
    assert FunctionReading(code, "ACC", free=True) in word_readings(w, L.acc_affix)
    # no noun of a particle-case language carries the accusative
    assert not any(r.acc for x in w.vocabulary([code]) for r in word_readings(w, x)
                   if isinstance(r, NounReading) and r.lang == code)


def test_anchor_nouns_read_in_every_language() -> None:
    w = ToyWorld(WorldConfig(n_languages=3, anchor_fraction=0.5))
    anchor = min(w.language("L0").anchors)
    form = w.language("L0").entities[anchor]
    assert {r.lang for r in word_readings(w, form)} == set(w.languages)
    assert {(r.entity, r.plural) for r in word_readings(w, form)} == {(anchor, False)}


# ---------------------------------------------------------------- parsing
@pytest.mark.parametrize("lang", ["L0", "L1", "L2", "L3"])
def test_parse_recovers_every_generated_sentence(world: ToyWorld, lang: str) -> None:
    ds = world.nli(200, lang, seed=1)
    triples = world.nli_meanings(200, seed=1)
    unique = total = 0
    for ex, (p, h, y) in zip(ds, triples, strict=True):
        assert ex.label == y
        analyses = {}
        for side, text, m in (("p", ex.premise, p), ("h", ex.hypothesis, h)):
            a = parse(world, text, lang)
            voices = [v for v in ("active", "passive") if world.render(m, lang, v).text == text]
            assert voices, "the generating meaning does not render this text"
            assert all((m, v) in a for v in voices), (text, a)
            assert all(world.render(am, lang, av).text == text for am, av in a)
            unique += len(a) == 1
            total += 1
            analyses[side] = [am for am, _ in a]
        assert {nli_label(ap, ah) for ap in analyses["p"] for ah in analyses["h"]} == {ex.label}
    assert unique / total >= 0.99, f"only {unique}/{total} analyses are unique"


@pytest.mark.parametrize("seed", range(10))
def test_parse_every_grammar(seed: int) -> None:
    """Seeds 0..9 cover every negation style and case marking."""
    w = ToyWorld(WorldConfig(seed=seed))
    meanings = w.sample_meanings(40, seed=3)
    for code in w.languages:
        for m in meanings:
            for voice in ("active", "passive"):
                a = parse(w, w.render(m, code, voice).tokens, code)
                assert (m, voice) in a


def test_grammars_covered_by_the_seeds() -> None:
    langs = [ToyWorld(WorldConfig(seed=s)).language(c)
             for s in range(10) for c in ToyWorld(WorldConfig(seed=s)).languages]
    assert {L.negation for L in langs} == set(PARTICLE_NEG + AFFIX_NEG)
    assert {L.case_marking for L in langs} == {"none", "suffix", "particle"}


def test_parse_rejects_non_sentences(world: ToyWorld) -> None:
    s = world.render(Meaning(NounPhrase(0, (1,)), 2, NounPhrase(3), True), "L0")
    assert parse(world, s.tokens[:-1], "L0") == []
    assert parse(world, (*s.tokens, s.tokens[0]), "L0") == []
    assert parse(world, s.text, "L1") == []  # words of another language
    assert parse(world, "", "L0") == []
    # reordered words: SVO language read as OVS
    assert parse(world, " ".join(reversed(s.tokens)), "L0") == []
    # a negation particle where the language has none: not a sentence
    L0 = world.language("L0")
    pos = world.render(Meaning(NounPhrase(0), 2, NounPhrase(3)), "L0")
    assert parse(world, (L0.neg_word, *pos.tokens), "L0") == []


def test_parse_is_fast(world: ToyWorld) -> None:
    ds = world.nli(100, "L1", seed=5)
    lexicon(world)
    t0 = time.perf_counter()
    assert label_preserved_rate(world, [(ex, ex) for ex in ds]) == 1.0
    assert time.perf_counter() - t0 < 5.0  # well under a second when the machine is idle


# ---------------------------------------------------------------- the label oracle
@pytest.mark.parametrize("lang", ["L0", "L1", "L2", "L3"])
def test_unchanged_pairs_keep_their_label(world: ToyWorld, lang: str) -> None:
    ds = world.nli(150, lang, seed=2)
    assert label_preserved_rate(world, [(ex, ex) for ex in ds]) == 1.0
    other = world.languages[(world.languages.index(lang) + 1) % len(world.languages)]
    cross = world.nli(60, lang, seed=2, hypothesis_lang=other)
    assert all(label_preserved(world, ex, ex) for ex in cross)
    # and the wrong gold label is never "preserved"
    for ex in ds.examples[:30]:
        for g in range(len(NLI_LABELS)):
            got = nli_label_preserved(world, lang, ex.premise, lang, ex.hypothesis, ex.premise,
                                      ex.hypothesis, g)
            assert got == (g == ex.label)


def test_replacing_the_negation_particle_flips_the_label(world: ToyWorld) -> None:
    for lang in [c for c in world.languages if world.language(c).negation in PARTICLE_NEG]:
        L = world.language(lang)
        big_dog, dog, cat = NounPhrase(0, (1,)), NounPhrase(0), NounPhrase(3)
        p = world.render(Meaning(big_dog, 2, cat), lang).text
        hs = world.render(Meaning(dog, 2, cat, negated=True), lang)
        h = hs.text
        assert nli_label(Meaning(big_dog, 2, cat), Meaning(dog, 2, cat, True)) == CON
        i = hs.slots.index(frozenset({"NEG"}))
        content = L.attributes[5]
        foreign_by = world.language("L1").by_word
        for word in (content, foreign_by, L.entities[7]):
            new_h = _replace_at(h, i, word)
            assert read_substituted(world, lang, h, new_h) == {Meaning(dog, 2, cat, False)}
            assert not nli_label_preserved(world, lang, p, lang, h, p, new_h, CON)
            assert nli_label_preserved(world, lang, p, lang, h, p, new_h, ENT)
        # another language's negation particle keeps the negation; a typo is the clean word
        free_negs = [world.language(c).neg_word for c in world.languages
                     if c != lang and world.language(c).negation in PARTICLE_NEG]
        for word in [*free_negs, L.neg_word + "q" * 5]:
            assert nli_label_preserved(world, lang, p, lang, h, p, _replace_at(h, i, word), CON)


def test_dropping_negation_in_generated_pairs(world: ToyWorld) -> None:
    """Replacing every negation particle of a negated hypothesis by a content word reads as the
    positive hypothesis: preserved exactly when that keeps the label."""
    lang = _lang_with(world, negation=PARTICLE_NEG)
    L = world.language(lang)
    ds = world.nli(300, lang, seed=4)
    flips = 0
    for ex, (p, h, _) in zip(ds, world.nli_meanings(300, seed=4), strict=True):
        if not h.negated:
            continue
        i = _slots(world, ex.hypothesis, lang).index(frozenset({"NEG"}))
        new_h = _replace_at(ex.hypothesis, i, L.attributes[0])
        assert read_substituted(world, lang, ex.hypothesis, new_h) == {replace(h, negated=False)}
        kept = nli_label(p, replace(h, negated=False)) == ex.label
        flips += not kept
        assert label_preserved(world, ex, replace(ex, hypothesis=new_h)) == kept
    assert flips > 20


def test_replacing_a_noun_makes_entailment_neutral(world: ToyWorld) -> None:
    n_checked = 0
    for lang in world.languages:
        L = world.language(lang)
        ds = world.nli(90, lang, seed=6)
        for ex, (_, h, _) in zip(ds, world.nli_meanings(90, seed=6), strict=True):
            if ex.label != ENT:
                continue
            slots = _slots(world, ex.hypothesis, lang)
            i = next(k for k, s in enumerate(slots) if "A" in s)
            new_np = _other_entity(h.agent, world.config.n_entities)
            word = world._noun(L, new_np, acc="ACC" in slots[i])
            new_h = _replace_at(ex.hypothesis, i, word)
            assert read_substituted(world, lang, ex.hypothesis, new_h) == {
                replace(h, agent=new_np)}
            assert not label_preserved(world, ex, replace(ex, hypothesis=new_h))
            assert nli_label_preserved(world, lang, ex.premise, lang, ex.hypothesis,
                                       ex.premise, new_h, NEU)
            n_checked += 1
    assert n_checked > 60


def test_typos_are_read_as_the_clean_word(world: ToyWorld) -> None:
    lex = lexicon(world)
    for lang in world.languages:
        ds = world.nli(60, lang, seed=7)
        for k, ex in enumerate(ds):
            toks = ex.premise.split()
            i = k % len(toks)
            typo = toks[i][:-1] + "#"
            assert not lex.is_word(typo)
            assert label_preserved(world, ex, replace(ex, premise=_replace_at(ex.premise, i,
                                                                              typo)))


def test_code_switching_content_words_keeps_the_label(world: ToyWorld) -> None:
    n_switched = 0
    for src in world.languages:
        ds = world.nli(40, src, seed=8)
        for tgt in world.languages:
            if tgt == src:
                continue
            d = dict(world.dictionary(src, tgt))
            for ex in ds:
                for side in ("premise", "hypothesis"):
                    toks = getattr(ex, side).split()
                    for i, t in enumerate(toks):
                        if t in d:
                            new = _replace_at(getattr(ex, side), i, d[t])
                            assert label_preserved(world, ex, replace(ex, **{side: new})), \
                                (src, tgt, side, t, d[t])
                            n_switched += 1
    assert n_switched > 1000


def test_code_switching_a_negated_verb_drops_the_negation(world: ToyWorld) -> None:
    n_checked = 0
    for lang in [c for c in world.languages if world.language(c).negation in AFFIX_NEG]:
        ds = world.nli(150, lang, seed=9)
        for ex, (_p, h, _) in zip(ds, world.nli_meanings(150, seed=9), strict=True):
            if not (h.negated and ex.label == CON):
                continue
            i = next(k for k, s in enumerate(_slots(world, ex.hypothesis, lang)) if "V" in s)
            for other in world.languages:
                if other == lang:
                    continue
                bare = world._verb(world.language(other), h.verb, False, False, False)
                new_h = _replace_at(ex.hypothesis, i, bare)
                assert read_substituted(world, lang, ex.hypothesis, new_h) == {
                    replace(h, negated=False)}
                assert not label_preserved(world, ex, replace(ex, hypothesis=new_h))
                # the same verb with its negation affix, from another affix language, keeps it
                if world.language(other).negation in AFFIX_NEG:
                    neg = world._verb(world.language(other), h.verb, True, False, False)
                    assert label_preserved(world, ex,
                                           replace(ex, hypothesis=_replace_at(ex.hypothesis, i,
                                                                              neg)))
                n_checked += 1
    assert n_checked > 20


def test_a_negated_verb_negates_a_particle_language(world: ToyWorld) -> None:
    lang = _lang_with(world, negation=PARTICLE_NEG)
    affix = _lang_with(world, negation=AFFIX_NEG)
    m = Meaning(NounPhrase(1), 4, NounPhrase(2))
    s = world.render(m, lang)
    i = next(k for k, x in enumerate(s.slots) if "V" in x)
    neg_verb = world._verb(world.language(affix), 6, True, False, False)
    new = _replace_at(s.text, i, neg_verb)
    assert read_substituted(world, lang, s.text, new) == {replace(m, verb=6, negated=True)}
    # a negated sentence stays negated when its verb is swapped for a bare verb
    sn = world.render(replace(m, negated=True), lang)
    j = next(k for k, x in enumerate(sn.slots) if "V" in x)
    new = _replace_at(sn.text, j, world.language(lang).verbs[6])
    assert read_substituted(world, lang, sn.text, new) == {replace(m, verb=6, negated=True)}


def test_attribute_substitution_sorts_and_deduplicates(world: ToyWorld) -> None:
    L = world.language("L0")
    m = Meaning(NounPhrase(0, (1, 4)), 2, NounPhrase(3))
    s = world.render(m, "L0")
    i = s.slots.index(frozenset({"A.attr1"}))
    assert read_substituted(world, "L0", s.text, _replace_at(s.text, i, L.attributes[9])) == {
        replace(m, agent=NounPhrase(0, (4, 9)))}
    assert read_substituted(world, "L0", s.text, _replace_at(s.text, i, L.attributes[4])) == {
        replace(m, agent=NounPhrase(0, (4,)))}
    # an attribute where a noun stands, or a verb where an attribute stands: unreadable
    j = s.slots.index(frozenset({"A"}))
    assert read_substituted(world, "L0", s.text, _replace_at(s.text, j, L.attributes[2])) == set()
    assert read_substituted(world, "L0", s.text, _replace_at(s.text, i, L.verbs[2])) == set()


def test_function_word_positions_need_the_same_function() -> None:
    w, code = _world_with(case_marking="particle")
    L = w.language(code)
    m = Meaning(NounPhrase(1), 4, NounPhrase(2), negated=False)
    s = w.render(m, code, "active")
    i = s.slots.index(frozenset({"ACC"}))
    other_acc = [w.language(c).acc_affix for c in w.languages if c != code]
    for word in other_acc:
        assert read_substituted(w, code, s.text, _replace_at(s.text, i, word)) == {m}
    for word in (L.by_word, L.attributes[0], L.entities[0]):
        assert read_substituted(w, code, s.text, _replace_at(s.text, i, word)) == set()
    ps = w.render(m, code, "passive")
    j = ps.slots.index(frozenset({"BY"}))
    for c in w.languages:
        assert read_substituted(w, code, ps.text,
                                _replace_at(ps.text, j, w.language(c).by_word)) == {m}
    assert read_substituted(w, code, ps.text, _replace_at(ps.text, j, L.attributes[0])) == set()
    # an unreadable side makes the label unknown, hence not preserved
    assert not nli_label_preserved(w, code, ps.text, code, ps.text, ps.text,
                                   _replace_at(ps.text, j, L.attributes[0]), ENT)


def test_several_changes_and_several_readings() -> None:
    w = ToyWorld(WorldConfig(n_languages=3, anchor_fraction=0.5))
    L0 = w.language("L0")
    anchor = min(L0.anchors)
    m = Meaning(NounPhrase(anchor), 1, NounPhrase((anchor + 1) % 24, (2,)), negated=True)
    s = w.render(m, "L0")
    # an anchor noun reads the same in every language
    assert read_substituted(w, "L0", s.text, s.text) == {m}
    toks = list(s.tokens)
    toks[s.slots.index(frozenset({"P.attr2"}))] = w.language("L2").attributes[7]
    toks[s.slots.index(frozenset({"V"}))] = w.language("L1").verbs[5]
    assert read_substituted(w, "L0", s.text, toks) == {
        replace(m, verb=5, patient=replace(m.patient, attrs=(7,)))}


# ---------------------------------------------------------------- protected words
def test_protected_words(world: ToyWorld) -> None:
    prot = protected_words(world)
    for code in world.languages:
        L = world.language(code)
        assert {L.neg_word, L.acc_affix, L.by_word} <= prot
        assert not prot & set(L.attributes)
        for e in range(world.config.n_entities):
            for plural in (False, True):
                bare = world._noun(L, NounPhrase(e, (), plural), acc=False)
                assert bare not in prot
                acc = world._noun(L, NounPhrase(e, (), plural), acc=True)
                assert (acc in prot) == (L.case_marking == "suffix")
        for v in range(world.config.n_verbs):
            assert world._verb(L, v, False, False, False) not in prot
            neg = world._verb(L, v, True, False, False)
            assert (neg in prot) == (L.negation in AFFIX_NEG)
    assert prot <= set(world.vocabulary())
    w, code = _world_with(case_marking="particle")
    assert w.language(code).acc_affix in protected_words(w)


def test_protected_words_are_the_function_positions(world: ToyWorld) -> None:
    """In generated sentences, a word is protected exactly when it expresses negation, case or
    the passive agent marker."""
    prot = protected_words(world)
    for lang in world.languages:
        for ex in world.nli(40, lang, seed=11):
            for text in (ex.premise, ex.hypothesis):
                slots = _slots(world, text, lang)
                for t, slot in zip(text.split(), slots, strict=True):
                    assert (t in prot) == bool(slot & {"NEG", "ACC", "BY"}), (lang, t, slot)


# ---------------------------------------------------------------- errors
def test_errors(world: ToyWorld) -> None:
    ex = world.nli(3, "L0", seed=0)[0]
    with pytest.raises(ValueError, match="new_tokens has"):
        read_substituted(world, "L0", ex.premise, ex.premise + " x")
    with pytest.raises(ValueError, match="clean_tokens .* is not a sentence"):
        read_substituted(world, "L0", "zz yy", "zz yy")
    with pytest.raises(ValueError, match="new_hypothesis has"):
        nli_label_preserved(world, "L0", ex.premise, "L0", ex.hypothesis, ex.premise,
                            ex.hypothesis + " x", ex.label)
    with pytest.raises(ValueError, match="premise .* is not a sentence of 'L1'"):
        nli_label_preserved(world, "L1", ex.premise, "L0", ex.hypothesis, ex.premise,
                            ex.hypothesis, ex.label)
    for gold in (3, -1, True, "entailment"):
        with pytest.raises(ValueError, match="gold must be"):
            nli_label_preserved(world, "L0", ex.premise, "L0", ex.hypothesis, ex.premise,
                                ex.hypothesis, gold)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pairs is empty"):
        label_preserved_rate(world, [])
    with pytest.raises(ValueError, match="unknown toy language"):
        parse(world, ex.premise, "L9")
    with pytest.raises(TypeError, match="text_or_tokens"):
        parse(world, 42, "L0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="word must be a str"):
        word_readings(world, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ToyWorld"):
        lexicon("L0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="perturbed must be a PairExample"):
        label_preserved(world, ex, (ex.premise, ex.hypothesis))  # type: ignore[arg-type]
    assert isinstance(ex, PairExample)
