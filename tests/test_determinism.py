"""Same scenario + seed => byte-identical trace, in any process, with any
PYTHONHASHSEED; different seeds differ; replay confirms and detects."""

import os
import subprocess
import sys

import pytest

from paxsim import load_scenario, simulate
from paxsim.cli import main

from .conftest import ROOT, SCENARIOS


def trace_in_subprocess(tmp_path, scenario, seed, hashseed, name):
    out = tmp_path / name
    env = dict(os.environ, PYTHONHASHSEED=str(hashseed))
    subprocess.run(
        [sys.executable, "-m", "paxsim", "run", str(scenario), "--seed", str(seed), "--trace", str(out)],
        env=env, cwd=ROOT, check=False, capture_output=True,
    )
    return out.read_bytes()


@pytest.mark.parametrize("name", ["partition.yaml", "duplicates.yaml", "volatile.yaml"])
def test_byte_identical_across_processes_and_hash_seeds(tmp_path, name):
    scenario = ROOT / "scenarios" / name
    a = trace_in_subprocess(tmp_path, scenario, 1234, 0, "a.jsonl")
    b = trace_in_subprocess(tmp_path, scenario, 1234, 4242, "b.jsonl")
    c = trace_in_subprocess(tmp_path, scenario, 1235, 0, "c.jsonl")
    assert len(a) > 1000
    assert a == b
    assert a != c
    # and the in-process API gives the same bytes
    run = simulate(load_scenario(scenario), 1234)
    assert "".join(run.lines()).encode() == a


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_repeatable_in_process(path):
    sc = load_scenario(path)
    assert simulate(sc, 5).lines() == simulate(sc, 5).lines()
    assert simulate(sc, 5).lines() != simulate(sc, 6).lines()


def test_replay_confirms_identical(runner, tmp_path):
    t = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/partition.yaml"), "--seed", "99", "--trace", str(t)]).exit_code == 0
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("identical: ")


def test_replay_reports_first_difference(runner, tmp_path):
    t = tmp_path / "run.jsonl"
    runner.invoke(main, ["run", str(ROOT / "scenarios/lossy.yaml"), "--trace", str(t)])
    lines = t.read_text().splitlines(keepends=True)
    lines[10] = lines[10].replace('"t":', '"t":1')
    t.write_text("".join(lines))
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 1
    assert "DIFFERENT at line 11" in result.stdout
    # a truncated trace differs too
    t.write_text("".join(lines[:5]))
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 1 and "DIFFERENT at line 6" in result.stdout


@pytest.mark.parametrize("line, why, shown", [
    ('{"kind":"send","t":1,"x":' + "[" * 100_000 + "]" * 100_000 + "}", "not JSON Python can read (nested too deeply)",
     '{"kind":"send","t":1,"x":[[[['),
    ('{"kind":"send","t":' + "1" * 5000 + "}",
     "not JSON Python can read (a whole number of 5,000 digits, more than the 4,300 Python reads)", '"t":1111'),
], ids=["nested", "long-number"])
def test_replay_of_a_line_python_cannot_read_says_different(runner, tmp_path, line, why, shown):
    """A line nested 100,000 deep, or with a 5,000-digit number, is not JSON
    that Python reads: replay says the line differs (exit 1), with the line
    cut short, where it gave a RecursionError or ValueError traceback."""
    t = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/partition.yaml"), "--trace", str(t)]).exit_code == 0
    lines = t.read_text().splitlines(keepends=True)
    t.write_text("".join(lines[:3] + [line + "\n"] + lines[4:]))
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 1, result.output
    out = result.stdout.splitlines()
    assert out[0] == f"DIFFERENT at line 4: the trace's line is {why}"
    assert out[1].startswith("  trace:  " + line[:300]) and f"... ({len(line):,} characters)" in out[1]
    assert shown in out[1] and len(out[1]) < 400
    assert out[2] == "  replay: " + lines[3].rstrip("\n")


def test_replay_of_a_time_too_large_for_a_float_says_different(runner, tmp_path):
    """A time of 10**400 ms is read (JSON's integers have no bound) but is no
    float: replay showed it with an OverflowError traceback."""
    t = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/partition.yaml"), "--trace", str(t)]).exit_code == 0
    lines = t.read_text().splitlines(keepends=True)
    first, rest = lines[3].split('"t":', 1)
    lines[3] = first + '"t":1' + "0" * 400 + rest[rest.index("}"):]
    t.write_text("".join(lines))
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 1, result.output
    out = result.stdout.splitlines()
    assert out[0] == "DIFFERENT at line 4 (seq 2): t"
    assert out[1].startswith("  trace:   t=1" + "0" * 39 + "... (401 characters)  in  seq 2 t=1" + "0" * 39 + "...")


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_checker_verdict_is_the_same_on_memory_filtered_and_file_forms(path):
    """Run.verdict checks only the events the checker reads; it must equal the
    verdict on every event, and on the events as read back from the file."""
    from paxsim import check

    sc = load_scenario(path)
    for seed in range(5):
        run = simulate(sc, seed)
        fast = run.verdict.to_json()
        assert check(run.events).to_json() == fast
        assert check(run.lines_as_events()).to_json() == fast


def test_replay_of_a_trace_with_its_lines_reordered(runner, tmp_path):
    # The trace format lets lines come in any order, and `paxsim check` of
    # such a file offers `paxsim replay FILE`: replay said DIFFERENT (exit 1).
    import random

    t = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/volatile.yaml"), "--seed", "3",
                                "--trace", str(t)]).exit_code == 1
    lines = t.read_text().splitlines(keepends=True)
    body = lines[1:]  # the header comes first; the rest in any order
    random.Random(4).shuffle(body)
    lines = lines[:1] + body
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("".join(lines))
    check = runner.invoke(main, ["check", str(shuffled)])
    assert check.exit_code == 1 and f"paxsim replay {shuffled}" in check.stdout
    result = runner.invoke(main, ["replay", str(shuffled)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("identical events: ") and "another line order" in result.stdout
    # but reordered and changed, or a line twice in place of another, still differs
    for bad in ([ln.replace('"t":', '"t":1', 1) if i == 7 else ln for i, ln in enumerate(lines)],
                lines[:-1] + [lines[0]]):
        shuffled.write_text("".join(bad))
        assert runner.invoke(main, ["replay", str(shuffled)]).exit_code == 1
