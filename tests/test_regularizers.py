"""The regularisers' building blocks: norm bounds, masks, noise rates, KL, gradients."""

from __future__ import annotations

import random

import pytest
import torch

from xtutor.data.corpora import Dictionary
from xtutor.data.types import PairExample
from xtutor.regularizers import (
    AdversarialConfig,
    CodeSwitch,
    CodeSwitchConfig,
    ConsistencyConfig,
    ContrastiveConfig,
    RandomizedSmoothing,
    SmoothingConfig,
    as_table,
    gaussian_noise,
    kl_consistency,
    perturbation_norm,
    pgd_perturbation,
    project,
    substitute_words,
    token_mask,
)
from xtutor.training import classifier_from_encoder


@pytest.fixture()
def tiny_classifier(tiny_encoder):
    model, tok = tiny_encoder
    clf = classifier_from_encoder(model, ("entailment", "neutral", "contradiction"))
    clf.eval()  # no dropout: the attack is deterministic
    return clf, tok


def _batch(tok, world, n=6):
    data = world.nli(n, "L0", seed=3)
    enc = tok([e.premise for e in data], [e.hypothesis for e in data], padding=True,
              return_tensors="pt")
    return enc, torch.tensor(data.labels)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_respects_norm_bound_and_never_touches_padding(tiny_classifier, small_world,
                                                           norm) -> None:
    clf, tok = tiny_classifier
    enc, y = _batch(tok, small_world)
    assert (enc["attention_mask"] == 0).any(), "the batch must contain padding"
    mask = token_mask(enc["input_ids"], enc["attention_mask"], tok.all_special_ids)
    embeds = clf.get_input_embeddings()(enc["input_ids"]).detach()

    def loss_fn(e: torch.Tensor) -> torch.Tensor:
        logits = clf(inputs_embeds=e, attention_mask=enc["attention_mask"],
                     token_type_ids=enc["token_type_ids"]).logits
        return torch.nn.functional.cross_entropy(logits, y)

    eps = 0.3 if norm == "l2" else 0.02
    cfg = AdversarialConfig(steps=3, step_size=eps / 2, epsilon=eps, norm=norm, init=0.5)
    delta = pgd_perturbation(loss_fn, embeds, mask, cfg, torch.Generator().manual_seed(0))
    assert delta.shape == embeds.shape
    assert (perturbation_norm(delta, norm) <= eps * (1 + 1e-5)).all()
    assert (perturbation_norm(delta, norm) > 0.5 * eps).all()  # the attack moved every example
    pad = enc["attention_mask"] == 0
    assert delta[pad].abs().max() == 0
    specials = torch.isin(enc["input_ids"], torch.tensor(tok.all_special_ids))
    assert delta[specials].abs().max() == 0
    with torch.no_grad():
        assert loss_fn(embeds + delta) > loss_fn(embeds)  # it is an attack


def test_project_linf_and_unbounded() -> None:
    d = torch.tensor([[[0.5, -2.0], [1.0, 1.0]]])
    m = torch.tensor([[True, False]])
    assert torch.allclose(project(d, m, 0.1, "linf"), torch.tensor([[[0.1, -0.1], [0, 0]]]))
    assert project(d, m, 0.0, "l2").tolist() == [[[0.5, -2.0], [0.0, 0.0]]]
    with pytest.raises(ValueError, match="mask has shape"):
        project(d, torch.ones(2, 2, dtype=torch.bool), 1.0, "l2")


def test_gaussian_noise_only_on_real_tokens() -> None:
    e = torch.zeros(4, 5, 3)
    m = torch.rand(4, 5, generator=torch.Generator().manual_seed(0)) > 0.5
    out = gaussian_noise(e, m, 0.1, torch.Generator().manual_seed(1))
    assert (out[~m] == 0).all() and (out[m] != 0).all()
    assert 0.05 < float(out[m].std()) < 0.2


def test_word_substitution_follows_the_rate_and_is_seeded() -> None:
    table = {f"w{i}": [f"n{i}a", f"n{i}b"] for i in range(50)}
    text = " ".join(f"w{i % 50}" for i in range(4000)) + " other"
    for rate in (0.0, 0.1, 0.4):
        out, n_rep, n_cand = substitute_words(text, lambda w: table.get(w, []), rate,
                                              random.Random(0))
        words = out.split()
        changed = sum(a != b for a, b in zip(text.split(), words, strict=True))
        assert n_cand == 4000 and changed == n_rep
        assert abs(n_rep / n_cand - rate) < 0.03, (rate, n_rep)
        assert words[-1] == "other"
        assert all(w in table[o] for o, w in zip(text.split(), words, strict=False) if o != w)
    again = substitute_words(text, lambda w: table.get(w, []), 0.4, random.Random(0))[0]
    assert again == substitute_words(text, lambda w: table.get(w, []), 0.4, random.Random(0))[0]


def test_smoothing_keeps_punctuation_and_labels() -> None:
    rs = RandomizedSmoothing({"dog": ["hound"]}, SmoothingConfig(rate=1.0))
    ex = rs.augment(PairExample("The dog, barks.", "A dog!", 2, "en", "en"), random.Random(0))
    assert (ex.premise, ex.hypothesis, ex.label) == ("The hound, barks.", "A hound!", 2)
    with pytest.raises(ValueError, match="neighbours"):
        RandomizedSmoothing(None, SmoothingConfig(rate=0.5))


def test_codeswitch_switches_toy_words_at_the_rate(small_world) -> None:
    langs = small_world.languages
    tables = {lang: small_world.dictionary("L0", lang) for lang in langs[1:]}
    cs = CodeSwitch(tables, CodeSwitchConfig(rate=0.4))
    data = small_world.nli(300, "L0", seed=5)
    known = set().union(*(as_table(t).keys() for t in tables.values()))
    translations = {lang: as_table(t) for lang, t in tables.items()}
    rng = random.Random(0)
    n_cand = n_changed = 0
    used = set()
    for ex in data:
        new = cs.augment(ex, rng)
        assert new.label == ex.label
        for old_s, new_s in ((ex.premise, new.premise), (ex.hypothesis, new.hypothesis)):
            for a, b in zip(old_s.split(), new_s.split(), strict=True):
                if a in known:
                    n_cand += 1
                    if a != b:
                        n_changed += 1
                        hits = [lang for lang, t in translations.items() if b in t.get(a, [])]
                        assert hits, (a, b)
                        used.update(hits)
                else:
                    assert a == b
    assert n_cand > 1000
    assert abs(n_changed / n_cand - 0.4) < 0.04, n_changed / n_cand
    assert used == set(langs[1:])  # every target language is used


def test_codeswitch_accepts_muse_style_dictionaries() -> None:
    d = Dictionary("en", "de", [("the", "die"), ("dog", "Hund")])
    cs = CodeSwitch([d], CodeSwitchConfig(rate=1.0))
    assert cs.languages == ["de"]
    assert cs.switch("The dog sleeps.", random.Random(0)) == "die Hund sleeps."
    with pytest.raises(ValueError, match="no word translations"):
        CodeSwitch([[]])
    with pytest.raises(TypeError, match=r"dictionaries\['x'\]\[0\]"):
        CodeSwitch({"x": [("a",)]})


def test_kl_is_zero_for_identical_inputs_positive_otherwise_and_differentiable() -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.randn(8, 3, generator=g)
    q = torch.randn(8, 3, generator=g, requires_grad=True)
    for sym in (False, True):
        assert float(kl_consistency(p, p.clone(), symmetric=sym)) == pytest.approx(0, abs=1e-7)
        assert float(kl_consistency(p, q.detach(), symmetric=sym)) > 0
    sym = kl_consistency(p, q, symmetric=True)
    reverse = kl_consistency(q.detach(), p, symmetric=True)
    assert float(sym.detach()) == pytest.approx(float(reverse), rel=1e-5)
    sym.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="must both be"):
        kl_consistency(p, p[:, :2])


def test_configs_name_the_bad_argument() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        AdversarialConfig(epsilon=-1)
    with pytest.raises(ValueError, match="steps"):
        AdversarialConfig(steps=0)
    with pytest.raises(ValueError, match="CodeSwitchConfig.rate"):
        CodeSwitchConfig(rate=2)
    with pytest.raises(ValueError, match="noise_std"):
        SmoothingConfig(noise_std=-0.1)
    with pytest.raises(ValueError, match="noise_std"):
        ConsistencyConfig(noise_std=-1)
    with pytest.raises(ValueError, match="temperature"):
        ContrastiveConfig(temperature=0)
