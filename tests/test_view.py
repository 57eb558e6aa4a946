"""paxsim view / diff / export: the page in a real headless Chromium (offline),
the diff's report and exit codes, and the ShiViz log parsed back against its
format rules."""

from __future__ import annotations

import json
import re

import pytest

from paxsim.cli import main
from paxsim.trace import read_trace

from .browser import Chromium, find_chromium
from .conftest import ROOT

VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")
PARTITION = str(ROOT / "scenarios" / "partition.yaml")


# --- traces, made once ---------------------------------------------------------
@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    from click.testing import CliRunner

    d = tmp_path_factory.mktemp("traces")
    runner = CliRunner()
    made = {}
    for name, args in {"volatile": [VOLATILE], "durable": [VOLATILE, "--set", "protocol.storage=durable"],
                       "partition": [PARTITION]}.items():
        path = d / f"{name}.jsonl"
        result = runner.invoke(main, ["run", *args, "--trace", str(path)])
        assert result.exit_code in (0, 1), result.output
        made[name] = path
    made["wall"] = d / "wall.jsonl"
    made["wall"].write_text("\n".join(json.dumps(ev) for ev in _wall_clock_trace()) + "\n")
    return made


def _wall_clock_trace() -> list[dict]:
    """A real-cluster-like trace: wall-clock times, sparse message ids, and
    events of kinds paxsim's simulator never writes (client operations, slots)."""
    t = 1_700_000_000_000.0
    return [
        {"kind": "header", "format": 1, "runtime": "http", "paxsim": "x", "scenario": {"name": "real", "nodes": ["n1", "n2"], "proposers": [{"node": "n1", "value": "put x 1"}]}},
        {"kind": "invoke", "seq": 0, "t": t, "client": "c1", "op": "put", "key": "x", "value": 1},
        {"kind": "send", "seq": 1, "t": t + 1.0, "id": 100, "src": "n1", "dst": "n2", "msg": {"type": "p2a", "slot": 3, "ballot": [1, "n1"], "value": "put x 1"}},
        {"kind": "deliver", "seq": 2, "t": t + 3.5, "id": 100},
        {"kind": "send", "seq": 3, "t": t + 3.75, "id": 200, "src": "n2", "dst": "n1", "msg": {"type": "p2b", "slot": 3, "ballot": [1, "n1"]}},
        {"kind": "slot-commit", "seq": 4, "t": t + 4.0, "node": "n2", "slot": 3, "value": "put x 1"},
        {"kind": "deliver", "seq": 5, "t": t + 6.0, "id": 200},
        {"kind": "slot-commit", "seq": 6, "t": t + 6.25, "node": "n1", "slot": 3, "value": "put x 1"},
        {"kind": "ok", "seq": 7, "t": t + 7.0, "client": "c1", "op": "put", "key": "x", "value": 1},
        {"kind": "end", "seq": 8, "t": t + 9.0},
    ]


def message_ids(events) -> list[str]:
    """Every message copy of a trace, read independently of paxsim.view."""
    ids = [str(ev["id"]) for ev in events if ev["kind"] == "send"]
    return ids + [str(ev["copy"]) for ev in events if ev["kind"] == "duplicate"]


def page(runner, trace, out):
    result = runner.invoke(main, ["view", str(trace), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


# --- the page in a browser -------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium: install Debian's 'chromium' package (apt-get install -y chromium) to test the page")
    b = Chromium(exe, width=1400, height=1000)
    try:
        b.open_page()
        yield b
    finally:
        b.close()
    assert b.proc.poll() is not None  # the browser is gone


def load(browser, path):
    mark = len(browser.events)
    browser.navigate(path.resolve().as_uri())
    # ready once the scripts ran and no viewer has a render still waiting for its animation frame
    ready = ("new Promise(function (done) { var tick = function () {"
             " if ((window.paxsimViewers || []).some(function (v) { return v.pending; })) requestAnimationFrame(tick);"
             " else done(document.documentElement.getAttribute('data-ready')); }; requestAnimationFrame(tick); })")
    assert browser.evaluate(ready) == "1", \
        browser.evaluate("(document.getElementById('paxsim-error') || {}).textContent")
    assert not [e for e in browser.events[mark:] if e.get("method") == "Runtime.exceptionThrown"]
    urls = [ev["params"]["request"]["url"] for ev in browser.events[mark:]
            if ev.get("method") == "Network.requestWillBeSent"]
    assert urls and all(u.startswith("file://") for u in urls), urls  # nothing from the network


def js(browser, code):
    return browser.evaluate("(function () {" + code + "})()")


def click_at(browser, x, y):
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1,
                                                  "buttons": 1 if kind == "mousePressed" else 0})


def test_every_message_has_an_element_and_filters_hide_what_they_should(browser, runner, traces, tmp_path):
    events = read_trace(traces["partition"])
    load(browser, page(runner, traces["partition"], tmp_path / "p.html"))
    drawn = js(browser, "return Array.from(document.querySelectorAll('path.m')).map(e => e.dataset.id);")
    assert sorted(drawn) == sorted(message_ids(events))
    types = {str(ev["id"]): ev["msg"]["type"] for ev in events if ev["kind"] == "send"}
    # every decision, crash and restart is a marker on its node's lane
    for kind in ("decide", "crash", "restart"):
        want = sorted((ev["node"], ev["seq"]) for ev in events if ev["kind"] == kind)
        got = js(browser, f"return Array.from(document.querySelectorAll('path.ev[data-kind={kind}]'))"
                          ".map(e => [e.dataset.node, Number(e.dataset.seq)]);")
        assert sorted(map(tuple, got)) == want and want

    hidden = "return Array.from(document.querySelectorAll('path.m')).filter(e => getComputedStyle(e).display === 'none' && e.classList.contains('off')).map(e => e.dataset.id);"
    js(browser, "document.querySelector('input[data-filter=type][data-name=prepare]').click();")
    off = set(js(browser, hidden))
    assert off == {i for i in drawn if types.get(i) == "prepare" or types.get(_original(events, i)) == "prepare"}
    js(browser, "document.querySelector('input[data-filter=type][data-name=prepare]').click();")
    assert js(browser, hidden) == []

    js(browser, "document.querySelector('input[data-filter=node][data-name=n1]').click();")
    link = {str(ev["id"]): (ev["src"], ev["dst"]) for ev in events if ev["kind"] == "send"}
    assert set(js(browser, hidden)) == {i for i in drawn if "n1" in link[_original(events, i)]}
    assert js(browser, "return document.querySelector('text.lanelabel[data-lane=n1]');") is None
    js(browser, "document.querySelector('input[data-filter=node][data-name=n1]').click();")

    js(browser, "const q = document.querySelector('input[data-act=query]'); q.value = 'ballot=(1,n4)';"
                "q.dispatchEvent(new Event('input'));")
    shown = set(drawn) - set(js(browser, hidden))
    want = {i for i in drawn if (_msg(events, i).get("ballot") == [1, "n4"])}
    assert shown == want and want
    browser.screenshot(tmp_path / "partition.png")


def _original(events, mid):
    for ev in events:
        if ev["kind"] == "duplicate" and str(ev["copy"]) == mid:
            return str(ev["id"])
    return mid


def _msg(events, mid):
    orig = _original(events, mid)
    return next(ev["msg"] for ev in events if ev["kind"] == "send" and str(ev["id"]) == orig)


def test_explanation_links_target_their_events_and_a_click_shows_causes(browser, runner, traces, tmp_path):
    events = read_trace(traces["volatile"])
    by_seq = {ev["seq"]: ev for ev in events[1:]}
    load(browser, page(runner, traces["volatile"], tmp_path / "v.html"))
    links = js(browser, "return Array.from(document.querySelectorAll('.verdict a.seq')).map(a => Number(a.dataset.seq));")
    assert 49 in links and 39 in links  # the amnesiac promise and the restart the explanation names
    for seq in sorted(set(links)):
        got = js(browser, f"""
            document.querySelector('.verdict a.seq[data-seq="{seq}"]').click();
            const t = document.querySelector('svg.diagram .target');
            const r = t.getBoundingClientRect(), s = document.querySelector('.stage').getBoundingClientRect();
            return {{cls: t.getAttribute('class'), kind: t.dataset.kind || null, node: t.dataset.node || null,
                     seq: Number(t.dataset.seq), end: t.dataset.endSeq ? Number(t.dataset.endSeq) : null,
                     inside: r.bottom >= s.top && r.top <= s.bottom && r.right >= s.left && r.left <= s.right,
                     shown: getComputedStyle(t).display !== 'none'}};""")
        ev = by_seq[seq]
        assert got["inside"] and got["shown"], (seq, got)
        if ev["kind"] in ("send", "deliver", "drop"):
            assert seq in (got["seq"], got["end"]), (seq, got)
        else:
            assert (got["kind"], got["node"], got["seq"]) == (ev["kind"], ev["node"], seq)

    # click the delivered promise from n2 to n1: it caused n1's accepts and its propose
    deliver = {ev["id"]: ev for ev in events if ev["kind"] == "deliver"}
    promise = next(ev for ev in events if ev["kind"] == "send" and ev["msg"]["type"] == "promise"
                   and ev["src"] == "n2" and ev["dst"] == "n1" and ev["id"] in deliver)
    step = []  # the events that follow its delivery in the same step, read from the trace
    after = events.index(deliver[promise["id"]]) + 1
    for ev in events[after:]:
        if ev["kind"] in ("deliver", "end") or ev["t"] != deliver[promise["id"]]["t"] or \
                (ev["kind"] == "drop" and ev["reason"] == "crashed"):
            break
        step.append(ev)
    want_msgs = sorted(str(ev["id"]) for ev in step if ev["kind"] == "send")
    want_evs = sorted(ev["seq"] for ev in step if ev["kind"] in ("propose", "vote", "promise", "decide"))
    assert want_msgs and want_evs
    pid = promise["id"]
    js(browser, f"paxsimViewers[0].reveal(paxsimViewers[0].byId['{pid}']);")
    x, y = js(browser, f"""document.querySelector('.stage').scrollIntoView();
        const p = document.querySelector('path.m[data-id="{pid}"]');
        const pt = p.getPointAtLength(p.getTotalLength() * 0.5), m = p.getScreenCTM();
        return [pt.x * m.a + pt.y * m.c + m.e, pt.x * m.b + pt.y * m.d + m.f];""")
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    tip = js(browser, "return document.querySelector('.tip').textContent;")
    d = deliver[pid]
    for text in ("promise  n2 → n1", "ballot: (1, n1)", "accepted: none", f"id:        {pid}"):
        assert text in tip, (text, tip)
    fields = {k: (float(v), int(q) if q else None) for k, v, q in
              re.findall(r"^(sent|delivered|latency):\s+([\d.]+) ms(?: \(seq (\d+)\))?", tip, re.M)}
    assert fields["sent"][1] == promise["seq"] and fields["delivered"][1] == d["seq"]
    for key, want in (("sent", promise["t"]), ("delivered", d["t"]), ("latency", d["t"] - promise["t"])):
        assert abs(fields[key][0] - want) < 1e-3, (key, tip)
    click_at(browser, x, y)
    got = js(browser, """return {sel: Array.from(document.querySelectorAll('svg.diagram .sel')).map(e => e.dataset.id),
        msgs: Array.from(document.querySelectorAll('path.m.effect')).map(e => e.dataset.id).sort(),
        evs: Array.from(document.querySelectorAll('path.ev.effect')).map(e => Number(e.dataset.seq)).sort((a, b) => a - b),
        cause: Array.from(document.querySelectorAll('path.m.cause')).map(e => e.dataset.id),
        details: document.querySelector('.details').textContent};""")
    prepare = next(ev for ev in events if ev["kind"] == "send" and ev["src"] == "n1" and ev["dst"] == "n2"
                   and ev["msg"]["type"] == "prepare")
    assert got["sel"] == [str(pid)]
    assert got["msgs"] == want_msgs and got["evs"] == want_evs
    assert got["cause"] == [str(prepare["id"])]  # the prepare it answers
    assert "caused by: prepare n1→n2" in got["details"]
    browser.screenshot(tmp_path / "volatile.png")


def test_unknown_events_and_wall_clock_traces(browser, runner, traces, tmp_path):
    load(browser, page(runner, traces["wall"], tmp_path / "w.html"))
    got = js(browser, """return {msgs: Array.from(document.querySelectorAll('path.m')).map(e => e.dataset.id),
        kinds: Array.from(document.querySelectorAll('svg.diagram path.ev')).map(e => e.dataset.kind + '@' + e.dataset.node),
        filters: Array.from(document.querySelectorAll('input[data-filter=kind]')).map(e => e.dataset.name),
        lanes: Array.from(document.querySelectorAll('text.lanelabel')).map(e => e.textContent),
        window: document.querySelector('.controls .status').textContent};""")
    assert sorted(got["msgs"]) == ["100", "200"]
    assert sorted(got["kinds"]) == ["invoke@c1", "ok@c1", "slot-commit@n1", "slot-commit@n2"]
    assert got["filters"] == ["invoke", "slot-commit", "ok"]
    assert got["lanes"] == ["n1", "n2", "c1"]
    assert got["window"].startswith("0.0000")  # times relative to the first event
    # hover a client event: its fields show
    x, y = js(browser, """document.querySelector('.stage').scrollIntoView();
        const p = document.querySelector('path.ev[data-kind=ok]'), b = p.getBoundingClientRect();
        return [b.left + b.width / 2, b.top + b.height / 2];""")
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    tip = js(browser, "return document.querySelector('.tip').textContent;")
    assert "ok at c1" in tip and "op: 'put'" in tip and "key: 'x'" in tip
    # the p2b was caused by the p2a (wall clock: within a millisecond of its delivery)
    assert js(browser, "return paxsimViewers[0].byId['200'].cause;") == "100"
    # find by slot: the slot's messages and events stay, client operations go
    js(browser, "const q = document.querySelector('input[data-act=query]'); q.value = 'slot=3';"
                "q.dispatchEvent(new Event('input'));")
    shown = js(browser, """return Array.from(document.querySelectorAll('svg.diagram path.m, svg.diagram path.ev'))
        .filter(e => !e.classList.contains('off')).map(e => e.dataset.id || e.dataset.kind).sort();""")
    assert shown == ["100", "200", "slot-commit", "slot-commit"]
    js(browser, "const q = document.querySelector('input[data-act=query]'); q.value = '';"
                "q.dispatchEvent(new Event('input'));")
    js(browser, "document.querySelector('input[data-filter=kind][data-name=slot-commit]').click();")
    off = js(browser, "return Array.from(document.querySelectorAll('svg.diagram path.ev')).filter(e => getComputedStyle(e).display === 'none').map(e => e.dataset.kind);")
    assert off == ["slot-commit", "slot-commit"]


def test_diff_page_shows_both_runs_and_marks_the_divergence(browser, runner, traces, tmp_path):
    out = tmp_path / "diff.html"
    result = runner.invoke(main, ["diff", str(traces["durable"]), str(traces["volatile"]), "-o", str(out)])
    assert result.exit_code == 1
    load(browser, out)
    got = js(browser, """return {runs: Array.from(document.querySelectorAll('svg.diagram')).map(s => s.querySelectorAll('path.m').length),
        marks: Array.from(document.querySelectorAll('svg.diagram')).map(s => s.querySelectorAll('.divline').length),
        targets: Array.from(document.querySelectorAll('svg.diagram .target')).map(e => Number(e.dataset.seq)),
        report: document.getElementById('diff-report').textContent,
        tops: Array.from(document.querySelectorAll('.stage')).map(s => s.getBoundingClientRect().top)};""")
    assert got["runs"] == [len(message_ids(read_trace(traces[n]))) for n in ("durable", "volatile")]
    assert got["marks"] == [1, 1]
    line = result.stdout.splitlines()[1]
    seq = int(re.search(r"\(seq (\d+)\)", line).group(1))
    assert got["targets"] == [seq, seq]
    assert line in got["report"]
    assert abs(got["tops"][0] - got["tops"][1]) < 1  # aligned in time: the diagrams start at the same height (to the pixel)


# --- the page without a browser -----------------------------------------------------
def test_run_html_writes_the_page_with_every_message(runner, traces, tmp_path):
    out = tmp_path / "run.html"
    result = runner.invoke(main, ["run", VOLATILE, "--html", str(out), "--trace", str(tmp_path / "t.jsonl")])
    assert result.exit_code == 1 and f"page:      {out}" in result.stdout
    html = out.read_text()
    assert "<script src" not in html and "http://" not in html.split("paxsim-data")[0].lower().replace(
        'http-equiv', '')  # nothing loaded from elsewhere
    data = json.loads(re.search(r'<script type="application/json" id="paxsim-data">(.*?)</script>', html, re.S).group(1))
    assert sorted(m["id"] for m in data["runs"][0]["messages"]) == sorted(message_ids(read_trace(tmp_path / "t.jsonl")))
    # the same trace gives the same page, byte for byte
    page(runner, tmp_path / "t.jsonl", tmp_path / "a.html")
    page(runner, tmp_path / "t.jsonl", tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


@pytest.mark.parametrize("command", [["view"], ["diff"], ["export"]])
def test_help_has_examples(runner, command):
    result = runner.invoke(main, command + ["--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "paxsim " + command[0] in result.stdout


@pytest.mark.parametrize("args", [["view", "missing.jsonl"], ["diff", "missing.jsonl", "missing.jsonl"],
                                  ["export", "missing.jsonl"], ["view", "BAD"], ["diff", "GOOD", "BAD"]])
def test_bad_input_is_one_line_and_exit_2(runner, traces, tmp_path, args):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(traces["durable"].read_text().splitlines()[0] + "\nnot json\n")  # a valid header, then garbage
    args = [str(bad) if a == "BAD" else str(traces["volatile"]) if a == "GOOD" else a for a in args]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert ("bad.jsonl:2: not a JSON object" if str(bad) in args else "missing.jsonl: cannot read trace") in result.stderr


# --- diff --------------------------------------------------------------------------
def test_diff_identical_exits_0(runner, traces):
    result = runner.invoke(main, ["diff", str(traces["volatile"]), str(traces["volatile"])])
    assert result.exit_code == 0 and result.stdout.startswith("identical:")


def test_diff_names_the_first_divergence_and_what_differs_after(runner, traces):
    a, b = traces["durable"], traces["volatile"]
    result = runner.invoke(main, ["diff", str(a), str(b)])
    assert result.exit_code == 1
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    first = next(i for i in range(1, len(la)) if la[i] != lb[i])  # after the header
    ea, eb = json.loads(la[first]), json.loads(lb[first])
    field = next(k for k in sorted(ea) if ea[k] != eb.get(k))
    out = result.stdout.splitlines()
    assert out[0] == "headers differ: scenario.protocol.storage ('durable' vs 'volatile')"
    assert out[1] == f"first difference at line {first + 1} (seq {ea['seq']}): {field}"
    assert out[2].startswith(f"  A {a}") and f"{field}={ea[field]!r}" in out[2]
    assert out[3].startswith(f"  B {b}") and f"{field}={eb[field]!r}" in out[3]
    text = result.stdout
    assert "violations:" in text and "agreement (2), integrity (1)" in text  # only the volatile run violates
    assert "chosen:" in text and "'banana' at (1, n3)" in text
    assert "messages sent:" in text


def test_diff_of_a_cut_trace_and_of_wall_clock_runs(runner, traces, tmp_path):
    short = tmp_path / "short.jsonl"
    lines = traces["partition"].read_text().splitlines(keepends=True)
    short.write_text("".join(lines[:40]))
    result = runner.invoke(main, ["diff", str(traces["partition"]), str(short)])
    assert result.exit_code == 1
    assert "first difference at line 41" in result.stdout and "<end of trace>" in result.stdout.splitlines()[2]
    # wall clock: the same events at other times, with other ids, are the same run
    events = _wall_clock_trace()
    later = [dict(ev, t=ev["t"] + 5000) if "t" in ev else ev for ev in events]
    other = tmp_path / "later.jsonl"
    other.write_text("\n".join(json.dumps(ev) for ev in later) + "\n")
    result = runner.invoke(main, ["diff", str(traces["wall"]), str(other)])
    assert result.exit_code == 0, result.output


def test_replay_names_the_field_that_differs(runner, traces, tmp_path):
    t = tmp_path / "edited.jsonl"
    lines = traces["volatile"].read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if '"kind":"vote"' in line)
    lines[i] = lines[i].replace('"value":"apple"', '"value":"kiwi"')
    t.write_text("".join(lines))
    result = runner.invoke(main, ["replay", str(t)])
    assert result.exit_code == 1
    head, old, new = result.stdout.splitlines()
    assert head == f"DIFFERENT at line {i + 1} (seq {json.loads(lines[i])['seq']}): value"
    assert old.startswith("  trace:   value='kiwi'") and new.startswith("  replay:  value='apple'")


# --- ShiViz --------------------------------------------------------------------------
def test_shiviz_export_follows_the_format_rules(runner, traces, tmp_path):
    out = tmp_path / "runs.log"
    names = [traces["partition"], traces["volatile"]]
    result = runner.invoke(main, ["export", *map(str, names), "--format", "shiviz", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    parser, delimiter, body = text.split("\n", 2)
    py = lambda rx: re.compile(rx.replace("(?<", "(?P<"), re.M)  # noqa: E731 - ShiViz writes JS named groups
    parser_re, delim_re = py(parser), py(delimiter)
    assert set(parser_re.groupindex) >= {"event", "host", "clock"} and "trace" in delim_re.groupindex
    chunks = delim_re.split(body)  # ['', name1, text1, name2, text2]
    assert chunks[0] == "" and chunks[1::2] == [str(n) for n in names]
    for path, chunk in zip(names, chunks[2::2]):
        events = read_trace(path)
        logged = [(m["event"], m["host"], json.loads(m["clock"])) for m in parser_re.finditer(chunk.strip("\n"))]
        assert 2 * len(logged) == len(chunk.strip("\n").splitlines())  # every line belongs to an event
        sends = [ev for ev in events if ev["kind"] == "send"]
        delivered = [ev for ev in events if ev["kind"] == "deliver"]
        steps = [ev for ev in events if ev["kind"] in ("promise", "vote", "propose", "decide", "crash", "restart")]
        assert len(logged) == len(sends) + len(delivered) + len(steps)
        clocks: dict[str, dict] = {}
        at_send: dict[str, dict] = {}
        copies = {str(ev["copy"]): str(ev["id"]) for ev in events if ev["kind"] == "duplicate"}
        for event, host, clock in logged:
            prev = clocks.get(host, {})
            assert clock[host] == prev.get(host, 0) + 1  # own entry: 1, 2, 3, ...
            m = re.match(r"seq \d+ t=\S+ (send|deliver) #(\d+)", event)
            if m and m.group(1) == "deliver":
                sent = at_send[copies.get(m.group(2), m.group(2))]
                merged = {h: max(prev.get(h, 0), sent.get(h, 0)) for h in set(prev) | set(sent)}
                merged[host] = prev.get(host, 0) + 1
                assert clock == merged, event
            else:
                assert {h: n for h, n in clock.items() if h != host} == {h: n for h, n in prev.items() if h != host}
                if m:
                    at_send[m.group(2)] = clock
            clocks[host] = clock


def test_thousands_of_messages_each_keep_an_element(browser, runner, tmp_path):
    """scenarios/large.yaml on 101 nodes: over 2,000 messages.  In a window
    that dense the page paints them as one picture; each message keeps its
    element, and the ones highlighted are drawn as elements on top."""
    t = tmp_path / "large.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "large.yaml"), "--set", "nodes=101", "--trace", str(t)])
    assert result.exit_code == 0, result.output
    events = read_trace(t)
    ids = message_ids(events)
    assert len(ids) > 2000
    load(browser, page(runner, t, tmp_path / "large.html"))
    js(browser, "document.querySelector('button[data-act=fit]').click();")
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = js(browser, """return {ids: Array.from(document.querySelectorAll('svg.diagram path.m')).map(e => e.dataset.id),
        dense: document.querySelector('.stage').classList.contains('dense'),
        shown: Array.from(document.querySelectorAll('svg.diagram path.m')).filter(e => getComputedStyle(e).display !== 'none').length};""")
    assert sorted(got["ids"]) == sorted(ids) and got["dense"] and got["shown"] == 0
    decide = next(ev for ev in events if ev["kind"] == "decide")
    cause = next(ev for ev in events if ev["kind"] == "deliver" and ev["t"] == decide["t"]
                 and ev["seq"] < decide["seq"] and events.index(ev) >= events.index(decide) - 12)
    js(browser, f"paxsimViewers[0].focusSeq({decide['seq']});")
    got = js(browser, """return Array.from(document.querySelectorAll('svg.diagram path.m.cause')).filter(e => getComputedStyle(e).display !== 'none').map(e => e.dataset.id);""")
    assert got == [str(cause["id"])]  # the message that made the node decide, highlighted as its own element
    browser.screenshot(tmp_path / "large.png")


def test_the_view_reads_only_traces():
    """paxsim/view depends on the trace format, the checker and its summary, the shared colours,
    nothing that runs a simulation."""
    import ast

    allowed = {"..trace", "..check", "..check_multi", "..report", ".._version", "..colors", ".diff", ".model", ".shiviz",
               "__future__", "json", "re", "math", "html", "importlib", "typing", "dataclasses"}
    for path in sorted((ROOT / "paxsim" / "view").glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.add("." * node.level + (node.module or ""))
        assert names <= allowed, f"{path.name} imports {names - allowed}"


def test_diff_tells_a_value_chosen_at_many_ballots_short():
    # Five duelling proposers choose one value at hundreds of ballots: the
    # chosen: row ran to thousands of characters.  A value chosen at more than
    # two ballots is now its count and first and last ballot; lists that differ
    # only in between are shown whole, so the two lines never read the same.
    from paxsim.view.diff import summary_lines

    def outcome(chosen):
        return {"counts": {}, "delivered": 0, "lost": 0, "decisions": {"n1": "v"}, "slots": {},
                "last_decide": 1.0, "chosen": chosen, "violations": [], "check_error": None}

    many = [("'v'", f"({r}, n{r % 5 + 1})") for r in range(1, 400)]
    fewer = many[:200] + [("'v'", "(201, n1)")] + many[201:]  # the same count, first and last
    out = summary_lines(None, None, ("A", "B"), False, outcomes=(outcome(many), outcome(many[:3])))
    assert "    A  'v' at 399 ballots, (1, n2) to (399, n5)" in out
    assert "    B  'v' at 3 ballots, (1, n2) to (3, n4)" in out
    out = summary_lines(None, None, ("A", "B"), False, outcomes=(outcome(many), outcome(fewer)))
    rows = [line for line in out if line.startswith("    A ") or line.startswith("    B ")]
    assert len(rows) == 2 and "(201, n2)" in rows[0] and "(201, n1)" in rows[1] and "(201, n2)" not in rows[1]
    out = summary_lines(None, None, ("A", "B"), False, outcomes=(outcome(many[:2]), outcome(many[:1])))
    assert "    A  'v' at (1, n2); 'v' at (2, n3)" in out
    same = summary_lines(None, None, ("A", "B"), False, outcomes=(outcome(many), outcome(list(many))))
    assert any(line.startswith("  same:") and "chosen" in line for line in same)


def test_a_value_with_spaces_is_found_in_quotes(browser, runner, write, tmp_path):
    # the search split its text at every space: value="v 1" found nothing
    sc = write("""name: names
nodes: ["a.b", "c-d", "e_f"]
proposers:
  - {node: "a.b", value: "v 1"}
  - {node: "e_f", value: "v\\"2", at: 1ms}
network: {loss: 0.2}
""")
    trace = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(sc), "--trace", str(trace)]).exit_code in (0, 1)
    sends = [json.loads(line) for line in trace.read_text().splitlines() if '"kind":"send"' in line]

    def with_value(v):
        return sorted(str(ev["id"]) for ev in sends if ev["msg"].get("value") == v)

    assert with_value("v 1") and with_value('v"2')
    load(browser, page(runner, trace, tmp_path / "t.html"))

    def shown(query):
        return js(browser, "const q = document.querySelector('input[data-act=query]'); q.value = " + json.dumps(query)
                  + "; q.dispatchEvent(new Event('input')); return Array.from(document.querySelectorAll("
                  "'svg.diagram path.m')).filter(e => !e.classList.contains('off')).map(e => e.dataset.id).sort();")

    assert shown('value="v 1"') == with_value("v 1")
    assert shown('value="v 1" type=accept') == sorted(
        str(ev["id"]) for ev in sends if ev["msg"].get("value") == "v 1" and ev["msg"]["type"] == "accept")
    assert shown('value=v"2') == with_value('v"2')  # a quote without its pair is part of the word


def test_wall_clock_times_are_labelled_by_their_origin(browser, runner, tmp_path):
    # other tools' epoch times count from the first event; a cluster's are on the scenario's clock
    # (the page said "ms since the first event" for both)
    epoch = tmp_path / "epoch.jsonl"
    epoch.write_text("\n".join(json.dumps(ev) for ev in _wall_clock_trace()) + "\n")
    scenario_clock = tmp_path / "cluster.jsonl"
    events = _wall_clock_trace()
    events[0]["scenario"]["duration"] = 1000
    for ev in events[1:]:
        ev["t"] -= 1_700_000_000_000.0 - 20.0
    scenario_clock.write_text("\n".join(json.dumps(ev) for ev in events) + "\n")
    for trace, words in ((epoch, "ms since the first event"), (scenario_clock, "ms on the scenario's clock")):
        load(browser, page(runner, trace, tmp_path / (trace.stem + ".html")))
        meta = js(browser, "return document.querySelector('.vhead .meta').textContent;")
        assert meta.endswith(f"wall-clock time (http, {words})"), meta


def test_a_seq_typed_into_an_open_page_s_address_is_shown(browser, runner, traces, tmp_path):
    # '#seq=N' worked only when the page was opened with it
    events = read_trace(traces["volatile"])
    load(browser, page(runner, traces["volatile"], tmp_path / "v.html"))
    for seq in (49, 39):
        got = js(browser, f"""location.hash = '#seq={seq}';
            return new Promise(done => setTimeout(() => {{
                const t = document.querySelector('svg.diagram .target');
                done(t ? {{kind: t.dataset.kind || null, seq: Number(t.dataset.seq),
                           end: t.dataset.endSeq ? Number(t.dataset.endSeq) : null}} : null); }}, 100));""")
        ev = next(e for e in events[1:] if e["seq"] == seq)
        assert got is not None, seq
        if ev["kind"] in ("send", "deliver", "drop"):  # a message: drawn from its send to its end
            assert seq in (got["seq"], got["end"]), (seq, got)
        else:
            assert (got["kind"], got["seq"]) == (ev["kind"], seq), (seq, got)
