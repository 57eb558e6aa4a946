"""What sweep does to go fast keeps its results: the summary's percentiles
without numpy, and the per-run pipeline."""

import random

import numpy as np

from paxsim.sweep import _pct


def test_percentiles_are_numpys_to_the_last_bit():
    rng = random.Random(7)
    for _ in range(3000):
        n = rng.randint(1, 40)
        values = [rng.choice([rng.uniform(0, 2000), rng.lognormvariate(2, 1.5), float(rng.randint(0, 5))])
                  for _ in range(n)]
        for q in (50, 95, 99, 0, 100, 12.5):
            assert _pct(values, q) == float(np.percentile(np.asarray(values, dtype=float), q)), (values, q)
    assert _pct([], 50) is None
