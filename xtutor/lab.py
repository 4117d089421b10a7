"""The embedded default experiment: ``xtutor lab``, the book's answer in miniature.

It generates a toy language family, pretrains a small encoder with MLM on monolingual text
only, aligns a copy of it with sentence-level InfoNCE on parallel pairs, and measures for both
encoders how well each language's sentences retrieve their translations in the source
language. Then it fine-tunes NLI on the source language with plain fine-tuning and with one
noise-robust method (``robust_method``, code-switch augmentation by default) on each encoder
(the 2 x 2 of alignment x fine-tuning, through :func:`xtutor.experiments.unit.run_unit`), and
evaluates zero-shot on every language (and every premise/hypothesis language pair), clean and
under character-noise and code-switching attacks. Everything it reports is measured in the run.

Example:
    >>> cfg = LabConfig.preset("tiny")
    >>> cfg.world.n_languages
    3
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.alignment import retrieval_accuracy
from xtutor.encode import base_encoder, encode_layers
from xtutor.models import toy_encoder
from xtutor.reproducibility import config_hash, provenance, set_seed, torch_threads
from xtutor.results import Record, stamp, write_records
from xtutor.toyworld import ToyWorld, WorldConfig
from xtutor.training import FinetuneConfig, MLMConfig, pretrain_mlm


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
    align_steps: int = 400
    align_pairs: int = 512
    align_lr: float = 1e-3
    robust_method: str = "codeswitch"
    n_attack: int = 60

    def __post_init__(self) -> None:
        from xtutor.regularizers.factory import METHODS

        if self.robust_method not in METHODS or self.robust_method == "plain":
            raise ValueError(f"robust_method must be one of {list(METHODS[1:])}, got "
                             f"{self.robust_method!r}")
        for name in ("align_steps", "align_pairs", "n_attack", "retrieval_pairs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

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
                align_steps=20, align_pairs=64, n_attack=12,
            ).with_seed(seed)
        raise ValueError(f"unknown lab preset {name!r}; choose 'default', 'ci' or 'tiny'")

    def with_seed(self, seed: int) -> LabConfig:
        """The same config with every seed set to ``seed``."""
        return replace(self, seed=seed, world=replace(self.world, seed=seed),
                       mlm=replace(self.mlm, seed=seed),
                       finetune=replace(self.finetune, seed=seed))

    def override(self, **changes: Any) -> LabConfig:
        """Change fields by dotted name, e.g. ``override(**{"mlm.steps": 100})``; values are
        converted and checked once (:func:`xtutor.settings.override`: ``"1e-4"`` is a number,
        ``"false"`` is False, an unknown key is named)."""
        from xtutor.settings import override

        return override(self, changes, source="lab setting")


@dataclass(frozen=True)
class LabSettings:
    """Settings of ``experiment: lab`` (and of ``xtutor lab``): a preset, a seed and dotted
    overrides of :class:`LabConfig`.

    Example:
        >>> LabSettings(preset="tiny", overrides={"generalized": "false"}).config().generalized
        False
    """

    preset: str = "ci"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        self.config()  # checks the preset and the overrides

    def config(self) -> LabConfig:
        """The :class:`LabConfig` these settings describe."""
        return LabConfig.preset(self.preset, seed=self.seed).override(**self.overrides)


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

    Returns ``(model, tokenizer, loss_curve)``. Pretraining runs on one torch thread whatever
    the caller's setting: CPU results are bit-exact for one thread count only, and the encoders
    are cached and shared by the chapters, the grid and ``xtutor verify`` (two thread counts
    gave two different encoders, and with them different fine-tuned accuracies).

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
    with torch_threads(1):
        losses = pretrain_mlm(model, tok, texts, cfg.mlm, show_progress=show_progress)
    return model, tok, losses


def zero_shot_nli(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, world: ToyWorld,
                  cfg: LabConfig, method: str = "none", model_name: str = "toy-mlm",
                  experiment: str = "lab", show_progress: bool = True
                  ) -> tuple[list[Record], list[float]]:
    """Fine-tune NLI on the source language and evaluate on every language (and every
    premise/hypothesis pair when ``cfg.generalized``). Returns unstamped records (accuracy
    only) and the fine-tuning loss curve; the loop is :func:`xtutor.experiments.unit.run_unit`
    on a :class:`~xtutor.experiments.setups.ToySetup` of ``cfg``."""
    from xtutor.experiments.setups import ToySetup
    from xtutor.experiments.unit import TIMING_METRICS, run_unit

    setup = ToySetup(cfg, model_name=model_name, encoder=(model, tokenizer))
    if tuple(setup.languages) != tuple(world.languages):
        raise ValueError("zero_shot_nli: world is not the world of cfg.world")
    res = run_unit(setup, "plain", encoder=model, experiment=experiment, method=method,
                   show_progress=show_progress)
    return [r for r in res.records if r.metric not in TIMING_METRICS], res.losses


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


def lab_records(cfg: LabConfig, out: Path, show_progress: bool = True
                ) -> tuple[list[Record], dict[str, Any]]:
    """The lab's measurements (unstamped records) and what its figures and summary need;
    saves the pretrained encoder to ``out/encoder``."""
    from xtutor.attacks.study import AttackConfig
    from xtutor.experiments.setups import AlignmentSettings, ToySetup
    from xtutor.experiments.unit import run_unit

    set_seed(cfg.seed)
    world = ToyWorld(cfg.world)
    if len(world.languages) < 2:
        raise ValueError("the lab needs at least 2 languages (a source and a target)")
    out.mkdir(parents=True, exist_ok=True)

    # 1. pretrain on monolingual text only; 2. align a copy with sentence InfoNCE
    model, tok, mlm_losses = pretrain_toy_encoder(cfg, world, show_progress=show_progress)
    model.save_pretrained(out / "encoder")
    tok.save_pretrained(out / "encoder")
    model.eval()
    setup = ToySetup(cfg, model_name="toy-mlm", encoder=(model, tok),
                     alignment=AlignmentSettings(cfg.align_steps, cfg.align_pairs, cfg.align_lr))
    encoders = {"none": model, "sentence": setup.align("sentence")}

    # 3. retrieval of translations, every layer, both directions, for both encoders
    records: list[Record] = []
    layer_rows: list[dict] = []
    for name, enc in encoders.items():
        recs, rows = measure_retrieval(enc, tok, world, cfg.retrieval_pairs, seed=cfg.seed,
                                       method=name)
        records += recs
        layer_rows += rows

    # 4. fine-tune on the source language: plain and one robust method on each encoder;
    #    zero-shot everywhere, clean and under attack
    attack = AttackConfig(attacks=("char_noise", "code_switch"), n_examples=0)
    ft_losses: list[float] = []
    for name, enc in encoders.items():
        for method in ("plain", cfg.robust_method):
            res = run_unit(setup, method, encoder=enc, attack=attack, n_attack=cfg.n_attack,
                           experiment="lab", method=f"{name}/{method}",
                           show_progress=show_progress)
            records += res.records
            if name == "none" and method == "plain":
                ft_losses = res.losses
    return records, {"world": world, "layer_rows": layer_rows, "mlm_losses": mlm_losses,
                     "ft_losses": ft_losses}


def run_lab(config: LabConfig | None = None, out_dir: str | Path = "runs/lab",
            show_progress: bool = True) -> LabResult:
    """Run the lab and write ``results.jsonl``, figures, ``summary.txt`` and ``config.json``
    (the runner's layout, :mod:`xtutor.runner`; ``config.json`` also has the full
    ``config``).

    Example:
        >>> import tempfile
        >>> res = run_lab(LabConfig.preset("tiny"), tempfile.mkdtemp(), show_progress=False)
        >>> sorted({r.task for r in res.records})
        ['nli', 'retrieval']
    """
    from xtutor.io import atomic_write_text
    from xtutor.reproducibility import deterministic

    cfg = config or LabConfig()
    t0 = time.time()
    out = Path(out_dir)
    with deterministic():
        records, extra = lab_records(cfg, out, show_progress)
    records = stamp(records, cfg)
    write_records(out / "results.jsonl", records)
    figures = _figures(records, extra["layer_rows"], extra["mlm_losses"], extra["ft_losses"],
                       cfg, out)
    seconds = time.time() - t0
    summary = _summary(records, extra["world"], cfg, seconds)
    atomic_write_text(out / "summary.txt", summary)
    meta = {"experiment": "lab", "config": asdict(cfg), **provenance(cfg),
            "seconds": round(seconds, 1),
            "languages": [extra["world"].language(x).describe() for x in extra["world"].languages]}
    atomic_write_text(out / "config.json", json.dumps(meta, indent=2))
    return LabResult(records, out, figures, summary, seconds)


def _run_cell(s: LabSettings, cell: Any, ctx: Any) -> list[Record]:
    cfg = s.config()
    records, extra = lab_records(cfg, ctx.out, ctx.show_progress)
    _figures(records, extra["layer_rows"], extra["mlm_losses"], extra["ft_losses"], cfg,
             ctx.out)
    ctx.state["world"] = extra["world"]
    return records


def _summarize(s: LabSettings, records: list[Record], out: Path) -> str:
    cfg = s.config()
    return _summary(records, ToyWorld(cfg.world), cfg, None)


def _kind() -> Any:
    from xtutor.runner import Kind, WholeRun

    return Kind("lab", LabSettings, lambda s: [WholeRun("lab")], _run_cell,
                summarize=_summarize)


KIND_SPEC = _kind()


def _figures(records: list[Record], layer_rows: list[dict], mlm_losses: list[float],
             ft_losses: list[float], cfg: LabConfig, out: Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from xtutor import plots

    df = pd.DataFrame([r.to_dict() for r in records])
    figs = {}
    src = cfg_src(records)
    ret = df[(df.task == "retrieval") & df.metric.isin(["retrieval_acc_cosine",
                                                         "retrieval_acc_csls"])].copy()
    ret = ret[ret.metric == "retrieval_acc_cosine"]
    ret["encoder, direction"] = ret.method.map({"none": "MLM only", "sentence": "+ InfoNCE"}) \
        + ", " + ret.premise_lang.map(lambda q: f"{src} -> target" if q == src
                                      else f"target -> {src}")
    figs["retrieval"] = plots.legend_below(plots.bar_by_language(
        ret, "top-1 accuracy (fraction, cosine)",
        "Translation retrieval: MLM only vs aligned with InfoNCE", hue="encoder, direction",
        chance=1.0 / cfg.retrieval_pairs, ylim=(0, 1.02)), ncol=3)
    figs["retrieval_by_layer"] = plots.line_by_layer(
        pd.DataFrame([r for r in layer_rows if r["method"] == "none"]),
        "top-1 accuracy (fraction, cosine)", "Retrieval accuracy by layer (MLM only)")
    nli = df[(df.task == "nli") & (df.metric == "accuracy") & (df.attack == "none")
             & (df.premise_lang == df.hypothesis_lang)].copy()
    src_acc = float(nli[(nli.eval_lang == src) & (nli.method == "none/plain")].value.mean())
    figs["zero_shot"] = plots.legend_below(plots.bar_by_language(
        nli, "accuracy (fraction)", f"NLI: trained on {src}, zero-shot elsewhere",
        hue="method", chance=1 / 3, reference=src_acc), ncol=3)
    table = answer_table(records, src).drop(columns="source")
    long = table.rename_axis("method").reset_index().melt(
        id_vars="method", var_name="condition", value_name="value")
    fig = plots.bar_by_method(long, "zero-shot accuracy (fraction, mean over targets)",
                              "Alignment x fine-tuning, clean and under attack",
                              hue="condition", chance=1 / 3)
    fig.axes[0].set_xlabel("alignment / fine-tuning (one seed)")
    figs["answer"] = plots.legend_below(fig, ncol=4)
    if cfg.generalized:
        figs["generalized"] = plots.heatmap_matrix(
            df[(df.task == "nli") & (df.metric == "accuracy") & (df.method == "none/plain")],
            "Generalized cross-lingual NLI (MLM encoder, plain fine-tuning)")
    figs["mlm_loss"] = plots.loss_curve(mlm_losses, "MLM pretraining loss")
    figs["finetune_loss"] = plots.loss_curve(ft_losses, "NLI fine-tuning loss (plain)")
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


def answer_table(records: list[Record], src: str) -> pd.DataFrame:
    """The lab's 2 x 2: rows ``alignment/fine-tuning``, columns source accuracy, zero-shot
    accuracy (mean over the other languages), zero-shot accuracy under each attack.

    Example:
        >>> r = [Record("lab", "m", "none/plain", "nli", "L0", x, "accuracy", v, 10, 0,
        ...             premise_lang=x, hypothesis_lang=x) for x, v in (("L0", .9), ("L1", .5))]
        >>> answer_table(r, "L0").round(2).to_dict("records")
        [{'source': 0.9, 'zero-shot': 0.5}]
    """
    df = pd.DataFrame([x.to_dict() for x in records])
    df = df[(df.task == "nli") & df.metric.isin(["accuracy", "attacked_accuracy"])]
    rows = {}
    for method, g in df.groupby("method", sort=False):
        clean = g[(g.metric == "accuracy") & (g.premise_lang == g.hypothesis_lang)]
        row = {"source": clean[clean.eval_lang == src].value.mean(),
               "zero-shot": clean[clean.eval_lang != src].value.mean()}
        att = g[(g.metric == "attacked_accuracy") & (g.eval_lang != src)]
        for a, ga in att.groupby("attack", sort=False):
            row[f"under {a}"] = ga.value.mean()
        rows[method] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def _summary(records: list[Record], world: ToyWorld, cfg: LabConfig, seconds: float | None
             ) -> str:
    src = world.languages[0]
    took = f", {seconds:.0f} s" if seconds is not None else ""
    lines = [f"xtutor lab (seed {cfg.seed}, config {config_hash(cfg)}){took}", ""]
    lines.append("Languages:")
    lines += ["  " + world.language(x).describe() for x in world.languages]
    lines += ["", f"Translation retrieval against {src} (last layer, top-1 cosine, mean of both "
                  f"directions; chance {1 / cfg.retrieval_pairs:.3f}):"]
    by = {(r.method, r.metric, r.premise_lang, r.hypothesis_lang): r.value for r in records
          if r.task == "retrieval"}
    for lang in world.languages[1:]:
        vals = [(by[(m, "retrieval_acc_cosine", lang, src)]
                 + by[(m, "retrieval_acc_cosine", src, lang)]) / 2 for m in ("none", "sentence")]
        lines.append(f"  {lang}: MLM only {vals[0]:.3f}; aligned with InfoNCE {vals[1]:.3f}")
    table = answer_table(records, src)
    lines += ["", f"NLI accuracy, fine-tuned on {src} only (chance 0.333); rows alignment/"
                  f"fine-tuning, zero-shot = mean over the other languages, under attack = "
                  f"{cfg.n_attack} attacked pairs per language:", table.round(3).to_string()]
    nli = {(r.method, r.premise_lang, r.hypothesis_lang): r.value for r in records
           if r.task == "nli" and r.metric == "accuracy"}
    if cfg.generalized:
        lines.append("")
        for m in table.index:
            mixed = [v for (mm, a, b), v in nli.items() if mm == m and a != b]
            lines.append(f"  {m}: mixed-language pairs (generalized), mean over {len(mixed)}: "
                         f"{sum(mixed) / len(mixed):.3f}")
    return "\n".join(lines) + "\n"
