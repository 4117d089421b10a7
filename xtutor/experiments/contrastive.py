"""Chapter 2: contrastive alignment of a toy encoder, text-text and through images.

Starting from the MLM-pretrained toy encoder of chapter 1 (the same seeds, so the same
models), each *method* continues training with :func:`xtutor.training.align`:

- ``none``: no alignment (the chapter-1 encoder);
- ``sentence``: translation-ranking InfoNCE on parallel sentence pairs ``L0``-``Lk``;
- ``word``: word-level contrastive alignment on the gold word links of the same pairs;
- ``sentence+word``: both, weight 1 each;
- ``image-pivot``: no parallel text at all; captions of every language are each paired with a
  synthetic image of their own meaning (CLIP loss), and each language sees *different*
  meanings, so cross-lingual alignment can only come through the shared image space;
- ``image-shuffled`` (control): the same captions and images with the images shuffled;
- ``sentence-shuffled`` (control): the ``sentence`` method's InfoNCE, same pairs and steps, with
  the translations shuffled across pairs: the same compute with no translation signal.

Each aligned encoder is measured with :func:`xtutor.experiments.encoders.toy_alignment_metrics`
(retrieval, AER and language-ID by layer) and by zero-shot NLI transfer (fine-tune on ``L0``,
evaluate on every language). :func:`data_curve` repeats the sentence method with fewer pairs.

Example:
    >>> AlignmentStudyConfig().methods
    ('none', 'sentence', 'word', 'sentence+word', 'image-pivot')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.experiments.encoders import pretrained_toy, toy_alignment_metrics
from xtutor.lab import LabConfig, zero_shot_nli
from xtutor.progress import progress
from xtutor.results import Record
from xtutor.toyworld import ToyWorld
from xtutor.training import AlignConfig, align

#: The alignment methods of chapter 2, in display order.
METHODS: tuple[str, ...] = ("none", "sentence", "word", "sentence+word", "image-pivot")
#: Negative controls: the image pivot with images shuffled across captions (same images, same
#: captions, no caption-image correspondence) and sentence InfoNCE with translations shuffled
#: across pairs (same sentences, same steps): equal compute, no cross-lingual signal.
CONTROLS: tuple[str, ...] = ("image-shuffled", "sentence-shuffled")


@dataclass(frozen=True)
class AlignmentStudyConfig:
    """Sizes of the chapter-2 study.

    Attributes:
        lab_preset, seeds: the pretrained encoders (as in chapter 1: same preset, same seeds).
        methods: subset of :data:`METHODS`.
        pairs_per_language: parallel pairs ``L0``-``Lk`` per target language (text methods).
        captions_per_language: captions (each with its image) per language (image pivot).
        text_steps, pivot_steps: optimisation steps of :func:`align` for the parallel-text
            methods and for the image methods (equal by default, for a fair comparison).
        batch_size, lr: of :func:`align`.
        n_eval_pairs, aer_pairs, probe_per_language: evaluation sizes (held-out streams).
        nli: whether to measure zero-shot NLI transfer (the slowest part).
        curve_sizes: pairs per language for :func:`data_curve`.
    """

    lab_preset: str = "ci"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    pairs_per_language: int = 512
    captions_per_language: int = 512
    text_steps: int = 600
    pivot_steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    n_eval_pairs: int = 300
    aer_pairs: int = 100
    probe_per_language: int = 100
    nli: bool = True
    curve_sizes: tuple[int, ...] = (32, 128, 512)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS + CONTROLS]
        if unknown:
            raise ValueError(f"AlignmentStudyConfig.methods: unknown method(s) {unknown}; "
                             f"choose from {list(METHODS + CONTROLS)}")
        if not self.seeds:
            raise ValueError("AlignmentStudyConfig.seeds is empty: give at least one seed")
        for name in ("pairs_per_language", "captions_per_language", "text_steps", "pivot_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"AlignmentStudyConfig.{name} must be positive, got "
                                 f"{getattr(self, name)}")
        if any(n <= 1 for n in self.curve_sizes):
            raise ValueError(f"AlignmentStudyConfig.curve_sizes must all be >= 2, got "
                             f"{self.curve_sizes}")


def alignment_data(world: ToyWorld, method: str, seed: int, n_pairs: int, n_captions: int
                   ) -> dict[str, Any]:
    """The training data of ``method``: ``{"pairs": ...}`` or ``{"images": (captions, x)}``.

    Parallel pairs come from stream ``20_000 + seed``; the pivot's meanings from streams
    ``30_000 + 100 * seed + i`` (one per language ``i``, so languages share no sentence) and
    its image noise from ``40_000 + 100 * seed + i``. ``image-shuffled`` permutes the images
    (stream ``50_000 + seed``); ``sentence-shuffled`` permutes the translations of the
    ``sentence`` pairs (stream ``60_000 + seed``; no word links). None of these streams is used
    for evaluation.

    Example:
        >>> from xtutor.toyworld import WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> caps, x = alignment_data(w, "image-pivot", 0, 4, 5)["images"]
        >>> len(caps), x.shape[0]
        (10, 10)
    """
    langs = world.languages
    if method in ("sentence", "word", "sentence+word", "sentence-shuffled"):
        pairs = [p for lang in langs[1:]
                 for p in world.parallel(langs[0], lang, n_pairs, seed=20_000 + seed)]
        if method == "sentence-shuffled":
            perm = np.random.default_rng(60_000 + seed).permutation(len(pairs))
            pairs = [replace(p, tgt=pairs[j].tgt, alignment=())
                     for p, j in zip(pairs, perm, strict=True)]
        return {"pairs": pairs}
    if method in ("image-pivot", "image-shuffled"):
        captions: list[str] = []
        feats = []
        for i, lang in enumerate(langs):
            meanings = world.sample_meanings(n_captions, seed=30_000 + 100 * seed + i)
            captions += [world.render(m, lang).text for m in meanings]
            feats.append(world.images(meanings, seed=40_000 + 100 * seed + i))
        x = np.concatenate(feats)
        if method == "image-shuffled":
            x = x[np.random.default_rng(50_000 + seed).permutation(len(x))]
        return {"images": (captions, x)}
    raise ValueError(f"method must be one of {[m for m in METHODS + CONTROLS if m != 'none']}, "
                     f"got {method!r}")


def align_config(method: str, cfg: AlignmentStudyConfig, seed: int) -> AlignConfig:
    """The :class:`AlignConfig` of ``method`` under ``cfg``."""
    common = {"batch_size": cfg.batch_size, "lr": cfg.lr, "seed": seed}
    if method in ("sentence", "sentence-shuffled"):
        return AlignConfig(steps=cfg.text_steps, **common)
    if method == "word":
        return AlignConfig(steps=cfg.text_steps, sentence_weight=0.0, word_weight=1.0, **common)
    if method == "sentence+word":
        return AlignConfig(steps=cfg.text_steps, word_weight=1.0, **common)
    if method in ("image-pivot", "image-shuffled"):
        return AlignConfig(steps=cfg.pivot_steps, **common)
    raise ValueError(f"method must be one of {[m for m in METHODS + CONTROLS if m != 'none']}, "
                     f"got {method!r}")


def align_toy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, world: ToyWorld,
              method: str, cfg: AlignmentStudyConfig, seed: int, n_pairs: int | None = None,
              show_progress: bool = False) -> PreTrainedModel:
    """A copy of ``model`` aligned with ``method`` (``none`` returns ``model`` itself).

    Example:
        >>> from xtutor.experiments.encoders import random_toy
        >>> lab = LabConfig.preset("tiny")
        >>> w = ToyWorld(lab.world)
        >>> m, t = random_toy(lab, w)
        >>> cfg = AlignmentStudyConfig(text_steps=2, batch_size=4)
        >>> align_toy(m, t, w, "sentence", cfg, seed=0, n_pairs=8) is not m
        True
    """
    if method == "none":
        return model
    data = alignment_data(world, method, seed, n_pairs or cfg.pairs_per_language,
                          cfg.captions_per_language)
    res = align(model, tokenizer, config=align_config(method, cfg, seed),
                show_progress=show_progress, **data)
    return res.model.eval()


def _evaluate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, world: ToyWorld,
              lab: LabConfig, cfg: AlignmentStudyConfig, seed: int, method: str,
              experiment: str) -> list[Record]:
    recs = toy_alignment_metrics(model, tokenizer, world, seed=seed, model_name="toy-mlm",
                                 method=method, experiment=experiment,
                                 n_pairs=cfg.n_eval_pairs, aer_pairs=cfg.aer_pairs,
                                 probe_per_language=cfg.probe_per_language)
    if cfg.nli:
        nli, _ = zero_shot_nli(model, tokenizer, world, replace(lab, generalized=False),
                               method=method, experiment=experiment, show_progress=False)
        recs += nli
    return recs


def contrastive_study(config: AlignmentStudyConfig | None = None,
                      cache_dir: str | Path | None = None, show_progress: bool = True
                      ) -> list[Record]:
    """Align the chapter-1 encoders with every method and every seed; measure each.

    Returns unstamped records with ``experiment="contrastive"`` and ``method`` the alignment
    method. ``cache_dir`` is passed to :func:`pretrained_toy` (reuse chapter 1's encoders).

    Example:
        >>> cfg = AlignmentStudyConfig(lab_preset="tiny", seeds=(0,), methods=("none", "sentence"),
        ...     pairs_per_language=16, text_steps=2, batch_size=4, n_eval_pairs=10, aer_pairs=5,
        ...     probe_per_language=10, nli=False)
        >>> recs = contrastive_study(cfg, show_progress=False)
        >>> sorted({r.method for r in recs})
        ['none', 'sentence']
    """
    cfg = config or AlignmentStudyConfig()
    records: list[Record] = []
    jobs = [(s, m) for s in cfg.seeds for m in cfg.methods]
    bar = progress(jobs, desc="alignment methods x seeds", show=show_progress)
    worlds: dict[int, tuple[LabConfig, ToyWorld, Any, Any]] = {}
    for seed, method in bar:
        bar.set_postfix(seed=seed, method=method)
        if seed not in worlds:
            lab = LabConfig.preset(cfg.lab_preset, seed=seed)
            world = ToyWorld(lab.world)
            worlds = {seed: (lab, world, *pretrained_toy(lab, world, cache_dir))}
        lab, world, model, tok = worlds[seed]
        aligned = align_toy(model, tok, world, method, cfg, seed)
        records += _evaluate(aligned, tok, world, lab, cfg, seed, method, "contrastive")
    return records


def data_curve(config: AlignmentStudyConfig | None = None, method: str = "sentence",
               cache_dir: str | Path | None = None, show_progress: bool = True
               ) -> list[Record]:
    """How much parallel data ``method`` needs: one run per size in ``config.curve_sizes``
    (pairs per target language) and seed, same steps as the full run.

    Records have ``experiment="data-curve"`` and ``method="<method>:<pairs>"``; use
    :func:`curve_frame` to split it.

    Example:
        >>> cfg = AlignmentStudyConfig(lab_preset="tiny", seeds=(0,), text_steps=2, batch_size=4,
        ...     n_eval_pairs=10, aer_pairs=5, probe_per_language=10, nli=False,
        ...     curve_sizes=(4, 8))
        >>> sorted({r.method for r in data_curve(cfg, show_progress=False)})
        ['sentence:4', 'sentence:8']
    """
    cfg = config or AlignmentStudyConfig()
    if method not in ("sentence", "word", "sentence+word"):
        raise ValueError(f"data_curve needs a parallel-text method ('sentence', 'word' or "
                         f"'sentence+word'), got {method!r}")
    records: list[Record] = []
    jobs = [(s, n) for s in cfg.seeds for n in cfg.curve_sizes]
    worlds: dict[int, tuple[LabConfig, ToyWorld, Any, Any]] = {}
    for seed, n in progress(jobs, desc="data curve (seeds x sizes)", show=show_progress):
        if seed not in worlds:
            lab = LabConfig.preset(cfg.lab_preset, seed=seed)
            world = ToyWorld(lab.world)
            worlds = {seed: (lab, world, *pretrained_toy(lab, world, cache_dir))}
        lab, world, model, tok = worlds[seed]
        aligned = align_toy(model, tok, world, method, cfg, seed, n_pairs=n)
        records += _evaluate(aligned, tok, world, lab, cfg, seed, f"{method}:{n}", "data-curve")
    return records


def curve_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Split ``method="<method>:<pairs>"`` into ``method`` and an integer ``pairs`` column.

    Example:
        >>> curve_frame(pd.DataFrame({"method": ["sentence:32"], "value": [0.5]})).pairs.tolist()
        [32]
    """
    parts = df.method.str.extract(r"^(?P<m>[^:]+):(?P<pairs>\d+)$")
    if parts.pairs.isna().any():
        bad = df.method[parts.pairs.isna()].unique()[:3].tolist()
        raise ValueError(f"curve_frame: methods {bad} are not of the form '<method>:<pairs>'")
    out = df.copy()
    out["method"] = parts.m
    out["pairs"] = parts.pairs.astype(int)
    return out
