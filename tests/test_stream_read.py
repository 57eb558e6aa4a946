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


# --------------------------------------------------------------------------
# The commands: the same output as reading the whole trace
# --------------------------------------------------------------------------
SHIPPED = [("duplicates.yaml", None), ("partition.yaml", None), ("crash-majority.yaml", None),
           ("volatile.yaml", 3), ("lossy.yaml", None), ("one-way-cut.yaml", None), ("kv.yaml", None)]
SHORTER = {"kv.yaml": ("duration=150ms",)}  # a Multi-Paxos run, kept short


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """Traces of shipped scenarios: duplicates, partitions, cuts, crashes and restarts, a violation, Multi-Paxos."""
    from paxsim.scenario import load_variant
    from paxsim.sim import simulate

    folder = tmp_path_factory.mktemp("shipped")
    out = []
    for name, seed in SHIPPED:
        sc = load_variant(ROOT / "scenarios" / name, SHORTER.get(name, ()))
        path = folder / name.replace(".yaml", ".jsonl")
        simulate(sc, sc.seed if seed is None else seed).write_trace(path)
        out.append(path)
    return out


def _renumbered(events: list[dict], insert: dict[int, dict] | None = None) -> list[dict]:
    """The events with some inserted (at those positions) and seq numbered again."""
    out = list(events)
    for at, ev in sorted((insert or {}).items(), reverse=True):
        out.insert(at, ev)
    return [out[0]] + [dict(ev, seq=i) for i, ev in enumerate(out[1:])]


def _write(path, events):
    path.write_text("".join(json.dumps(ev, sort_keys=True) + "\n" for ev in events))
    return path


TIMELINE_ARGS = [{}, {"t_to": 100.0}, {"t_from": 30.0, "t_to": 80.0}, {"t_from": 50.0}, {"max_messages": 20},
                 {"nodes": ["n1", "n2"], "max_messages": 7}, {"t_from": 10.0, "max_messages": 3},
                 {"t_from": 1.0, "t_to": 1.5}, {"t_from": 10 ** 7}, {"nodes": ["n1", "nowhere"]}]


def _window(make, *args, **kwargs):
    from paxsim.plot import PlotError

    try:
        w = make(*args, **kwargs)
    except PlotError as exc:
        return str(exc)
    return (w.header, w.lanes, w.lo, w.hi, w.end_t, w.candidates, w.notes, w.faults,
            [ev for ev in w.decides if w.lo <= ev["t"] <= w.hi], w.to_self)


def test_timeline_window_streamed_is_the_window_of_the_whole_trace(shipped):
    from paxsim import plot

    windows = 0
    for path in shipped:
        events = read_trace(path)
        for args in TIMELINE_ARGS:
            whole = _window(plot._timeline_window, events, **{"t_from": None, "t_to": None, "nodes": None,
                                                              "max_messages": 300, **args})
            streamed = _window(plot.stream_timeline_window, stream_trace(path), **args)
            assert streamed == whole, (path.name, args)
            windows += not isinstance(whole, str)
    assert windows >= 50


def test_plot_timeline_draws_the_figure_of_the_whole_trace(shipped, runner, tmp_path):
    from paxsim import plot

    path = shipped[0]  # duplicates: copies, losses and decisions in the first 100 ms
    out = tmp_path / "streamed.png"
    result = runner.invoke(main, ["plot", "timeline", str(path), "--from", "5ms", "--to", "100ms", "-o", str(out)])
    assert result.exit_code == 0, result.output
    plot.save(plot.timeline_figure(read_trace(path), 5.0, 100.0), tmp_path / "whole.png")
    assert out.read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_plot_timeline_of_a_trace_whose_ids_do_not_rise_reads_it_whole(shipped, runner, tmp_path):
    from paxsim import plot

    events = read_trace(shipped[0])
    top = max(ev.get("copy", ev.get("id", 0)) for ev in events[1:])
    flipped = [events[0]] + [dict(ev, **{k: top - ev[k] for k in ("id", "copy") if k in ev}) for ev in events[1:]]
    path = _write(tmp_path / "flipped.jsonl", flipped)
    with pytest.raises(plot.NotStreamed):
        plot.stream_timeline_window(stream_trace(path), max_messages=40)
    out = tmp_path / "streamed.png"
    result = runner.invoke(main, ["plot", "timeline", str(path), "--max-messages", "40", "-o", str(out)])
    assert result.exit_code == 0, result.output
    plot.save(plot.timeline_figure(read_trace(path), max_messages=40), tmp_path / "whole.png")
    assert out.read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_plot_decisions_draws_the_figure_of_the_whole_traces(shipped, runner, tmp_path):
    from paxsim import plot
    from paxsim.cli import _load_traces

    single = [p for p in shipped if not p.name.startswith("kv")]
    cut = _write(tmp_path / "no-end.jsonl", read_trace(shipped[0])[:-30])  # an incomplete trace: no end event
    paths = single + [cut]
    out = tmp_path / "streamed.png"
    result = runner.invoke(main, ["plot", "decisions", *map(str, paths), "-o", str(out)])
    assert result.exit_code == 0, result.output
    plot.save(plot.decisions_figure(_load_traces(paths)), tmp_path / "whole.png")
    assert out.read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_export_writes_the_export_of_the_whole_traces(shipped, runner, tmp_path):
    from paxsim import view

    events = read_trace(shipped[0])
    delivered = next(ev for ev in events if ev["kind"] == "deliver")
    dropped = next(ev for ev in events[len(events) // 2:] if ev["kind"] == "deliver")
    # a second delivery late in the run, and a drop after a delivery: no run writes them, export follows them
    odd = _write(tmp_path / "odd.jsonl", _renumbered(events, {
        len(events) - 5: {"kind": "deliver", "id": delivered["id"], "t": events[-6]["t"]},
        len(events) - 3: {"kind": "drop", "id": dropped["id"], "t": events[-4]["t"], "reason": "loss"}}))
    paths = shipped + [odd]
    expected = view.shiviz([(str(p), read_trace(p)) for p in paths])
    assert "a duplicate" in expected and f"deliver #{delivered['id']}" in expected.split("===")[-1]
    result = runner.invoke(main, ["export", *map(str, paths)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected
    out = tmp_path / "runs.log"
    result = runner.invoke(main, ["export", *map(str, paths), "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == f"wrote {out} ({len(paths)} execution(s))\n"
    assert out.read_text() == expected


def test_export_of_a_bad_trace_leaves_no_file(shipped, runner, tmp_path):
    lines = shipped[0].read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines[:100] + ['{"kind": "deliver"}\n'] + lines[101:]))
    out = tmp_path / "runs.log"
    result = runner.invoke(main, ["export", str(shipped[1]), str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{bad}:101: ")
    assert result.stderr == f"{_outcome(read_trace, bad)[1]}\n"
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_diff_says_what_the_diff_of_the_whole_traces_says(shipped, runner, tmp_path):
    from paxsim import view

    events = read_trace(shipped[0])
    early = next(ev for ev in events if ev["kind"] == "deliver")
    # B: a second delivery of a message delivered long before: its description needs the send read again
    again = _write(tmp_path / "again.jsonl", _renumbered(events, {len(events) - 10: {
        "kind": "deliver", "id": early["id"], "t": events[-11]["t"]}}))
    pairs = [(shipped[0], shipped[0])] + list(zip(shipped, shipped[1:])) + [(shipped[0], again), (again, shipped[0])]
    for a, b in pairs:
        result = runner.invoke(main, ["diff", str(a), str(b)])
        labels = (f"A {a}", f"B {b}")
        whole = view.diff(read_trace(a), read_trace(b), labels)
        assert result.stdout == "".join(line + "\n" for line in whole.lines), (a.name, b.name)
        assert result.exit_code == (0 if whole.identical else 1)
    assert f"deliver #{early['id']} (" in result.stdout  # named by its send, read again


def test_diff_reports_a_bad_a_before_a_bad_b(shipped, runner, tmp_path):
    lines = shipped[0].read_text().splitlines(keepends=True)
    bad_a, bad_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    bad_a.write_text("".join(lines[:-20] + ["{nope\n"] + lines[-19:]))
    bad_b.write_text("".join(lines[:10] + ["[]\n"] + lines[11:]))
    for a, b, blamed in ((bad_a, bad_b, bad_a), (shipped[0], bad_b, bad_b), (bad_b, shipped[0], bad_b)):
        result = runner.invoke(main, ["diff", str(a), str(b)])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"{_outcome(read_trace, blamed)[1]}\n"


# --------------------------------------------------------------------------
# Memory bounded by what is shown, not by the trace
# --------------------------------------------------------------------------
class _Counted(dict):
    """An event that counts how many of its kind are alive (CPython frees one as soon as nothing holds it)."""

    alive = peak = made = 0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        cls = _Counted
        cls.alive += 1
        cls.made += 1
        cls.peak = max(cls.peak, cls.alive)

    def __del__(self) -> None:
        _Counted.alive -= 1


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """Two runs of the million-message benchmark cut to 80 ms: some 11,000 events each, no faults."""
    from paxsim.scenario import load_variant
    from paxsim.sim import simulate

    folder = tmp_path_factory.mktemp("busy")
    sc = load_variant(ROOT / "benchmarks" / "million.yaml", ("duration=80ms",))
    paths = [folder / "a.jsonl", folder / "b.jsonl"]
    for seed, path in zip((1, 2), paths):
        simulate(sc, seed).write_trace(path)
    return paths


@pytest.mark.parametrize("argv", [
    ["plot", "timeline", "{a}", "--to", "60ms", "-o", "{out}.png"],
    ["plot", "timeline", "{a}", "-o", "{out}.png"],
    ["plot", "decisions", "{a}", "{b}", "-o", "{out}.png"],
    ["export", "{a}", "{b}", "-o", "{out}.log"],
    ["export", "{a}"],
    ["diff", "{a}", "{b}"],
    ["diff", "{a}", "{a}"],
], ids=lambda argv: " ".join(argv[:2]))
def test_commands_hold_a_few_events_of_a_long_trace(busy, runner, tmp_path, monkeypatch, argv):
    import paxsim.cli
    import paxsim.trace

    def never(*args, **kwargs):
        raise AssertionError("a trace in seq order was read whole")

    streamed = paxsim.trace.stream_trace

    def counted(path):
        return (_Counted(ev) for ev in streamed(path))

    monkeypatch.setattr(paxsim.trace, "stream_trace", counted)
    monkeypatch.setattr(paxsim.trace, "read_trace", never)
    monkeypatch.setattr(paxsim.cli, "read_trace", never)
    _Counted.alive = _Counted.peak = _Counted.made = 0
    a, b = busy
    result = runner.invoke(main, [x.format(a=a, b=b, out=tmp_path / "out") for x in argv])
    assert result.exit_code in (0, 1), result.output
    read = [a if x == "{a}" else b for x in argv if x in ("{a}", "{b}")]
    assert _Counted.made >= sum(len(path.read_text().splitlines()) for path in read) > 10_000
    # the header, the end, an event or two in hand: not the trace; diff's checkers also keep each ballot's proposal
    sides = (a, b if "{b}" in argv else a) if argv[0] == "diff" else ()
    proposals = sum(path.read_text().count('"kind":"propose"') for path in sides)
    assert _Counted.peak <= 10 + proposals < 200, (_Counted.peak, proposals)


@pytest.fixture(scope="module")
def kv_traces(tmp_path_factory):
    """Multi-Paxos runs with faults to shade: a leader crash and restart, a partition healed."""
    from paxsim.scenario import load_scenario
    from paxsim.sim import simulate

    folder = tmp_path_factory.mktemp("kv")
    out = []
    for name in ("kv-failover.yaml", "kv-partition.yaml"):
        sc = load_scenario(ROOT / "scenarios" / name)
        path = folder / name.replace(".yaml", ".jsonl")
        simulate(sc, sc.seed).write_trace(path)
        out.append(path)
    return out


def test_plot_throughput_and_operations_hold_the_history_not_the_trace(kv_traces, runner, tmp_path, monkeypatch):
    # Both read a whole trace to draw its client operations; they now keep the
    # client events, the faults and the latest event, and draw the same bytes.
    import paxsim.cli
    import paxsim.trace
    from paxsim import plot

    wholes = {p: read_trace(p) for p in kv_traces}
    faults = ("crash", "restart", "partition", "heal", "cut", "uncut")
    for p, events in wholes.items():
        assert any(ev["kind"] in faults for ev in events), p.name  # something to shade
    for p in kv_traces:
        plot.save(plot.throughput_figure(wholes[p], 20.0), tmp_path / f"{p.stem}-whole.png")
    plot.save(plot.operations_figure([(p.stem, wholes[p]) for p in kv_traces], True), tmp_path / "ops-whole.png")

    def never(*args, **kwargs):
        raise AssertionError("a trace in seq order was read whole")

    streamed = paxsim.trace.stream_trace
    monkeypatch.setattr(paxsim.trace, "stream_trace", lambda path: (_Counted(ev) for ev in streamed(path)))
    monkeypatch.setattr(paxsim.trace, "read_trace", never)
    monkeypatch.setattr(paxsim.cli, "read_trace", never)
    for p, events in wholes.items():
        kept = sum(ev["kind"] in ("invoke", "ok", "fail", "info") + faults for ev in events)
        _Counted.alive = _Counted.peak = _Counted.made = 0
        out = tmp_path / f"{p.stem}-streamed.png"
        result = runner.invoke(main, ["plot", "throughput", str(p), "--bucket", "20ms", "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == (tmp_path / f"{p.stem}-whole.png").read_bytes()
        assert _Counted.made == len(events) > 3 * kept
        assert _Counted.peak <= kept + 5, (_Counted.peak, kept)  # the header, the latest, a few in hand
    out = tmp_path / "ops-streamed.png"
    result = runner.invoke(main, ["plot", "operations", *map(str, kv_traces), "--log", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (tmp_path / "ops-whole.png").read_bytes()


def test_operation_events_keep_what_sets_the_figures_end():
    from paxsim.plot import operation_events

    header = {"kind": "header", "scenario": {"duration": 10.0}}
    events = [header, {"kind": "invoke", "t": 1.0}, {"kind": "send", "t": 30.0}, {"kind": "ok", "t": 30.0},
              {"kind": "deliver", "t": 29.0}]
    assert operation_events(iter(events)) == [header, events[1], events[3], events[2]]
    assert operation_events(iter(events[:2] + events[3:4])) == [header, events[1], events[3]]  # no copy of an ok
    assert operation_events(iter([header])) == [header]


def test_diff_of_kv_traces_is_compared_as_they_are_read(kv_traces, runner, tmp_path, monkeypatch):
    # A Multi-Paxos trace used to be read whole by diff (its checker needed
    # every event); it now streams like a single-decree one, to the same words,
    # a violation included.
    import paxsim.cli
    from paxsim import view
    from paxsim.scenario import load_scenario
    from paxsim.sim import simulate

    bad = tmp_path / "no-dedup.jsonl"
    simulate(load_scenario(ROOT / "scenarios" / "bugs" / "no-dedup.yaml"), 0).write_trace(bad)
    other = tmp_path / "kv-failover-2.jsonl"
    simulate(load_scenario(ROOT / "scenarios" / "kv-failover.yaml"), 2).write_trace(other)
    pairs = [(kv_traces[0], kv_traces[0]), (kv_traces[0], other), (kv_traces[0], kv_traces[1]), (bad, kv_traces[1]),
             (kv_traces[1], bad)]
    expected = {}
    for a, b in pairs:
        labels = (f"A {a}", f"B {b}")
        whole = view.diff(read_trace(a), read_trace(b), labels)
        expected[(a, b)] = ("".join(line + "\n" for line in whole.lines), 0 if whole.identical else 1)

    def never(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(paxsim.cli, "read_trace", never)
    for a, b in pairs:
        result = runner.invoke(main, ["diff", str(a), str(b)])
        assert (result.stdout, result.exit_code) == expected[(a, b)], (a.name, b.name)
    assert "exactly-once" in expected[(bad, kv_traces[1])][0]
