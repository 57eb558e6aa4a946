"""The deliberate bugs: each is a real, small change in the pure roles; the
shipped counterexamples violate with the bug and not without it; random
fault profiles, scripts and the shrinker behave as documented."""

import json
import re
from pathlib import Path

import pytest

from paxsim import load_scenario, parse_scenario, simulate
from paxsim.cli import main
from paxsim.protocols.single import (
    BUGS,
    CONTROL_BUGS,
    Accept,
    Accepted,
    Acceptor,
    Ballot,
    Learner,
    Nack,
    NodeConfig,
    Persist,
    Prepare,
    Promise,
    Proposed,
    Proposer,
    RetryPolicy,
    Send,
)
from paxsim.scenario import load_variant
from paxsim.shrink import ShrinkError, shrink

from .cluster import sends
from .conftest import ROOT

B = Ballot
COUNTEREXAMPLES = sorted((ROOT / "scenarios" / "bugs").glob("*.yaml"))
PROFILES = sorted((ROOT / "scenarios" / "hunt").glob("*.yaml"))


def cfg(bugs=(), n=3, name="n1"):
    names = tuple(f"n{i}" for i in range(1, n + 1))
    return NodeConfig(name, names, n // 2 + 1, n // 2 + 1, RetryPolicy(10, 2, 0.5, 100), bugs=frozenset(bugs))


# -- each mutant, on the pure roles -------------------------------------------------
def test_amnesia_and_persist_after_reply_change_only_storage():
    effects = Acceptor(bugs=frozenset({"amnesia"})).on_prepare("n1", Prepare(B(1, "n1")))
    assert not any(isinstance(e, Persist) for e in effects) and isinstance(effects[-1], Send)
    effects = Acceptor(bugs=frozenset({"persist-after-reply"})).on_accept("n1", Accept(B(1, "n1"), "v"))
    kinds = [type(e) for e in effects]
    assert kinds.index(Send) < kinds.index(Persist)
    effects = Acceptor().on_accept("n1", Accept(B(1, "n1"), "v"))
    kinds = [type(e) for e in effects]
    assert kinds.index(Persist) < kinds.index(Send)


@pytest.mark.parametrize("bug,expected", [(None, "high"), ("ignore-accepted", "mine"), ("any-accepted", "low")])
def test_value_choice(bug, expected):
    p = Proposer(cfg([bug] if bug else [], n=5))
    p.propose("mine")
    b = B(1, "n1")
    p.on_promise("n2", Promise(b, (B(0, "n2"), "low")))
    p.on_promise("n3", Promise(b, None))
    effects = p.on_promise("n4", Promise(b, (B(0, "n9"), "high")))
    assert next(e for e in effects if isinstance(e, Proposed)).value == expected


def test_reused_ballot_has_no_node_id_and_forgets_its_round():
    effects = Proposer(cfg(["reused-ballot"])).propose("v")
    assert not any(isinstance(e, Persist) for e in effects)
    assert sends(effects)[0][1] == Prepare(B(1, ""))


def test_accept_checks():
    correct = Acceptor((B(5, "n2"), None))
    assert isinstance(correct.on_accept("n1", Accept(B(3, "n1"), "v"))[0].msg, Nack)
    skips = Acceptor((B(5, "n2"), None), frozenset({"accept-skips-promise"}))
    assert skips.on_accept("n1", Accept(B(3, "n1"), "v"))[-1] == Send("n1", Accepted(B(3, "n1")))
    keeps = Acceptor((B(1, "n2"), None), frozenset({"accept-keeps-promise"}))
    keeps.on_accept("n3", Accept(B(5, "n3"), "v"))
    assert keeps.promised == B(1, "n2")
    ge = Acceptor((B(1, "n1"), None), frozenset({"prepare-ge"}))
    assert isinstance(ge.on_prepare("n1", Prepare(B(1, "n1")))[-1].msg, Promise)


def test_quorum_bugs():
    assert cfg(n=5).quorums == (3, 3)
    assert cfg(["small-quorum"], n=5).quorums == (2, 2)
    assert cfg(["unsafe-flexible"], n=5).quorums == (2, 3)


def test_counting_bugs():
    b = B(1, "n1")
    refusals = Proposer(cfg(["counts-refusals"]))
    refusals.propose("v")
    refusals.on_promise("n1", Promise(b, None))
    assert any(isinstance(e, Proposed) for e in refusals.on_nack("n2", Nack(b, B(9, "n2"))))
    dups = Proposer(cfg(["counts-duplicates"]))
    dups.propose("v")
    dups.on_promise("n2", Promise(b, None))
    assert any(isinstance(e, Proposed) for e in dups.on_promise("n2", Promise(b, None)))
    correct = Proposer(cfg())
    correct.propose("v")
    correct.on_promise("n2", Promise(b, None))
    assert correct.on_promise("n2", Promise(b, None)) == []


def test_mixed_ballot_learner_counts_across_ballots():
    for bugs, decides in ((frozenset(), False), (frozenset({"mixed-ballot-learner"}), True)):
        learner = Learner(quorum=2, bugs=bugs)
        learner.on_accepted("n1", Accepted(B(1, "n1"), "v"))
        effects = learner.on_accepted("n2", Accepted(B(2, "n2"), "v"))
        assert bool(effects) == decides


def test_every_bug_is_documented_and_listed(runner):
    result = runner.invoke(main, ["bugs"])
    assert result.exit_code == 0
    for name, text in BUGS.items():
        assert text and name in result.stdout
    assert CONTROL_BUGS <= set(BUGS)


def test_unknown_bug_is_one_clear_line(runner, write):
    f = write("nodes: 3\nprotocol:\n  bugs: [amnesa]\n")
    result = runner.invoke(main, ["run", str(f)])
    assert result.exit_code == 2 and "unknown bug 'amnesa' (did you mean 'amnesia'?" in result.stderr
    assert result.stderr.startswith(f"{f}:3: protocol.bugs[0]: ")
    result = runner.invoke(main, ["run", str(ROOT / "scenarios/happy.yaml"), "--bug", "nope"])
    assert result.exit_code == 2


# -- the shipped counterexamples ---------------------------------------------------
def test_every_bug_has_a_counterexample():
    from paxsim.protocols import multi

    names = {p.stem for p in COUNTEREXAMPLES}
    assert names == (set(BUGS) - CONTROL_BUGS) | (set(multi.BUGS) - multi.CONTROL_BUGS)
    for p in COUNTEREXAMPLES:  # each under its own protocol's name
        assert p.stem in (multi.BUGS if load_scenario(p).kind == "multi-paxos" else BUGS)


@pytest.mark.parametrize("path", COUNTEREXAMPLES, ids=[p.stem for p in COUNTEREXAMPLES])
def test_counterexample_violates_with_the_bug_and_not_without(runner, path):
    sc = load_scenario(path)
    assert sc.bugs and sc.expect.violates
    for seed in (0, 1, 12345):  # scripted: no seed luck
        verdict = simulate(sc, seed).verdict
        assert any(v.kind == sc.expect.violates for v in verdict.violations), seed
    assert simulate(sc.with_changes(bugs=()), 0).verdict.ok
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 1 and "expect:    met" in result.stdout


# -- random fault profiles -----------------------------------------------------------
PROFILE = """
nodes: 5
duration: 1s
proposers: [{node: n1, value: a}, {node: n2, value: b, at: 5ms}]
network: {latency: {dist: uniform, low: 1ms, high: 4ms}}
faults:
  random:
    until: 300ms
    events: 8
    max_down: 2
    crash: {down: [5ms, 100ms]}
    partition: {length: [10ms, 100ms]}
    cut: {length: [10ms, 100ms]}
    loss: 0.3
    duplicate: 0.3
    delay: {share: 0.2, max: 20ms}
"""


def test_random_faults_respect_the_budget_and_are_recorded():
    sc = parse_scenario(PROFILE)
    kinds_seen = set()
    for seed in range(200):
        events = simulate(sc, seed).events
        drawn = next(ev for ev in events if ev.get("kind") == "random-faults")
        kinds_seen |= set(drawn["kinds"])
        down, most = set(), 0
        partitioned = False
        for ev in events:
            if ev.get("kind") == "crash":
                down.add(ev["node"])
                most = max(most, len(down))
            elif ev.get("kind") == "restart":
                down.discard(ev["node"])
            elif ev.get("kind") == "partition":
                assert not partitioned, "partitions overlap"
                partitioned = True
            elif ev.get("kind") == "heal":
                partitioned = False
        assert most <= 2
        traced = [{k: v for k, v in ev.items() if k not in ("seq", "t", "kind")} for ev in events
                  if ev.get("kind") in ("crash", "restart", "partition", "heal", "cut", "uncut")]
        assert len(traced) == len(drawn["faults"])
    assert kinds_seen == {"crash", "partition", "cut", "loss", "duplicate", "delay"}


def test_swarm_switches_kinds_per_seed():
    sc = parse_scenario(PROFILE)
    kinds = {tuple(next(ev for ev in simulate(sc, s).events if ev.get("kind") == "random-faults")["kinds"])
             for s in range(50)}
    assert len(kinds) > 10


@pytest.mark.slow
@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_correct_protocol_is_safe_under_every_hunting_profile(path):
    sc = load_scenario(path)
    for seed in range(2000):
        verdict = simulate(sc, seed).verdict
        assert verdict.ok, f"seed {seed}: {verdict.violations[0].explain()}"


# -- slow disks --------------------------------------------------------------------------
def test_replies_wait_for_the_write_and_a_crash_loses_it():
    sc = parse_scenario("""
nodes: 3
duration: 200ms
protocol: {write_latency: 5ms}
proposers: [{node: n1, value: a}]
network: {latency: {dist: constant, value: 1ms}}
faults:
  - {at: 3ms, crash: n2}
""")
    events = simulate(sc, 0).lines_as_events()
    sends_ = {ev["id"]: ev for ev in events if ev["kind"] == "send"}
    prepare_at = {sends_[ev["id"]]["dst"]: ev["t"] for ev in events
                  if ev["kind"] == "deliver" and sends_[ev["id"]]["msg"]["type"] == "prepare"}
    promise_sent = {ev["src"]: ev["t"] for ev in events if ev["kind"] == "send" and ev["msg"]["type"] == "promise"}
    assert promise_sent["n3"] == pytest.approx(prepare_at["n3"] + 5.0)  # after the write
    assert "n2" not in promise_sent  # crashed during its write: no reply, no promise
    assert not any(ev["kind"] == "promise" and ev["node"] == "n2" for ev in events)


# -- recording, scripts, shrinking -------------------------------------------------------
@pytest.mark.parametrize("path", [ROOT / "scenarios/duplicates.yaml", *PROFILES], ids=lambda p: p.stem)
def test_recording_does_not_change_the_run_and_a_script_replays_it(path):
    from dataclasses import replace

    from paxsim.scenario import Script

    sc = load_scenario(path)
    for seed in range(20):
        plain = simulate(sc, seed)
        recorded = simulate(sc, seed, record=True)
        assert plain.lines() == recorded.lines()
        script = Script(tuple((k, f, c) for k, (f, c) in recorded.fates.items()), tuple(recorded.timer_fates.items()))
        replay = simulate(replace(recorded.plan, script=script), seed + 1000)
        assert steps(replay) == steps(recorded)


def steps(run):
    """The run's events without the header, the record of drawn faults and seq numbers."""
    return [{k: v for k, v in ev.items() if k != "seq"} for ev in run.lines_as_events()[1:]
            if ev["kind"] != "random-faults"]


def test_shrink_volatile_to_its_essentials(runner, tmp_path):
    out = tmp_path / "min.yaml"
    result = runner.invoke(main, ["shrink", str(ROOT / "scenarios/volatile.yaml"), "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "violates:  agreement" in result.stdout and "explanation of the minimal run:" in result.stdout
    minimal = load_scenario(out)
    assert len(minimal.nodes) == 3 and len(minimal.proposers) == 2
    assert [f.kind for f in minimal.faults] == ["cut", "crash", "restart"]  # the three the story needs
    assert minimal.duration < 100
    run = runner.invoke(main, ["run", str(out), "--seed", "77"])
    assert run.exit_code == 1 and "agreement: two values chosen" in run.stdout and "expect:    met" in run.stdout


def test_shrink_refuses_a_run_that_does_not_violate(runner):
    result = runner.invoke(main, ["shrink", str(ROOT / "scenarios/happy.yaml"), "--seed", "1", "-o", "x.yaml"])
    assert result.exit_code == 2 and "does not violate" in result.stderr and result.stderr.count("\n") == 1
    with pytest.raises(ShrinkError):
        shrink(load_scenario(ROOT / "scenarios/happy.yaml"), 1)


def test_hunt_quick(runner, tmp_path):
    table = tmp_path / "hunt.md"
    result = runner.invoke(main, ["hunt", "--quick", "--bug", "small-quorum", "--bug", "prepare-ge",
                                  "--profile", str(ROOT / "scenarios/hunt/delays.yaml"), "-o", str(table)])
    assert result.exit_code == 0, result.output
    text = table.read_text()
    assert "| small-quorum |" in text and "| prepare-ge | - (0/2)" in text
    assert "| correct protocol | 0 violations in 100 seeds" in text


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_during_shrink_writes_the_smallest_violating_scenario_so_far(tmp_path, signame):
    # A Multi-Paxos shrink takes seconds; Ctrl-C used to lose every candidate run it had made, and
    # SIGTERM (kill, timeout) still did: it ended the process with nothing said (143).
    import signal
    import subprocess
    import sys
    import time

    out, err_path = tmp_path / "partial.yaml", tmp_path / "err.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "paxsim", "shrink", str(ROOT / "scenarios/kv-partition.yaml"),
                                 "--seed", "0", "--bug", "stale-read", "-o", str(out), "--progress"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and "removed" not in err_path.read_text() and proc.poll() is None:
                time.sleep(0.05)  # a first removal made: the shrinking has begun
            assert proc.poll() is None, "shrink ended before it could be interrupted"
            proc.send_signal(getattr(signal, signame))
            stdout, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    stderr = err_path.read_text()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith(f"interrupted: {out} is the smallest violating scenario found before the interruption, "
                                    "not a minimal one")
    assert f"wrote:     {out}" in stdout and "violates:  linearizability" in stdout
    partial = load_scenario(out)
    run = simulate(partial, 5)
    assert any(v.kind == "linearizability" for v in run.verdict.violations)  # it still breaks, on any seed
    before = next(line for line in stdout.splitlines() if line.startswith("before:"))
    after = next(line for line in stdout.splitlines() if line.startswith("after:"))
    assert before != after  # what was removed before Ctrl-C is kept


def test_shrink_counts_the_scripted_fates_that_leave_with_a_node(runner, tmp_path):
    # partition.yaml seed 3 with small-quorum shrinks from 5 nodes to 2: the
    # removed nodes' scripted message fates must be counted in `removed:`
    # (it said 17 of the 70 removed), and one proposer is not "1 proposers".
    out = tmp_path / "min.yaml"
    result = runner.invoke(main, ["shrink", str(ROOT / "scenarios/partition.yaml"), "--seed", "3",
                                  "--bug", "small-quorum", "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in result.stdout.splitlines()
             if line[:1].isalpha() and ":" in line}

    def count(line: str, what: str) -> int:
        return sum(int(n) for n in re.findall(rf"(\d+) {what}", line))

    assert "node n" in lines["removed"]  # the case this test is about
    for what in ("scripted message fate", "scripted timer"):
        assert count(lines["removed"], what) == count(lines["before"], what) - count(lines["after"], what)
    assert count(lines["removed"], r"node") == 0  # nodes are named, not counted
    assert len(re.findall(r"node n\d", lines["removed"])) == (
        count(lines["before"], "node") - count(lines["after"], "node"))
    assert re.search(r"\b1 proposers\b", result.stdout) is None and "1 proposer," in lines["after"]
