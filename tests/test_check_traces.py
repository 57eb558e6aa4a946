"""`paxsim check` on hand-written and hand-edited trace files (issue 8, item 4).

Each way a trace can fool the checker is decided one way or the other:

* malformed (exit 2, one line on stderr: file, line, field): a field of the
  wrong type or missing, an unknown field of a known kind, a node the header
  does not name, a seq repeated or missing, a time that goes backwards in seq
  order, an event after `end`, a sweep results file given as a trace;
* a violation (exit 1, explained with seq numbers): a node that acts while it
  is down, a decision before its value was chosen (judged in seq order, not
  line order), a value chosen that no proposer was given (also with
  `proposers: []`);
* incomplete (no `end` event): never reported as OK; exit 2 unless what it
  has already shows a violation (exit 1).
"""

import json
import os
import stat

import pytest

from paxsim.cli import main

from .conftest import ROOT
from .traces import Trace

PARTITION = str(ROOT / "scenarios" / "partition.yaml")


def chosen_a():
    """n1 and n2 vote 'a' at (1, n1): 'a' is chosen (seq 0, 1)."""
    return Trace().vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")


def check(runner, path, *args):
    return runner.invoke(main, ["check", str(path), *args])


def malformed(result, path, line, text):
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"{path}:{line}: {text}"), result.stderr


# -- a good trace stays good ---------------------------------------------------------
def test_a_complete_good_trace_is_ok(runner, tmp_path):
    t = chosen_a().decide("n1", "a").decide("n2", "a").decide("n3", "a").end().write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 0, result.output
    assert "verdict:   OK: every learner agrees on 'a'" in result.stdout


def test_a_real_run_passes_validation_and_its_verdict_is_unchanged(runner, tmp_path):
    t = tmp_path / "run.jsonl"
    ran = runner.invoke(main, ["run", PARTITION, "--trace", str(t), "--json"])
    checked = check(runner, t, "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["verdict"] == json.loads(ran.stdout)["verdict"]


# -- nodes outside the configuration: malformed --------------------------------------
def test_a_vote_from_an_unknown_node_is_malformed_not_counted(runner, tmp_path):
    # One real voter and one from outside the configuration must not make a quorum.
    tr = Trace().vote("n1", (1, "n1"), "a").vote("n9", (1, "n1"), "a").decide("n1", "a").end()
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 3, "node: unknown node 'n9' (the header's nodes are n1, n2, n3)")


def test_padded_quorums_are_malformed(runner, tmp_path):
    tr = chosen_a().add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "x1"])
    t = tr.vote("n3", (2, "n3"), "b").vote("x1", (2, "n3"), "b").end().write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 4, "quorum[1]: unknown node 'x1'")


def test_unknown_nodes_in_the_header_and_the_end_are_malformed(runner, tmp_path):
    tr = chosen_a().end()
    tr.events[0]["scenario"]["proposers"][0]["node"] = "n7"
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 1, "header.scenario: proposers[0].node: unknown node 'n7'")
    tr = chosen_a().end()
    tr.events[-1]["up"] = ["n1", "zz"]
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 4, "up[1]: unknown node 'zz'")


# -- a node that is down does nothing: a violation -------------------------------------
def test_votes_and_decisions_by_a_crashed_node_are_violations(runner, tmp_path):
    tr = Trace().vote("n1", (1, "n1"), "a").add("crash", node="n2")  # seq 0, 1
    tr.vote("n2", (1, "n1"), "a").decide("n2", "a")  # seq 2, 3: n2 is down
    t = tr.end().write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 1, result.output
    assert "fail-stop: n2 is down (crashed at seq 1) but it voted at seq 2" in result.stdout
    assert "and again at seq 3" in result.stdout  # the decision, counted into the same finding
    data = json.loads(check(runner, t, "--json").stdout)
    stop = [v for v in data["verdict"]["violations"] if v["kind"] == "fail-stop"]
    assert stop[0]["seqs"] == [1, 2, 3]


def test_after_a_restart_the_node_may_act_again(runner, tmp_path):
    tr = Trace().add("crash", node="n2").add("restart", node="n2", storage="durable")
    t = tr.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").end().write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 0, result.output


def test_impossible_crashes_and_restarts_are_violations(runner, tmp_path):
    tr = Trace().add("crash", node="n2").add("crash", node="n2").add("restart", node="n3", storage="durable")
    t = tr.end().write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 1
    assert "fail-stop: n2 crashed at seq 1 while already down (crashed at seq 0)" in result.stdout
    assert "fail-stop: n3 restarted at seq 2 while up: a restart must follow a crash" in result.stdout


# -- seq order, not line order -----------------------------------------------------------
def test_events_are_judged_in_seq_order_not_line_order(runner, tmp_path):
    tr = Trace().vote("n1", (1, "n1"), "a", t=1.0).decide("n3", "a", t=2.0).vote("n2", (1, "n1"), "a", t=3.0).end()
    lines = tr.events[:2] + [tr.events[3], tr.events[2]] + tr.events[4:]  # the decide placed after the vote
    t = tr.write(tmp_path / "t.jsonl", lines)
    result = check(runner, t)
    assert result.exit_code == 1, result.output
    assert "integrity: n3 decided 'a' (seq 1) but no quorum of acceptors had voted for it" in result.stdout
    # the same events in seq order are good, whatever the line order
    good = Trace().vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").decide("n3", "a").end()
    t = good.write(tmp_path / "g.jsonl", [good.events[0]] + good.events[:0:-1])
    assert check(runner, t).exit_code == 0


def test_a_repeated_seq_is_malformed(runner, tmp_path):
    tr = chosen_a().end()
    tr.events[2]["seq"] = 0
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 3, "seq: 0 again (also on line 2)")


def test_a_missing_seq_is_malformed(runner, tmp_path):
    tr = chosen_a().decide("n1", "a").end()
    del tr.events[2]  # a line cut from the middle
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 3, "seq: seq 1 missing before this event's seq 2: the trace was cut or filtered")


def test_time_going_backwards_in_seq_order_is_malformed(runner, tmp_path):
    tr = Trace().vote("n1", (1, "n1"), "a", t=5.0).vote("n2", (1, "n1"), "a", t=4.0).end()
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 3, "t: 4 is earlier than 5, the time of seq 0 (line 2)")


UNREADABLE_TIMES = [
    # JSON's integers have no bound: a time of 10**400 ms crashed every reader (formatting it as a
    # float for the message, or using it as one)
    ("1" + "0" * 400, "t: a whole number of 401 digits, too large for a time in ms (a float's range)"),
    # Python reads no whole number of more than 4,300 digits, and its message told the user to call
    # sys.set_int_max_str_digits()
    ("7" * 5000, "a whole number of 5,000 digits, more than the 4,300 Python reads"),
]


@pytest.mark.parametrize("command", [["check"], ["view"], ["plot", "timeline"], ["plot", "latency"], ["export"]])
@pytest.mark.parametrize("time, message", UNREADABLE_TIMES, ids=["past-a-float", "past-python"])
def test_a_time_no_reader_can_use_is_malformed(runner, tmp_path, command, time, message):
    """One line naming the line (and the field, where the line could be
    read), exit 2, and no output file."""
    from paxsim.cli import main

    tr = Trace().vote("n1", (1, "n1"), "a", t=5.0).vote("n2", (1, "n1"), "a", t=6.0).end()
    t = tr.write(tmp_path / "t.jsonl")
    lines = t.read_text().splitlines()
    lines[2] = lines[2].replace('"t": 6.0', f'"t": {time}')
    assert f'"t": {time[:3]}' in lines[2]
    t.write_text("\n".join(lines) + "\n")
    out = tmp_path / {"view": "out.html", "plot": "out.png", "export": "out.json"}.get(command[0], "out")
    result = runner.invoke(main, [*command, str(t)] + (["-o", str(out)] if command[0] != "check" else []))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"{t}:3: {message}", result.stderr
    assert not out.exists()


def test_events_after_the_end_are_malformed(runner, tmp_path):
    tr = chosen_a().end().decide("n1", "a")
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 5, "seq: 3 comes after the 'end' event (line 4)")


def test_a_second_header_is_malformed(runner, tmp_path):
    tr = chosen_a().end()
    t = tr.write(tmp_path / "t.jsonl", tr.events[:2] + [tr.events[0]] + tr.events[2:])
    malformed(check(runner, t), t, 3, "a second header (the first is on line 1)")


# -- validity with proposers: [] ----------------------------------------------------------
def test_with_no_proposers_any_chosen_value_violates_validity(runner, tmp_path):
    t = Trace(values=()).vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").end().write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 1, result.output
    assert ("validity: value 'a' was chosen at (1, n1) but no proposer was given it "
            "(the header lists no proposers)") in result.stdout


def test_without_proposers_in_the_header_the_trace_is_malformed(runner, tmp_path):
    tr = chosen_a().end()
    del tr.events[0]["scenario"]["proposers"]
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 1, "scenario.proposers: missing (required in scenario)")


# -- cut short: incomplete, never OK -------------------------------------------------------
def test_a_trace_without_end_is_incomplete_not_ok(runner, tmp_path):
    t = chosen_a().decide("n1", "a", t=3.5).write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 2, result.output
    assert "OK" not in result.stdout and "0 sent" not in result.stdout
    assert ("verdict:   INCOMPLETE trace (no 'end' event: the trace stops at seq 2 (t=3.5 ms)): "
            "no violation in the events it has") in result.stdout
    assert "messages:  unknown (the trace has no 'end' event)" in result.stdout
    assert result.stderr == (f"{t}: incomplete trace: no 'end' event: the trace stops at seq 2 (t=3.5 ms); "
                             f"checked what it has, found no violation\n")
    data = json.loads(check(runner, t, "--json").stdout)
    assert data["verdict"]["complete"] is False and data["verdict"]["ok"] is True


def test_the_first_lines_of_a_real_run_are_incomplete(runner, tmp_path):
    full = tmp_path / "run.jsonl"
    runner.invoke(main, ["run", PARTITION, "--trace", str(full)])
    t = tmp_path / "cut.jsonl"
    t.write_text("".join(full.read_text().splitlines(keepends=True)[:40]))
    result = check(runner, t)
    assert result.exit_code == 2 and "INCOMPLETE" in result.stdout and "OK" not in result.stdout
    assert json.loads(check(runner, full, "--json").stdout)["verdict"]["complete"] is True
    # partition.yaml expects a decision; what the run did after the cut is unknown, so it is not judged
    # (it read "expect: NOT MET - decided: ... nobody decided", a claim about a run the tool never saw)
    assert "expect:    not judged (the trace is incomplete)" in result.stdout and "NOT MET" not in result.stdout
    assert json.loads(check(runner, t, "--json").stdout)["expect"] == {"met": None, "unmet": []}


def test_an_incomplete_trace_that_already_violates_exits_1(runner, tmp_path):
    tr = chosen_a().vote("n2", (2, "n2"), "b").vote("n3", (2, "n2"), "b")
    t = tr.write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 1, result.output
    assert "verdict:   VIOLATION (1) in an INCOMPLETE trace (no 'end' event" in result.stdout
    assert "agreement: two values chosen" in result.stdout


# -- malformed fields: one line naming the line and the field, never Python's words ------------
@pytest.mark.parametrize("edit,line,text", [
    (lambda evs: evs[1].pop("seq"), 2, "seq: missing (required in a 'vote' event)"),
    (lambda evs: evs[1].update(t="5"), 2, 't: expected a time in ms (a number >= 0), found a string "5"'),
    (lambda evs: evs[1].update(t=-1), 2, "t: expected a time in ms (a number >= 0), found a number -1"),
    (lambda evs: evs[1].update(ballot={"round": 1}), 2, "ballot: expected a ballot [round, node], found an object"),
    (lambda evs: evs[1].update(ballot=[1]), 2, "ballot: expected a ballot [round, node], found a list"),
    (lambda evs: evs[1].update(ballot=["1", "n1"]), 2, 'ballot[0]: expected an integer, found a string "1"'),
    (lambda evs: evs[2].update(value={"x": 1}), 3, "value: expected a value (a string or an integer), found an object"),
    (lambda evs: evs[2].update(node=None), 3, "node: expected a node name, found null"),
    (lambda evs: evs[2].update(color="red"), 3, "color: unknown field in a 'vote' event (its fields are "
                                                "ballot, kind, node, seq, t, value)"),
    (lambda evs: evs[1].update(seq=1.5), 2, "seq: expected an integer >= 0, found a number 1.5"),
    (lambda evs: evs[1].update(kind=7), 2, "kind: expected a string, found a number 7"),
    (lambda evs: evs[0]["scenario"].update(nodes="n1"), 1, "scenario.nodes: expected a non-empty list of distinct"),
    (lambda evs: evs[0]["scenario"].update(nodes=["n1", "n1"]), 1, "scenario.nodes: expected a non-empty list"),
    (lambda evs: evs[0].pop("scenario"), 1, "scenario: missing (required in a 'header' event)"),
    (lambda evs: evs[3].update(messages=[]), 4, "messages: expected an object, found a list"),
    (lambda evs: evs.insert(3, {"seq": 2, "t": 0, "kind": "send", "id": 0, "src": "n1", "dst": "n2",
                                "msg": {"type": "promise", "ballot": [1, "n1"]}}),
     4, "msg.accepted: missing (required in msg)"),
    (lambda evs: evs.insert(3, {"seq": 2, "t": 0, "kind": "propose", "node": "n1", "ballot": [1, "n1"],
                                "value": "a", "quorum": "n1"}),
     4, "quorum: expected a list of node names, found a string \"n1\""),
])
def test_malformed_fields(runner, tmp_path, edit, line, text):
    tr = chosen_a().end()
    edit(tr.events)
    for i, ev in enumerate(tr.events[1:]):
        if isinstance(ev.get("seq"), int) and i != ev["seq"] and ev["kind"] != "header":
            ev["seq"] = i
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, line, text)


def test_nan_and_deep_nesting_are_malformed(runner, tmp_path):
    tr = chosen_a().end()
    t = tmp_path / "t.jsonl"
    t.write_text(json.dumps(tr.events[0]) + "\n" + json.dumps(tr.events[1]).replace('"t": 0.0', '"t": NaN') + "\n")
    malformed(check(runner, t), t, 2, "NaN is not a number JSON allows")
    t.write_text(json.dumps(tr.events[0]) + "\n" + "[" * 100000 + "]" * 100000 + "\n")
    result = check(runner, t)
    assert result.exit_code == 2 and result.stderr.startswith(f"{t}:2: ")


def test_unknown_kinds_need_only_seq_t_and_kind_and_the_header_may_carry_more(runner, tmp_path):
    tr = Trace(runtime="http", clock="wall")
    tr.events[0]["scenario"]["tool"] = {"name": "elsewhere"}
    tr.add("invoke", process="c1", f="write", value=3).add("ok", process="c1", f="write", value=3)
    tr.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").end()
    t = tr.write(tmp_path / "t.jsonl")
    result = check(runner, t)
    assert result.exit_code == 0, result.output
    tr.events[1].pop("t")
    t = tr.write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 2, "t: missing (required in a 'invoke' event)")


def test_a_protocol_kind_paxsim_does_not_check_is_refused(runner, tmp_path):
    # judged as single-decree, a trace of another protocol passed as OK: none of its events is a vote
    tr = Trace(runtime="http", clock="wall")
    tr.events[0]["scenario"]["protocol"]["kind"] = "single"
    t = tr.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").end().write(tmp_path / "t.jsonl")
    malformed(check(runner, t), t, 1, 'scenario.protocol.kind: a string "single" is not a protocol this paxsim '
                                     'checks (single-decree, multi-paxos)')


def test_messages_of_other_protocols_need_only_a_type(runner, tmp_path):
    tr = chosen_a()
    tr.add("send", id=0, src="c1", dst="n1", msg={"type": "request", "op": ["put", "k", 1]})
    t = tr.end().write(tmp_path / "t.jsonl")
    assert check(runner, t).exit_code == 0


def test_plots_refuse_a_string_time_in_one_line(runner, tmp_path):
    tr = chosen_a().decide("n1", "a").end()
    tr.events[3]["t"] = "5"
    t = tr.write(tmp_path / "t.jsonl")
    for command in (["plot", "timeline"], ["plot", "decisions"], ["plot", "latency"]):
        result = runner.invoke(main, [*command, str(t), "-o", str(tmp_path / "x.png")])
        malformed(result, t, 4, "t: expected a time in ms")


# -- other files given as traces --------------------------------------------------------------
def test_a_sweep_results_file_is_named_as_such(runner, tmp_path):
    results = tmp_path / "sw.jsonl"
    runner.invoke(main, ["sweep", str(ROOT / "scenarios" / "happy.yaml"), "--seeds", "0:2", "-j", "1",
                         "-o", str(results), "--no-progress"])
    result = check(runner, results)
    malformed(result, results, 1, "this is a paxsim sweep results file, not a trace: the traces of its violating "
                                  "runs are in sw.jsonl.traces/ (paxsim check one of those)")


# -- the trace file's mode honours the umask ------------------------------------------------
def test_run_trace_honours_the_umask_and_keeps_an_existing_mode(runner, tmp_path):
    old = os.umask(0o022)
    try:
        t = tmp_path / "new.jsonl"
        assert runner.invoke(main, ["run", PARTITION, "--trace", str(t)]).exit_code == 0
        assert stat.S_IMODE(t.stat().st_mode) == 0o644
        os.umask(0o077)
        t2 = tmp_path / "new2.jsonl"
        runner.invoke(main, ["run", PARTITION, "--trace", str(t2)])
        assert stat.S_IMODE(t2.stat().st_mode) == 0o600
        t.chmod(0o640)  # an existing file keeps its mode, as open(path, "w") would leave it
        runner.invoke(main, ["run", PARTITION, "--trace", str(t)])
        assert stat.S_IMODE(t.stat().st_mode) == 0o640
    finally:
        os.umask(old)


# -- the fast acceptance of common events never accepts what the schema refuses ----------------
def test_fast_acceptance_agrees_with_the_schema():
    import copy

    from paxsim import load_scenario, simulate
    from paxsim.trace import _FAST, _MSG_FAST, _definition, _fast_for, _never, _validator

    def fast_for(kind):  # as _validate_line picks it
        return _FAST.get(kind) or _fast_for(kind)

    samples = {}
    for name in ("duplicates.yaml", "kv-failover.yaml"):  # single-decree, and Multi-Paxos with its clients
        for ev in simulate(load_scenario(ROOT / "scenarios" / name), 1).lines_as_events()[1:]:
            samples.setdefault((ev["kind"], ev.get("msg", {}).get("type"), ev.get("command") is None), ev)
    assert {"decided", "executed", "voted", "invoke", "ok"} <= {kind for kind, _, _ in samples}
    odd = [None, True, -1, 1.5, "", "x", [], [1], [1, "n1"], ["1", "n1"], [-1, "n1"], {}, {"type": "prepare"}, 2**70]
    checked = 0
    for ev in samples.values():
        fast = fast_for(ev["kind"])
        if fast is _never or (ev["kind"] == "send" and ev["msg"]["type"] not in _MSG_FAST):
            continue  # no fast path; a Multi-Paxos message (such a trace's sends are read as send-any)
        validator = _validator(_definition(ev["kind"]))
        assert fast(ev) and validator.is_valid(ev), ev  # real events take the fast path
        variants = []
        for key in ev:
            for bad in odd:
                variants.append({**ev, key: bad})
            variants.append({k: v for k, v in ev.items() if k != key})
        variants.append({**ev, "extra": 1})
        if "msg" in ev:
            for key in ev["msg"]:
                for bad in odd:
                    variants.append({**ev, "msg": {**ev["msg"], key: bad}})
                variants.append({**ev, "msg": {k: v for k, v in ev["msg"].items() if k != key}})
            variants.append({**ev, "msg": {**ev["msg"], "extra": 1}})
        if isinstance(ev.get("command"), dict):
            for key in ev["command"]:
                for bad in odd:
                    variants.append({**ev, "command": {**ev["command"], key: bad}})
                variants.append({**ev, "command": {k: v for k, v in ev["command"].items() if k != key}})
        for v in variants:  # dispatched as read_trace does: by the (maybe changed) kind
            v = copy.deepcopy(v)
            kind = v.get("kind")
            f = fast_for(kind) if isinstance(kind, str) else None
            if f is not None and f(v):
                assert _validator(_definition(kind)).is_valid(v), v
            checked += 1
    assert checked > 500


def test_a_wall_clock_trace_is_not_offered_a_replay(runner, tmp_path):
    """`paxsim replay` reruns a simulation; a real cluster's trace cannot be
    rerun event for event, so its summary must not offer that."""
    sim = chosen_a().decide("n1", "a").end().write(tmp_path / "sim.jsonl")
    result = check(runner, sim)
    assert result.exit_code == 0, result.output
    assert f"reproduce: paxsim replay {sim}" in result.stdout
    tr = Trace(runtime="http", clock="wall")
    tr.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").decide("n1", "a").end()
    real = tr.write(tmp_path / "real.jsonl")
    result = check(runner, real)
    assert result.exit_code == 0, result.output
    assert "paxsim replay" not in result.stdout
    assert f"reproduce: not replayable (a http run on wall clocks); paxsim check {real}" in result.stdout


@pytest.mark.parametrize("owner, words", [("n1", "proposer n1 used one ballot for two values"),
                                          ("", "the ballot names no proposer, and two proposers used one ballot")])
def test_two_values_at_one_ballot_name_its_proposer_or_say_it_has_none(runner, tmp_path, owner, words):
    """Ballots without a node id (the tutorial's counters) cannot name a proposer."""
    tr = Trace()
    tr.vote("n1", (1, owner), "a").vote("n2", (1, owner), "a").vote("n2", (1, owner), "b").vote("n3", (1, owner), "b")
    result = check(runner, tr.end().write(tmp_path / "t.jsonl"))
    assert result.exit_code == 1, result.output
    assert f"both at the same ballot (1, {owner}): {words}" in result.stdout
    assert "  used" not in result.stdout
