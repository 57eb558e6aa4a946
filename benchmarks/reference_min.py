"""The least a careful person would write by hand: single-decree Paxos on raw
SimPy, stopping as soon as every node has learned.

    python benchmarks/reference_min.py --seeds 0:3000
    python benchmarks/reference_min.py --nodes 51 --proposers 5 --seeds 0:300

Written independently of paxsim (it imports nothing from it).  The network
and timing model are the benchmark's scenario: every message between two
nodes is lost with probability `loss`, else delivered after a lognormal
latency; a node's message to itself arrives at once; a proposer retries
with a new ballot after a delay drawn uniformly from `retry` ms.

The protocol is the bare one: ballots (round, node id); acceptors promise
only higher ballots and vote at ballots at least their promise, and ignore
the rest (no nacks: a proposer learns of higher rounds from the prepares it
receives as an acceptor, and retries on its timer); a proposer adopts the
highest-ballot value reported in a quorum of promises; the proposer that
sees a quorum of votes tells everyone `learn`, and re-sends it on its timer
to the nodes that have not acknowledged.  The run ends once every node has
learned (or at `duration`).  No trace, no checker, no faults, no storage.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from functools import partial

import simpy

PREPARE, PROMISE, ACCEPT, VOTED, LEARN, ACK = range(6)


def run(nodes: int, proposals: list[tuple[int, str, float]], seed: int, *, median: float = 1.0,
        sigma: float = 0.5, loss: float = 0.05, retry: tuple[float, float] = (10.0, 20.0),
        duration: float = 2000.0) -> dict:
    """proposals: (node index, value, start time in ms).  Returns the messages
    sent and what each node learned (None: not learned by `duration`)."""
    env = simpy.Environment()
    net = random.Random(f"{seed}:network")
    timer_rng = random.Random(f"{seed}:timers")
    coin = net.random
    latency = partial(net.lognormvariate, math.log(median), sigma)
    retry_lo, retry_hi = retry
    majority = nodes // 2 + 1
    everyone = range(nodes)

    promised = [(0, -1)] * nodes   # acceptor: highest ballot promised
    accepted = [None] * nodes      # acceptor: (ballot, value) of its last vote
    learned = [None] * nodes       # learner
    ballot = [(0, -1)] * nodes     # proposer: current ballot
    phase = [0] * nodes            # proposer: 0 idle, 1 preparing, 2 accepting, 3 announcing
    own = [None] * nodes           # proposer: the value it was asked to propose
    chosen = [None] * nodes        # proposer: the value of its phase 2
    replies: list = [None] * nodes  # proposer: acceptors that answered this phase (or acked the learn)
    best: list = [None] * nodes    # proposer: highest (ballot, value) reported in promises
    timer_gen = [0] * nodes
    done = env.event()
    remaining = nodes
    sent = 0

    def send(src, dst, msg):
        nonlocal sent
        sent += 1
        if src == dst:
            delay = 0.0
        elif coin() < loss:
            return
        else:
            delay = latency()
        env.timeout(delay).callbacks.append(partial(deliver, dst, msg))

    def broadcast(src, msg):
        for dst in everyone:
            send(src, dst, msg)

    def arm(p):
        timer_gen[p] += 1
        env.timeout(timer_rng.uniform(retry_lo, retry_hi)).callbacks.append(partial(fire, p, timer_gen[p]))

    def fire(p, gen, _event):
        if gen != timer_gen[p]:
            return
        if phase[p] == 3:
            learn = (LEARN, p, chosen[p])
            for dst in everyone:
                if dst not in replies[p]:
                    send(p, dst, learn)
            arm(p)
        elif learned[p] is None:
            new_ballot(p)

    def new_ballot(p):
        b = ballot[p] = (max(ballot[p][0], promised[p][0]) + 1, p)
        phase[p] = 1
        replies[p] = set()
        best[p] = None
        broadcast(p, (PREPARE, p, b))
        arm(p)

    def deliver(dst, msg, _event):
        kind = msg[0]
        src = msg[1]
        if kind == PREPARE:
            b = msg[2]
            if b > promised[dst]:
                promised[dst] = b
                send(dst, src, (PROMISE, dst, b, accepted[dst]))
        elif kind == ACCEPT:
            b = msg[2]
            if b >= promised[dst]:
                promised[dst] = b
                accepted[dst] = (b, msg[3])
                send(dst, src, (VOTED, dst, b))
        elif kind == PROMISE:
            if phase[dst] == 1 and msg[2] == ballot[dst] and src not in replies[dst]:
                vote = msg[3]
                if vote is not None and (best[dst] is None or vote[0] > best[dst][0]):
                    best[dst] = vote
                replies[dst].add(src)
                if len(replies[dst]) == majority:
                    chosen[dst] = own[dst] if best[dst] is None else best[dst][1]
                    phase[dst] = 2
                    replies[dst] = set()
                    broadcast(dst, (ACCEPT, dst, ballot[dst], chosen[dst]))
        elif kind == VOTED:
            if phase[dst] == 2 and msg[2] == ballot[dst] and src not in replies[dst]:
                replies[dst].add(src)
                if len(replies[dst]) == majority:
                    phase[dst] = 3
                    replies[dst] = set()
                    broadcast(dst, (LEARN, dst, chosen[dst]))
                    arm(dst)
        elif kind == LEARN:
            if learned[dst] is None:
                nonlocal remaining
                learned[dst] = msg[2]
                remaining -= 1
                if remaining == 0:
                    done.succeed()
            send(dst, src, (ACK, dst))
        elif kind == ACK:
            if phase[dst] == 3:
                replies[dst].add(src)

    def start(p, value, _event):
        own[p] = value
        if learned[p] is None:
            new_ballot(p)

    def give_up(_event):
        if not done.triggered:
            done.succeed()

    for p, value, at in proposals:
        env.timeout(at).callbacks.append(partial(start, p, value))
    env.timeout(duration).callbacks.append(give_up)
    env.run(until=done)
    values = {v for v in learned if v is not None}
    assert len(values) <= 1, f"seed {seed}: nodes learned different values {values}"
    return {"sent": sent, "decided": learned}


def proposals_for(nodes: int, proposers: int) -> list[tuple[int, str, float]]:
    """The benchmark's proposers: spread over the nodes, starting 2 ms apart."""
    step = max(1, nodes // proposers)
    return [(i * step, f"v{i}", 2.0 * (i % 5)) for i in range(proposers)]


def parse_seeds(text: str) -> range:
    a, _, b = text.partition(":")
    return range(int(a), int(b)) if b else range(int(a))


def main(argv: list[str] | None = None, run=run, doc: str = __doc__) -> None:
    """The command line of both references: run SEEDS, print rate and messages."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--proposers", type=int, default=2)
    ap.add_argument("--seeds", default="0:3000", help="A:B (A up to B-1) or N (0 up to N-1)")
    ap.add_argument("--loss", type=float, default=0.05)
    opts = ap.parse_args(argv)
    seeds = parse_seeds(opts.seeds)
    props = proposals_for(opts.nodes, opts.proposers)
    sent = undecided = 0
    t = time.perf_counter()
    for seed in seeds:
        r = run(opts.nodes, props, seed, loss=opts.loss)
        sent += r["sent"]
        undecided += None in r["decided"]
    dt = time.perf_counter() - t
    n = len(seeds)
    print(f"{n} runs in {dt:.3f} s: {n / dt:.0f} runs/s, {sent / n:.1f} messages/run, "
          f"{undecided} with a node undecided, agreement held")


if __name__ == "__main__":
    sys.exit(main())
