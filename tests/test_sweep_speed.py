"""What sweep does to go fast keeps its results: the summary's percentiles
without numpy, and the per-run pipeline."""

import random

import numpy as np

from paxsim.sweep import _pct


def test_percentiles_are_numpys_to_the_last_bit():
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 40)
        values = [rng.choice([rng.uniform(0, 2000), rng.lognormvariate(2, 1.5), float(rng.randint(0, 5))])
                  for _ in range(n)]
        for q in (50, 95, 99, 0, 100, 12.5):
            assert _pct(values, q) == float(np.percentile(np.asarray(values, dtype=float), q)), (values, q)
    assert _pct([], 50) is None


def test_guided_chunks_cover_every_seed_once_and_end_small():
    from paxsim.sweep import _chunks

    tasks = [("a", "ka", {"x": 1}, list(range(0, 4000))), ("b", "kb", {"x": 2}, list(range(0, 2000)))]
    chunks = list(_chunks(tasks, 6000, 2))
    assert [(c[1], s) for c in chunks for s in c[3]] == [(k, s) for _, k, _, seeds in tasks for s in seeds]
    sizes = [len(c[3]) for c in chunks]
    assert max(sizes) == 100 and sizes[-1] == 10  # the last chunks are a tenth of the first
    assert all(a >= b for a, b in zip(sizes[:40], sizes[1:40]))
    one = list(_chunks(tasks, 6000, 1))  # one process: no tail to balance
    assert {len(c[3]) for c in one} == {100}
