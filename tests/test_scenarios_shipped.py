"""Every shipped scenario meets its own `expect`; the correct ones stay safe
over 2,000 seeds each; the broken one is caught."""

import pytest

from paxsim import lin, load_scenario, simulate
from paxsim.check import evaluate_expect
from paxsim.cli import main

from .conftest import SCENARIOS

SINGLE = [p for p in SCENARIOS if load_scenario(p).kind == "single-decree"]
CORRECT = [p for p in SINGLE if load_scenario(p).storage == "durable"]
BROKEN = [p for p in SINGLE if load_scenario(p).storage == "volatile"]
KV = [p for p in SCENARIOS if load_scenario(p).kind == "multi-paxos"]
KV_SEEDS = 100  # each KV run is a few hundred operations, linearizability-checked (paxsim sweep measured 2,000)


def test_the_catalogue_is_complete():
    names = {p.stem for p in SCENARIOS}
    assert {"happy", "lossy", "partition", "crash-minority", "crash-majority", "duel", "duplicates",
            "one-way-cut", "volatile", "large"} <= names
    assert BROKEN, "a deliberately broken scenario must ship"
    assert {p.stem for p in KV} == {"kv", "kv-failover", "kv-partition", "kv-lossy", "kv-heavy"}


def linearizable(run) -> bool:
    """The run's verdict on its client history; where the checker's time limit
    left it unknown (a loaded machine), the search again without a limit."""
    result = run.verdict.workload["linearizability"]
    if result == lin.UNKNOWN:
        result = lin.check(lin.history_from_events(run.events, "kv")).result
    return result == lin.LINEARIZABLE


@pytest.mark.parametrize("path", KV, ids=[p.stem for p in KV])
def test_kv_scenarios_complete_operations_through_their_faults(path):
    """Each KV scenario does what its description says: its faults happen and
    clients still complete operations on every side of them."""
    sc = load_scenario(path)
    run = simulate(sc, sc.seed)
    verdict = run.verdict
    assert verdict.ok and linearizable(run)
    kinds = {e["kind"] for e in run.events}
    for fault in sc.faults:
        assert fault.kind in kinds
    oks = [e["t"] for e in run.events if e["kind"] == "ok"]
    for fault in sc.faults:
        if fault.kind in ("crash", "partition"):  # a new leader serves after the old one is gone
            assert any(t > fault.at + 250 for t in oks)
            assert any(e["kind"] == "leading" and e["t"] > fault.at for e in run.events)
    if sc.network.loss:
        assert verdict.messages["dropped"]["loss"] > 0
        requests = [(e["msg"].command.client, e["msg"].command.req) for e in run.events
                    if e["kind"] == "send" and e["msg"].type == "request"]
        assert len(requests) > len(set(requests)), "no client retried a request"


@pytest.mark.slow
@pytest.mark.parametrize("path", KV, ids=[p.stem for p in KV])
def test_kv_seeds_are_log_safe_linearizable_and_meet_expect(path):
    sc = load_scenario(path)
    expect = sc.expect.to_dict()
    for seed in range(KV_SEEDS):
        run = simulate(sc, seed)
        verdict = run.verdict
        assert verdict.ok, f"seed {seed}: {verdict.violations[0].explain()}"
        assert linearizable(run), f"seed {seed}"
        assert evaluate_expect(verdict, expect) == [], f"seed {seed}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_meets_its_expect_through_the_cli(runner, path):
    result = runner.invoke(main, ["run", str(path)])
    assert "expect:    met" in result.stdout, result.stdout
    if load_scenario(path).expect.safety == "holds":
        assert result.exit_code == 0, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", CORRECT, ids=[p.stem for p in CORRECT])
def test_two_thousand_seeds_are_safe_and_meet_expect(path):
    sc = load_scenario(path)
    expect = sc.expect.to_dict()
    for seed in range(2000):
        run = simulate(sc, seed)
        verdict = run.verdict
        assert verdict.ok, f"seed {seed}: {verdict.violations[0].explain()}"
        assert evaluate_expect(verdict, expect) == [], f"seed {seed}"


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_scenario_is_caught_and_its_durable_twin_is_not(path):
    sc = load_scenario(path)
    caught = [seed for seed in range(50) if not simulate(sc, seed).verdict.ok]
    assert caught, "the checker never fired on a broken configuration"
    fixed = sc.with_changes(storage="durable")
    for seed in range(500):
        assert simulate(fixed, seed).verdict.ok, seed
