"""The linearizability checker (paxsim.lin, `paxsim linearizable`).

Real Jepsen histories with known answers (../shared/porcupine, read in
place), hand-written histories whose answers are derived in the comments,
a cross-check against brute force on small random histories, the time
limit, bad input, and the explanation of a violation.
"""

from __future__ import annotations

import ast
import csv
import importlib
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from paxsim import lin
from paxsim.cli import main
from paxsim.lin.history import Op, Where
from paxsim.lin.report import verdict_text
from paxsim.lin.models import ANY, APPEND, CAS, ILLEGAL, READ, WRITE, step
from paxsim.lin.search import linearizable

PORCUPINE = Path(__file__).resolve().parents[1].parent / "shared" / "porcupine"
ANSWERS = PORCUPINE / "ANSWERS.tsv"
needs_porcupine = pytest.mark.skipif(
    not ANSWERS.exists(),
    reason=f"the shared Jepsen histories are not at {PORCUPINE} (CI puts shared/ beside the checkout)")


def _answers() -> list[tuple[str, bool]]:
    if not ANSWERS.exists():
        return []
    with open(ANSWERS, newline="") as fh:
        return [(row["file"], {"true": True, "false": False}[row["linearizable"]])
                for row in csv.DictReader(fh, delimiter="\t")]


def _model_for(name: str) -> str:
    return "register" if name.startswith("etcd/") else "kv"


# ---------------------------------------------------------------- real histories

@needs_porcupine
def test_the_answers_file_lists_every_shared_history():
    listed = {name for name, _ in _answers()}
    on_disk = {str(p.relative_to(PORCUPINE)) for p in PORCUPINE.glob("*/*") if p.is_file()}
    assert listed == on_disk
    assert len(listed) == 56


@needs_porcupine
@pytest.mark.parametrize("name,expected", _answers() or [("-", True)], ids=[n for n, _ in _answers()] or ["-"])
def test_every_shared_history_gets_its_known_answer(runner, name, expected):
    result = runner.invoke(main, ["linearizable", str(PORCUPINE / name), "--model", _model_for(name), "--json"])
    assert result.exit_code == (0 if expected else 1), result.output
    (report,) = json.loads(result.output)
    assert report["linearizable"] is expected
    if not expected:
        v = report["violation"]
        assert v["minimal"] and 2 <= len(v["operations"]) <= report["operations"]
        # the first operation that cannot be placed is a completed one, and the last to complete
        first = v["operations"][v["first_unplaceable"]]
        assert first["complete"]["line"] == max(op["complete"]["line"] for op in v["operations"])


@needs_porcupine
def test_a_violation_in_the_shared_kv_history_is_explained_on_one_key():
    history = lin.read_history(PORCUPINE / "kv" / "c01-bad.txt", "kv")
    verdict = lin.check(history)
    assert verdict.result == lin.VIOLATION and verdict.failing == ["7"]
    e = verdict.explanation
    # key "7": the client appended 'x 0 3 y' (lines 55-56), then read a value without it (lines 59-60)
    assert [(op.f, op.invoked.line, op.completed.line) for op in e.core] == [("append", 55, 56), ("get", 59, 60)]
    assert e.core[0].arg == "x 0 3 y" and "x 0 3 y" not in e.core[1].result
    assert e.first is e.core[1]


@needs_porcupine
def test_the_benchmark_checks_and_times_every_shared_history():
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "lin_bench.py"
    proc = subprocess.run([sys.executable, str(bench), "--rounds", "1", "--data", str(PORCUPINE)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and " s |" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["etcd", "kv", "total"]
    assert rows[-1].split("|")[2].strip() == "56"


# ---------------------------------------------------------------- hand-written paxsim histories

def _trace(events, header=True) -> str:
    """events: (kind, client, req, f, key, value), one per line, seq and t increasing."""
    lines = [json.dumps({"kind": "header", "format": 1, "paxsim": "test", "seed": 0})] if header else []
    for seq, (kind, client, req, f, key, value) in enumerate(events, 1):
        lines.append(json.dumps({"kind": kind, "seq": seq, "t": seq * 0.5, "node": "n1", "client": client,
                                 "req": req, "f": f, "key": key, "value": value}))
        if seq % 3 == 0:  # other trace events are ignored
            lines.append(json.dumps({"kind": "deliver", "seq": seq * 1000, "t": seq * 0.5, "id": seq}))
    return "\n".join(lines) + "\n"


def _renumber(text: str) -> str:
    """Give the interleaved non-client events increasing seqs (so seq strictly increases)."""
    out = []
    for seq, line in enumerate(text.splitlines(), 1):
        ev = json.loads(line)
        if "seq" in ev:
            ev["seq"] = seq
        out.append(json.dumps(ev))
    return "\n".join(out) + "\n"


def _run(runner, tmp_path, events, model, *args, name="h.jsonl"):
    path = tmp_path / name
    path.write_text(_renumber(_trace(events)))
    return runner.invoke(main, ["linearizable", str(path), "--model", model, *args])


def R(c, req, kind, f, value=None, key=None):
    return (kind, c, req, f, key, value)


# Each case: (name, model, events, linearizable?) with the reasoning.
CASES = [
    # c1 writes 1 and then reads it back.
    ("sequential", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "ok", "write"), R("c1", 2, "invoke", "read"),
      R("c1", 2, "ok", "read", 1)], True),
    # A read concurrent with a write may see either value.
    ("concurrent read sees the new value", "register",
     [R("c1", 1, "invoke", "write", 1), R("c2", 1, "invoke", "read"), R("c2", 1, "ok", "read", 1),
      R("c1", 1, "ok", "write")], True),
    ("concurrent read sees the old value", "register",
     [R("c1", 1, "invoke", "write", 1), R("c2", 1, "invoke", "read"), R("c2", 1, "ok", "read", None),
      R("c1", 1, "ok", "write")], True),
    # Stale read: 2 was written after 1 (both completed) and a later read returns 1.
    ("stale read", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "ok", "write"), R("c2", 1, "invoke", "write", 2),
      R("c2", 1, "ok", "write"), R("c3", 1, "invoke", "read"), R("c3", 1, "ok", "read", 1)], False),
    # New then old: during a long write(1), one read sees 1 and a later read sees nil again.
    ("read new then old", "register",
     [R("c1", 1, "invoke", "write", 1), R("c2", 1, "invoke", "read"), R("c2", 1, "ok", "read", 1),
      R("c3", 1, "invoke", "read"), R("c3", 1, "ok", "read", None), R("c1", 1, "ok", "write")], False),
    # info: the write may have taken effect (before the read) ...
    ("info write may have happened", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "info", "write"), R("c2", 1, "invoke", "read"),
      R("c2", 1, "ok", "read", 1)], True),
    # ... or never.
    ("info write may never happen", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "info", "write"), R("c2", 1, "invoke", "read"),
      R("c2", 1, "ok", "read", None)], True),
    # ... but only once: seen as 1, it cannot be un-happened to read nil later.
    ("info write happens at most once", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "info", "write"), R("c2", 1, "invoke", "read"),
      R("c2", 1, "ok", "read", 1), R("c2", 2, "invoke", "read"), R("c2", 2, "ok", "read", None)], False),
    # An unknown write takes effect only after its invoke: a read completed before it cannot see it.
    ("info write not before its invoke", "register",
     [R("c2", 1, "invoke", "read"), R("c2", 1, "ok", "read", 7), R("c1", 1, "invoke", "write", 7),
      R("c1", 1, "info", "write")], False),
    # An invoke never completed is unknown too: it may take effect late, after other operations.
    ("open write takes effect late", "register",
     [R("c1", 1, "invoke", "write", 5), R("c2", 1, "invoke", "write", 6), R("c2", 1, "ok", "write"),
      R("c3", 1, "invoke", "read"), R("c3", 1, "ok", "read", 6), R("c3", 2, "invoke", "read"),
      R("c3", 2, "ok", "read", 5)], True),
    # fail: definitely not applied, so nothing can read its value.
    ("failed write is not applied", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "fail", "write"), R("c2", 1, "invoke", "read"),
      R("c2", 1, "ok", "read", 1)], False),
    # cas: the compare fails only if the value differs.
    ("cas compare fails wrongly", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "ok", "write"), R("c1", 2, "invoke", "cas", [1, 2]),
      R("c1", 2, "ok", "cas", False)], False),
    ("cas compare fails rightly", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "ok", "write"), R("c1", 2, "invoke", "cas", [3, 2]),
      R("c1", 2, "ok", "cas", False), R("c1", 3, "invoke", "read"), R("c1", 3, "ok", "read", 1)], True),
    ("cas swaps", "register",
     [R("c1", 1, "invoke", "write", 1), R("c1", 1, "ok", "write"), R("c1", 2, "invoke", "cas", [1, 2]),
      R("c1", 2, "ok", "cas", True), R("c2", 1, "invoke", "read"), R("c2", 1, "ok", "read", 2)], True),
    # Two clients both swap 0 -> 1: only one cas can see 0.
    ("two cas both succeed", "register",
     [R("c0", 1, "invoke", "write", 0), R("c0", 1, "ok", "write"), R("c1", 1, "invoke", "cas", [0, 1]),
      R("c2", 1, "invoke", "cas", [0, 1]), R("c1", 1, "ok", "cas", True), R("c2", 1, "ok", "cas", True)], False),
    # cas with expected null matches the initial (absent) value.
    ("cas from nil", "register",
     [R("c1", 1, "invoke", "cas", [None, 4]), R("c1", 1, "ok", "cas", True), R("c1", 2, "invoke", "read"),
      R("c1", 2, "ok", "read", 4)], True),
    # kv: absent keys read null; append to an absent key appends to "".
    ("kv append to absent", "kv",
     [R("c1", 1, "invoke", "get", key="k"), R("c1", 1, "ok", "get", None, key="k"),
      R("c1", 2, "invoke", "append", "a", key="k"), R("c1", 2, "ok", "append", key="k"),
      R("c1", 3, "invoke", "append", "b", key="k"), R("c1", 3, "ok", "append", key="k"),
      R("c1", 4, "invoke", "get", key="k"), R("c1", 4, "ok", "get", "ab", key="k")], True),
    # Appends are ordered by real time: "ba" is impossible.
    ("kv appends out of order", "kv",
     [R("c1", 1, "invoke", "append", "a", key="k"), R("c1", 1, "ok", "append", key="k"),
      R("c1", 2, "invoke", "append", "b", key="k"), R("c1", 2, "ok", "append", key="k"),
      R("c2", 1, "invoke", "get", key="k"), R("c2", 1, "ok", "get", "ba", key="k")], False),
    # Keys are independent: a put on x does not show on y.
    ("kv keys are independent", "kv",
     [R("c1", 1, "invoke", "put", "1", key="x"), R("c1", 1, "ok", "put", key="x"),
      R("c2", 1, "invoke", "get", key="y"), R("c2", 1, "ok", "get", None, key="y"),
      R("c2", 2, "invoke", "cas", [None, "2"], key="y"), R("c2", 2, "ok", "cas", True, key="y"),
      R("c1", 2, "invoke", "get", key="x"), R("c1", 2, "ok", "get", "1", key="x")], True),
    ("kv read from another key", "kv",
     [R("c1", 1, "invoke", "put", "1", key="x"), R("c1", 1, "ok", "put", key="x"),
      R("c2", 1, "invoke", "get", key="y"), R("c2", 1, "ok", "get", "1", key="y")], False),
    # Each client may have several requests in flight (matched by req).
    ("kv pipelined requests", "kv",
     [R("c1", 1, "invoke", "put", "a", key="k"), R("c1", 2, "invoke", "put", "b", key="k"),
      R("c1", 2, "ok", "put", key="k"), R("c1", 1, "ok", "put", key="k"),
      R("c2", 1, "invoke", "get", key="k"), R("c2", 1, "ok", "get", "a", key="k")], True),
]


@pytest.mark.parametrize("name,model,events,expected", CASES, ids=[c[0] for c in CASES])
def test_hand_written_histories(runner, tmp_path, name, model, events, expected):
    result = _run(runner, tmp_path, events, model)
    assert result.exit_code == (0 if expected else 1), result.output
    assert ("NOT LINEARIZABLE" in result.output) is (not expected)
    assert "paxsim (guessed)" in result.output


def test_stale_read_explanation_names_the_write_it_missed(runner, tmp_path):
    events = CASES[3][2]
    result = _run(runner, tmp_path, events, "register", "--json")
    assert result.exit_code == 1
    (report,) = json.loads(result.output)
    v = report["violation"]
    # write(1) is irrelevant (relaxed, it still happens before write(2)); the core is write(2) then read -> 1
    assert [(op["client"], op["f"], op["value"], op["result"]) for op in v["operations"]] == [
        ("c2", "write", 2, None), ("c3", "read", None, 1)]
    assert v["first_unplaceable"] == 1
    assert v["operations"][0]["invoke"] == {"line": 4, "seq": 4, "t": 1.5}
    assert v["operations"][1]["complete"]["seq"] == 8
    text = _run(runner, tmp_path, events, "register").output
    assert "c2      write(2) -> ok" in text and "c3      read -> 1" in text
    assert "<- first that cannot be placed" in text.splitlines()[-2]


def test_new_then_old_explanation_is_the_two_reads(runner, tmp_path):
    result = _run(runner, tmp_path, CASES[4][2], "register", "--json")
    (report,) = json.loads(result.output)
    ops = report["violation"]["operations"]
    # only write(1) can produce 1, and nothing can write nil back: the two reads alone cannot be ordered
    assert [(op["client"], op["result"]) for op in ops] == [("c2", 1), ("c3", None)]


def test_explanation_picks_the_failing_key(tmp_path):
    events = [R("c1", 1, "invoke", "put", "1", key="x"), R("c1", 1, "ok", "put", key="x"),
              R("c1", 2, "invoke", "append", "a", key="y"), R("c1", 2, "ok", "append", key="y"),
              R("c2", 1, "invoke", "get", key="y"), R("c2", 1, "ok", "get", "b", key="y"),
              R("c2", 2, "invoke", "get", key="x"), R("c2", 2, "ok", "get", "1", key="x")]
    history = lin.parse_history(_renumber(_trace(events)), "h", "kv")
    verdict = lin.check(history)
    assert verdict.failing == ["y"] and verdict.keys == 2
    assert [op.describe() for op in verdict.explanation.core] == ["get -> 'b'"]


def test_events_in_memory_are_read_like_the_written_trace(tmp_path):
    text = _renumber(_trace(CASES[3][2]))
    events = [json.loads(line) for line in text.splitlines()]
    from_file = lin.parse_history(text, "h", "register")
    in_memory = lin.history_from_events(events, "register")
    assert in_memory.ops == from_file.ops and len(in_memory.ops) == 3
    assert lin.check(in_memory).result == lin.VIOLATION
    events[1]["f"] = "get"
    with pytest.raises(lin.HistoryError, match="trace:2: f: 'get' is not an operation of the register model"):
        lin.history_from_events(events, "register")


# ---------------------------------------------------------------- Jepsen formats, hand-written

LOG = "INFO  jepsen.util - {p}\t:{t}\t:{f}\t{v}\n"


def _log(*rows) -> str:
    return "".join(LOG.format(p=p, t=t, f=f, v=v) for p, t, f, v in rows)


def test_jepsen_log_fail_cas_is_a_definite_mismatch(runner, tmp_path):
    # The register is 1; a cas [1 2] that "failed" says the value was not 1: impossible.
    bad = _log((0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "cas", "[1 2]"),
               (1, "fail", "cas", "[1 2]"))
    p = tmp_path / "bad.log"
    p.write_text("INFO  jepsen.core - Running test\n" + bad)
    result = runner.invoke(main, ["linearizable", str(p), "--model", "register"])
    assert result.exit_code == 1, result.output
    assert "jepsen-log (guessed)" in result.output
    # with the cas unknown instead (info), it may not have happened: fine
    ok = _log((0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "cas", "[1 2]"),
              (1, "info", "cas", ":timed-out"), (2, "invoke", "read", "nil"), (2, "ok", "read", 1))
    p.write_text(ok)
    assert runner.invoke(main, ["linearizable", str(p), "--model", "register"]).exit_code == 0


def test_jepsen_log_timed_out_read_is_unknown(runner, tmp_path):
    # A read that failed with :timed-out observed nothing; a later one sees the write.
    text = _log((0, "invoke", "write", 3), (0, "ok", "write", 3), (1, "invoke", "read", "nil"),
                (1, "fail", "read", ":timed-out"), (2, "invoke", "read", "nil"), (2, "ok", "read", 3),
                (3, "invoke", "write", 4))  # never completed
    p = tmp_path / "t.log"
    p.write_text(text)
    result = runner.invoke(main, ["linearizable", str(p), "--model", "register", "--format", "jepsen-log", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["left_out"] == 1 and report["unknown_outcome"] == 1 and report["operations"] == 3


def test_jepsen_edn_keys_start_empty(runner, tmp_path):
    p = tmp_path / "h.edn"
    p.write_text('{:process 0, :type :invoke, :f :get, :key "a", :value nil}\n'
                 '{:process 0, :type :ok, :f :get, :key "a", :value ""}\n'
                 '{:process 1, :type :invoke, :f :append, :key "a", :value "x"}\n'
                 '{:process 1, :type :ok, :f :append, :key "a", :value "x"}\n'
                 '{:process 0, :type :invoke, :f :get, :key "a", :value nil}\n'
                 '{:process 0, :type :ok, :f :get, :key "a", :value "x"}\n')
    assert runner.invoke(main, ["linearizable", str(p), "--model", "kv"]).exit_code == 0
    p.write_text(p.read_text().replace(':value ""}', ':value nil}'))  # absent is not ""
    assert runner.invoke(main, ["linearizable", str(p), "--model", "kv"]).exit_code == 1


def test_jepsen_edn_cas_takes_a_vector(runner, tmp_path):
    # Jepsen writes a cas as {:f :cas, :value [expected new]}; :fail is a compare that did not match
    p = tmp_path / "cas.edn"
    p.write_text('{:process 0, :type :invoke, :f :cas, :key "a", :value ["" "x"]}\n'
                 '{:process 0, :type :ok, :f :cas, :key "a", :value ["" "x"]}\n'
                 '{:process 1, :type :invoke, :f :cas, :key "a", :value ["" "y"]}\n'
                 '{:process 1, :type :fail, :f :cas, :key "a", :value ["" "y"]}\n'
                 '{:process 1, :type :invoke, :f :get, :key "a", :value nil}\n'
                 '{:process 1, :type :ok, :f :get, :key "a", :value "x"}\n')
    result = runner.invoke(main, ["linearizable", str(p), "--model", "kv"])
    assert result.exit_code == 0, result.output
    assert "3 operations (0 of unknown outcome)" in result.output
    # the second cas compared "" after the first swapped it: it cannot have matched
    p.write_text(p.read_text().replace(':type :fail', ':type :ok'))
    result = runner.invoke(main, ["linearizable", str(p), "--model", "kv"])
    assert result.exit_code == 1, result.output
    assert "cas('', 'y') -> true" in result.output


# ---------------------------------------------------------------- time limit

def _hard_history(writers: int = 10) -> str:
    """Many concurrent writes, then a read of a value nobody wrote: the search
    must try every subset of the writes before it can say no."""
    events = [R(f"c{i}", 1, "invoke", "write", i) for i in range(writers)]
    events += [R(f"c{i}", 1, "ok", "write") for i in range(writers)]
    events += [R("r", 1, "invoke", "read"), R("r", 1, "ok", "read", 99)]
    return _renumber(_trace(events))


def test_time_limit_answers_unknown_never_a_guess(runner, tmp_path):
    p = tmp_path / "hard.jsonl"
    p.write_text(_hard_history())
    # a limit far shorter than the search: no verdict, exit 3
    result = runner.invoke(main, ["linearizable", str(p), "--model", "register", "--time-limit", "1e-9"])
    assert result.exit_code == 3, result.output
    assert "UNKNOWN" in result.output and "time limit" in result.output
    assert "NOT LINEARIZABLE" not in result.output
    # without a limit the same history is decided
    assert runner.invoke(main, ["linearizable", str(p), "--model", "register"]).exit_code == 1


def test_a_violation_anywhere_outranks_unknown(runner, tmp_path):
    hard, bad = tmp_path / "hard.jsonl", tmp_path / "bad.jsonl"
    hard.write_text(_hard_history())
    bad.write_text(_renumber(_trace(CASES[3][2])))
    result = runner.invoke(main, ["linearizable", str(hard), str(bad), "--model", "register", "--time-limit", "1e-9"])
    assert result.exit_code == 1, result.output


def test_the_time_limit_covers_the_explanation_too(monkeypatch):
    # `--time-limit S` is per file: the explanation of a violation found at
    # 4 s of a 5 s limit has the 1 s left, not another 5 (a fake clock, so no
    # timing is measured)
    lin_check = importlib.import_module("paxsim.lin.check")  # the module (paxsim.lin.check is the function)

    history = lin.parse_history(_renumber(_trace(CASES[3][2])), "h.jsonl", "register")
    deadlines = []
    real_explain = lin_check.explain_key
    monkeypatch.setattr(lin_check, "explain_key", lambda key, ops, initial, deadline: (
        deadlines.append(deadline) or real_explain(key, ops, initial, None)))
    clock = iter([100.0, 104.0])
    monkeypatch.setattr(lin_check, "time", SimpleNamespace(monotonic=lambda: next(clock, 104.0)))
    assert lin.check(history, time_limit=5.0).result == lin.VIOLATION
    assert deadlines == [105.0]
    clock = iter([100.0, 104.0])
    lin.check(history, time_limit=60.0, explain_limit=30.0)  # the explanation's own cap is the nearer end
    lin.check(history, explain_limit=30.0)  # no file limit: the explanation's cap alone
    assert deadlines == [105.0, 134.0, 134.0]


def test_an_explanation_the_time_limit_cut_short_claims_only_what_was_decided(monkeypatch):
    # c3's read of 1 is already stale; then c1 and c2 go on. If the time limit
    # leaves every shorter prefix undecided, the explanation is the whole
    # history, and it must not claim that a shorter prefix can be linearized
    lin_check = importlib.import_module("paxsim.lin.check")  # the module (paxsim.lin.check is the function)

    events = CASES[3][2] + [R("c1", 2, "invoke", "write", 3), R("c1", 2, "ok", "write"),
                            R("c2", 2, "invoke", "read"), R("c2", 2, "ok", "read", 3)]
    history = lin.parse_history(_renumber(_trace(events)), "h.jsonl", "register")
    full = lin.check(history)
    assert full.explanation.minimal and full.explanation.shorter_ok and full.explanation.first.describe() == "read -> 1"
    calls = []
    real = lin_check.linearizable

    def undecided_after_the_verdict(ops, initial, deadline=None, stats=None):
        calls.append(len(ops))
        return real(ops, initial) if len(calls) == 1 else None  # the verdict, then only timeouts

    monkeypatch.setattr(lin_check, "linearizable", undecided_after_the_verdict)
    v = lin.check(history, time_limit=60)
    e = v.explanation
    assert v.result == lin.VIOLATION and not e.minimal and not e.shorter_ok
    assert e.first.describe() == "read -> 3" and len(e.core) == 5  # sound: nothing relaxed, nothing claimed
    text = verdict_text(v, 60)
    assert "they can" not in text and "whether a shorter prefix can is undecided (time limit)" in text


# ---------------------------------------------------------------- bad input

BAD = [
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "write", "key": null}',
     "register", ":1: value: missing"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": "1", "f": "write", "key": null, "value": 1}',
     "register", ":1: req: expected an integer"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "get", "key": null, "value": null}',
     "register", ":1: f: 'get' is not an operation of the register model"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "get", "key": null, "value": null}',
     "kv", ":1: key: the kv model needs a string key"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "cas", "key": "k", "value": "x"}',
     "kv", ":1: value: cas takes [expected, new]"),
    ('{"kind": "ok", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}',
     "kv", ":1: req: completes an operation that was never invoked"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}\n'
     '{"kind": "invoke", "seq": 2, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}',
     "kv", ":2: req: c1 invokes again"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "cas", "key": "k", "value": [null, "a"]}\n'
     '{"kind": "ok", "seq": 2, "t": 0, "client": "c1", "req": 1, "f": "cas", "key": "k", "value": "yes"}',
     "kv", ":2: value: a cas result is true (swapped) or false"),
    ('{"kind": "invoke", "seq": 5, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}\n'
     '{"kind": "ok", "seq": 5, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}',
     "kv", ":2: seq: 5 does not increase"),
    ('{"kind": "invoke", "seq": 1, "t": 0, "client": "c1", "req": 1, "f": "get", "key": "k", "value": null}\n'
     '{"kind": "ok", "seq": 2, "t": 0, "client": "c1", "req": 1, "f": "put", "key": "k", "value": null}',
     "kv", ":2: f: completion says 'put'"),
    ('{"kind": "header", "format": 99}', "kv", ":1: format: trace format 99 is not supported"),
    ('{"kind": "invoke", "seq": 1, "t": 0, ', "kv", ":1: not a JSON object"),
    ("INFO  jepsen.util - 0\t:invoke\t:write\tbanana\n", "register", ":1: value: cannot read 'banana'"),
    ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\n", "register",
     ":2: process: 0 invokes again"),
    ("INFO  jepsen.util - 0\t:crashed\t:read\tnil\n", "register", ":1: type: expected :invoke"),
    ('{:process 0, :type :invoke, :f :get, :key "a", :value nil}\n{:process 0, :type :ok, :f :get\n',
     "kv", ":2: not an EDN map"),
    ('{:process 0, :type :invoke, :f :get, :value nil}\n', "kv", ":1: :key: missing"),
    ('{:process 0, :type :invoke, :f :append, :key "a", :value 5}\n', "kv", ":1: :value: expected a string"),
    ("hello\n", "kv", "cannot tell the history format"),
    # Python reads no whole number of more than 4,300 digits: a traceback from the log reader
    ("INFO  jepsen.util - 0\t:invoke\t:write\t" + "9" * 5000 + "\n", "register",
     ":1: value: a whole number of 5,000 digits, more than the 4,300 Python reads"),
    ("INFO  jepsen.util - " + "9" * 5000 + "\t:invoke\t:read\tnil\n", "register",
     ":1: process: a whole number of 5,000 digits, more than the 4,300 Python reads"),
    ('{:process 0, :type :invoke, :f :put, :key "a", :value ' + "9" * 5000 + "}\n", "kv",
     ":1: a whole number of more than the 4,300 digits Python reads"),
]


@pytest.mark.parametrize("text,model,message", BAD, ids=[m[:60] for _, _, m in BAD])
def test_bad_input_is_one_line_naming_file_line_and_field(runner, tmp_path, text, model, message):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    result = runner.invoke(main, ["linearizable", str(p), "--model", model])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"{p}") and message in err, err
    assert result.stdout == ""


def test_missing_file_and_bad_options(runner, tmp_path):
    result = runner.invoke(main, ["linearizable", str(tmp_path / "nope.jsonl"), "--model", "kv"])
    assert result.exit_code == 2 and "cannot read" in result.stderr
    assert runner.invoke(main, ["linearizable", str(tmp_path / "x"), "--model", "queue"]).exit_code == 2
    assert runner.invoke(main, ["linearizable", str(tmp_path / "x")]).exit_code == 2


def test_help_has_examples(runner):
    result = runner.invoke(main, ["linearizable", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "paxsim linearizable run.jsonl --model kv" in result.output
    for word in ("--model", "--format", "--time-limit", "--json"):
        assert word in result.output


# ---------------------------------------------------------------- the search against brute force

def _brute(ops, initial) -> bool:
    """Every order of every allowed subset: known operations must all take
    effect; unknown and optional ones may not."""
    must = [o for o in ops if o.ret is not None and not o.optional]
    may = [o for o in ops if not (o.ret is not None and not o.optional)]
    for k in range(len(may) + 1):
        for subset in itertools.combinations(may, k):
            for order in itertools.permutations(must + list(subset)):
                if any(b.ret is not None and b.ret < a.call for i, a in enumerate(order) for b in order[i + 1:]):
                    continue
                state = initial
                for o in order:
                    state = step(o.kind, state, o.arg, o.result)
                    if state is ILLEGAL:
                        break
                else:
                    return True
    return False


def _random_ops(rng: random.Random, n: int, kv: bool) -> list[Op]:
    values = ["a", "b"] if kv else [0, 1, 2]
    points = list(range(2 * n))
    rng.shuffle(points)
    raw = []
    for i in range(n):
        call, ret = sorted(points[2 * i: 2 * i + 2])
        kind = rng.choice([READ, WRITE, CAS] + ([APPEND] if kv else []))
        if kind == READ:
            arg, result = None, rng.choice(values + ([None, "ab", "ba"] if kv else [None]))
        elif kind == CAS:
            arg, result = (rng.choice(values + [None]), rng.choice(values)), rng.choice([True, False])
        else:
            arg, result = rng.choice(values), None
        optional = False
        r = rng.random()
        if r < 0.15 and kind != READ:
            ret, result = None, ANY
        elif r < 0.3:
            optional, result = True, (ANY if rng.random() < 0.5 else result)
        raw.append((call, kind, arg, result, ret, optional))
    raw.sort(key=lambda x: x[0])
    return [Op(i, "c", "x", k, None, arg, res, call, ret, Where(0), None, "ok", optional=opt)
            for i, (call, k, arg, res, ret, opt) in enumerate(raw)]


def test_search_agrees_with_brute_force_on_small_random_histories():
    rng = random.Random(20261127)
    answers = {True: 0, False: 0}
    for _ in range(1000):
        kv = rng.random() < 0.5
        ops = _random_ops(rng, rng.randint(1, 6), kv)
        initial = rng.choice([None, "a"] if kv else [None, 0])
        expected = _brute(ops, initial)
        answers[expected] += 1
        assert linearizable(ops, initial) is expected, (initial, ops)
    assert min(answers.values()) > 100  # both answers well represented


# ---------------------------------------------------------------- layering

def test_lin_reads_histories_only():
    pkg = Path(lin.__file__).resolve().parent
    for path in sorted(pkg.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert node.module == "trace", f"{path.name} imports ..{node.module}: lin may import only paxsim.trace"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    assert name.split(".")[0] not in {"simpy", "numpy", "matplotlib"}, f"{path.name} imports {name}"
                    assert not name.startswith("paxsim.") or name == "paxsim.trace", f"{path.name} imports {name}"
