"""Every shipped scenario meets its own `expect`; the correct ones stay safe
over 2,000 seeds each; the broken one is caught."""

import pytest

from paxsim import load_scenario, simulate
from paxsim.check import evaluate_expect
from paxsim.cli import main

from .conftest import SCENARIOS

CORRECT = [p for p in SCENARIOS if load_scenario(p).storage == "durable"]
BROKEN = [p for p in SCENARIOS if load_scenario(p).storage == "volatile"]


def test_the_catalogue_is_complete():
    names = {p.stem for p in SCENARIOS}
    assert {"happy", "lossy", "partition", "crash-minority", "crash-majority", "duel", "duplicates",
            "one-way-cut", "volatile", "large"} <= names
    assert BROKEN, "a deliberately broken scenario must ship"


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
