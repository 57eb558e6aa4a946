"""`paxsim cluster` refuses what it cannot honour, before starting anything.

A real cluster cannot follow a scripted schedule, slow its disk writes, skew
its nodes' clocks or run multi-paxos nodes; a run that skipped one of these
silently would be taken for a run under it.  Each refusal is one line on
stderr naming the file, the line and the key, and exit status 2.  Every test
here makes starting the cluster fail the test, so none starts a process."""

from __future__ import annotations

import pytest

from paxsim.cli import main
from paxsim.real import cluster as real_cluster
from paxsim.scenario import parse_scenario

BASE = """name: refused
nodes: 3
proposers:
  - {node: n1, value: a}
"""

SCRIPTED = BASE + """script:
  messages:
    - {from: n1, to: n2, type: prepare, ballot: [1, n1], n: 1, fate: drop}
"""

SLOW_DISK = BASE + """protocol:
  write_latency: 3ms
"""

SKEWED = BASE + """clocks:
  nodes:
    n2: {drift: 200}
"""

MULTI = """name: kv
nodes: 3
protocol:
  kind: multi-paxos
workload: {clients: 2}
"""


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    """A refused scenario never gets as far as starting processes."""

    async def run(self):
        raise AssertionError("the cluster was started")

    monkeypatch.setattr(real_cluster.Cluster, "run", run)


@pytest.mark.parametrize("text, line, key, why", [
    (SCRIPTED, 5, "script", "cannot script message and timer fates"),
    (SLOW_DISK, 6, "protocol.write_latency", "cannot slow storage writes"),
    (SKEWED, 5, "clocks", "cannot skew node clocks"),
    (MULTI, 4, "protocol.kind", "single-decree nodes only, not multi-paxos"),
])
def test_a_scenario_the_cluster_cannot_honour_is_refused(runner, write, tmp_path, text, line, key, why):
    path = write(text)
    wd = tmp_path / "wd"
    res = runner.invoke(main, ["cluster", str(path), "--workdir", str(wd)])
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"{path}:{line}: {key}: the real cluster ")
    assert why in res.stderr and "paxsim run" in res.stderr
    assert not (wd / "data").exists()  # no node was given a data directory


def test_a_key_set_on_the_command_line_is_named_with_the_override(runner, write):
    path = write(BASE)
    res = runner.invoke(main, ["cluster", str(path), "--set", "protocol.write_latency=5ms"])
    assert res.exit_code == 2, res.output
    assert res.stderr == (f"{path} (with --set protocol.write_latency=5ms): protocol.write_latency: "
                          + res.stderr.split(": protocol.write_latency: ", 1)[1])
    assert "cannot slow storage writes" in res.stderr
    # the advice is to drop the flag: the file has no such key to remove
    assert res.stderr.rstrip().endswith("(run it with 'paxsim run', or drop --set protocol.write_latency=5ms)")


def test_a_key_under_the_refused_one_names_the_set_that_gives_it(runner, write):
    path = write(BASE)
    res = runner.invoke(main, ["cluster", str(path), "--set", "clocks.default.offset=1ms", "--set", "seed=3"])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{path} (with --set clocks.default.offset=1ms --set seed=3): clocks: ")
    assert res.stderr.rstrip().endswith("or drop --set clocks.default.offset=1ms)")


def test_a_mapping_set_whole_on_the_command_line_is_named(runner, write):
    # '--set protocol={write_latency: 5ms}' gives the refused key inside a mapping: the
    # advice was to remove a key the file does not have
    path = write(BASE)
    res = runner.invoke(main, ["cluster", str(path), "--set", "protocol={write_latency: 5ms}"])
    assert res.exit_code == 2, res.output
    assert res.stderr.rstrip().endswith("or drop --set protocol={write_latency: 5ms})")


def test_a_set_under_a_key_the_file_gives_does_not_take_the_blame_alone(runner, write):
    # the file skews the clocks and the --set adds an offset: dropping the flag alone would
    # not help (nor would removing the file's key alone), and the line of the file's key is named
    path = write(BASE + "clocks: {random: {drift: 100}}\n")
    line = len(BASE.splitlines()) + 1
    res = runner.invoke(main, ["cluster", str(path), "--set", "clocks.random.offset=1ms"])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{path} (with --set clocks.random.offset=1ms):{line}: clocks: "), res.stderr
    assert res.stderr.rstrip().endswith("or remove the key and drop --set clocks.random.offset=1ms)")


@pytest.mark.parametrize("sets, line, advice", [
    # the file's 3ms, replaced by the flag's: both must go
    (["protocol.write_latency=5ms"], True, "remove the key and drop --set protocol.write_latency=5ms"),
    (["protocol={write_latency: 5ms}"], True, "remove the key and drop --set protocol={write_latency: 5ms}"),
    # the first flag replaced the file's protocol: only the second gives the key in force
    (["protocol={retry: {timeout: 10ms}}", "protocol.write_latency=1ms"], False,
     "drop --set protocol.write_latency=1ms"),
])
def test_the_advice_names_what_gives_the_key_in_force(runner, write, sets, line, advice):
    # the file's line was blamed whenever the file alone had the key, in force or not
    path = write(BASE + "protocol: {write_latency: 3ms}\n")
    res = runner.invoke(main, ["cluster", str(path), *[a for s in sets for a in ("--set", s)]])
    assert res.exit_code == 2, res.output
    shown = f"{path} (with {' '.join(f'--set {s}' for s in sets)})"
    assert res.stderr.startswith(shown + (f":{len(BASE.splitlines()) + 1}: " if line else ": ")), res.stderr
    assert res.stderr.rstrip().endswith(f"or {advice})"), res.stderr


def test_two_flags_that_both_give_the_key_are_both_named(runner, write):
    path = write(BASE)
    res = runner.invoke(main, ["cluster", str(path), "--set", "protocol={write_latency: 1ms}", "--set",
                               "protocol.write_latency=2ms"])
    assert res.exit_code == 2, res.output
    assert res.stderr.rstrip().endswith("or drop --set protocol={write_latency: 1ms} and --set "
                                        "protocol.write_latency=2ms)")


def test_a_key_in_the_file_is_still_to_be_removed(runner, write):
    path = write(BASE + "protocol: {write_latency: 3ms}\n")
    res = runner.invoke(main, ["cluster", str(path), "--set", "seed=3"])
    assert res.exit_code == 2, res.output
    assert res.stderr.rstrip().endswith("or remove the key)")


def test_a_shrunk_counterexample_is_refused_not_run_unscripted(runner):
    # the shipped counterexamples are scripted (and most need slow writes)
    from .conftest import ROOT

    path = ROOT / "scenarios" / "bugs" / "ignore-accepted.yaml"
    res = runner.invoke(main, ["cluster", str(path)])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{path}:13: protocol.write_latency: ")


@pytest.mark.parametrize("extra", [
    "",
    "clocks: {default: {offset: 0, drift: 0}}\n",  # exact clocks: nothing to skew
    "protocol: {write_latency: 0}\n",
    "script: {messages: []}\n",
])
def test_what_the_cluster_can_honour_is_not_refused(extra):
    sc = parse_scenario(BASE + extra)
    assert real_cluster.unsupported(sc) == []
    real_cluster.check_supported(sc)  # no ClusterError


def test_bug_with_a_users_node_is_refused(runner, write, tmp_path):
    """--bug switches on mutants of paxsim's own roles: a --node-cmd node runs
    its own code, so a run "with" the bug would not have it."""
    path = write(BASE)
    wd = tmp_path / "wd"
    res = runner.invoke(main, ["cluster", str(path), "--workdir", str(wd), "--bug", "amnesia",
                               "--node-cmd", "mynode --name {name} --port {port}"])
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith("--bug amnesia: bugs are mutants of paxsim's own roles")
    assert "--node-cmd" in res.stderr
    assert not (wd / "data").exists()


def test_a_scenarios_bugs_with_a_users_node_are_refused_naming_the_line(runner, write, tmp_path):
    path = write(BASE + "protocol:\n  bugs: [amnesia, small-quorum]\n")
    wd = tmp_path / "wd"
    res = runner.invoke(main, ["cluster", str(path), "--workdir", str(wd), "--node-cmd", "mynode {config}"])
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"{path}:6: protocol.bugs: bugs (amnesia, small-quorum) are mutants of paxsim's own roles")
    assert not (wd / "data").exists()
    # without --node-cmd the same scenario gets as far as starting the cluster (stubbed here)
    res = runner.invoke(main, ["cluster", str(path), "--workdir", str(tmp_path / "wd2")])
    assert isinstance(res.exception, AssertionError) and "the cluster was started" in str(res.exception)
