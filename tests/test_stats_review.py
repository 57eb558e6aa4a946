"""The statistics that sweep, compare and hunt print, recomputed
independently (numpy, or plain Python) from the per-seed results the
commands keep; and the input they must refuse because a summary of it
would be false."""

import json

import numpy as np
import pytest

from paxsim.cli import main

from .conftest import ROOT

LOSSY = str(ROOT / "scenarios" / "lossy.yaml")


def test_a_set_value_given_twice_is_refused_not_counted_twice(runner, tmp_path):
    # 0.1 and 0.10 are the same YAML number: one combination, not two rows of 40 runs over 20 seeds
    for values in ("0.1,0.1", "0.1,0.10", "[a],[a]"):
        out = tmp_path / "r.jsonl"
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:3", "--set", f"network.loss={values}",
                                      "-j", "1", "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert "network.loss" in result.stderr and "twice" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert not out.exists()


def _recompute_sweep(path):
    """The summary's numbers, from the results file alone, with numpy."""
    runs = [json.loads(line) for line in open(path, encoding="utf-8")][1:]
    rows = {}
    for r in runs:
        rows.setdefault(json.dumps(r["params"], sort_keys=True), []).append(r)
    out = {}
    for key, rs in rows.items():
        dec = [r for r in rs if r["outcome"] == "decided"]
        t = np.array([r["decision_t"] for r in dec], dtype=float)
        kinds = {}
        for r in rs:
            for k in r["violations"]:
                kinds[k] = kinds.get(k, 0) + 1
        out[key] = {
            "runs": len(rs),
            "decided": len(dec) / len(rs),
            "undecided": sum(r["outcome"] == "undecided" for r in rs) / len(rs),
            "p50": float(np.percentile(t, 50)) if t.size else None,
            "p95": float(np.percentile(t, 95)) if t.size else None,
            "p99": float(np.percentile(t, 99)) if t.size else None,
            "messages_per_decision": float(np.mean([r["sent"] for r in dec])) if dec else None,
            "violating_runs": sum(bool(r["violations"]) for r in rs),
            "violations": kinds,
            "first": {k: min(r["seed"] for r in rs if k in r["violations"]) for k in kinds},
            "undecided_expected": sum(r.get("liveness") == "expected" for r in rs),
            "undecided_suspicious": sum(r.get("liveness") == "suspicious" for r in rs),
        }
    return out


def _printed_rows(summary):
    out = {}
    for row in summary["combinations"]:
        out[json.dumps(row["params"], sort_keys=True)] = {
            **{k: row[k] for k in ("runs", "decided", "undecided", "p50", "p95", "p99", "messages_per_decision",
                                   "violating_runs", "undecided_expected", "undecided_suspicious")},
            "violations": {v["kind"]: v["count"] for v in row["violations"]},
            "first": {v["kind"]: v["first_seed"] for v in row["violations"]},
        }
    return out


def _close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


def test_sweep_summary_matches_a_recomputation_for_every_executor_and_a_resume(runner, tmp_path):
    # a clean row, a buggy row with violations, and two rows where nothing is ever decided (loss 1)
    grid = ["--set", "network.loss=0,1", "--set", "protocol.bugs=[],[small-quorum]"]
    printed = {}
    for name, jobs in (("j1", "1"), ("j2", "2")):
        out = tmp_path / f"{name}.jsonl"
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:30", *grid, "-j", jobs, "-o", str(out),
                                      "--json"])
        assert result.exit_code == 1, result.output  # small-quorum violates agreement on some seeds
        printed[name] = json.loads(result.stdout)
        expected = _recompute_sweep(out)
        assert _close(_printed_rows(printed[name]), expected)
        assert expected['{"network.loss": 1, "protocol.bugs": []}']["decided"] == 0.0
        assert expected['{"network.loss": 0, "protocol.bugs": ["small-quorum"]}']["violating_runs"] > 0
    # a sweep killed part way (half a line at the end), then resumed: the same summary
    lines = (tmp_path / "j1.jsonl").read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:50]) + lines[50][:17])
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:30", *grid, "-j", "2", "-o", str(cut),
                                  "--resume", "--json"])
    assert result.exit_code == 1, result.output
    def rows(summary):  # the trace paths name the results file
        return json.loads(json.dumps(summary["combinations"]).replace(str(tmp_path / "j1.jsonl"), "R")
                          .replace(str(tmp_path / "j2.jsonl"), "R").replace(str(cut), "R"))

    assert rows(json.loads(result.stdout)) == rows(printed["j1"]) == rows(printed["j2"])
    assert _close(_printed_rows(json.loads(result.stdout)), _recompute_sweep(cut))


def test_sweep_of_one_seed_and_of_nothing_decided(runner, tmp_path):
    out = tmp_path / "one.jsonl"
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "7", "-j", "1", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert _close(_printed_rows(summary), _recompute_sweep(out))
    row = summary["combinations"][0]
    assert row["runs"] == 1 and row["p50"] == row["p99"]
    out = tmp_path / "none.jsonl"
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:5", "--set", "network.loss=1", "-j", "1",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    assert table[3].split()[1:] == ["5", "0.0%", "100.0%", "-", "-", "-", "-", "0"]
    assert "undecided in [network.loss=1]: 5 expected" in result.stdout


def _aa_records(n_groups, size):
    """A/A comparisons with real luck: the baseline's runs on seeds s and
    s + n_groups * size paired as if they were two variants on one seed.
    Both sides come from the same distribution, so any interval that
    excludes 0 is a false alarm."""
    from paxsim import compare as cmp

    plan = cmp.plan_variants(LOSSY, ["a:", "b:"])
    spec = [(plan[0].name, plan[0].key, plan[0].scenario)]
    total = n_groups * size
    runs = {r["seed"]: r["variants"]["a"] for r in cmp.compare_chunk(spec, list(range(2 * total)))}
    groups = []
    for g in range(n_groups):
        seeds = range(g * size, g * size + size)
        groups.append([{"kind": "compare", "seed": s, "same_fates": {"a": 1.0, "b": 0.0},
                        "variants": {"a": runs[s], "b": runs[s + total]}} for s in seeds])
    return plan, groups


@pytest.mark.slow
def test_a_a_comparisons_do_not_exclude_zero_more_often_than_the_stated_rate():
    from paxsim import compare as cmp

    plan, groups = _aa_records(30, 30)
    stats = ("mean_t", "p50", "p95", "p99", "messages_per_decision", "undecided")
    alarms = {k: 0 for k in stats}
    for records in groups:
        pair = cmp.summarize_compare(LOSSY, plan, records)["pairs"][0]
        for k in stats:
            lo, hi = pair[f"{k}_diff_ci"]
            alarms[k] += lo is not None and (lo > 0 or hi < 0)
    # 95% intervals: about 1.5 false alarms in 30 comparisons; 4 or more has probability 6% at the
    # stated rate (binomial), and the percentile bootstrap of a p99 from 20 seeds makes far more
    assert all(v <= 3 for v in alarms.values()), alarms
    # 30 seeds are too few for a p95 or p99 interval (5 decided runs above it in each variant): withheld, and said
    pair = cmp.summarize_compare(LOSSY, plan, groups[0])["pairs"][0]
    assert pair["p95_diff_ci"] == pair["p99_diff_ci"] == [None, None]
    assert pair["intervals_withheld"]["p99"] == {"seeds": 30, "needed": 500}
    assert pair["mean_t_diff_ci"][0] is not None


def test_intervals_from_too_few_seeds_are_withheld_and_said(runner):
    result = runner.invoke(main, ["compare", LOSSY, "--seeds", "0:12", "-j", "1", "--variant", "base:",
                                  "--variant", "disk:protocol.write_latency=1ms"])
    assert result.exit_code == 0, result.output
    assert "mean difference +" in result.stdout
    assert "95% CI [no interval: 12 seeds, 30 needed]" in result.stdout
    assert "  p99: " in result.stdout and "[no interval: 12 seeds, 500 needed]" in result.stdout
    assert "unpaired" not in result.stdout and "width 0" not in result.stdout


def _slow_bootstrap(pairs, stat, resamples=2000, seed=99):
    """Textbook paired percentile bootstrap, plain Python: resample seeds (pairs stay together)."""
    import random

    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        value = stat(sample)
        if value is not None:
            values.append(value)
    values.sort()
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def test_compare_numbers_match_an_independent_computation_on_its_results_file(runner, tmp_path):
    out = tmp_path / "c.jsonl"
    result = runner.invoke(main, ["compare", LOSSY, "--seeds", "0:60", "-j", "2", "--variant", "base:",
                                  "--variant", "disk:protocol.write_latency=1ms", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["kind"] == "compare-header" and [r["seed"] for r in lines[1:]] == list(range(60))
    by_seed = {r["seed"]: r for r in lines[1:]}
    for v in data["variants"]:
        rs = [by_seed[s]["variants"][v["name"]] for s in range(60)]
        t = [r["decision_t"] for r in rs if r["outcome"] == "decided"]
        assert v["decided"] == len(t) / 60
        assert v["undecided"] == sum(r["outcome"] == "undecided" for r in rs) / 60
        for q in (50, 95, 99):
            assert v[f"p{q}"] == pytest.approx(float(np.percentile(t, q)), rel=1e-12)
        sent = [r["sent"] for r in rs if r["outcome"] == "decided"]
        assert v["messages_per_decision"] == pytest.approx(sum(sent) / len(sent), rel=1e-12)
    (pair,) = data["pairs"]
    # paired by seed: the same seed's two runs
    pairs = [(by_seed[s]["variants"]["base"]["decision_t"], by_seed[s]["variants"]["disk"]["decision_t"])
             for s in range(60) if by_seed[s]["variants"]["base"]["outcome"] == "decided"
             and by_seed[s]["variants"]["disk"]["outcome"] == "decided"]
    diffs = [b - a for a, b in pairs]
    assert pair["decided_in_both"] == len(pairs)
    assert pair["mean_t_diff"] == pytest.approx(sum(diffs) / len(diffs), rel=1e-12)
    assert pair["p50_diff"] == pytest.approx(float(np.percentile([b for _, b in pairs], 50)
                                                   - np.percentile([a for a, _ in pairs], 50)), rel=1e-12)
    assert pair["same_fates"] == pytest.approx(sum(r["same_fates"]["disk"] for r in lines[1:]) / 60, rel=1e-12)
    # the intervals agree with a slow bootstrap of our own (other resamples: within a fifth of the width)
    for key, stat in (("mean_t", lambda s: sum(b - a for a, b in s) / len(s)),
                      ("p50", lambda s: float(np.percentile([b for _, b in s], 50)
                                              - np.percentile([a for a, _ in s], 50)))):
        lo, hi = _slow_bootstrap(pairs, stat)
        got = pair[f"{key}_diff_ci"]
        width = hi - lo
        assert abs(got[0] - lo) <= width / 5 and abs(got[1] - hi) <= width / 5, (key, got, (lo, hi))


def test_hunt_counts_and_their_median_are_what_runs_by_hand_give(runner, tmp_path):
    from paxsim.scenario import load_variant
    from paxsim.sim import simulate

    crashes = str(ROOT / "scenarios" / "hunt" / "crashes.yaml")
    table = tmp_path / "hunt.md"
    result = runner.invoke(main, ["hunt", "--bug", "amnesia", "--profile", crashes, "--ranges", "4",
                                  "--range-size", "100", "--correct-seeds", "40", "-j", "2", "--no-progress",
                                  "-o", str(table)])
    assert result.exit_code == 0, result.output
    # by hand: each range's seeds in order, up to the first violation
    sc = load_variant(crashes, [], ["amnesia"])
    counts, firsts = [], []
    for r in range(4):
        for k in range(100):
            if simulate(sc, r * 100 + k).verdict.violations:
                counts.append(k + 1)
                firsts.append(r * 100 + k)
                break
    assert len(counts) == 4  # amnesia is caught in every range of this profile
    cell = f"{float(np.percentile(counts, 50)):g} / {round(float(np.percentile(counts, 95)), 2):g} (4/4)"
    assert f"| amnesia | {cell} |" in table.read_text(), (counts, table.read_text())
    # the first violating seed of a range violates from the command line too, the seed before it does not
    assert runner.invoke(main, ["run", crashes, "--bug", "amnesia", "--seed", str(firsts[1])]).exit_code == 1
    assert runner.invoke(main, ["run", crashes, "--bug", "amnesia", "--seed", str(firsts[1] - 1)]).exit_code == 0
    # "0 violations in 40 seeds": the correct protocol, run by hand on the same seeds
    assert "| correct protocol | 0 violations in 40 seeds |" in table.read_text()
    assert not any(simulate(load_variant(crashes, [], []), s).verdict.violations for s in range(40))


def test_a_workload_sweeps_row_matches_a_recomputation(runner, tmp_path):
    out = tmp_path / "kv.jsonl"
    result = runner.invoke(main, ["sweep", str(ROOT / "scenarios" / "kv-lossy.yaml"), "--seeds", "0:6", "-j", "1",
                                  "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["combinations"]
    ops = [json.loads(line)["ops"] for line in out.read_text().splitlines()[1:]]
    assert len(ops) == 6
    w = row["workload"]
    assert w["ops_per_s"] == pytest.approx(float(np.mean([o["ops_per_s"] for o in ops])), rel=1e-12)
    assert w["ops_ok"] == sum(o["ok"] for o in ops) and w["unknown_outcome"] == sum(o["info"] for o in ops)
    # README: op p50 the median of the runs' median latencies, op p99 the 99th percentile of their p99s
    assert w["latency_p50"] == pytest.approx(float(np.percentile([o["p50"] for o in ops], 50)), rel=1e-12)
    assert w["latency_p99"] == pytest.approx(float(np.percentile([o["p99"] for o in ops], 99)), rel=1e-12)
    assert w["lin_unknown"] == sum(o["linearizability"] not in ("linearizable", "not linearizable") for o in ops)


def test_a_run_that_violated_safety_is_not_decided_within_the_bound(runner, tmp_path):
    # partition.yaml has expect.within 1s; small-quorum breaks integrity on some seeds, which then
    # counted as "decided within 1000ms" although the decided column leaves them out (93.3% against 100%)
    out = tmp_path / "w.jsonl"
    result = runner.invoke(main, ["sweep", str(ROOT / "scenarios" / "partition.yaml"), "--seeds", "0:30",
                                  "--bug", "small-quorum", "-j", "1", "-o", str(out), "--json"])
    assert result.exit_code == 1, result.output
    (row,) = json.loads(result.stdout)["combinations"]
    assert row["violating_runs"] > 0
    runs = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert not any(r["within"] for r in runs if r["outcome"] != "decided")
    expected = sum(r["outcome"] == "decided" and r["decision_t"] <= 1000 for r in runs) / len(runs)
    assert row["decided_within"] == expected <= row["decided"]


def _fates_from_trace(events):
    """(src, dst, type, ballot, n) -> what became of that message, read from the trace alone."""
    sends, out, counts = {}, {}, {}
    for e in events:
        if e["kind"] == "send" and e["src"] != e["dst"]:
            ballot = getattr(e["msg"], "ballot", None)
            base = (e["src"], e["dst"], e["msg"].type, tuple(ballot) if ballot is not None else None)
            counts[base] = counts.get(base, 0) + 1
            sends[e["id"]] = (base + (counts[base],), e["t"])
        elif e["kind"] in ("deliver", "drop") and e["id"] in sends:
            key, sent = sends.pop(e["id"])
            out[key] = (e["kind"], e.get("reason"), round(e["t"] - sent, 6))
    return out


def test_messages_both_variants_send_meet_the_same_fate_in_their_traces():
    from paxsim.scenario import load_scenario, load_variant
    from paxsim.sim.crn import simulate_crn

    for path, change in (("lossy.yaml", "protocol.write_latency=1ms"), ("duel.yaml", "protocol.retry.timeout=10ms")):
        path = str(ROOT / "scenarios" / path)
        a, b = load_scenario(path), load_variant(path, [change], [])
        both = other = 0
        for seed in range(8):
            fa, fb = _fates_from_trace(simulate_crn(a, seed).events), _fates_from_trace(simulate_crn(b, seed).events)
            common = fa.keys() & fb.keys()
            other += fa.keys() != fb.keys()
            assert [k for k in common if fa[k] != fb[k]] == [], (path, seed)
            both += len(common)
        assert both > 300
        if "retry" in change:  # a schedule reshaped: messages one variant sends and the other does not
            assert other > 0


def test_compare_help_examples_compare_something_and_a_no_op_variant_is_noted(runner):
    # duel.yaml's retry timeout is 20ms already: --help's first example compared duel with itself
    import shlex

    from paxsim import compare as cmp

    text = runner.invoke(main, ["compare", "--help"]).output.replace("\\\n", " ")
    examples = [line.split() for line in text.splitlines() if line.strip().startswith("paxsim compare ")]
    assert len(examples) == 3
    for words in examples:
        words = shlex.split(" ".join(words))
        variants = [words[i + 1] for i, w in enumerate(words) if w == "--variant"]
        plan = cmp.plan_variants(str(ROOT / words[2]), variants)
        assert len({v.key for v in plan}) == len(plan), words
    result = runner.invoke(main, ["compare", str(ROOT / "scenarios" / "duel.yaml"), "--seeds", "0:2", "-j", "1",
                                  "--variant", "base:", "--variant", "fast:protocol.retry.timeout=20ms"])
    assert result.exit_code == 0, result.output
    assert "note: variant fast is the same scenario as base" in result.stderr
    result = runner.invoke(main, ["compare", str(ROOT / "scenarios" / "duel.yaml"), "--seeds", "0:2", "-j", "1",
                                  "--variant", "base:", "--variant", "fast:protocol.retry.timeout=10ms"])
    assert result.exit_code == 0 and "note:" not in result.stderr


NO_BACKOFF = """\
name: no-retry-no-backoff
seed: 1
duration: 2s
nodes: 3
protocol:
  retry: {{timeout: 20ms, backoff: 1, max: 100ms}}
  bugs: [no-retry]
proposers:
  - {{node: n1, value: apple, at: 10ms}}
faults:
  - {{at: 0ms, partition: [[n1], [n2, n3]]}}
  - {{at: {heal}ms, heal: all}}
"""


def test_without_backoff_the_longest_retry_wait_is_the_timeouts(runner, write):
    # backoff 1: every wait is timeout * (1 +- jitter), at most 30 ms, so the threshold is 90 ms (the README
    # said max * (1 + jitter), 450 ms here, which the proposer never waits)
    for heal, cls in ((1900, "suspicious"), (1920, "expected")):  # good windows of 100 and 80 ms
        result = runner.invoke(main, ["run", str(write(NO_BACKOFF.format(heal=heal), f"nb{heal}.yaml")), "--json"])
        live = json.loads(result.stdout)["liveness"]
        assert (live["class"], live["threshold_ms"]) == (cls, 90.0), heal


def test_the_summary_of_many_seeds_takes_little_memory():
    # the bootstrap held (2000, seeds) matrices: 3.2 GB at 20,000 seeds, out of memory at 200,000, after
    # every run had finished; now it draws the same resamples a block at a time
    import random
    import tracemalloc

    from paxsim import compare as cmp

    plan = cmp.plan_variants(LOSSY, ["a:", "b:network.loss=0.3"])
    rng = random.Random(1)
    records = [{"seed": s, "same_fates": {"a": 1.0, "b": 0.5},
                "variants": {name: {"outcome": "decided", "decision_t": rng.expovariate(0.02),
                                    "sent": rng.randint(40, 120), "violations": []} for name in ("a", "b")}}
               for s in range(4000)]
    tracemalloc.start()
    try:
        pair = cmp.summarize_compare(LOSSY, plan, records)["pairs"][0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pair["p99_diff_ci"][0] is not None
    assert peak < 100 * 2**20, peak  # one (2000, 4000) float matrix alone is 61 MiB
