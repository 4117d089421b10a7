"""Per-example attack results, their summary, and tidy :class:`xtutor.results.Record` s.

Every attacked example ends in one of three states: ``skipped`` (the victim already got it
wrong), ``failed`` (still correct after the search) or ``succeeded`` (misclassified). Hence

- clean accuracy = (failed + succeeded) / n,
- accuracy under attack = failed / n,
- attack success rate = succeeded / (failed + succeeded).

Example:
    >>> from xtutor.data.types import PairExample
    >>> ex = PairExample("a b", "c d", 0, "en", "en")
    >>> rs = [AttackResult(ex, ex, "failed", 0, 0, 5, 0.0, 0),
    ...       AttackResult(ex, PairExample("a b", "c x", 0, "en", "en"), "succeeded", 0, 1, 7,
    ...                    0.5, 1),
    ...       AttackResult(ex, ex, "skipped", 1, 1, 1, 0.0, 0)]
    >>> s = summarize(rs)
    >>> s.clean_accuracy, s.attacked_accuracy, s.attack_success_rate
    (0.6666666666666666, 0.3333333333333333, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from xtutor.data.types import PairExample
from xtutor.results import Record

Status = Literal["skipped", "failed", "succeeded"]
STATUSES: tuple[str, ...] = ("skipped", "failed", "succeeded")


@dataclass(frozen=True)
class AttackResult:
    """One attacked example.

    Attributes:
        original: the clean example; ``perturbed``: the final candidate (equal to ``original``
            when skipped, or for white-box attacks that perturb embeddings, not text).
        status: ``skipped``, ``failed`` or ``succeeded``.
        original_prediction, perturbed_prediction: label indices predicted by the victim.
        queries: victim queries (candidate pairs scored) spent on this example.
        perturbed_fraction: changed words / words on the sides that may change.
        words_changed: number of changed words.
    """

    original: PairExample
    perturbed: PairExample
    status: Status
    original_prediction: int
    perturbed_prediction: int
    queries: int
    perturbed_fraction: float
    words_changed: int

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class AttackSummary:
    """Aggregate numbers of one attack on one dataset (see the module docstring).

    ``mean_perturbed_fraction`` and ``mean_words_changed`` average over successful attacks;
    ``queries_per_example`` over attacked (not skipped) examples. Rates with an empty
    denominator are 0.0.
    """

    attack: str
    n: int
    skipped: int
    failed: int
    succeeded: int
    clean_accuracy: float
    attacked_accuracy: float
    attack_success_rate: float
    mean_perturbed_fraction: float
    mean_words_changed: float
    queries_per_example: float
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        """The summary as a plain dict."""
        return asdict(self)


def summarize(results: Sequence[AttackResult], attack: str = "", seconds: float = 0.0
              ) -> AttackSummary:
    """The :class:`AttackSummary` of ``results`` (non-empty)."""
    n = len(results)
    if n == 0:
        raise ValueError("results is empty: nothing to summarize")
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    attacked = [r for r in results if r.status != "skipped"]
    won = [r for r in results if r.status == "succeeded"]

    def mean(xs: list[float]) -> float:
        return float(sum(xs) / len(xs)) if xs else 0.0

    return AttackSummary(
        attack=attack, n=n, skipped=counts["skipped"], failed=counts["failed"],
        succeeded=counts["succeeded"], clean_accuracy=len(attacked) / n,
        attacked_accuracy=counts["failed"] / n,
        attack_success_rate=counts["succeeded"] / len(attacked) if attacked else 0.0,
        mean_perturbed_fraction=mean([r.perturbed_fraction for r in won]),
        mean_words_changed=mean([float(r.words_changed) for r in won]),
        queries_per_example=mean([float(r.queries) for r in attacked]), seconds=seconds)


#: Summary fields written as records, in this order.
SUMMARY_METRICS: tuple[str, ...] = (
    "clean_accuracy", "attacked_accuracy", "attack_success_rate", "mean_perturbed_fraction",
    "mean_words_changed", "queries_per_example", "skipped", "failed", "succeeded",
)


def summary_records(summary: AttackSummary, *, experiment: str, model: str, task: str,
                    train_lang: str, eval_lang: str, seed: int = 0, method: str = "none",
                    premise_lang: str | None = None, hypothesis_lang: str | None = None,
                    attack: str | None = None) -> list[Record]:
    """One :class:`~xtutor.results.Record` per metric of :data:`SUMMARY_METRICS`, with
    ``attack`` set (default: ``summary.attack``). ``n`` is the number of examples the metric
    averages over.

    Example:
        >>> s = AttackSummary("char_noise", 4, 1, 1, 2, .75, .25, 2 / 3, .1, 1.0, 30.0)
        >>> recs = summary_records(s, experiment="adv", model="toy", task="nli",
        ...                        train_lang="L0", eval_lang="L1")
        >>> [(r.metric, r.n) for r in recs][:3], recs[0].attack
        ([('clean_accuracy', 4), ('attacked_accuracy', 4), ('attack_success_rate', 3)], 'char_noise')
    """  # noqa: E501
    name = attack if attack is not None else summary.attack
    if not name or name == "none":
        raise ValueError("attack must name the attack (the summary has none); 'none' is "
                         "reserved for clean evaluation")
    attacked = summary.n - summary.skipped
    denom = {"attack_success_rate": attacked, "queries_per_example": attacked,
             "mean_perturbed_fraction": summary.succeeded,
             "mean_words_changed": summary.succeeded}
    return [Record(experiment=experiment, model=model, method=method, task=task,
                   train_lang=train_lang, eval_lang=eval_lang, metric=m,
                   value=float(getattr(summary, m)), n=int(denom.get(m, summary.n)), seed=seed,
                   premise_lang=premise_lang, hypothesis_lang=hypothesis_lang, attack=name)
            for m in SUMMARY_METRICS]
