"""The benchmark script keeps working (a quick smoke run; nothing here is
timed), and its reference implementation is a correct Paxos, so the ratios
compare like with like."""

import subprocess
import sys

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import reference  # noqa: E402


def test_reference_agrees_and_decides():
    for seed in range(200):
        r = reference.run(5, [(0, "a", 0.0), (3, "b", 3.0)], seed, loss=0.05)
        values = set(r["decided"])
        assert len(values) == 1 and None not in values, (seed, r["decided"])


def test_bench_quick_runs_and_prints_every_table():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for heading in ("hand-written SimPy Paxos", "Parallel sweep", "Cost of one run", "Where the time goes"):
        assert heading in proc.stdout
    assert "| 5 nodes, 2 proposers, 5% loss |" in proc.stdout and "| 101 |" in proc.stdout


def test_kv_bench_quick_runs_every_kv_scenario():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kv_bench.py"), "--quick"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "simulated operations per wall-clock second" in proc.stdout
    for name in ("kv", "kv-failover", "kv-partition", "kv-lossy", "kv-heavy"):
        assert f"| {name} | " in proc.stdout
