"""Multi-Paxos through the simulator: scenarios with a protocol kind and a
workload, the generic runtime, the trace, the checker's two verdicts and the
CLI's report."""

import json
import os
import subprocess
import sys

import pytest

from paxsim import load_scenario, simulate
from paxsim.check import check
from paxsim.cli import main
from paxsim.scenario import ScenarioError, parse_scenario
from paxsim.trace import read_trace

from .conftest import ROOT

KV = ROOT / "scenarios" / "kv.yaml"
SMALL = """
name: small
duration: 400ms
nodes: 3
protocol: {kind: multi-paxos}
workload: {clients: 2, keys: 2}
network: {latency: {dist: uniform, low: 1ms, high: 3ms}}
"""


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "s.yaml")
    return str(exc.value)


@pytest.mark.parametrize("text, expected", [
    ("nodes: 3\nworkload: {clients: 2}\nproposers: [{node: n1, value: a}]\n",
     "s.yaml:2: workload: a workload is for protocol kind multi-paxos"),
    ("nodes: 3\nprotocol: {kind: multi-paxos, bugs: [amnesia]}\n",
     "s.yaml:2: protocol.bugs[0]: unknown multi-paxos bug 'amnesia'"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  clients: 2\n  clinets: 3\n",
     "s.yaml:5: workload.clinets: unknown key 'clinets' (did you mean 'clients'?)"),
    ("nodes: 3\nprotocol: {kind: multi-paxos, heartbeat: 50ms, election: [40ms, 90ms]}\n",
     "s.yaml:2: protocol.election: election timeout 40ms is not above the heartbeat 50ms"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nproposers: [{node: n1, value: a}]\n",
     "s.yaml:3: proposers: proposers are for single-decree"),
    ("nodes: 3\nprotocol:\n  kind: multi-paxos\n  quorum: majority\n",
     "s.yaml:4: protocol.quorum: quorum is not an option of multi-paxos"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  nodes: [n1, n9]\n",
     "s.yaml:4: workload.nodes[1]: unknown node 'n9'"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  rate: 0\n",
     "s.yaml:4: workload.rate: expected a number > 0"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  mix: {get: 0}\n",
     "s.yaml:4: workload.mix: every weight is 0"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nworkload:\n  distribution: pareto\n",
     "s.yaml:4: workload.distribution: expected one of 'uniform', 'zipf'"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nexpect: {violates: validity}\n",
     "s.yaml:3: expect.violates: validity is not a property of multi-paxos"),
    ("nodes: 3\nprotocol: {kind: multi-paxos}\nstop: when-decided\n",
     "s.yaml:3: stop: when-decided is for single-decree scenarios (a multi-paxos run ends at its duration)"),
])
def test_bad_multi_paxos_scenarios_get_one_line(text, expected):
    message = error_of(text)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_the_normalized_form_round_trips_and_single_decree_has_no_kind():
    from paxsim.scenario import scenario_from_dict

    sc = load_scenario(KV)
    assert sc.kind == "multi-paxos" and sc.workload.clients == 4
    assert scenario_from_dict(sc.to_dict()) == sc.with_changes(source="<scenario>")
    single = load_scenario(ROOT / "scenarios" / "happy.yaml")
    assert "kind" not in single.to_dict()["protocol"] and "workload" not in single.to_dict()


def test_a_run_records_nodes_and_clients_and_is_judged_on_both_counts():
    run = simulate(parse_scenario(SMALL), 3)
    events = run.events
    header = events[0]
    assert header["scenario"]["protocol"]["kind"] == "multi-paxos"
    kinds = [e["kind"] for e in events]
    for kind in ("restored", "promised", "leading", "voted", "decided", "executed", "invoke", "ok", "end"):
        assert kind in kinds, kind
    invoke = next(e for e in events if e["kind"] == "invoke")
    assert invoke["node"] == invoke["client"] and invoke["client"] in ("c1", "c2")
    assert {"seq", "t", "kind", "node", "client", "req", "f", "key", "value"} == set(invoke)
    assert [e["seq"] for e in events[1:]] == list(range(len(events) - 1))
    verdict = run.verdict
    assert verdict.ok and verdict.workload["linearizability"] == "linearizable"
    assert verdict.workload["log_safety"] == "holds"
    ok = kinds.count("ok")
    assert verdict.workload["ok"] == ok > 20


def test_the_same_seed_gives_the_same_trace_in_another_process(tmp_path):
    sc = parse_scenario(SMALL)
    here = "".join(simulate(sc, 11).lines())
    assert here != "".join(simulate(sc, 12).lines())
    path = tmp_path / "s.yaml"
    path.write_text(SMALL)
    code = ("import sys; from paxsim import load_scenario, simulate; "
            "sys.stdout.write(''.join(simulate(load_scenario(sys.argv[1]), 11).lines()))")
    env = dict(os.environ, PYTHONHASHSEED="123", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out == here


def test_the_workload_has_its_own_stream():
    """Changing only what clients invoke (the mix) leaves the network's draws alone:
    the first messages, before any client speaks, are delivered at the same times."""
    a = parse_scenario(SMALL)
    b = parse_scenario(SMALL.replace("keys: 2}", "keys: 2, mix: {put: 1}}"))
    first = [e for e in simulate(a, 5).events if e["kind"] == "deliver"][:3]
    assert first == [e for e in simulate(b, 5).events if e["kind"] == "deliver"][:3]
    puts = [e["f"] for e in simulate(b, 5).events if e["kind"] == "invoke"]
    assert set(puts) == {"put"}


def test_open_loop_arrivals_follow_the_rate():
    slow = simulate(parse_scenario(SMALL.replace("keys: 2}", "keys: 2, loop: open, rate: 20}")), 1)
    fast = simulate(parse_scenario(SMALL.replace("keys: 2}", "keys: 2, loop: open, rate: 400}")), 1)
    n_slow = sum(e["kind"] == "invoke" for e in slow.events)
    n_fast = sum(e["kind"] == "invoke" for e in fast.events)
    assert 0 < n_slow < n_fast


def test_clients_are_outside_partitions():
    text = SMALL + "faults:\n  - {at: 0ms, partition: [[n1], [n2, n3]]}\n"
    run = simulate(parse_scenario(text), 2)
    sends = {e["id"]: e for e in run.events if e["kind"] == "send"}
    dropped = [sends[e["id"]] for e in run.events if e["kind"] == "drop"]
    assert dropped and all(d["src"].startswith("n") and d["dst"].startswith("n") for d in dropped)
    assert run.verdict.ok


def test_run_reports_ops_latency_and_both_verdicts(runner, tmp_path):
    trace = tmp_path / "kv.jsonl"
    result = runner.invoke(main, ["run", str(KV), "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for line in ("ops:       ", "ops/s simulated", "latency:   p50 ", "p99 ", "log:       safe",
                 "history:   linearizable (model kv)", "verdict:   OK", "expect:    met"):
        assert line in out, out
    checked = runner.invoke(main, ["check", str(trace)])
    assert checked.exit_code == 0, checked.output
    assert "history:   linearizable (model kv)" in checked.stdout
    as_json = json.loads(runner.invoke(main, ["run", str(KV), "--json"]).stdout)
    assert as_json["workload"]["ok"] >= 100 and as_json["workload"]["latency"]["p50"] > 0


def stale_history_trace(tmp_path):
    """A kv trace whose history reads a value that was overwritten before the read began."""
    run = simulate(parse_scenario(SMALL), 3)
    events = run.lines_as_events()
    end = events.pop()
    seq, t = end["seq"], end["t"]
    extra = [
        {"kind": "invoke", "client": "c9", "req": 1, "f": "put", "key": "kz", "value": "1"},
        {"kind": "ok", "client": "c9", "req": 1, "f": "put", "key": "kz", "value": None},
        {"kind": "invoke", "client": "c9", "req": 2, "f": "put", "key": "kz", "value": "2"},
        {"kind": "ok", "client": "c9", "req": 2, "f": "put", "key": "kz", "value": None},
        {"kind": "invoke", "client": "c8", "req": 1, "f": "get", "key": "kz", "value": None},
        {"kind": "ok", "client": "c8", "req": 1, "f": "get", "key": "kz", "value": "1"},
    ]
    for i, ev in enumerate(extra):
        events.append({"seq": seq + i, "t": t, "node": ev["client"], **ev})
    end["seq"] = seq + len(extra)
    events.append(end)
    path = tmp_path / "stale.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_check_finds_a_stale_read_and_explains_it(runner, tmp_path):
    path = stale_history_trace(tmp_path)
    verdict = check(read_trace(path))
    assert [v.kind for v in verdict.violations] == ["linearizability"]
    assert "'kz'" in verdict.violations[0].message
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "history:   NOT LINEARIZABLE" in result.stdout
    assert "c8" in result.stdout and "get -> '1'" in result.stdout and "<- first that cannot be placed" in result.stdout


def test_check_reports_log_safety_findings(runner, tmp_path):
    run = simulate(parse_scenario(SMALL), 3)
    events = run.lines_as_events()
    executed = [e for e in events if e["kind"] == "executed" and e["command"] is not None]
    a = next(e for e in executed if e["node"] == "n2")
    a["command"] = dict(a["command"], value="tampered")
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "log:       VIOLATED" in result.stdout and "agreement: slot" in result.stdout


def test_check_finds_a_replica_that_skipped_a_put_the_others_applied(runner, tmp_path):
    # every result in the trace still agrees (a put returns None); only the
    # executed event says n2 did not apply the put: its state went apart
    run = simulate(parse_scenario(SMALL), 3)
    events = run.lines_as_events()
    put = next(e for e in events if e["kind"] == "executed" and e["node"] == "n2" and e["applied"]
               and e["command"]["f"] == "put")
    put["applied"] = False
    path = tmp_path / "skipped.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "log:       VIOLATED" in result.stdout
    assert f"divergence: slot {put['slot']} " in result.stdout and "n2 did not apply it" in result.stdout


def test_check_finds_a_second_command_chosen_for_a_decided_slot(runner, tmp_path):
    # two acceptors (a quorum of three) vote at a higher ballot for another
    # command at a slot already decided; no replica learns it
    events = simulate(parse_scenario(SMALL), 3).lines_as_events()
    decided = next(e for e in events if e["kind"] == "decided" and e["command"] is not None)
    end = events.pop()
    other = dict(decided["command"], value="other")
    for node in ("n2", "n3"):
        events.append({"seq": len(events) - 1, "t": end["t"], "kind": "voted", "node": node,
                       "slot": decided["slot"], "ballot": [99, "n2"], "command": other})
    events.append(dict(end, seq=len(events) - 1))
    path = tmp_path / "chosen.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "log:       VIOLATED" in result.stdout
    assert f"agreement: slot {decided['slot']}: two commands chosen: " in result.stdout
    assert "'other' at ballot [99, 'n2'] (votes of n2" in result.stdout


@pytest.mark.parametrize("kind, field, value, message", [
    ("executed", "slot", None, "slot: missing (required in a 'executed' event)"),
    ("executed", "slot", "3", 'slot: expected a slot number (an integer >= 0), found a string "3"'),
    ("decided", "command", {"client": "c1"}, "command: expected a command {client, req, f, key, value} or null"),
    ("restored", "executed", None, "executed: missing (required in a 'restored' event)"),
])
def test_check_refuses_a_malformed_multi_paxos_event_in_one_line(runner, tmp_path, kind, field, value, message):
    # the log-safety properties read these fields: a bad one is bad input (exit 2), never a traceback
    events = simulate(parse_scenario(SMALL), 3).lines_as_events()
    number, ev = next((n, e) for n, e in enumerate(events, 1) if e["kind"] == kind)
    if value is None:
        del ev[field]
    else:
        ev[field] = value
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().startswith(f"{path}:{number}: {message}") and "Traceback" not in result.output
    assert "\n" not in result.stderr.strip()


def test_bugs_lists_each_protocols_mutants_under_its_name(runner):
    from paxsim.protocols.multi import BUGS as MULTI_BUGS

    out = runner.invoke(main, ["bugs"]).stdout
    single, multi = out.split("multi-paxos (protocol: {kind: multi-paxos}):")
    for name in ("stale-read", "no-dedup", "skip-recovery", "hole-skip", "eager-catchup"):
        assert name in MULTI_BUGS and f"  {name} " in multi and f"  {name} " not in single
    assert "  amnesia " in single


def test_a_bug_of_the_other_protocol_is_one_clear_line(runner):
    result = runner.invoke(main, ["run", str(KV), "--bug", "amnesia"])
    assert result.exit_code == 2
    assert "protocol.bugs[0]: unknown multi-paxos bug 'amnesia'" in result.stderr
    assert "Traceback" not in result.output


def test_sweep_summary_gives_throughput_and_operation_latency(runner, tmp_path):
    out = tmp_path / "sweep.jsonl"
    result = runner.invoke(main, ["sweep", str(KV), "--seeds", "0:3", "--set", "workload.clients=1,4",
                                  "--jobs", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    head = next(line for line in lines if line.startswith("parameters"))
    assert head.split() == ["parameters", "runs", "ops/s", "op", "p50", "ms", "op", "p99", "ms", "ops", "ok",
                            "unknown", "lin", "unknown", "violations"]
    one = next(line for line in lines if line.startswith("workload.clients=1 ")).split()
    four = next(line for line in lines if line.startswith("workload.clients=4 ")).split()
    assert one[1] == four[1] == "3"
    assert float(four[2]) > float(one[2]) > 0  # four closed-loop clients complete more per second
    assert one[-1] == four[-1] == "0"


def test_hunt_catches_a_multi_paxos_mutant_and_refuses_the_other_protocols(runner):
    partition = str(ROOT / "scenarios" / "kv-partition.yaml")
    result = runner.invoke(main, ["hunt", "--profile", partition, "--bug", "hole-skip", "--ranges", "1",
                                  "--range-size", "20", "--correct-seeds", "5", "--jobs", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("| hole-skip |"))
    assert "(1/1)" in row and "order" in row
    assert "| correct protocol | 0 violations in 5 seeds |" in result.stdout
    wrong = runner.invoke(main, ["hunt", "--profile", partition, "--bug", "amnesia", "--quick"])
    assert wrong.exit_code == 2
    assert "'amnesia' is not a bug of multi-paxos" in wrong.stderr


def test_run_plots_of_a_workload_run_include_throughput_and_operations(runner, tmp_path):
    result = runner.invoke(main, ["run", str(KV), "--plots", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == ["latency.png", "operations.png", "throughput.png", "timeline.png"]


def _kv_trace(tmp_path, runner, client_events):
    """A kv.yaml run's header and end around hand-written client events (no expect on ops)."""
    run_path = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(KV), "--seed", "1", "--trace", str(run_path)]).exit_code == 0
    events = read_trace(run_path)
    header, end = events[0], events[-1]
    header["scenario"]["expect"] = {"safety": "holds"}
    body = [dict(ev, seq=i) for i, ev in enumerate(client_events)]
    end = dict(end, seq=len(body))
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(ev, sort_keys=True) + "\n" for ev in [header, *body, end]))
    return path


def _op(client, kind, f, value, t):
    return {"client": client, "node": client, "f": f, "key": "k0", "kind": kind, "req": 1, "t": t, "value": value}


def _hard_history():
    """Twenty concurrent puts, then a read of a value nobody wrote: a violation, but one the
    search can only show by trying the orders of the puts; with a short limit it cannot."""
    events = [_op(f"c{i}", "invoke", "put", f"v{i}", 1.0) for i in range(20)]
    events += [_op(f"c{i}", "ok", "put", None, 100.0) for i in range(20)]
    return events + [_op("c99", "invoke", "get", None, 200.0), _op("c99", "ok", "get", "nobody", 201.0)]


def test_check_says_unknown_and_exits_3_when_the_linearizability_search_runs_out(runner, tmp_path, monkeypatch):
    import paxsim.check_multi

    path = _kv_trace(tmp_path, runner, _hard_history())
    monkeypatch.setattr(paxsim.check_multi, "LIN_TIME_LIMIT", 0.2)
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 3, result.output
    assert "history:   UNKNOWN" in result.output
    assert "verdict:   UNKNOWN: no violation found, but linearizability is undecided" in result.output
    assert "verdict:   OK" not in result.output


def test_check_refuses_a_malformed_client_event_in_one_line(runner, tmp_path):
    events = [_op("c1", "invoke", "get", None, 1.0), _op("c1", "ok", "get", [1, 2], 2.0)]
    path = _kv_trace(tmp_path, runner, events)
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{path}:3: value: expected a string or null, found list\n"
    assert result.stdout == ""


def test_check_json_status_says_unknown_where_ok_only_says_no_violation(runner, tmp_path, monkeypatch):
    import paxsim.check_multi

    path = _kv_trace(tmp_path, runner, _hard_history())
    monkeypatch.setattr(paxsim.check_multi, "LIN_TIME_LIMIT", 0.2)
    result = runner.invoke(main, ["check", str(path), "--json"])
    assert result.exit_code == 3, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "unknown"
    assert out["verdict"]["ok"] is True  # no violation found: that is all "ok" says
    assert out["workload"]["linearizability"] == "unknown"


def test_run_json_status_follows_the_verdict(runner):
    ok = runner.invoke(main, ["run", str(KV), "--seed", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "ok"
    bad = runner.invoke(main, ["run", str(KV.parent / "bugs" / "stale-read.yaml"), "--json"])
    out = json.loads(bad.stdout)
    assert bad.exit_code == 1, bad.output
    assert out["status"] == "violation" and out["verdict"]["ok"] is False


def test_sweep_exits_3_when_a_runs_linearizability_is_undecided(runner, tmp_path, monkeypatch):
    # The search's time limit is what leaves a history undecided (shown by the check test
    # above); here the search answers "unknown" for every run's history, as it does when
    # it runs out.  The correct store's log order is then checked as a witness and settles
    # every history; with stale reads (answered outside the log) it is no witness, the
    # histories stay undecided, and the sweep must not exit 0 as if every history were judged.
    import importlib

    lin_check = importlib.import_module("paxsim.lin.check")  # the module (paxsim.lin.check is the function)
    args = ["sweep", str(KV), "--seeds", "0:2", "-j", "1", "-o"]
    judged = runner.invoke(main, [*args, str(tmp_path / "kv.jsonl")])
    assert judged.exit_code == 0, judged.output
    monkeypatch.setattr(lin_check, "linearizable", lambda ops, initial, deadline=None: None)
    settled = runner.invoke(main, [*args, str(tmp_path / "kv2.jsonl")])
    assert settled.exit_code == 0, settled.output
    row = next(line for line in settled.stdout.splitlines() if line.startswith("(scenario as written)"))
    assert row.split()[-2:] == ["0", "0"]  # lin unknown 0, violations 0
    undecided = runner.invoke(main, [*args, str(tmp_path / "kv3.jsonl"), "--bug", "stale-read"])
    assert undecided.exit_code == 3, undecided.output
    row = next(line for line in undecided.stdout.splitlines() if line.startswith("(scenario with --bug stale-read)"))
    assert row.split()[-2:] == ["2", "0"]  # lin unknown 2, violations 0


def test_hunt_counts_undecided_correct_runs_and_exits_3(runner, monkeypatch):
    # "0 violations in N seeds" said nothing of correct runs whose history was
    # undecided, and the hunt exited 0 where `paxsim sweep` of them exits 3.
    # The hunt's workers are forked, so they inherit the patched search: out of
    # time on every key, and no log order offered as a witness.
    import importlib

    import paxsim.check_multi

    lin_check = importlib.import_module("paxsim.lin.check")  # the module (paxsim.lin.check is the function)
    monkeypatch.setattr(lin_check, "linearizable", lambda ops, initial, deadline=None: None)
    monkeypatch.setattr(paxsim.check_multi.lin, "witness_from_order", lambda order, events, history: None)
    result = runner.invoke(main, ["hunt", "--profile", str(KV), "--bug", "no-dedup", "--ranges", "1",
                                  "--range-size", "1", "--correct-seeds", "3", "-j", "1", "--no-progress"])
    assert result.exit_code == 3, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("| correct protocol |"))
    assert "0 violations in 3 seeds, 3 undecided" in row


def test_ops_per_second_of_a_trace_cut_short_is_over_the_time_it_covers(runner, tmp_path):
    # A trace cut short (no end event) divided its ok operations by the
    # scenario's whole duration.
    full = tmp_path / "kv.jsonl"
    assert runner.invoke(main, ["run", str(KV), "--trace", str(full)]).exit_code == 0
    lines = full.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:len(lines) // 2]))
    events = read_trace(cut)
    last_t = events[-1]["t"]
    result = runner.invoke(main, ["check", str(cut), "--json"])
    assert result.exit_code == 2  # incomplete, and no violation in what it has
    workload = json.loads(result.stdout)["workload"]
    assert last_t < events[0]["scenario"]["duration"]
    assert workload["ops_per_s"] == pytest.approx(workload["ok"] / (last_t / 1000.0))


def test_many_clients_get_a_note_up_front_and_a_sweep_counts_in_the_singular(runner, tmp_path):
    # 100,000 clients ran for minutes without a word (5,000 nodes get a note);
    # and a sweep of one seed said "1 runs ... 1 combination(s) x 1 seeds"
    many = ["--set", "workload.clients=10000", "--set", "duration=1ms", "--set", "expect.ops=0"]
    result = runner.invoke(main, ["run", str(KV), *many])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("note: 10,000 clients, each with an operation in flight: a run and the check "
                                    "of its history can take minutes")
    out = tmp_path / "s.jsonl"
    result = runner.invoke(main, ["sweep", str(KV), *many, "--seeds", "0:1", "-j", "1", "-o", str(out),
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "note: 10,000 clients" in result.stderr
    assert result.stdout.startswith(f"1 run (1 now, 0 already in {out}), 1 combination x 1 seed\n")
    few = runner.invoke(main, ["run", str(KV), "--set", "workload.clients=9999", "--set", "duration=1ms",
                               "--set", "expect.ops=0"])
    assert few.exit_code == 0 and "note:" not in few.stderr
