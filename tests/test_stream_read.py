"""Trace readers that stream: `stream_trace` gives what `read_trace` gives
(the same events, or the same one-line error) while holding one line, and
the commands built on it (plot timeline, plot decisions, export, diff)
write byte for byte what they wrote when they read the whole trace, in
memory bounded by what they show."""

import json
import random

import pytest

from paxsim.cli import main
from paxsim.trace import TraceError, read_trace, stream_trace

from .conftest import ROOT


def _outcome(reader, path):
    try:
        return "ok", list(reader(path))
    except TraceError as exc:
        return "error", str(exc)


@pytest.fixture(scope="module")
def dup_trace(tmp_path_factory):
    """A trace with duplicates, losses and a decision (a fault-rich shipped scenario)."""
    from click.testing import CliRunner

    path = tmp_path_factory.mktemp("dup") / "dup.jsonl"
    result = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "duplicates.yaml"), "--trace", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _mutants(lines: list[str], rng: random.Random):
    """Malformed and unusual versions of a trace's lines: each must read as read_trace reads it."""
    n = len(lines)
    yield "as written", lines
    yield "empty", []
    yield "header only", lines[:1]
    yield "no end", lines[:-1]
    yield "blank lines", [lines[0], "\n"] + lines[1:5] + ["   \n"] + lines[5:]
    for _ in range(6):
        i, j = sorted(rng.sample(range(1, n), 2))
        swapped = list(lines)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        yield f"lines {i + 1} and {j + 1} swapped", swapped
        yield f"line {i + 1} left out", lines[:i] + lines[i + 1:]
        yield f"line {i + 1} twice", lines[:i + 1] + lines[i:]
        yield f"line {i + 1} not JSON", lines[:i] + ["{nope\n"] + lines[i + 1:]
        ev = json.loads(lines[i])
        for field, value in (("t", -1), ("t", 0), ("seq", "x"), ("kind", 7), ("node", "zz"), ("extra", 1)):
            if field == "node" and "node" not in ev:
                continue
            bad = dict(ev, **{field: value})
            yield f"line {i + 1} {field}={value!r}", lines[:i] + [json.dumps(bad) + "\n"] + lines[i + 1:]
        # an error late in the file, after an ordering problem early in it: read_trace reports the late one
        yield "swap then bad JSON", swapped[:j] + ["[1]\n"] + swapped[j + 1:]
    yield "after end", lines + [json.dumps(dict(json.loads(lines[-2]), seq=n - 1)) + "\n"]
    yield "second header", lines[:3] + [lines[0]] + lines[3:]
    header = json.loads(lines[0])
    header["scenario"]["proposers"][0]["node"] = "nowhere"
    yield "unknown proposer", [json.dumps(header) + "\n"] + lines[1:]
    end = json.loads(lines[-1])
    end["up"] = ["nowhere"]
    yield "unknown node up at the end", lines[:-1] + [json.dumps(end) + "\n"]
    yield "all lines reversed after the header", lines[:1] + lines[:0:-1]


def test_stream_trace_reads_every_file_as_read_trace_does(dup_trace, tmp_path):
    lines = dup_trace.read_text().splitlines(keepends=True)
    rng = random.Random(7)
    seen = {"ok": 0, "error": 0}
    path = tmp_path / "m.jsonl"
    for name, mutant in _mutants(lines, rng):
        path.write_text("".join(mutant))
        whole, streamed = _outcome(read_trace, path), _outcome(stream_trace, path)
        assert streamed == whole, name
        seen[whole[0]] += 1
    path.write_bytes(b"".join(x.encode() for x in lines[:40]) + b"\xff\xfe\n" + lines[41].encode())
    assert _outcome(stream_trace, path) == _outcome(read_trace, path) == ("error", f"{path}: not a UTF-8 text file")
    assert _outcome(stream_trace, tmp_path / "missing.jsonl") == _outcome(read_trace, tmp_path / "missing.jsonl")
    assert seen["ok"] >= 5 and seen["error"] >= 20  # the mutants exercise both outcomes


def test_stream_trace_holds_one_line_of_an_ordered_file(dup_trace, monkeypatch):
    """A file in seq order never goes to read_trace: what is yielded is each line, as read."""
    import paxsim.trace as trace_mod

    def whole(*args, **kwargs):
        raise AssertionError("an ordered trace was read whole")

    monkeypatch.setattr(trace_mod, "read_trace", whole)
    events = stream_trace(dup_trace)
    header = next(events)
    assert header["kind"] == "header"
    assert [ev["seq"] for ev in events] == list(range(len(dup_trace.read_text().splitlines()) - 1))
