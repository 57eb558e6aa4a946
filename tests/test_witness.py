"""A replicated log's order as a witness of linearizability (paxsim.lin.witness).

The witness may only ever settle a history the search leaves undecided, and
only if the order really is a linearization: hand-written histories it must
reject (a read answered outside the log, a real-time inversion, a wrong
result, a missing operation, a duplicated apply, a failed operation
applied), the mutants' own traces, a two-sided cross-check against the
brute-force oracle, and what `paxsim linearizable`, `check` and `run` say.
"""

from __future__ import annotations

import importlib
import itertools
import json
import random
from pathlib import Path

import pytest

from paxsim import lin
from paxsim.cli import main
from paxsim.trace import read_trace

from . import lin_oracle as oracle

ROOT = Path(__file__).resolve().parents[1]
KV = ROOT / "scenarios" / "kv.yaml"
lin_check = importlib.import_module("paxsim.lin.check")  # the module (paxsim.lin.check is the function)


def _events(steps) -> list[dict]:
    """Trace events from tuples: (kind, client, req, f, value) for client events, kind in
    invoke / ok / info / fail; ("exec", slot, client, req, f, value[, applied]) for a
    replica's `executed` event.  Key k0 unless a value is a (key, value) pair for f 'put@k1'."""
    out = []
    for seq, s in enumerate(steps):
        if s[0] == "exec":
            _, slot, client, req, f, value, *applied = s
            out.append({"seq": seq, "t": float(seq), "kind": "executed", "node": "n1", "slot": slot,
                        "command": {"client": client, "req": req, "f": f, "key": "k0", "value": value},
                        "result": None, "applied": applied[0] if applied else True})
        else:
            kind, client, req, f, value = s
            out.append({"seq": seq, "t": float(seq), "kind": kind, "client": client, "node": client, "req": req,
                        "f": f, "key": "k0", "value": value})
    return out


def _witness(steps):
    events = _events(steps)
    history = lin.history_from_events(events, "kv")
    return history, lin.witness_from_log(events, history)


# ---------------------------------------------------------------- what the witness accepts

def test_the_logs_order_is_a_witness_with_unknown_and_deduplicated_operations():
    history, w = _witness([
        ("invoke", "c1", 1, "put", "a"), ("exec", 0, "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
        ("invoke", "c2", 1, "append", "b"), ("invoke", "c3", 1, "cas", ["x", "y"]),
        ("invoke", "c4", 1, "get", None),
        ("exec", 1, "c2", 1, "append", "b"),                 # c2 gives up, but its append was applied
        ("exec", 2, "c2", 1, "append", "b", False),          # a retry answered from the dedup table
        ("exec", 3, "c4", 1, "get", None),                   # a read whose client gave up: left out
        ("info", "c2", 1, "append", "b"), ("info", "c4", 1, "get", None),
        ("invoke", "c5", 1, "get", None), ("exec", 4, "c5", 1, "get", None), ("ok", "c5", 1, "get", "ab"),
    ])                                                        # c3's cas stays open, never applied
    assert w.valid and w.reason is None and len(w.order) == 3
    v = lin.check(history, witness=w)
    assert v.result == lin.LINEARIZABLE and v.decided_by == "search"  # the search decides it on its own


@pytest.mark.parametrize("steps, reason", [
    # stale read: put a, put b, then a get answered "a" outside the log (as --bug stale-read does)
    ([("invoke", "c1", 1, "put", "a"), ("exec", 0, "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
      ("invoke", "c1", 2, "put", "b"), ("exec", 1, "c1", 2, "put", "b"), ("ok", "c1", 2, "put", None),
      ("invoke", "c2", 1, "get", None), ("ok", "c2", 1, "get", "a")],
     "c2's get -> 'a' (completed t=7 ms (seq 7)) is missing from the order"),
    # the same read in the log, after put b: the result the client saw is not the model's
    ([("invoke", "c1", 1, "put", "a"), ("exec", 0, "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
      ("invoke", "c1", 2, "put", "b"), ("exec", 1, "c1", 2, "put", "b"), ("ok", "c1", 2, "put", None),
      ("invoke", "c2", 1, "get", None), ("exec", 2, "c2", 1, "get", None), ("ok", "c2", 1, "get", "a")],
     "c2's get -> 'a' (completed t=8 ms (seq 8)) is not what the model gives in this order (the value there is 'b')"),
    # a wrong cas result
    ([("invoke", "c1", 1, "cas", [None, "x"]), ("exec", 0, "c1", 1, "cas", [None, "x"]),
      ("ok", "c1", 1, "cas", False)],
     "c1's cas(nil, 'x') -> false (completed t=2 ms (seq 2)) is not what the model gives in this order "
     "(the state there is nil)"),
    # real-time inversion: c1's put completed before c2's was invoked, yet the log runs c2's first
    ([("invoke", "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
      ("invoke", "c2", 1, "put", "b"), ("ok", "c2", 1, "put", None),
      ("exec", 0, "c2", 1, "put", "b"), ("exec", 1, "c1", 1, "put", "a")],
     "c1's put('a') -> ok completed t=1 ms (seq 1), before c2's put('b') -> ok was invoked (t=2 ms (seq 2)), "
     "yet comes after it"),
    # an operation of unknown outcome placed before an operation that completed before its invoke
    ([("invoke", "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
      ("invoke", "c2", 1, "put", "b"), ("info", "c2", 1, "put", "b"),
      ("exec", 0, "c2", 1, "put", "b"), ("exec", 1, "c1", 1, "put", "a")],
     "c1's put('a') -> ok completed t=1 ms (seq 1), before c2's put('b') -> ? (info) was invoked "
     "(t=2 ms (seq 2)), yet comes after it"),
    # a completed operation the log never applied
    ([("invoke", "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None),
      ("invoke", "c2", 1, "put", "b"), ("exec", 0, "c2", 1, "put", "b"), ("ok", "c2", 1, "put", None)],
     "c1's put('a') -> ok (completed t=1 ms (seq 1)) is missing from the order"),
    # a duplicated apply (as --bug no-dedup does)
    ([("invoke", "c1", 1, "append", "a"), ("exec", 0, "c1", 1, "append", "a"),
      ("exec", 1, "c1", 1, "append", "a"), ("ok", "c1", 1, "append", None)],
     "c1's append('a') -> ok (invoked t=0 ms (seq 0)) appears twice"),
    # the log applied a request its client was told failed (definitely not applied)
    ([("invoke", "c1", 1, "put", "a"), ("fail", "c1", 1, "put", "a"), ("exec", 0, "c1", 1, "put", "a")],
     "the log applied c1's request 1, which its client was told failed"),
    # a command nobody invoked
    ([("exec", 0, "c9", 1, "put", "a")], "the log applied c9's request 1, which was never invoked"),
])
def test_the_witness_rejects_an_order_that_is_no_linearization(steps, reason):
    history, w = _witness(steps)
    assert not w.valid
    assert w.reason == reason


def test_a_trace_without_a_log_offers_no_witness():
    assert _witness([("invoke", "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None)])[1] is None


def test_check_order_accepts_exactly_the_linearizable_histories_of_the_oracle():
    # Two-sided, against the independent brute-force oracle: on small random histories,
    # every order check_order accepts belongs to a linearizable history, and every
    # linearizable history has one (all orders of the known operations with any subset of
    # the unknown ones are tried).
    seen = {True: 0, False: 0}
    for seed in range(1500):
        rng = random.Random(f"witness:{seed}")
        model = ("register", "kv")[seed % 2]
        events, initial = oracle.random_history(rng, model, "paxsim", rng.randint(1, 6), rng.randint(1, 4),
                                                rng.randint(1, 2) if model == "kv" else 1)
        history = lin.parse_history(oracle.render(events, "paxsim"), f"seed-{seed}", model, "paxsim")
        expected = oracle.linearizable(oracle.operations(events, "paxsim"), initial)
        known = [op for op in history.ops if op.known]
        unknown = [op for op in history.ops if not op.known]
        found = False
        for k in range(len(unknown) + 1):
            for extra in itertools.combinations(unknown, k):
                for order in itertools.permutations(known + list(extra)):
                    if lin.check_order(history, order) is None:
                        assert expected, (seed, events, [op.describe() for op in order])
                        found = True
                        break
                if found:
                    break
            if found:
                break
        assert found == expected, (seed, events)
        seen[expected] += 1
    assert seen[True] > 50 and seen[False] > 30


# ---------------------------------------------------------------- paxsim linearizable

def _hard_trace(tmp_path, log_values, read="v0") -> Path:
    """Twenty concurrent puts, then a get: the search must try the orders of the puts,
    and with a tiny time limit it cannot; the log applied the puts in `log_values` order."""
    steps = [("invoke", f"c{i}", 1, "put", f"v{i}") for i in range(20)]
    steps += [("exec", slot, f"c{int(v[1:])}", 1, "put", v) for slot, v in enumerate(log_values)]
    steps += [("ok", f"c{i}", 1, "put", None) for i in range(20)]
    steps += [("invoke", "r", 1, "get", None), ("exec", 20, "r", 1, "get", None), ("ok", "r", 1, "get", read)]
    path = tmp_path / "hard.jsonl"
    path.write_text("".join(json.dumps(ev, sort_keys=True) + "\n" for ev in _events(steps)))
    return path


def test_linearizable_settles_by_the_logs_order_what_the_search_leaves_undecided(runner, tmp_path):
    path = _hard_trace(tmp_path, [f"v{i}" for i in range(1, 20)] + ["v0"])
    args = ["linearizable", str(path), "--model", "kv", "--time-limit", "1e-9"]
    searched = runner.invoke(main, [*args, "--no-witness"])
    assert searched.exit_code == 3, searched.output
    assert f"{path}: UNKNOWN" in searched.output
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{path}: linearizable (by the log's order, checked)"
    assert lines[2] == ("  witness:   the search left key 'k0' undecided; the log's order is a linearization "
                        "(every completed operation once, real-time order kept, each result as the model gives)")
    out = json.loads(runner.invoke(main, [*args, "--json"]).stdout)[0]
    assert out["verdict"] == "linearizable" and out["linearizable"] is True
    assert out["decided_by"] == "witness" and out["settled_keys"] == ["k0"] and out["undecided_keys"] == []
    assert out["witness"] == {"source": "the log's order", "valid": True, "reason": None, "operations": 21}


def test_linearizable_keeps_unknown_when_the_logs_order_is_no_witness(runner, tmp_path):
    # the log applied v0 first, yet the read saw v0: that order is not a linearization
    path = _hard_trace(tmp_path, [f"v{i}" for i in range(20)])
    result = runner.invoke(main, ["linearizable", str(path), "--model", "kv", "--time-limit", "1e-9"])
    assert result.exit_code == 3, result.output
    assert f"{path}: UNKNOWN" in result.output
    assert ("  witness:   the log's order is no linearization: r's get -> 'v0' (completed t=62 ms (seq 62)) is "
            "not what the model gives in this order (the value there is 'v19')") in result.output
    out = json.loads(runner.invoke(main, ["linearizable", str(path), "--model", "kv", "--time-limit", "1e-9",
                                          "--json"]).stdout)[0]
    assert out["verdict"] == "unknown" and out["decided_by"] is None and out["witness"]["valid"] is False


# ---------------------------------------------------------------- runs: paxsim run / check

def _search_out_of_time(monkeypatch):
    """The search answers "unknown" on every key, as it does when its time limit runs out."""
    monkeypatch.setattr(lin_check, "linearizable", lambda ops, initial, deadline=None: None)


def test_an_ordinary_run_is_decided_by_the_search_and_says_so_as_before(runner):
    result = runner.invoke(main, ["run", str(KV), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "history:   linearizable (model kv)\n" in result.output
    out = json.loads(runner.invoke(main, ["run", str(KV), "--seed", "1", "--json"]).stdout)
    assert out["workload"]["linearizability"] == "linearizable"
    assert out["workload"]["linearizability_by"] == "search"


def test_a_run_the_search_leaves_undecided_is_settled_by_its_logs_order(runner, monkeypatch):
    _search_out_of_time(monkeypatch)
    result = runner.invoke(main, ["run", str(KV), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "history:   linearizable (by the log's order, checked; model kv)\n" in result.output
    assert "verdict:   OK" in result.output
    out = json.loads(runner.invoke(main, ["run", str(KV), "--seed", "1", "--json"]).stdout)
    assert out["status"] == "ok"
    assert out["workload"]["linearizability"] == "linearizable"
    assert out["workload"]["linearizability_by"] == "log order"


@pytest.mark.parametrize("bug, reason, status", [
    ("stale-read", "c2's get -> '7' (completed t=78.851 ms (seq 375)) is missing from the order", "unknown"),
    ("no-dedup", "c1's cas('48', '62') -> ? (open) (invoked t=612.5 ms (seq 2034)) appears twice", "violation"),
])
def test_a_mutants_log_order_is_no_witness_and_settles_nothing(runner, tmp_path, monkeypatch, bug, reason,
                                                               status):
    trace = tmp_path / f"{bug}.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "bugs" / f"{bug}.yaml"), "--trace", str(trace)])
    assert result.exit_code == 1, result.output  # the search finds its violation
    events = read_trace(trace)
    history = lin.history_from_events(events, "kv")
    w = lin.witness_from_log(events, history)
    assert not w.valid and w.reason == reason
    # and where the search runs out of time, the verdict is never "linearizable"
    _search_out_of_time(monkeypatch)
    checked = runner.invoke(main, ["check", str(trace), "--json"])
    assert checked.exit_code == 1, checked.output  # no-dedup: exactly-once; stale-read: its expected violation unmet
    out = json.loads(checked.stdout)
    assert out["status"] == status  # no-dedup's log violation still found; the stale reads undecided, never ok
    assert out["workload"]["linearizability"] == "unknown"
    assert "linearizability_by" not in out["workload"]


def test_an_executed_event_without_a_request_id_gives_no_witness_not_a_traceback():
    events = _events([("invoke", "c1", 1, "put", "a"), ("exec", 0, "c1", 1, "put", "a"), ("ok", "c1", 1, "put", None)])
    del events[1]["command"]["req"]
    w = lin.witness_from_log(events, lin.history_from_events(events, "kv"))
    assert not w.valid and w.reason == "an executed event (seq 1) has no command client and req"
