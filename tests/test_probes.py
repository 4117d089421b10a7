"""Language-identity probe and 2-D projection: separable vs identical distributions, shapes,
variance ordering, determinism, figure labels and bad inputs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from xtutor.probes import ProbeResult, language_id_probe, plot_projection, project_2d  # noqa: E402


def _clusters(n_per: int, dim: int, shift: float, n_lang: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_lang, dim, generator=g) * shift
    x = torch.cat([torch.randn(n_per, dim, generator=g) + centers[k] for k in range(n_lang)])
    langs = [f"L{k}" for k in range(n_lang) for _ in range(n_per)]
    return x, langs


def test_separable_clusters_are_identified():
    x, langs = _clusters(60, 16, shift=3.0)
    res = language_id_probe(x, langs, seed=0, test_fraction=0.25)
    assert isinstance(res, ProbeResult)
    assert res.accuracy >= 0.98
    assert res.chance == pytest.approx(1 / 3)
    assert (res.n_train, res.n_test) == (135, 45)
    assert res.classes == ("L0", "L1", "L2")


def test_identical_distributions_stay_near_chance():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(600, 8, generator=g)
    langs = ["en", "de"] * 300
    accs = [language_id_probe(x, langs, seed=s).accuracy for s in range(3)]
    assert abs(float(np.mean(accs)) - 0.5) < 0.08, accs


def test_probe_is_deterministic_and_seed_dependent():
    x, langs = _clusters(30, 6, shift=0.4, n_lang=2)
    a = language_id_probe(x.numpy(), langs, seed=3)
    assert a == language_id_probe(x, langs, seed=3)
    assert any(language_id_probe(x, langs, seed=s) != a for s in range(4, 8))


def test_stratified_split_keeps_every_language_in_both_sides():
    x, langs = _clusters(3, 4, shift=1.0, n_lang=4)
    res = language_id_probe(x, langs, seed=0, test_fraction=0.1)
    assert res.n_test == 4 and res.n_train == 8  # one test row per language at least


@pytest.mark.parametrize(
    ("emb", "langs", "kw", "match"),
    [
        (torch.zeros(0, 3), [], {}, "empty"),
        (torch.zeros(4), ["a", "b", "a", "b"], {}, "2-D"),
        (torch.zeros(4, 2), ["a", "b", "a"], {}, "one label per row"),
        (torch.zeros(4, 2), ["a"] * 4, {}, "at least 2 languages"),
        (torch.zeros(4, 2), ["a", "a", "a", "b"], {}, "at least 2 rows"),
        (torch.zeros(4, 2), ["a", "b"] * 2, {"test_fraction": 1.0}, "test_fraction"),
        (torch.full((4, 2), float("nan")), ["a", "b"] * 2, {}, "NaN"),
    ],
)
def test_probe_rejects_bad_inputs(emb, langs, kw, match):
    with pytest.raises(ValueError, match=match):
        language_id_probe(emb, langs, **kw)


def test_projection_shapes_variance_order_and_determinism():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 10, generator=g) * torch.linspace(5, 0.5, 10)
    pts, ev = project_2d(x, return_explained=True)
    assert isinstance(pts, np.ndarray) and pts.shape == (200, 2)
    assert pts[:, 0].var() >= pts[:, 1].var()
    assert ev[0] >= ev[1] > 0 and ev.sum() <= 1.0
    np.testing.assert_allclose(pts.mean(0), 0.0, atol=1e-8)  # centred
    np.testing.assert_allclose(project_2d(x), pts)
    # the variance of each column is the component's share of the total variance
    total = float(((x - x.mean(0)) ** 2).sum(1).mean())
    np.testing.assert_allclose(pts.var(0) / total, ev, rtol=1e-6)
    # sign convention: flipping the input's sign does not flip the picture's axes arbitrarily
    np.testing.assert_allclose(np.abs(project_2d(-x)), np.abs(pts), atol=1e-8)


def test_projection_rejects_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        project_2d(torch.randn(5, 3), method="tsne")
    with pytest.raises(ValueError, match="at least 2 rows"):
        project_2d(torch.randn(1, 3))
    with pytest.raises(ValueError, match="empty"):
        project_2d(np.zeros((0, 3)))


def test_plot_projection_labels_axes_and_languages():
    x, langs = _clusters(20, 5, shift=2.0)
    pts, ev = project_2d(x, return_explained=True)
    fig = plot_projection(pts, langs, "layer 8", explained=ev)
    try:
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith("PC 1 (") and "% of variance" in ax.get_xlabel()
        assert ax.get_ylabel().startswith("PC 2 (")
        assert ax.get_title() == "layer 8"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["L0", "L1", "L2"]
        assert plot_projection(pts, langs, "t").axes[0].get_xlabel() == "PC 1"
    finally:
        plt.close("all")
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_projection(np.zeros((3, 3)), ["a"] * 3, "t")
    with pytest.raises(ValueError, match="one label per point"):
        plot_projection(np.zeros((3, 2)), ["a"] * 2, "t")
