"""Findings of the adversarial review of the single-decree core (simulator,
checker, command line): each test failed before its fix."""

import json

from paxsim.cli import main


def test_a_proposer_retrying_for_long_is_no_crash(runner, write):
    # More than 1,024 retries: backoff**attempt overflowed a float, and
    # `paxsim run` died with an OverflowError traceback and exit status 1
    # (which means a violation) on a valid scenario.
    path = write("""\
name: lonely
description: one proposer with no quorum to reach; it retries at the max backoff until the end
nodes: 3
duration: 3s
protocol:
  retry: {timeout: 1ms, backoff: 2.0, jitter: 0.5, max: 2ms}
proposers: [{node: n1, value: a}]
faults:
  - {at: 0ms, crash: n2}
  - {at: 0ms, crash: n3}
""")
    result = runner.invoke(main, ["run", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok"
    assert data["verdict"]["undecided"] == ["n1"] and data["verdict"]["down"] == ["n2", "n3"]


def test_a_clock_that_stops_or_runs_backwards_is_refused(runner, write):
    # A drift of -1,000,000 ppm stops the clock (rate 0), below that it runs
    # backwards: accepted, then a ZeroDivisionError or OverflowError traceback
    # (exit 1) once a timer was set. Drawn drifts count too: random drift
    # 1,500,000 ppm stopped some seeds' clocks.
    for clocks, field in [("{default: {drift: -1000000ppm}}", "clocks.default.drift"),
                          ("{nodes: {n2: {drift: -2000000}}}", "clocks.nodes.n2.drift"),
                          ("{default: {drift: 100ppm}, random: {drift: 1000100ppm}}", "clocks.random.drift")]:
        path = write(f"name: stopped\nnodes: 3\nproposers: [{{node: n1, value: a}}]\nclocks: {clocks}\n")
        result = runner.invoke(main, ["run", str(path)])
        assert result.exit_code == 2, (clocks, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{path}:4: {field}: "), lines
        assert "-1000000ppm" in lines[0]


def test_a_latency_past_the_largest_float_is_a_message_that_never_arrives(runner, write):
    # lognormal's exp() and pareto's u ** (-1 / shape) raised OverflowError on
    # draws past the largest float (sigma 1000: most draws; shape 0.01: about
    # one in a thousand): a traceback and exit 1 on a valid scenario. Such a
    # message is in flight for ever, as one whose delay overflows to inf.
    for latency in ("{dist: lognormal, median: 1ms, sigma: 1000}", "{dist: pareto, scale: 1ms, shape: 0.01}"):
        path = write(f"name: tail\nnodes: 9\nduration: 300ms\nprotocol: {{retry: {{timeout: 1ms, max: 1ms}}}}\n"
                     f"proposers: [{{node: n1, value: a}}]\nnetwork: {{latency: {latency}}}\n")
        for seed in range(3):
            result = runner.invoke(main, ["run", str(path), "--seed", str(seed), "--json"])
            assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
            assert result.exit_code == 0, result.output
            data = json.loads(result.stdout)
            m = data["messages"]
            assert m["sent"] > m["delivered"] and sum(m["dropped"].values()) == 0  # the rest still in flight


def test_every_kind_of_fault_gives_the_same_trace_in_any_process(tmp_path, write):
    # The shipped determinism tests cover scenarios without a random profile,
    # clocks, slow disks or learning by acceptors: here all of them at once.
    import os
    import subprocess
    import sys

    from paxsim import load_scenario, simulate

    from .conftest import ROOT

    path = write("""\
name: everything
nodes: 5
duration: 600ms
protocol: {write_latency: 2ms, learning: acceptors, retry: {timeout: 10ms, backoff: 1.5, jitter: 0.5, max: 80ms}}
proposers: [{node: n1, value: a}, {node: n3, value: b, at: 2ms}, {node: n5, value: c, at: 4ms}]
network:
  latency: {dist: lognormal, median: 3ms, sigma: 0.8}
  links: [{from: n2, to: n4, loss: 0.5, duplicate: 0.5}]
clocks: {random: {offset: 2ms, drift: 500ppm}, nodes: {n2: {steps: [{at: 50ms, by: -5ms}]}}}
faults:
  schedule: [{at: 30ms, cut: {from: n1, to: n2}}, {at: 90ms, uncut: {from: n1, to: n2}}]
  random:
    until: 200ms
    events: 8
    swarm: false
    max_down: 2
    crash: {down: [2ms, 60ms]}
    partition: {length: [5ms, 80ms]}
    cut: {length: [5ms, 80ms]}
    loss: 0.2
    duplicate: 0.3
    delay: {share: 0.2, max: 30ms}
""")
    traces = []
    for hashseed in ("1", "2"):
        out = tmp_path / f"{hashseed}.jsonl"
        env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-m", "paxsim", "run", str(path), "--seed", "7", "--trace", str(out)],
                       env=env, cwd=tmp_path, capture_output=True, timeout=120)
        traces.append(out.read_bytes())
    kinds = {json.loads(line)["kind"] for line in traces[0].splitlines()}
    assert {"random-faults", "clocks", "timer", "crash", "restart", "partition", "cut", "duplicate", "decide"} <= kinds
    assert traces[0] == traces[1]
    assert "".join(simulate(load_scenario(path), 7).lines()).encode() == traces[0]


def test_fault_semantics_on_a_purpose_built_run(runner, write, tmp_path):
    # Read from the trace alone: a one-way cut drops one direction only; a
    # crashed node receives nothing (its messages dropped as 'crashed'); a
    # write still in progress at a crash is lost (no promise event, and the
    # next promise reports and keeps nothing of it); every duplicate has a
    # fresh id and its own fate; end.decided is what the decide events say.
    path = write("""\
name: purpose-built
nodes: 3
duration: 200ms
protocol: {write_latency: 5ms, retry: {timeout: 30ms, backoff: 1.0, jitter: 0, max: 30ms}}
proposers: [{node: n1, value: a}]
network: {latency: {dist: constant, value: 1ms}, duplicate: 1.0}
faults:
  - {at: 0ms, cut: {from: n3, to: n1}}
  - {at: 5.5ms, crash: n2}
  - {at: 7ms, restart: n2}
  - {at: 8ms, crash: n3}
  - {at: 9ms, restart: n3}
""")
    trace = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(path), "--trace", str(trace)]).exit_code == 0
    events = [json.loads(line) for line in trace.read_text().splitlines()][1:]
    sends, copies, fate = {}, {}, {}
    for e in events:
        if e["kind"] == "send":
            sends[e["id"]] = e
        elif e["kind"] == "duplicate":
            assert e["copy"] not in sends and e["copy"] not in copies
            copies[e["copy"]] = e["id"]
        elif e["kind"] in ("deliver", "drop"):
            assert e["id"] not in fate
            fate[e["id"]] = (e["kind"], e.get("reason"), e["t"])
    link = {i: (s["src"], s["dst"]) for i, s in sends.items()}
    link.update({c: link[i] for c, i in copies.items()})
    between = [i for i, s in sends.items() if s["src"] != s["dst"]]
    assert len(copies) == len(between)  # duplicate: 1.0, and never a node's message to itself
    cut = [i for i in link if link[i] == ("n3", "n1")]
    assert cut and all(fate[i][:2] == ("drop", "cut") for i in cut)
    back = [i for i in link if link[i] == ("n1", "n3") and i in fate]
    assert back and all(fate[i][0] == "deliver" for i in back)
    to_n2 = [fate[i] for i in link if link[i][1] == "n2" and i in fate]
    assert [f for f in to_n2 if 5.5 <= f[2] < 7] == [("drop", "crashed", 6.0)] * 2
    assert all(f[0] == "deliver" for f in to_n2 if not 5.5 <= f[2] < 7)
    # n3 got prepare (1, n1) at 6 ms; its 5 ms write was lost in the crash at 8 ms
    assert [f[0] for i, f in fate.items() if link[i] == ("n1", "n3") and f[2] == 6.0] == ["deliver", "deliver"]
    n3_promises = [tuple(e["ballot"]) for e in events if e["kind"] == "promise" and e["node"] == "n3"]
    assert n3_promises == [(2, "n1")]
    decided = {e["node"]: e["value"] for e in events if e["kind"] == "decide"}
    assert decided == events[-1]["decided"] == {"n1": "a", "n2": "a", "n3": "a"}


def test_reused_ballot_alone_breaks_agreement_when_phase1_quorums_need_not_intersect(runner, write):
    # The README said unique ballots and the strict promise are redundant
    # defences in single-decree Paxos, so reused-ballot alone could never be
    # caught. That holds only while phase-1 quorums intersect: with a safe
    # flexible quorum of phase 1 = 1 on 2 nodes, each proposer promises
    # itself (1, '') and the two values are chosen at that one ballot.
    path = write("name: reused-flexible\nnodes: 2\nduration: 100ms\n"
                 "protocol: {quorum: {phase1: 1, phase2: 2}, bugs: [reused-ballot]}\n"
                 "proposers: [{node: n1, value: a}, {node: n2, value: b}]\n"
                 "network: {latency: {dist: constant, value: 1ms}}\n")
    for seed in range(3):
        result = runner.invoke(main, ["run", str(path), "--seed", str(seed), "--json"])
        assert result.exit_code == 1, result.output
        agreement = [v for v in json.loads(result.stdout)["verdict"]["violations"] if v["kind"] == "agreement"]
        assert agreement[0]["message"].startswith("two values chosen: 'a' at (1, ) ")
        assert any("one ballot for two values" in d for d in agreement[0]["details"])
        result = runner.invoke(main, ["run", str(path), "--seed", str(seed), "--set", "protocol.bugs=[]"])
        assert result.exit_code == 0, result.output
