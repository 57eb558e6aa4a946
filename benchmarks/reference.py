"""paxsim's whole single-decree protocol hand-written on raw SimPy: what a
user would write by hand to do exactly paxsim's job, without paxsim.

    python benchmarks/reference.py --seeds 0:3000
    python benchmarks/reference.py --nodes 51 --proposers 5 --seeds 0:300

Same protocol as paxsim's roles (ballots (round, node name), majority
quorums, nacks, adopt the highest-ballot reported value, randomized
exponential backoff, learn re-sent until acknowledged, a decided node
answering prepare and accept with learn), the same network model (per
message: a loss coin when loss > 0, then a latency draw, from the
"SEED:network" stream; timers from "SEED:timers"), delivered by SimPy
timeouts with callbacks, and it runs until the event queue is empty (or
`duration`), as paxsim does.  So on the same seed it sends the same messages
as `paxsim run`.  No trace, no checker, no scenario files, no faults: the
floor paxsim's full run is measured against (benchmarks/reference_min.py is
the bare protocol that stops at the first full decision).
"""

from __future__ import annotations

import math
import random
import sys
from functools import partial

import simpy


def run(nodes: int, proposals: list[tuple[int, str, float]], seed: int, *, median: float = 5.0,
        sigma: float = 0.5, loss: float = 0.0, timeout: float = 50.0, backoff: float = 2.0,
        jitter: float = 0.5, cap: float = 1000.0, duration: float = 2000.0) -> dict:
    """proposals: (node index, value, start time ms).  Returns counts and decisions."""
    env = simpy.Environment()
    net = random.Random(f"{seed}:network")
    timers = random.Random(f"{seed}:timers")
    mu = math.log(median)
    q = nodes // 2 + 1
    everyone = range(nodes)
    names = [f"n{i + 1}" for i in range(nodes)]  # ballots order by node name, as paxsim's do
    latency = partial(net.lognormvariate, mu, sigma)
    coin = net.random
    promised: list = [None] * nodes
    accepted: list = [None] * nodes
    decided: list = [None] * nodes
    # proposer state, per node
    rnd = [0] * nodes
    seen = [0] * nodes
    ballot: list = [None] * nodes
    phase = ["idle"] * nodes
    value: list = [None] * nodes
    proposal: list = [None] * nodes
    promises: list = [None] * nodes
    accepts: list = [None] * nodes
    attempt = [0] * nodes
    announcing: list = [None] * nodes
    acked: list = [None] * nodes
    announce_attempt = [0] * nodes
    gen = {}
    sent = 0

    def send(src, dst, msg):
        nonlocal sent
        sent += 1
        if src == dst:
            env.timeout(0).callbacks.append(partial(deliver, src, dst, msg))
            return
        lost = loss > 0.0 and coin() < loss  # paxsim draws the coin only on a lossy link
        delay = latency()  # and a latency for every message, lost or not
        if not lost:
            env.timeout(delay).callbacks.append(partial(deliver, src, dst, msg))

    def window(k):
        base = min(timeout * backoff ** k, cap)
        return base * (1 - jitter), base * (1 + jitter)

    def set_timer(node, name, k):
        lo, hi = window(k)
        g = gen[node, name] = gen.get((node, name), 0) + 1
        env.timeout(lo if hi <= lo else timers.uniform(lo, hi)).callbacks.append(partial(fire, node, name, g))

    def fire(node, name, g, _event):
        if gen.get((node, name)) != g:
            return
        if name == "retry" and phase[node] in ("prepare", "accept", "backoff"):
            new_ballot(node)
        elif name == "learn" and announcing[node] is not None and len(acked[node]) < nodes:
            send_learns(node)

    def new_ballot(p):
        rnd[p] = max(rnd[p], seen[p]) + 1
        ballot[p] = (rnd[p], names[p])
        phase[p] = "prepare"
        promises[p] = {}
        accepts[p] = set()
        for a in everyone:
            send(p, a, ("prepare", ballot[p]))
        set_timer(p, "retry", attempt[p])
        attempt[p] += 1

    def announce(p, v):
        if announcing[p] is not None:
            return
        phase[p] = "done"
        announcing[p] = v
        acked[p] = set()
        gen[p, "retry"] = gen.get((p, "retry"), 0) + 1
        send_learns(p)

    def send_learns(p):
        for n in everyone:
            if n not in acked[p]:
                send(p, n, ("learn", announcing[p]))
        set_timer(p, "learn", announce_attempt[p])
        announce_attempt[p] += 1

    def deliver(src, dst, msg, _event):
        kind = msg[0]
        if kind == "prepare":
            b = msg[1]
            if promised[dst] is not None and not b > promised[dst]:
                send(dst, src, ("nack", b, promised[dst]))
            else:
                promised[dst] = b
                send(dst, src, ("promise", b, accepted[dst]))
            if decided[dst] is not None and src != dst:
                send(dst, src, ("learn", decided[dst]))
        elif kind == "accept":
            b, v = msg[1], msg[2]
            if promised[dst] is not None and b < promised[dst]:
                send(dst, src, ("nack", b, promised[dst]))
            else:
                promised[dst] = b
                accepted[dst] = (b, v)
                send(dst, src, ("accepted", b))
            if decided[dst] is not None and src != dst:
                send(dst, src, ("learn", decided[dst]))
        elif kind == "promise":
            if phase[dst] == "prepare" and msg[1] == ballot[dst]:
                promises[dst][src] = msg[2]
                if len(promises[dst]) >= q:
                    reported = [acc for acc in promises[dst].values() if acc is not None]
                    proposal[dst] = max(reported)[1] if reported else value[dst]
                    phase[dst] = "accept"
                    for a in everyone:
                        send(dst, a, ("accept", ballot[dst], proposal[dst]))
        elif kind == "accepted":
            if phase[dst] == "accept" and msg[1] == ballot[dst]:
                accepts[dst].add(src)
                if len(accepts[dst]) >= q:
                    announce(dst, proposal[dst])
        elif kind == "nack":
            seen[dst] = max(seen[dst], msg[2][0])
            if phase[dst] in ("prepare", "accept") and msg[1] == ballot[dst] and msg[2] > ballot[dst]:
                phase[dst] = "backoff"
                set_timer(dst, "retry", attempt[dst])
        elif kind == "learn":
            first = decided[dst] is None
            if first:
                decided[dst] = msg[1]
            send(dst, src, ("learned", decided[dst]))  # the acknowledgement leaves first, as in paxsim
            if first and value[dst] is not None:
                announce(dst, msg[1])
        elif kind == "learned":
            if announcing[dst] is not None:
                acked[dst].add(src)
                if len(acked[dst]) == nodes:
                    gen[dst, "learn"] = gen.get((dst, "learn"), 0) + 1

    def start(p, v):
        value[p] = v
        if decided[p] is not None:
            announce(p, decided[p])
        else:
            new_ballot(p)

    for p, v, at in proposals:
        env.timeout(at).callbacks.append(lambda _e, p=p, v=v: start(p, v))
    env.run(until=duration)
    values = {v for v in decided if v is not None}
    assert len(values) <= 1, f"seed {seed}: nodes decided different values {values}"
    return {"sent": sent, "decided": decided}


def bench_run(nodes: int, proposals: list[tuple[int, str, float]], seed: int, *, loss: float = 0.05) -> dict:
    """`run` with the benchmark's timing: 1 ms median latency, retries after 10 to 20 ms."""
    return run(nodes, proposals, seed, median=1.0, sigma=0.5, loss=loss, timeout=15.0, backoff=1.0,
               jitter=1 / 3, duration=2000.0)


if __name__ == "__main__":
    from reference_min import main

    sys.exit(main(run=bench_run, doc=__doc__))
