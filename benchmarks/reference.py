"""A minimal single-decree Paxos on raw SimPy: what a user would write by hand
instead of using paxsim.

Same protocol (ballots (round, node), majority quorums, adopt the
highest-ballot reported value, randomized exponential backoff, learn re-sent
until acknowledged) and the same network model (latency distribution per
message, loss), delivered by SimPy timeouts with callbacks.  No trace, no
checker, no scenario files, no faults: the floor paxsim is measured against.
"""

from __future__ import annotations

import math
import random

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
    sent = [0]

    def send(src, dst, msg):
        sent[0] += 1
        if src == dst:
            env.timeout(0).callbacks.append(lambda _e: deliver(src, dst, msg))
            return
        lost = net.random() < loss
        delay = net.lognormvariate(mu, sigma)
        if not lost:
            env.timeout(delay).callbacks.append(lambda _e: deliver(src, dst, msg))

    def window(k):
        base = min(timeout * backoff ** k, cap)
        return base * (1 - jitter), base * (1 + jitter)

    def set_timer(node, name, k):
        lo, hi = window(k)
        g = gen[node, name] = gen.get((node, name), 0) + 1
        env.timeout(timers.uniform(lo, hi)).callbacks.append(lambda _e: fire(node, name, g))

    def fire(node, name, g):
        if gen.get((node, name)) != g:
            return
        if name == "retry" and phase[node] in ("prepare", "accept", "backoff"):
            new_ballot(node)
        elif name == "learn" and announcing[node] is not None and len(acked[node]) < nodes:
            send_learns(node)

    def new_ballot(p):
        rnd[p] = max(rnd[p], seen[p]) + 1
        ballot[p] = (rnd[p], p)
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

    def deliver(src, dst, msg):
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
            if decided[dst] is None:
                decided[dst] = msg[1]
                if value[dst] is not None:
                    announce(dst, msg[1])
            send(dst, src, ("learned", decided[dst]))
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
    return {"sent": sent[0], "decided": decided}
