"""Chapter 4's studies and ``experiment: adversarial``: fine-tuned pair classifiers attacked
language by language, and certified with randomized smoothing.

The attacks themselves and the per-language study are in :mod:`xtutor.attacks`
(:func:`~xtutor.attacks.study.adversarial_study`, resources in
:mod:`xtutor.attacks.resources`); fine-tuning goes through the one unit of
:func:`xtutor.experiments.unit.run_unit`.

- ``experiment: adversarial`` (:class:`AdversarialSettings`, :func:`run_adversarial`): the toy
  family of a lab preset: pretrain, fine-tune on ``L0``, attack every language.
- :func:`toy_robustness_study`: the cached toy encoder fine-tuned with the robust methods of
  :mod:`xtutor.regularizers`, attacked in every language and certified with randomized
  smoothing (Gaussian on embeddings; substitution over
  :func:`~xtutor.attacks.resources.translation_classes`).
- :func:`xnli_adversarial_study`: e5 fine-tuned briefly on English XNLI dev, XNLI test pairs
  attacked.

Example:
    >>> AdversarialSettings.from_settings({"preset": "tiny", "n_test": "20"}).n_test
    20
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xtutor.attacks import Victim
from xtutor.attacks.resources import (
    dataset_vocabulary,
    real_resources,
    toy_resources,
    translation_classes,
)
from xtutor.attacks.study import ATTACKS, AdversarialStudy, AttackConfig, adversarial_study
from xtutor.experiments.setups import ToySetup, XnliSetup, XnliSizes
from xtutor.experiments.unit import run_unit
from xtutor.regularizers.factory import METHODS, RegularizerSettings
from xtutor.results import Record

KIND = "adversarial"


@dataclass(frozen=True)
class AdversarialSettings:
    """Settings of ``experiment: adversarial`` (toy family; all optional, unknown refused).

    ``preset``: a lab preset (``tiny``, ``ci``, ``default``) for the world, encoder and
    fine-tuning; ``n_test``: attacked pairs per language; ``protect_labels``: the attacks keep
    every gold label (exact check, :mod:`xtutor.toyreading`); the rest as in
    :class:`~xtutor.attacks.study.AttackConfig`.
    """

    preset: str = "ci"
    seed: int = 0
    n_test: int = 200
    attacks: tuple[str, ...] = ATTACKS
    max_word_fraction: float = 0.2
    sides: str = "both"
    protect_labels: bool = False

    def __post_init__(self) -> None:
        if self.n_test < 1:
            raise ValueError(f"adversarial setting 'n_test' must be >= 1, got {self.n_test}")
        self.attack_config()

    def attack_config(self) -> AttackConfig:
        """The :class:`~xtutor.attacks.study.AttackConfig` of these settings."""
        return AttackConfig(attacks=tuple(self.attacks), max_word_fraction=self.max_word_fraction,
                            sides=self.sides)  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> AdversarialSettings:
        """Validate a settings mapping (from a YAML config)."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=f"experiment {KIND!r}")


def _run_cell(s: AdversarialSettings, cell: Any, ctx: Any) -> list[Record]:
    from xtutor.lab import LabConfig

    setup = ToySetup(LabConfig.preset(s.preset, s.seed), model_name=f"toy-mlm-{s.preset}",
                     show_progress=ctx.show_progress, label_check=s.protect_labels)
    res = run_unit(setup, "plain", evaluate=False, attack=s.attack_config(),
                   n_attack=s.n_test, attack_stream="test", experiment=KIND, method="none",
                   show_progress=ctx.show_progress)
    from xtutor.io import atomic_write_text

    atomic_write_text(ctx.out / "examples.json",
                      json.dumps(res.examples, ensure_ascii=False, indent=2))
    return res.records


def _summarize(s: AdversarialSettings, records: list[Record], out: Path) -> str:
    import pandas as pd

    df = pd.DataFrame([r.to_dict() for r in records])
    df = df[df.metric == "attacked_accuracy"]
    table = df.pivot_table(index="eval_lang", columns="attack", values="value")
    return f"adversarial ({s.preset}, seed {s.seed}): accuracy under attack\n" \
        f"{table.round(3).to_string()}\n"


def run_adversarial(settings: Mapping[str, Any] | AdversarialSettings | None,
                    out_dir: str | Path, show_progress: bool = False) -> list[Record]:
    """Pretrain a toy encoder, fine-tune NLI on ``L0``, attack every language (through the
    runner: ``results.jsonl``, ``examples.json`` (a few adversarial examples per language and
    attack), ``summary.txt``, ``config.json`` in ``out_dir``)."""
    from xtutor.runner import run_experiment

    s = settings if isinstance(settings, AdversarialSettings) else \
        AdversarialSettings.from_settings(settings)
    return run_experiment(KIND, s, out_dir, show_progress=show_progress).records


def _kind() -> Any:
    from xtutor.runner import Kind, WholeRun

    return Kind(KIND, AdversarialSettings, lambda s: [WholeRun(KIND)], _run_cell,
                summarize=_summarize)


KIND_SPEC = _kind()


@dataclass(frozen=True)
class RobustnessConfig:
    """Sizes of :func:`toy_robustness_study`.

    Attributes:
        lab_preset: the lab preset whose (cached) MLM encoder is fine-tuned.
        seeds, methods: seeds, and methods of :mod:`xtutor.experiments.robust` (``plain``,
            ``pgd``, ``freelb``, ``free``, ``smoothing``, ``codeswitch``, ...).
        nli_train, epochs, lr: fine-tuning size and learning rate (``None``: the preset's).
        n_attack: attacked pairs per language; attack: the attacks' settings.
        certify_langs, n_certify: languages and pairs per language to certify.
        sigma, gaussian_radii: Gaussian smoothing on word embeddings and the L2 radii reported.
        substitution_radii: numbers of substituted words reported (translation-class
            substitution smoothing, :func:`translation_classes`).
        certify_n0, certify_n, alpha, certify_batch: the smoothing's sampling.
        robust: the methods' hyperparameters (:class:`~xtutor.regularizers.RegularizerSettings`
            or a mapping of its fields, e.g. ``{"adv_steps": 2}``).
        protect_labels: the attacks keep every gold label, checked exactly with the toy
            family's semantics, and leave polarity, case and voice forms alone
            (:class:`~xtutor.experiments.setups.ToySetup` ``label_check``; adds
            ``label_preserved_rate`` and ``label_rejected_fraction`` records).
    """

    lab_preset: str = "ci"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("plain", "free", "codeswitch")
    nli_train: int | None = None
    epochs: float | None = None
    lr: float | None = None
    n_attack: int = 60
    attack: AttackConfig = field(default_factory=AttackConfig)
    certify_langs: tuple[str, ...] = ("L0", "L1")
    n_certify: int = 40
    sigma: float = 0.25
    gaussian_radii: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
    substitution_radii: tuple[float, ...] = (0, 1, 2, 4, 8)
    certify_n0: int = 32
    certify_n: int = 256
    alpha: float = 0.01
    certify_batch: int = 256
    robust: RegularizerSettings | Mapping[str, Any] = field(default_factory=RegularizerSettings)
    protect_labels: bool = False

    def __post_init__(self) -> None:
        for name in ("seeds", "methods", "certify_langs", "gaussian_radii",
                     "substitution_radii"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.robust, Mapping):
            object.__setattr__(self, "robust", RegularizerSettings(**self.robust))
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"unknown method(s) {bad}; choose from {METHODS}")
        if not self.seeds or self.n_attack < 1 or self.n_certify < 0:
            raise ValueError("RobustnessConfig needs seeds, n_attack >= 1 and n_certify >= 0")


def toy_robustness_study(config: RobustnessConfig | None = None,
                         cache_dir: str | Path | None = None,
                         on_run: Any = None) -> AdversarialStudy:
    """Fine-tune the lab preset's MLM encoder on ``L0`` NLI with each method of ``config``
    (one encoder per seed, shared by the methods, cached in ``cache_dir`` as in
    :func:`xtutor.experiments.encoders.pretrained_toy`), attack every language
    (:func:`~xtutor.attacks.study.adversarial_study`; ``method`` set in the records) on pairs
    of the test stream, and certify ``certify_langs`` with Gaussian smoothing on word
    embeddings (``attack = smoothing_gaussian``, radius in L2 embedding units) and
    translation-class substitution smoothing (``attack = smoothing_substitution``, radius in
    words). Also records ``train_seconds`` per run. ``on_run(dict)`` is called after each
    (seed, method). Records are unstamped.

    Example:
        >>> cfg = RobustnessConfig("tiny", seeds=(0,), methods=("plain",), n_attack=4,
        ...                        attack=AttackConfig(attacks=("char_noise",)),
        ...                        n_certify=2, certify_n=16, certify_n0=8)
        >>> st = toy_robustness_study(cfg)
        >>> sorted(set(st.frame().attack))
        ['char_noise', 'none', 'smoothing_gaussian', 'smoothing_substitution']
    """
    from xtutor.certify import (
        GaussianSmoothing,
        SubstitutionSmoothing,
        certified_records,
        certify_pairs_gaussian,
        certify_substitution,
    )
    from xtutor.lab import LabConfig
    from xtutor.reproducibility import deterministic

    cfg = config or RobustnessConfig()
    records: list[Record] = []
    examples: list[dict[str, Any]] = []
    name = f"toy-mlm-{cfg.lab_preset}"
    with deterministic():
        for seed in cfg.seeds:
            lab = LabConfig.preset(cfg.lab_preset, seed)
            lab = replace(lab, nli_train=cfg.nli_train or lab.nli_train,
                          finetune=replace(lab.finetune, epochs=cfg.epochs or lab.finetune.epochs,
                                           lr=cfg.lr or lab.finetune.lr))
            setup = ToySetup(lab, preset=cfg.lab_preset, cache_dir=cache_dir, model_name=name,
                             label_check=cfg.protect_labels)
            classes = translation_classes(setup.world)
            for method in cfg.methods:
                res = run_unit(setup, method, regularizers=cfg.robust, evaluate=False,
                               attack=cfg.attack, n_attack=cfg.n_attack, attack_stream="test",
                               experiment=KIND)
                clf, tok = res.classifier, res.tokenizer
                records += [r for r in res.records if r.metric != "train_cpu_seconds"]
                examples += [{**e, "method": method, "seed": seed} for e in res.examples]
                victim = Victim.from_model(clf, tok, setup.train().label_names,
                                           batch_size=cfg.attack.batch_size)
                for lang in cfg.certify_langs if cfg.n_certify else ():
                    data = setup.world.nli(cfg.n_certify, lang, seed=setup.streams.certify)
                    common = {"experiment": KIND, "model": name, "task": "nli",
                              "train_lang": setup.src, "eval_lang": lang, "seed": seed,
                              "method": method, "alpha": cfg.alpha}
                    g = certify_pairs_gaussian(clf, tok, data, GaussianSmoothing(
                        sigma=cfg.sigma, n0=cfg.certify_n0, n=cfg.certify_n, alpha=cfg.alpha,
                        batch_size=cfg.certify_batch, seed=seed))
                    records += certified_records(g, cfg.gaussian_radii,
                                                 certificate="smoothing_gaussian", **common)
                    sub = certify_substitution(victim, data, classes, SubstitutionSmoothing(
                        n0=cfg.certify_n0, n=cfg.certify_n, alpha=cfg.alpha,
                        batch_size=cfg.certify_batch, seed=seed))
                    records += certified_records(sub, cfg.substitution_radii,
                                                 certificate="smoothing_substitution", **common)
                if on_run is not None:
                    on_run({"seed": seed, "method": method,
                            "train_seconds": round(res.seconds, 1)})
    return AdversarialStudy(records, examples, {})


def xnli_adversarial_study(model_name: str = "e5-small-offline", *, n_train: int = 200,
                           epochs: float = 1.0, n_attack: int = 24,
                           languages: Sequence[str] = ("en", "es"),
                           targets: Sequence[str] = ("es", "de", "fr"), seed: int = 0,
                           config: AttackConfig | None = None, max_length: int = 64,
                           lr: float = 3e-5, data_dir: str | Path | None = None
                           ) -> AdversarialStudy:
    """``model_name`` fine-tuned briefly on ``n_train`` pairs of English XNLI *dev* (no XNLI
    training data offline), then ``n_attack`` test pairs of each of ``languages`` attacked
    (:func:`~xtutor.attacks.study.adversarial_study`; code-switching with the MUSE / Swadesh
    dictionaries of :func:`~xtutor.attacks.resources.real_resources`, into ``targets``).
    ``data_dir``: the shared data folder. Records carry ``train_seconds`` too; ``method`` is
    ``plain``.

    Example:
        >>> xnli_adversarial_study(n_train=16, n_attack=4)  # doctest: +SKIP
    """
    from xtutor.reproducibility import deterministic

    cfg = replace(config or AttackConfig(attacks=("char_noise", "code_switch")),
                  max_length=max_length)
    setup = XnliSetup(seed, model=model_name, languages=languages, attack_targets=targets,
                      sizes=XnliSizes(train=n_train, epochs=epochs, batch_size=16,
                                      max_length=max_length), lr=lr, data_dir=data_dir)
    if "en" not in languages:  # the setup evaluates English too; keep only what was asked
        raise ValueError(f"languages must include 'en', got {list(languages)}")
    with deterministic():
        res = run_unit(setup, "plain", evaluate=False, attack=cfg, n_attack=n_attack,
                       attack_stream="test", experiment=KIND)
    recs = [r for r in res.records if r.metric != "train_cpu_seconds"]
    return AdversarialStudy(recs, res.examples, {})


__all__ = ["ATTACKS", "AdversarialSettings", "AdversarialStudy", "AttackConfig", "METHODS",
           "RobustnessConfig", "adversarial_study", "dataset_vocabulary", "real_resources",
           "run_adversarial", "toy_resources", "toy_robustness_study", "translation_classes",
           "xnli_adversarial_study"]
