"""paxsim: a deterministic, seeded simulator for Paxos.

    >>> import paxsim
    >>> scenario = paxsim.load_scenario("scenarios/partition.yaml")
    >>> run = paxsim.simulate(scenario, seed=1234)
    >>> run.verdict.ok, run.verdict.chosen
"""

from ._version import __version__

# The checker at once: its function `check` must shadow its module's name
# (importing the submodule later would otherwise set paxsim.check to it).
from .check import Verdict, Violation, check, evaluate_expect

# The rest is imported on first use (PEP 562), so `import paxsim` and the
# command line start without loading what a command does not need.
_LAZY = {
    "Scenario": "scenario", "ScenarioError": "scenario", "load_scenario": "scenario",
    "parse_scenario": "scenario", "scenario_from_dict": "scenario",
    "Run": "sim", "simulate": "sim",
    "TraceError": "trace", "read_trace": "trace", "write_trace": "trace",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paxsim' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
