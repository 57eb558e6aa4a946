"""Exhaustive search over the same pure roles the simulator runs.

`model` holds the state and transitions (protocol-independent), `single`
the single-decree adapter (the plug-in point for another protocol),
`search` the strategies, `counterexample` the scripted scenario a
violating path becomes.
"""

from ..scenario import Explore, Scenario
from .counterexample import counterexample, to_yaml
from .model import Model
from .search import Result, explore
from .single import SingleDecree

PROTOCOLS = {"single": SingleDecree}


def model_for(scenario: Scenario, budgets: Explore | None = None, symmetry: bool | None = None,
              prune: bool = True, gc: bool = True, reduce: bool = True) -> Model:
    """The search model of a scenario (single-decree for now), with its
    `explore:` budgets unless `budgets` is given.  `gc=False` keeps dead
    messages in the state (for measuring what dropping them saves);
    `reduce=False` explores crashes and restarts separately (see
    `Model.enabled`)."""
    budgets = budgets or scenario.explore or Explore()
    return Model(scenario, SingleDecree(scenario), budgets, symmetry, prune, gc, reduce)


__all__ = ["Model", "PROTOCOLS", "Result", "SingleDecree", "counterexample", "explore", "model_for", "to_yaml"]
