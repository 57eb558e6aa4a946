"""The liveness classification of undecided runs (paxsim/liveness.py): built
scenarios on each side of the line between "expected" (the assumptions never
held long enough) and "suspicious" (a long good window passed without a
decision), in `run`, `check` and `sweep`; and the fault budget."""

import json

from paxsim.check import check
from paxsim.cli import main
from paxsim.scenario import load_scenario
from paxsim.sim import simulate
from paxsim.sweep import result_record

# The proposer never retries (a control bug, harmless to safety), and its only
# round is lost to a partition that isolates it; after the heal the
# assumptions hold, but nobody ever proposes again.  The retry wait is at
# most 100 ms * 1.5, so the threshold is 3 * 150 = 450 ms.
NO_RETRY = """\
name: no-retry
seed: 1
duration: 2s
nodes: 3
protocol:
  retry: {{timeout: 20ms, max: 100ms}}
  bugs: [no-retry]
proposers:
  - {{node: n1, value: apple, at: 10ms}}
faults:
  - {{at: 0ms, partition: [[n1], [n2, n3]]}}
  - {{at: {heal}ms, heal: all}}
"""

# Three of five down until `restart` ms: no quorum before; a correct proposer
# decides soon after.
MAJORITY_DOWN = """\
name: majority-down
seed: 1
duration: 2s
nodes: 5
protocol:
  retry: {{timeout: 20ms, max: 100ms}}
proposers:
  - {{node: n1, value: apple, at: 10ms}}
faults:
  - {{at: 0ms, crash: n3}}
  - {{at: 0ms, crash: n4}}
  - {{at: 0ms, crash: n5}}
  - {{at: {restart}ms, restart: n5}}
"""


def run_json(runner, path, *args):
    result = runner.invoke(main, ["run", str(path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_long_good_window_without_a_decision_is_suspicious(runner, write):
    path = write(NO_RETRY.format(heal=1500))  # good from 1500 to 2000 ms: 500 ms >= 450
    data = run_json(runner, path)
    assert data["decided"] is False
    live = data["liveness"]
    assert live["class"] == "suspicious"
    assert live["longest_window"]["from"] == 1500 and live["longest_window"]["to"] == 2000
    assert live["threshold_ms"] == 450
    assert "n1" in live["longest_window"]["quorum"] and len(live["longest_window"]["quorum"]) >= 2
    text = runner.invoke(main, ["run", str(path)]).stdout
    assert "liveness:  SUSPICIOUS: a good window of 500 ms (1500 to 2000 ms" in text


def test_a_good_window_shorter_than_the_threshold_is_expected(runner, write):
    data = run_json(runner, write(NO_RETRY.format(heal=1600)))  # 400 ms < 450
    assert data["decided"] is False
    live = data["liveness"]
    assert live["class"] == "expected"
    assert live["longest_window"]["ms"] == 400
    assert any("partition" in r for r in live["reasons"])


def test_majority_down_is_expected_and_names_the_crashes(runner, write):
    path = write(MAJORITY_DOWN.format(restart=1950))
    data = run_json(runner, path)
    assert data["decided"] is False
    live = data["liveness"]
    assert live["class"] == "expected"
    assert live["longest_window"]["from"] == 1950 and live["longest_window"]["ms"] == 50
    assert live["f"] == 2
    assert live["reasons"][0] == "3 nodes down at once from 0 ms (more than f = 2)"
    text = runner.invoke(main, ["run", str(path)]).stdout
    assert "liveness:  expected: the assumptions never held for long enough (longest good window 50 ms" in text


def test_a_decided_run_has_no_liveness_class(runner, write):
    path = write(MAJORITY_DOWN.format(restart=1000))
    data = run_json(runner, path)
    assert data["decided"] is True and data["liveness"] is None
    run = simulate(load_scenario(path))
    rec = result_record(run, {}, None)
    assert rec["outcome"] == "decided" and "liveness" not in rec
    assert "_liveness" not in run.verdict.__dict__  # the hot path never computed it


def test_check_classifies_a_trace_file(runner, write, tmp_path):
    trace = tmp_path / "t.jsonl"
    runner.invoke(main, ["run", str(write(NO_RETRY.format(heal=1500))), "--trace", str(trace)])
    data = json.loads(runner.invoke(main, ["check", str(trace), "--json"]).stdout)
    assert data["liveness"]["class"] == "suspicious"


def _trace(events, nodes=("a", "b", "c"), **network):
    header = {"kind": "header", "seed": 0, "scenario": {
        "nodes": list(nodes), "duration": 1000.0, "proposers": [{"node": "a", "value": "x", "at": 0.0}],
        "protocol": {"retry": {"timeout": 10.0, "backoff": 2.0, "jitter": 0.0, "max": 20.0}},
        "network": {"loss": 0.0, "links": [], **network}}}
    body = [dict(ev, seq=i) for i, ev in enumerate(events)]
    return [header, *body, {"kind": "end", "seq": len(body), "t": 1000.0, "messages": {}}]


def test_cuts_either_way_break_a_quorum_from_any_runtime():
    # Threshold 3 * 20 ms.  A one-way cut b -> a and c -> a leaves a (the
    # proposer) with no mutually connected quorum until 900 ms.
    events = _trace([{"kind": "cut", "t": 0.0, "src": "b", "dst": "a"},
                     {"kind": "cut", "t": 0.0, "src": "c", "dst": "a"},
                     {"kind": "uncut", "t": 900.0, "src": "b", "dst": "a"}])
    live = check(events).liveness
    assert live.cls == "suspicious"  # 100 ms >= 60 ms: the uncut restored a quorum {a, b}
    assert (live.window.start, live.window.end) == (900.0, 1000.0)
    assert live.window.quorum == ("a", "b")
    events = _trace([{"kind": "cut", "t": 0.0, "src": "b", "dst": "a"},
                     {"kind": "cut", "t": 0.0, "src": "c", "dst": "a"},
                     {"kind": "uncut", "t": 950.0, "src": "b", "dst": "a"}])
    live = check(events).liveness
    assert live.cls == "expected" and live.window.length == 50.0
    assert any("cuts" in r for r in live.reasons)


def test_loss_above_the_bound_is_not_a_connection():
    lossy = check(_trace([], loss=0.3)).liveness
    assert lossy.cls == "expected" and lossy.window is None
    assert lossy.reasons[0] == "loss 0.3 on every link is at or above the bound 0.2"
    assert check(_trace([], loss=0.1)).liveness.cls == "suspicious"


BUDGET = """\
name: budget
seed: 1
duration: 500ms
nodes: 5
proposers:
  - {{node: n1, value: apple}}
faults:
  schedule:
    - {{at: 100ms, crash: n2}}
    - {{at: 100ms, crash: n3}}
    - {{at: 200ms, partition: [[n1, n2, n3], [n4, n5]]}}
    - {{at: 300ms, heal: all}}
  random:
    events: 1
    loss: 0.0
    budget: {budget}
"""


def test_budget_on_each_side_of_the_line(runner, write, tmp_path):
    within = run_json(runner, write(BUDGET.format(budget="{down: 2, partitions: 1}"), "a.yaml"))
    assert within["budget"]["exceeded"] == [] and within["budget"]["seen"] == {"down": 2, "partitions": 1}
    over_path = write(BUDGET.format(budget="{down: 1, partitions: 0}"), "b.yaml")
    over = run_json(runner, over_path)
    assert over["budget"]["exceeded"] == ["nodes down at once: 2 > 1", "partitions: 1 > 0"]
    text = runner.invoke(main, ["run", str(over_path)]).stdout
    assert "budget:    EXCEEDED (nodes down at once: 2 > 1; partitions: 1 > 0" in text
    result = runner.invoke(main, ["sweep", str(over_path), "--seeds", "0:3", "-j", "1", "--json",
                                  "-o", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["combinations"][0]
    assert row["over_budget"] == 3 and row["over_budget_seeds"] == [0, 1, 2]


def test_sweep_counts_expected_and_suspicious(runner, write, tmp_path):
    for heal, key in ((1500, "undecided_suspicious"), (1600, "undecided_expected")):
        path = write(NO_RETRY.format(heal=heal), f"s{heal}.yaml")
        out = tmp_path / f"r{heal}.jsonl"
        result = runner.invoke(main, ["sweep", str(path), "--seeds", "0:4", "-j", "1", "-o", str(out)])
        assert result.exit_code == 0, result.output
        summary = json.loads(runner.invoke(main, ["sweep", str(path), "--seeds", "0:4", "-j", "1", "-o", str(out),
                                                  "--resume", "--json"]).stdout)
        row = summary["combinations"][0]
        assert row[key] == 4 and row["undecided"] == 1.0
        other = "undecided_expected" if key == "undecided_suspicious" else "undecided_suspicious"
        assert row[other] == 0
        if heal == 1500:
            assert row["suspicious_seeds"] == [0, 1, 2, 3]
            assert "undecided in [(scenario as written)]: 0 expected" in result.stdout
            assert "4 SUSPICIOUS (seeds 0, 1, 2, 3)" in result.stdout
