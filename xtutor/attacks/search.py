"""How candidates are searched: greedy by word importance, or beam search.

Both searches run many examples in lockstep: in every round each unfinished example proposes
its candidates, all proposals of all examples go to the victim in **one** batched call
(:meth:`xtutor.attacks.victim.Victim.logits`), and the scores are handed back. Queries are
counted per example.

- :class:`GreedyWordImportance` (TextAttack's greedy-WIR): rank the editable words by how much
  deleting (or masking) each one raises the loss on the gold label, then walk down that ranking,
  at each word trying every candidate replacement and keeping the best one if it raises the
  loss, until the prediction flips or the budget is spent.
- :class:`BeamSearch`: keep the ``beam_width`` highest-loss perturbations; each round extends
  every one of them by one more changed word (every untouched position, every candidate), until
  one flips the prediction or the budget is spent.

Positions are never edited twice, and every candidate passes
:class:`~xtutor.attacks.constraints.Constraints` before it is queried. ``query_budget`` (as
TextAttack's) caps the candidates one example may send to the victim: a round that would pass
it sends only the first candidates that fit, and the example then stops (``failed`` unless one
of them won).

Example:
    >>> import numpy as np
    >>> from xtutor.attacks.constraints import Constraints
    >>> from xtutor.attacks.goals import Untargeted
    >>> from xtutor.attacks.transformations import WordSubstitution
    >>> from xtutor.attacks.victim import Victim
    >>> v = Victim.from_function(lambda ps: np.array([[0.0, 1.0] if "bad" in h else [1.0, 0.0]
    ...                                               for _, h in ps]), ("pos", "neg"))
    >>> out = GreedyWordImportance().run(v, Untargeted(), WordSubstitution({"fine": ["bad"]}),
    ...                                  Constraints(max_word_fraction=0.5),
    ...                                  [(("ok",), ("a", "fine", "day"))], [0])
    >>> out[0].tokens, out[0].prediction
    ((('ok',), ('a', 'bad', 'day')), 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import numpy as np

from xtutor.attacks.constraints import Constraints, Position, TokenPair
from xtutor.attacks.goals import Goal
from xtutor.attacks.transformations import Transformation
from xtutor.attacks.victim import Victim
from xtutor.attacks.words import core, join, replace_core


@dataclass
class SearchOutcome:
    """What a search ends with for one example: final tokens, their prediction, whether the
    goal was reached, and the victim queries spent (clean query not included)."""

    tokens: TokenPair
    prediction: int
    succeeded: bool
    queries: int
    rejected: int = 0


def _with(pair: TokenPair, pos: Position, token: str | None) -> TokenPair:
    s, i = pos
    side = list(pair[s])
    if token is None:
        del side[i]
    else:
        side[i] = token
    return (tuple(side), pair[1]) if s == 0 else (pair[0], tuple(side))


def _texts(pair: TokenPair) -> tuple[str, str]:
    return join(pair[0]), join(pair[1])


@dataclass
class _Example:
    label: int
    original: TokenPair
    allowed: list[Position]
    budget: int
    cands: dict[Position, list[str]]
    queries: int = 0
    rejected: int = 0
    done: bool = False
    result: SearchOutcome | None = None
    # greedy
    order: list[Position] = field(default_factory=list)
    step: int = 0
    current: TokenPair = ((), ())
    score: float = -np.inf
    changed: int = 0
    # beam
    beam: list[tuple[TokenPair, frozenset[Position], float]] = field(default_factory=list)


def _candidates(tr: Transformation, cons: Constraints, pair: TokenPair, pos: Position
                ) -> list[str]:
    tok = pair[pos[0]][pos[1]]
    word = core(tok)
    return [replace_core(tok, c) for c in tr.candidates(word) if cons.word_ok(word, c)]


def _prepare(tr: Transformation, cons: Constraints, pairs: Sequence[TokenPair],
             labels: Sequence[int]) -> list[_Example]:
    out = []
    for pair, y in zip(pairs, labels, strict=True):
        allowed = cons.allowed_positions(pair)
        cands = {p: c for p in allowed if (c := _candidates(tr, cons, pair, p))}
        out.append(_Example(int(y), pair, [p for p in allowed if p in cands],
                            cons.budget(pair), cands, current=pair))
    return out


class Search(Protocol):
    """A search strategy (see :class:`GreedyWordImportance`, :class:`BeamSearch`)."""

    name: str

    def run(self, victim: Victim, goal: Goal, transformation: Transformation,
            constraints: Constraints, pairs: Sequence[TokenPair], labels: Sequence[int]
            ) -> list[SearchOutcome]:
        """Attack every ``(premise tokens, hypothesis tokens)`` pair; one outcome each."""
        ...


def _capped(batches: list[tuple[_Example, list[TokenPair]]], budget: int | None
            ) -> list[tuple[_Example, list[TokenPair]]]:
    """``batches`` with each example's candidates cut to what is left of its query budget;
    examples with nothing left are marked done and dropped."""
    if budget is None:
        return batches
    out = []
    for e, cs in batches:
        left = budget - e.queries
        if left <= 0:
            e.done = True
            continue
        out.append((e, cs[:left]))
    return out


def _check_budget(budget: int | None) -> None:
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise ValueError(f"query_budget must be a positive int or None, got {budget!r}")


def _query(victim: Victim, batches: list[tuple[_Example, list[TokenPair]]]
           ) -> list[np.ndarray]:
    """One victim call for all examples' candidates; logits split back per example."""
    flat = [_texts(c) for _, cs in batches for c in cs]
    logits = victim.logits(flat)
    out, k = [], 0
    for ex, cs in batches:
        ex.queries += len(cs)
        out.append(logits[k:k + len(cs)])
        k += len(cs)
    return out


@dataclass(frozen=True)
class GreedyWordImportance:
    """Greedy search over words ranked by importance.

    Attributes:
        scoring: ``"delete"`` (importance = loss without the word) or ``"mask"`` (loss with the
            word replaced by ``mask_token``).
        mask_token: the replacement for ``"mask"`` scoring (e.g. the tokenizer's unknown
            token).
        query_budget: most victim queries per example, importance scoring included (None:
            no cap).
    """

    scoring: Literal["delete", "mask"] = "delete"
    mask_token: str = "[UNK]"
    query_budget: int | None = None
    name: str = "greedy_wir"

    def __post_init__(self) -> None:
        _check_budget(self.query_budget)
        if self.scoring not in ("delete", "mask"):
            raise ValueError(f"scoring must be 'delete' or 'mask', got {self.scoring!r}")

    def run(self, victim: Victim, goal: Goal, transformation: Transformation,
            constraints: Constraints, pairs: Sequence[TokenPair], labels: Sequence[int]
            ) -> list[SearchOutcome]:
        """See :class:`Search`."""
        exs = _prepare(transformation, constraints, pairs, labels)
        todo = [e for e in exs if e.allowed and e.budget > 0]
        # round 0: word importance, all examples in one call (plus each example's clean score)
        batches = []
        for e in todo:
            token = None if self.scoring == "delete" else self.mask_token
            batches.append((e, [e.original] + [_with(e.original, p, token) for p in e.allowed]))
        batches = _capped(batches, self.query_budget)
        for (e, _), lg in zip(batches, _query(victim, batches), strict=True):
            sc = goal.score(lg, e.label)
            e.score = float(sc[0])
            rank = np.argsort(-sc[1:], kind="stable")  # words past the budget are not ranked
            e.order = [e.allowed[i] for i in rank]
        active = [e for e in todo if not e.done]
        while active:
            batches = []
            for e in active:
                if e.step >= len(e.order) or e.changed >= e.budget:
                    e.done = True
                    continue
                pos = e.order[e.step]
                e.step += 1
                cs = _label_kept(constraints, e, [_with(e.current, pos, c) for c in e.cands[pos]])
                if cs:  # every candidate here would change the gold label: next word
                    batches.append((e, cs))
            batches = _capped(batches, self.query_budget)
            for (e, cs), lg in zip(batches, _query(victim, batches), strict=True):
                sc = goal.score(lg, e.label)
                won = goal.succeeded(lg, e.label)
                if won.any():
                    j = int(np.flatnonzero(won)[np.argmax(sc[won])])
                    e.current, e.changed, e.done = cs[j], e.changed + 1, True
                    e.result = SearchOutcome(cs[j], int(lg[j].argmax()), True, e.queries)
                    continue
                j = int(np.argmax(sc))
                if sc[j] > e.score:
                    e.current, e.score, e.changed = cs[j], float(sc[j]), e.changed + 1
            active = [e for e in active if not e.done]
        return _finish(victim, goal, exs)


def _finish(victim: Victim, goal: Goal, exs: list[_Example]) -> list[SearchOutcome]:
    """Outcomes; examples that did not win are re-scored at their final tokens in one call."""
    rest = [e for e in exs if e.result is None]
    finals = [e.current if e.current != ((), ()) else e.original for e in rest]
    lg = victim.logits([_texts(t) for t in finals])
    for k, (e, t) in enumerate(zip(rest, finals, strict=True)):
        e.queries += 1
        won = bool(goal.succeeded(lg[k:k + 1], e.label)[0])
        e.result = SearchOutcome(t, int(lg[k].argmax()), won, e.queries)
    return [replace(e.result, rejected=e.rejected) for e in exs if e.result is not None]


def _label_kept(cons: Constraints, e: _Example, cands: list[TokenPair]) -> list[TokenPair]:
    """The candidates that keep ``e``'s gold label (:meth:`Constraints.keeps_label`); the
    rejected ones are counted, never queried."""
    if cons.label_check is None:
        return cands
    kept = [c for c in cands if cons.keeps_label(e.original, c, e.label)]
    e.rejected += len(cands) - len(kept)
    return kept


@dataclass(frozen=True)
class BeamSearch:
    """Beam search that maximises the goal's score (the loss on the gold label).

    Attributes:
        beam_width: perturbations kept per round.
        max_candidates_per_round: cap on the candidates one example may send per round (the
            highest-scoring beam entries expand first); None: no cap.
        query_budget: most victim queries per example over all rounds (None: no cap).
    """

    beam_width: int = 4
    max_candidates_per_round: int | None = None
    query_budget: int | None = None
    name: str = "beam"

    def __post_init__(self) -> None:
        _check_budget(self.query_budget)
        if self.beam_width < 1:
            raise ValueError(f"beam_width must be >= 1, got {self.beam_width}")
        if self.max_candidates_per_round is not None and self.max_candidates_per_round < 1:
            raise ValueError("max_candidates_per_round must be >= 1 or None, got "
                             f"{self.max_candidates_per_round}")

    def run(self, victim: Victim, goal: Goal, transformation: Transformation,
            constraints: Constraints, pairs: Sequence[TokenPair], labels: Sequence[int]
            ) -> list[SearchOutcome]:
        """See :class:`Search`."""
        exs = _prepare(transformation, constraints, pairs, labels)
        active = [e for e in exs if e.allowed and e.budget > 0]
        for e in active:
            e.beam = [(e.original, frozenset(), -np.inf)]
        while active:
            batches, metas = [], []
            for e in active:
                seen: set[TokenPair] = set()
                cs: list[TokenPair] = []
                meta: list[frozenset[Position]] = []
                for toks, changed, _ in e.beam:
                    if len(changed) >= e.budget:
                        continue
                    for p in e.allowed:
                        if p in changed:
                            continue
                        for c in e.cands[p]:
                            new = _with(toks, p, c)
                            if new not in seen:
                                seen.add(new)
                                cs.append(new)
                                meta.append(changed | {p})
                if constraints.label_check is not None:
                    ok = [constraints.keeps_label(e.original, c, e.label) for c in cs]
                    e.rejected += len(cs) - sum(ok)
                    cs = [c for c, k in zip(cs, ok, strict=True) if k]
                    meta = [m for m, k in zip(meta, ok, strict=True) if k]
                cap = self.max_candidates_per_round
                if cap is not None:
                    cs, meta = cs[:cap], meta[:cap]
                if not cs:
                    e.done = True
                    continue
                batches.append((e, cs))
                metas.append(meta)
            capped = _capped(batches, self.query_budget)
            kept = {id(e) for e, _ in capped}
            metas = [m for (e, _), m in zip(batches, metas, strict=True) if id(e) in kept]
            batches = capped
            for (e, cs), meta, lg in zip(batches, metas, _query(victim, batches), strict=True):
                sc = goal.score(lg, e.label)
                won = goal.succeeded(lg, e.label)
                if won.any():
                    j = int(np.flatnonzero(won)[np.argmax(sc[won])])
                    e.done = True
                    e.result = SearchOutcome(cs[j], int(lg[j].argmax()), True, e.queries)
                    continue
                top = np.argsort(-sc, kind="stable")[:self.beam_width]
                e.beam = [(cs[j], meta[j], float(sc[j])) for j in top]
                e.current = e.beam[0][0]
            active = [e for e in active if not e.done]
        return _finish(victim, goal, exs)
