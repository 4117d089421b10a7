"""Ready-made attacks, and :class:`Attack`, which runs one on a :class:`PairDataset`.

- :func:`char_noise`: typos, greedy by word importance;
- :func:`word_substitution`: neighbours from a table (synonyms, embedding neighbours), greedy
  by word importance (TextAttack's greedy word-swap recipe, batched);
- :func:`code_switch`: PolyGloss-style code-mixing, words replaced by their translations into
  other languages, beam search;
- :func:`embedding_pgd`: white-box upper bound, projected gradient ascent on the word
  embeddings within an L2 ball (no text is produced; it measures how far accuracy falls under
  an embedding perturbation of a given size).

Example:
    >>> import numpy as np
    >>> from xtutor.data.types import PairDataset, PairExample
    >>> v = Victim.from_function(lambda ps: np.array([[0.0, 1.0] if "bad" in h else [1.0, 0.0]
    ...                                               for _, h in ps]), ("pos", "neg"))
    >>> data = PairDataset("toy", ("pos", "neg"), [PairExample("ok", "a fine day", 0, "en", "en"),
    ...                                            PairExample("ok", "a bad day", 0, "en", "en")])
    >>> report = word_substitution({"fine": ["bad"]}, max_word_fraction=0.5).run(v, data)
    >>> [r.status for r in report.results], report.results[0].perturbed.hypothesis
    (['succeeded', 'skipped'], 'a bad day')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.constraints import Constraints, Side, changed_positions
from xtutor.attacks.goals import Goal, Untargeted
from xtutor.attacks.results import AttackResult, AttackSummary, summarize, summary_records
from xtutor.attacks.search import BeamSearch, GreedyWordImportance, Search
from xtutor.attacks.transformations import (
    CharNoise,
    CodeSwitch,
    DictionaryLike,
    Transformation,
    WordSubstitution,
)
from xtutor.attacks.victim import Victim
from xtutor.attacks.words import join, words
from xtutor.data.types import PairDataset, check_label_order
from xtutor.results import Record


@dataclass
class AttackReport:
    """Per-example results and their summary; ``label_rejected``: candidates the search did
    not query because they would change the gold label
    (:attr:`~xtutor.attacks.constraints.Constraints.label_check`)."""

    results: list[AttackResult]
    summary: AttackSummary
    label_rejected: int = 0

    def records(self, **fields: object) -> list[Record]:
        """Tidy records (see :func:`xtutor.attacks.results.summary_records` for ``fields``)."""
        return summary_records(self.summary, **fields)  # type: ignore[arg-type]

    def successes(self, k: int | None = None) -> list[AttackResult]:
        """The first ``k`` (default all) successful attacks, for showing."""
        won = [r for r in self.results if r.status == "succeeded"]
        return won if k is None else won[:k]


@dataclass(frozen=True)
class Attack:
    """A transformation, constraints, a goal and a search strategy, under one name.

    ``run`` queries the victim once (batched) for the clean predictions, skips examples the goal
    skips, and runs the search on the rest, all examples in lockstep.
    """

    name: str
    transformation: Transformation
    constraints: Constraints = field(default_factory=Constraints)
    goal: Goal = field(default_factory=Untargeted)
    search: Search = field(default_factory=GreedyWordImportance)

    def run(self, victim: Victim, data: PairDataset) -> AttackReport:
        """Attack every example of ``data``; returns an :class:`AttackReport`."""
        if not isinstance(victim, Victim):
            raise TypeError(f"victim must be an xtutor.attacks.Victim (Victim.from_model or "
                            f"Victim.from_function), got {type(victim).__name__}")
        if len(data) == 0:
            raise ValueError(f"dataset for task {data.task!r} is empty: nothing to attack")
        check_label_order(victim.label_names, data.label_names)
        t0 = time.perf_counter()
        clean = victim.logits([(e.premise, e.hypothesis) for e in data])
        skip = [self.goal.skip(clean[i], e.label) for i, e in enumerate(data)]
        todo = [i for i, s in enumerate(skip) if not s]
        pairs = [(words(data[i].premise), words(data[i].hypothesis)) for i in todo]
        outcomes = self.search.run(victim, self.goal, self.transformation, self.constraints,
                                   pairs, [data[i].label for i in todo])
        by_index = dict(zip(todo, zip(pairs, outcomes, strict=True), strict=True))
        results = []
        for i, ex in enumerate(data):
            pred = int(clean[i].argmax())
            if i not in by_index:
                results.append(AttackResult(ex, ex, "skipped", pred, pred, 1, 0.0, 0))
                continue
            pair, out = by_index[i]
            n_changed = len(changed_positions(pair, out.tokens))
            n_words = max(1, self.constraints.n_words(pair))
            pert = replace(ex, premise=join(out.tokens[0]), hypothesis=join(out.tokens[1]))
            if n_changed == 0:
                pert = ex
            results.append(AttackResult(ex, pert, "succeeded" if out.succeeded else "failed",
                                        pred, out.prediction, out.queries + 1,
                                        n_changed / n_words, n_changed))
        return AttackReport(results, summarize(results, self.name, time.perf_counter() - t0),
                            label_rejected=sum(o.rejected for o in outcomes))


def _constraints(max_word_fraction: float, sides: Side, protected_words: Sequence[str],
                 max_words: int | None, max_char_edits: int | None = None,
                 protect_numbers: bool = False, protect_names: bool = False,
                 protected_substrings: Sequence[str] = ()) -> Constraints:
    return Constraints(max_word_fraction=max_word_fraction, max_words=max_words,
                       max_char_edits=max_char_edits, sides=sides,
                       protected_words=frozenset(protected_words),
                       protected_substrings=frozenset(protected_substrings),
                       protect_numbers=protect_numbers, protect_names=protect_names)


def char_noise(max_word_fraction: float = 0.2, sides: Side = "both",
               protected_words: Sequence[str] = (), max_words: int | None = None,
               max_char_edits: int = 1, max_candidates: int | None = 24, seed: int = 0,
               goal: Goal | None = None, query_budget: int | None = None,
               protect_numbers: bool = False, protect_names: bool = False,
               protected_substrings: Sequence[str] = ()) -> Attack:
    """Typos (swap/drop/insert/keyboard neighbour), greedy by word importance.

    ``query_budget``: victim queries per example (None: no cap); ``protect_numbers`` /
    ``protect_names``: never edit numbers / capitalised words inside a sentence;
    ``protected_substrings``: never edit words containing these
    (:class:`~xtutor.attacks.constraints.Constraints`;
    :func:`xtutor.attacks.protect.label_protection` gives them per language); the same in
    every recipe.

    Example:
        >>> char_noise(max_word_fraction=0.1).constraints.max_char_edits
        1
    """
    return Attack("char_noise", CharNoise(max_candidates=max_candidates, seed=seed),
                  _constraints(max_word_fraction, sides, protected_words, max_words,
                               max_char_edits, protect_numbers, protect_names,
                               protected_substrings),
                  goal or Untargeted(), GreedyWordImportance(query_budget=query_budget))


def word_substitution(table: Mapping[str, Sequence[str]], max_word_fraction: float = 0.2,
                      sides: Side = "both", protected_words: Sequence[str] = (),
                      max_words: int | None = None, max_candidates: int | None = 16,
                      scoring: str = "delete", goal: Goal | None = None,
                      query_budget: int | None = None, protect_numbers: bool = False,
                      protect_names: bool = False,
               protected_substrings: Sequence[str] = ()) -> Attack:
    """Replace words by table neighbours, greedy by word importance (delete or mask scoring).

    Example:
        >>> word_substitution({"big": ["large"]}).search.name
        'greedy_wir'
    """
    return Attack("word_substitution", WordSubstitution(table, max_candidates),
                  _constraints(max_word_fraction, sides, protected_words, max_words,
                               protect_numbers=protect_numbers, protect_names=protect_names,
                               protected_substrings=protected_substrings),
                  goal or Untargeted(),
                  GreedyWordImportance(scoring, query_budget=query_budget))  # type: ignore[arg-type]


def code_switch(dictionaries: Mapping[str, DictionaryLike], max_word_fraction: float = 0.3,
                sides: Side = "both", protected_words: Sequence[str] = (),
                max_words: int | None = None, per_language: int = 2,
                max_candidates: int | None = 16, beam_width: int = 4,
                max_candidates_per_round: int | None = 2000,
                goal: Goal | None = None, query_budget: int | None = None,
                protect_numbers: bool = False, protect_names: bool = False,
               protected_substrings: Sequence[str] = ()) -> Attack:
    """PolyGloss-style code-switching: words replaced by translations, beam search.

    ``dictionaries`` maps target languages to dictionaries from the text's language.

    Example:
        >>> code_switch({"de": {"dog": ["Hund"]}}, beam_width=2).search.beam_width
        2
    """
    return Attack("code_switch", CodeSwitch(dictionaries, per_language, max_candidates),
                  _constraints(max_word_fraction, sides, protected_words, max_words,
                               protect_numbers=protect_numbers, protect_names=protect_names,
                               protected_substrings=protected_substrings),
                  goal or Untargeted(),
                  BeamSearch(beam_width, max_candidates_per_round, query_budget=query_budget))


@dataclass(frozen=True)
class PGDConfig:
    """Settings of :func:`embedding_pgd`.

    Attributes:
        epsilon: radius of the L2 ball, relative to the mean L2 norm of the perturbed token
            embeddings times sqrt(number of perturbed tokens): 0.2 moves the whole sequence
            as far as moving every token by a fifth of a typical word vector's norm;
            ``absolute=True`` makes it an absolute L2 radius.
        steps, step_size: PGD iterations and step (a fraction of epsilon).
        sides: which side's word embeddings move (special tokens never move).
        batch_size, max_length: batching of the gradient computations.
    """

    epsilon: float = 0.2
    steps: int = 10
    step_size: float = 0.25
    absolute: bool = False
    sides: Side = "both"
    batch_size: int = 64
    max_length: int = 128

    def __post_init__(self) -> None:
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")
        if self.steps < 1 or self.step_size <= 0:
            raise ValueError(f"steps must be >= 1 and step_size > 0, got {self.steps}, "
                             f"{self.step_size}")
        if self.sides not in ("premise", "hypothesis", "both"):
            raise ValueError(f"sides must be 'premise', 'hypothesis' or 'both', got "
                             f"{self.sides!r}")


def side_mask(enc: Mapping[str, torch.Tensor], tokenizer: PreTrainedTokenizerBase,
              sides: Side) -> torch.Tensor:
    """``(batch, length)`` bool mask of the non-special tokens on ``sides`` of an encoded
    pair batch (``enc`` from ``tokenizer(premises, hypotheses, return_special_tokens_mask=True,
    ...)``; the side of a token is found from its position relative to the separators)."""
    special = enc["special_tokens_mask"].bool()
    attn = enc["attention_mask"].bool()
    words_ = attn & ~special
    # side index = number of special tokens before the token, minus the leading [CLS]
    seen = torch.cumsum(special.long(), dim=1)
    first_sep = seen <= 1  # still inside the premise (after [CLS], before the first separator)
    prem = words_ & first_sep
    hyp = words_ & ~first_sep
    return {"premise": prem, "hypothesis": hyp, "both": words_}[sides]


def embedding_pgd(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  data: PairDataset, config: PGDConfig | None = None) -> AttackReport:
    """White-box PGD on word embeddings; reports accuracy under that perturbation.

    For each batch: ``delta`` on the input word embeddings of the allowed tokens, ``steps``
    normalised-gradient ascent steps on the cross-entropy of the gold label, each followed by
    projection onto ``||delta||_2 <= epsilon`` (per example). An example *succeeds* when the
    prediction at the final ``delta`` is wrong. The text is unchanged, so
    ``perturbed == original``; ``perturbed_fraction`` is the fraction of tokens moved (1.0 for
    the allowed side), ``queries`` the forward-backward passes.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.training.classify import classifier_from_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> enc, tok = toy_encoder(w, layers=1, hidden=16)
        >>> clf = classifier_from_encoder(enc, ("entailment", "neutral", "contradiction"))
        >>> rep = embedding_pgd(clf, tok, w.nli(8), PGDConfig(epsilon=0.0, steps=1))
        >>> rep.summary.succeeded  # no perturbation, no change of prediction
        0
    """
    cfg = config or PGDConfig()
    if len(data) == 0:
        raise ValueError(f"dataset for task {data.task!r} is empty: nothing to attack")
    check_label_order(getattr(model.config, "id2label", None), data.label_names)
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    emb_layer = model.get_input_embeddings()
    was_training = model.training
    model.eval()
    results: list[AttackResult] = []
    try:
        for s in range(0, len(data), cfg.batch_size):
            chunk = data.examples[s:s + cfg.batch_size]
            enc = tokenizer([e.premise for e in chunk], [e.hypothesis for e in chunk],
                            padding=True, truncation=True, max_length=cfg.max_length,
                            return_tensors="pt", return_special_tokens_mask=True)
            mask = side_mask(enc, tokenizer, cfg.sides).to(device)
            inputs = {k: v.to(device) for k, v in enc.items()
                      if k in ("attention_mask", "token_type_ids")}
            labels = torch.tensor([e.label for e in chunk], device=device)
            with torch.no_grad():
                base = emb_layer(enc["input_ids"].to(device)).float()
                m = mask.unsqueeze(-1).float()
                n_tok = m.sum((1, 2)).clamp(min=1)
                mean_norm = (base.norm(dim=-1) * mask).sum(1) / n_tok
                radius = torch.full_like(mean_norm, cfg.epsilon) if cfg.absolute else \
                    cfg.epsilon * mean_norm * n_tok.sqrt()
                clean = model(inputs_embeds=base, **inputs).logits.argmax(-1)
            delta = torch.zeros_like(base)
            for _ in range(cfg.steps):
                delta.requires_grad_(True)
                loss = torch.nn.functional.cross_entropy(
                    model(inputs_embeds=base + delta * m, **inputs).logits, labels,
                    reduction="sum")
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    g = grad * m
                    g = g / g.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)
                    delta = delta + cfg.step_size * radius.view(-1, 1, 1) * g
                    norm = (delta * m).flatten(1).norm(dim=1).clamp(min=1e-12)
                    delta = delta * (radius / norm).clamp(max=1.0).view(-1, 1, 1)
            with torch.no_grad():
                adv = model(inputs_embeds=base + delta * m, **inputs).logits.argmax(-1)
            total = (enc["attention_mask"].bool() & ~enc["special_tokens_mask"].bool()).sum(1)
            for k, ex in enumerate(chunk):
                c, a = int(clean[k]), int(adv[k])
                frac = float(n_tok[k].cpu() / total[k].clamp(min=1))
                if c != ex.label:
                    results.append(AttackResult(ex, ex, "skipped", c, c, 1, 0.0, 0))
                else:
                    status = "succeeded" if a != ex.label else "failed"
                    results.append(AttackResult(ex, ex, status, c, a, cfg.steps + 1, frac,
                                                int(n_tok[k])))
    finally:
        model.train(was_training)
    return AttackReport(results, summarize(results, "embedding_pgd", time.perf_counter() - t0))


__all__ = ["Attack", "AttackReport", "PGDConfig", "char_noise", "code_switch", "embedding_pgd",
           "side_mask", "word_substitution"]
