"""xtutor.experiments.adversarial: tidy records and examples for the toy family and for
e5-small-offline on XNLI with MUSE / Swadesh dictionaries."""

from __future__ import annotations

import json

import pytest
import torch

from tests._shared import shared_or_skip
from xtutor.attacks.results import SUMMARY_METRICS
from xtutor.data.types import NLI_LABELS
from xtutor.experiments.adversarial import (
    AdversarialSettings,
    AttackConfig,
    adversarial_study,
    real_resources,
    run_adversarial,
    toy_resources,
)


def test_toy_study_records_and_examples(toy_nli_classifier):
    w, clf, tok = toy_nli_classifier
    datasets = {lang: w.nli(24, lang, seed=11) for lang in w.languages}
    tables, dicts = toy_resources(w, clf, tok, k=4)
    cfg = AttackConfig(max_word_fraction=0.3, pgd_steps=3, n_examples=2)
    study = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                              config=cfg, model_name="toy", train_lang="L0", seed=0)
    df = study.frame()
    assert len(df) == len(w.languages) * 4 * len(SUMMARY_METRICS)
    assert set(df.attack) == {"char_noise", "word_substitution", "code_switch", "embedding_pgd"}
    assert set(df.eval_lang) == set(w.languages) and (df.train_lang == "L0").all()
    for (lang, attack), rep in study.reports.items():
        s = rep.summary
        assert s.skipped + s.failed + s.succeeded == 24
        sub = df[(df.eval_lang == lang) & (df.attack == attack)].set_index("metric").value
        assert sub["attacked_accuracy"] == pytest.approx(s.failed / 24)
        assert sub["clean_accuracy"] >= sub["attacked_accuracy"]
    # the clean accuracy is the same whatever the attack
    clean = df[df.metric == "clean_accuracy"].groupby("eval_lang").value.nunique()
    assert (clean == 1).all()
    assert study.examples and all(e["label"] != e["prediction_after"] for e in study.examples)
    assert max(sum(1 for e in study.examples if (e["language"], e["attack"]) == key)
               for key in {(e["language"], e["attack"]) for e in study.examples}) <= 2
    for e in study.examples:
        if e["attack"] == "code_switch":
            changed = [b for a, b in zip(e["hypothesis"].split() + e["premise"].split(),
                                         e["adversarial_hypothesis"].split()
                                         + e["adversarial_premise"].split(), strict=True)
                       if a != b]
            trans = {t for d in dicts[e["language"]].values() for _, t in d}
            assert changed and set(changed) <= trans
    assert list(study.table().columns) == sorted(study.table().columns)


def test_study_refuses_missing_resources(toy_nli_classifier):
    w, clf, tok = toy_nli_classifier
    data = {"L1": w.nli(4, "L1")}
    with pytest.raises(ValueError, match=r"neighbour_tables\['L1'\]"):
        adversarial_study(clf, tok, data, config=AttackConfig(attacks=("word_substitution",)))
    with pytest.raises(ValueError, match=r"dictionaries\['L1'\]"):
        adversarial_study(clf, tok, data, config=AttackConfig(attacks=("code_switch",)))
    with pytest.raises(ValueError, match="datasets is empty"):
        adversarial_study(clf, tok, {})
    with pytest.raises(ValueError, match="unknown attack"):
        AttackConfig(attacks=("typos",))
    with pytest.raises(ValueError, match="n_test"):
        AdversarialSettings.from_settings({"n_test": 0})


def test_run_adversarial_writes_outputs(tmp_path):
    records = run_adversarial({"preset": "tiny", "n_test": 12, "attacks": ["char_noise"]},
                              tmp_path)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    attacked = [r for r in records if r.attack == "char_noise"]
    assert len(lines) == len(records) and len(attacked) == 3 * len(SUMMARY_METRICS)
    assert {r.metric for r in records if r.attack == "none"} == {"train_seconds",
                                                                "train_cpu_seconds"}
    assert all(json.loads(x)["config_hash"] for x in lines)
    examples = json.loads((tmp_path / "examples.json").read_text())
    assert all(e["attack"] == "char_noise" for e in examples)


@pytest.mark.shared_data
@pytest.mark.slow
def test_e5_on_xnli_with_muse_and_swadesh():
    folder = shared_or_skip("xnli")
    shared_or_skip("muse")
    shared_or_skip("nltk/swadesh.zip")
    from xtutor.data import load_xnli
    from xtutor.models import load_encoder
    from xtutor.training.classify import classifier_from_encoder

    torch.set_num_threads(2)
    enc, tok = load_encoder("e5-small-offline")
    clf = classifier_from_encoder(enc, NLI_LABELS).eval()  # an untrained head is a fine victim
    datasets = {lang: load_xnli(lang, "test", path=folder).subset(2, seed=0)
                for lang in ("en", "es")}
    tables, dicts = real_resources(datasets, clf, tok, targets=("de", "fr"), k=4)
    assert sorted(dicts["en"]) == ["de", "fr"]  # MUSE en-de, en-fr
    assert sorted(dicts["es"]) == ["de", "en", "fr"]  # Swadesh es-de/es-fr, MUSE en-es reversed
    cfg = AttackConfig(attacks=("word_substitution", "code_switch"), sides="hypothesis",
                            max_words=1, max_word_fraction=1.0, max_candidates=2, beam_width=1,
                            max_candidates_per_round=8, max_length=64)
    study = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                              config=cfg, model_name="e5-small-offline")
    for rep in study.reports.values():
        assert rep.summary.n == 2
        for r in rep.results:
            assert r.perturbed.premise == r.original.premise and r.words_changed <= 1
    assert set(study.frame().eval_lang) == {"en", "es"}


def test_translation_classes_partition_the_words():
    from xtutor.certify import overlap_ratio
    from xtutor.experiments.adversarial import translation_classes
    from xtutor.toyworld import ToyWorld, WorldConfig

    w = ToyWorld(WorldConfig(n_languages=3, n_entities=8, n_attributes=4, n_verbs=4, seed=0))
    table = translation_classes(w)
    for a, b in w.dictionary("L0", "L2"):
        if a != b:
            assert b in table[a] and a in table[b]
    # closed classes: every substitution keeps the class, so SAFER's overlap ratio is 1
    assert all(overlap_ratio(table, word) == 1.0 for word in table)
    assert all(word not in neighbours for word, neighbours in table.items())


def test_toy_robustness_study_records_methods_attacks_and_certificates():
    from xtutor.experiments.adversarial import RobustnessConfig, toy_robustness_study

    torch.set_num_threads(1)
    seen = []
    cfg = RobustnessConfig("tiny", seeds=(0,), methods=("plain", "codeswitch", "contrastive"),
                           nli_train=64, robust={"contrastive_pairs": 16},
                           epochs=1.0, lr=1e-3, n_attack=3,
                           attack=AttackConfig(attacks=("char_noise", "embedding_pgd"),
                                                    pgd_steps=2),
                           certify_langs=("L1",), n_certify=2, certify_n=8, certify_n0=4,
                           gaussian_radii=(0.0, 0.5), substitution_radii=(0, 2))
    study = toy_robustness_study(cfg, on_run=seen.append)
    df = study.frame()
    assert [d["method"] for d in seen] == ["plain", "codeswitch", "contrastive"]
    assert set(df.method) == {"plain", "codeswitch", "contrastive"}
    assert set(df.attack) == {"none", "char_noise", "embedding_pgd", "smoothing_gaussian",
                              "smoothing_substitution"}
    cert = df[df.attack == "smoothing_substitution"]
    assert set(cert.metric) >= {"certified_accuracy@0", "certified_accuracy@2", "abstain_rate"}
    assert set(cert.eval_lang) == {"L1"}
    att = df[df.metric == "attacked_accuracy"]
    assert (att.n == 3).all() and set(att.eval_lang) == {"L0", "L1", "L2"}


def test_robustness_config_refuses_unknown_methods():
    from xtutor.experiments.adversarial import RobustnessConfig

    with pytest.raises(ValueError, match="unknown method"):
        RobustnessConfig(methods=("plain", "magic"))


def test_toy_label_check_keeps_every_gold_label(toy_nli_classifier):
    """Without the check some word-level 'successes' change the gold label (the toy family has
    no synonyms); with it (xtutor.toyreading) none does, rejected candidates are counted, and
    the study writes label_preserved_rate / label_rejected_fraction records."""
    import functools

    from xtutor.toyreading import label_preserved, protected_words

    w, clf, tok = toy_nli_classifier
    datasets = {lang: w.nli(40, lang, seed=12) for lang in w.languages[:2]}
    tables, dicts = toy_resources(w, clf, tok, k=6)
    base = AttackConfig(attacks=("word_substitution", "code_switch"), max_word_fraction=0.4,
                        n_examples=0)
    check = functools.partial(label_preserved, w)
    off = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                            config=base, model_name="toy", train_lang="L0")
    changed = [r for rep in off.reports.values() for r in rep.successes()
               if not check(r.original, r.perturbed)]
    assert changed, "the unchecked attacks never changed a label: this test shows nothing"
    assert "label_preserved_rate" not in set(off.frame().metric)

    on_cfg = AttackConfig(attacks=base.attacks, max_word_fraction=0.4, n_examples=0,
                          protected_words=tuple(protected_words(w)), label_check=check)
    on = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                           config=on_cfg, model_name="toy", train_lang="L0")
    won = [r for rep in on.reports.values() for r in rep.successes()]
    assert won and all(check(r.original, r.perturbed) for r in won)
    assert sum(rep.label_rejected for rep in on.reports.values()) > 0
    df = on.frame()
    rates = df[df.metric == "label_preserved_rate"]
    # a rate is written where there was a success to check
    assert len(rates) == sum(bool(rep.successes()) for rep in on.reports.values())
    assert (rates.value == 1.0).all()
    assert rates.n.sum() == len(won)
    rejected = df[df.metric == "label_rejected_fraction"]
    assert len(rejected) == len(on.reports) and (rejected.value > 0).any()
    assert ((rejected.value >= 0) & (rejected.value < 1)).all()
    # the clean predictions do not depend on the check
    clean = df[df.metric == "clean_accuracy"].set_index(["eval_lang", "attack"]).value
    clean_off = off.frame().query("metric == 'clean_accuracy'").set_index(
        ["eval_lang", "attack"]).value
    assert clean.equals(clean_off)


def test_robustness_study_and_adversarial_run_protect_labels(tmp_path):
    """protect_labels reaches the toy attacks of chapter 4's study and of experiment
    adversarial: label records appear, every success keeps its gold label."""
    from xtutor.experiments.adversarial import RobustnessConfig, toy_robustness_study

    torch.set_num_threads(1)
    cfg = RobustnessConfig("tiny", seeds=(0,), methods=("plain",), nli_train=64, epochs=1.0,
                           lr=1e-3, n_attack=6, n_certify=0, protect_labels=True,
                           attack=AttackConfig(attacks=("word_substitution",),
                                               max_word_fraction=0.4))
    df = toy_robustness_study(cfg).frame()
    assert "label_rejected_fraction" in set(df.metric)
    assert (df[df.metric == "label_preserved_rate"].value == 1.0).all()
    recs = run_adversarial({"preset": "tiny", "n_test": 4, "attacks": ["code_switch"],
                            "protect_labels": True}, tmp_path / "adv")
    assert "label_rejected_fraction" in {r.metric for r in recs}
