"""Common example types shared by every loader and by the toy family."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

#: XNLI / MultiNLI label order as published on the Hugging Face Hub (0, 1, 2).
NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
#: PAWS / PAWS-X label order (0 = not a paraphrase, 1 = paraphrase).
PAWS_LABELS: tuple[str, ...] = ("not_paraphrase", "paraphrase")


@dataclass(frozen=True)
class PairExample:
    """A sentence-pair classification example (NLI, paraphrase identification).

    ``label`` indexes the ``label_names`` of the :class:`PairDataset` that holds it.
    ``premise_lang`` and ``hypothesis_lang`` differ in generalized cross-lingual evaluation.

    Example:
        >>> ex = PairExample("a dog runs", "an animal runs", 0, "en", "en", "ex-1")
        >>> ex.premise_lang
        'en'
    """

    premise: str
    hypothesis: str
    label: int
    premise_lang: str
    hypothesis_lang: str
    id: str = ""


@dataclass
class PairDataset:
    """A list of :class:`PairExample` with its task name and label names.

    Example:
        >>> ds = PairDataset("nli", NLI_LABELS, [PairExample("a", "b", 2, "en", "en")])
        >>> len(ds), ds.label_names[ds[0].label]
        (1, 'contradiction')
    """

    task: str
    label_names: tuple[str, ...]
    examples: list[PairExample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.label_names = tuple(self.label_names)
        if len(self.label_names) < 2:
            raise ValueError(f"label_names needs at least two labels, got {self.label_names}")
        k = len(self.label_names)
        for i, ex in enumerate(self.examples):
            if not isinstance(ex.label, int) or not 0 <= ex.label < k:
                raise ValueError(
                    f"example {i} ({ex.id or 'no id'}) has label {ex.label!r}, expected an int "
                    f"in [0, {k}) for label_names {self.label_names}"
                )

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[PairExample]:
        return iter(self.examples)

    def __getitem__(self, i: int) -> PairExample:
        return self.examples[i]

    @property
    def labels(self) -> list[int]:
        """The integer labels, in order."""
        return [ex.label for ex in self.examples]

    def subset(self, n: int | None = None, seed: int = 0) -> PairDataset:
        """A seeded random subset of ``n`` examples (all of them if ``n`` is None or larger)."""
        import random

        if n is None or n >= len(self.examples):
            return PairDataset(self.task, self.label_names, list(self.examples))
        if n <= 0:
            raise ValueError(f"subset size n must be positive, got {n}")
        idx = sorted(random.Random(seed).sample(range(len(self.examples)), n))
        return PairDataset(self.task, self.label_names, [self.examples[i] for i in idx])


def check_label_order(
    model_labels: Mapping[int, str] | Sequence[str] | None, label_names: Sequence[str]
) -> None:
    """Refuse a model whose label order differs from a dataset's.

    ``model_labels`` is a model config's ``id2label`` (or a sequence of names). Generic names
    such as ``LABEL_0`` carry no order and are accepted.

    Example:
        >>> check_label_order({0: "entailment", 1: "neutral", 2: "contradiction"}, NLI_LABELS)
        >>> check_label_order(["contradiction", "neutral", "entailment"], NLI_LABELS)
        Traceback (most recent call last):
        ...
        ValueError: label order mismatch: ...
    """
    if model_labels is None:
        return
    if isinstance(model_labels, Mapping):
        names = [str(model_labels[i]) for i in sorted(int(k) for k in model_labels)]
    else:
        names = [str(x) for x in model_labels]
    if all(n.upper().startswith("LABEL_") for n in names):
        if len(names) != len(label_names):
            raise ValueError(
                f"label count mismatch: model has {len(names)} labels, dataset has "
                f"{len(label_names)} {tuple(label_names)}"
            )
        return
    norm = [n.lower().replace(" ", "_") for n in names]
    want = [n.lower().replace(" ", "_") for n in label_names]
    if norm != want:
        raise ValueError(
            f"label order mismatch: model predicts {tuple(names)} but the dataset uses "
            f"{tuple(label_names)}; remap the labels or fine-tune a head with this order"
        )
