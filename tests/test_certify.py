"""xtutor.certify against classifiers whose true robustness is known."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import torch

from xtutor.attacks import Victim
from xtutor.certify import (
    ABSTAIN,
    GaussianSmoothing,
    SubstitutionSmoothing,
    certified_accuracy,
    certify_gaussian,
    certify_pairs_gaussian,
    certify_substitution,
    clopper_pearson_lower,
    overlap_ratio,
    substitution_deltas,
)
from xtutor.data.types import NLI_LABELS, PairDataset, PairExample

CP_SWEEP = [(k, n, a) for n in (1, 2, 7, 10, 80, 1000) for k in sorted({0, 1, n // 3, n - 1, n})
            for a in (1e-4, 0.001, 0.05, 0.3)]


@pytest.mark.parametrize(("k", "n", "alpha"), CP_SWEEP)
def test_clopper_pearson_is_the_beta_quantile(k: int, n: int, alpha: float) -> None:
    from scipy import stats

    lower = clopper_pearson_lower(k, n, alpha)
    if k == 0:
        assert lower == 0.0
        return
    assert lower == pytest.approx(stats.beta.ppf(alpha, k, n - k + 1), rel=1e-12, abs=1e-15)
    # the defining property, through the binomial tail instead of the beta quantile
    assert stats.binom.sf(k - 1, n, lower) == pytest.approx(alpha, rel=1e-7)
    # an independent implementation: scipy's exact one-sided interval of binomtest (a root
    # finder on the binomial tail, accurate to about 1e-12 in absolute terms)
    ref = stats.binomtest(k, n, alternative="greater").proportion_ci(1 - alpha, method="exact")
    assert lower == pytest.approx(ref.low, rel=1e-9, abs=1e-11)
    if k == n:
        assert lower == pytest.approx(alpha ** (1 / n), rel=1e-12)


def test_clopper_pearson_known_values_and_two_sided_reference() -> None:
    from scipy import stats

    assert round(clopper_pearson_lower(990, 1000, 0.001), 3) == 0.976
    assert round(clopper_pearson_lower(10, 10, 0.05), 4) == 0.7411
    # the lower end of the two-sided exact 1 - 2 alpha interval is the one-sided bound
    for k, n, a in [(3, 10, 0.025), (77, 80, 0.005), (500, 1000, 0.0005)]:
        two = stats.binomtest(k, n).proportion_ci(1 - 2 * a, method="exact")
        assert clopper_pearson_lower(k, n, a) == pytest.approx(two.low, rel=1e-9, abs=1e-11)
    # a large alpha puts the bound above k / n: it is not clipped to the point estimate
    assert clopper_pearson_lower(1, 3, 0.9) == pytest.approx(stats.beta.ppf(0.9, 1, 3))
    assert clopper_pearson_lower(1, 3, 0.9) > 1 / 3


class Linear:
    """Binary linear classifier on (length, dim) embeddings: class 1 iff <w, x> + b > 0.

    Under Gaussian noise the smoothed classifier equals it and the exact certified L2 radius is
    the distance to the decision boundary, |<w, x> + b| / ||w||."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        self.w, self.b, self.calls = w, b, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[0])
        s = (x.flatten(1) * self.w.flatten()).sum(1) + self.b
        return torch.stack([-s, s], 1)

    def margin(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> float:
        w = self.w if mask is None else self.w * mask
        return float(((x * self.w).sum() + self.b).abs() / w.norm())


def test_gaussian_certificate_matches_the_linear_margin():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, generator=g)
    clf = Linear(w, 0.2)
    direction = w / w.norm()
    xs, labels, margins = [], [], []
    for m in (0.15, 0.3, 0.45, -0.3):
        base = torch.randn(3, 4, generator=g)
        base = base - direction * ((base * w).sum() + 0.2) / w.norm()  # onto the boundary
        x = base + m * direction
        xs.append(x)
        labels.append(1 if m > 0 else 0)
        margins.append(clf.margin(x))
    cfg = GaussianSmoothing(sigma=0.25, n0=100, n=4000, alpha=0.001, batch_size=1000)
    certs = certify_gaussian(clf, xs, labels, cfg)
    for c, m in zip(certs, margins, strict=True):
        assert c.correct
        assert c.radius <= m + 1e-9  # never more than the truth
        # and close to it: the only slack is the confidence bound on p_A
        p = NormalDist().cdf(m / cfg.sigma)
        slack = 4 * math.sqrt(p * (1 - p) / cfg.n) + 1e-3
        assert c.radius >= cfg.sigma * NormalDist().inv_cdf(max(0.5, p - slack)) - 1e-9
    # batched sampling: n0 and n in batches of batch_size, nothing one at a time
    sampling = [b for b in clf.calls if b > 1]
    assert sampling == [100, 1000, 1000, 1000, 1000] * 4


def test_gaussian_abstains_at_the_boundary_and_respects_masks():
    w = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    clf = Linear(w, 0.0)
    on_boundary = torch.tensor([[0.5, 0.0], [-0.5, 0.0]])
    [c] = certify_gaussian(clf, [on_boundary], [1], GaussianSmoothing(sigma=0.5, n=500))
    assert c.prediction == ABSTAIN and c.radius == 0.0 and not c.correct
    # noise (and the certificate) on the first row only: the margin is measured with w's
    # first row, |<w, x>| / ||w[0]|| = 0.3 / 1
    x = torch.tensor([[0.2, 0.0], [0.1, 0.0]])
    mask = torch.tensor([[1.0], [0.0]])
    [c] = certify_gaussian(clf, [x], [1], GaussianSmoothing(sigma=0.2, n=4000), masks=[mask])
    assert 0.2 < c.radius <= 0.3 + 1e-9
    assert clf.margin(x, mask) == pytest.approx(0.3)


def test_certified_accuracy_is_monotone():
    w = torch.ones(1, 2)
    clf = Linear(w, 0.0)
    xs = [torch.tensor([[t, t]]) for t in (0.05, 0.2, 0.4, -0.3)]
    certs = certify_gaussian(clf, xs, [1, 1, 1, 1], GaussianSmoothing(sigma=0.3, n=1000))
    curve = certified_accuracy(certs, [0.0, 0.1, 0.3, 0.5, 1.0])
    accs = [a for _, a in curve]
    assert accs == sorted(accs, reverse=True) and accs[0] <= 0.75 and accs[-1] == 0.0


def test_pairs_gaussian_on_toy_classifier(tiny_encoder, small_world):
    from xtutor.evaluation import predict_pairs
    from xtutor.training.classify import classifier_from_encoder

    model, tok = tiny_encoder
    clf = classifier_from_encoder(model, NLI_LABELS).eval()
    data = small_world.nli(4, seed=3)
    clean = predict_pairs(clf, tok, data)
    tiny = certify_pairs_gaussian(clf, tok, data, GaussianSmoothing(sigma=1e-4, n0=8, n=100,
                                                                     sides="hypothesis"))
    # with almost no noise the smoothed prediction is the clean one, with p_A near 1
    for c, p in zip(tiny, clean, strict=True):
        assert c.prediction == p and c.count == 100 and c.radius > 0


def constant(label: int, k: int = 2):
    def fn(pairs):
        out = np.zeros((len(pairs), k))
        out[:, label] = 1.0
        return out
    return fn


def test_substitution_bounds_by_hand():
    table = {"a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b"], "d": ["e"]}
    assert overlap_ratio(table, "a") == 1.0  # a closed group: S(a) = S(b) = S(c)
    assert overlap_ratio(table, "d") == pytest.approx(1 / 2)  # S(d)={d,e}, S(e)={e}
    assert overlap_ratio(table, "zzz") == 1.0
    assert substitution_deltas([0.5, 0.5, 1.0]) == [0.0, 0.5, 0.75, 0.75]


def test_substitution_certificate_known_answers():
    ds = PairDataset("t", ("x", "y"), [PairExample("a d d", "a d", 0, "en", "en")])
    closed = {"a": ["b"], "b": ["a"]}
    v = Victim.from_function(constant(0), ("x", "y"), batch_size=64, cache=False)
    [c] = certify_substitution(v, ds, closed, SubstitutionSmoothing(n0=10, n=200))
    assert c.prediction == 0 and c.radius == 2.0  # both "a" certified; "d" cannot be attacked
    assert v.forward_calls == 1 + math.ceil(200 / 64)  # batched sampling
    # with the victim's cache the 4 distinct substitutions are scored once: same certificate
    cached = Victim.from_function(constant(0), ("x", "y"), batch_size=64)
    assert certify_substitution(cached, ds, closed, SubstitutionSmoothing(n0=10, n=200)) == [c]
    assert cached.queries == v.queries and cached.forward_calls <= 2 < v.forward_calls
    open_ = {"d": ["e"]}  # Delta_1 = 1/2 > p_A_lower - 0.5: nothing certified beyond 0 words
    [c] = certify_substitution(Victim.from_function(constant(0), ("x", "y")), ds, open_,
                               SubstitutionSmoothing(n0=10, n=200))
    assert c.prediction == 0 and c.radius == 0.0
    # the classifier reads whether "a" survived the substitution: p(label 0) = 1/2 -> abstain
    def reads_a(pairs):
        return np.array([[1.0, 0.0] if p.split()[0] == "a" else [0.0, 1.0] for p, _ in pairs])

    [c] = certify_substitution(Victim.from_function(reads_a, ("x", "y")), ds, closed,
                               SubstitutionSmoothing(n0=50, n=400))
    assert c.prediction == ABSTAIN and 0.35 < c.p_lower < 0.5 and not c.correct
    # only the hypothesis may change: the premise's "a" is never substituted
    [c] = certify_substitution(Victim.from_function(reads_a, ("x", "y")), ds, closed,
                               SubstitutionSmoothing(n0=10, n=200, sides="hypothesis"))
    assert c.prediction == 0 and c.count == 200 and c.radius == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="sigma"):
        GaussianSmoothing(sigma=0)
    with pytest.raises(ValueError, match="alpha"):
        SubstitutionSmoothing(alpha=1.5)
    with pytest.raises(ValueError, match="sides"):
        SubstitutionSmoothing(sides="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be"):
        clopper_pearson_lower(11, 10, 0.05)
    with pytest.raises(ValueError, match="labels"):
        certify_gaussian(Linear(torch.ones(2), 0.0), [torch.ones(2)], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        certify_substitution(Victim.from_function(constant(0, 3), NLI_LABELS),
                             PairDataset("nli", NLI_LABELS, []), {})
    with pytest.raises(TypeError, match="table"):
        certify_substitution(Victim.from_function(constant(0, 3), NLI_LABELS),
                             PairDataset("nli", NLI_LABELS,
                                         [PairExample("a", "b", 0, "en", "en")]), ["a"])
    with pytest.raises(ValueError, match="certificates"):
        certified_accuracy([], [0.0])


def test_certified_records_are_tidy():
    from xtutor.certify import Certificate, certified_records

    cs = [Certificate(0, 0, .99, 1.2, 99, 100), Certificate(1, 0, .9, .8, 90, 100),
          Certificate(2, ABSTAIN, .3, 0.0, 30, 100), Certificate(1, 1, .7, .3, 70, 100)]
    recs = certified_records(cs, [0, 0.5, 1.0], certificate="smoothing_gaussian", alpha=0.01,
                             experiment="c", model="m", task="nli", train_lang="en",
                             eval_lang="es")
    by = {r.metric: r.value for r in recs}
    assert by == {"certified_accuracy@0": 0.5, "certified_accuracy@0.5": 0.25,
                  "certified_accuracy@1": 0.25, "abstain_rate": 0.25, "certify_alpha": 0.01}
    assert all(r.attack == "smoothing_gaussian" and r.n == 4 for r in recs)
    with pytest.raises(ValueError, match="certificate"):
        certified_records(cs, [0], certificate="none", alpha=0.01, experiment="c", model="m",
                          task="nli", train_lang="en", eval_lang="es")
