"""paxsim: a deterministic, seeded simulator for Paxos.

    >>> import paxsim
    >>> scenario = paxsim.load_scenario("scenarios/partition.yaml")
    >>> run = paxsim.simulate(scenario, seed=1234)
    >>> run.verdict.ok, run.verdict.chosen
"""

import gc as _gc

from ._version import __version__

# Imports allocate tens of thousands of objects that live as long as the
# process (functions, classes, constants): the cyclic collector, triggered
# by allocation counts, would walk them again and again and free nothing.
# It is off while paxsim imports (as it was after); see also paxsim.cli.
_collecting = _gc.isenabled()
_gc.disable()
try:
    # The checker at once: its function `check` must shadow its module's name
    # (importing the submodule later would otherwise set paxsim.check to it).
    from .check import Verdict, Violation, check, evaluate_expect
finally:
    if _collecting:
        _gc.enable()

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

    collecting = _gc.isenabled()
    _gc.disable()  # as above
    try:
        value = getattr(import_module(f".{module}", __name__), name)
    finally:
        if collecting:
            _gc.enable()
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
