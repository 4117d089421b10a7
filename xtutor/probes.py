"""How much language identity is left in a representation: a linear probe and a 2-D picture.

:func:`language_id_probe` trains a multinomial logistic-regression classifier (written in torch:
full-batch L-BFGS, L2 penalty, standardised features) to predict the language of each embedding
and reports its accuracy on a held-out, per-language stratified split. High accuracy means the
layer still encodes which language a sentence is in (language-specific subspaces); accuracy near
chance means the languages are mixed. A linear probe can only *show* that information is there;
failing to find it does not prove it is absent for a more powerful classifier.

:func:`project_2d` projects embeddings onto their first two principal components (PCA via
``torch.linalg.svd``, no scikit-learn) and :func:`plot_projection` draws them coloured by
language, each axis labelled with the share of variance it explains.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.cat([torch.randn(50, 8, generator=g) + 3, torch.randn(50, 8, generator=g) - 3])
    >>> res = language_id_probe(x, ["en"] * 50 + ["de"] * 50, seed=0)
    >>> res.accuracy, res.chance
    (1.0, 0.5)
    >>> project_2d(x).shape
    (100, 2)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from matplotlib.figure import Figure


@dataclass(frozen=True)
class ProbeResult:
    """Held-out accuracy of a language-identity probe.

    ``chance`` is the accuracy of always predicting the most frequent training language on the
    same test set; ``classes`` lists the languages in the order of the probe's outputs.
    """

    accuracy: float
    chance: float
    n_train: int
    n_test: int
    classes: tuple[Hashable, ...] = ()


def _as_matrix(embeddings, name: str = "embeddings") -> torch.Tensor:
    x = torch.as_tensor(np.asarray(embeddings) if not isinstance(embeddings, torch.Tensor)
                        else embeddings.detach().cpu())
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    x = x.double()
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return x


def _stratified_split(labels: torch.Tensor, n_classes: int, test_fraction: float,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in range(n_classes):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_test = min(max(1, round(test_fraction * len(idx))), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def language_id_probe(embeddings, languages: Sequence[Hashable], seed: int = 0,
                      test_fraction: float = 0.3, *, l2: float = 1e-3, steps: int = 200
                      ) -> ProbeResult:
    """Train a linear language classifier on a seeded split and report held-out accuracy.

    ``embeddings`` is ``(N, D)`` (torch or numpy), ``languages[i]`` the language of row ``i``.
    Each language is split on its own (stratified): ``round(test_fraction * n)`` of its rows, at
    least one, go to the test set. Features are standardised with the training mean and standard
    deviation; the softmax classifier minimises mean cross-entropy ``+ l2 * ||W||^2`` (bias not
    penalised) with full-batch L-BFGS for at most ``steps`` iterations, from zero weights, in
    float64, so the same inputs and seed always give the same result.

    Example:
        >>> import torch
        >>> x = torch.randn(60, 4, generator=torch.Generator().manual_seed(1))
        >>> r = language_id_probe(x, ["a", "b", "c"] * 20, seed=0)
        >>> r.n_train, r.n_test, round(r.chance, 3)
        (42, 18, 0.333)
    """
    x = _as_matrix(embeddings)
    if isinstance(languages, str) or len(languages) != x.shape[0]:
        raise ValueError(f"languages must give one label per row: {x.shape[0]} rows, "
                         f"{len(languages) if not isinstance(languages, str) else 'a string'}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if l2 < 0 or steps < 1:
        raise ValueError(f"l2 must be >= 0 and steps >= 1 (got {l2}, {steps})")
    labels_list = list(languages)
    classes = tuple(dict.fromkeys(labels_list))
    if len(classes) < 2:
        raise ValueError(f"need at least 2 languages to probe, got {list(classes)}")
    counts = {c: labels_list.count(c) for c in classes}
    few = [c for c, n in counts.items() if n < 2]
    if few:
        raise ValueError(f"every language needs at least 2 rows (one to train, one to test); "
                         f"{few} have fewer")
    cid = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([cid[c] for c in labels_list])
    tr, te = _stratified_split(y, len(classes), test_fraction, seed)
    mean = x[tr].mean(0)
    std = x[tr].std(0, unbiased=False).clamp_min(1e-8)
    xs = (x - mean) / std
    w = torch.zeros(x.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, history_size=20,
                            tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")
    x_tr, y_tr = xs[tr], y[tr]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x_tr @ w + b, y_tr) + l2 * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        pred = (xs[te] @ w + b).argmax(1)
    accuracy = float((pred == y[te]).double().mean())
    majority = int(torch.bincount(y_tr, minlength=len(classes)).argmax())
    chance = float((y[te] == majority).double().mean())
    return ProbeResult(accuracy, chance, len(tr), len(te), classes)


def project_2d(embeddings, method: Literal["pca"] = "pca", *, return_explained: bool = False):
    """Project ``(N, D)`` embeddings to ``(N, 2)`` numpy coordinates on the top 2 PCs.

    Rows are centred, ``torch.linalg.svd`` gives the principal directions, and each direction's
    sign is fixed so that its largest-magnitude loading is positive (the result is
    deterministic). The first column has the largest variance. With ``return_explained=True``
    the fraction of total variance of each of the two components is returned too.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
        >>> pts, ev = project_2d(x, return_explained=True)
        >>> pts.shape, [round(float(v), 2) for v in ev]
        ((4, 2), [0.8, 0.2])
    """
    if method != "pca":
        raise ValueError(f"method must be 'pca', got {method!r}")
    x = _as_matrix(embeddings)
    if x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"need at least 2 rows and 2 columns to project to 2-D, got shape "
                         f"{tuple(x.shape)}")
    xc = x - x.mean(0)
    _, s, vh = torch.linalg.svd(xc, full_matrices=False)
    comps = vh[:2]
    top = comps.abs().argmax(1)
    signs = torch.sign(comps[torch.arange(len(comps)), top])
    signs[signs == 0] = 1.0
    comps = comps * signs[:, None]
    points = (xc @ comps.T).numpy()
    if points.shape[1] < 2:  # fewer components than 2 (cannot happen with N, D >= 2)
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    total = float((s ** 2).sum())
    explained = ((s[:2] ** 2) / total).numpy() if total > 0 else np.zeros(2)
    return (points, explained) if return_explained else points


def plot_projection(points, labels: Sequence[Hashable], title: str = "",
                    explained: Sequence[float] | None = None) -> Figure:
    """A scatter plot of 2-D ``points`` coloured by ``labels`` (e.g. language), with a legend.

    Axes read ``PC 1 (x% of variance)`` when ``explained`` (from
    ``project_2d(..., return_explained=True)``) is given, else ``PC 1`` / ``PC 2``.

    Example:
        >>> import numpy as np
        >>> fig = plot_projection(np.zeros((2, 2)), ["en", "de"], "t", explained=[0.5, 0.25])
        >>> fig.axes[0].get_xlabel()
        'PC 1 (50.0% of variance)'
    """
    import matplotlib.pyplot as plt

    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(f"points must have shape (N, 2) with N >= 1, got {pts.shape}")
    if isinstance(labels, str) or len(labels) != len(pts):
        raise ValueError(f"labels must give one label per point ({len(pts)} points)")
    if explained is not None and len(explained) < 2:
        raise ValueError("explained needs the variance fractions of both components")
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    labels_list = list(labels)
    for lab in dict.fromkeys(labels_list):
        sel = np.array([x == lab for x in labels_list])
        ax.scatter(pts[sel, 0], pts[sel, 1], s=12, alpha=0.7, label=str(lab))
    for d, name in enumerate(("x", "y")):
        text = f"PC {d + 1}"
        if explained is not None:
            text += f" ({100 * float(explained[d]):.1f}% of variance)"
        getattr(ax, f"set_{name}label")(text)
    ax.set_title(title)
    ax.legend(title="language", fontsize=8, markerscale=1.5, loc="best")
    fig.tight_layout()
    return fig


__all__ = ["ProbeResult", "language_id_probe", "plot_projection", "project_2d"]
