"""Chapter 1: what an encoder knows about its languages, measured layer by layer.

Three measurements, each for every layer (0 = embedding output):

- **translation retrieval** (top-1 accuracy, cosine, both directions, mean-pooled sentence
  vectors): are translations nearest neighbours across languages?
- **word alignment** (AER against gold links on the toy family; UPOS agreement of the links on
  real PUD sentences): do translated words have similar contextual vectors?
- **language identity** (held-out accuracy of a linear language-ID probe on sentence vectors):
  how much language-specific information is left?

:func:`toy_encoder_survey` runs them on toy encoders (MLM-pretrained and random-initialised)
for several seeds; :func:`real_encoder_survey` on a real encoder with Tatoeba and PUD, several
seeds meaning several random subsets of the test sets. Both return tidy
:class:`xtutor.results.Record` lists; :func:`layer_frame` turns per-layer metrics
(``name@layerK``) into a frame with a ``layer`` column for plotting.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"metric": ["aer@layer0", "aer@layer2", "aer"], "value": [.9, .5, .5]})
    >>> layer_frame(df)[["base_metric", "layer"]].to_dict("records")
    [{'base_metric': 'aer', 'layer': 0}, {'base_metric': 'aer', 'layer': 2}]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

import xtutor
from xtutor.alignment import retrieval_accuracy
from xtutor.encode import base_encoder, encode_layers
from xtutor.io import atomic_save_dir
from xtutor.lab import LabConfig, pretrain_toy_encoder
from xtutor.models import toy_encoder
from xtutor.probes import language_id_probe
from xtutor.progress import progress
from xtutor.reproducibility import code_fingerprint, config_hash, set_seed
from xtutor.results import Record
from xtutor.toyworld import ToyWorld
from xtutor.word_alignment import (
    align_many,
    corpus_aer,
    pos_agreement,
    pos_chance_agreement,
    word_embeddings_layers,
)

#: Methods of :func:`xtutor.word_alignment.align_many` measured by the surveys.
ALIGN_METHODS: tuple[str, ...] = ("argmax", "itermax")

#: The modules whose source makes a toy encoder (:func:`toy_code_fingerprint` hashes them).
TOY_ENCODER_MODULES: tuple[str, ...] = (
    "xtutor.toyworld", "xtutor.toylanguages", "xtutor.models", "xtutor.tokenization",
    "xtutor.training.mlm", "xtutor.training.loop", "xtutor.reproducibility", "xtutor.lab",
    pretrain_toy_encoder.__module__,  # wherever it lives (read at import: tests patch it)
)


def layer_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose metric names a layer (``name@layerK``), with ``base_metric`` and ``layer``.

    Example:
        >>> layer_frame(pd.DataFrame({"metric": ["x@layer3"], "value": [1.0]})).layer.tolist()
        [3]
    """
    if "metric" not in df.columns:
        raise ValueError("layer_frame needs a 'metric' column (a records frame)")
    parts = df.metric.str.extract(r"^(?P<base_metric>.+)@layer(?P<layer>\d+)$")
    out = df[parts.layer.notna()].copy()
    out["base_metric"] = parts.base_metric[parts.layer.notna()]
    out["layer"] = parts.layer[parts.layer.notna()].astype(int)
    return out


def _layer_records(base: Record, metric: str, values: Sequence[float], headline: int
                   ) -> list[Record]:
    """``metric@layerK`` for every layer plus the unsuffixed ``metric`` at layer ``headline``."""
    from dataclasses import replace

    out = [replace(base, metric=f"{metric}@layer{k}", value=float(v))
           for k, v in enumerate(values)]
    out.append(replace(base, metric=metric, value=float(values[headline])))
    return out


def toy_code_fingerprint() -> str:
    """:func:`~xtutor.reproducibility.code_fingerprint` of the code that makes a toy encoder.

    It covers :data:`TOY_ENCODER_MODULES`: the modules that define the toy world, the toy model
    and its tokenizer, MLM pretraining (with its loop and seeding) and
    :func:`~xtutor.lab.pretrain_toy_encoder`.

    Example:
        >>> len(toy_code_fingerprint())
        8
    """
    return code_fingerprint(*TOY_ENCODER_MODULES)


def _path_part(text: str) -> str:
    """``text`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def toy_cache_path(cfg: LabConfig, cache_dir: str | Path) -> Path:
    """Where :func:`pretrained_toy` caches the encoder of ``cfg`` under ``cache_dir``.

    ``<cache_dir>/toy-mlm-<config hash>-v<xtutor version>-<code fingerprint>``: the config hash
    covers every setting and seed, the version and :func:`toy_code_fingerprint` the code, so
    neither a changed config nor changed code ever reads a stale encoder.

    Example:
        >>> p = toy_cache_path(LabConfig.preset("tiny"), "cache")
        >>> p.parent.name, p.name.startswith(f"toy-mlm-{config_hash(LabConfig.preset('tiny'))}-v")
        ('cache', True)
    """
    key = f"{config_hash(cfg)}-v{_path_part(xtutor.__version__)}-{toy_code_fingerprint()}"
    return Path(cache_dir) / f"toy-mlm-{key}"


def pretrained_toy(cfg: LabConfig, world: ToyWorld | None = None,
                   cache_dir: str | Path | None = None, show_progress: bool = False
                   ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """:func:`xtutor.lab.pretrain_toy_encoder`, reusing a saved copy when one exists.

    With ``cache_dir`` the encoder is saved under :func:`toy_cache_path` (``cache_dir/toy-mlm-
    <config hash>-v<version>-<code fingerprint>``) and later calls with the same config and
    code load it instead of pretraining again (the chapters share their encoders this way).
    The copy is written atomically (:func:`xtutor.io.atomic_save_dir`), so an interrupted run
    never leaves a half-saved encoder.

    Example:
        >>> m, t = pretrained_toy(LabConfig.preset("tiny"))
        >>> m.config.num_hidden_layers
        2
    """
    path = toy_cache_path(cfg, cache_dir) if cache_dir is not None else None
    if path is not None and (path / "config.json").is_file():
        return AutoModelForMaskedLM.from_pretrained(path).eval(), \
            AutoTokenizer.from_pretrained(path)
    model, tok, _ = pretrain_toy_encoder(cfg, world, show_progress=show_progress)
    if path is not None:
        def save(tmp: Path) -> None:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)

        atomic_save_dir(path, save)
    return model.eval(), tok


def random_toy(cfg: LabConfig, world: ToyWorld) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The toy encoder of ``cfg`` with its random initial weights (a negative control)."""
    set_seed(cfg.seed)
    e = cfg.encoder
    model, tok = toy_encoder(world, layers=e.layers, hidden=e.hidden, heads=e.heads, ffn=e.ffn,
                             seed=cfg.seed)
    return model.eval(), tok


def _retrieval_by_layer(a: torch.Tensor, b: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 cosine accuracy per layer: (b -> a, a -> b)."""
    fwd = np.array([retrieval_accuracy(b[k], a[k], "cosine") for k in range(a.shape[0])])
    bwd = np.array([retrieval_accuracy(a[k], b[k], "cosine") for k in range(a.shape[0])])
    return fwd, bwd


def toy_alignment_metrics(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          world: ToyWorld, *, seed: int, model_name: str, method: str = "none",
                          experiment: str = "encoders", n_pairs: int = 300,
                          aer_pairs: int = 200, probe_per_language: int = 150,
                          eval_stream: int = 10_000) -> list[Record]:
    """Retrieval, word-alignment AER and language-ID probe accuracy at every layer.

    Retrieval and AER compare the source language ``L0`` with each other language on held-out
    parallel pairs (stream ``eval_stream + seed``, never used for training by the chapters);
    ``retrieval_acc_cosine`` is the mean of both directions. The probe classifies the
    language of mean-pooled vectors of the same meanings rendered in every language, so only
    language (not content) separates the classes. The unsuffixed metrics are the last layer's.

    Example:
        >>> cfg = LabConfig.preset("tiny")
        >>> w = ToyWorld(cfg.world)
        >>> m, t = random_toy(cfg, w)
        >>> recs = toy_alignment_metrics(m, t, w, seed=0, model_name="toy-random", n_pairs=20,
        ...                              aer_pairs=10, probe_per_language=20)
        >>> sorted({r.metric for r in recs if "@" not in r.metric})
        ['aer_argmax', 'aer_itermax', 'lang_id_acc', 'retrieval_acc_cosine']
    """
    langs = world.languages
    src = langs[0]
    if len(langs) < 2:
        raise ValueError("toy_alignment_metrics needs a world with at least two languages")
    n_layers = base_encoder(model).config.num_hidden_layers + 1
    last = n_layers - 1
    out: list[Record] = []
    stream = eval_stream + seed
    for lang in langs[1:]:
        base = Record(experiment=experiment, model=model_name, method=method, task="retrieval",
                      train_lang=src, eval_lang=lang, metric="", value=0.0, n=n_pairs,
                      seed=seed, premise_lang=src, hypothesis_lang=lang)
        pairs = world.parallel(src, lang, n_pairs, seed=stream)
        a = encode_layers(model, tokenizer, [p.src.text for p in pairs])
        b = encode_layers(model, tokenizer, [p.tgt.text for p in pairs])
        fwd, bwd = _retrieval_by_layer(a, b)
        out += _layer_records(base, "retrieval_acc_cosine", (fwd + bwd) / 2, last)
        apairs = pairs[:aer_pairs]
        vec_s = word_embeddings_layers(model, tokenizer, [list(p.src.tokens) for p in apairs])
        vec_t = word_embeddings_layers(model, tokenizer, [list(p.tgt.tokens) for p in apairs])
        gold = [set(p.alignment) for p in apairs]
        base_aer = _with(base, task="word_alignment", n=len(apairs))
        for how in ALIGN_METHODS:
            aers = [corpus_aer(align_many(vec_s[k], vec_t[k], how), gold) for k in range(n_layers)]
            out += _layer_records(base_aer, f"aer_{how}", aers, last)
    meanings = world.sample_meanings(probe_per_language, seed=stream + 1)
    texts = [world.render(m, lang).text for lang in langs for m in meanings]
    labels = [lang for lang in langs for _ in meanings]
    vecs = encode_layers(model, tokenizer, texts)
    accs = [language_id_probe(vecs[k], labels, seed=seed).accuracy for k in range(n_layers)]
    probe_base = Record(experiment=experiment, model=model_name, method=method,
                        task="language_id", train_lang=src, eval_lang="all", metric="",
                        value=0.0, n=len(texts), seed=seed)
    out += _layer_records(probe_base, "lang_id_acc", accs, last)
    return out


def _with(rec: Record, **changes: object) -> Record:
    from dataclasses import replace

    return replace(rec, **changes)


@dataclass(frozen=True)
class ToySurveyConfig:
    """Sizes of :func:`toy_encoder_survey`.

    ``lab_preset`` picks the encoder and pretraining sizes (:meth:`LabConfig.preset`);
    ``seeds`` each give a new language family, initialisation and pretraining run.
    """

    lab_preset: str = "ci"
    seeds: tuple[int, ...] = (0, 1, 2)
    n_pairs: int = 300
    aer_pairs: int = 200
    probe_per_language: int = 150
    include_random: bool = True


def toy_encoder_survey(config: ToySurveyConfig | None = None,
                       cache_dir: str | Path | None = None, show_progress: bool = True
                       ) -> list[Record]:
    """Run :func:`toy_alignment_metrics` on MLM-pretrained (``toy-mlm``) and, when
    ``include_random``, random-initialised (``toy-random``) toy encoders, for every seed.

    Example:
        >>> recs = toy_encoder_survey(ToySurveyConfig(lab_preset="tiny", seeds=(0,), n_pairs=20,
        ...     aer_pairs=5, probe_per_language=10), show_progress=False)
        >>> sorted({r.model for r in recs})
        ['toy-mlm', 'toy-random']
    """
    cfg = config or ToySurveyConfig()
    if not cfg.seeds:
        raise ValueError("ToySurveyConfig.seeds is empty: give at least one seed")
    records: list[Record] = []
    for seed in progress(cfg.seeds, desc="toy encoders (seeds)", show=show_progress):
        lab = LabConfig.preset(cfg.lab_preset, seed=seed)
        world = ToyWorld(lab.world)
        models = [("toy-mlm", lambda lab=lab, world=world: pretrained_toy(lab, world, cache_dir))]
        if cfg.include_random:
            models.append(("toy-random", lambda lab=lab, world=world: random_toy(lab, world)))
        for name, make in models:
            model, tok = make()
            records += toy_alignment_metrics(
                model, tok, world, seed=seed, model_name=name, n_pairs=cfg.n_pairs,
                aer_pairs=cfg.aer_pairs, probe_per_language=cfg.probe_per_language)
    return records


@dataclass(frozen=True)
class RealSurveyConfig:
    """Sizes of :func:`real_encoder_survey`.

    ``tatoeba_languages`` (ISO 639-3) are paired with English; ``pud_languages`` (ISO 639-1)
    with ``en`` for word alignment. Each seed draws ``n_pairs`` Tatoeba pairs per language and
    ``n_pud`` PUD sentences at random, so seeds measure the variation over test subsets (a
    pretrained encoder has no training seed here). ``tatoeba_dir`` / ``pud_dir`` default to
    ``tatoeba/v1`` and ``ud_pud`` under :func:`xtutor.data.shared_data_dir`.
    """

    tatoeba_languages: tuple[str, ...] = ("deu", "fra", "swh", "amh")
    pud_languages: tuple[str, ...] = ("de", "fr")
    seeds: tuple[int, ...] = (0, 1, 2)
    n_pairs: int = 150
    n_pud: int = 100
    batch_size: int = 64
    tatoeba_dir: str | None = None
    pud_dir: str | None = None


def text_prefix(model_name: str) -> str:
    """The text e5 models expect before a sentence (``"query: "``); ``""`` for others."""
    from xtutor.e5 import E5_QUERY_PREFIX

    return E5_QUERY_PREFIX if "e5" in Path(str(model_name)).name.lower() else ""


def real_encoder_survey(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                        model_name: str, config: RealSurveyConfig | None = None,
                        show_progress: bool = True) -> list[Record]:
    """Layer-wise Tatoeba retrieval, PUD word-alignment UPOS agreement (with its random
    baseline as metric ``upos_agreement_random``) and a language-ID probe for a real encoder.

    Each language's sentences are encoded once (all layers in one pass); every seed then
    scores its own random subset.

    Example:
        >>> from xtutor.models import load_encoder  # doctest: +SKIP
        >>> m, t = load_encoder("e5-small-offline")  # doctest: +SKIP
        >>> recs = real_encoder_survey(m, t, "e5-small-offline")  # doctest: +SKIP
    """
    from xtutor.data import load_pud_parallel, load_tatoeba

    cfg = config or RealSurveyConfig()
    if not cfg.seeds:
        raise ValueError("RealSurveyConfig.seeds is empty: give at least one seed")
    prefix = text_prefix(model_name)
    n_layers = base_encoder(model).config.num_hidden_layers + 1
    last = n_layers - 1
    records: list[Record] = []
    eng_vecs: list[torch.Tensor] = []
    probe_langs: list[str] = []
    probe_vecs: list[torch.Tensor] = []
    for lang in progress(cfg.tatoeba_languages, desc="Tatoeba", show=show_progress):
        pc = load_tatoeba(lang, cfg.tatoeba_dir)
        # one pool per language: the union of every seed's subset, encoded once
        subsets = [np.random.default_rng(s).permutation(len(pc))[:cfg.n_pairs]
                   for s in cfg.seeds]
        pool = sorted(set(np.concatenate(subsets).tolist()))
        where = {j: i for i, j in enumerate(pool)}
        a = encode_layers(model, tokenizer, [pc.src[j] for j in pool], prefix=prefix,
                          batch_size=cfg.batch_size)
        b = encode_layers(model, tokenizer, [pc.tgt[j] for j in pool], prefix=prefix,
                          batch_size=cfg.batch_size)
        for seed, sub in zip(cfg.seeds, subsets, strict=True):
            idx = torch.tensor([where[j] for j in sub.tolist()])
            fwd, bwd = _retrieval_by_layer(b[:, idx], a[:, idx])  # lang -> eng, eng -> lang
            base = Record(experiment="encoders", model=model_name, method="none",
                          task="retrieval", train_lang="eng", eval_lang=lang, metric="",
                          value=0.0, n=len(sub), seed=seed, premise_lang=lang,
                          hypothesis_lang="eng")
            records += _layer_records(base, "retrieval_acc_cosine", (fwd + bwd) / 2, last)
        probe_langs += [lang] * len(pool)
        probe_vecs.append(a)
        eng_vecs.append(b)
    if probe_vecs:
        eng = torch.cat(eng_vecs, dim=1)[:, :max(v.shape[1] for v in probe_vecs)]
        allv = torch.cat([*probe_vecs, eng], dim=1)
        labels = probe_langs + ["eng"] * eng.shape[1]
        for seed in cfg.seeds:
            accs = [language_id_probe(allv[k], labels, seed=seed).accuracy
                    for k in range(n_layers)]
            base = Record(experiment="encoders", model=model_name, method="none",
                          task="language_id", train_lang="eng", eval_lang="all", metric="",
                          value=0.0, n=len(labels), seed=seed)
            records += _layer_records(base, "lang_id_acc", accs, last)
    for lang in progress(cfg.pud_languages, desc="PUD", show=show_progress):
        pairs = load_pud_parallel("en", lang, cfg.pud_dir)
        subsets = [np.random.default_rng(s).permutation(len(pairs))[:cfg.n_pud]
                   for s in cfg.seeds]
        pool = sorted(set(np.concatenate(subsets).tolist()))
        where = {j: i for i, j in enumerate(pool)}
        src = [list(pairs[j][0].tokens) for j in pool]
        tgt = [list(pairs[j][1].tokens) for j in pool]
        vs = word_embeddings_layers(model, tokenizer, src, batch_size=cfg.batch_size)
        vt = word_embeddings_layers(model, tokenizer, tgt, batch_size=cfg.batch_size)
        for seed, sub in zip(cfg.seeds, subsets, strict=True):
            rows = [where[j] for j in sub.tolist()]
            upos = [pairs[j] for j in sub.tolist()]
            base = Record(experiment="encoders", model=model_name, method="none",
                          task="word_alignment", train_lang="en", eval_lang=lang, metric="",
                          value=0.0, n=len(rows), seed=seed, premise_lang="en",
                          hypothesis_lang=lang)
            agree = [pos_agreement(upos, align_many([vs[k][i] for i in rows],
                                                    [vt[k][i] for i in rows], "itermax"))
                     for k in range(n_layers)]
            records += _layer_records(base, "upos_agreement_itermax", agree, last)
            records.append(_with(base, metric="upos_agreement_random",
                                 value=float(pos_chance_agreement(upos))))
    return records
