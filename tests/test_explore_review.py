"""paxsim explore and paxsim shrink: what they print and write must be true.

Findings of a review, each a test that failed before its fix."""

import json

import pytest

from paxsim.cli import main

from .conftest import ROOT

THREE = str(ROOT / "scenarios" / "explore" / "three-nodes.yaml")


def test_only_a_breadth_first_counterexample_is_called_shortest(runner, tmp_path):
    # DFS found an 18-transition schedule and wrote "a shortest schedule of 18 transitions" into
    # the counterexample file, where BFS finds one of 8.
    dfs, bfs = tmp_path / "dfs.yaml", tmp_path / "bfs.yaml"
    result = runner.invoke(main, ["explore", THREE, "--bug", "ignore-accepted", "--strategy", "dfs", "-o", str(dfs)])
    assert result.exit_code == 1, result.output
    assert "shortest" not in dfs.read_text() and "(a shortest schedule)" not in result.stdout
    result = runner.invoke(main, ["explore", THREE, "--bug", "ignore-accepted", "--json", "-o", str(bfs)])
    data = json.loads(result.stdout)
    assert data["shortest"] is True and data["counterexample_length"] == 8
    assert "a shortest schedule of 8 transitions" in bfs.read_text()
    result = runner.invoke(main, ["explore", THREE, "--bug", "ignore-accepted", "--strategy", "dfs", "--json"])
    data = json.loads(result.stdout)
    assert data["shortest"] is False and data["counterexample_length"] > 8


def test_shrink_says_when_its_budget_stopped_it(runner, tmp_path):
    # With --budget 3 nothing could be tried, yet it printed "removed: nothing" and "explanation of
    # the minimal run", as if the run could not be made smaller.
    volatile = str(ROOT / "scenarios" / "volatile.yaml")
    out = tmp_path / "small.yaml"
    result = runner.invoke(main, ["shrink", volatile, "--seed", "3", "--budget", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "--budget ran out before every removal was tried: not minimal" in result.stdout
    assert "explanation of the minimal run" not in result.stdout and out.exists()
    out2 = tmp_path / "minimal.yaml"
    result = runner.invoke(main, ["shrink", volatile, "--seed", "3", "-o", str(out2)])
    assert result.exit_code == 0, result.output
    assert "not minimal" not in result.stdout and "explanation of the minimal run:" in result.stdout


def test_a_random_walk_of_a_space_smaller_than_max_states_ends(tmp_path):
    # two-nodes.yaml has 8 states: with --max-states 1000 (and so no default time limit) the
    # random walk never reached its bound and ran until killed.
    import subprocess
    import sys

    two = str(ROOT / "scenarios" / "explore" / "two-nodes.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", "explore", two, "--strategy", "random",
                             "--max-states", "1000", "--json"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err
    data = json.loads(out)
    assert data["bound"] == "no-new-states" and not data["exhausted"] and data["unique_states"] == 8


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_max_states_stops_at_exactly_that_many_states(strategy):
    # '--max-states N: Stop after this many unique states' counted every successor of the last state
    # expanded (and a random walk ran to its end): 21 states for --max-states 2
    from paxsim import load_scenario
    from paxsim.explore import explore, model_for

    from .conftest import ROOT

    model = model_for(load_scenario(ROOT / "scenarios" / "explore" / "three-nodes.yaml"))
    for n in (2, 10, 1000):
        res = explore(model, strategy, max_states=n)
        assert (res.unique, res.bound, res.violation) == (n, "max-states", None)
