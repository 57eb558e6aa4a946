"""What sweep does to go fast keeps its results: the summary's percentiles
without numpy, and the per-run pipeline."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from paxsim.sweep import _pct

from .conftest import ROOT


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


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="reads Linux's /proc/self/schedstat")
def test_sweep_timeline_script_splits_a_sweep_and_projects(tmp_path):
    """benchmarks/sweep_timeline.py keeps working (a tiny run; it measures nothing here)."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sweep_timeline.py"), "--seeds", "40",
                           "--rounds", "1"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in proc.stdout.splitlines()
            if line.startswith("| ") and "--jobs" not in line}
    assert {"before the first run (CPU)", "after the last run (CPU)", "runs: its worker (CPU)",
            "projected on an idle machine"} <= set(rows)
    assert rows["runs: its worker (CPU)"][0].strip() == "0.000 s"  # --jobs 1 has no worker
    assert float(rows["runs: its worker (CPU)"][1].split()[0]) > 0  # --jobs 2 has one, and it ran runs
    assert "speedup, projected idle, per round:" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind
