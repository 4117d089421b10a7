"""xtutor.toyfamily: the book's tables of the toy family agree with the world they describe."""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from xtutor.data.types import NLI_LABELS, PAWS_LABELS  # noqa: E402
from xtutor.toyfamily import (  # noqa: E402
    FAMILY_COLUMNS,
    NEGATION_PLACEMENT,
    alignment_figure,
    example_pairs,
    family_table,
    gloss_meaning,
    label_statistics,
    renderings,
    slot_gloss,
)
from xtutor.toylanguages import NEGATION_STYLES  # noqa: E402
from xtutor.toyworld import Meaning, NounPhrase, ToyWorld, WorldConfig  # noqa: E402


@pytest.fixture(scope="module")
def world() -> ToyWorld:
    return ToyWorld(WorldConfig(n_languages=4, seed=0))


@pytest.fixture(scope="module")
def big_world() -> ToyWorld:
    """Enough languages (and shared nouns) that every grammar option shows up somewhere."""
    return ToyWorld(WorldConfig(n_languages=14, anchor_fraction=0.25, seed=3))


# ---------------------------------------------------------------- family_table
@pytest.mark.parametrize("fixture", ["world", "big_world"])
def test_family_table_reads_every_language(fixture: str, request: pytest.FixtureRequest) -> None:
    w: ToyWorld = request.getfixturevalue(fixture)
    table = family_table(w)
    assert list(table.columns) == list(FAMILY_COLUMNS)
    assert table["language"].tolist() == list(w.languages)
    for row in table.to_dict("records"):
        lang = w.language(row["language"])
        assert row["script"] == lang.script
        assert row["word order"] == lang.word_order
        assert row["adjectives"] == f"{lang.adjective_position} the noun"
        neg = lang.neg_word
        expected_neg = {"prefix": f"{neg}-", "suffix": f"-{neg}"}.get(lang.negation, f" {neg} ")
        assert expected_neg in row["negation"], (row["negation"], lang.negation)
        plural = f"{lang.plural_affix}-" if lang.plural_is_prefix else f"-{lang.plural_affix}"
        assert row["plural"].endswith(plural)
        assert row["plural"].startswith("prefix" if lang.plural_is_prefix else "suffix")
        if lang.case_marking == "none":
            assert row["accusative"] == "none"
        else:
            assert row["accusative"].startswith(lang.case_marking)
            assert lang.acc_affix in row["accusative"]
        assert (row["verb agreement"] == "none") == (not lang.verb_agreement)
        if lang.verb_agreement:
            assert f"-{lang.agree_affix} " in row["verb agreement"]
        assert f"-{lang.passive_affix}," in row["passive"]
        assert row["passive"].endswith(f"agent marker {lang.by_word}")
        assert row["shared nouns"] == len(lang.anchors)
        assert row["vocabulary"] == len(w.vocabulary([lang.code]))


def test_family_table_negation_styles_are_told_apart(big_world: ToyWorld) -> None:
    table = family_table(big_world)
    styles = {big_world.language(c).negation for c in big_world.languages}
    assert styles == set(NEGATION_STYLES), "the test world should show every negation style"
    assert {big_world.language(c).case_marking for c in big_world.languages} == \
        {"none", "suffix", "particle"}
    for row in table.to_dict("records"):
        lang = big_world.language(row["language"])
        assert row["negation"] == NEGATION_PLACEMENT[lang.negation].format(w=lang.neg_word)
    assert set(NEGATION_PLACEMENT) == set(NEGATION_STYLES)
    texts = {NEGATION_PLACEMENT[s].format(w="x") for s in NEGATION_STYLES}
    assert len(texts) == len(NEGATION_STYLES)


def test_family_table_shared_nouns_are_really_shared(big_world: ToyWorld) -> None:
    table = family_table(big_world)
    cfg = big_world.config
    n_shared = round(cfg.anchor_fraction * cfg.n_entities)
    assert table["shared nouns"].tolist() == [n_shared] * cfg.n_languages
    langs = [big_world.language(c) for c in big_world.languages]
    identical = [e for e in range(cfg.n_entities)
                 if len({lang.entities[e] for lang in langs}) == 1]
    assert len(identical) == n_shared


def test_family_table_vocabulary_grows_with_morphology(world: ToyWorld) -> None:
    table = family_table(world).set_index("language")
    cfg = world.config
    for code in world.languages:
        lang = world.language(code)
        # every noun has a singular and a plural form; a case suffix doubles them again
        nouns = cfg.n_entities * (4 if lang.case_marking == "suffix" else 2)
        assert table.loc[code, "vocabulary"] >= nouns + cfg.n_attributes + 2 * cfg.n_verbs


# ---------------------------------------------------------------- renderings
def test_renderings_follow_each_word_order(world: ToyWorld) -> None:
    m = Meaning(NounPhrase(0), 1, NounPhrase(2))
    df = renderings(world, [m])
    assert df["language"].tolist() == list(world.languages)
    role = {"S": "A", "V": "V", "O": "P"}
    for row in df.to_dict("records"):
        lang = world.language(row["language"])
        assert row["sentence"] == world.render(m, row["language"]).text
        main = [s.split("+")[0] for s in row["slots"].split() if s != "ACC"]
        assert main == [role[r] for r in lang.word_order], (lang.word_order, row["slots"])
        assert row["words"] == len(row["sentence"].split()) == len(row["slots"].split())


def test_renderings_passive_and_negation(world: ToyWorld) -> None:
    m = Meaning(NounPhrase(3, (1,), plural=True), 2, NounPhrase(5), negated=True)
    df = renderings(world, [m, m], voice="passive")
    assert len(df) == 2 * len(world.languages)
    assert set(df["meaning"]) == {gloss_meaning(m)}
    for row in df.to_dict("records"):
        slots = row["slots"].split()
        assert "BY" in slots and any("NEG" in s for s in slots) and "A.attr1" in slots
    with pytest.raises(ValueError, match="empty"):
        renderings(world, [])


def test_gloss_meaning_separates_meanings(world: ToyWorld) -> None:
    meanings = world.sample_meanings(200, seed=4)
    glosses = {gloss_meaning(m) for m in meanings}
    assert len(glosses) == len(set(meanings))
    assert gloss_meaning(Meaning(NounPhrase(1), 0, NounPhrase(2, (3,)))) == "e1 v0 e2 [a3]"


# ---------------------------------------------------------------- example_pairs
def test_example_pairs_are_the_worlds_gold_alignments(world: ToyWorld) -> None:
    df = example_pairs(world, "L0", "L2", n=5, seed=7)
    pairs = world.parallel("L0", "L2", 5, seed=7)
    assert df["source"].tolist() == [p.src.text for p in pairs]
    assert df["target"].tolist() == [p.tgt.text for p in pairs]
    for row, p in zip(df.to_dict("records"), pairs, strict=True):
        assert row["alignment"] == p.alignment
        links = row["links"].split(", ")
        assert len(links) == len(p.alignment)
        for link, (i, j) in zip(links, sorted(p.alignment), strict=True):
            assert link == f"{p.src.tokens[i]}–{p.tgt.tokens[j]}"
            assert p.src.slots[i] & p.tgt.slots[j]
        # every content word (agent, verb, patient) is aligned
        for i, slots in enumerate(p.src.slots):
            if slots & {"A", "V", "P"}:
                assert any(a == i for a, _ in p.alignment)


def test_example_pairs_in_one_language_align_on_the_diagonal(world: ToyWorld) -> None:
    df = example_pairs(world, "L1", "L1", n=4, seed=1)
    for row in df.to_dict("records"):
        n = len(row["source"].split())
        assert {(i, i) for i in range(n)} <= set(row["alignment"])


def test_alignment_figure_labels_its_axes(world: ToyWorld) -> None:
    pairs = world.parallel("L0", "L3", 2, seed=0)
    fig = alignment_figure(pairs)
    assert len(fig.axes) == 2
    ax = fig.axes[1]
    assert ax.get_xlabel() == "L0 words (source)" and ax.get_ylabel() == "L3 words (target)"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(pairs[1].tgt.tokens)
    with pytest.raises(ValueError, match="empty"):
        alignment_figure([])
    assert slot_gloss(pairs[0].src).count(" ") == len(pairs[0].src.tokens) - 1


# ---------------------------------------------------------------- label_statistics
def test_label_statistics_counts_the_worlds_labels(world: ToyWorld) -> None:
    n = 60
    st = label_statistics(world, n=n, seed=2)
    assert set(st["task"]) == {"nli", "paws"}
    for (task, code), group in st.groupby(["task", "language"]):
        names = NLI_LABELS if task == "nli" else PAWS_LABELS
        assert group["label"].tolist() == list(names)
        ds = (world.nli if task == "nli" else world.paws)(n, code, seed=2)
        counts = Counter(names[e.label] for e in ds)
        assert dict(zip(group["label"], group["pairs"], strict=True)) == \
            {name: counts.get(name, 0) for name in names}
        assert group["pairs"].sum() == n
        assert group["fraction"].sum() == pytest.approx(1.0)
        assert group["word overlap"].between(0, 1).all()
        words = [len(s.split()) for e in ds for s in (e.premise, e.hypothesis)]
        assert (group["words"] * group["pairs"]).sum() / n == pytest.approx(sum(words) / (2 * n))


def test_label_statistics_nli_is_balanced_and_parallel(world: ToyWorld) -> None:
    st = label_statistics(world, n=90, seed=0, tasks=("nli",))
    assert set(st["task"]) == {"nli"}
    per_lang = st.pivot(index="label", columns="language", values="pairs")
    # the same seed gives the same meanings in every language, so the labels agree
    assert (per_lang.nunique(axis=1) == 1).all()
    assert per_lang["L0"].tolist() == [30, 30, 30]
    with pytest.raises(ValueError, match="tasks"):
        label_statistics(world, n=10, tasks=("xnli",))
