"""What the simulator's speed work must not cost: a run leaves no garbage
for the cyclic collector, the collector's setting is restored whatever
happens, and the early stop (`stop: when-decided`) never changes a verdict."""

import gc
from pathlib import Path

import pytest

from paxsim import parse_scenario, simulate
from paxsim.scenario import load_scenario
from paxsim.sim import runtime
from paxsim.sim.crn import simulate_crn

ROOT = Path(__file__).resolve().parent.parent

LOSSY = """
nodes: 5
duration: 2s
proposers: [{node: n1, value: a}, {node: n3, value: b, at: 2ms}]
network: {latency: {dist: lognormal, median: 1ms, sigma: 0.5}, loss: 0.05, duplicate: 0.02}
"""
RETRY = "protocol: {retry: {timeout: 15ms, jitter: 0.3333}}\n"


@pytest.mark.parametrize("source", ["lossy", "scenarios/kv.yaml", "scenarios/hunt/mixed.yaml",
                                    "scenarios/crash-minority.yaml"])
def test_runs_leave_nothing_for_the_cyclic_collector(source):
    """Runs are freed by reference counting alone: with the collector off
    throughout, many runs (plain, recording, common random numbers, with their
    verdicts) leave no unreachable object behind."""
    sc = parse_scenario(LOSSY + RETRY) if source == "lossy" else load_scenario(ROOT / source)
    simulate(sc, 0).verdict  # first-time imports and caches
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for seed in range(6):
            simulate(sc, seed).verdict
            if sc.kind == "single-decree":
                simulate(sc, seed, record=True).verdict
                simulate_crn(sc, seed)
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_setting_is_restored_after_a_run_and_after_an_error(enabled, monkeypatch):
    sc = parse_scenario(LOSSY + RETRY)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        simulate(sc, 1)
        assert gc.isenabled() is enabled

        def broken(self):
            raise RuntimeError("boom")

        monkeypatch.setattr(runtime.Simulation, "run", broken)
        with pytest.raises(RuntimeError, match="boom"):
            simulate(sc, 1)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# -- stop: when-decided --------------------------------------------------------

def _verdict_key(verdict):
    """Everything a verdict says but the end time and message counts."""
    return ([(v.kind, v.message, v.details, v.seqs) for v in verdict.violations],
            verdict.chosen, verdict.decisions, verdict.undecided, verdict.down)


def _assert_same_verdict_as_whole_run(sc, seed, simulate_fn=simulate):
    whole = simulate_fn(sc, seed)
    early = simulate_fn(sc.with_changes(stop="when-decided"), seed)
    assert _verdict_key(early.verdict) == _verdict_key(whole.verdict), (sc.name, sc.bugs, seed)
    assert early.verdict.decided == whole.verdict.decided
    full, cut = whole.lines(), early.lines()
    # The early trace is the whole one cut short: the same events, then its own end.
    assert cut[1:-1] == full[1:len(cut) - 1], (sc.name, sc.bugs, seed)
    return len(cut) < len(full)


SINGLE = [p for p in sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "bugs").glob("*.yaml"))
          + sorted((ROOT / "scenarios" / "hunt").glob("*.yaml"))
          if load_scenario(p).kind == "single-decree"]


@pytest.mark.parametrize("path", SINGLE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_early_stop_keeps_the_verdict_of_shipped_scenarios(path):
    sc = load_scenario(path)
    for seed in range(4):
        _assert_same_verdict_as_whole_run(sc, seed)
    _assert_same_verdict_as_whole_run(sc, 0, simulate_crn)


@pytest.mark.slow
@pytest.mark.parametrize("faults", ["", """
protocol: {write_latency: 1ms, retry: {timeout: 15ms, jitter: 0.3333}}
faults:
  random: {crash: {down: [5ms, 40ms]}, max_down: 1, events: 2, until: 60ms}
"""], ids=["no-faults", "crashes"])
def test_early_stop_keeps_the_verdict_of_every_bug_over_many_seeds(faults):
    """Every deliberate bug, on a lossy duel (and with crashes drawn at
    random and a slow disk): early and whole runs agree on the verdict, and
    the stop acts in many runs (the test would otherwise prove nothing)."""
    from paxsim.protocols.single import BUGS

    base = parse_scenario(LOSSY + (faults or RETRY))
    stopped = runs = 0
    for bug in [None, *BUGS]:
        sc = base if bug is None else base.with_changes(bugs=(bug,))
        for seed in range(6):
            stopped += _assert_same_verdict_as_whole_run(sc, seed)
            stopped += _assert_same_verdict_as_whole_run(sc, seed, simulate_crn)
            runs += 2
    assert stopped > runs // 3  # about 45% with crashes, 75% without


def test_early_stop_ends_a_decided_run_and_says_so_in_the_header(runner, tmp_path):
    from paxsim.cli import main
    from paxsim.trace import read_trace

    path = tmp_path / "s.yaml"
    path.write_text(LOSSY + RETRY)
    res = runner.invoke(main, ["run", str(path), "--seed", "1", "--stop-when-decided", "--trace",
                               str(tmp_path / "t.jsonl")])
    assert res.exit_code == 0, res.output
    events = read_trace(tmp_path / "t.jsonl")
    assert events[0]["scenario"]["stop"] == "when-decided"
    end = events[-1]
    assert end["kind"] == "end" and end["t"] < 2000.0
    assert sorted(end["decided"]) == ["n1", "n2", "n3", "n4", "n5"]
    # the default adds nothing to the header: traces of scenarios without it are unchanged
    assert "stop" not in simulate(parse_scenario(LOSSY + RETRY), 1).events[0]["scenario"]


def test_early_stop_waits_for_an_accept_in_flight():
    """Every node has decided while n1's accept to n3 is still in flight (a
    script delays it 30 ms; the learn overtakes it): it makes a vote, so the
    run goes on until it has been delivered."""
    sc = parse_scenario("""
nodes: 3
duration: 1s
proposers: [{node: n1, value: a}]
network: {latency: {dist: constant, value: 1ms}}
script:
  messages: [{from: n1, to: n3, type: accept, ballot: [1, n1], n: 1, fate: 30}]
stop: when-decided
""")
    events = simulate(sc, 0).events
    decides = [ev["t"] for ev in events if ev["kind"] == "decide"]
    vote = next(ev for ev in events if ev["kind"] == "vote" and ev["node"] == "n3")
    assert len(decides) == 3 and max(decides) < 10.0
    assert vote["t"] > 30.0
    assert events[-1]["kind"] == "end" and vote["t"] <= events[-1]["t"] < 1000.0


def test_early_stop_is_only_for_single_decree(write):
    from paxsim.scenario import ScenarioError

    text = (ROOT / "scenarios" / "kv.yaml").read_text() + "\nstop: when-decided\n"
    with pytest.raises(ScenarioError, match="stop"):
        load_scenario(write(text))


def test_a_run_leaves_nothing_frozen_and_the_callers_garbage_collectable():
    """simulate() moves what survives a run to the oldest generation
    (freeze, unfreeze): nothing stays frozen, and the caller's own cyclic
    garbage is still found by a collection."""
    import weakref

    class Cycle:
        pass

    sc = parse_scenario(LOSSY + RETRY)
    was = gc.isenabled()
    gc.enable()
    try:
        junk = Cycle()
        junk.me = junk
        ref = weakref.ref(junk)
        del junk
        simulate(sc, 3)
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert ref() is None
    finally:
        if not was:
            gc.disable()



class _PlainSimulation(runtime.Simulation):
    """The simulator without its two hand-inlined copies: every broadcast is
    `_send` once per destination, and every delivery goes through `_deliver`
    (runtime.py keeps both copies for speed, marked "change both")."""

    def _broadcast(self, src, dsts, msg):
        for dst in dsts:
            self._send(src, dst, msg)

    def _run_until(self, until):
        queue = self.env._queue
        try:
            while queue and queue[0][0] < until:
                self.env._now, _, _, event = runtime.heappop(queue)
                if type(event) is tuple:
                    self._deliver(*event)
                    continue
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
        except runtime.StopSimulation:
            return
        self.env._now = until


@pytest.mark.slow
@pytest.mark.parametrize("source", ["lossy", "scenarios/duplicates.yaml", "scenarios/crash-majority.yaml",
                                    "scenarios/partition.yaml", "scenarios/one-way-cut.yaml",
                                    "scenarios/hunt/mixed.yaml", "scenarios/bugs/amnesia.yaml"])
def test_inlined_send_and_delivery_match_the_plain_methods(source, monkeypatch):
    """The copies inlined in `_broadcast` and `_run_until` make the same
    trace, byte for byte, as the plain `_send` and `_deliver` they copy, on
    loss, duplication, crashes, partitions, cuts and random faults."""
    sc = parse_scenario(LOSSY + RETRY) if source == "lossy" else load_scenario(ROOT / source)
    fast = [simulate(sc, seed).lines() for seed in range(40)]
    monkeypatch.setattr(runtime, "Simulation", _PlainSimulation)
    plain = [simulate(sc, seed).lines() for seed in range(40)]
    assert sum(len(lines) for lines in plain) > 40 * 20  # the runs did send messages
    for seed, (a, b) in enumerate(zip(fast, plain)):
        assert a == b, f"seed {seed}: the inlined path's trace differs from the plain methods'"
