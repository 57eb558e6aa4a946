"""`paxsim node`: one real node over HTTP on 127.0.0.1, driven with plain
HTTP requests.  Every process is killed by the fixture's finalizer."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest

from .real_helpers import Processes, env, http, start_node, wait_for


@pytest.fixture
def procs():
    p = Processes()
    yield p
    p.end()


@pytest.fixture(scope="module")
def peer_node(tmp_path_factory):
    """One node n2 whose peer n1 is unreachable, shared by the request tests."""
    p = Processes()
    try:
        yield start_node(p, "n2", tmp_path_factory.mktemp("n2"), "--peers", "n1=http://127.0.0.1:9/x")[1]
    finally:
        p.end()


def test_http_runtime_and_simulator_drive_the_same_role_classes():
    import paxsim.real.node as real
    import paxsim.sim.runtime as sim
    from paxsim.protocols import single

    assert real.Node is sim.Node is single.Node
    assert real.NodeConfig is sim.NodeConfig is single.NodeConfig


def test_prepare_decides_and_sigkill_loses_nothing(procs, tmp_path):
    data = tmp_path / "n1"
    proc, url = start_node(procs, "n1", data)
    status, body = http("POST", url + "/prepare", {"value": "apple"})
    assert status == 200, body
    assert body["decided"] == "apple" and body["ballot"] == [1, "n1"] and body["ms"] >= 0
    _, st = http("GET", url + "/status")
    assert st["promised"] == [1, "n1"]
    assert st["accepted"] == {"ballot": [1, "n1"], "value": "apple"}
    assert st["decided"] == "apple"

    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc2, url2 = start_node(procs, "n1", data)
    _, st2 = http("GET", url2 + "/status")
    assert (st2["promised"], st2["accepted"], st2["decided"]) == (st["promised"], st["accepted"], "apple")
    # A new proposal learns the old decision; the round keeps increasing.
    status, body = http("POST", url2 + "/prepare", {"value": "pear"})
    assert status == 200 and body["decided"] == "apple"

    kinds = [json.loads(line)["kind"] for line in (data / "trace.jsonl").read_text().splitlines()]
    for kind in ("promise", "vote", "propose", "decide", "send", "deliver"):
        assert kind in kinds


def test_peer_message_gets_its_reply_in_the_response(peer_node):
    url = peer_node
    status, body = http("POST", url + "/handle-prepare", {"from": "n1", "type": "prepare", "ballot": [3, "n1"]})
    assert status == 200
    assert body == {"replies": [{"type": "promise", "ballot": [3, "n1"], "accepted": None}]}
    status, body = http("POST", url + "/handle-prepare", {"from": "n1", "ballot": [2, "n1"]})
    assert body == {"replies": [{"type": "nack", "ballot": [2, "n1"], "promised": [3, "n1"]}]}
    status, body = http("POST", url + "/handle-accept", {"from": "n1", "ballot": [3, "n1"], "value": "x"})
    assert body == {"replies": [{"type": "accepted", "ballot": [3, "n1"]}]}


@pytest.mark.parametrize("path, raw, needle", [
    ("/handle-prepare", b"{not json", "not JSON"),
    ("/handle-frobnicate", b'{"from": "n1"}', "unknown message type 'frobnicate'"),
    ("/handle-prepare", b'{"from": "n1", "ballot": [1]}', "ballot"),
    ("/handle-prepare", b'{"from": "n1", "ballot": ["1", "n1"]}', "ballot"),
    ("/handle-prepare", b'{"from": "n9", "ballot": [1, "n9"]}', "from"),
    ("/handle-accept", b'{"from": "n1", "ballot": [1, "n1"]}', "value: missing"),
    ("/handle-prepare", b'[1, 2]', "JSON object"),
    ("/prepare", b'{"valu": 1}', "value"),
    ("/prepare", b'{"value": [1]}', "value"),
    ("/prepare", b'{"value": "a", "timeout": -1}', "timeout"),
    # Python's JSON reader takes these: a proposal that never times out, or times out at once
    ("/prepare", b'{"value": "a", "timeout": NaN}', "timeout"),
    ("/prepare", b'{"value": "a", "timeout": Infinity}', "timeout"),
    ("/prepare", b'{"value": "a", "timeout": 1e400}', "timeout"),
    ("/prepare", b'{"value": "a", "timeout": 1' + b'0' * 400 + b'}', "timeout"),
    # a node's messages to itself never come over HTTP
    ("/handle-prepare", b'{"from": "n2", "ballot": [7, "n2"]}', "from"),
])
def test_bad_requests_get_a_400_and_the_node_lives_on(peer_node, path, raw, needle):
    url = peer_node
    _, before = http("GET", url + "/status")
    status, body = http("POST", url + path, raw=raw)
    assert status == 400
    assert needle in body["error"] and "\n" not in body["error"]
    status, after = http("GET", url + "/status")
    assert status == 200 and after == before


def test_unreachable_peers_are_lost_messages_and_prepare_times_out(procs, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    peers = f"n2=http://127.0.0.1:{dead},n3=http://127.0.0.1:{dead}"
    proc, url = start_node(procs, "n1", tmp_path / "n1", "--peers", peers, "--retry-timeout", "20")
    status, body = http("POST", url + "/prepare", {"value": "apple", "timeout": 300})
    assert status == 504 and "no decision within 300 ms" in body["error"]
    status, st = http("GET", url + "/status")
    assert status == 200 and st["proposing"]["value"] == "apple" and st["decided"] is None
    # Stopped now, with the proposal still going on: the /prepare that gave up waiting left nothing
    # behind (it printed asyncio's "Future exception was never retrieved" and a traceback on stderr).
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) in (0, 130)
    err = proc.stderr.read().decode()
    assert "never retrieved" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_stopping_answers_an_open_prepare_with_503(procs, tmp_path, sig):
    # A client waiting on /prepare when the node is told to stop gets an
    # answer that says so, not a connection closed without one.
    import threading
    import time

    with socket.socket() as s:  # a port nobody listens on: no decision can come
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    proc, url = start_node(procs, "n1", tmp_path / "n1", "--peers", f"n2=http://127.0.0.1:{dead}")
    got: list = []
    client = threading.Thread(target=lambda: got.append(http("POST", url + "/prepare",
                                                                 {"value": "apple", "timeout": 20_000})))
    client.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait until the proposal is under way
        if http("GET", url + "/status")[1]["proposing"] is not None:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    client.join(30)
    assert not client.is_alive()
    assert proc.wait(30) in (0, 130)
    status, body = got[0]
    assert status == 503 and "stopping before a decision" in body["error"], (status, body)


def _node_fails(runner, *args) -> tuple[int, str]:
    from paxsim.cli import main

    result = runner.invoke(main, ["node", "--name", "n1", *args])
    return result.exit_code, result.stderr


def test_port_in_use_bad_data_dir_and_bad_peers_exit_2(runner, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, err = _node_fails(runner, "--port", str(port), "--data", str(tmp_path / "d"))
    assert code == 2 and err.count("\n") == 1 and f"--port {port}" in err and "in use" in err

    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = _node_fails(runner, "--data", str(blocker / "sub"))
    assert code == 2 and err.count("\n") == 1 and "data directory is not writable" in err

    code, err = _node_fails(runner, "--data", str(tmp_path / "d"), "--peers", "n2=localhost:80")
    assert code == 2 and err.count("\n") == 1 and "--peers: 'n2=localhost:80'" in err

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "state.json").write_text("{nope")
    code, err = _node_fails(runner, "--data", str(bad))
    assert code == 2 and err.count("\n") == 1 and "state.json: not a node state file" in err


@pytest.mark.parametrize("state", [
    '{"learner": [1]}',  # a decision that is not a value
    '{"acceptor": [[1, "n1"], [[1, "n1"], {"x": 1}]]}',  # a vote for a value that is not one
    '{"acceptor": [[1, "n1"], [[1, "n1"], 1.5]]}',
    '{"acceptor": [[-5, "n1"], null]}',  # a ballot below zero
    '{"acceptor": [[true, "n1"], null]}',
    '{"proposer": 1.9}',  # a round that is not an integer
    '{"proposer": true}',
])
def test_a_state_file_with_nonsense_in_it_is_refused(procs, tmp_path, state):
    """A node must not start from stored values it would then send, and its
    peers refuse, in every promise."""
    (tmp_path / "state.json").write_text(state)
    proc = procs.start([sys.executable, "-m", "paxsim", "node", "--name", "n1", "--data", str(tmp_path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # READY (a wrong start: the finalizer kills it) or nothing (it exited)
    assert not first.startswith("READY"), f"the node started from {state}"
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 2 and err.count("\n") == 1 and "state.json: not a node state file" in err, err


def test_check_of_a_nodes_own_log_says_what_it_is(procs, tmp_path):
    # 'paxsim check DATA/trace.jsonl' said only "expected a 'header' event first, found 'start'"
    data = tmp_path / "n1"
    start_node(procs, "n1", data)
    log = data / "trace.jsonl"
    wait_for(lambda: log.exists() and log.read_text().strip(), what="the node's log")
    proc = subprocess.run([sys.executable, "-m", "paxsim", "check", str(log)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"{log}:1: this is a paxsim node's own event log (DATA/trace.jsonl), not a run's trace: "
                           "'paxsim cluster SCENARIO --trace FILE' merges every node's log into one trace that "
                           "paxsim check reads\n")
