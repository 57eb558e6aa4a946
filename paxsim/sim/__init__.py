"""The SimPy runtime: carries out the pure roles' effects in simulated time.

Rules: one seed, split into named `random.Random` streams; no wall clock, no
iteration over sets of strings, no `id()` ordering; every event recorded with
an increasing `seq`.  Same scenario + same seed => byte-identical trace.
"""

from .runtime import DISCARD, Run, simulate

__all__ = ["DISCARD", "Run", "simulate"]
