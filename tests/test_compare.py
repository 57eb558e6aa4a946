"""paxsim compare: variants on common random numbers, paired differences,
the share of message fates two variants share, and safety per variant."""

import json
import shlex

import pytest

from paxsim.cli import main
from paxsim.scenario import load_scenario
from paxsim.sim import simulate
from paxsim.sim.crn import same_fates, simulate_crn

from .conftest import ROOT

LOSSY = str(ROOT / "scenarios" / "lossy.yaml")
VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")


def compare_json(runner, *args, code=0):
    result = runner.invoke(main, ["compare", *args, "-j", "1", "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def _diff_fields(obj, prefix=""):
    for k, v in obj.items():
        if k.endswith("_diff") or k.endswith("_diff_ci"):
            yield prefix + k, v


def test_identical_variants_differ_by_exactly_zero(runner):
    data = compare_json(runner, LOSSY, "--seeds", "0:30", "--variant", "a:", "--variant", "b:network.loss=0.2")
    (pair,) = data["pairs"]
    fields = dict(_diff_fields(pair))
    assert {"p50_diff", "p95_diff", "p99_diff", "messages_per_decision_diff", "undecided_diff",
            "mean_t_diff", "violating_runs_diff"} <= set(fields)
    for name, value in fields.items():
        if name in ("p95_diff_ci", "p99_diff_ci"):  # 30 seeds: too few for these intervals (withheld)
            assert value == [None, None], name
        elif name.endswith("_ci"):
            assert value == [0.0, 0.0], name
        else:
            assert value == 0, name
    assert pair["mean_t_diff"] == 0 and pair["mean_t_diff_ci"] == [0.0, 0.0]
    assert pair["same_fates"] == 1.0
    assert data["variants"][0]["p50"] == data["variants"][1]["p50"] is not None


def test_common_random_numbers_keep_schedules_close_and_narrow_the_interval(runner):
    # A slow disk changes when replies leave, and so the order of draws: in the
    # default mode most later fates move; keyed to their purpose, few do.
    base, disk = load_scenario(LOSSY), load_scenario(LOSSY).with_changes(write_latency=1.0)
    crn = [same_fates(simulate_crn(base, s).message_fates, simulate_crn(disk, s).message_fates) for s in range(5)]
    default = [same_fates(simulate(base, s, record=True).fates, simulate(disk, s, record=True).fates)
               for s in range(5)]
    assert sum(crn) / 5 > 0.9
    assert sum(crn) > sum(default) + 1.0  # a clear margin, seed by seed summed
    data = compare_json(runner, LOSSY, "--seeds", "0:60", "--variant", "base:",
                        "--variant", "disk:protocol.write_latency=1ms")
    (pair,) = data["pairs"]
    assert pair["same_fates"] > 0.9
    assert pair["mean_t_diff"] > 0  # a slower disk decides later
    lo, hi = pair["mean_t_diff_ci"]
    assert lo <= pair["mean_t_diff"] <= hi and lo > 0
    assert pair["ci_width_unpaired"] > 2 * pair["ci_width_paired"]
    assert pair["unpaired_seeds_needed"] > 4 * 60


def test_a_buggy_variant_shows_its_violations_beside_a_clean_baseline(runner):
    data = compare_json(runner, VOLATILE, "--seeds", "0:40", "--variant", "durable:protocol.storage=durable",
                        "--variant", "volatile:", code=1)
    durable, volatile = data["variants"]
    assert durable["violating_runs"] == 0 and durable["violations"] == []
    assert volatile["violating_runs"] > 0
    # a share of the runs, as undecided_diff, in the unit of its own interval
    pair = data["pairs"][0]
    assert pair["violating_runs_diff"] == pytest.approx(volatile["violating_runs"] / 40)
    lo, hi = pair["violating_runs_diff_ci"]
    assert 0 < lo <= pair["violating_runs_diff"] <= hi < 1
    text = runner.invoke(main, ["compare", VOLATILE, "--seeds", "0:40", "-j", "1", "--variant",
                                "durable:protocol.storage=durable", "--variant", "volatile:"]).stdout
    assert "violated in" in text and "of variant volatile" in text
    line = next(x for x in text.splitlines() if "reproduce: paxsim compare" in x)
    again = runner.invoke(main, ["compare", *shlex.split(line.split("reproduce: paxsim compare ")[1]), "-j", "1"])
    assert again.exit_code == 1 and "violated in 1 run(s) of variant volatile" in again.stdout


def test_common_random_numbers_are_deterministic():
    sc = load_scenario(LOSSY)
    a, b = simulate_crn(sc, 3), simulate_crn(sc, 3)
    assert a.lines() == b.lines()
    assert a.lines() != simulate(sc, 3).lines()  # its own mode: other draws than `paxsim run`


def test_plot_and_results_file(runner, tmp_path):
    png, out = tmp_path / "d.png", tmp_path / "r.jsonl"
    result = runner.invoke(main, ["compare", LOSSY, "--seeds", "0:10", "-j", "1", "--variant", "base:",
                                  "--variant", "disk:protocol.write_latency=1ms", "--plot", str(png), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["kind"] == "compare-header"
    assert sorted(r["seed"] for r in lines[1:]) == list(range(10))
    assert "disk - base (paired, 10 seeds" in result.stdout


def test_bad_variants_are_one_line_and_exit_2(runner):
    for args, words in ((["--variant", "base:"], "at least two --variant"),
                        (["--variant", "base", "--variant", "x:"], "expected NAME:PATH=VALUE"),
                        (["--variant", "a:", "--variant", "a:network.loss=0.1"], "used twice"),
                        (["--variant", "a:", "--variant", "b:network.loss=2"], "network.loss")):
        result = runner.invoke(main, ["compare", LOSSY, "--seeds", "0:2", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_undecided_runs_are_classed_per_variant(runner):
    duel = str(ROOT / "examples" / "duel-clocks.yaml")
    data = compare_json(runner, duel, "--seeds", "0:6", "--variant", "drift:", "--variant",
                        "exact:clocks.random.drift=0")
    drift, exact = data["variants"]
    assert exact["undecided"] == 1.0 and exact["undecided_suspicious"] == 6  # lockstep on a good network
    assert drift["undecided_suspicious"] == round(drift["undecided"] * 6)


def test_scripts_fix_fates_in_common_random_numbers_too(runner):
    # A shrunk counterexample scripts every fate: both modes replay it exactly.
    path = ROOT / "scenarios" / "bugs" / "ignore-accepted.yaml"
    sc = load_scenario(path)
    assert simulate_crn(sc).lines() == simulate(sc).lines()
    data = compare_json(runner, str(path), "--seeds", "0:2", "--variant", "a:", "--variant", "b:", code=1)
    assert [v["violating_runs"] for v in data["variants"]] == [2, 2]


def test_results_file_is_the_same_with_one_or_two_workers(tmp_path):
    """Through the `paxsim` program (whose workers fork): chunks are written
    in seed order whichever process finished one first, so the files match
    line for line."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    texts = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.jsonl"
        proc = subprocess.run([sys.executable, "-m", "paxsim", "compare", LOSSY, "--seeds", "0:120", "-j", jobs,
                               "--variant", "base:", "--variant", "lossier:network.loss=0.2", "-o", str(out),
                               "--no-progress"],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        texts.append(out.read_text())
    assert texts[0] == texts[1]
    assert [json.loads(line)["seed"] for line in texts[1].splitlines()[1:]] == list(range(120))


def test_a_multi_paxos_scenario_is_refused_in_one_line(runner):
    # The common-random-numbers runtime runs single-decree Paxos only: a KV scenario
    # used to crash in the worker with a traceback (and exit 1, as if it had violated).
    kv = str(ROOT / "scenarios" / "kv.yaml")
    result = runner.invoke(main, ["compare", kv, "--seeds", "0:2", "--variant", "base:",
                                  "--variant", "w:protocol.window=2", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"{kv}:7: protocol.kind: paxsim compare runs single-decree scenarios")
    assert result.stdout == ""


DUEL = str(ROOT / "scenarios" / "duel.yaml")
RESUMABLE = ["compare", DUEL, "--seeds", "0:40", "--variant", "base:", "--variant", "fast:protocol.retry.timeout=10ms",
             "-j", "1", "--json"]


def test_compare_resume_reads_back_the_seeds_it_has_and_reports_as_an_uninterrupted_run(runner, tmp_path):
    whole = tmp_path / "whole.jsonl"
    full = runner.invoke(main, [*RESUMABLE, "-o", str(whole)])
    assert full.exit_code == 0, full.output
    lines = whole.read_text().splitlines(keepends=True)
    assert len(lines) == 41  # a header and a line a seed
    cut = tmp_path / "cut.jsonl"  # as a kill leaves it: 15 seeds and half a line
    cut.write_text("".join(lines[:16]) + lines[16][:30])
    resumed = runner.invoke(main, [*RESUMABLE, "-o", str(cut), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout) == json.loads(full.stdout)
    assert cut.read_text() == whole.read_text()  # the half line dropped, the other 25 seeds appended in order


def test_compare_resume_runs_no_seed_twice(runner, tmp_path, monkeypatch):
    import paxsim.compare

    out = tmp_path / "c.jsonl"
    assert runner.invoke(main, [*RESUMABLE, "-o", str(out)]).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:11]))  # 10 seeds kept
    ran = []
    real = paxsim.compare.compare_chunk

    def counted(variants, seeds):
        ran.extend(seeds)
        return real(variants, seeds)

    monkeypatch.setattr(paxsim.compare, "compare_chunk", counted)
    assert runner.invoke(main, [*RESUMABLE, "-o", str(out), "--resume"]).exit_code == 0
    assert ran == list(range(10, 40))


def test_compare_resume_refuses_another_comparison_in_one_line(runner, tmp_path):
    out = tmp_path / "c.jsonl"
    assert runner.invoke(main, [*RESUMABLE, "-o", str(out)]).exit_code == 0
    before = out.read_text()
    other = [*RESUMABLE[:-5], "--variant", "fast:protocol.retry.timeout=11ms", "-j", "1", "--json"]
    wrong = runner.invoke(main, [*other, "-o", str(out), "--resume"])
    assert wrong.exit_code == 2 and wrong.stderr.count("\n") == 1, wrong.output
    assert wrong.stderr.startswith(f"{out}:1: variants: the file was written for ")
    again = runner.invoke(main, [*RESUMABLE, "-o", str(out)])
    assert again.exit_code == 2 and again.stderr == f"{out} exists: pass --resume to continue it, or choose another -o\n"
    assert out.read_text() == before  # neither touched the file
    sweep_file = tmp_path / "sweep.jsonl"
    assert runner.invoke(main, ["sweep", DUEL, "--seeds", "0:3", "-j", "1", "-o", str(sweep_file)]).exit_code == 0
    not_compare = runner.invoke(main, [*RESUMABLE, "-o", str(sweep_file), "--resume"])
    assert not_compare.exit_code == 2 and not_compare.stderr.startswith(f"{sweep_file}:1: not a paxsim compare header")
    no_file = runner.invoke(main, [*RESUMABLE, "--resume"])
    assert no_file.exit_code == 2 and no_file.stderr == "--resume: give the -o FILE of the comparison to continue\n"
