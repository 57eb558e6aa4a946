"""paxsim explore and paxsim shrink: what they print and write must be true.

Findings of a review, each a test that failed before its fix."""

import json

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
