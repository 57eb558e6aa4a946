"""`paxsim cluster`: real node processes on 127.0.0.1 under a scenario's
network and faults, judged by the checker.  Each test runs the command as a
process and kills whatever it started in a finalizer, then checks that no
node process outlived the command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from paxsim.trace import read_trace

from .real_helpers import Processes, alive, env, wait_for

TIMEOUT = 180  # a bound for a hung run, never reached by a passing one


@pytest.fixture
def procs():
    p = Processes()
    yield p
    p.end()


def cluster(procs: Processes, scenario: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    proc = procs.start([sys.executable, "-m", "paxsim", "cluster", str(scenario), "--workdir", str(workdir), *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def node_pids(workdir: Path) -> list[int]:
    return [int(p.read_text()) for p in (workdir / "pids").iterdir()]


def assert_nothing_left(workdir: Path) -> None:
    pids = node_pids(workdir)
    assert pids
    assert [p for p in pids if alive(p)] == []


def events_of(trace: Path, kind: str) -> list[dict]:
    return [ev for ev in read_trace(trace) if ev["kind"] == kind]


def test_three_nodes_under_loss(procs, write, tmp_path):
    sc = write("""
name: lossy-real
seed: 4
duration: 20s
nodes: 3
protocol: {retry: {timeout: 40ms, backoff: 1.5, jitter: 0.5, max: 300ms}}
proposers:
  - {node: n1, value: apple, at: 0ms}
  - {node: n3, value: banana, at: 2ms}
network: {latency: {dist: lognormal, median: 3ms, sigma: 0.5}, loss: 0.25}
expect: {decided: true}
""")
    trace = tmp_path / "t.jsonl"
    res = cluster(procs, sc, tmp_path / "wd", "--trace", str(trace), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["runtime"] == "http" and out["verdict"]["ok"] and out["decided"]
    assert out["value"] in ("apple", "banana")
    header = read_trace(trace)[0]
    assert header["runtime"] == "http" and header["clock"] == "wall" and header["scenario"]["name"] == "lossy-real"
    events = read_trace(trace)
    assert [ev["seq"] for ev in events[1:]] == list(range(len(events) - 1))
    assert events[-1]["kind"] == "end" and set(events[-1]["decided"]) == {"n1", "n2", "n3"}
    drops = [ev for ev in events if ev["kind"] == "drop"]
    assert out["messages"]["dropped"]["loss"] == sum(ev["reason"] == "loss" for ev in drops)
    assert {ev["node"] for ev in events if ev["kind"] == "vote"} <= {"n1", "n2", "n3"}
    # The same checker, from the file alone, agrees.
    check = subprocess.run([sys.executable, "-m", "paxsim", "check", str(trace)], env=env(), capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert check.returncode == 0 and "verdict:   OK" in check.stdout
    assert_nothing_left(tmp_path / "wd")


def test_five_nodes_partition_heals_and_killed_minority_keeps_its_state(procs, write, tmp_path):
    sc = write("""
name: partition-crash-real
seed: 9
duration: 20s
nodes: 5
protocol: {retry: {timeout: 40ms, backoff: 1.5, jitter: 0.5, max: 300ms}, storage: durable}
proposers:
  - {node: n1, value: apple, at: 0ms}
  - {node: n3, value: banana, at: 5ms}
network: {latency: {dist: lognormal, median: 3ms, sigma: 0.5}}
faults:
  - {at: 0ms, partition: [[n1, n2], [n3, n4, n5]]}
  - {at: 60ms, crash: n4}
  - {at: 60ms, crash: n5}
  - {at: 150ms, heal: all}
  - {at: 250ms, restart: n4}
  - {at: 260ms, restart: n5}
expect: {decided: true}
""")
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    res = cluster(procs, sc, wd, "--trace", str(trace), "--plots", str(tmp_path / "figs"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verdict:   OK: every learner agrees on" in res.stdout
    for name in ("latency.png", "timeline.png"):
        assert (tmp_path / "figs" / name).stat().st_size > 0 and f"plot:      {tmp_path / 'figs' / name}" in res.stdout
    assert "not reproducible event for event" in res.stdout
    events = read_trace(trace)
    kinds = [ev["kind"] for ev in events]
    assert "partition" in kinds and "heal" in kinds
    assert sorted(ev["node"] for ev in events if ev["kind"] == "crash") == ["n4", "n5"]
    restarts = [ev for ev in events if ev["kind"] == "restart"]
    assert sorted(ev["node"] for ev in restarts) == ["n4", "n5"] and {ev["storage"] for ev in restarts} == {"durable"}
    end = events[-1]
    assert sorted(end["decided"]) == ["n1", "n2", "n3", "n4", "n5"] and len(set(end["decided"].values())) == 1
    # Durable state survived SIGKILL: whatever a killed node promised or voted
    # before its crash, it still holds after (its state file, its promises on the wire).
    for name in ("n4", "n5"):
        crash = next(ev["seq"] for ev in events if ev["kind"] == "crash" and ev["node"] == name)
        promised = [tuple(ev["ballot"]) for ev in events if ev["kind"] == "promise" and ev["node"] == name
                    and ev["seq"] < crash]
        voted = [tuple(ev["ballot"]) for ev in events if ev["kind"] == "vote" and ev["node"] == name
                 and ev["seq"] < crash]
        state = json.loads((wd / "data" / name / "state.json").read_text()) if promised else None
        if promised:
            assert tuple(state["acceptor"][0]) >= max(promised)
        if voted:
            assert tuple(state["acceptor"][1][0]) >= max(voted)
            for ev in events:
                if (ev["kind"] == "send" and ev["src"] == name and ev["seq"] > crash
                        and ev["msg"]["type"] == "promise"):
                    assert tuple(ev["msg"]["accepted"]["ballot"]) >= max(voted)
    assert_nothing_left(wd)


def test_volatile_restart_comes_back_empty(procs, write, tmp_path):
    sc = write("""
name: volatile-real
seed: 2
duration: 20s
nodes: 3
protocol: {storage: volatile, retry: {timeout: 40ms, backoff: 1.5, jitter: 0.5, max: 300ms}}
proposers:
  - {node: n1, value: apple, at: 0ms}
network: {latency: {dist: constant, value: 2ms}}
faults:
  - {at: 80ms, crash: n2}
  - {at: 120ms, restart: n2}
expect: {safety: may-violate}
""")
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    res = cluster(procs, sc, wd, "--trace", str(trace))
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert "verdict:" in res.stdout
    events = read_trace(trace)
    restart = next(ev for ev in events if ev["kind"] == "restart")
    assert restart["node"] == "n2" and restart["storage"] == "volatile"
    # The first life's trace was kept aside, the data directory emptied.
    first_life = (wd / "traces" / "n2.1.jsonl").read_text().splitlines()
    assert json.loads(first_life[0])["kind"] == "start"
    second = [json.loads(line) for line in (wd / "data" / "n2" / "trace.jsonl").read_text().splitlines()]
    assert second[0]["kind"] == "start" and len([e for e in second if e["kind"] == "start"]) == 1
    # Every promise and vote of n2's first life is in the merged trace, before the restart.
    lived = [(e["kind"], e["ballot"]) for e in map(json.loads, first_life) if e["kind"] in ("promise", "vote")]
    merged = [(ev["kind"], ev["ballot"]) for ev in events if ev.get("node") == "n2"
              and ev["kind"] in ("promise", "vote") and ev["seq"] < restart["seq"]]
    assert merged == lived
    assert_nothing_left(wd)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "sigkill"])
def test_ctrl_c_or_sigterm_leaves_no_node_behind(procs, write, tmp_path, sig):
    sc = write("""
name: long
duration: 120s
nodes: 2
proposers: [{node: n1, value: apple, at: 100s}]
""")
    wd = tmp_path / "wd"
    proc = procs.start([sys.executable, "-m", "paxsim", "cluster", str(sc), "--workdir", str(wd)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def all_started():
        traces = [wd / "data" / n / "trace.jsonl" for n in ("n1", "n2")]
        return all(t.exists() and '"start"' in t.read_text() for t in traces)

    wait_for(all_started, what="both nodes to start")
    pids = node_pids(wd)
    assert len(pids) == 2 and all(alive(p) for p in pids)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    if sig == signal.SIGKILL:  # as when a test's finalizer kills it: the nodes die with it
        wait_for(lambda: not any(alive(p) for p in pids), what="the nodes to die with the cluster")
        return
    assert proc.returncode == 130 and err.strip() == "interrupted", err
    assert [p for p in pids if alive(p)] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_while_nodes_start_is_one_line(procs, write, tmp_path, sig):
    # while the nodes are spawned: SIGTERM killed the cluster silently (143), and Ctrl-C printed
    # asyncio's "Loop ... that handles pid ... is closed" notes around `interrupted`
    sc = write("name: long\nduration: 120s\nnodes: 5\nproposers: [{node: n1, value: apple, at: 100s}]\n")
    wd = tmp_path / "wd"
    proc = procs.start([sys.executable, "-m", "paxsim", "cluster", str(sc), "--workdir", str(wd)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (wd / "pids").is_dir(), what="a first node to be spawned")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130 and err.strip() == "interrupted", err
    wait_for(lambda: not any(alive(p) for p in node_pids(wd)), what="the nodes to be gone")


def test_a_node_that_cannot_start_is_one_line_and_exit_2(procs, write, tmp_path):
    sc = write("name: x\nnodes: 3\nproposers: [{node: n1, value: a}]\n")
    wd = tmp_path / "wd"
    res = cluster(procs, sc, wd, "--node-cmd", "sh -c 'exit 3' {name}")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "exited with status 3 before it was ready" in res.stderr
    assert_nothing_left(wd)


def test_bad_node_cmd_template_is_exit_2(runner, write):
    from paxsim.cli import main

    sc = write("name: x\nnodes: 3\nproposers: [{node: n1, value: a}]\n")
    res = runner.invoke(main, ["cluster", str(sc), "--node-cmd", "mynode --port {prot}"])
    assert res.exit_code == 2 and "--node-cmd: bad template" in res.output and "{port}" in res.output


@pytest.mark.parametrize("template, shown", [
    ("mynode {name.foo}", "{name.foo}"),  # was a traceback and exit 1, the status of a violation
    ("mynode {name[x]}", "{name[x]}"),
    ("mynode {name[0]}", "{name[0]}"),  # was run as 'mynode n', and so on
    ("mynode {name!r}", "{name!r}"),
    ("mynode --port {port:>5}", "{port:>5}"),
])
def test_a_placeholder_is_a_name_only_anything_else_is_exit_2(runner, write, template, shown):
    from paxsim.cli import main

    sc = write("name: x\nnodes: 3\nproposers: [{node: n1, value: a}]\n")
    res = runner.invoke(main, ["cluster", str(sc), "--node-cmd", template])
    assert res.exit_code == 2, res.output
    assert f"unknown placeholder {shown}" in res.output and res.output.count("\n") == 1, res.output


def test_the_tutorials_node_is_caught_from_the_wire(procs, write, tmp_path):
    """examples/blog_node.py (no paxsim inside) under --node-cmd: two
    proposers at once share ballot (1, ''), count refusals, and get two
    values chosen; the verdict is judged from the messages alone."""
    sc = write("""
name: blog-race
seed: 1
duration: 10s
nodes: 3
proposers:
  - {node: n1, value: apple, at: 0ms}
  - {node: n3, value: banana, at: 0ms}
network: {latency: {dist: constant, value: 3ms}}
expect: {decided: true}
""")
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    blog = Path(__file__).resolve().parent.parent / "examples" / "blog_node.py"
    template = f"{sys.executable} {blog} --name {{name}} --port {{port}} --peers {{peers}} --data {{data}}"
    res = cluster(procs, sc, wd, "--trace", str(trace), "--node-cmd", template)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "verdict:   VIOLATION" in res.stdout and "agreement: two values chosen" in res.stdout
    assert "used one ballot for two values" in res.stdout
    assert "judged:    from the wire alone for n1, n2, n3" in res.stdout
    assert "--node-cmd" in res.stdout.split("reproduce:")[1]
    assert not (wd / "data" / "n2" / "trace.jsonl").exists()  # the node writes nothing of its own
    votes = events_of(trace, "vote")
    assert {(ev["node"], ev["value"]) for ev in votes} >= {("n2", "apple"), ("n2", "banana")}
    assert_nothing_left(wd)
