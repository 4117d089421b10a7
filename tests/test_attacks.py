"""xtutor.attacks: budgets and constraints hold, counts add up, goals skip correctly, queries
are batched, and bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._shared import shared_or_skip
from xtutor.attacks import (
    Attack,
    BeamSearch,
    CharNoise,
    CodeSwitch,
    Constraints,
    GreedyWordImportance,
    PGDConfig,
    Targeted,
    Untargeted,
    Victim,
    WordSubstitution,
    char_noise,
    code_switch,
    edit_distance,
    embedding_neighbour_table,
    embedding_pgd,
    read_swadesh,
    summarize,
    toy_dictionaries,
    word_substitution,
)
from xtutor.attacks.constraints import changed_positions
from xtutor.attacks.recipes import side_mask
from xtutor.attacks.words import words
from xtutor.data.types import NLI_LABELS, PairDataset, PairExample

NEG = {"not", "never", "no"}


def rule_logits(pairs):
    """Contradiction when the hypothesis has a negation; entailment when every hypothesis
    word is in the premise; neutral otherwise."""
    out = []
    for p, h in pairs:
        hw, pw = set(h.lower().split()), set(p.lower().split())
        if hw & NEG:
            out.append([0.0, 0.0, 2.0])
        elif hw <= pw:
            out.append([2.0, 0.5 * len(hw - pw), 0.0])
        else:
            out.append([0.5, 1.0, 0.0])
    return np.array(out)


def ex(p, h, y, i):
    return PairExample(p, h, y, "en", "en", f"t{i}")


@pytest.fixture()
def rule_data():
    rows = [
        ("the big dog runs fast", "the dog runs", 0),
        ("a small cat sleeps here", "a cat sleeps", 0),
        ("the old man reads a book", "the man does not read", 2),
        ("children play in the park", "children play", 0),
        ("the red car is fast", "the car is blue", 1),
        ("a woman sings a song", "a woman sings", 0),
        ("the bird flies high", "the bird never flies", 2),
        ("the dog runs", "the dog runs", 1),  # the rule predicts entailment: misclassified
    ]
    return PairDataset("nli", NLI_LABELS, [ex(p, h, y, i) for i, (p, h, y) in enumerate(rows)])


TABLE = {"dog": ["hound", "cur"], "runs": ["sprints", "jogs"], "cat": ["kitty"],
         "sleeps": ["naps", "dozes"], "man": ["guy"], "read": ["study"], "play": ["frolic"],
         "children": ["kids"], "woman": ["lady"], "sings": ["chants"], "bird": ["fowl"],
         "car": ["auto"], "the": ["this"], "a": ["one"], "big": ["large"], "fast": ["quick"]}
DICTS = {"de": {"dog": ["Hund"], "runs": ["läuft"], "cat": ["Katze"], "the": ["der", "die"],
                "a": ["ein"], "play": ["spielen"], "children": ["Kinder"], "sings": ["singt"]},
         "fr": {"dog": ["chien"], "cat": ["chat"], "woman": ["femme"], "bird": ["oiseau"]}}


def rule_victim(batch_size=256):
    calls = []

    def fn(pairs):
        calls.append(len(pairs))
        return rule_logits(pairs)

    return Victim.from_function(fn, NLI_LABELS, batch_size=batch_size), calls


def all_attacks(**kw):
    return [char_noise(**kw), word_substitution(TABLE, **kw), code_switch(DICTS, **kw)]


def tokens(e):
    return words(e.premise), words(e.hypothesis)


@pytest.mark.parametrize("sides", ["premise", "hypothesis", "both"])
def test_attacks_respect_budget_sides_and_protection(rule_data, sides):
    for attack in all_attacks(max_word_fraction=0.4, sides=sides, protected_words=["dog"]):
        victim, _ = rule_victim()
        report = attack.run(victim, rule_data)
        for r in report.results:
            orig, pert = tokens(r.original), tokens(r.perturbed)
            assert attack.constraints.violations(orig, pert) == [], (attack.name, r)
            assert r.perturbed_fraction <= 0.4 + 1e-9
            changed = changed_positions(orig, pert)
            assert len(changed) == r.words_changed
            if sides != "both":
                assert all(s == (0 if sides == "premise" else 1) for s, _ in changed)
            assert all(orig[s][i].lower() != "dog" for s, i in changed)
            if attack.name == "char_noise":
                assert all(edit_distance(orig[s][i], pert[s][i]) == 1 for s, i in changed)
            if attack.name == "word_substitution":
                assert all(pert[s][i] in TABLE[orig[s][i]] for s, i in changed)


def test_counts_add_up_and_statuses_are_true(rule_data):
    for attack in all_attacks(max_word_fraction=0.5):
        victim, _ = rule_victim()
        report = attack.run(victim, rule_data)
        s = report.summary
        assert s.skipped + s.failed + s.succeeded == s.n == len(rule_data)
        preds = rule_logits([(e.premise, e.hypothesis) for e in rule_data]).argmax(1)
        assert s.clean_accuracy == pytest.approx(np.mean(preds == np.array(rule_data.labels)))
        assert s.attacked_accuracy == pytest.approx(s.failed / s.n)
        for r in report.results:
            after = int(rule_logits([(r.perturbed.premise, r.perturbed.hypothesis)])[0].argmax())
            assert r.perturbed_prediction == after
            if r.status == "succeeded":
                assert after != r.original.label and r.words_changed >= 1
            elif r.status == "failed":
                assert after == r.original.label
        # the entailment pairs flip by changing one hypothesis word, which every attack can
        assert s.succeeded >= 3, attack.name
        total_queries = sum(r.queries for r in report.results)
        assert total_queries == victim.queries


def test_misclassified_examples_are_skipped(rule_data):
    victim, _ = rule_victim()
    report = word_substitution(TABLE).run(victim, rule_data)
    last = report.results[-1]
    assert last.status == "skipped" and last.perturbed == last.original and last.queries == 1
    assert [r.status == "skipped" for r in report.results] == [False] * 7 + [True]


def test_targeted_goal_skips_target_label(rule_data):
    victim, _ = rule_victim()
    report = Attack("to_contradiction", WordSubstitution(TABLE), Constraints(0.5),
                    Targeted(2)).run(victim, rule_data)
    for r in report.results:
        if r.original.label == 2:
            assert r.status == "skipped"
        if r.status == "succeeded":
            assert r.perturbed_prediction == 2
    # no table word is a negation, so nothing can become a contradiction
    assert report.summary.succeeded == 0


def test_greedy_finds_the_one_word_flip_and_stops():
    data = PairDataset("nli", NLI_LABELS, [ex("the dog runs", "the dog runs", 0, 0)])
    victim, _ = rule_victim()
    table = {"runs": ["jogs", "no"]}
    report = word_substitution(table, max_word_fraction=1.0, sides="hypothesis").run(victim, data)
    r = report.results[0]
    assert r.status == "succeeded" and r.perturbed_prediction == 2
    # both "jogs" and "no" flip it; the highest-loss success (contradiction) is kept
    assert r.words_changed == 1 and r.perturbed.hypothesis == "the dog no"


def test_beam_needs_budget_for_two_word_flip():
    # class 1 only when both "alpha" and "beta" are replaced; each replacement raises the loss
    def fn(pairs):
        out = []
        for _, h in pairs:
            hw = h.split()
            k = ("x" in hw) + ("y" in hw)
            out.append([2.0 - 1.5 * k, 0.0])
        return np.array(out)

    data = PairDataset("t", ("a", "b"), [PairExample("p", "alpha gamma beta", 0, "en", "en")])
    table = {"alpha": ["x", "z"], "beta": ["y", "w"], "gamma": ["q"]}
    for budget, expected in ((1, "failed"), (2, "succeeded")):
        attack = Attack("beam", WordSubstitution(table), Constraints(1.0, max_words=budget),
                        Untargeted(), BeamSearch(beam_width=2))
        r = attack.run(Victim.from_function(fn, ("a", "b")), data).results[0]
        assert r.status == expected
        assert r.words_changed <= budget
    assert r.perturbed.hypothesis == "x gamma y"


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_label_check_rejected_candidates_are_never_queried(search):
    """A candidate the label check rejects is neither scored nor returned; the search goes on
    with the others and counts the rejections."""
    data = PairDataset("nli", NLI_LABELS, [ex("the dog runs", "the dog runs", 0, 0)])
    seen = []

    def fn(pairs):
        seen.extend(pairs)
        return rule_logits(pairs)

    victim = Victim.from_function(fn, NLI_LABELS)
    table = {"runs": ["jogs", "no"]}

    def no_negation(original, candidate, gold):
        return "no" not in candidate[1]
    cons = Constraints(1.0, sides="hypothesis", label_check=no_negation)
    strategy = GreedyWordImportance() if search == "greedy" else BeamSearch(beam_width=2)
    attack = Attack("sub", WordSubstitution(table), cons, Untargeted(), strategy)
    report = attack.run(victim, data)
    r = report.results[0]
    # without the check "the dog no" wins (test_greedy_finds_the_one_word_flip_and_stops)
    assert "no" not in r.perturbed.hypothesis.split()
    assert report.label_rejected >= 1
    assert seen and all("no" not in h.split() for _, h in seen)
    with pytest.raises(TypeError, match="label_check"):
        Constraints(label_check="no")


def test_queries_are_batched_function_victim(rule_data):
    victim, calls = rule_victim(batch_size=10_000)
    report = word_substitution(TABLE, max_word_fraction=0.5).run(victim, rule_data)
    # one clean call, one importance call, one call per greedy round, one final re-score
    max_rounds = max(len(words(e.premise)) + len(words(e.hypothesis)) for e in rule_data)
    assert len(calls) <= 3 + max_rounds
    assert max(calls) > 20  # many candidates of many examples in one call
    # every query is either forwarded or answered from the cache (clean pairs re-scored)
    assert sum(calls) + victim.cache_hits == victim.queries == \
        sum(r.queries for r in report.results)
    assert victim.cache_hits >= len(rule_data) - sum(r.status == "skipped"
                                                     for r in report.results)
    victim2, calls2 = rule_victim(batch_size=4)
    report2 = word_substitution(TABLE, max_word_fraction=0.5).run(victim2, rule_data)
    assert max(calls2) <= 4
    assert [r.perturbed for r in report2.results] == [r.perturbed for r in report.results]


def test_model_victim_batches_forward_passes(toy_nli_classifier):
    w, clf, tok = toy_nli_classifier
    calls = []
    handle = clf.register_forward_hook(lambda m, i, o: calls.append(1))
    try:
        victim = Victim.from_model(clf, tok, NLI_LABELS, batch_size=512)
        data = w.nli(40, "L0", seed=5)
        report = char_noise(max_word_fraction=0.3).run(victim, data)
    finally:
        handle.remove()
    assert len(calls) == victim.forward_calls
    assert victim.queries > 20 * len(calls)  # hundreds of candidates, few forward passes
    s = report.summary
    assert s.skipped + s.failed + s.succeeded == 40
    assert s.succeeded > 0  # typos become unknown words to a word-level tokenizer


def test_code_switch_on_toy_family_uses_translations(toy_nli_classifier):
    w, clf, tok = toy_nli_classifier
    dicts = toy_dictionaries(w, "L0")
    attack = code_switch(dicts, max_word_fraction=0.5, sides="hypothesis")
    report = attack.run(Victim.from_model(clf, tok, NLI_LABELS), w.nli(20, "L0", seed=6))
    trans = {t for d in dicts.values() for _, t in d}
    for r in report.results:
        orig, pert = tokens(r.original), tokens(r.perturbed)
        assert orig[0] == pert[0]
        for s, i in changed_positions(orig, pert):
            assert pert[s][i] in trans
            assert attack.transformation.language_of(pert[s][i]) in ("L1", "L2")


def test_embedding_pgd_zero_radius_changes_nothing_and_large_radius_hurts(toy_nli_classifier):
    w, clf, tok = toy_nli_classifier
    data = w.nli(40, "L0", seed=7)
    zero = embedding_pgd(clf, tok, data, PGDConfig(epsilon=0.0, steps=2)).summary
    big = embedding_pgd(clf, tok, data, PGDConfig(epsilon=1.0, steps=5)).summary
    assert zero.succeeded == 0 and zero.clean_accuracy == big.clean_accuracy
    assert big.attacked_accuracy < zero.attacked_accuracy
    assert big.skipped + big.failed + big.succeeded == 40
    hyp = embedding_pgd(clf, tok, data, PGDConfig(epsilon=1.0, sides="hypothesis"))
    assert all(0 < r.perturbed_fraction < 1 for r in hyp.results if r.status != "skipped")


def test_side_mask_separates_premise_and_hypothesis(toy_nli_classifier):
    w, _, tok = toy_nli_classifier
    d = w.nli(3, seed=0)
    enc = tok([e.premise for e in d], [e.hypothesis for e in d], padding=True,
              return_tensors="pt", return_special_tokens_mask=True)
    prem, hyp = side_mask(enc, tok, "premise"), side_mask(enc, tok, "hypothesis")
    for k, e in enumerate(d):
        assert int(prem[k].sum()) == len(e.premise.split())
        assert int(hyp[k].sum()) == len(e.hypothesis.split())
        assert not (prem[k] & hyp[k]).any()


def test_char_noise_stays_in_script_and_is_deterministic():
    noise = CharNoise(max_candidates=None)
    for word in ("ბადოგი", "παιδί", "машина", "keyboard"):
        cands = noise.candidates(word)
        assert cands and word not in cands
        scripts = {__import__("unicodedata").name(c).split()[0] for c in word}
        for c in cands:
            assert edit_distance(word, c) == 1
            assert {__import__("unicodedata").name(x).split()[0] for x in c} <= scripts
    assert CharNoise(seed=1).candidates("keyboard") == CharNoise(seed=1).candidates("keyboard")
    assert len(CharNoise(max_candidates=5).candidates("keyboard")) == 5


def test_code_switch_round_robin_and_case():
    cs = CodeSwitch(DICTS, per_language=1)
    assert cs.candidates("Dog") == ["Hund", "Chien"]
    assert cs.candidates("zebra") == []


def test_embedding_neighbour_table_matches_cosine(tiny_encoder, small_world):
    model, tok = tiny_encoder
    vocab = small_world.vocabulary(["L0"])[:30]
    table = embedding_neighbour_table(model, tok, vocab, k=4)
    emb = model.get_input_embeddings().weight.detach()
    vecs = torch.nn.functional.normalize(emb[tok.convert_tokens_to_ids(vocab)], dim=1)
    sims = vecs @ vecs.T
    for i, wd in enumerate(vocab):
        assert wd not in table[wd] and len(table[wd]) == 4
        best = [vocab[j] for j in sims[i].argsort(descending=True).tolist() if j != i][:4]
        assert table[wd] == best


def test_swadesh_reader():
    path = shared_or_skip("nltk/swadesh.zip")
    d = read_swadesh("en", "de", path)
    assert "Hund" in d.translations("dog")
    assert set(d.translations("you")) >= {"du", "Sie"}  # "you (singular), thou" -> "du, Sie"
    sv = read_swadesh("en", "sv", path)
    assert "jag" in sv.translations("I")
    with pytest.raises(ValueError, match="Swedish"):
        read_swadesh("en", "sw", path)
    with pytest.raises(ValueError, match="tgt='xx'"):
        read_swadesh("en", "xx", path)


def test_summary_records_names_and_counts(rule_data):
    report = word_substitution(TABLE, max_word_fraction=0.5).run(rule_victim()[0], rule_data)
    recs = report.records(experiment="adv", model="rule", task="nli", train_lang="en",
                          eval_lang="en")
    by = {r.metric: r for r in recs}
    assert {"clean_accuracy", "attacked_accuracy", "attack_success_rate", "skipped", "failed",
            "succeeded", "queries_per_example", "mean_perturbed_fraction"} <= set(by)
    assert all(r.attack == "word_substitution" for r in recs)
    assert by["skipped"].value + by["failed"].value + by["succeeded"].value == len(rule_data)
    assert by["attack_success_rate"].n == len(rule_data) - report.summary.skipped


def test_bad_input_is_refused(rule_data, toy_nli_classifier):
    _, clf, tok = toy_nli_classifier
    with pytest.raises(ValueError, match="max_word_fraction"):
        Constraints(max_word_fraction=1.5)
    with pytest.raises(ValueError, match="sides"):
        Constraints(sides="left")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="protected_words"):
        Constraints(protected_words="not")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protected_positions"):
        Constraints(protected_positions=frozenset({(2, 0)}))
    with pytest.raises(ValueError, match="ops"):
        CharNoise(ops=("flip",))
    with pytest.raises(TypeError, match="table"):
        WordSubstitution(["dog"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dictionaries"):
        CodeSwitch({})
    with pytest.raises(ValueError, match="tokenizer"):
        Victim(NLI_LABELS, model=clf)
    with pytest.raises(ValueError, match="batch_size"):
        Victim.from_function(rule_logits, NLI_LABELS, batch_size=0)
    with pytest.raises(ValueError, match="label order"):
        Victim.from_model(clf, tok, ("contradiction", "neutral", "entailment"))
    with pytest.raises(ValueError, match="beam_width"):
        BeamSearch(beam_width=0)
    with pytest.raises(ValueError, match="scoring"):
        GreedyWordImportance(scoring="gradient")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        word_substitution(TABLE).run(rule_victim()[0], PairDataset("nli", NLI_LABELS, []))
    with pytest.raises(TypeError, match="Victim"):
        word_substitution(TABLE).run(rule_logits, rule_data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="label order"):
        word_substitution(TABLE).run(
            Victim.from_function(rule_logits, ("a", "b", "c")), rule_data)
    with pytest.raises(ValueError, match="shape"):
        Victim.from_function(lambda ps: np.zeros((len(ps), 2)), NLI_LABELS).logits([("a", "b")])
    with pytest.raises(ValueError, match="epsilon"):
        PGDConfig(epsilon=-1)
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_cache_scores_each_distinct_pair_once(rule_data):
    cached, calls = rule_victim(batch_size=10_000)
    plain, calls_plain = rule_victim(batch_size=10_000)
    plain = Victim.from_function(plain.fn, plain.label_names, batch_size=10_000, cache=False)
    a = word_substitution(TABLE, max_word_fraction=0.5).run(cached, rule_data)
    b = word_substitution(TABLE, max_word_fraction=0.5).run(plain, rule_data)
    assert [r.perturbed for r in a.results] == [r.perturbed for r in b.results]
    assert [r.queries for r in a.results] == [r.queries for r in b.results]
    assert plain.cache_hits == 0 and cached.cache_hits > 0
    assert sum(calls) < sum(calls_plain) == plain.queries == cached.queries
    pair = (rule_data[0].premise, rule_data[0].hypothesis)
    n = sum(calls)
    cached.logits([pair, pair])
    assert sum(calls) == n  # already scored: no forward pass


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_query_budget_caps_queries_per_example(rule_data, search):
    victim, _ = rule_victim(batch_size=10_000)
    make = word_substitution if search == "greedy" else \
        (lambda t, **k: code_switch({"xx": t}, **k))
    free = make(TABLE, max_word_fraction=0.5).run(victim, rule_data)
    spent = max(r.queries for r in free.results)
    assert spent > 4
    capped = make(TABLE, max_word_fraction=0.5, query_budget=3).run(victim, rule_data)
    for r in capped.results:  # budget + the clean query + at most one final re-score
        assert r.queries <= 3 + 2
    assert capped.summary.succeeded <= free.summary.succeeded
    with pytest.raises(ValueError, match="query_budget"):
        make(TABLE, query_budget=0)


def test_label_protection_keeps_negation_numbers_and_names():
    from xtutor.attacks.constraints import Constraints
    from xtutor.attacks.protect import label_protection

    c = Constraints(1.0, **{k: v for k, v in label_protection("en").items()})
    pair = (("In", "1990", "Maria", "did", "not", "go"), ("She", "never", "went", "."))
    allowed = {pair[s][i] for s, i in c.allowed_positions(pair)}
    assert allowed == {"In", "did", "go", "She", "went"}
    my = Constraints(1.0, **label_protection("my"))
    assert my.allowed_positions(((), ("သူ", "မဟုတ်ဘူး", "၁၂"))) == [(1, 0)]
