"""A sweep's results-file lines (`run_chunk_lines`) against the same runs
judged the slow way: every event of the trace fed to the checker one at a
time (`Checker.append`), and the record written by `json.dumps`.  Decided,
undecided (with liveness), over-budget, late and violating runs."""

import json

from hypothesis import given, settings, strategies as st

import paxsim
from paxsim.check import Checker
from paxsim.scenario import load_scenario
from paxsim.sweep import _record_json, _record_line, result_record, run_chunk_lines

from .conftest import ROOT

RANDOM_BUDGET = """\
name: records
nodes: 5
duration: 120ms
protocol:
  retry: {timeout: 20ms, backoff: 1.5, jitter: 0.5, max: 200ms}
proposers: [{node: n1, value: a}, {node: n3, value: b, at: 5ms}, {node: n5, value: c, at: 10ms}]
network: {latency: {dist: lognormal, median: 3ms, sigma: 0.8}}
faults:
  random:
    until: 100ms
    events: 6
    crash: {down: [5ms, 150ms]}
    partition: {length: [10ms, 200ms]}
    loss: 0.2
    duplicate: 0.3
    budget: {down: 1, partitions: 1}
expect:
  within: 40ms
"""


def slow_line(sc, seed, params):
    run = paxsim.simulate(sc, seed)
    events = run.events
    checker = Checker(None)
    for ev in events:
        checker.append(ev)
    run._verdict = checker.finish(events)  # what Run.verdict would say, reached the general way
    rec = result_record(run, params, sc.expect.within)
    trace = rec.pop("trace", None)
    if trace is not None:
        rec["trace"] = "PLACEHOLDER"
    return json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n", trace


def compare(sc, seeds, params):
    scenario = sc.to_dict()
    key = "test-records-" + json.dumps(scenario, sort_keys=True)  # the worker's cache key names the content
    lines = run_chunk_lines(scenario, key, params, seeds)
    records = []
    for seed, (line, trace, _) in zip(seeds, lines):
        want, want_trace = slow_line(sc, seed, params)
        rec = json.loads(line)
        if "trace" in rec:
            line = line.replace(json.dumps(rec["trace"]), '"PLACEHOLDER"')
        assert line == want
        assert trace == want_trace
        records.append(rec)
    return records


def test_records_of_random_faults_with_a_budget_and_a_deadline(write):
    sc = load_scenario(write(RANDOM_BUDGET))
    records = compare(sc, list(range(40)), {"faults.random.loss": 0.2})
    outcomes = {r["outcome"] for r in records}
    assert outcomes == {"decided", "undecided"}
    assert any(r["over_budget"] for r in records) and any(not r["over_budget"] for r in records)
    assert any(r["within"] for r in records) and any(not r["within"] for r in records)
    assert all("liveness" in r for r in records if r["outcome"] == "undecided")


def test_records_of_violating_runs():
    for name in ("amnesia", "small-quorum", "reused-ballot"):
        records = compare(load_scenario(ROOT / "scenarios" / "bugs" / f"{name}.yaml"), [0, 1, 2], {})
        assert all(r["outcome"] == "violation" and r["trace"] for r in records)


# Any value result_record could put in a record, and some it never does (the writer must still match json.dumps).
_numbers = st.one_of(st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True, allow_infinity=True))
_texts = st.one_of(st.sampled_from(["decided", "undecided", "violation", "ok", "run"]), st.text(max_size=8))
_params = st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.floats(), st.text(max_size=6)), max_size=3)


@settings(max_examples=150, deadline=None)
@given(params=_params, seed=st.integers(), kind=_texts, outcome=_texts, decision_t=_numbers,
       counts=st.lists(_numbers, min_size=4, max_size=4), violation=st.one_of(st.none(), _texts),
       violations=st.lists(_texts, max_size=2), within=st.one_of(st.none(), st.booleans(), _numbers),
       extra=st.dictionaries(st.sampled_from(["over_budget", "liveness", "ops", "trace"]), _texts, max_size=1))
def test_a_results_line_is_what_json_dumps_writes(params, seed, kind, outcome, decision_t, counts, violation,
                                                   violations, within, extra):
    sent, delivered, lost, duplicated = counts
    rec = {"kind": kind, "seed": seed, "params": params, "outcome": outcome, "decision_t": decision_t, "sent": sent,
           "delivered": delivered, "lost": lost, "duplicated": duplicated, "violation": violation,
           "violations": violations, **extra}
    if within is not None:
        rec["within"] = within
    assert _record_line(rec, params, _record_json(params)) == json.dumps(rec, sort_keys=True, separators=(",", ":"))


@settings(max_examples=150, deadline=None)
@given(params=_params, seed=st.integers(), outcome=st.sampled_from(["decided", "undecided"]),
       decision_t=st.one_of(st.none(), st.floats()), counts=st.lists(st.integers(), min_size=4, max_size=4),
       within=st.one_of(st.none(), st.booleans()))
def test_a_common_results_line_is_what_json_dumps_writes(params, seed, outcome, decision_t, counts, within):
    sent, delivered, lost, duplicated = counts
    rec = {"kind": "run", "seed": seed, "params": params, "outcome": outcome, "decision_t": decision_t, "sent": sent,
           "delivered": delivered, "lost": lost, "duplicated": duplicated, "violation": None, "violations": []}
    if within is not None:
        rec["within"] = within
    assert _record_line(rec, params, _record_json(params)) == json.dumps(rec, sort_keys=True, separators=(",", ":"))
