"""The toy language family: label correctness, determinism, language properties, errors."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from xtutor.data.types import NLI_LABELS, PAWS_LABELS
from xtutor.toyworld import (
    SCRIPTS,
    Meaning,
    NounPhrase,
    ToyWorld,
    WorldConfig,
    gold_alignment,
    nli_label,
)


@pytest.fixture(scope="module")
def world() -> ToyWorld:
    return ToyWorld(WorldConfig(n_languages=4, seed=0))


# ---------------------------------------------------------------- label correctness
# An independent model-theoretic check: a "world" is a set of events; a positive sentence is
# true iff some event fits its description (same frame, event attributes include the
# sentence's), a negated one iff none does. Entailment must hold in every sampled world,
# contradiction must never have both true, and neutral must have witnesses both ways.

def _fits(event, m: Meaning) -> bool:
    (ae, aa, ap), v, (pe, pa, pp) = event
    return (ae == m.agent.entity and ap == m.agent.plural and v == m.verb
            and pe == m.patient.entity and pp == m.patient.plural
            and set(m.agent.attrs) <= aa and set(m.patient.attrs) <= pa)


def _true(world_events, m: Meaning) -> bool:
    hit = any(_fits(e, m) for e in world_events)
    return not hit if m.negated else hit


def _random_worlds(p: Meaning, h: Meaning, rng: random.Random, n: int):
    attrs_a = sorted(set(p.agent.attrs) | set(h.agent.attrs) | {99})
    attrs_p = sorted(set(p.patient.attrs) | set(h.patient.attrs) | {98})
    frames = {(p.agent.entity, p.agent.plural, p.verb, p.patient.entity, p.patient.plural),
              (h.agent.entity, h.agent.plural, h.verb, h.patient.entity, h.patient.plural)}
    events = []
    for ae, ap, v, pe, pp in frames:
        for ka in range(len(attrs_a) + 1):
            for sa in itertools.combinations(attrs_a, ka):
                for kp in range(len(attrs_p) + 1):
                    for sp in itertools.combinations(attrs_p, kp):
                        events.append(((ae, frozenset(sa), ap), v, (pe, frozenset(sp), pp)))
    def exact(m: Meaning):
        return ((m.agent.entity, frozenset(m.agent.attrs), m.agent.plural), m.verb,
                (m.patient.entity, frozenset(m.patient.attrs), m.patient.plural))

    worlds = [[], [exact(p), exact(h)]] + [[e] for e in events]
    for _ in range(n):
        worlds.append(rng.sample(events, rng.randint(1, min(3, len(events)))))
    return worlds


def test_nli_labels_agree_with_model_theoretic_semantics(world: ToyWorld) -> None:
    rng = random.Random(0)
    counts = dict.fromkeys(NLI_LABELS, 0)
    for p, h, y in world.nli_meanings(300, seed=7):
        worlds = _random_worlds(p, h, rng, 200)
        both = any(_true(w, p) and _true(w, h) for w in worlds)
        p_not_h = any(_true(w, p) and not _true(w, h) for w in worlds)
        name = NLI_LABELS[y]
        counts[name] += 1
        if name == "entailment":
            assert not p_not_h, (p, h)
        elif name == "contradiction":
            assert not both, (p, h)
        else:
            assert both and p_not_h, (p, h)
    assert min(counts.values()) >= 90  # balanced


def test_nli_label_hand_checked_cases() -> None:
    dog, big_dog, cat = NounPhrase(0), NounPhrase(0, (1,)), NounPhrase(2)
    lab = lambda p, h: NLI_LABELS[nli_label(p, h)]  # noqa: E731
    assert lab(Meaning(big_dog, 0, cat), Meaning(dog, 0, cat)) == "entailment"
    assert lab(Meaning(dog, 0, cat), Meaning(big_dog, 0, cat)) == "neutral"
    assert lab(Meaning(dog, 0, cat, True), Meaning(big_dog, 0, cat, True)) == "entailment"
    assert lab(Meaning(big_dog, 0, cat, True), Meaning(dog, 0, cat, True)) == "neutral"
    assert lab(Meaning(big_dog, 0, cat), Meaning(dog, 0, cat, True)) == "contradiction"
    assert lab(Meaning(dog, 0, cat, True), Meaning(big_dog, 0, cat)) == "contradiction"
    assert lab(Meaning(dog, 0, cat), Meaning(dog, 1, cat)) == "neutral"
    assert lab(Meaning(dog, 0, cat), Meaning(cat, 0, dog)) == "neutral"


def test_paws_labels_and_overlap(world: ToyWorld) -> None:
    items = world.paws_meanings(200, seed=3)
    ds = world.paws(200, seed=3)
    assert [y for *_, y, _ in items] == ds.labels
    assert {PAWS_LABELS[y] for y in ds.labels} == set(PAWS_LABELS)
    for (a, b, y, _), ex in zip(items, ds, strict=True):
        assert y == int(a == b)
        # negatives keep (almost) the same words: PAWS-style high lexical overlap
        if y == 0 and ex.premise.split() and a.agent.entity != a.patient.entity:
            sa, sb = set(ex.premise.split()), set(ex.hypothesis.split())
            assert len(sa & sb) >= 1


# ---------------------------------------------------------------- determinism
def test_same_seed_same_data_and_different_seed_different_data() -> None:
    a, b = ToyWorld(WorldConfig(seed=3)), ToyWorld(WorldConfig(seed=3))
    assert a.nli(50, "L2", seed=1).examples == b.nli(50, "L2", seed=1).examples
    assert a.corpus("L1", 30, seed=2) == b.corpus("L1", 30, seed=2)
    assert np.array_equal(a.images(a.sample_meanings(5)), b.images(b.sample_meanings(5)))
    c = ToyWorld(WorldConfig(seed=4))
    assert a.language("L1").entities != c.language("L1").entities
    assert a.nli(50, seed=1).examples != a.nli(50, seed=2).examples


def test_test_sets_are_parallel_across_languages(world: ToyWorld) -> None:
    sets = [world.nli(40, lang, seed=5) for lang in world.languages]
    assert all(s.labels == sets[0].labels for s in sets)
    assert sets[0][0].premise != sets[1][0].premise


# ---------------------------------------------------------------- language properties
def test_languages_differ_in_script_order_and_lexicon(world: ToyWorld) -> None:
    langs = [world.language(x) for x in world.languages]
    assert langs[0].word_order == "SVO"
    assert len({lang.word_order for lang in langs}) >= 3
    assert len({lang.script for lang in langs}) == 4
    for lang in langs:
        letters = set("".join(lang.entities + lang.verbs + lang.attributes))
        cons, vows = SCRIPTS[lang.script]
        assert letters <= set(cons + vows)
    # fully disjoint lexicons without anchors
    vocabs = [set(world.vocabulary([x])) for x in world.languages]
    assert all(not (vocabs[i] & vocabs[j]) for i in range(4) for j in range(i + 1, 4))


def test_word_order_is_respected(world: ToyWorld) -> None:
    m = Meaning(NounPhrase(1), 2, NounPhrase(3))
    for code in world.languages:
        lang = world.language(code)
        s = world.render(m, code)
        pos = {}
        for i, slots in enumerate(s.slots):
            for slot in slots:
                pos.setdefault(slot, i)
        order = sorted("AVP", key=lambda r: pos[r])
        assert "".join(order) == lang.word_order.replace("S", "A").replace("O", "P")


def test_anchor_fraction_shares_noun_forms() -> None:
    w = ToyWorld(WorldConfig(n_languages=3, anchor_fraction=0.5, n_entities=10))
    shared = [e for e in range(10)
              if len({w.language(x).entities[e] for x in w.languages}) == 1]
    assert len(shared) == 5


def test_morphology_negation_and_plural_change_forms(world: ToyWorld) -> None:
    base = Meaning(NounPhrase(1), 2, NounPhrase(3))
    for code in world.languages:
        pos = world.render(base, code).tokens
        neg = world.render(Meaning(NounPhrase(1), 2, NounPhrase(3), True), code).tokens
        pl = world.render(Meaning(NounPhrase(1, (), True), 2, NounPhrase(3)), code).tokens
        assert neg != pos and pl != pos
        assert world.render(base, code, "passive").tokens != pos


# ---------------------------------------------------------------- alignments, dictionaries
def test_gold_alignment_links_translations(world: ToyWorld) -> None:
    for pair in world.parallel("L0", "L2", 50, seed=1):
        al = set(pair.alignment)
        assert al == set(gold_alignment(pair.src, pair.tgt))
        # every content word of the source is aligned
        for i, slots in enumerate(pair.src.slots):
            if slots & {"A", "P", "V"}:
                assert any(a == i for a, _ in al)
        # the verb aligns to the verb
        vi = next(i for i, s in enumerate(pair.src.slots) if "V" in s)
        vj = next(j for j, s in enumerate(pair.tgt.slots) if "V" in s)
        assert (vi, vj) in al


def test_dictionary_translates_words(world: ToyWorld) -> None:
    d = dict(world.dictionary("L0", "L1"))
    m = Meaning(NounPhrase(4), 5, NounPhrase(6))
    s0, s1 = world.render(m, "L0"), world.render(m, "L1")
    agent0 = s0.tokens[[i for i, s in enumerate(s0.slots) if "A" in s][0]]
    agent1 = s1.tokens[[i for i, s in enumerate(s1.slots) if "A" in s][0]]
    assert d[agent0] == agent1


def test_images_encode_meaning_not_language(world: ToyWorld) -> None:
    ms = world.sample_meanings(40, seed=1)
    a, b = world.images(ms, seed=1), world.images(ms, seed=2)
    assert a.shape == (40, world.config.image_dim)
    sims = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ \
        (b / np.linalg.norm(b, axis=1, keepdims=True)).T
    assert (sims.argmax(1) == np.arange(40)).mean() > 0.9  # same meaning, same picture


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kw, match", [
    ({"n_languages": 0}, "n_languages"),
    ({"max_attributes": 10, "n_attributes": 10}, "max_attributes"),
    ({"anchor_fraction": 1.5}, "anchor_fraction"),
    ({"image_dim": 10}, "image_dim"),
    ({"n_entities": 1}, "n_entities"),
])
def test_bad_config_raises_clear_error(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        WorldConfig(**kw)


def test_bad_calls_raise_clear_errors(world: ToyWorld) -> None:
    with pytest.raises(ValueError, match="unknown toy language 'xx'"):
        world.nli(5, "xx")
    with pytest.raises(ValueError, match="unknown toy language"):
        world.parallel("L0", "L9", 3)
    with pytest.raises(ValueError, match="n must be a positive int"):
        world.corpus("L0", 0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        world.nli(-3)
    with pytest.raises(ValueError, match="empty"):
        world.images([])
    with pytest.raises(ValueError, match="entity 99 out of range"):
        world.render(Meaning(NounPhrase(99), 0, NounPhrase(0)), "L0")
    with pytest.raises(ValueError, match="voice"):
        world.render(Meaning(NounPhrase(0), 0, NounPhrase(0)), "L0", "middle")  # type: ignore


def test_bundled_sample_is_up_to_date() -> None:
    """data/toy_sample.jsonl must be what the generator writes now (regenerate it with
    ``python -m xtutor.toyworld data/toy_sample.jsonl``)."""
    import json
    from pathlib import Path

    from xtutor.toyworld import sample_records

    path = Path(__file__).resolve().parents[1] / "data" / "toy_sample.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == json.loads(json.dumps(sample_records(ToyWorld(WorldConfig()))))
