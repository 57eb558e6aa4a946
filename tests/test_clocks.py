"""Per-node clocks: timers on the node's clock (offset, drift, steps), the
local time in the trace, the random profile, and the duel they break."""

import json

import pytest

from paxsim.cli import main
from paxsim.scenario import load_scenario, parse_scenario
from paxsim.sim import simulate

from .conftest import ROOT

DUEL = ROOT / "examples" / "duel-clocks.yaml"

# n1 proposes but every message it sends is cut: it retries every 20 ms of
# its own clock, for ever.
RETRY = """\
name: clocks
duration: 100ms
nodes: 3
protocol:
  retry: {{timeout: 20ms, backoff: 1.0, jitter: 0.0}}
proposers:
  - {{node: n1, value: apple}}
faults:
  - {{at: 0ms, cut: {{from: n1, to: n2}}}}
  - {{at: 0ms, cut: {{from: n1, to: n3}}}}
clocks:
  nodes:
    n1: {clock}
"""


def timer_events(runner, write, tmp_path, clock):
    trace = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(write(RETRY.format(clock=clock))), "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    clocks = [e for e in events if e["kind"] == "clocks"]
    return [e for e in events if e["kind"] == "timer" and e["node"] == "n1"], clocks


def test_a_fast_clock_fires_its_timers_early_and_the_trace_shows_local_time(runner, write, tmp_path):
    timers, clocks = timer_events(runner, write, tmp_path, "{offset: 3ms, drift: 100000ppm}")  # 10% fast
    assert clocks[0]["nodes"]["n1"] == {"offset": 3.0, "drift": 100000.0}
    assert clocks[0]["nodes"]["n2"] == {"offset": 0.0, "drift": 0.0}
    assert len(timers) == 5  # 100 ms global is 110 ms local: 5 retries of 20 ms
    for k, ev in enumerate(timers, 1):
        assert ev["name"] == "retry"
        assert ev["t"] == pytest.approx(20.0 * k / 1.1)
        assert ev["local"] == pytest.approx(3.0 + ev["t"] * 1.1)


def test_a_slow_clock_fires_late(runner, write, tmp_path):
    timers, _ = timer_events(runner, write, tmp_path, "{drift: -200000ppm}")  # 20% slow
    assert [round(e["t"], 6) for e in timers] == [25.0, 50.0, 75.0, 100.0][:len(timers)]
    assert len(timers) >= 3


def test_step_offsets_move_pending_timers(runner, write, tmp_path):
    # The retry set at 20 ms is due at local 40; the clock jumps 15 ms forward
    # at 30 ms (to local 45), so it fires then.  The next, set at 50 ms (local
    # 65), is due at local 85; a 25 ms step back at 60 ms delays it to 95 ms.
    timers, _ = timer_events(runner, write, tmp_path, "{steps: [{at: 30ms, by: 15ms}, {at: 60ms, by: -25ms}]}")
    assert [e["t"] for e in timers[:4]] == [20.0, 30.0, 50.0, 95.0]
    assert [e["local"] for e in timers[:4]] == [20.0, 45.0, 65.0, 85.0]


def test_without_clocks_there_are_no_clock_events(runner, tmp_path):
    trace = tmp_path / "t.jsonl"
    runner.invoke(main, ["run", str(ROOT / "scenarios" / "duel.yaml"), "--trace", str(trace)])
    kinds = {json.loads(line)["kind"] for line in trace.read_text().splitlines()}
    assert "clocks" not in kinds and "timer" not in kinds


def test_the_random_profile_draws_per_node_and_seed():
    sc = load_scenario(DUEL)
    def drawn(seed):
        (ev,) = [e for e in simulate(sc, seed).events if e["kind"] == "clocks"]
        return ev["nodes"]
    a, b = drawn(1), drawn(2)
    assert a == drawn(1) and a != b
    for clocks in (a, b):
        assert len(clocks) == 5
        assert all(-200 <= c["drift"] <= 200 and c["offset"] == 0 for c in clocks.values())
        assert len({c["drift"] for c in clocks.values()}) == 5


def test_drift_breaks_a_lockstep_duel():
    exact = load_scenario(DUEL)
    exact = exact.with_changes(clocks=None)
    drifting = load_scenario(DUEL)
    seeds = range(12)
    assert not any(simulate(exact, s).verdict.decided for s in seeds)  # lockstep for ever
    decided = [s for s in seeds if simulate(drifting, s).verdict.decided]
    assert 0 < len(decided) < len(seeds)


def test_clock_settings_are_validated(runner, write):
    for clock_block, words in (("  nodes: {n9: {drift: 5ppm}}", "no node named 'n9'"),
                               ("  nodes: {n1: {drift: fast}}", "drift"),
                               ("  default: {offset: -3ms, lag: 1}", "lag")):
        text = ("nodes: 3\nproposers: [{node: n1, value: a}]\nclocks:\n" + clock_block + "\n")
        result = runner.invoke(main, ["run", str(write(text))])
        assert result.exit_code == 2, result.output
        assert words in result.stderr and ":4" in result.stderr.splitlines()[0]
    sc = parse_scenario("nodes: 3\nproposers: [{node: n1, value: a}]\n"
                        "clocks: {default: {offset: -3ms, drift: 7}, nodes: {n2: {drift: -5ppm}}}\n")
    assert sc.to_dict()["clocks"]["nodes"] == {"n2": {"offset": -3.0, "drift": -5.0}}


def test_clock_events_are_part_of_the_trace_format(runner, write, tmp_path):
    trace = tmp_path / "t.jsonl"
    runner.invoke(main, ["run", str(write(RETRY.format(clock="{drift: 100000ppm}"))), "--trace", str(trace)])
    assert runner.invoke(main, ["check", str(trace)]).exit_code == 0
    lines = trace.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"kind":"timer"' in line)
    lines[at] = lines[at].replace('"local"', '"lokal"')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(main, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"bad.jsonl:{at + 1}: local: missing (required in a 'timer' event)" in result.stderr
