"""``experiment: tatoeba``: translation retrieval on the Tatoeba test sets with a real encoder.

For each language ``xxx`` the Tatoeba ``xxx``-English test set (up to 1000 sentence pairs) is
encoded, one batched :func:`xtutor.encode.encode` call per side, and top-1 retrieval accuracy
is measured in both directions (``xxx -> eng``: each ``xxx`` sentence looks for its English
translation among all English sentences of the set; ``eng -> xxx`` the other way round) under
each requested scoring (:mod:`xtutor.alignment`).

Settings (all optional; unknown keys are refused):

- ``model``: an encoder name or directory for :func:`xtutor.models.load_encoder`
  (default ``e5-small-offline``);
- ``languages``: ISO 639-3 codes (default ``deu fra cmn rus swh amh``);
- ``scoring``: list of ``cosine``, ``csls``, ``margin`` (default ``[cosine, csls]``);
- ``pooling``: ``mean`` or ``cls`` (default ``mean``); ``layer``: default ``-1`` (last);
- ``prefix``: text put before every sentence; default ``"query: "`` for e5 models (a name
  containing ``e5``), ``""`` otherwise;
- ``max_pairs``: keep at most this many pairs per language, a random subset drawn with ``seed``
  (default: all);
- ``data_dir``: the data folder holding ``tatoeba/v1`` (or a folder holding the
  ``tatoeba.xxx-eng.*`` files themselves); default: ``$XTUTOR_DATA_DIR`` or ``../shared/data``;
- ``batch_size``: sentences per forward pass (default 64); ``seed``: default 0.

Outputs in the run folder: ``results.jsonl`` (experiment ``tatoeba``, task ``retrieval``,
method ``none``, train_lang ``eng``, eval_lang ``xxx``, premise_lang = query language,
hypothesis_lang = candidate language, metric ``retrieval_acc_{scoring}``), ``summary.txt``,
``retrieval.png`` and ``config.json``.

Example:
    >>> s = TatoebaSettings.from_settings({"languages": ["deu", "swh"], "max_pairs": 100})
    >>> s.languages, s.text_prefix, s.scoring
    (('deu', 'swh'), 'query: ', ('cosine', 'csls'))
    >>> TatoebaSettings.from_settings({"langs": ["deu"]})
    Traceback (most recent call last):
    ...
    xtutor.settings.SettingsError: experiment 'tatoeba': unknown setting 'langs'; valid keys: batch_size, data_dir, languages, layer, max_pairs, model, pooling, prefix, scoring, seed
"""  # noqa: E501

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from xtutor.alignment import retrieval_accuracy
from xtutor.data.corpora import ParallelCorpus
from xtutor.data.paths import DATA_DIR_ENV, repo_root, shared_data_dir
from xtutor.data.tatoeba import load_tatoeba
from xtutor.e5 import E5_QUERY_PREFIX
from xtutor.progress import progress
from xtutor.results import Record

KIND = "tatoeba"
SCORINGS: tuple[str, ...] = ("cosine", "csls", "margin")
POOLINGS: tuple[str, ...] = ("mean", "cls")
_CODE = re.compile(r"^[a-z]{3}$")


@dataclass(frozen=True)
class TatoebaSettings:
    """The validated settings of a Tatoeba retrieval run (see the module docstring)."""

    model: str = "e5-small-offline"
    languages: tuple[str, ...] = ("deu", "fra", "cmn", "rus", "swh", "amh")
    scoring: tuple[str, ...] = ("cosine", "csls")
    pooling: str = "mean"
    layer: int = -1
    prefix: str | None = None
    max_pairs: int | None = None
    data_dir: str | None = None
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("tatoeba setting 'model' must be a model name or directory")
        for name in ("languages", "scoring"):
            vals = [str(v).strip().lower() for v in getattr(self, name)]
            if not vals:
                raise ValueError(f"tatoeba setting {name!r} must be a non-empty list")
            dup = sorted({v for v in vals if vals.count(v) > 1})
            if dup:
                raise ValueError(f"tatoeba setting {name!r} lists {dup} more than once")
            object.__setattr__(self, name, tuple(vals))
        for lang in self.languages:
            if not _CODE.match(lang):
                raise ValueError(f"tatoeba language must be an ISO 639-3 code such as 'deu' "
                                 f"or 'cmn', got {lang!r}")
            if lang == "eng":
                raise ValueError("tatoeba languages are paired with English; 'eng' itself "
                                 "is not a test set")
        for sc in self.scoring:
            if sc not in SCORINGS:
                raise ValueError(f"tatoeba setting 'scoring' takes {list(SCORINGS)}, got {sc!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"tatoeba setting 'pooling' must be one of {list(POOLINGS)}, "
                             f"got {self.pooling!r}")
        if self.max_pairs is not None and self.max_pairs < 2:
            raise ValueError(f"tatoeba setting 'max_pairs' must be >= 2, got {self.max_pairs}")
        object.__setattr__(self, "prefix", self.text_prefix)  # resolved once: hashed, stored
        if self.batch_size < 1 or self.seed < 0:
            raise ValueError(f"tatoeba settings 'batch_size' (>= 1) and 'seed' (>= 0): got "
                             f"{self.batch_size}, {self.seed}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> TatoebaSettings:
        """Check a config's settings and fill in defaults; errors name the setting."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=f"experiment {KIND!r}")

    @property
    def text_prefix(self) -> str:
        """The prefix actually used: ``prefix`` if set, else ``"query: "`` for e5 models."""
        if self.prefix is not None:
            return self.prefix
        return E5_QUERY_PREFIX if "e5" in Path(self.model).name.lower() else ""

    def resolved(self) -> dict[str, Any]:
        """All settings with defaults filled in (what the records' ``config_hash`` covers)."""
        d = asdict(self)
        d["languages"] = list(self.languages)
        d["scoring"] = list(self.scoring)
        d["prefix"] = self.text_prefix
        return {"experiment": KIND, **d}


def tatoeba_folder(data_dir: str | Path | None = None) -> Path:
    """The folder holding the ``tatoeba.xxx-eng.*`` files.

    ``data_dir`` is the data folder (holding ``tatoeba/v1``) or the Tatoeba folder itself; by
    default the shared data folder (``$XTUTOR_DATA_DIR`` or ``../shared/data``).

    Example:
        >>> tatoeba_folder("/surely/not/here")
        Traceback (most recent call last):
        ...
        FileNotFoundError: tatoeba setting data_dir='/surely/not/here' is not a folder; point it at the data folder holding tatoeba/v1, or leave it out to use $XTUTOR_DATA_DIR (or ../shared/data)
    """  # noqa: E501
    if data_dir is None:
        root = shared_data_dir()
        if root is None:
            env = os.environ.get(DATA_DIR_ENV)
            why = (f"{DATA_DIR_ENV}={env!r} is not a folder" if env is not None and env.strip()
                   else f"{DATA_DIR_ENV} is unset and {repo_root().parent / 'shared' / 'data'} "
                        f"is absent")
            raise FileNotFoundError(
                f"the tatoeba experiment needs the Tatoeba test sets but there is no data "
                f"folder: {why}. Set {DATA_DIR_ENV} to the folder holding tatoeba/v1 (or set "
                f"data_dir: in the config)."
            )
        folder = root / "tatoeba" / "v1"
        if not folder.is_dir():
            raise FileNotFoundError(
                f"the data folder {root} (from {DATA_DIR_ENV} or ../shared/data) has no "
                f"tatoeba/v1 folder; set {DATA_DIR_ENV} or data_dir: to a folder that has one"
            )
        return folder
    p = Path(data_dir).expanduser()
    if not p.is_dir():
        raise FileNotFoundError(
            f"tatoeba setting data_dir={str(data_dir)!r} is not a folder; point it at the data "
            f"folder holding tatoeba/v1, or leave it out to use ${DATA_DIR_ENV} "
            f"(or ../shared/data)"
        )
    if (p / "tatoeba" / "v1").is_dir():
        return p / "tatoeba" / "v1"
    if any(p.glob("tatoeba.*-eng.eng")):
        return p
    raise FileNotFoundError(
        f"tatoeba setting data_dir={str(data_dir)!r} holds neither tatoeba/v1 nor "
        f"tatoeba.xxx-eng.* files"
    )


def load_corpora(cfg: TatoebaSettings) -> dict[str, ParallelCorpus]:
    """Each language's test set, cut to ``max_pairs`` (a seeded random subset, in file order)."""
    folder = tatoeba_folder(cfg.data_dir)
    out = {}
    for lang in cfg.languages:
        pc = load_tatoeba(lang, folder)
        if len(pc) < 2:
            raise ValueError(f"Tatoeba {lang}-eng in {folder} has {len(pc)} pair(s); retrieval "
                             f"needs at least 2")
        if cfg.max_pairs is not None and len(pc) > cfg.max_pairs:
            keep = sorted(random.Random(cfg.seed).sample(range(len(pc)), cfg.max_pairs))
            pc = ParallelCorpus(pc.src_lang, pc.tgt_lang, [pc.src[i] for i in keep],
                                [pc.tgt[i] for i in keep])
        out[lang] = pc
    return out


def encode_corpus(model: Any, tokenizer: Any, pc: ParallelCorpus, cfg: TatoebaSettings,
                  show_progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(src, eng)`` sentence vectors of a parallel corpus: one batched call per side."""
    from xtutor.encode import encode

    kw = dict(layer=cfg.layer, batch_size=cfg.batch_size, pooling=cfg.pooling,
              prefix=cfg.text_prefix, show_progress=show_progress)
    return encode(model, tokenizer, pc.src, **kw), encode(model, tokenizer, pc.tgt, **kw)


def language_records(lang: str, src: torch.Tensor, eng: torch.Tensor, cfg: TatoebaSettings
                     ) -> list[Record]:
    """Unstamped records for one language: every scoring, both directions."""
    out = []
    for scoring in cfg.scoring:
        for (q_lang, q), (c_lang, c) in (((lang, src), ("eng", eng)),
                                         (("eng", eng), (lang, src))):
            acc = retrieval_accuracy(q, c, scoring)  # type: ignore[arg-type]
            out.append(Record(
                experiment=KIND, model=cfg.model, method="none", task="retrieval",
                train_lang="eng", eval_lang=lang, metric=f"retrieval_acc_{scoring}",
                value=acc, n=len(q), seed=cfg.seed, premise_lang=q_lang,
                hypothesis_lang=c_lang,
            ))
    return out


def tatoeba_records(cfg: TatoebaSettings, show_progress: bool = False,
                    encoder: tuple[Any, Any] | None = None) -> list[Record]:
    """Retrieval records of every language of ``cfg`` (unstamped). Data are checked before
    the model loads; ``encoder`` is an already loaded ``(model, tokenizer)``."""
    corpora = load_corpora(cfg)  # fails fast on missing data, before the model loads
    if encoder is None:
        from xtutor.models import load_encoder

        encoder = load_encoder(cfg.model)
    model, tokenizer = encoder
    records: list[Record] = []
    bar = progress(cfg.languages, desc="tatoeba", unit="lang", show=show_progress)
    for lang in bar:
        bar.set_postfix_str(f"{lang} ({len(corpora[lang])} pairs)")
        src, eng = encode_corpus(model, tokenizer, corpora[lang], cfg, show_progress)
        records += language_records(lang, src, eng, cfg)
    bar.close()
    return records


def run_tatoeba(settings: Mapping[str, Any] | TatoebaSettings | None, out_dir: str | Path,
                show_progress: bool = True, *, encoder: tuple[Any, Any] | None = None
                ) -> list[Record]:
    """Run the Tatoeba retrieval experiment through the runner (:mod:`xtutor.runner`) and
    write its outputs to ``out_dir`` (records, ``summary.txt``, ``retrieval.png``,
    ``config.json``).

    ``encoder`` is an already loaded ``(model, tokenizer)`` for ``settings["model"]`` (tests
    pass one to load it once); by default the model is loaded with
    :func:`xtutor.models.load_encoder`. Settings and data are checked before the model loads.
    """
    from xtutor.runner import run_experiment

    cfg = settings if isinstance(settings, TatoebaSettings) else \
        TatoebaSettings.from_settings(settings)
    load_corpora(cfg)
    res = run_experiment(KIND, cfg, out_dir, show_progress=show_progress,
                         state={"encoder": encoder} if encoder is not None else None)
    if show_progress:
        print((Path(out_dir) / "summary.txt").read_text(encoding="utf-8"), end="")
    return res.records


def _run_cell(cfg: TatoebaSettings, cell: Any, ctx: Any) -> list[Record]:
    t0 = time.perf_counter()
    recs = tatoeba_records(cfg, ctx.show_progress, ctx.state.get("encoder"))
    ctx.state["seconds"] = time.perf_counter() - t0
    return recs


def _summarize(cfg: TatoebaSettings, records: list[Record], out: Path) -> str:
    _figure(records, cfg, out / "retrieval.png")
    return summary_table(records, cfg)


def summary_table(records: list[Record], cfg: TatoebaSettings, seconds: float | None = None
                  ) -> str:
    """A plain-text table: per language, pairs and accuracy per scoring and direction."""
    by = {(r.eval_lang, r.metric, r.premise_lang): r.value for r in records}
    n = {r.eval_lang: r.n for r in records}
    head = f"{'lang':<6}{'pairs':>6}"
    for s in cfg.scoring:
        head += f"  {s + ' xxx->eng':>16} {s + ' eng->xxx':>16} {s + ' mean':>12}"
    lines = [
        f"Tatoeba translation retrieval (top-1 accuracy): model {cfg.model}, layer {cfg.layer}, "
        f"{cfg.pooling} pooling, prefix {cfg.text_prefix!r}, seed {cfg.seed}, "
        f"config {records[0].config_hash}", "", head,
    ]
    means: dict[str, list[float]] = {s: [] for s in cfg.scoring}
    for lang in cfg.languages:
        row = f"{lang:<6}{n[lang]:>6}"
        for s in cfg.scoring:
            m = f"retrieval_acc_{s}"
            a, b = by[(lang, m, lang)], by[(lang, m, "eng")]
            means[s].append((a + b) / 2)
            row += f"  {a:>16.3f} {b:>16.3f} {(a + b) / 2:>12.3f}"
        lines.append(row)
    lines.append("")
    lines.append("mean over languages: " + ", ".join(
        f"{s} {sum(v) / len(v):.3f}" for s, v in means.items()))
    if seconds is not None:
        lines.append(f"{seconds:.0f} s, {torch.get_num_threads()} torch threads")
    return "\n".join(lines) + "\n"


def _figure(records: list[Record], cfg: TatoebaSettings, path: Path) -> Path:
    import matplotlib.pyplot as plt
    import pandas as pd

    from xtutor import plots

    df = pd.DataFrame([r.to_dict() for r in records])
    df["scoring, direction"] = df.metric.str.replace("retrieval_acc_", "") + ", " + \
        df.premise_lang.map(lambda q: "eng -> xxx" if q == "eng" else "xxx -> eng")
    fig = plots.bar_by_language(
        df, "top-1 retrieval accuracy (fraction)",
        f"Tatoeba translation retrieval with English ({cfg.model})", hue="scoring, direction")
    ax = fig.axes[0]
    ax.set_xlabel("language paired with English (ISO 639-3)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, frameon=False)
    fig.set_size_inches(6.4, 4.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _kind() -> Any:
    from xtutor.runner import Kind, WholeRun

    return Kind(KIND, TatoebaSettings, lambda cfg: [WholeRun(KIND)], _run_cell,
                summarize=_summarize)


KIND_SPEC = _kind()
