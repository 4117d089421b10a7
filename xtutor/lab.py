"""The embedded default experiment: ``xtutor lab``.

It generates a toy language family, pretrains a small encoder with MLM on monolingual text only,
measures how well each language's sentences retrieve their translations in the source language,
fine-tunes NLI on the source language and evaluates zero-shot on every language (and on every
premise/hypothesis language pair). Everything it reports is measured in the run.

Example:
    >>> cfg = LabConfig.preset("tiny")
    >>> cfg.world.n_languages
    3
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.alignment import retrieval_accuracy
from xtutor.encode import base_encoder, encode_layers
from xtutor.evaluation import accuracy, predict_pairs
from xtutor.models import toy_encoder
from xtutor.reproducibility import config_hash, provenance, set_seed
from xtutor.results import Record, stamp, write_records
from xtutor.toyworld import ToyWorld, WorldConfig
from xtutor.training import FinetuneConfig, MLMConfig, finetune, pretrain_mlm


@dataclass(frozen=True)
class EncoderConfig:
    """Size of the toy encoder."""

    layers: int = 4
    hidden: int = 128
    heads: int = 4
    ffn: int = 256


@dataclass(frozen=True)
class LabConfig:
    """Everything ``xtutor lab`` does, with its sizes.

    ``seed`` drives the language family, the model initialisation, pretraining and fine-tuning.
    """

    seed: int = 0
    world: WorldConfig = field(default_factory=WorldConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    mlm: MLMConfig = field(default_factory=MLMConfig)
    finetune: FinetuneConfig = field(default_factory=lambda: FinetuneConfig(epochs=3.0))
    corpus_per_language: int = 20000
    nli_train: int = 8000
    nli_test: int = 1000
    retrieval_pairs: int = 500
    generalized: bool = True

    @staticmethod
    def preset(name: str, seed: int = 0) -> LabConfig:
        """``default`` (the real lab, a few minutes on 2 CPU cores), ``ci`` (a smaller encoder
        for the book's multi-seed comparisons, about 15 s a run) or ``tiny`` (seconds; for
        tests and smoke runs; its numbers mean little)."""
        if name == "default":
            return LabConfig().with_seed(seed)
        if name == "ci":
            return LabConfig(
                encoder=EncoderConfig(layers=2, hidden=64, heads=2, ffn=128),
                mlm=MLMConfig(steps=300, batch_size=64, lr=2e-3, warmup=30),
                finetune=FinetuneConfig(epochs=3.0, batch_size=32, lr=1e-3),
                corpus_per_language=5000, nli_train=3000, nli_test=500, retrieval_pairs=300,
            ).with_seed(seed)
        if name == "tiny":
            return LabConfig(
                world=WorldConfig(n_languages=3, n_entities=8, n_attributes=4, n_verbs=4),
                encoder=EncoderConfig(layers=2, hidden=32, heads=2, ffn=64),
                mlm=MLMConfig(steps=20, batch_size=32, warmup=2),
                finetune=FinetuneConfig(epochs=1.0, batch_size=32),
                corpus_per_language=200, nli_train=240, nli_test=60, retrieval_pairs=40,
            ).with_seed(seed)
        raise ValueError(f"unknown lab preset {name!r}; choose 'default', 'ci' or 'tiny'")

    def with_seed(self, seed: int) -> LabConfig:
        """The same config with every seed set to ``seed``."""
        return replace(self, seed=seed, world=replace(self.world, seed=seed),
                       mlm=replace(self.mlm, seed=seed),
                       finetune=replace(self.finetune, seed=seed))

    def override(self, **changes: Any) -> LabConfig:
        """Change fields by dotted name, e.g. ``override(**{"mlm.steps": 100})``."""
        cfg = self
        for key, value in changes.items():
            head, _, rest = key.partition(".")
            names = {f.name for f in fields(cfg)}
            if head not in names:
                raise ValueError(f"unknown lab setting {key!r}; top-level settings: "
                                 f"{sorted(names)}")
            if rest:
                sub = getattr(cfg, head)
                sub_names = {f.name for f in fields(sub)}
                if rest not in sub_names:
                    raise ValueError(f"unknown lab setting {key!r}; {head}.* has "
                                     f"{sorted(sub_names)}")
                value = type(getattr(sub, rest))(value)
                cfg = replace(cfg, **{head: replace(sub, **{rest: value})})
            else:
                cur = getattr(cfg, head)
                if hasattr(cur, "__dataclass_fields__"):
                    raise ValueError(f"{key!r} is a group; set one of its fields, "
                                     f"e.g. {key}.{next(iter(cur.__dataclass_fields__))}")
                cfg = replace(cfg, **{head: type(cur)(value)})
        return cfg


@dataclass
class LabResult:
    """What a lab run produced: records (also in ``out/results.jsonl``) and file paths."""

    records: list[Record]
    out_dir: Path
    figures: dict[str, Path]
    summary: str
    seconds: float

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame."""
        return pd.DataFrame([r.to_dict() for r in self.records])


def pretrain_toy_encoder(cfg: LabConfig, world: ToyWorld | None = None,
                         show_progress: bool = True
                         ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, list[float]]:
    """A toy encoder pretrained with MLM on monolingual text of every language of ``world``.

    Returns ``(model, tokenizer, loss_curve)``.

    Example:
        >>> m, t, losses = pretrain_toy_encoder(LabConfig.preset("tiny"), show_progress=False)
        >>> len(losses)
        20
    """
    world = world or ToyWorld(cfg.world)
    set_seed(cfg.seed)
    e = cfg.encoder
    model, tok = toy_encoder(world, layers=e.layers, hidden=e.hidden, heads=e.heads, ffn=e.ffn,
                             seed=cfg.seed)
    texts = [s for lang in world.languages
             for s in world.corpus(lang, cfg.corpus_per_language, seed=cfg.seed)]
    losses = pretrain_mlm(model, tok, texts, cfg.mlm, show_progress=show_progress)
    return model, tok, losses


def zero_shot_nli(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, world: ToyWorld,
                  cfg: LabConfig, method: str = "none", model_name: str = "toy-mlm",
                  experiment: str = "lab", show_progress: bool = True
                  ) -> tuple[list[Record], list[float]]:
    """Fine-tune NLI on the source language and evaluate on every language (and every
    premise/hypothesis pair when ``cfg.generalized``). Returns unstamped records and the
    fine-tuning loss curve."""
    langs = world.languages
    src = langs[0]
    train = world.nli(cfg.nli_train, src, seed=1_000 + cfg.seed)
    clf, ft_losses = finetune(model, tokenizer, train, cfg.finetune, show_progress=show_progress)
    test_seed = 2_000 + cfg.seed
    triples = world.nli_meanings(cfg.nli_test, seed=test_seed)
    pairs = [(a, b) for a in langs for b in langs] if cfg.generalized else \
        [(a, a) for a in langs]
    records = []
    for a, b in pairs:
        data = world.render_pairs(triples, "nli", a, b, seed=test_seed)
        acc = accuracy(predict_pairs(clf, tokenizer, data), data.labels)
        records.append(Record(experiment=experiment, model=model_name, method=method,
                              task="nli", train_lang=src,
                              eval_lang=a if a == b else f"{a}-{b}", premise_lang=a,
                              hypothesis_lang=b, metric="accuracy", value=acc, n=len(data),
                              seed=cfg.seed))
    return records, ft_losses


def measure_retrieval(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      world: ToyWorld, n_pairs: int, seed: int = 0, method: str = "none",
                      model_name: str = "toy-mlm", experiment: str = "lab",
                      scorings: tuple[str, ...] = ("cosine", "csls"),
                      ) -> tuple[list[Record], list[dict]]:
    """Translation retrieval between the source language and every other language, at every
    layer, in both directions, on held-out parallel pairs (stream ``10_000 + seed``).

    Returns unstamped records (the last layer's metric is ``retrieval_acc_{scoring}``, earlier
    layers add ``@layer{k}``) and tidy rows for a layer plot.
    """
    langs = world.languages
    src = langs[0]
    n_layers = base_encoder(model).config.num_hidden_layers + 1
    records, layer_rows = [], []
    for lang in langs[1:]:
        pairs = world.parallel(src, lang, n_pairs, seed=10_000 + seed)
        a = encode_layers(model, tokenizer, [p.src.text for p in pairs])
        b = encode_layers(model, tokenizer, [p.tgt.text for p in pairs])
        for layer in range(n_layers):
            for scoring in scorings:
                for q, c, ql, cl in ((b, a, lang, src), (a, b, src, lang)):
                    acc = retrieval_accuracy(q[layer], c[layer], scoring)  # type: ignore[arg-type]
                    last = layer == n_layers - 1
                    metric = f"retrieval_acc_{scoring}" + ("" if last else f"@layer{layer}")
                    records.append(Record(
                        experiment=experiment, model=model_name, method=method,
                        task="retrieval", train_lang=src, eval_lang=lang, premise_lang=ql,
                        hypothesis_lang=cl, metric=metric, value=acc, n=len(pairs), seed=seed))
                    if scoring == "cosine":
                        layer_rows.append({"eval_lang": lang, "layer": layer, "value": acc,
                                           "direction": f"{ql}->{cl}", "method": method,
                                           "seed": seed})
    return records, layer_rows


def run_lab(config: LabConfig | None = None, out_dir: str | Path = "runs/lab",
            show_progress: bool = True) -> LabResult:
    """Run the lab and write ``results.jsonl``, figures, ``summary.txt`` and ``config.json``.

    Example:
        >>> import tempfile
        >>> res = run_lab(LabConfig.preset("tiny"), tempfile.mkdtemp(), show_progress=False)
        >>> sorted({r.task for r in res.records})
        ['nli', 'retrieval']
    """
    cfg = config or LabConfig()
    t0 = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    world = ToyWorld(cfg.world)
    langs = world.languages
    if len(langs) < 2:
        raise ValueError("the lab needs at least 2 languages (a source and a target)")

    # 1. pretrain on monolingual text only
    model, tok, mlm_losses = pretrain_toy_encoder(cfg, world, show_progress=show_progress)
    model.save_pretrained(out / "encoder")
    tok.save_pretrained(out / "encoder")

    # 2. retrieval of translations, every layer, both directions
    records, layer_rows = measure_retrieval(model, tok, world, cfg.retrieval_pairs,
                                            seed=cfg.seed)

    # 3. fine-tune NLI on the source language, zero-shot everywhere
    nli_records, ft_losses = zero_shot_nli(model, tok, world, cfg, show_progress=show_progress)
    records += nli_records
    records = stamp(records, cfg)
    write_records(out / "results.jsonl", records)

    # 4. figures and summary
    figures = _figures(records, layer_rows, mlm_losses, ft_losses, cfg, out)
    seconds = time.time() - t0
    summary = _summary(records, world, cfg, seconds)
    (out / "summary.txt").write_text(summary, encoding="utf-8")
    meta = {"config": asdict(cfg), **provenance(cfg), "seconds": round(seconds, 1),
            "languages": [world.language(x).describe() for x in langs]}
    (out / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    assert meta["config_hash"] == config_hash(cfg)
    return LabResult(records, out, figures, summary, seconds)


def _figures(records: list[Record], layer_rows: list[dict], mlm_losses: list[float],
             ft_losses: list[float], cfg: LabConfig, out: Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from xtutor import plots

    df = pd.DataFrame([r.to_dict() for r in records])
    figs = {}
    ret = df[(df.task == "retrieval") & df.metric.isin(["retrieval_acc_cosine",
                                                         "retrieval_acc_csls"])].copy()
    src = cfg_src(records)
    ret["scoring, direction"] = ret.metric.str.replace("retrieval_acc_", "") + ", " + \
        ret.premise_lang.map(lambda q: f"{src} -> target" if q == src else f"target -> {src}")
    top = float(ret.value.max())
    figs["retrieval"] = plots.bar_by_language(
        ret, "top-1 accuracy (fraction)", "Translation retrieval after MLM pretraining",
        hue="scoring, direction", chance=1.0 / cfg.retrieval_pairs,
        ylim=(0, 1.02) if top > 0.25 else (0, max(0.05, 1.3 * top)))
    figs["retrieval_by_layer"] = plots.line_by_layer(
        pd.DataFrame(layer_rows), "top-1 accuracy (fraction, cosine)",
        "Retrieval accuracy by layer")
    nli = df[(df.task == "nli") & (df.premise_lang == df.hypothesis_lang)]
    src_acc = float(nli[nli.eval_lang == cfg_src(records)].value.mean())
    figs["zero_shot"] = plots.bar_by_language(
        nli, "accuracy (fraction)", f"NLI: trained on {cfg_src(records)}, zero-shot elsewhere",
        chance=1 / 3, reference=src_acc)
    if cfg.generalized:
        figs["generalized"] = plots.heatmap_matrix(
            df[df.task == "nli"], "Generalized cross-lingual NLI")
    figs["mlm_loss"] = plots.loss_curve(mlm_losses, "MLM pretraining loss")
    figs["finetune_loss"] = plots.loss_curve(ft_losses, "NLI fine-tuning loss")
    paths = {}
    for name, fig in figs.items():
        p = out / f"{name}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths[name] = p
    return paths


def cfg_src(records: list[Record]) -> str:
    """The source (training) language of a set of lab records."""
    return records[0].train_lang


def _summary(records: list[Record], world: ToyWorld, cfg: LabConfig, seconds: float) -> str:
    src = world.languages[0]
    lines = [f"xtutor lab (seed {cfg.seed}, config {config_hash(cfg)}), {seconds:.0f} s", ""]
    lines.append("Languages:")
    lines += ["  " + world.language(x).describe() for x in world.languages]
    lines += ["", f"Translation retrieval against {src} (last layer, top-1, chance "
                  f"{1 / cfg.retrieval_pairs:.3f}):"]
    by = {(r.metric, r.premise_lang, r.hypothesis_lang): r.value for r in records
          if r.task == "retrieval"}
    for lang in world.languages[1:]:
        lines.append(f"  {lang}: cosine {lang}->{src} {by[('retrieval_acc_cosine', lang, src)]:.3f}"
                     f", {src}->{lang} {by[('retrieval_acc_cosine', src, lang)]:.3f}; "
                     f"CSLS {lang}->{src} {by[('retrieval_acc_csls', lang, src)]:.3f}")
    lines += ["", f"NLI accuracy, fine-tuned on {src} only (chance 0.333):"]
    nli = {(r.premise_lang, r.hypothesis_lang): r.value for r in records if r.task == "nli"}
    for lang in world.languages:
        tag = "source" if lang == src else "zero-shot"
        lines.append(f"  {lang} ({tag}): {nli[(lang, lang)]:.3f}")
    if cfg.generalized:
        mixed = [v for (a, b), v in nli.items() if a != b]
        lines.append(f"  mixed-language pairs (generalized), mean over {len(mixed)}: "
                     f"{sum(mixed) / len(mixed):.3f}")
    return "\n".join(lines) + "\n"
