"""Adversarial attacks on multilingual pair classifiers (NLI, paraphrase identification).

The split follows TextAttack, simplified and multilingual from the start:

- :mod:`~xtutor.attacks.transformations`: what may change (character noise in any script,
  word substitution from a neighbour table, code-switching with bilingual dictionaries);
- :mod:`~xtutor.attacks.constraints`: what constrains it (budget, protected words and
  positions, which side of the pair);
- :mod:`~xtutor.attacks.goals`: when the attack has won (untargeted or targeted);
- :mod:`~xtutor.attacks.search`: how candidates are searched (greedy by word importance, beam
  search), every round one batched victim call for all examples;
- :mod:`~xtutor.attacks.recipes`: ready attacks (:func:`char_noise`, :func:`word_substitution`,
  :func:`code_switch`, :func:`embedding_pgd`);
- :mod:`~xtutor.attacks.results`: per-example :class:`AttackResult`, :class:`AttackSummary` and
  tidy records;
- :mod:`~xtutor.attacks.tokens`: the same transformations on a tagger's words, tags kept
  (:func:`attack_tokens`, random search with a budget).

Example:
    >>> import numpy as np
    >>> from xtutor.data.types import PairDataset, PairExample
    >>> victim = Victim.from_function(
    ...     lambda ps: np.array([[0.0, 1.0] if "bad" in h else [1.0, 0.0] for _, h in ps]),
    ...     ("pos", "neg"))
    >>> data = PairDataset("toy", ("pos", "neg"), [PairExample("ok", "a fine day", 0, "en", "en")])
    >>> report = word_substitution({"fine": ["bad"]}, max_word_fraction=0.5).run(victim, data)
    >>> report.summary.attack_success_rate, report.results[0].perturbed.hypothesis
    (1.0, 'a bad day')
"""

from xtutor.attacks.constraints import Constraints, edit_distance
from xtutor.attacks.goals import Targeted, Untargeted
from xtutor.attacks.recipes import (
    Attack,
    AttackReport,
    PGDConfig,
    char_noise,
    code_switch,
    embedding_pgd,
    word_substitution,
)
from xtutor.attacks.results import AttackResult, AttackSummary, summarize, summary_records
from xtutor.attacks.search import BeamSearch, GreedyWordImportance
from xtutor.attacks.tokens import TokenAttackConfig, TokenAttackResult, attack_tokens
from xtutor.attacks.transformations import (
    CharNoise,
    CodeSwitch,
    WordSubstitution,
    embedding_neighbour_table,
    invert,
    read_swadesh,
    swadesh_languages,
    toy_dictionaries,
)
from xtutor.attacks.victim import Victim

__all__ = [
    "Attack",
    "AttackReport",
    "AttackResult",
    "AttackSummary",
    "BeamSearch",
    "CharNoise",
    "CodeSwitch",
    "Constraints",
    "GreedyWordImportance",
    "PGDConfig",
    "Targeted",
    "TokenAttackConfig",
    "TokenAttackResult",
    "Untargeted",
    "Victim",
    "WordSubstitution",
    "attack_tokens",
    "char_noise",
    "code_switch",
    "edit_distance",
    "embedding_neighbour_table",
    "embedding_pgd",
    "invert",
    "read_swadesh",
    "summarize",
    "summary_records",
    "swadesh_languages",
    "toy_dictionaries",
    "word_substitution",
]
