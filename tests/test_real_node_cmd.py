"""`paxsim cluster --node-cmd`: a user's node gets everything it needs to
follow the scenario, through its `{config}` file and the individual
placeholders, and the scenario's settings reach it.  The user's node here
is a small script that reads its config and then runs `paxsim node` with the
values it found there (and nothing else), so what the trace shows came
through the file."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from paxsim.real.cluster import ClusterError, check_template
from paxsim.trace import read_trace

from .real_helpers import ROOT
from .test_real_cluster import TIMEOUT, assert_nothing_left, procs  # noqa: F401 (procs: a fixture)

USER_NODE = r'''
import json, os, sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
with open(args["--config"], encoding="utf-8") as f:
    c = json.load(f)
# The individual placeholders say the same as the file.
assert args["--seed"] == str(c["seed"]) and args["--nodes"] == ",".join(c["nodes"]), args
assert args["--quorum"] == "%d,%d" % (c["quorum"]["phase1"], c["quorum"]["phase2"]), args
assert args["--learning"] == c["learning"] and float(args["--retry-max"]) == c["retry"]["max"], args
r = c["retry"]
os.execv(sys.executable, [sys.executable, "-m", "paxsim", "node", "--name", c["name"], "--host", c["host"],
         "--port", str(c["port"]), "--data", c["data"], "--seed", str(c["seed"]), "--nodes", ",".join(c["nodes"]),
         "--peers", ",".join(p + "=" + url for p, url in c["peers"].items()),
         "--quorum", "%d,%d" % (c["quorum"]["phase1"], c["quorum"]["phase2"]),
         "--retry-timeout", str(r["timeout"]), "--retry-backoff", str(r["backoff"]),
         "--retry-jitter", str(r["jitter"]), "--retry-max", str(r["max"]), "--learning", c["learning"]])
'''


def test_a_users_node_follows_the_scenario_through_its_config(procs, write, tmp_path):  # noqa: F811
    sc = write("""
name: user-node
seed: 5
duration: 20s
nodes: 3
protocol:
  quorum: {phase1: 3, phase2: 1}
  learning: acceptors
  retry: {timeout: 30ms, backoff: 1.5, jitter: 0.25, max: 400ms}
proposers:
  - {node: n1, value: apple, at: 0ms}
network: {latency: {dist: constant, value: 2ms}}
expect: {decided: true}
""")
    (tmp_path / "my_node.py").write_text(USER_NODE)
    # A relative path, as a user types it: the template runs where paxsim cluster was started.
    template = (f"{sys.executable} my_node.py --config {{config}} --seed {{seed}} --nodes {{nodes}} "
                "--quorum {quorum} --learning {learning} --retry-max {retry_max}")
    trace, wd = tmp_path / "t.jsonl", tmp_path / "wd"
    proc = procs.start([sys.executable, "-m", "paxsim", "cluster", str(sc), "--workdir", str(wd), "--trace", str(trace),
                        "--node-cmd", template], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       cwd=str(tmp_path))
    out, err = proc.communicate(timeout=TIMEOUT)
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verdict:   OK" in res.stdout and "judged:" not in res.stdout  # paxsim node wrote its own trace

    # The file: valid against the published schema, and the scenario's values.
    schema = json.loads((ROOT / "paxsim" / "real" / "node_config.schema.json").read_text())
    for name, others in (("n1", ["n2", "n3"]), ("n2", ["n1", "n3"]), ("n3", ["n1", "n2"])):
        config = json.loads((wd / "config" / f"{name}.json").read_text())
        jsonschema.validate(config, schema)
        assert config["name"] == name and config["nodes"] == ["n1", "n2", "n3"] and config["seed"] == 5
        assert config["quorum"] == {"phase1": 3, "phase2": 1} and config["learning"] == "acceptors"
        assert config["retry"] == {"timeout": 30.0, "backoff": 1.5, "jitter": 0.25, "max": 400.0}
        assert config["data"] == str((wd / "data" / name).resolve()) and config["port"] == 0
        assert list(config["peers"]) == others
        assert all(url.startswith("http://127.0.0.1:") and url.endswith(f"/{name}/{peer}")
                   for peer, url in config["peers"].items())

    events = read_trace(trace)
    # Phase 1 needed all three promises (a majority would have been two).
    proposes = [ev for ev in events if ev["kind"] == "propose"]
    assert proposes and all(sorted(ev["quorum"]) == ["n1", "n2", "n3"] for ev in proposes)
    # Learning by acceptors: votes go, with their value, to nodes that did not propose.
    assert any(ev["kind"] == "send" and ev["msg"]["type"] == "accepted" and ev["msg"].get("value") == "apple"
               and ev["dst"] != "n1" for ev in events)
    end = events[-1]
    assert set(end["decided"]) == {"n1", "n2", "n3"}
    # stop: end: the run went on until every learn was acknowledged, and no longer than needed.
    assert end["t"] < 20000
    learns = {(ev["src"], ev["dst"]) for ev in events if ev["kind"] == "send" and ev["msg"]["type"] == "learn"}
    sent = {ev["id"]: ev for ev in events if ev["kind"] == "send"}
    acked = {(sent[ev["id"]]["dst"], sent[ev["id"]]["src"]) for ev in events
             if ev["kind"] == "deliver" and sent[ev["id"]]["msg"]["type"] == "learned"}
    assert learns and learns <= acked
    assert_nothing_left(wd)


def test_every_documented_placeholder_is_accepted_and_an_unknown_one_refused():
    check_template("node {name} {port} {peers} {data} {config} {seed} {nodes} {quorum} {learning} "
                   "{retry_timeout} {retry_backoff} {retry_jitter} {retry_max}")
    try:
        check_template("node --phase1 {phase1}")
    except ClusterError as exc:
        assert "{config}" in str(exc) and "phase1" in str(exc)
    else:
        raise AssertionError("an unknown placeholder was accepted")
    docs = (ROOT / "docs" / "http-protocol.md").read_text()
    for p in ("config", "seed", "nodes", "quorum", "learning", "retry_timeout", "retry_max"):
        assert f"`{{{p}}}`" in docs
