"""The relay's record when a node is killed while it answers: the reply it
had written before it died is sent before its crash, in the trace and in
what the checker derives from the wire.  In one process, without node
processes: a stand-in node n2 is "killed" (as `Cluster._fault` does it)
while it handles a prepare, then answers with its promise."""

from __future__ import annotations

import asyncio

import pytest

from aiohttp import ClientSession, web

from paxsim.check import check
from paxsim.real.cluster import Cluster
from paxsim.scenario import parse_scenario

SCENARIO = """
name: killed-while-answering
nodes: 3
duration: 1s
proposers: [{node: n1, value: a}]
network: {latency: {dist: constant, value: 1ms}}
"""


def test_a_reply_written_before_the_crash_is_sent_before_it(tmp_path):
    cluster = Cluster(parse_scenario(SCENARIO), 1, tmp_path, node_cmd="their-node {name}")
    relay, rec = cluster.relay, cluster.rec

    async def handle_prepare(request):
        body = await request.json()
        # The cluster kills n2 now: what n2 answers was written before it died.
        relay.ports["n2"] = None
        relay.crashed("n2")
        rec.emit("crash", node="n2")
        await asyncio.sleep(0.01)  # the relay reads the answer a little later
        return web.json_response({"replies": [{"type": "promise", "ballot": body["ballot"], "accepted": None}]})

    async def main():
        app = web.Application()
        app.router.add_post("/handle-prepare", handle_prepare)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        async with ClientSession() as session:
            relay.session = session
            await relay.start()
            try:
                relay.ports.update({"n1": 9, "n2": runner.addresses[0][1], "n3": 9})
                async with session.post(f"http://127.0.0.1:{relay.port}/n1/n2/handle-prepare",
                                        json={"from": "n1", "ballot": [1, "n1"]}) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["replies"][0]["type"] == "promise"
                cluster.end_t = rec.now()
            finally:
                await relay.stop()
                await runner.cleanup()

    asyncio.run(main())
    trace = cluster._merge({}, ["n1", "n3"])
    kinds = [(ev["kind"], ev.get("node") or ev.get("src")) for ev in trace[1:]]
    assert kinds.index(("promise", "n2")) < kinds.index(("crash", "n2")), kinds
    assert kinds.index(("send", "n2")) < kinds.index(("crash", "n2")), kinds
    verdict = check(trace)
    assert not [v for v in verdict.violations if v.kind == "fail-stop"], verdict.violations


def test_the_relay_refuses_a_body_whose_type_is_not_the_endpoints(tmp_path):
    """An accept posted to handle-prepare is a malformed message (paxsim node
    answers it with a 400): the relay must not carry it on as a prepare."""
    cluster = Cluster(parse_scenario(SCENARIO), 1, tmp_path, node_cmd="their-node {name}")
    relay, rec = cluster.relay, cluster.rec

    async def main():
        async with ClientSession() as session:
            relay.session = session
            await relay.start()
            try:
                async with session.post(f"http://127.0.0.1:{relay.port}/n1/n2/handle-prepare",
                                        json={"from": "n1", "type": "accept", "ballot": [1, "n1"],
                                              "value": "a"}) as resp:
                    return resp.status, await resp.json()
            finally:
                await relay.stop()

    status, body = asyncio.run(main())
    assert status == 400 and "type" in body["error"], body
    assert [ev for ev in rec.events if ev["kind"] == "send"] == []


def test_a_nodes_own_record_from_the_instant_of_its_kill_is_before_its_crash(tmp_path):
    """The cluster records the crash, then sends SIGKILL: a node busy on
    another core can still write a vote to its trace in between.  It was
    alive when it did, so the merged trace puts that vote before the crash."""
    import json

    cluster = Cluster(parse_scenario(SCENARIO), 1, tmp_path)
    rec = cluster.rec
    rec.t0 = 1_000.0
    rec.emit("crash", t=50.0, node="n2")
    rec.emit("restart", t=80.0, node="n2", storage="durable")
    cluster.end_t = 100.0
    data = tmp_path / "data" / "n2"
    data.mkdir(parents=True)
    lines = [{"kind": "start", "t": 990.0, "node": "n2"},
             {"kind": "vote", "t": 1_050.0004, "node": "n2", "ballot": [1, "n1"], "value": "a"},  # killed meanwhile
             {"kind": "start", "t": 1_079.0, "node": "n2"},
             {"kind": "promise", "t": 1_090.0, "node": "n2", "ballot": [2, "n3"]}]  # its next life
    (data / "trace.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    trace = cluster._merge({}, ["n1", "n2", "n3"])
    kinds = [(ev["kind"], ev.get("node")) for ev in trace[1:-1]]
    assert kinds == [("vote", "n2"), ("crash", "n2"), ("restart", "n2"), ("promise", "n2")], kinds
    assert not [v for v in check(trace).violations if v.kind == "fail-stop"]


def test_a_nodes_past_lives_are_its_own_and_in_order(tmp_path):
    """Volatile restarts keep each life's trace as traces/NAME.<life>.jsonl:
    node n1 must not read those of a node named n1.x, and life 10 comes
    after life 9."""
    import json

    cluster = Cluster(parse_scenario(SCENARIO.replace("nodes: 3", "nodes: [n1, n1.x, n2]")), 1, tmp_path)
    (tmp_path / "traces").mkdir()
    for node, life in [("n1", 9), ("n1", 10), ("n1.x", 1)]:
        (tmp_path / "traces" / f"{node}.{life}.jsonl").write_text(
            json.dumps({"kind": "promise", "t": float(life), "node": node, "ballot": [life, "n2"]}) + "\n")
    assert [(ev["node"], ev["ballot"][0]) for ev in cluster._node_events("n1")] == [("n1", 9), ("n1", 10)]


@pytest.mark.parametrize("line, field", [
    ('{"kind": "promise", "t": 1010.0, "node": "n1"}', "ballot"),
    ('{"kind": "vote", "t": 1010.0, "node": "n1", "ballot": [1, "n1"]}', "value"),
    ('{"kind": "vote", "t": 1010.0, "node": "n1", "ballot": "1,n1", "value": "a"}', "ballot"),
    ('{"kind": "decide", "t": 1010.0, "node": "n1", "value": [1]}', "value"),
    ('{"kind": "propose", "t": 1010.0, "node": "n1", "ballot": [1, "n1"], "value": "a", "quorum": "n1"}', "quorum"),
    ('{"kind": "send", "t": 1010.0, "node": "n1", "id": "x", "src": "n1", "dst": "n1", "msg": {"type": "nope"}}',
     "msg"),
])
def test_a_users_trace_line_that_is_not_an_event_is_one_line_naming_it(tmp_path, line, field):
    """docs/http-protocol.md invites a --node-cmd node to write its own
    trace: a line of the documented kinds without their fields is bad input
    (file, line, field; exit 2 from the command), not a traceback."""
    from paxsim.real.cluster import ClusterError

    cluster = Cluster(parse_scenario(SCENARIO), 1, tmp_path, node_cmd="their-node {name}")
    cluster.rec.t0 = 1_000.0
    cluster.end_t = 100.0
    data = tmp_path / "data" / "n1"
    data.mkdir(parents=True)
    good = '{"kind": "promise", "t": 1005.0, "node": "n1", "ballot": [1, "n1"]}'
    (data / "trace.jsonl").write_text(good + "\n" + line + "\n")
    with pytest.raises(ClusterError) as info:
        cluster._merge({}, ["n1", "n2", "n3"])
    message = str(info.value)
    assert message.startswith(f"{data / 'trace.jsonl'}:2: {field}") and "\n" not in message, message
