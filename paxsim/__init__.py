"""paxsim: a deterministic, seeded simulator for Paxos.

    >>> import paxsim
    >>> scenario = paxsim.load_scenario("scenarios/partition.yaml")
    >>> run = paxsim.simulate(scenario, seed=1234)
    >>> run.verdict.ok, run.verdict.chosen
"""

from ._version import __version__
from .check import Verdict, Violation, check, evaluate_expect
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario, scenario_from_dict
from .sim import Run, simulate
from .trace import TraceError, read_trace, write_trace

__all__ = [
    "Run",
    "Scenario",
    "ScenarioError",
    "TraceError",
    "Verdict",
    "Violation",
    "__version__",
    "check",
    "evaluate_expect",
    "load_scenario",
    "parse_scenario",
    "read_trace",
    "scenario_from_dict",
    "simulate",
    "write_trace",
]
