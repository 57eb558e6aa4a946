"""Runs that hold no trace: the trace streamed to its file as the run goes
(byte for byte the file a kept run writes), the checker fed as the run goes
(the same verdicts and explanations), and Ctrl-C leaving a readable prefix."""

import json
import signal
import subprocess
import sys
import time

import pytest

from paxsim.check import Checker
from paxsim.cli import main
from paxsim.scenario import load_scenario
from paxsim.sim import DISCARD, simulate
from paxsim.trace import TraceWriter, read_trace

from .conftest import ROOT

# Shipped scenarios covering faults, duplicates, clocks, slow disks, multi-paxos and violating bugs.
CASES = ["partition.yaml", "duplicates.yaml", "volatile.yaml", "crash-majority.yaml", "kv-failover.yaml",
         "bugs/amnesia.yaml", "bugs/hides-accepted.yaml", "bugs/small-quorum.yaml",
         "kv-partition.yaml", "bugs/stale-read.yaml", "bugs/no-dedup.yaml", "bugs/skip-recovery.yaml",
         "bugs/hole-skip.yaml"]


def explained(verdict):
    return verdict.to_json(), [v.explain() for v in verdict.violations]


@pytest.mark.parametrize("name", CASES)
def test_streamed_trace_and_verdict_equal_a_kept_run(name, tmp_path):
    sc = load_scenario(ROOT / "scenarios" / name)
    violations = 0
    for seed in range(4):
        kept = simulate(sc, seed)
        kept.write_trace(tmp_path / "kept.jsonl")
        with TraceWriter(tmp_path / "streamed.jsonl") as writer:
            streamed = simulate(sc, seed, sink=writer)
        assert (tmp_path / "streamed.jsonl").read_bytes() == (tmp_path / "kept.jsonl").read_bytes()
        dropped = simulate(sc, seed, sink=DISCARD)
        for run in (streamed, dropped):
            assert explained(run.verdict) == explained(kept.verdict)
            assert run.header == kept.events[0] and run.end == kept.events[-1]
            assert (run.verdict.liveness is None) == (kept.verdict.liveness is None)
            if kept.verdict.liveness is not None:
                assert run.verdict.liveness.cls == kept.verdict.liveness.cls
            assert run.verdict.budget == kept.verdict.budget
        violations += bool(kept.verdict.violations)
    if name.startswith("bugs/"):
        assert violations, "the bug scenarios must exercise explanations"


def test_a_streamed_run_holds_no_events_and_its_checker_no_promises():
    sc = load_scenario(ROOT / "scenarios" / "large.yaml")
    run = simulate(sc, 1, sink=DISCARD)
    with pytest.raises(RuntimeError, match="streamed"):
        run.events
    checker = run._observed
    assert isinstance(checker, Checker)
    assert checker.promise_sends == [] and checker.promises == {}
    assert [ev["kind"] for ev in checker.kept] == ["header", "end"]
    assert run.verdict.ok and run.totals == simulate(sc, 1).totals


def test_cli_run_trace_is_the_kept_runs_file(runner, tmp_path):
    out = tmp_path / "run.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "bugs" / "amnesia.yaml"), "--bug", "amnesia",
                                  "--seed", "0", "--trace", str(out), "--json"])
    kept = simulate(load_scenario(ROOT / "scenarios" / "bugs" / "amnesia.yaml"), 0)
    assert result.exit_code == (1 if kept.verdict.violations else 0), result.output
    assert out.read_text() == "".join(kept.lines())
    summary = json.loads(result.output)
    checked = runner.invoke(main, ["check", str(out), "--json"])
    assert json.loads(checked.output)["verdict"] == summary["verdict"]


LONG = """
name: long
nodes: 41
duration: 60s
protocol:
  retry: {timeout: 4ms, backoff: 1.0, jitter: 0.5, max: 4ms}
proposers:
  - {node: n1, value: a}
  - {node: n11, value: b}
  - {node: n21, value: c}
network:
  latency: {dist: lognormal, median: 5ms, sigma: 0.6}
"""


def test_ctrl_c_leaves_a_trace_prefix_that_check_calls_incomplete(write, tmp_path):
    sc = write(LONG)
    out = tmp_path / "run.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", "run", str(sc), "--trace", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 100_000):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "incomplete" in err
    text = out.read_text()
    assert text.endswith("\n")
    events = read_trace(out)  # every line whole and valid
    assert events[0]["kind"] == "header" and events[-1]["kind"] != "end"
    check = subprocess.run([sys.executable, "-m", "paxsim", "check", str(out)], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert check.returncode == 2, check.stderr
    assert "incomplete trace" in check.stderr and "Traceback" not in check.stderr


def check_json(runner, path):
    result = runner.invoke(main, ["check", str(path), "--json"])
    return result.exit_code, json.loads(result.output) if result.output.strip() else None


@pytest.mark.parametrize("name", CASES)
def test_check_streams_a_trace_file_to_the_verdict_of_the_whole_file(name, runner, tmp_path, monkeypatch):
    from paxsim.check import check
    from paxsim.report import summary_json

    sc = load_scenario(ROOT / "scenarios" / name)
    for seed in range(2):
        path = tmp_path / f"{seed}.jsonl"
        simulate(sc, seed).write_trace(path)
        events = read_trace(path)
        verdict = check(events)
        expected = summary_json(events[0], verdict, f"paxsim replay {path}")
        code, got = check_json(runner, path)
        assert got == expected
        assert code == (1 if verdict.violations else 0)
        # Lines in another order (allowed: events are judged in seq order) are read whole, to the same verdict.
        lines = path.read_text().splitlines(keepends=True)
        shuffled = tmp_path / f"{seed}-shuffled.jsonl"
        shuffled.write_text(lines[0] + "".join(reversed(lines[1:])))
        assert check_json(runner, shuffled)[1] == summary_json(events[0], verdict, f"paxsim replay {shuffled}")


def test_check_of_a_good_trace_never_holds_the_whole_file(runner, tmp_path, monkeypatch):
    path = tmp_path / "run.jsonl"
    simulate(load_scenario(ROOT / "scenarios" / "partition.yaml"), 3).write_trace(path)

    def whole(*_):
        raise AssertionError("read the whole trace")

    monkeypatch.setattr("paxsim.cli.read_trace", whole)
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "verdict:   OK: every learner agrees on" in result.output


def test_replay_of_an_identical_trace_compares_as_it_runs(runner, tmp_path, monkeypatch):
    path = tmp_path / "run.jsonl"
    simulate(load_scenario(ROOT / "scenarios" / "duplicates.yaml"), 5).write_trace(path)
    n = len(path.read_text().splitlines())

    def whole(*_):
        raise AssertionError("held both traces")

    monkeypatch.setattr("paxsim.view.replay_difference", whole)
    result = runner.invoke(main, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"identical: {n} lines, seed 5")
    monkeypatch.undo()
    # One changed byte, or one line more, and the whole-file comparison words the difference.
    text = path.read_text()
    for bad in (text.replace('"t":', '"t": ', 1), text + text.splitlines(keepends=True)[-1]):
        path.write_text(bad)
        result = runner.invoke(main, ["replay", str(path)])
        assert result.exit_code == 1 and result.output.startswith("DIFFERENT at line"), result.output


class _Counted(dict):
    """An event that counts how many are alive (CPython frees one as soon as nothing holds it)."""

    alive = peak = made = 0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        _Counted.alive += 1
        _Counted.made += 1
        _Counted.peak = max(_Counted.peak, _Counted.alive)

    def __del__(self) -> None:
        _Counted.alive -= 1


@pytest.mark.parametrize("name, seed", [("kv-heavy.yaml", 5), ("bugs/no-dedup.yaml", 0)])
def test_check_of_a_kv_trace_holds_its_history_not_its_events(name, seed, runner, tmp_path, monkeypatch):
    # `paxsim check` of a multi-paxos trace read it whole (8.5 GB for a one-minute
    # run's 800 MB trace); it now keeps the client events, the header and the end,
    # and per slot only what its properties quote, violation or not.
    import paxsim.cli
    import paxsim.trace
    from paxsim.check import check
    from paxsim.report import summary_json

    path = tmp_path / "run.jsonl"
    simulate(load_scenario(ROOT / "scenarios" / name), seed).write_trace(path)
    events = read_trace(path)
    expected = summary_json(events[0], check(events), f"paxsim replay {path}")
    clients = sum(ev["kind"] in ("invoke", "ok", "fail", "info") for ev in events)
    streamed = paxsim.trace.iter_trace

    def whole(*_):
        raise AssertionError("read the whole trace")

    monkeypatch.setattr(paxsim.trace, "iter_trace", lambda p: (_Counted(ev) for ev in streamed(p)))
    monkeypatch.setattr(paxsim.cli, "read_trace", whole)
    _Counted.alive = _Counted.peak = _Counted.made = 0
    code, got = check_json(runner, path)
    assert got == expected
    assert code == (1 if got["verdict"]["violations"] else 0)
    assert (code == 1) == (name != "kv-heavy.yaml")
    assert _Counted.made == len(events) > 5 * clients
    assert _Counted.peak <= clients + 5, (_Counted.peak, clients, len(events))


def test_a_kv_run_without_a_trace_keeps_no_list_of_its_events():
    # A multi-paxos run with a sink judged its events from a list of every one
    # of them (1.3 GB for a one-minute run): it now feeds a checker as it goes.
    from paxsim.check_multi import MultiChecker

    sc = load_scenario(ROOT / "scenarios" / "bugs" / "stale-read.yaml")
    run = simulate(sc, 0, sink=DISCARD)
    assert isinstance(run._observed, MultiChecker)
    kept = simulate(sc, 0)
    assert explained(run.verdict) == explained(kept.verdict) and run.verdict.violations
