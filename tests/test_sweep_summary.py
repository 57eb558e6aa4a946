"""The sweep's summary is computed from the records run_sweep collected as it
wrote them (parsed beside the runs, not all after the last): it must be the
summary of the results file as written, fresh or resumed, whichever
executor ran the runs, violations and traces included."""

import json

import pytest

from paxsim.cli import main
from paxsim.sweep import plan_sweep, read_results, run_sweep, summarize

from .conftest import ROOT

VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")
LOSSY = str(ROOT / "scenarios" / "lossy.yaml")


@pytest.mark.parametrize("jobs", [1, 2])
def test_collected_records_are_what_the_file_holds(tmp_path, jobs):
    plan = plan_sweep(VOLATILE, "0:40", ["network.loss=0,0.2"], ["amnesia"])
    out = tmp_path / "r.jsonl"
    records: list[dict] = []
    counts = run_sweep(plan, out, jobs=jobs, records=records)
    _, runs, _ = read_results(out)
    assert counts["violations"] > 0  # the summary below has violations, traces and explanations to get right
    key = lambda r: (json.dumps(r["params"], sort_keys=True), r["seed"])  # noqa: E731
    assert sorted(records, key=key) == sorted(runs, key=key)
    assert summarize(plan, out, runs=records) == summarize(plan, out)


def test_a_resumed_sweep_collects_the_old_runs_too(tmp_path):
    plan = plan_sweep(LOSSY, "0:30", ["network.loss=0,0.2"])
    whole = tmp_path / "whole.jsonl"
    run_sweep(plan, whole, jobs=1)
    cut = tmp_path / "cut.jsonl"
    lines = whole.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[:21]) + lines[21][:30])  # a killed sweep: 20 runs, then half a line
    records: list[dict] = []
    counts = run_sweep(plan, cut, jobs=1, resume=True, records=records)
    assert counts["skipped"] == 20 and len(records) == 60
    assert summarize(plan, cut, runs=records) == summarize(plan, cut) == summarize(plan, whole)


def test_the_command_prints_the_summary_of_its_results_file(runner, tmp_path):
    out = tmp_path / "r.jsonl"
    args = ["sweep", VOLATILE, "--seeds", "0:30", "--bug", "amnesia", "-j", "2", "-o", str(out), "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output  # amnesia violates safety on some seeds
    printed = json.loads(result.stdout)
    assert printed["violating_runs"] > 0
    assert printed == summarize(plan_sweep(VOLATILE, "0:30", [], ["amnesia"]), out)


def test_workers_started_before_the_scenario_is_read_give_the_same_results(runner, tmp_path):
    """`paxsim sweep -j 2` forks its worker before reading the scenario; the
    results file still holds the lines of -j 1 (in the order chunks
    finished), and the same traces."""
    files = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.jsonl"
        result = runner.invoke(main, ["sweep", VOLATILE, "--seeds", "0:120", "--set", "network.loss=0,0.2",
                                      "-j", jobs, "-o", str(out)])
        assert result.exit_code == 1, result.output  # volatile storage: some runs violate safety
        traces = sorted((out.parent / (out.name + ".traces")).iterdir())
        lines = out.read_bytes().splitlines(keepends=True)
        files[jobs] = (lines[0], sorted(lines[1:]), [(p.name, p.read_bytes()) for p in traces])
    assert files["1"] == files["2"] and len(files["1"][1]) == 240 and files["1"][2]


@pytest.mark.parametrize("problem", ["bad-seeds", "bad-set", "exists"])
def test_workers_started_early_are_ended_when_the_input_is_bad(runner, tmp_path, problem):
    import multiprocessing

    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "--seeds", "0:5", "-j", "2", "-o", str(out)]
    if problem == "bad-seeds":
        args[3] = "5:1"
    elif problem == "bad-set":
        args += ["--set", "network.nope[=1"]
    else:
        out.write_text("")
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert multiprocessing.active_children() == []  # the worker forked ahead is gone


# --------------------------------------------------------------------------
# The summary is built as the records come, without keeping them
# --------------------------------------------------------------------------

def _reference_summary(plan, output, runs):
    """The summary as it was computed from the whole list of records (sorted
    by seed per combination): the oracle `Summary` must match to the last bit."""
    import shlex

    from paxsim.sweep import _pct, traces_dir

    by_combo: dict[str, list[dict]] = {}
    seeds, keys = set(plan.seeds), {c.key for c in plan.combos}
    for r in runs:
        key = json.dumps(r["params"], sort_keys=True, separators=(",", ":"))
        if key in keys and r["seed"] in seeds:
            by_combo.setdefault(key, []).append(r)
    rows = []
    for combo in plan.combos:
        rs = sorted(by_combo.get(combo.key, []), key=lambda r: r["seed"])
        decided = [r for r in rs if r["outcome"] == "decided"]
        times = [r["decision_t"] for r in decided if r["decision_t"] is not None]
        groups: dict[str, list[dict]] = {}
        for r in rs:
            for kind in r.get("violations") or []:
                groups.setdefault(kind, []).append(r)
        violations = [{
            "kind": kind, "count": len(vs), "first_seed": vs[0]["seed"],
            "reproduce": f"paxsim run {shlex.quote(plan.scenario_path)} --seed {vs[0]['seed']}"
                         + "".join(f" --bug {b}" for b in plan.bugs) + combo.set_args(),
            "trace": str(traces_dir(output) / vs[0]["trace"]) if vs[0].get("trace") else None,
            "explanation": (vs[0].get("explanations") or {}).get(kind),
        } for kind, vs in sorted(groups.items())]
        row = {
            "params": dict(combo.params), "label": combo.label, "runs": len(rs),
            "decided": len(decided) / len(rs) if rs else None,
            "undecided": sum(r["outcome"] == "undecided" for r in rs) / len(rs) if rs else None,
            "p50": _pct(times, 50), "p95": _pct(times, 95), "p99": _pct(times, 99),
            "messages_per_decision": (sum(r["sent"] for r in decided) / len(decided)) if decided else None,
            "violating_runs": sum(r["outcome"] == "violation" for r in rs),
            "violations": violations,
        }
        suspicious = [r for r in rs if r.get("liveness") == "suspicious"]
        row["undecided_expected"] = sum(r.get("liveness") == "expected" for r in rs)
        row["undecided_suspicious"] = len(suspicious)
        row["suspicious_seeds"] = [r["seed"] for r in suspicious][:20]
        if any("over_budget" in r for r in rs):
            over = [r for r in rs if r.get("over_budget")]
            row["over_budget"] = len(over)
            row["over_budget_seeds"] = [r["seed"] for r in over][:20]
        ops = [r["ops"] for r in rs if r.get("ops")]
        if ops:
            rates = [o["ops_per_s"] for o in ops if o["ops_per_s"] is not None]
            row["workload"] = {
                "ops_per_s": sum(rates) / len(rates) if rates else None,
                "ops_ok": sum(o["ok"] for o in ops),
                "unknown_outcome": sum(o["info"] for o in ops),
                "latency_p50": _pct([o["p50"] for o in ops if o["p50"] is not None], 50),
                "latency_p99": _pct([o["p99"] for o in ops if o["p99"] is not None], 99),
                "lin_unknown": sum(o["linearizability"] not in ("linearizable", "not linearizable") for o in ops),
            }
        if plan.base.expect.within is not None:
            row["within_ms"] = plan.base.expect.within
            row["decided_within"] = sum(bool(r.get("within")) for r in rs) / len(rs) if rs else None
        rows.append(row)
    return {"scenario": plan.scenario_path, "seeds": len(plan.seeds), "combinations": rows,
            "violating_runs": sum(r["violating_runs"] for r in rows)}


def _random_records(plan, rng, n):
    """Run records of every shape a summary reads, for seeds in and out of the plan."""
    combos = [dict(c.params) for c in plan.combos] + [{"network.loss": 0.77}]  # the last: not in the plan
    for _ in range(n):
        outcome = rng.choice(["decided", "decided", "undecided", "violation", "ok"])
        kinds = sorted(rng.sample(["agreement", "validity", "fail-stop"], rng.randint(1, 2))) \
            if outcome == "violation" else []
        rec = {"kind": "run", "seed": rng.randrange(-5, 400), "params": rng.choice(combos), "outcome": outcome,
               "decision_t": rng.choice([None, rng.random() * 50, float(rng.randrange(40))]),
               "sent": rng.randrange(200), "violations": kinds}
        if kinds:
            rec["trace"] = f"t{rec['seed']}.jsonl" if rng.random() < 0.7 else None
            rec["explanations"] = {k: f"why {k} at {rec['seed']}" for k in kinds}
        if outcome == "undecided":
            rec["liveness"] = rng.choice(["expected", "suspicious", "suspicious"])
        if rng.random() < 0.3:
            rec["over_budget"] = rng.random() < 0.5
        if rng.random() < 0.5:
            rec["within"] = rng.random() < 0.5
        if outcome == "ok" or rng.random() < 0.1:
            rec["ops"] = {"ok": rng.randrange(50), "invoked": 50, "info": rng.randrange(3),
                          "ops_per_s": rng.choice([None, rng.random() * 1e4, 1 / 3, 2 / 3]),
                          "p50": rng.choice([None, rng.random()]), "p99": rng.choice([None, rng.random() * 9]),
                          "linearizability": rng.choice(["linearizable", "not linearizable", "unknown"])}
        yield rec


@pytest.mark.parametrize("seed", range(6))
def test_the_summary_built_record_by_record_is_the_summary_of_them_all(tmp_path, seed):
    import random

    from paxsim.sweep import Summary

    # a plan with an `expect: within`, two combinations and seeds that are not one range
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nnodes: 3\nproposers:\n  - {node: n1, value: x}\nexpect:\n  within: 30ms\n")
    plan = plan_sweep(str(scenario), "0:100,150:300" if seed % 2 else "0:300", ["network.loss=0,0.2"], [])
    rng = random.Random(seed)
    # unique (combination, seed), as in a results file; then in an order that is not the seeds'
    unique = {(json.dumps(r["params"], sort_keys=True), r["seed"]): r for r in _random_records(plan, rng, 2500)}
    records = list(unique.values())
    rng.shuffle(records)
    built = Summary(plan)
    for r in records:
        built.add(r)
    expected = _reference_summary(plan, tmp_path / "r.jsonl", records)
    assert any(row["violations"] and row["suspicious_seeds"] and "workload" in row
               for row in expected["combinations"])  # every part of a row is exercised
    assert summarize(plan, tmp_path / "r.jsonl", runs=built) == expected
    assert summarize(plan, tmp_path / "r.jsonl", runs=records) == expected
    # and to the bit, as JSON prints it
    assert json.dumps(summarize(plan, tmp_path / "r.jsonl", runs=built), sort_keys=True) == \
        json.dumps(expected, sort_keys=True)


def test_the_summary_does_not_keep_the_records(tmp_path):
    """A million-seed sweep kept every record for its summary (about 1 GB);
    the summary now keeps a decision time per run and counts."""
    import random
    import tracemalloc

    from paxsim.sweep import Summary

    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nnodes: 3\nproposers:\n  - {node: n1, value: x}\n")
    n = 100_000
    plan = plan_sweep(str(scenario), f"0:{n}", [], [])
    rng = random.Random(1)

    def records():
        for seed in range(n):
            yield {"kind": "run", "seed": seed, "params": {}, "outcome": "decided",
                   "decision_t": rng.random() * 20, "sent": 60, "delivered": 55, "lost": 5, "duplicated": 0,
                   "violation": None, "violations": []}

    tracemalloc.start()
    try:
        built = Summary(plan)
        before = tracemalloc.get_traced_memory()[0]
        built.extend(records())
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert summarize(plan, tmp_path / "r.jsonl", runs=built)["combinations"][0]["runs"] == n
    assert kept < 20 * n, f"{kept / n:.0f} bytes kept a run"  # the records themselves: some 700 bytes each


def test_the_command_keeps_no_record_per_run(runner, tmp_path, monkeypatch):
    """`paxsim sweep` feeds its summary as it writes the results file, and
    keeps nothing per run of what it wrote."""
    import gc
    import tracemalloc

    import paxsim.sweep as sw

    seen = {}
    real = sw.Summary.result

    def result(self, output):
        if tracemalloc.is_tracing():  # the command's own summary (not this test's, below)
            gc.collect()  # what is only garbage not yet collected is not kept
            seen["tallied"] = sum(t.runs for t in self.tallies.values())
            seen["memory"] = tracemalloc.get_traced_memory()[0]
        return real(self, output)

    monkeypatch.setattr(sw.Summary, "result", result)
    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "--seeds", "0:1500", "-j", "1", "-o", str(out), "--json"]
    assert runner.invoke(main, args + ["--seeds", "0:10"]).exit_code == 0  # imports and caches, before measuring
    out.unlink()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = runner.invoke(main, args)
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert seen["tallied"] == 1500
    assert json.loads(result.stdout) == summarize(plan_sweep(LOSSY, "0:1500", []), out)
    # kept: a decision time per run (8 bytes) and what is made once; a record is about 1,000 bytes
    assert seen["memory"] - start < 250 * 1500, f"{(seen['memory'] - start) / 1500:.0f} bytes a run"
