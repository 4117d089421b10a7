"""Randomized-smoothing certificates for text classifiers.

Two smoothed classifiers, each with a certificate that holds with probability at least
``1 - alpha`` over the sampling:

- **Gaussian noise on word embeddings** (Cohen, Rosenfeld and Kolter 2019). The smoothed
  classifier predicts the class the base classifier returns most often under
  ``N(0, sigma^2 I)`` noise on the (non-special) word embeddings. With ``p_A_lower``, a
  one-sided Clopper-Pearson lower bound on the top class's probability, it is certified
  within the L2 radius ``sigma * Phi^-1(p_A_lower)`` of those embeddings; it abstains when
  ``p_A_lower <= 0.5``. :func:`certify_gaussian` takes any classifier on embeddings,
  :func:`certify_pairs_gaussian` a Hugging Face pair classifier.
- **Random word substitution** (SAFER, Ye, Gong and Liu 2020). Every word is replaced by a
  uniform draw from its substitution set ``S(w) = {w} + table[w]``. If an adversary substitutes
  word ``w_j`` by ``w'_j in table[w_j]``, the smoothed distributions differ in total variation
  by at most ``Delta = 1 - prod_j |S(w_j) & S(w'_j)| / max(|S(w_j)|, |S(w'_j)|)`` (a coupling
  bound, valid for any tables), so the prediction cannot change while
  ``p_A_lower - Delta > 0.5``. :func:`certify_substitution` reports, per example, the largest
  number ``k`` of substituted words for which this holds against the worst choice of ``k``
  positions and substitutes.

:func:`certified_accuracy` turns certificates into certified accuracy at each radius.

Example:
    >>> round(clopper_pearson_lower(990, 1000, 0.001), 3)
    0.976
    >>> import torch
    >>> w = torch.tensor([1.0, 0.0])  # class 1 iff x[0] > 0: distance to the boundary is x[0]
    >>> clf = lambda x: torch.stack([-x.flatten(1) @ w, x.flatten(1) @ w], 1)
    >>> [c] = certify_gaussian(clf, [torch.tensor([0.5, 0.0])], [1],
    ...                        GaussianSmoothing(sigma=0.25, n=2000))
    >>> c.prediction, 0.35 < c.radius < 0.5
    (1, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from scipy.stats import beta as _beta
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.constraints import SIDES, Side
from xtutor.attacks.recipes import side_mask
from xtutor.attacks.victim import Victim
from xtutor.attacks.words import core, join, match_case, replace_core, words
from xtutor.data.types import PairDataset, check_label_order
from xtutor.precision import PRECISIONS, autocast
from xtutor.results import Record

#: The prediction of a smoothed classifier that abstains.
ABSTAIN = -1


def clopper_pearson_lower(k: int, n: int, alpha: float) -> float:
    """One-sided ``1 - alpha`` Clopper-Pearson lower bound on a binomial proportion (``k``
    successes in ``n`` trials): the ``p`` with ``P(X >= k | p) = alpha``, i.e. the ``alpha``
    quantile of ``Beta(k, n - k + 1)`` (``scipy.stats.beta.ppf``); 0 when ``k = 0`` and
    ``alpha ** (1 / n)`` when ``k = n``.

    Example:
        >>> clopper_pearson_lower(0, 10, 0.05), round(clopper_pearson_lower(10, 10, 0.05), 4)
        (0.0, 0.7411)
        >>> round(clopper_pearson_lower(3, 10, 0.05), 4)
        0.0873
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, n={n}], got {k}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if k == 0:
        return 0.0
    if k == n:
        return float(alpha ** (1.0 / n))
    return float(_beta.ppf(alpha, k, n - k + 1))


@dataclass(frozen=True)
class Certificate:
    """The certificate of one example.

    Attributes:
        label: gold label; prediction: the smoothed prediction (:data:`ABSTAIN` = -1).
        p_lower: lower confidence bound on the top class's probability.
        radius: certified radius: an L2 distance (Gaussian) or a number of substituted words
            (substitution); 0.0 when abstaining.
        count, n: top-class count among the ``n`` estimation samples.
    """

    label: int
    prediction: int
    p_lower: float
    radius: float
    count: int
    n: int

    @property
    def correct(self) -> bool:
        """Predicted (not abstained) and equal to the gold label."""
        return self.prediction == self.label


@dataclass(frozen=True)
class GaussianSmoothing:
    """Settings of Gaussian smoothing on word embeddings.

    Attributes:
        sigma: noise standard deviation (in embedding units).
        n0: samples to pick the top class; n: samples to bound its probability.
        alpha: the certificate holds with probability >= 1 - alpha.
        batch_size: noisy copies per forward pass. seed: seeds the noise.
        sides: which side's word embeddings get noise (pairs only); special tokens never do.
        max_length: truncation of pairs.
        precision: of the classifier's forward passes in :func:`certify_pairs_gaussian`
            (:mod:`xtutor.precision`; ``auto``: bf16 for a real encoder on hardware with bf16).
    """

    sigma: float = 0.25
    n0: int = 64
    n: int = 1000
    alpha: float = 0.001
    batch_size: int = 256
    seed: int = 0
    sides: Side = "both"
    max_length: int = 128
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        _check_sampling(self.n0, self.n, self.alpha, self.batch_size)
        if self.sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, got {self.sides!r}")


def _check_sampling(n0: int, n: int, alpha: float, batch_size: int) -> None:
    if n0 < 1 or n < 1:
        raise ValueError(f"n0 and n must be >= 1, got n0={n0}, n={n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def _counts(predict: Callable[[int], np.ndarray], num: int, batch_size: int, k: int
            ) -> np.ndarray:
    counts = np.zeros(k, dtype=np.int64)
    done = 0
    while done < num:
        b = min(batch_size, num - done)
        preds = np.asarray(predict(b))
        counts += np.bincount(preds, minlength=k)[:k]
        done += b
    return counts


def _certify_from(predict: Callable[[int], np.ndarray], label: int, k: int, n0: int, n: int,
                  alpha: float, batch_size: int) -> tuple[int, float, int]:
    """Cohen et al.'s CERTIFY: (top class or ABSTAIN, p_A_lower, count)."""
    c_a = int(_counts(predict, n0, batch_size, k).argmax())
    count = int(_counts(predict, n, batch_size, k)[c_a])
    p_lower = clopper_pearson_lower(count, n, alpha)
    return (c_a if p_lower > 0.5 else ABSTAIN), p_lower, count


EmbeddingClassifier = Callable[[torch.Tensor], torch.Tensor]


def certify_gaussian(classifier: EmbeddingClassifier, inputs: Sequence[torch.Tensor],
                     labels: Sequence[int], config: GaussianSmoothing | None = None,
                     masks: Sequence[torch.Tensor] | None = None) -> list[Certificate]:
    """Certify each input (a tensor, e.g. ``(length, dim)`` word embeddings) of a classifier
    that maps a batch ``(b, *input.shape)`` to logits ``(b, n_labels)``.

    ``masks[i]`` (broadcastable to ``inputs[i]``) limits the noise, and the certificate, to
    those coordinates. Noise for one input is drawn ``batch_size`` copies at a time.
    """
    cfg = config or GaussianSmoothing()
    if len(inputs) != len(labels):
        raise ValueError(f"inputs ({len(inputs)}) and labels ({len(labels)}) differ in length")
    if masks is not None and len(masks) != len(inputs):
        raise ValueError(f"masks ({len(masks)}) and inputs ({len(inputs)}) differ in length")
    gen = torch.Generator().manual_seed(cfg.seed)
    inv = NormalDist().inv_cdf
    out = []
    with torch.no_grad():
        for i, (x, y) in enumerate(zip(inputs, labels, strict=True)):
            x = torch.as_tensor(x, dtype=torch.float32)
            mask = None if masks is None else torch.as_tensor(masks[i], dtype=torch.float32)
            k = int(classifier(x.unsqueeze(0)).shape[-1])

            def predict(b: int, x: torch.Tensor = x, mask: torch.Tensor | None = mask
                        ) -> np.ndarray:
                noise = torch.randn((b, *x.shape), generator=gen) * cfg.sigma
                if mask is not None:
                    noise = noise * mask
                return classifier(x.unsqueeze(0) + noise).argmax(-1).cpu().numpy()

            pred, p_lower, count = _certify_from(predict, int(y), k, cfg.n0, cfg.n, cfg.alpha,
                                                 cfg.batch_size)
            radius = cfg.sigma * inv(min(p_lower, 1 - 1e-16)) if pred != ABSTAIN else 0.0
            out.append(Certificate(int(y), pred, p_lower, float(radius), count, cfg.n))
    return out


def certify_pairs_gaussian(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                           data: PairDataset, config: GaussianSmoothing | None = None
                           ) -> list[Certificate]:
    """:func:`certify_gaussian` for a Hugging Face pair classifier: noise on the input word
    embeddings of the non-special tokens of ``config.sides``; the radius is an L2 distance in
    that embedding space.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.training.classify import classifier_from_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> enc, tok = toy_encoder(w, layers=1, hidden=16)
        >>> clf = classifier_from_encoder(enc, ("entailment", "neutral", "contradiction"))
        >>> certs = certify_pairs_gaussian(clf, tok, w.nli(2), GaussianSmoothing(n0=8, n=32))
        >>> len(certs), all(c.n == 32 for c in certs)
        (2, True)
    """
    cfg = config or GaussianSmoothing()
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty: nothing to certify")
    check_label_order(getattr(model.config, "id2label", None), data.label_names)
    device = next(model.parameters()).device
    emb = model.get_input_embeddings()
    was_training = model.training
    model.eval()
    certs: list[Certificate] = []
    try:
        for ex in data:
            enc = tokenizer([ex.premise], [ex.hypothesis], truncation=True,
                            max_length=cfg.max_length, return_tensors="pt",
                            return_special_tokens_mask=True)
            mask = side_mask(enc, tokenizer, cfg.sides)[0].float().unsqueeze(-1)
            extra = {k: v.to(device) for k, v in enc.items()
                     if k in ("attention_mask", "token_type_ids")}
            with torch.no_grad():
                base = emb(enc["input_ids"].to(device))[0].float().cpu()

            def clf(x: torch.Tensor, extra: dict = extra) -> torch.Tensor:
                b = x.shape[0]
                kw = {k: v.expand(b, -1) for k, v in extra.items()}
                with autocast(cfg.precision, device, model):
                    return model(inputs_embeds=x.to(device), **kw).logits.float().cpu()

            certs += certify_gaussian(clf, [base], [ex.label], cfg, masks=[mask])
    finally:
        model.train(was_training)
    return certs


@dataclass(frozen=True)
class SubstitutionSmoothing:
    """Settings of random word substitution smoothing (SAFER).

    Attributes:
        n0, n, alpha, batch_size, seed: as in :class:`GaussianSmoothing`; ``batch_size`` noisy
            pairs go to the victim per call.
        sides: which side's words are substituted (and may be attacked).
    """

    n0: int = 64
    n: int = 1000
    alpha: float = 0.001
    batch_size: int = 256
    seed: int = 0
    sides: Side = "both"

    def __post_init__(self) -> None:
        _check_sampling(self.n0, self.n, self.alpha, self.batch_size)
        if self.sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, got {self.sides!r}")


def substitution_set(table: Mapping[str, Sequence[str]], word: str) -> list[str]:
    """``S(word)``: ``word`` followed by its table neighbours (looked up as is, then lower-cased),
    capitalised like ``word``, without duplicates.

    Example:
        >>> substitution_set({"big": ["large", "big", "huge"]}, "Big")
        ['Big', 'Large', 'Huge']
    """
    hits = table.get(word)
    if hits is None:
        hits = table.get(word.lower(), ())
    return list(dict.fromkeys([word] + [match_case(word, h) for h in hits]))


def overlap_ratio(table: Mapping[str, Sequence[str]], word: str) -> float:
    """The worst case over substitutes ``w' in table[word]`` of
    ``|S(word) & S(w')| / max(|S(word)|, |S(w')|)``; 1.0 for a word without neighbours.

    Example:
        >>> overlap_ratio({"a": ["b"], "b": ["a"]}, "a")  # S(a) = S(b): no information leaks
        1.0
        >>> overlap_ratio({"a": ["b", "c"]}, "a")  # S(b) = {b}: overlap 1 of 3
        0.3333333333333333
    """
    s = set(substitution_set(table, word))
    worst = 1.0
    for w2 in substitution_set(table, word)[1:]:
        s2 = set(substitution_set(table, w2))
        worst = min(worst, len(s & s2) / max(len(s), len(s2)))
    return worst


def substitution_deltas(ratios: Sequence[float]) -> list[float]:
    """``Delta_k`` for ``k = 0..len(ratios)``: one minus the product of the ``k`` smallest
    overlap ratios (the worst ``k`` positions to attack).

    Example:
        >>> [round(d, 3) for d in substitution_deltas([1.0, 0.5, 0.8])]
        [0.0, 0.5, 0.6, 0.6]
    """
    out, prod = [0.0], 1.0
    for r in sorted(ratios):
        prod *= r
        out.append(1.0 - prod)
    return out


def certify_substitution(victim: Victim, data: PairDataset, table: Mapping[str, Sequence[str]],
                         config: SubstitutionSmoothing | None = None) -> list[Certificate]:
    """SAFER-style certificates: ``radius`` is the largest number of words an adversary may
    substitute (each by one of its ``table`` neighbours, on ``config.sides``) without changing
    the smoothed prediction. Noisy copies of a pair are classified ``batch_size`` at a time.

    Example:
        >>> import numpy as np
        >>> from xtutor.data.types import PairDataset, PairExample
        >>> v = Victim.from_function(lambda ps: np.array([[1.0, 0.0]] * len(ps)), ("a", "b"))
        >>> data = PairDataset("t", ("a", "b"), [PairExample("x y", "big dog", 0, "en", "en")])
        >>> table = {"big": ["large"], "large": ["big"]}  # a closed set: Delta = 0
        >>> [c] = certify_substitution(v, data, table, SubstitutionSmoothing(n=100))
        >>> c.prediction, c.radius
        (0, 1.0)
    """
    cfg = config or SubstitutionSmoothing()
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty: nothing to certify")
    if not isinstance(table, Mapping):
        raise TypeError(f"table must be a mapping word -> neighbours, got {type(table).__name__}")
    check_label_order(victim.label_names, data.label_names)
    rng = np.random.default_rng(cfg.seed)
    side_ids = {"premise": (0,), "hypothesis": (1,), "both": (0, 1)}[cfg.sides]
    k = len(victim.label_names)
    out = []
    for ex in data:
        pair = (words(ex.premise), words(ex.hypothesis))
        slots = []  # (side, index, substitution tokens)
        ratios = []
        for s in side_ids:
            for i, tok in enumerate(pair[s]):
                c = core(tok)
                if not c:
                    continue
                opts = substitution_set(table, c)
                if len(opts) > 1:
                    slots.append((s, i, [replace_core(tok, o) for o in opts]))
                    ratios.append(overlap_ratio(table, c))

        def predict(b: int, pair: tuple = pair, slots: list = slots) -> np.ndarray:
            texts = []
            for _ in range(b):
                sides = [list(pair[0]), list(pair[1])]
                for s, i, opts in slots:
                    sides[s][i] = opts[int(rng.integers(len(opts)))]
                texts.append((join(sides[0]), join(sides[1])))
            return victim.logits(texts).argmax(1)

        pred, p_lower, count = _certify_from(predict, ex.label, k, cfg.n0, cfg.n, cfg.alpha,
                                             cfg.batch_size)
        radius = 0
        if pred != ABSTAIN:
            for kk, delta in enumerate(substitution_deltas(ratios)):
                if p_lower - delta > 0.5:
                    radius = kk
        out.append(Certificate(ex.label, pred, p_lower, float(radius), count, cfg.n))
    return out


def certified_accuracy(certificates: Sequence[Certificate], radii: Sequence[float]
                       ) -> list[tuple[float, float]]:
    """``(radius, certified accuracy)``: the fraction of examples predicted correctly (not
    abstained) with certified radius ``>= radius``.

    Example:
        >>> cs = [Certificate(0, 0, .9, .5, 90, 100), Certificate(1, ABSTAIN, .4, 0., 40, 100),
        ...       Certificate(1, 0, .8, .3, 80, 100)]
        >>> certified_accuracy(cs, [0.0, 0.4, 0.6])
        [(0.0, 0.3333333333333333), (0.4, 0.3333333333333333), (0.6, 0.0)]
    """
    if not certificates:
        raise ValueError("certificates is empty")
    n = len(certificates)
    return [(float(r), sum(c.correct and c.radius >= r for c in certificates) / n)
            for r in radii]


def certified_records(certificates: Sequence[Certificate], radii: Sequence[float], *,
                      certificate: str, alpha: float, experiment: str, model: str, task: str,
                      train_lang: str, eval_lang: str, seed: int = 0, method: str = "none",
                      premise_lang: str | None = None, hypothesis_lang: str | None = None
                      ) -> list[Record]:
    """Tidy records: ``certified_accuracy@<radius>`` per radius, plus ``abstain_rate`` and
    ``certify_alpha`` (the certificates hold with probability >= 1 - alpha). ``attack`` is
    ``certificate`` (e.g. ``"smoothing_gaussian"`` or ``"smoothing_substitution"``).

    Example:
        >>> cs = [Certificate(0, 0, .9, .5, 90, 100), Certificate(1, ABSTAIN, .4, 0., 40, 100)]
        >>> recs = certified_records(cs, [0.0, 0.5], certificate="smoothing_gaussian",
        ...                          alpha=0.001, experiment="cert", model="toy", task="nli",
        ...                          train_lang="L0", eval_lang="L0")
        >>> [(r.metric, r.value) for r in recs]
        [('certified_accuracy@0', 0.5), ('certified_accuracy@0.5', 0.5), ('abstain_rate', 0.5), ('certify_alpha', 0.001)]
    """  # noqa: E501
    if not certificate or certificate == "none":
        raise ValueError("certificate must name the smoothing (e.g. 'smoothing_gaussian')")
    n = len(certificates)
    rows = [(f"certified_accuracy@{r:g}", acc) for r, acc in
            certified_accuracy(certificates, radii)]
    rows.append(("abstain_rate", sum(c.prediction == ABSTAIN for c in certificates) / n))
    rows.append(("certify_alpha", float(alpha)))
    return [Record(experiment=experiment, model=model, method=method, task=task,
                   train_lang=train_lang, eval_lang=eval_lang, metric=m, value=float(v), n=n,
                   seed=seed, premise_lang=premise_lang, hypothesis_lang=hypothesis_lang,
                   attack=certificate) for m, v in rows]


__all__ = [
    "ABSTAIN",
    "Certificate",
    "GaussianSmoothing",
    "SubstitutionSmoothing",
    "certified_accuracy",
    "certified_records",
    "certify_gaussian",
    "certify_pairs_gaussian",
    "certify_substitution",
    "clopper_pearson_lower",
    "overlap_ratio",
    "substitution_deltas",
    "substitution_set",
]
