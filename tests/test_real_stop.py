"""What stops a `paxsim cluster` run follows the scenario's `stop:`, as in
the simulator: by default the run goes on until nothing is left to happen
(here: a node that stays down is re-sent `learn` until `duration`), and
`stop: when-decided` ends it as soon as every node that is up has decided."""

from __future__ import annotations

from paxsim.trace import read_trace

from .test_real_cluster import assert_nothing_left, cluster, procs  # noqa: F401 (procs: a fixture)

SCENARIO = """
name: one-stays-down
seed: 3
duration: 4s
nodes: 3
protocol: {retry: {timeout: 30ms, backoff: 2, jitter: 0.25, max: 300ms}}
proposers:
  - {node: n1, value: apple, at: 10ms}
network: {latency: {dist: constant, value: 2ms}}
faults:
  - {at: 0ms, crash: n3}
expect: {decided: true}
"""


def _learns_to(events, node):
    return [ev for ev in events if ev["kind"] == "send" and ev["msg"]["type"] == "learn" and ev["dst"] == node]


def test_default_stop_runs_to_duration_while_a_learn_is_unacknowledged(procs, write, tmp_path):  # noqa: F811
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    res = cluster(procs, write(SCENARIO), wd, "--trace", str(trace))
    assert res.returncode == 0, res.stdout + res.stderr
    events = read_trace(trace)
    end = events[-1]
    assert end["up"] == ["n1", "n2"] and set(end["decided"]) == {"n1", "n2"}
    # The simulator would re-send learn to n3 until its duration: so does the cluster.
    assert end["t"] >= 4000
    assert len(_learns_to(events, "n3")) >= 3
    assert_nothing_left(wd)


def test_stop_when_decided_ends_once_every_live_node_decided(procs, write, tmp_path):  # noqa: F811
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    res = cluster(procs, write(SCENARIO.replace("duration: 4s", "duration: 4s\nstop: when-decided")), wd,
                  "--trace", str(trace))
    assert res.returncode == 0, res.stdout + res.stderr
    events = read_trace(trace)
    assert events[0]["scenario"]["stop"] == "when-decided"
    end = events[-1]
    assert end["up"] == ["n1", "n2"] and set(end["decided"]) == {"n1", "n2"}
    assert end["t"] < 4000
    decides = [ev for ev in events if ev["kind"] == "decide"]
    assert {ev["node"] for ev in decides} == {"n1", "n2"}
    assert_nothing_left(wd)
