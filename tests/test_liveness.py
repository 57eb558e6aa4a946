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


def _first_clique(adj, cands, need, chosen):
    """The search as it was (recursive, a size bound only): the reference
    the iterative search with colouring bounds must agree with."""
    if need <= 0:
        return chosen
    if len(cands) < need:
        return None
    for i, v in enumerate(cands):
        found = _first_clique(adj, [u for u in cands[i + 1:] if u in adj[v]], need - 1, chosen + [v])
        if found is not None:
            return found
        if len(cands) - i - 1 < need:
            return None
    return None


def test_the_quorum_search_finds_what_the_plain_search_found():
    """Same answer, the same set (the first in node order) or none, on
    random graphs of every density: the colouring bound only cuts branches
    that cannot succeed."""
    import random

    from paxsim.liveness import _has_clique

    r = random.Random(5)
    checked = found = 0
    for _ in range(3000):
        n = r.randint(1, 13)
        density = r.random()
        nodes = [f"n{i}" for i in range(n)]
        adj = {v: set() for v in nodes}
        for i in range(n):
            for j in range(i + 1, n):
                if r.random() < density:
                    adj[nodes[i]].add(nodes[j])
                    adj[nodes[j]].add(nodes[i])
        need = r.randint(1, n)
        want = _first_clique(adj, nodes, need, [])
        assert _has_clique(adj, nodes, need, []) == want, (adj, need)
        checked += 1
        found += want is not None
    assert 0 < found < checked  # both answers were tested


def test_a_two_thousand_node_quorum_is_found_without_recursion():
    """A quorum of 1,001 nodes used to be searched 1,001 calls deep: a
    RecursionError and a traceback from `paxsim run` (exit 1)."""
    text = "name: big\nnodes: 2000\nduration: 1ms\nproposers: [{node: n1, value: a, at: 0ms}]\n"
    ev = simulate(load_scenario_text(text), 0).events
    live = check(ev).liveness
    assert live.window is not None and len(live.window.quorum) == 1001 and live.window.quorum[0] == "n1"


def test_the_graph_is_the_pairwise_definition_of_a_link_up():
    """Two up nodes are neighbours when they are on one side of the
    partition (a node in no group is alone) and no cut or lossy link parts
    them either way.  The graph shares sets between the nodes of a side, and
    each holds its own nodes: nothing may depend on that."""
    import random

    from paxsim.liveness import _State

    r = random.Random(11)
    for _ in range(2000):
        n = r.randint(1, 12)
        nodes = [f"n{i}" for i in range(1, n + 1)]
        state = _State(nodes)
        state.down = {v for v in nodes if r.random() < 0.2}
        if r.random() < 0.6:
            shuffled = r.sample(nodes, n)
            cut = sorted(r.sample(range(1, n + 1), min(n, r.randint(0, 3))))
            groups = [g for g in (shuffled[a:b] for a, b in zip([0] + cut, cut + [n])) if g]
            groups = [g for g in groups if r.random() < 0.85]  # some nodes in no group
            state.apply({"kind": "partition", "groups": groups})
        pairs = [(a, b) for a in nodes for b in nodes if a != b]
        state.cuts = set(r.sample(pairs, min(len(pairs), r.randint(0, 4))))
        lossy = set(r.sample(pairs, min(len(pairs), r.randint(0, 3))))

        def up_between(a, b):
            if state.group is not None:
                ga = state.group.get(a)
                if ga is None or ga != state.group.get(b):
                    return False
            return not {(a, b), (b, a)} & (state.cuts | lossy)

        graph = state.graph(nodes, lossy)
        up = [v for v in nodes if v not in state.down]
        assert list(graph) == up  # in node order
        for a in up:
            assert graph[a] - {a} == {b for b in up if b != a and up_between(a, b)}, (state.__dict__, lossy, a)


def test_intersecting_graphs_with_shared_sets_is_the_plain_intersection():
    """A window must stay good throughout, so its graph is the intersection of
    its segments' graphs: links up in both, over the nodes in both.  The
    graphs share sets between nodes, and so does their intersection."""
    import random

    from paxsim.liveness import _intersect

    r = random.Random(3)

    def graph(nodes):
        sides = [frozenset(v for v in nodes if r.random() < 0.7) for _ in range(3)]
        out = {v: r.choice(sides) | {v} for v in nodes if r.random() < 0.9}
        for v in list(out)[:r.randint(0, 3)]:  # some nodes with a set of their own
            out[v] = out[v] - {r.choice(nodes)} | {v}
        return out

    for _ in range(2000):
        nodes = [f"n{i}" for i in range(r.randint(1, 10))]
        a, b = graph(nodes), graph(nodes)
        both = [v for v in a if v in b]
        want = {v: (a[v] & b[v]) & set(both) for v in both}
        got = _intersect(a, b)
        assert list(got) == both and got == want
        assert len({id(s) for s in got.values()}) <= len({(id(a[v]), id(b[v])) for v in both})


def test_five_thousand_nodes_are_assessed_in_megabytes():
    """The graph held a set of every other node for each node, and the
    window search copied it: 5,000 nodes took 2.7 GB and 14 s for a 1 ms
    run (2,000 took 298 MB).  The nodes of a side now share one set."""
    import tracemalloc

    text = "name: big\nnodes: 5000\nduration: 1ms\nproposers: [{node: n1, value: a, at: 0ms}]\n"
    ev = simulate(load_scenario_text(text), 0).events
    verdict = check(ev)
    tracemalloc.start()
    try:
        live = verdict.liveness
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert live.window is not None and len(live.window.quorum) == 2501 and live.window.quorum[0] == "n1"
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_a_search_too_hard_gives_up_and_says_so():
    """101 nodes with 200 random one-way cuts: whether a connected quorum of
    51 is left is a clique problem, and this one takes the search hundreds
    of thousands of steps. It stops at its budget, counts no quorum there,
    and says so, rather than running for a minute."""
    import random

    from paxsim import liveness

    r = random.Random(7)
    cuts = set()
    while len(cuts) < 200:
        a, b = r.sample(range(1, 102), 2)
        cuts.add((a, b))
    faults = "".join(f"  - {{at: 0ms, cut: {{from: n{a}, to: n{b}}}}}\n" for a, b in sorted(cuts))
    text = ("name: cuts\nnodes: 101\nduration: 3ms\nproposers: [{node: n1, value: a, at: 0ms}]\n"
            f"faults:\n{faults}")
    live = check(simulate(load_scenario_text(text), 0).events).liveness
    assert live.cls == "expected" and live.window is None
    assert any(f"gave up at 0 ms, after {liveness.SEARCH_STEPS:,} steps" in why for why in live.reasons)
    assert not any(why.startswith("one-way cuts") for why in live.reasons)  # not claimed where not known


def load_scenario_text(text):
    from paxsim.scenario import parse_scenario

    return parse_scenario(text)
