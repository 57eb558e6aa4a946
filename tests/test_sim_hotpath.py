"""What the simulator's speed work must not cost: a run leaves no garbage
for the cyclic collector, the collector's setting is restored whatever
happens, and the early stop (`stop: when-decided`) never changes a verdict."""

import gc
from pathlib import Path

import pytest

from paxsim import parse_scenario, simulate
from paxsim.scenario import load_scenario
from paxsim.sim import runtime
from paxsim.sim.crn import simulate_crn

ROOT = Path(__file__).resolve().parent.parent

LOSSY = """
nodes: 5
duration: 2s
proposers: [{node: n1, value: a}, {node: n3, value: b, at: 2ms}]
network: {latency: {dist: lognormal, median: 1ms, sigma: 0.5}, loss: 0.05, duplicate: 0.02}
protocol: {retry: {timeout: 15ms, jitter: 0.3333}}
"""


@pytest.mark.parametrize("source", ["lossy", "scenarios/kv.yaml", "scenarios/hunt/mixed.yaml",
                                    "scenarios/crash-minority.yaml"])
def test_runs_leave_nothing_for_the_cyclic_collector(source):
    """Runs are freed by reference counting alone: with the collector off
    throughout, many runs (plain, recording, common random numbers, with their
    verdicts) leave no unreachable object behind."""
    sc = parse_scenario(LOSSY) if source == "lossy" else load_scenario(ROOT / source)
    simulate(sc, 0).verdict  # first-time imports and caches
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for seed in range(15):
            simulate(sc, seed).verdict
            if sc.kind == "single-decree":
                simulate(sc, seed, record=True).verdict
                simulate_crn(sc, seed)
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_setting_is_restored_after_a_run_and_after_an_error(enabled, monkeypatch):
    sc = parse_scenario(LOSSY)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        simulate(sc, 1)
        assert gc.isenabled() is enabled

        def broken(self):
            raise RuntimeError("boom")

        monkeypatch.setattr(runtime.Simulation, "run", broken)
        with pytest.raises(RuntimeError, match="boom"):
            simulate(sc, 1)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
