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
