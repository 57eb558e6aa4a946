"""Adversarial review of the Multi-Paxos key-value store in the simulator:
false violations of the correct protocol, the honesty of client histories,
and the commands on KV scenarios."""

import json

from paxsim.cli import main
from paxsim.trace import read_trace

SLOW_DISK = """
name: kv-disk
description: A slow disk under loss.
duration: 400ms
nodes: 3
protocol: {kind: multi-paxos, heartbeat: 10ms, election: [40ms, 80ms], write_latency: 3ms}
workload: {clients: 3, keys: 2, timeout: [30ms, 60ms], attempts: 8}
network:
  latency: {dist: uniform, low: 1ms, high: 4ms}
  loss: 0.2
"""


def test_a_slow_disk_keeps_a_replicas_writes_and_executions_in_order(runner, write, tmp_path):
    # A catch-up `log` makes one handler persist several decided slots; a `decide`
    # arriving meanwhile had its write overtake them, so the slot after them was
    # recorded as executed before them: a false order violation of the correct protocol.
    path = write(SLOW_DISK)
    trace = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(path), "--seed", "0", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "log:       safe" in result.output
    executed: dict[str, list[int]] = {}
    for ev in read_trace(trace):
        if ev.get("kind") == "restored":
            executed[ev["node"]] = list(range(ev["executed"]))
        elif ev.get("kind") == "executed":
            executed[ev["node"]].append(ev["slot"])
    assert executed and all(slots == list(range(len(slots))) for slots in executed.values())
    assert sum(len(s) for s in executed.values()) > 30
