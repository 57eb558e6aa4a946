"""The lognormal latency sampler draws in one Python call per message; it
must give exactly the floats `random.lognormvariate` gives (traces depend on
every bit of them)."""

import math
import random

from paxsim.scenario import Latency
from paxsim.sim.latency import _inlined_lognormal_matches, sampler


def test_lognormal_latency_is_the_libraries_draw_for_draw():
    assert _inlined_lognormal_matches()
    for seed in range(20):
        for median, sigma in ((1.0, 0.5), (5.0, 1.5), (0.2, 0.01), (30.0, 3.0)):
            draw = sampler(Latency("lognormal", (("median", median), ("sigma", sigma))), random.Random(f"{seed}:n"))
            lib = random.Random(f"{seed}:n")
            assert [draw() for _ in range(300)] == [lib.lognormvariate(math.log(median), sigma) for _ in range(300)]
