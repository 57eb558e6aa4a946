"""Adversarial review of the Multi-Paxos key-value store in the simulator:
false violations of the correct protocol, the honesty of client histories,
and the commands on KV scenarios."""

import json

import pytest

from paxsim.cli import main
from paxsim.trace import read_trace

SLOW_DISK = """
name: kv-disk
description: A slow disk under loss.
duration: 400ms
nodes: 3
protocol: {kind: multi-paxos, heartbeat: 10ms, election: [40ms, 80ms], write_latency: 3ms}
workload: {clients: 3, keys: 2, timeout: [30ms, 60ms], attempts: 8}
network:
  latency: {dist: uniform, low: 1ms, high: 4ms}
  loss: 0.2
"""


def test_a_slow_disk_keeps_a_replicas_writes_and_executions_in_order(runner, write, tmp_path):
    # A catch-up `log` makes one handler persist several decided slots; a `decide`
    # arriving meanwhile had its write overtake them, so the slot after them was
    # recorded as executed before them: a false order violation of the correct protocol.
    path = write(SLOW_DISK)
    trace = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(path), "--seed", "0", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "log:       safe" in result.output
    executed: dict[str, list[int]] = {}
    for ev in read_trace(trace):
        if ev.get("kind") == "restored":
            executed[ev["node"]] = list(range(ev["executed"]))
        elif ev.get("kind") == "executed":
            executed[ev["node"]].append(ev["slot"])
    assert executed and all(slots == list(range(len(slots))) for slots in executed.values())
    assert sum(len(s) for s in executed.values()) > 30


CLOCKS = """
name: kv-clocks
duration: 300ms
nodes: 3
protocol: {kind: multi-paxos}
workload: {clients: 2, keys: 2}
clocks:
  nodes:
    n1: {offset: 3ms, drift: 200ppm}
  random: {offset: 1ms, drift: 100ppm}
"""


def test_per_node_clocks_run_a_kv_scenario_and_the_trace_records_them(runner, write, tmp_path):
    # Clients have no clock of their own: their first timeout was a KeyError traceback.
    path = write(CLOCKS)
    trace = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(path), "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    events = read_trace(trace)
    clocks = [ev for ev in events if ev.get("kind") == "clocks"]
    assert len(clocks) == 1 and sorted(clocks[0]["nodes"]) == ["n1", "n2", "n3"]
    assert clocks[0]["nodes"]["n1"]["offset"] != 3.0  # the random part was drawn and added
    timers = [ev for ev in events if ev.get("kind") == "timer"]
    n1 = [ev for ev in timers if ev["node"] == "n1"]
    assert n1 and all(abs(ev["local"] - (ev["t"] * (1 + clocks[0]["nodes"]["n1"]["drift"] / 1e6)
                                          + clocks[0]["nodes"]["n1"]["offset"])) < 1e-3 for ev in n1)
    assert any(ev.get("kind") == "ok" for ev in events)
    # the header keeps the clocks, so the trace replays
    replay = runner.invoke(main, ["replay", str(trace)])
    assert replay.exit_code == 0 and "identical" in replay.output, replay.output


@pytest.mark.parametrize("expect, message", [
    ("{decided: true}", "s.yaml:6: expect.decided: decided is about single-decree learners; a multi-paxos run "
                        "decides a log"),
    ("{within: 1ms}", "s.yaml:6: expect.within: within is about single-decree learners; a multi-paxos run "
                      "decides a log"),
])
def test_single_decree_expectations_are_refused_on_a_kv_scenario(runner, write, expect, message):
    # decided: true always failed ("nobody decided") and within was silently ignored.
    path = write(f"name: s\nduration: 100ms\nnodes: 3\nprotocol: {{kind: multi-paxos}}\nworkload: {{clients: 1}}\n"
                 f"expect: {expect}\n")
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"{path.parent}/{message} (expect ops: N, operations completed ok, is its " \
        "liveness check)"


def test_a_shrunk_kv_scenario_says_decided_false_and_still_loads(runner):
    from .conftest import ROOT
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "bugs" / "no-dedup.yaml")])
    assert result.exit_code == 1 and "expect:    met" in result.output


def test_the_log_line_names_only_the_properties_that_broke(runner):
    # skip-recovery breaks agreement alone here; the line said "VIOLATED (agreement,
    # divergence, order, exactly-once)", as if all four had broken.
    from .conftest import ROOT
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "bugs" / "skip-recovery.yaml")])
    assert result.exit_code == 1
    kinds = {line.split(":")[0].strip() for line in result.output.split("verdict:")[1].splitlines()[1:]
             if line.startswith("  ") and not line.startswith("    ")}
    assert kinds == {"agreement"}
    assert "log:       VIOLATED (agreement); holds: divergence, order, exactly-once, fail-stop\n" in result.output


def test_a_huge_number_of_keys_is_refused_in_one_line(runner, write):
    # 30 million keys ended in a MemoryError traceback (3 GB for the driver's key table).
    path = write("name: s\nduration: 100ms\nnodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  keys: 30000000\n")
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"{path}:6: workload.keys: 30000000 keys is more than 1,000,000"
    ok = write("name: s\nduration: 50ms\nnodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  keys: 1000000\n",
               "ok.yaml")
    assert runner.invoke(main, ["run", str(ok)]).exit_code == 0


def _random_kv_scenario(r, i: int) -> dict:
    """A small KV scenario with a random mix of every fault the format allows."""
    n = r.choice([3, 3, 5])
    nodes = [f"n{k}" for k in range(1, n + 1)]
    hb = r.choice([5, 10, 20])
    lo = hb * r.choice([2, 3, 5]) + r.choice([0, 1, 7])
    d = {"name": f"r{i}", "duration": 400, "nodes": n,
         "protocol": {"kind": "multi-paxos", "heartbeat": hb, "election": [lo, lo + r.choice([0, 20, 60])],
                      "window": r.choice([1, 2, 8]), "catchup_batch": r.choice([1, 64]),
                      "write_latency": r.choice([0, 0, 1, 3])},
         "workload": {"clients": r.choice([1, 2, 3]), "keys": r.choice([1, 2]), "attempts": r.choice([3, 6]),
                      "timeout": [20, r.choice([20, 60])], "loop": r.choice(["closed", "open"]), "rate": 300},
         "network": {"latency": r.choice([{"dist": "uniform", "low": 1, "high": 4},
                                          {"dist": "pareto", "scale": 1, "shape": 1.5}]),
                     "loss": r.choice([0, 0.1]), "duplicate": r.choice([0, 0.2])}}
    if r.random() < 0.5:
        d["faults"] = {"random": {"until": 200, "events": 6, "max_down": n // 2, "crash": {"down": [5, 80]},
                                  "partition": {"length": [10, 100]}, "cut": {"length": [10, 100]},
                                  "loss": 0.2, "duplicate": 0.3, "delay": {"share": 0.1, "max": 30}}}
    else:
        a, b = r.sample(nodes, 2)
        d["faults"] = [{"at": 40, "crash": a}, {"at": 60, "partition": [[a, b], [x for x in nodes if x not in (a, b)]]},
                       {"at": 120, "restart": a}, {"at": 130, "heal": "all"}, {"at": 150, "cut": {"from": b, "to": a}},
                       {"at": 220, "uncut": {"from": b, "to": a}}]
    if r.random() < 0.4:
        d["clocks"] = {"random": {"offset": 5, "drift": r.choice([200, 50000])}}
    return d


def _history_against_the_log(events: list[dict]) -> list[str]:
    """What the clients recorded, against the commands a quorum chose: every ok
    was chosen and returns what the log's state machine returned at its slot,
    nothing is voted before its invoke, and the log order respects real time."""
    from paxsim.protocols.multi.kv import KV
    from paxsim.protocols.multi.messages import Command

    quorum = len(events[0]["scenario"]["nodes"]) // 2 + 1
    log, votes = {}, {}
    for ev in events:
        if ev.get("kind") == "decided":
            log.setdefault(ev["slot"], ev["command"])
        elif ev.get("kind") == "voted":
            who = votes.setdefault((ev["slot"], tuple(ev["ballot"]), json.dumps(ev["command"])), set())
            who.add(ev["node"])
            if len(who) >= quorum:
                log.setdefault(ev["slot"], ev["command"])
    kv, slot_of, result_of, slot = KV(), {}, {}, 0
    while slot in log:
        c = log[slot]
        cmd = None if c is None else Command(c["client"], c["req"], c["f"], c["key"],
                                             tuple(c["value"]) if isinstance(c["value"], list) else c["value"])
        applied, result = kv.apply(cmd)
        if applied:
            slot_of[cmd.id], result_of[cmd.id] = slot, result
        slot += 1
    problems, invoked, done, first_vote = [], {}, {}, {}
    for ev in events:
        kind = ev.get("kind")
        if kind == "invoke":
            assert (ev["client"], ev["req"]) not in invoked, "a retried request is one operation"
            invoked[(ev["client"], ev["req"])] = ev
        elif kind in ("ok", "fail", "info"):
            assert (ev["client"], ev["req"]) not in done
            done[(ev["client"], ev["req"])] = ev
        elif kind == "voted" and ev["command"] is not None:
            first_vote.setdefault((ev["command"]["client"], ev["command"]["req"]), ev)
    for op, ev in done.items():
        assert ev["kind"] != "fail", "a client that timed out cannot know its request was not applied"
        if ev["kind"] == "ok":
            want = result_of.get(op, "never chosen")
            if op not in slot_of or ev["value"] != (list(want) if isinstance(want, tuple) else want):
                problems.append(f"{op} ok {ev['value']!r} (seq {ev['seq']}) but the log gave {want!r}")
    for op, ev in first_vote.items():
        if op in invoked and ev["seq"] < invoked[op]["seq"]:
            problems.append(f"{op} voted for at seq {ev['seq']} before its invoke")
    for a, ev in done.items():  # an ok before B's invoke is at a lower slot than B
        for b, inv in invoked.items():
            if ev["kind"] == "ok" and a in slot_of and b in slot_of and ev["seq"] < inv["seq"] \
                    and slot_of[a] > slot_of[b]:
                problems.append(f"{a} completed before {b} was invoked, yet runs after it")
    return problems


@pytest.mark.slow
def test_the_correct_store_under_random_faults_is_safe_and_its_histories_honest():
    import random

    from paxsim.scenario import scenario_from_dict
    from paxsim.sim.runtime import simulate

    ops = 0
    for i in range(80):
        sc = scenario_from_dict(_random_kv_scenario(random.Random(f"kvreview:{i}"), i), f"r{i}.yaml")
        run = simulate(sc, i)
        verdict = run.verdict
        assert not verdict.violations, (i, [v.explain() for v in verdict.violations])
        assert verdict.workload["linearizability"] in ("linearizable", "unknown")
        events = [ev for ev in run.events if ev.get("kind") not in ("send", "deliver")]
        assert _history_against_the_log(events) == [], i
        ops += verdict.workload["ok"]
    assert ops > 1500


@pytest.mark.parametrize("workload, message", [
    ("{nodes: [n1, n2, n1]}", "s.yaml:5: workload.nodes[2]: 'n1' is listed twice (also workload.nodes[0])"),
    ("null", "s.yaml:5: workload: expected a mapping, found null"),
])
def test_bad_workload_fields_get_one_clear_line(runner, write, workload, message):
    # A node listed twice was silently accepted; null was "found null null".
    path = write(f"name: s\nduration: 100ms\nnodes: 3\nprotocol: {{kind: multi-paxos}}\nworkload: {workload}\n")
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert result.output == f"{path.parent}/{message}\n"


CLOCKS_LOSSY = """
name: kv-clocks-lossy
duration: 300ms
nodes: 3
protocol: {kind: multi-paxos, heartbeat: 10ms, election: [30ms, 60ms], bugs: [no-dedup]}
workload: {clients: 2, keys: 2, timeout: [15ms, 30ms], attempts: 6}
network:
  latency: {dist: uniform, low: 1ms, high: 4ms}
  loss: 0.1
clocks:
  random: {offset: 2ms, drift: 20000ppm}
"""


def test_a_shrunk_kv_scenario_keeps_its_clocks_and_runs_the_same_on_any_seed(runner, write, tmp_path):
    # The shrunk file lost its clocks section, and a scripted KV scenario drew its
    # random clocks from the run's seed while its operations come from its own.
    path = write(CLOCKS_LOSSY)
    minimal = tmp_path / "min.yaml"
    shrunk = runner.invoke(main, ["shrink", str(path), "--seed", "0", "-o", str(minimal)])
    assert shrunk.exit_code == 0, shrunk.output
    assert "clocks:" in minimal.read_text() and "drift: 20000.0" in minimal.read_text()
    runs = []
    for seed in ("0", "5"):
        trace = tmp_path / f"t{seed}.jsonl"
        result = runner.invoke(main, ["run", str(minimal), "--seed", seed, "--trace", str(trace)])
        assert result.exit_code == 1 and "exactly-once:" in result.output, result.output
        runs.append(read_trace(trace)[1:])
    assert runs[0] == runs[1] and runs[0][0]["kind"] == "clocks"


# -- a checker review: traces edited to get past the checker -----------------------------
KV = "scenarios/kv.yaml"
BROKEN = ("scenarios/kv-partition.yaml", "--bug", "skip-recovery", "--seed", "0")  # an agreement violation


def _kv_trace(runner, tmp_path, scenario=KV, *args):
    from .conftest import ROOT

    trace = tmp_path / "kv.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / scenario), "--trace", str(trace), *args])
    return trace, [json.loads(line) for line in trace.read_text().splitlines()], result


def _write(path, events):
    path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in events))
    return path


@pytest.mark.parametrize("kind", ["Multi-Paxos", "raft", 7])
def test_a_trace_of_a_protocol_no_checker_knows_is_refused_not_judged_single_decree(runner, tmp_path, kind):
    # the single-decree checker would see none of its events and say OK
    _, events, result = _kv_trace(runner, tmp_path, *BROKEN)
    assert result.exit_code == 1, result.output
    events[0]["scenario"]["protocol"]["kind"] = kind
    res = runner.invoke(main, ["check", str(_write(tmp_path / "x.jsonl", events))])
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"{tmp_path / 'x.jsonl'}:1: scenario.protocol.kind: ")
    assert "is not a protocol this paxsim checks (single-decree, multi-paxos)" in res.stderr


@pytest.mark.parametrize("kind", ["voted", "decided", "executed", "promised", "restored", "leading"])
def test_a_replica_event_of_a_node_the_header_does_not_name_is_malformed(runner, tmp_path, kind):
    _, events, result = _kv_trace(runner, tmp_path)
    assert result.exit_code == 0, result.output
    i = next(i for i, e in enumerate(events) if e["kind"] == kind)
    events[i]["node"] = "n9"  # votes of such nodes counted toward a quorum
    path = _write(tmp_path / "x.jsonl", events)
    res = runner.invoke(main, ["check", str(path)])
    assert res.exit_code == 2, res.output
    assert res.stderr == f"{path}:{i + 1}: node: unknown node 'n9' (the header's nodes are n1, n2, n3)\n"
    del events[i]["node"]
    res = runner.invoke(main, ["check", str(_write(path, events))])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{path}:{i + 1}: node: missing (") and res.stderr.count("\n") == 1
    events[i]["node"] = ["n1"]  # was a TypeError traceback on the kinds the schema leaves open
    res = runner.invoke(main, ["check", str(_write(path, events))])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{path}:{i + 1}: node: expected ") and res.stderr.count("\n") == 1


def test_a_multi_paxos_trace_cut_short_is_incomplete_never_ok(runner, tmp_path):
    _, events, _ = _kv_trace(runner, tmp_path)
    path = _write(tmp_path / "cut.jsonl", events[:len(events) // 2])
    res = runner.invoke(main, ["check", str(path)])
    assert res.exit_code == 2
    assert "verdict:   INCOMPLETE trace (the trace has no 'end' event): no violation in the events it has\n" \
        in res.stdout
    assert "verdict:   OK" not in res.stdout
    out = json.loads(runner.invoke(main, ["check", str(path), "--json"]).stdout)
    assert out["status"] == "incomplete" and out["verdict"]["complete"] is False
    # a violation in a trace cut short is still a violation
    _, events, _ = _kv_trace(runner, tmp_path, *BROKEN)
    res = runner.invoke(main, ["check", str(_write(path, events[:-1]))])
    assert res.exit_code == 1
    assert "verdict:   VIOLATION (" in res.stdout and ") in an INCOMPLETE trace (the trace has no 'end' event)" \
        in res.stdout
    assert json.loads(runner.invoke(main, ["check", str(path), "--json"]).stdout)["status"] == "violation"


def test_a_single_decree_trace_cut_short_has_status_incomplete(runner, tmp_path):
    from .conftest import ROOT

    trace = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/happy.yaml"), "--trace", str(trace)]).exit_code == 0
    lines = trace.read_text().splitlines(keepends=True)
    trace.write_text("".join(lines[:20]))
    out = json.loads(runner.invoke(main, ["check", str(trace), "--json"]).stdout)
    assert out["status"] == "incomplete"


def test_lines_out_of_seq_order_get_the_same_verdicts_and_errors_name_the_file_s_line(runner, tmp_path):
    _, events, _ = _kv_trace(runner, tmp_path)
    shuffled = _write(tmp_path / "s.jsonl", [events[0]] + events[1:][::-1])  # lines may come in any order
    assert runner.invoke(main, ["check", str(shuffled)]).exit_code == 0
    res = runner.invoke(main, ["linearizable", str(shuffled), "--model", "kv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"{shuffled}: linearizable")
    # an ok whose invoke is gone: the error names the ok's line in the file, not its place in seq order
    i = next(k for k, e in enumerate(events) if e["kind"] == "invoke" and e["req"] == 5)
    invoke = events.pop(i)
    for seq, e in enumerate(events[1:]):
        e["seq"] = seq
    body = events[1:][::-1]
    path = _write(tmp_path / "bad.jsonl", [events[0]] + body)
    line = 2 + next(k for k, e in enumerate(body) if e["kind"] == "ok" and (e["client"], e["req"]) ==
                    (invoke["client"], invoke["req"]))
    for args in (["check", str(path)], ["linearizable", str(path), "--model", "kv"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert res.stderr == f"{path}:{line}: req: completes an operation that was never invoked (or was already " \
                             f"completed)\n"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.5e309"])
def test_a_number_too_large_for_a_float_is_refused_not_read_as_infinity(runner, tmp_path, number):
    from .conftest import ROOT

    trace = tmp_path / "t.jsonl"
    runner.invoke(main, ["run", str(ROOT / "scenarios/happy.yaml"), "--set", "duration=3ms", "--trace", str(trace)])
    lines = trace.read_text().splitlines(keepends=True)
    end = json.loads(lines[-1])
    lines[-1] = lines[-1].replace(f'"t":{json.dumps(end["t"])}', f'"t":{number}')
    trace.write_text("".join(lines))
    res = runner.invoke(main, ["check", str(trace), "--json"])
    assert res.exit_code == 2, res.output
    assert res.stderr == f"{trace}:{len(lines)}: {number} is too large for a number (it would be infinite)\n"


def _failover_trace(runner, tmp_path) -> list[dict]:
    from .conftest import ROOT
    trace = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "kv-failover.yaml"), "--trace", str(trace)])
    assert result.exit_code == 0 and "log:       safe" in result.output, result.output
    return [json.loads(line) for line in trace.read_text().splitlines()]


def _check(runner, tmp_path, events: list[dict]):
    """`paxsim check --json` of `events`, renumbered in order."""
    n = 0
    for ev in events[1:]:
        ev["seq"] = n
        n += 1
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(json.dumps(ev, sort_keys=True) + "\n" for ev in events))
    result = runner.invoke(main, ["check", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("act", ["voted", "decided", "executed"])
def test_a_node_acting_while_down_is_a_fail_stop_violation(runner, tmp_path, act):
    # Multi-Paxos events of a crashed node counted like a live node's: a vote
    # cast while down went toward a quorum, and nothing said it could not be.
    events = _failover_trace(runner, tmp_path)
    crash = next(i for i, ev in enumerate(events) if ev.get("kind") == "crash")
    node = events[crash]["node"]
    restart = next(i for i, ev in enumerate(events) if ev.get("kind") == "restart" and ev["node"] == node)
    code, clean = _check(runner, tmp_path, [dict(ev) for ev in events])
    assert code == 0 and clean["status"] == "ok"
    # another node's act while `node` is down, made `node`'s (twice: reported once)
    at = next(i for i in range(crash + 1, restart) if events[i].get("kind") == act)
    forged = [dict(events[at], node=node), dict(events[at], node=node)]
    edited = [dict(ev) for ev in events[:at + 1]] + forged + [dict(ev) for ev in events[at + 1:]]
    code, out = _check(runner, tmp_path, edited)
    assert code == 1 and out["status"] == "violation"
    found = [v for v in out["verdict"]["violations"] if v["kind"] == "fail-stop"]
    crash_seq = edited[crash]["seq"]
    assert [v["message"] for v in found] == [
        f"{node} is down (crashed at seq {crash_seq}) but {act} at seq {edited[at + 1]['seq']}"]


def test_a_restart_of_a_node_that_is_up_and_a_second_crash_are_fail_stop_violations(runner, tmp_path):
    events = _failover_trace(runner, tmp_path)
    crash = next(i for i, ev in enumerate(events) if ev.get("kind") == "crash")
    node = events[crash]["node"]
    other = next(n for n in events[0]["scenario"]["nodes"] if n != node)
    edited = ([dict(ev) for ev in events[:crash + 1]] + [dict(events[crash])]
              + [dict(ev, node=other) if ev.get("kind") == "restart" else dict(ev) for ev in events[crash + 1:]])
    code, out = _check(runner, tmp_path, edited)
    assert code == 1
    messages = [v["message"] for v in out["verdict"]["violations"] if v["kind"] == "fail-stop"]
    assert messages[0] == (f"{node} crashed at seq {edited[crash + 1]['seq']} while already down (crashed at seq "
                           f"{edited[crash]['seq']})")
    assert messages[1].startswith(f"{other} restarted at seq ") and messages[1].endswith(
        " while up: a restart must follow a crash")
