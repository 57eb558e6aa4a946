"""paxsim explore: exhaustive search over the pure single-decree roles.

What users rely on: the state counts of a configuration small enough to
count by hand, exit statuses (0 exhausted, 1 violation, 2 bad input, 3 a
bound first), counterexamples that `paxsim run` replays on any seed, and the
control mutant never reported."""

import json
import os
import subprocess
import sys

import pytest

from paxsim.cli import main
from paxsim.explore import model_for, explore
from paxsim.explore.single import SLOTS
from paxsim.protocols.single import BUGS, Acceptor, Learner, Node, Proposer
from paxsim.scenario import load_scenario, parse_scenario

from .conftest import ROOT

TWO = str(ROOT / "scenarios" / "explore" / "two-nodes.yaml")
THREE = str(ROOT / "scenarios" / "explore" / "three-nodes.yaml")

DUEL_2 = """
nodes: 2
proposers:
  - {node: n1, value: a}
  - {node: n2, value: b}
"""


def explore_json(runner, *args):
    result = runner.invoke(main, ["explore", *args, "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip() else None), result


# -- a configuration counted by hand ---------------------------------------------------
# two-nodes.yaml: nodes n1, n2 (quorum 2), n1 proposes 'a', loss budget 1, no
# crash, no timer firing.  A node's messages to itself are handled inside the
# transition that sent them, so exactly one message is ever in flight:
#
#   s0 --propose--> s1 [prepare n1->n2] --> s2 [promise n2->n1] --> s3 [accept n1->n2]
#      --> s4 [accepted n2->n1] --> s5 [learn n1->n2] --> s6 [learned n2->n1] --> s7 []
#
# 8 states, 7 transitions.  The loss budget adds, in each of s1..s6, the loss of
# its one message: 6 more states (the same node states, nothing in flight, loss
# budget 0), where nothing is enabled.  So 14 states and 13 transitions.  With
# pruning, a loss is subsumed (the state before it can leave the message in
# flight forever), so the 6 losses are generated but not followed: 8 unique
# states, 13 transitions, 6 pruned.  With the reduction (the default) a loss
# is not even generated: 8 states, 7 transitions, nothing pruned.
def test_hand_counted_configuration_without_pruning(runner):
    code, data, _ = explore_json(runner, TWO, "--no-prune")
    assert code == 0
    assert (data["unique_states"], data["transitions"], data["pruned"]) == (14, 13, 0)
    assert data["max_depth"] == 7 and data["exhausted"] and data["violation"] is None


def test_hand_counted_configuration_with_pruning(runner):
    code, data, _ = explore_json(runner, TWO, "--no-reduction")
    assert code == 0
    assert (data["unique_states"], data["transitions"], data["pruned"]) == (8, 13, 6)


def test_hand_counted_configuration_with_the_reduction(runner):
    code, data, _ = explore_json(runner, TWO)
    assert code == 0 and data["reduction"]
    assert (data["unique_states"], data["transitions"], data["pruned"], data["covered"]) == (8, 7, 0, 0)


def test_summary_text_names_the_result(runner):
    result = runner.invoke(main, ["explore", TWO])
    assert result.exit_code == 0, result.output
    assert "8 unique, 7 transitions (0 pruned, 0 covered), max depth 7" in result.stdout
    assert "exhausted: no schedule violates agreement, validity or integrity" in result.stdout


# -- the configuration beside Stateright's and TLC's ---------------------------------------------
# three-nodes-no-faults.yaml: 3 nodes, 2 proposers, no loss, crash or timer
# firing, so each proposer runs exactly one ballot and only a few dozen
# messages can ever exist: the space must be exhausted.  54,214 states is
# the count with canonical role state (maps compared as sets, fields a phase
# never reads dropped) and dead messages (stale promises, nacks, learned
# replies, which no future delivery can use) removed; keeping the dead
# messages gives a different, larger count of the same verdict.  Covering
# (the reduction's part that applies here: no crash) leaves 24,889 of them.
@pytest.mark.slow
def test_three_nodes_without_faults_is_exhausted(runner):
    no_faults = str(ROOT / "scenarios" / "explore" / "three-nodes-no-faults.yaml")
    code, data, _ = explore_json(runner, no_faults, "--no-reduction")
    assert code == 0 and data["exhausted"] and data["violation"] is None
    assert (data["unique_states"], data["max_depth"]) == (54214, 22)
    code, data, _ = explore_json(runner, no_faults)
    assert code == 0 and data["exhausted"] and data["violation"] is None
    assert (data["unique_states"], data["max_depth"]) == (24889, 22) and data["covered"] > 0


# -- the reduction (reboots, covering) loses no violation and no shortest length -------------
# On a configuration small enough to exhaust without it (2 nodes, 2 proposers,
# a crash and a restart), every mutant gets the same verdict and the same
# shortest counterexample length with and without the reduction.
@pytest.mark.parametrize("bug", [None, *BUGS])
def test_reduction_finds_the_same_violations_at_the_same_length(bug):
    bugs = f", bugs: [{bug}]" if bug else ""
    sc = parse_scenario(DUEL_2 + f"protocol: {{storage: durable{bugs}}}\nexplore: {{crash: 1, restart: 1}}\n")
    reduced, full = explore(model_for(sc)), explore(model_for(sc, reduce=False))
    assert (reduced.violation is None) == (full.violation is None)
    if full.violation is None:
        assert reduced.exhausted and full.exhausted and reduced.unique < full.unique
    else:
        assert reduced.violation[0] == full.violation[0] and len(reduced.path) == len(full.path)


@pytest.mark.slow
def test_reduction_keeps_a_restart_counterexample_shortest(runner, tmp_path):
    # amnesia needs two crashes and restarts: the reboots stand for them, and
    # the counterexample (two crash and two restart labels) replays
    sc = parse_scenario(DUEL_2 + "protocol: {storage: durable, bugs: [amnesia]}\nexplore: {crash: 2}\n")
    reduced, full = explore(model_for(sc)), explore(model_for(sc, reduce=False))
    assert reduced.violation[0] == full.violation[0] == "agreement"
    assert len(reduced.path) == len(full.path) and reduced.unique < full.unique
    assert [label[0] for label in reduced.path].count("restart") == 2


@pytest.mark.slow
def test_dead_messages_are_dropped_without_changing_verdicts():
    sc = parse_scenario(DUEL_2 + "protocol: {storage: durable}\nexplore: {crash: 1}\n")
    with_gc, without = explore(model_for(sc)), explore(model_for(sc, gc=False))
    assert with_gc.exhausted and without.exhausted
    assert with_gc.violation is None and without.violation is None
    assert with_gc.unique < without.unique
    bug = parse_scenario(DUEL_2 + "protocol: {storage: durable, bugs: [amnesia]}\nexplore: {crash: 2}\n")
    found = [explore(model_for(bug, gc=gc)) for gc in (True, False)]
    assert [r.violation[0] for r in found] == ["agreement", "agreement"]
    assert len(found[0].path) == len(found[1].path)  # still a shortest counterexample


# -- counterexamples ---------------------------------------------------------------------
def test_counterexample_is_shortest_and_replays_on_any_seed(runner, tmp_path):
    cex = tmp_path / "cex.yaml"
    code, data, _ = explore_json(runner, THREE, "--bug", "unsafe-flexible", "-o", str(cex))
    assert code == 1
    assert data["violation"]["kind"] == "agreement" and data["replayed"]
    # two proposals and one accept from each proposer to a non-proposer: no shorter schedule chooses twice
    assert data["counterexample_length"] == 4
    assert "does not intersect the phase-2 quorum" in data["explanation"]
    for seed in ("0", "12345"):
        run = runner.invoke(main, ["run", str(cex), "--seed", seed])
        assert run.exit_code == 1, run.output
        assert "agreement" in run.stdout and "expect:    met" in run.stdout


def test_an_existing_counterexample_file_is_not_overwritten(runner, tmp_path):
    """As `shrink -o`: an earlier counterexample is not lost to a new search
    (refused before searching, one line, exit 2)."""
    cex = tmp_path / "cex.yaml"
    cex.write_text("an earlier counterexample\n")
    result = runner.invoke(main, ["explore", THREE, "--bug", "unsafe-flexible", "-o", str(cex)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{cex} exists: choose another -o, or remove it first\n"
    assert result.stdout == "" and cex.read_text() == "an earlier counterexample\n"


def test_counterexample_with_a_crash_replays(runner, tmp_path, write):
    cex = tmp_path / "amnesia.yaml"
    path = write(DUEL_2 + "protocol: {storage: durable}\nexplore: {crash: 2}\n")  # both must forget
    result = runner.invoke(main, ["explore", str(path), "--bug", "amnesia", "-o", str(cex)])
    assert result.exit_code == 1, result.output
    assert "crash n" in result.stdout and "restart n" in result.stdout
    run = runner.invoke(main, ["run", str(cex)])
    assert run.exit_code == 1 and "agreement" in run.stdout
    text = cex.read_text()
    assert "crash:" in text and "script:" in text


@pytest.mark.slow
def test_issue_configuration_with_restart_catches_amnesia_shortest(runner, tmp_path):
    # three-nodes.yaml with the restart the issue asks for: the forgetful
    # acceptor needs a crash and a restart; BFS (with the reduction) returns
    # a 10-transition schedule, the same length as without it, and it replays
    cex = tmp_path / "amnesia.yaml"
    code, data, _ = explore_json(runner, THREE, "--restart", "1", "--bug", "amnesia", "-o", str(cex))
    assert code == 1 and data["violation"]["kind"] == "agreement" and data["replayed"]
    assert data["counterexample_length"] == 10
    assert "crash n" in " ".join(data["schedule"]) and "restart n" in " ".join(data["schedule"])
    run = runner.invoke(main, ["run", str(cex), "--seed", "7"])
    assert run.exit_code == 1 and "agreement" in run.stdout


@pytest.mark.parametrize("strategy", ["dfs", "random"])
def test_other_strategies_find_a_violation(runner, strategy):
    code, data, _ = explore_json(runner, THREE, "--bug", "small-quorum", "--strategy", strategy,
                                 "--max-states", "20000")
    # the first proposer decides on its own vote: no configured quorum voted for it
    assert code == 1 and data["violation"]["kind"] == "integrity" and data["replayed"]


# -- the correct protocol and the control mutant -----------------------------------------------
@pytest.mark.parametrize("bug", [None, "prepare-ge"])
def test_correct_protocol_and_control_mutant_exhaust_without_violation(runner, write, bug):
    path = write(DUEL_2 + "explore: {duplicate: 1}\n")
    args = [str(path)] + (["--bug", bug] if bug else [])
    code, data, _ = explore_json(runner, *args)
    assert code == 0 and data["exhausted"] and data["violation"] is None
    assert data["unique_states"] > 364  # more than the fault-free space: the duplicate is explored


def test_control_mutant_is_not_reported_on_three_nodes(runner):
    code, data, _ = explore_json(runner, THREE, "--bug", "prepare-ge", "--max-states", "3000")
    assert code == 3 and data["violation"] is None and data["bound"] == "max-states"


# -- symmetry --------------------------------------------------------------------------------------
def test_symmetry_merges_renamed_states_and_keeps_the_verdict():
    sc = parse_scenario("nodes: 3\nproposers: [{node: n1, value: a}]\n")
    with_sym = explore(model_for(sc, symmetry=True))
    without = explore(model_for(sc, symmetry=False))
    assert with_sym.exhausted and without.exhausted
    assert with_sym.symmetry and not without.symmetry
    # n2 and n3 are interchangeable: every state but the symmetric ones has a twin
    assert with_sym.unique < without.unique < 2 * with_sym.unique


# -- bounds and bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("bound,args", [("max-states", ["--max-states", "50"]), ("max-depth", ["--max-depth", "3"])])
def test_bounds_give_exit_3(runner, bound, args):
    code, data, result = explore_json(runner, THREE, *args)
    assert code == 3 and data["bound"] == bound and not data["exhausted"]
    text = runner.invoke(main, ["explore", THREE, *args])
    assert text.exit_code == 3 and f"bound hit ({bound})" in text.stdout


def test_bad_explore_section_exits_2_with_file_and_line(runner, write):
    path = write(DUEL_2 + "explore:\n  loss: -1\n")
    result = runner.invoke(main, ["explore", str(path)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith(f"{path}:") and "explore.loss" in line and "\n" not in line


def test_unknown_explore_key_and_missing_file_exit_2(runner, write, tmp_path):
    path = write(DUEL_2 + "explore:\n  crashes: 1\n")
    result = runner.invoke(main, ["explore", str(path)])
    assert result.exit_code == 2 and "crashes" in result.stderr
    result = runner.invoke(main, ["explore", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "Traceback" not in result.output


# -- copying role state ------------------------------------------------------------------------------
def test_snapshots_cover_every_slot_of_the_roles():
    for cls in (Node, Acceptor, Learner, Proposer):
        slots = getattr(cls, "__slots__", None) or set(cls.__mypyc_attrs__) - {"__dict__"}  # compiled: mypyc's list
        assert set(slots) == SLOTS[cls], f"{cls.__name__} gained or lost a slot: update explore/single.py"


def test_snapshot_restore_round_trip_after_a_run():
    sc = load_scenario(THREE)
    model = model_for(sc)
    state = model.initial()
    for _ in range(12):  # follow the first enabled transition a few steps
        labels = model.enabled(state)
        if not labels:
            break
        state, violation = model.apply(state, labels[0])
        assert violation is None
    for i, (up, snap, *_rest) in enumerate(state[0]):
        if snap is not None:
            assert model.p.snapshot(model.p.restore(i, snap)) == snap


def test_benchmark_quick_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "explore_bench.py"), "--quick"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| simulator (5% loss, checked) | trace event |" in proc.stdout
    assert "| explorer, reduction (default) | transition |" in proc.stdout


def test_a_multi_paxos_scenario_is_refused_not_proven_safe(runner):
    # The search drives the single-decree roles; on a KV scenario it used to find one
    # state and print "exhausted: no schedule violates ...", exit 0: a proof of nothing.
    kv = str(ROOT / "scenarios" / "kv.yaml")
    result = runner.invoke(main, ["explore", kv])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"{kv}:7: protocol.kind: paxsim explore searches single-decree Paxos only")
    assert "exhausted" not in result.stdout


def test_ctrl_c_reports_what_was_searched_and_exits_130(tmp_path):
    # Ctrl-C in a long search said only "interrupted": minutes of statistics lost. It is now a bound.
    import signal
    import subprocess
    import sys
    import threading
    import time

    proc = subprocess.Popen([sys.executable, "-m", "paxsim", "explore", str(ROOT / "scenarios" / "explore" /
                                                                         "three-nodes.yaml"), "--progress"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    started = threading.Event()

    def read_stderr() -> None:
        while True:
            chunk = proc.stderr.read(1)
            if not chunk:
                return
            err.append(chunk)
            if "states" in "".join(err[-40:]):
                started.set()  # the progress bar: the search is running

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert started.wait(120), "".join(err)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    assert proc.returncode == 130, "".join(err)
    assert "Traceback" not in "".join(err)
    assert "result:      interrupted (Ctrl-C or SIGTERM) before the space was exhausted: no verdict" in out
    states = next(line for line in out.splitlines() if line.startswith("states:"))
    assert int(states.split()[1]) > 0  # what was searched is reported


def test_symmetry_is_off_for_more_nodes_than_it_can_afford(runner):
    """Ten nodes have 3,628,800 renamings (nine interchangeable: 362,880), all
    listed before the search: 12 s and gigabytes, --time-limit ignored (eleven
    filled 2 GB).  Beyond four interchangeable nodes the reduction is off, with
    a note; up to four it stays on."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    def explore(nodes: int):
        return subprocess.run([sys.executable, "-m", "paxsim", "explore", TWO, "--set", f"nodes={nodes}",
                               "--max-states", "200", "--json"], capture_output=True, text=True, timeout=120,
                              preexec_fn=limit)

    big = explore(11)
    assert big.returncode == 3, big.stderr[-2000:]  # the --max-states bound, not a MemoryError
    assert big.stderr == ("note: symmetry reduction is off: 10 interchangeable nodes have 3,628,800 renamings "
                          "to try on every state (it is on for 4 or fewer)\n")
    data = json.loads(big.stdout)
    assert data["budgets"]["symmetry"] is True and data["symmetry"] is False and data["unique_states"] >= 200
    small = explore(5)  # n1 proposes: four interchangeable nodes
    assert small.stderr == "" and json.loads(small.stdout)["symmetry"] is True


def test_the_summary_says_why_symmetry_is_off(runner):
    """`--json` has budgets.symmetry (asked for) and symmetry (applied); the text said only
    'symmetry off' when it was asked for but no nodes were interchangeable."""
    result = runner.invoke(main, ["explore", TWO])
    assert result.exit_code == 0, result.output
    assert "symmetry asked for, but no two nodes are interchangeable)" in result.stdout.splitlines()[0]
    data = json.loads(runner.invoke(main, ["explore", TWO, "--json"]).stdout)
    assert data["budgets"]["symmetry"] is True and data["symmetry"] is False
    assert result.stdout.splitlines()[0].endswith("; symmetry asked for, but no two nodes are interchangeable)")
    off = runner.invoke(main, ["explore", TWO, "--no-symmetry"])
    assert off.stdout.splitlines()[0].endswith("; symmetry off)"), off.stdout


def test_keys_the_search_does_not_model_are_named_in_a_note(runner):
    """A scripted schedule, skewed clocks and a storage write latency change a
    simulated run but not the search: each gets one note on stderr, and the
    search runs as without them (same counts); a clock setting that skews
    nothing gets no note."""
    plain = runner.invoke(main, ["explore", TWO, "--json"])
    assert plain.exit_code == 0 and plain.stderr == ""
    script = ROOT / "scenarios" / "bugs" / "accept-keeps-promise.yaml"
    cases = [
        ([TWO, "--set", "protocol.write_latency=1"], ["protocol.write_latency"]),
        ([TWO, "--set", "clocks.random={offset: 5, drift: 100}"], ["clocks"]),
        ([TWO, "--set", "clocks.default={offset: 0}"], []),
        ([str(script), "--max-states", "5"], ["script"]),
        ([TWO, "--set", "script={messages: []}"], []),  # an empty script changes nothing
    ]
    for args, keys in cases:
        result = runner.invoke(main, ["explore", *args, "--json"])
        notes = result.stderr.splitlines()
        # the note names the --set that gave the key, not the file alone (which lacks it)
        source = args[0] + (f" (with --set {args[2]})" if "--set" in args else "")
        assert [n[len(f"note: {source}: "):].split(":")[0] for n in notes] == [f"{k} is ignored" for k in keys], \
            (args, notes)
        assert all(n.startswith(f"note: {source}: ") for n in notes), notes
        if args[0] == TWO:
            assert result.exit_code == 0
            counts = ("states_visited", "unique_states", "transitions")
            assert [json.loads(result.stdout)[k] for k in counts] == [json.loads(plain.stdout)[k] for k in counts]


def test_speed_counts_unique_and_visited_states_apart(runner):
    """A random walk comes back to states it has seen: its speed line gives
    both rates, each its count over the same seconds (the JSON too)."""
    code, data, result = explore_json(runner, THREE, "--strategy", "random", "--max-states", "300")
    assert code == 3 and data["unique_states"] == 300 and data["states_visited"] > 300
    assert data["visited_per_second"] > data["states_per_second"] > 0
    ratio = data["visited_per_second"] / data["states_per_second"]
    assert abs(ratio - data["states_visited"] / data["unique_states"]) < 0.01 * ratio
    text = runner.invoke(main, ["explore", THREE, "--strategy", "random", "--max-states", "300"]).stdout
    speed = next(line for line in text.splitlines() if line.startswith("speed:"))
    unique, visited = (float(part.split()[0].replace(",", "")) for part in speed[len("speed:"):].split(", ")[:2])
    assert speed.split(", ")[0].endswith(" unique states/s") and speed.split(", ")[1].endswith(" visited/s")
    assert visited > unique
