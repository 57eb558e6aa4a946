"""What paxsim shows people, attacked: pages whose data carries the page's own
placeholders, tampered traces given to replay, edge-case traces given to the
viewer, the plots and the export."""

from __future__ import annotations

import json
import re

import pytest

from paxsim.cli import main

from .conftest import ROOT

VOLATILE = ROOT / "scenarios" / "volatile.yaml"


def _page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="paxsim-data">(.*?)</script>', html, re.S)
    assert found, "no data block in the page"
    return json.loads(found.group(1))


def test_a_scenario_named_like_a_placeholder_still_gets_its_data_in_the_page(runner, tmp_path):
    # the page is filled in by replacing __TITLE__, __CSS__, __JS__, __DATA__...: a user's
    # scenario name or file name that contains one must be shown as text, not take the data
    text = VOLATILE.read_text().replace("name: volatile", 'name: "run __DATA__ __JS__ __CSS__"', 1)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    trace = tmp_path / "__SOURCES__ __DATA__.jsonl"
    result = runner.invoke(main, ["run", str(scenario), "--trace", str(trace), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 1, result.output
    for out in (tmp_path / "r.html", tmp_path / "v.html"):
        if out.name == "v.html":
            assert runner.invoke(main, ["view", str(trace), "-o", str(out)]).exit_code == 0
        html = out.read_text()
        data = _page_data(html)
        assert data["runs"][0]["title"] == "run __DATA__ __JS__ __CSS__ (seed 3)"
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert title == "paxsim view: run __DATA__ __JS__ __CSS__ (seed 3)"
        assert "function" in html.split("<script>", 1)[1]  # the script is where it belongs
        assert "__JS__" not in html.split("<script>", 1)[1].split("</script>", 1)[0]


def test_replay_of_a_trace_with_a_line_that_is_json_but_not_an_object(runner, tmp_path):
    good = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(good)]).exit_code == 1
    lines = good.read_text().splitlines(keepends=True)
    for bad_line in ('[1, 2]\n', '0\n', '"x"\n', 'null\n'):
        t = tmp_path / "edited.jsonl"
        t.write_text("".join(lines[:2] + [bad_line] + lines[3:]))
        result = runner.invoke(main, ["replay", str(t)])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # no traceback
        head = result.stdout.splitlines()[0]
        assert head == "DIFFERENT at line 3: the trace's line is not a JSON object", (bad_line, result.stdout)
        assert "ends after" not in result.stdout


def test_a_trace_too_big_for_a_page_is_refused_in_one_line(runner, tmp_path, monkeypatch):
    # benchmarks/million.yaml's trace (2.2 million events) made a 310 MB page, no browser opens
    # that, taking 4 GB and 2 minutes: the limit is lowered here to keep the test small
    import paxsim.view

    trace = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(trace)]).exit_code == 1
    events = len(trace.read_text().splitlines()) - 1
    monkeypatch.setattr(paxsim.view, "MAX_PAGE_EVENTS", events)  # at the limit: drawn
    assert runner.invoke(main, ["view", str(trace), "-o", str(tmp_path / "ok.html")]).exit_code == 0
    monkeypatch.setattr(paxsim.view, "MAX_PAGE_EVENTS", events - 1)
    for args in (["view", str(trace), "-o", str(tmp_path / "p.html")],
                 ["diff", str(trace), str(trace), "-o", str(tmp_path / "p.html")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and result.stdout == "", result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"{trace}: {events:,} events, too many for one page (at most {events - 1:,}")
        assert not (tmp_path / "p.html").exists()
    # without a page, diff still compares
    assert runner.invoke(main, ["diff", str(trace), str(trace)]).exit_code == 0
    # run --html: no page, a note, and the run's summary and exit status as without --html
    result = runner.invoke(main, ["run", str(VOLATILE), "--html", str(tmp_path / "p.html")])
    plain = runner.invoke(main, ["run", str(VOLATILE)])
    assert result.exit_code == plain.exit_code == 1 and result.stdout == plain.stdout
    assert result.stderr.startswith(f"note: {tmp_path / 'p.html'}: no page: {events:,} events, too many")
    assert not (tmp_path / "p.html").exists()


@pytest.mark.slow  # five figures drawn: about 15 s on a loaded 2-core machine
def test_plot_latency_streams_a_trace_and_draws_the_same_figure(runner, tmp_path, monkeypatch):
    # benchmarks/million.yaml's trace took 2.9 GB to plot, read whole; streamed it takes 145 MB
    import paxsim.cli
    from paxsim import plot
    from paxsim.trace import read_trace

    trace = tmp_path / "dup.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "partition.yaml"), "--set", "network.loss=0.1",
                                "--set", "network.duplicate=0.3", "--trace", str(trace)]).exit_code == 0
    events = read_trace(trace)
    assert any(ev["kind"] == "duplicate" for ev in events) and any(ev["kind"] == "drop" for ev in events)
    (tmp_path / "w").mkdir()
    swapped = tmp_path / "w" / "dup.jsonl"  # lines out of seq order: not streamable, so read whole
    lines = trace.read_text().splitlines(keepends=True)
    swapped.write_text("".join(lines[:3] + [lines[4], lines[3]] + lines[5:]))
    for by in ("type", "link"):
        plot.save(plot.latency_figure([("dup", events)], by=by), tmp_path / "whole.svg")
        with monkeypatch.context() as m:  # a file paxsim wrote is never read whole
            m.setattr(paxsim.cli, "read_trace", None)
            result = runner.invoke(main, ["plot", "latency", str(trace), "--by", by, "-o", str(tmp_path / "s.svg")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "s.svg").read_bytes() == (tmp_path / "whole.svg").read_bytes()
        if by == "type":
            result = runner.invoke(main, ["plot", "latency", str(swapped), "-o", str(tmp_path / "w.svg")])
            assert result.exit_code == 0, result.output
            assert (tmp_path / "w.svg").read_bytes() == (tmp_path / "whole.svg").read_bytes()
    # and a malformed file is still one line naming the file, line and field
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines[:5] + [lines[5].replace('"t":', '"t":"soon","x":')] + lines[6:]))
    result = runner.invoke(main, ["plot", "latency", str(bad), "-o", str(tmp_path / "b.svg")])
    assert result.exit_code == 2 and result.stderr.startswith(f"{bad}:6: ") and result.stderr.count("\n") == 1


def test_replay_compares_byte_for_byte_so_crlf_line_ends_differ(runner, tmp_path):
    # --help: "compare byte for byte"; a trace whose lines end in CR LF (an editor, a
    # checkout with autocrlf) was called identical, though a space more was not
    good = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(good)]).exit_code == 1
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(good.read_bytes().replace(b"\n", b"\r\n"))
    result = runner.invoke(main, ["replay", str(crlf)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stdout.splitlines()[0] == "DIFFERENT at line 1: (formatting)"
    assert runner.invoke(main, ["replay", str(good)]).exit_code == 0


def test_timeline_of_a_trace_with_no_time_blames_no_option(runner, tmp_path):
    # a trace ending at 0 ms (its header and its end) was refused as "--from: 0 ms is at or
    # after the end of the trace", though no --from was given
    src = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(src)]).exit_code == 1
    lines = src.read_text().splitlines()
    end = dict(json.loads(lines[-1]), seq=0, t=0.0, decided={},
               messages={"delivered": 0, "dropped": {}, "duplicated": 0, "sent": 0})
    empty = tmp_path / "empty.jsonl"
    empty.write_text(lines[0] + "\n" + json.dumps(end, sort_keys=True, separators=(",", ":")) + "\n")
    assert runner.invoke(main, ["check", str(empty)]).exit_code == 0  # a well-formed trace
    result = runner.invoke(main, ["plot", "timeline", str(empty), "-o", str(tmp_path / "t.svg")])
    assert result.exit_code == 2 and result.stderr == f"{empty}: the trace ends at 0 ms: no time to draw\n"
    result = runner.invoke(main, ["plot", "timeline", str(empty), "--from", "0ms", "-o", str(tmp_path / "t.svg")])
    assert result.exit_code == 2 and "--from: 0 ms is at or after the end of the trace (0 ms)" in result.stderr


def test_a_bare_number_is_a_time_in_milliseconds(runner, tmp_path):
    # --help: "a number of milliseconds"; the refusal itself offered "use e.g. 250", and refused 250
    trace = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(trace)]).exit_code == 1
    for a, b in (("0", "40"), ("10.5", "40"), ("10ms", "40")):
        result = runner.invoke(main, ["plot", "timeline", str(trace), "--from", a, "--to", b, "-o",
                                      str(tmp_path / f"t{a}.svg")])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "t10ms.svg").read_bytes() != (tmp_path / "t0.svg").read_bytes()  # a window 10 to 40 ms
    for bad in ("-5", "nan", "soon"):
        result = runner.invoke(main, ["plot", "timeline", str(trace), "--from", bad, "-o", str(tmp_path / "x.svg")])
        assert result.exit_code == 2 and f"--from: {bad!r} is not a time" in result.stderr


def test_a_cluster_trace_is_drawn_on_the_scenario_clock_its_checker_uses(runner, tmp_path):
    # paxsim cluster writes times on the scenario's clock (0 when every node is ready, a
    # partition at its `at`); the page subtracted the first event's time again, so every
    # time it showed was off by that much from the trace and from its own verdict's "t="
    src = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", str(VOLATILE), "--trace", str(src)]).exit_code == 1
    events = [json.loads(line) for line in src.read_text().splitlines()]
    events[0].update(runtime="http", clock="wall")
    late = [events[0]] + [dict(ev, t=ev["t"] + 7.25) for ev in events[1:]]  # first event at 7.25 ms
    epoch = [events[0]] + [dict(ev, t=ev["t"] + 1.7e12) for ev in events[1:]]  # another tool's clock
    for name, evs in (("late", late), ("epoch", epoch)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(ev) + "\n" for ev in evs))
        assert runner.invoke(main, ["view", str(tmp_path / f"{name}.jsonl"), "-o",
                                    str(tmp_path / f"{name}.html")]).exit_code == 0
    for name, evs, shift in (("late", late, 0.0), ("epoch", epoch, 1.7e12 + events[1]["t"])):
        run = _page_data((tmp_path / f"{name}.html").read_text())["runs"][0]
        want = {ev["seq"]: ev["t"] - shift for ev in evs[1:] if ev["kind"] in ("vote", "crash", "restart", "cut")}
        got = {e["seq"]: e["t"] for e in run["events"] + run["faults"] if e["seq"] in want}
        assert got.keys() == want.keys() and all(abs(got[s] - want[s]) < 1e-6 for s in want), (name, got, want)
    page = (tmp_path / "late.html").read_text()
    chosen = _page_data(page)["runs"][0]["verdict"]["chosen"][0]
    vote = next(e for e in _page_data(page)["runs"][0]["events"] if e["seq"] == chosen["seq"])
    assert vote["t"] == chosen["t"]  # the diagram and the verdict above it agree


def test_diff_page_opens_at_the_divergence_of_wall_clock_runs_on_other_clocks(runner, tmp_path):
    # when A had ended before the point where B goes on, the page opened A's window (which
    # stops at A's end, and B's was synced to it) at B's time measured from A's first event:
    # B's divergence was out of view
    from .browser import Chromium, find_chromium
    from .test_view import _wall_clock_trace, load

    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium: install Debian's 'chromium' package to test the page")
    events = _wall_clock_trace()
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(ev) + "\n" for ev in events[:6]))  # cut short: no event at line 7
    b.write_text("".join(json.dumps(dict(ev, t=ev["t"] + 60_000) if "t" in ev else ev) + "\n" for ev in events))
    out = tmp_path / "d.html"
    result = runner.invoke(main, ["diff", str(a), str(b), "-o", str(out)])
    assert result.exit_code == 1 and "first difference at line 7" in result.stdout, result.output
    with Chromium(exe) as browser:
        browser.open_page()
        load(browser, out)
        marks = browser.evaluate("Array.from(document.querySelectorAll('svg.diagram'))"
                                 ".map(s => s.querySelectorAll('.divline').length)")
    assert marks == [0, 1]  # B's divergence in view (A has no event there)


def test_plot_decisions_refuses_a_multi_paxos_trace_rather_than_say_nobody_learned(runner, tmp_path):
    # a Multi-Paxos run that decided thousands of slots was drawn as "kv: 0/3 learned",
    # "not all learned by the end of the run"
    kv = tmp_path / "kv.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "kv.yaml"), "--set", "duration=400ms",
                                  "--trace", str(kv)])
    assert result.exit_code in (0, 1), result.output  # 1: its expect (ops completed) is for a longer run
    assert any(json.loads(line)["kind"] == "decided" for line in kv.read_text().splitlines()[1:])
    result = runner.invoke(main, ["plot", "decisions", str(kv), "-o", str(tmp_path / "d.svg")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"{kv}: kv: a multi-paxos run decides a log of slots")
    assert not (tmp_path / "d.svg").exists()


def test_diff_of_two_multi_paxos_runs_compares_their_logs(runner, tmp_path):
    # two kv runs that decided different commands were reported "same: decisions, chosen"
    # (only single-decree `decide` events were compared: a Multi-Paxos run has none)
    paths = []
    for seed in (1, 2):
        path = tmp_path / f"kv{seed}.jsonl"
        result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "kv.yaml"), "--seed", str(seed),
                                      "--set", "duration=150ms", "--trace", str(path)])
        assert result.exit_code in (0, 1), result.output
        paths.append(path)
    logs = []
    for path in paths:
        log: dict = {}
        for line in path.read_text().splitlines()[1:]:
            ev = json.loads(line)
            if ev["kind"] == "decided":
                log.setdefault(ev["node"], {}).setdefault(ev["slot"], ev["command"])
        logs.append(log)
    result = runner.invoke(main, ["diff", str(paths[0]), str(paths[1])])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert "decisions" not in out[-1] and "chosen" not in out[-1]  # the "same: ..." line
    i = out.index("  slots decided:")
    for k, log in enumerate(logs):
        assert out[i + 1 + k].endswith("  " + ", ".join(f"{n} {len(log[n])}" for n in sorted(log)))
    head = next(line for line in out if line.startswith("  first slot decided differently"))
    slot, node = re.search(r"\(slot (\d+) at (\S+)\)", head).groups()
    assert logs[0][node][int(slot)] != logs[1][node][int(slot)]
    for n in logs[0]:  # no slot before it differs, at any node
        assert all(logs[0][n][s] == logs[1][n].get(s, logs[0][n][s]) for s in logs[0][n] if s < int(slot))
    same = runner.invoke(main, ["diff", str(paths[0]), str(paths[0])])
    assert same.exit_code == 0


EVIL = '</script><script>window.__owned=1</script><img src=x onerror="window.__owned=2"> \'q" & é ☃ 𝄞'


def test_user_values_in_the_page_are_text_never_markup(runner, tmp_path):
    # scenario name, description, proposed values and file names as a browser shows them
    from .browser import Chromium, find_chromium
    from .test_view import load

    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium: install Debian's 'chromium' package to test the page")
    text = VOLATILE.read_text().replace("name: volatile", f"name: {json.dumps(EVIL)}", 1)
    text = text.replace("value: apple", f"value: {json.dumps(EVIL + ' apple')}", 1)
    text = re.sub(r"(?m)^description: .*$", lambda _: f"description: {json.dumps(EVIL * 40)}", text)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    trace = tmp_path / "x<script>alert(1)<b> é.jsonl"
    assert runner.invoke(main, ["run", str(scenario), "--trace", str(trace)]).exit_code == 1
    page, diff = tmp_path / "v.html", tmp_path / "d.html"
    assert runner.invoke(main, ["view", str(trace), "-o", str(page)]).exit_code == 0
    assert runner.invoke(main, ["diff", str(trace), str(tmp_path / "x<script>alert(1)<b> é.jsonl"),
                                "-o", str(diff)]).exit_code == 0
    with Chromium(exe) as browser:
        browser.open_page()
        for out in (page, diff):
            load(browser, out)  # drawn, no script error, nothing fetched
            got = browser.evaluate("""({owned: window.__owned || null, imgs: document.querySelectorAll('img').length,
                h1: document.querySelector('h1').textContent, body: document.body.textContent})""")
            assert got["owned"] is None and got["imgs"] == 0
            if out is page:
                assert got["h1"] == f"paxsim view: {EVIL} (seed 3)"
                assert EVIL + " apple" in got["body"]  # the chosen value, shown as written
