"""The runtime's classes that extend a class defined outside paxsim.

They live apart so that the modules around them can be compiled with mypyc
(see the README, "Compiled build"): a compiled module's classes cannot
extend an interpreted class such as `simpy.Environment`, `dict` or
`RuntimeError`.  This module always stays pure Python.
"""

from __future__ import annotations

from itertools import count
from typing import Any

import simpy


class FaultError(RuntimeError):
    """A fault the simulation cannot apply: crashing a node that is down,
    restarting one that is up, cutting a cut link or uncutting one that is
    not.  The loader refuses such schedules and drawn faults respect the
    schedule, so this means a bug in paxsim; the run stops rather than act
    on it."""


class Environment(simpy.Environment):
    """A SimPy environment made without `BoundClass.bind_early`: the event
    factories (`env.timeout`, `env.process`, ...) work as methods of the
    class, one lookup slower each, which the simulation's hot paths never
    use (see runtime._Due); binding the eight of them to every run's
    environment was a good part of what a run's set-up cost."""

    def __init__(self) -> None:  # simpy.Environment.__init__(0) but the binding
        # Any: the compiled runtime must read them as they are (an int 0, then floats),
        # whether or not SimPy's own annotations are there when it is compiled.
        self._now: Any = 0
        self._queue: Any = []
        self._eid: Any = count()
        self._active_proc: Any = None


class Handlers(dict):
    """Effect type -> handler; any type not listed is an observation (generic hosts)."""

    def __init__(self, table: dict, observe) -> None:
        super().__init__(table)
        self.observe = observe

    def __missing__(self, kind):
        self[kind] = self.observe
        return self.observe
