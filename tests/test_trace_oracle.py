"""paxsim's checker and simulator against an independent oracle
(tests/trace_oracle.py), which reads nothing but the trace file: the same
safety verdict, explanations that say true things about events really in
the trace, and traces that keep the documented fault semantics."""

import json
import random

import pytest

from paxsim import scenario_from_dict, simulate
from paxsim.cli import main

from . import trace_oracle as oracle
from .conftest import ROOT

SAFETY = {"agreement", "validity", "integrity"}
SINGLE_BUGS = sorted(p for p in (ROOT / "scenarios" / "bugs").glob("*.yaml")
                     if "multi-paxos" not in p.read_text())
PROFILES = sorted((ROOT / "scenarios" / "hunt").glob("*.yaml"))
SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if "multi-paxos" not in p.read_text())


def _trace(lines):
    return [json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in lines]


def _header(nodes=("n1", "n2", "n3"), proposers=(("n1", "a"), ("n2", "b"))):
    return {"kind": "header", "paxsim": "0", "format": 1, "seed": 0,
            "scenario": {"nodes": list(nodes), "protocol": {"quorum": "majority", "storage": "durable"},
                         "proposers": [{"node": n, "value": v, "at": 0} for n, v in proposers]}}


def test_the_oracle_has_teeth():
    votes = [{"seq": i, "t": 0, "kind": "vote", "node": n, "ballot": b, "value": v}
             for i, (n, b, v) in enumerate([("n1", [1, "n1"], "a"), ("n2", [1, "n1"], "a"),
                                            ("n2", [2, "n2"], "b"), ("n3", [2, "n2"], "b")])]
    events = oracle.parse(_trace([_header()] + votes + [
        {"seq": 4, "t": 0, "kind": "decide", "node": "n1", "value": "a"},
        {"seq": 5, "t": 0, "kind": "decide", "node": "n3", "value": "c"}]))
    assert oracle.safety(events) == {"two-chosen", "two-decided", "unchosen-decide", "unproposed"}
    assert oracle.safety(events[:4]) == set()  # one vote short of a second quorum
    again = events[:3] + [{"seq": 4, "t": 0, "kind": "decide", "node": "n1", "value": "a"},
                          {"seq": 5, "t": 1, "kind": "restart", "node": "n1", "storage": "volatile"},
                          {"seq": 6, "t": 1, "kind": "decide", "node": "n1", "value": "a"}]
    assert oracle.safety(again) == set()  # a new storage life may decide again
    assert oracle.safety(again[:4] + again[5:]) == {"decided-twice"}
    msg = {"type": "prepare", "ballot": [1, "n1"]}
    faulty = oracle.parse(_trace([_header(), {"seq": 0, "t": 0, "kind": "partition", "groups": [["n1"], ["n2", "n3"]]},
                                  {"seq": 1, "t": 0, "kind": "send", "id": 0, "src": "n1", "dst": "n2", "msg": msg},
                                  {"seq": 2, "t": 1, "kind": "crash", "node": "n2"},
                                  {"seq": 3, "t": 1, "kind": "deliver", "id": 0},
                                  {"seq": 4, "t": 2, "kind": "end", "messages": {"sent": 1, "delivered": 1, "duplicated": 0,
                                   "dropped": {"loss": 0}}, "decided": {}, "up": ["n1", "n2", "n3"]}]))
    found = oracle.faults(faulty)
    assert any("delivered to n2, which is down" in f for f in found)
    assert any("delivered across a partition" in f for f in found)
    assert any("end.up" in f for f in found)
    errors, _ = oracle.explanation_errors("agreement: two values chosen: 'a' at (1, n1) (seq 1) and 'b' at (2, n2) "
                                          "(seq 2)", (1, 2), events)
    assert errors  # seq 2 is n2's vote for 'b', but 'b' has no quorum until seq 3


def _judge(events, verdict_json, exit_code, expect_met=True):
    """The oracle's view of one trace against what `paxsim check --json` said about it."""
    found = oracle.safety(events)
    kinds = {v["kind"] for v in verdict_json["violations"]}
    assert bool(found) == bool(kinds & SAFETY), (found, kinds)
    assert exit_code == (1 if verdict_json["violations"] or not expect_met else 0)
    assert oracle.faults(events) == []
    for v in verdict_json["violations"]:
        text = "\n".join([f"{v['kind']}: {v['message']}", *(f"  - {d}" for d in v["details"])])
        errors, _ = oracle.explanation_errors(text, v["seqs"], events)
        assert errors == [], text
    return found


@pytest.mark.parametrize("path", SINGLE_BUGS, ids=lambda p: p.stem)
def test_paxsim_check_agrees_with_the_oracle_on_each_counterexample(path, runner, tmp_path):
    # With its bug every shipped counterexample violates, by the oracle too;
    # without it, no seed does. Judged through the command line, from the trace file.
    for sets in ([], ["--set", "protocol.bugs=[]"]):
        for seed in (0, 1, 2):
            trace = tmp_path / f"{seed}-{len(sets)}.jsonl"
            runner.invoke(main, ["run", str(path), "--seed", str(seed), "--trace", str(trace), *sets])
            result = runner.invoke(main, ["check", str(trace), "--json"])
            events = oracle.parse(trace.read_text().splitlines())
            data = json.loads(result.stdout)
            found = _judge(events, data["verdict"], result.exit_code, data["expect"]["met"])
            assert bool(found) == (not sets), (path.name, seed, found)


def _judge_run(scenario, seed):
    run = simulate(scenario, seed)
    events = oracle.parse(run.lines())
    verdict = run.verdict
    return _judge(events, verdict.to_json(), 1 if verdict.violations else 0)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_keep_the_fault_semantics(path):
    from paxsim import load_scenario

    scenario = load_scenario(path)
    for seed in range(5):
        found = _judge_run(scenario, seed)
        assert not found or scenario.storage == "volatile"


def random_scenario(r: random.Random, bugs=()) -> dict:
    """A small random single-decree scenario: 2 to 7 nodes, 1 to 4 proposers,
    any fault the format allows, valid by construction."""
    n = r.randint(2, 7)
    nodes = [f"n{i}" for i in range(1, n + 1)]
    dur = r.choice([100, 300, 800])
    ms = "{:.3f}ms".format
    protocol = {"retry": {"timeout": ms(r.uniform(2, 40)), "backoff": r.choice([1.0, 1.5, 2.0]),
                          "jitter": r.choice([0.0, 0.3, 0.5]), "max": ms(r.uniform(40, 300))},
                "bugs": list(bugs)}
    if r.random() < 0.25:
        p1 = r.randint(1, n)
        protocol["quorum"] = {"phase1": p1, "phase2": r.randint(n + 1 - p1, n)}
    if r.random() < 0.4:
        protocol["write_latency"] = ms(r.choice([0.5, 1, 3, 10]))
    if r.random() < 0.3:
        protocol["learning"] = "acceptors"
    k = r.randint(1, min(4, n))
    d = {"name": "random", "duration": ms(dur), "nodes": n, "protocol": protocol,
         "proposers": [{"node": x, "value": r.choice("abcde"[:k + 1]), "at": ms(r.uniform(0, 20))}
                       for x in r.sample(nodes, k)],
         "network": {"latency": r.choice([{"dist": "constant", "value": ms(r.uniform(0.5, 5))},
                                          {"dist": "exponential", "mean": ms(r.uniform(1, 5))},
                                          {"dist": "pareto", "scale": ms(r.uniform(0.5, 2)), "shape": 1.5}]),
                     "loss": r.choice([0, 0.05, 0.3]), "duplicate": r.choice([0, 0.1, 0.4])}}
    schedule, down, cuts, t = [], set(), set(), 0.0
    for _ in range(r.randint(0, 8)):
        t += r.uniform(0, dur / 10)
        kind = r.choice(["crash", "restart", "partition", "heal", "cut", "uncut"])
        if kind == "crash" and len(down) < n:
            x = r.choice([x for x in nodes if x not in down])
            down.add(x)
            schedule.append({"at": ms(t), "crash": x})
        elif kind == "restart" and down:
            x = r.choice(sorted(down))
            down.discard(x)
            schedule.append({"at": ms(t), "restart": x})
        elif kind == "partition":
            shuffled = r.sample(nodes, n)
            c = r.randint(1, n - 1)
            schedule.append({"at": ms(t), "partition": [shuffled[:c], shuffled[c:]]})
        elif kind == "heal":
            schedule.append({"at": ms(t), "heal": "all"})
        elif kind == "cut":
            a, b = r.sample(nodes, 2)
            if (a, b) not in cuts:
                cuts.add((a, b))
                schedule.append({"at": ms(t), "cut": {"from": a, "to": b}})
        elif kind == "uncut" and cuts:
            a, b = r.choice(sorted(cuts))
            cuts.discard((a, b))
            schedule.append({"at": ms(t), "uncut": {"from": a, "to": b}})
    if r.random() < 0.4:
        d["faults"] = {"schedule": schedule, "random": {
            "until": ms(dur / 2), "events": r.randint(1, 8), "max_down": r.randint(0, n),
            "crash": {"down": [ms(1), ms(dur / 3)]}, "partition": {"length": [ms(1), ms(dur / 3)]},
            "cut": {"length": [ms(1), ms(dur / 3)]}, "loss": 0.3, "duplicate": 0.3,
            "delay": {"share": 0.2, "max": ms(30)}}}
    else:
        d["faults"] = schedule
    if r.random() < 0.25:
        d["clocks"] = {"random": {"offset": ms(5), "drift": r.choice([100, 100000])}}
    if r.random() < 0.3:
        d["stop"] = "when-decided"
    return d


@pytest.mark.slow
def test_the_correct_protocol_never_violates_and_keeps_the_fault_semantics():
    # Durable storage: every fault the format allows, crashes of every node included.
    for i in range(60):
        r = random.Random(f"oracle:{i}")
        scenario = scenario_from_dict(random_scenario(r))
        for seed in (r.randrange(10**6), r.randrange(10**6)):
            assert _judge_run(scenario, seed) == set(), (i, seed)


MUTANTS = [  # bug, hunt profile, --set, seeds that break safety (found with the oracle alone)
    ("amnesia", "crashes", [], [101, 114]),
    ("persist-after-reply", "crashes", [], [69, 146]),
    ("any-accepted", "mixed", [], [29, 103]),
    ("counts-duplicates", "mixed", [], [47, 173]),
    ("unsafe-flexible", "schedule-and-crashes", [], [26, 50]),
    ("mixed-ballot-learner", "mixed", ["protocol.learning=acceptors"], [11, 12]),
    ("accept-skips-promise", "delays", [], [4, 13]),
    ("reset-after-learn", "delays", [], [31, 41]),
    ("hides-accepted", "delays", [], [1, 2]),
    ("blog", "crashes", [], [0, 1]),
]


@pytest.mark.slow
@pytest.mark.parametrize("bug,profile,sets,violating", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_the_checker_and_the_oracle_agree_on_mutants(bug, profile, sets, violating):
    from paxsim.scenario import load_variant

    scenario = load_variant(ROOT / "scenarios" / "hunt" / f"{profile}.yaml", sets=sets, bugs=[bug])
    for seed in range(20):
        _judge_run(scenario, seed)
    for seed in violating:
        assert _judge_run(scenario, seed), seed
