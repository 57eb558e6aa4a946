"""The simulator: the network does what the scenario says, and faults act
as documented.  Everything is read back from traces."""

import math
import random
import statistics

import pytest

from paxsim import parse_scenario, simulate
from paxsim.scenario import Latency
from paxsim.sim.latency import sampler
from paxsim.trace import msg_dict


def network_stats(events):
    sends = {ev["id"]: ev for ev in events if ev["kind"] == "send" and ev["src"] != ev["dst"]}
    copies = {ev["copy"]: sends[ev["id"]] for ev in events if ev["kind"] == "duplicate"}
    attempts = len(sends) + len(copies)
    lost = sum(1 for ev in events if ev["kind"] == "drop" and ev["reason"] == "loss")
    latencies = []
    for ev in events:
        if ev["kind"] == "deliver" and ev["id"] in sends:
            latencies.append(ev["t"] - sends[ev["id"]]["t"])
    return len(sends), len(copies), attempts, lost, latencies


def test_network_matches_configuration_over_a_long_run():
    sc = parse_scenario("""
nodes: 5
duration: 3s
protocol: {retry: {timeout: 10ms, max: 40ms}}
proposers: [{node: n1, value: a}, {node: n2, value: b}, {node: n3, value: c}]
network:
  latency: {dist: lognormal, median: 5ms, sigma: 0.5}
  loss: 0.1
  duplicate: 0.05
""")
    sends = copies = attempts = lost = 0
    latencies = []
    for seed in range(200):
        s, c, a, l, lat = network_stats(simulate(sc, seed).events)
        sends, copies, attempts, lost, latencies = sends + s, copies + c, attempts + a, lost + l, latencies + lat
    assert sends > 20_000

    def within(observed, p, n, sigmas=5):
        return abs(observed / n - p) <= sigmas * math.sqrt(p * (1 - p) / n)

    assert within(lost, 0.1, attempts), lost / attempts
    assert within(copies, 0.05, sends), copies / sends
    # the median of a lognormal is its `median`; the sample median of n draws
    # has a standard error of about 1.2533 * sigma_x / sqrt(n) on the log scale
    observed = statistics.median(latencies)
    log_se = 1.2533 * 0.5 / math.sqrt(len(latencies))
    assert abs(math.log(observed / 5.0)) < 5 * log_se, observed


@pytest.mark.parametrize("dist,params,stat,expected", [
    ("constant", {"value": 4.0}, "mean", 4.0),
    ("uniform", {"low": 2.0, "high": 6.0}, "mean", 4.0),
    ("normal", {"mean": 10.0, "std": 2.0}, "mean", 10.0),
    ("exponential", {"mean": 3.0}, "mean", 3.0),
    ("lognormal", {"median": 5.0, "sigma": 0.8}, "median", 5.0),
    ("pareto", {"scale": 2.0, "shape": 1.5}, "median", 2.0 * 2 ** (1 / 1.5)),
])
def test_latency_distributions(dist, params, stat, expected):
    draw = sampler(Latency(dist, tuple(params.items())), random.Random(1))
    xs = [draw() for _ in range(40_000)]
    assert min(xs) >= 0
    observed = statistics.fmean(xs) if stat == "mean" else statistics.median(xs)
    assert observed == pytest.approx(expected, rel=0.03)


def test_normal_is_truncated_at_zero():
    draw = sampler(Latency("normal", (("mean", 0.0), ("std", 5.0))), random.Random(2))
    xs = [draw() for _ in range(5000)]
    assert min(xs) >= 0 and statistics.median(xs) > 2.0  # half-normal, not clipped to 0


def test_per_link_overrides():
    sc = parse_scenario("""
nodes: 3
duration: 500ms
proposers: [{node: n1, value: a}]
network:
  latency: {dist: constant, value: 2ms}
  links:
    - {from: n1, to: n3, latency: {dist: constant, value: 40ms}}
    - {from: n1, to: n2, loss: 1.0}
""")
    events = simulate(sc, 0).events
    sends = {ev["id"]: ev for ev in events if ev["kind"] == "send"}
    for ev in events:
        if ev["kind"] == "deliver":
            s = sends[ev["id"]]
            expected = {("n1", "n3"): 40.0}.get((s["src"], s["dst"]), 0.0 if s["src"] == s["dst"] else 2.0)
            assert ev["t"] - s["t"] == pytest.approx(expected)
        if ev["kind"] == "drop":
            s = sends[ev["id"]]
            assert (s["src"], s["dst"], ev["reason"]) == ("n1", "n2", "loss")
    assert any(ev["kind"] == "drop" for ev in events)


def run_events(text, seed=0):
    return simulate(parse_scenario(text), seed).events


def test_partition_drops_across_groups_until_heal():
    events = run_events("""
nodes: 5
duration: 1s
proposers: [{node: n1, value: a, at: 5ms}, {node: n4, value: b, at: 200ms}]
network: {latency: {dist: constant, value: 1ms}}
faults:
  - {at: 0ms, partition: [[n1, n2], [n3, n4, n5]]}
  - {at: 100ms, heal: all}
""")
    group = {"n1": 0, "n2": 0, "n3": 1, "n4": 1, "n5": 1}
    dropped = {ev["id"]: ev["reason"] for ev in events if ev["kind"] == "drop"}
    crossing = [ev for ev in events if ev["kind"] == "send" and group[ev["src"]] != group[ev["dst"]]]
    assert crossing
    for ev in crossing:
        if ev["t"] < 100:
            assert dropped.get(ev["id"]) == "partition"
        else:
            assert ev["id"] not in dropped
    assert [ev["kind"] for ev in events if ev["kind"] in ("partition", "heal")] == ["partition", "heal"]


def test_cut_is_one_way():
    events = run_events("""
nodes: 3
duration: 300ms
proposers: [{node: n1, value: a}, {node: n2, value: b, at: 50ms}]
network: {latency: {dist: constant, value: 1ms}}
faults:
  - {at: 0ms, cut: {from: n1, to: n2}}
""")
    dropped = {ev["id"]: ev["reason"] for ev in events if ev["kind"] == "drop"}
    n1_to_n2 = [ev for ev in events if ev["kind"] == "send" and (ev["src"], ev["dst"]) == ("n1", "n2")]
    n2_to_n1 = [ev for ev in events if ev["kind"] == "send" and (ev["src"], ev["dst"]) == ("n2", "n1")]
    assert n1_to_n2 and n2_to_n1
    assert all(dropped.get(ev["id"]) == "cut" for ev in n1_to_n2)
    assert not any(ev["id"] in dropped for ev in n2_to_n1)


CRASH = """
nodes: 5
duration: 2s
proposers: [{node: n1, value: a}, {node: n2, value: b, at: 30ms}]
network: {latency: {dist: uniform, low: 1ms, high: 5ms}}
faults:
  - {at: 3ms, crash: n3}
  - {at: 400ms, restart: n3}
"""


def test_crashed_node_receives_and_sends_nothing_and_timers_stop():
    events = run_events(CRASH)
    sends = {ev["id"]: ev for ev in events if ev["kind"] == "send"}
    for ev in events[1:]:
        if 3 <= ev["t"] < 400:
            if ev["kind"] == "deliver":
                assert sends[ev["id"]]["dst"] != "n3"
            if ev["kind"] == "send":
                assert ev["src"] != "n3"
            assert ev.get("node") != "n3" or ev["kind"] == "crash"
    # learns re-sent to n3 while it is down are dropped as "crashed"
    crashed = [ev for ev in events if ev["kind"] == "drop" and ev["reason"] == "crashed"]
    assert crashed and all(sends[ev["id"]]["dst"] == "n3" for ev in crashed)
    # after restart it learns the decision
    decide = [ev for ev in events if ev["kind"] == "decide" and ev["node"] == "n3"]
    assert decide and decide[0]["t"] >= 400


def test_crashed_proposer_stops_retrying_and_resumes_on_restart():
    events = run_events("""
nodes: 3
duration: 2s
proposers: [{node: n1, value: a}]
network: {latency: {dist: constant, value: 1ms}}
faults:
  - {at: 0ms, cut: {from: n1, to: n2}}
  - {at: 0ms, cut: {from: n1, to: n3}}
  - {at: 300ms, crash: n1}
  - {at: 600ms, restart: n1}
  - {at: 600ms, uncut: {from: n1, to: n2}}
""")
    prepares = [ev for ev in events if ev["kind"] == "send" and msg_dict(ev)["type"] == "prepare"]
    assert not [ev for ev in prepares if 300 <= ev["t"] < 600]
    later = [msg_dict(ev)["ballot"] for ev in prepares if ev["t"] >= 600]
    earlier = [msg_dict(ev)["ballot"] for ev in prepares if ev["t"] < 300]
    assert later and later[0][0] > max(b[0] for b in earlier)  # the round survived the crash
    assert any(ev["kind"] == "decide" for ev in events)


def promises_increase(events):
    last = {}
    for ev in events:
        if ev["kind"] in ("promise", "vote"):
            b = tuple(ev["ballot"])
            prev = last.get(ev["node"])
            if prev is not None and ev["kind"] == "promise":
                assert b > prev, (ev, prev)
            if prev is not None and ev["kind"] == "vote":
                assert b >= prev, (ev, prev)
            last[ev["node"]] = max(b, prev) if prev else b


def test_durable_storage_survives_restart():
    for seed in range(30):
        promises_increase(run_events(CRASH, seed))


REPORT = """
nodes: 3
duration: 1s
protocol: {storage: STORAGE}
proposers: [{node: n1, value: a}, {node: n2, value: b, at: 150ms}]
network: {latency: {dist: constant, value: 2ms}}
faults:
  - {at: 7ms, cut: {from: n1, to: n2}}
  - {at: 30ms, crash: n3}
  - {at: 100ms, restart: n3}
"""


@pytest.mark.parametrize("storage,reported", [
    ("durable", {"ballot": [1, "n1"], "value": "a"}),
    ("volatile", None),
])
def test_restarted_acceptor_reports_its_vote_only_with_durable_storage(storage, reported):
    events = run_events(REPORT.replace("STORAGE", storage))
    assert [ev["storage"] for ev in events if ev["kind"] == "restart"] == [storage]
    assert any(ev["kind"] == "vote" and ev["node"] == "n3" and ev["t"] < 30 for ev in events[1:])
    promise = next(msg_dict(ev) for ev in events if ev["kind"] == "send" and ev["src"] == "n3"
                   and ev["dst"] == "n2" and msg_dict(ev)["type"] == "promise")
    assert promise["accepted"] == reported


def test_duplicates_are_traced_and_delivered_as_copies():
    events = run_events("""
nodes: 3
duration: 500ms
proposers: [{node: n1, value: a}]
network: {latency: {dist: uniform, low: 1ms, high: 9ms}, duplicate: 0.5}
""")
    dups = [ev for ev in events if ev["kind"] == "duplicate"]
    assert dups
    delivered = {ev["id"] for ev in events if ev["kind"] == "deliver"}
    dropped = {ev["id"] for ev in events if ev["kind"] == "drop"}
    sent = {ev["id"] for ev in events if ev["kind"] == "send"}
    for d in dups:
        assert d["id"] in sent and d["copy"] not in sent
        assert (d["copy"] in delivered) != (d["copy"] in dropped)
    end = events[-1]
    assert end["messages"]["duplicated"] == len(dups)
    assert end["messages"]["delivered"] == len(delivered)


def test_trace_shape():
    events = run_events(CRASH)
    assert events[0]["kind"] == "header" and events[-1]["kind"] == "end"
    seqs = [ev["seq"] for ev in events[1:]]
    assert seqs == list(range(len(seqs)))
    ts = [ev["t"] for ev in events[1:]]
    assert ts == sorted(ts)
    kinds = {ev["kind"] for ev in events}
    assert {"send", "deliver", "promise", "vote", "propose", "decide", "crash", "restart"} <= kinds


@pytest.mark.parametrize("seed, name", [(0, "network"), (1234, "timers"), (-7, "faults"), (2**80, "dëlays")])
def test_streams_are_seeded_as_random_random_from_the_string(seed, name):
    """A run's streams skip Random.seed's Python code: the state must still be
    exactly random.Random(f"{seed}:{name}")'s, or every trace would change."""
    from paxsim.sim.streams import stream

    mine, theirs = stream(seed, name), random.Random(f"{seed}:{name}")
    assert type(mine) is random.Random
    assert mine.getstate() == theirs.getstate()
    assert [mine.random() for _ in range(5)] + [mine.gauss(0, 1)] == \
        [theirs.random() for _ in range(5)] + [theirs.gauss(0, 1)]


@pytest.mark.parametrize("learning, bugs", [("proposer", ()), ("acceptors", ()), ("proposer", ("small-quorum",)),
                                            ("acceptors", ("blog",))])
def test_a_fresh_node_is_the_node_its_config_makes(learning, bugs):
    """Simulations make their nodes with Node.fresh, which sets every slot
    itself: it must leave each role exactly as Node(cfg) does."""
    from paxsim.protocols.single import Node, NodeConfig
    from paxsim.protocols.single.roles import Acceptor, Learner

    cfg = NodeConfig("n2", ("n1", "n2", "n3", "n4", "n5"), 3, 3, learning=learning, bugs=frozenset(bugs))
    made, fresh = Node(cfg), Node.fresh(cfg, cfg.nodes if learning == "acceptors" else (), cfg.quorums[1])

    def state(obj):  # a class compiled with mypyc lists its attributes in __mypyc_attrs__, not __slots__
        names = getattr(type(obj), "__slots__", None) or type(obj).__mypyc_attrs__
        return {name: getattr(obj, name) for name in names if name != "__dict__"}

    for get in (lambda n: n, lambda n: n.acceptor, lambda n: n.learner):
        a, b = get(made), get(fresh)
        assert type(a) is type(b)
        if type(a) in (Acceptor, Learner):
            assert state(a) == state(b)
        else:
            assert {k: v for k, v in state(a).items() if k not in ("acceptor", "learner")} == \
                {k: v for k, v in state(b).items() if k not in ("acceptor", "learner")}
    assert made.propose("v") == fresh.propose("v")
