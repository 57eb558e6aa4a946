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
