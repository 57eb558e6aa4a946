"""Common random numbers: a runtime mode whose draws are keyed to what they
are for, not to the order in which they happen to be made.

The default mode draws every message's fate from one network stream in send
order, so a variant that sends one more message early shifts every draw
after it.  Here each draw comes from its own small stream, seeded by the
seed and a key naming its purpose:

* a message: its link, its type, its ballot and how many such messages came
  before on that link (`(src, dst, type, ballot, n)`, the key `paxsim
  shrink` scripts use), so "n1's 2nd accept at ballot (3, n1) to n2" meets
  the same loss coin and latency in every variant that sends it;
* a timer: its node, its name and how many times that node set it before;
* faults: a random fault profile is drawn up front from its own stream
  (paxsim/sim/faults.py), so it is the same for every variant already.

`paxsim compare` runs every variant in this mode.  The default mode of
`paxsim run` and `sweep` is untouched (its traces stay byte-identical); a
run in this mode is just as deterministic, but draws different numbers.

A run here also records each message's *fate* by key (delivered after a
delay, or dropped and why), so two variants' schedules can be compared:
`same_fates(a, b)` is the share of message keys with the same fate in both.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any

from ..scenario import Scenario
from .latency import sampler
from .runtime import Run, Simulation, collector_paused


class CommonRandomSimulation(Simulation):
    """A Simulation whose message and timer draws are keyed (see the module)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        super().__init__(scenario, seed)
        self.special = True  # every send between nodes goes through _send_keyed
        self.keyed = False  # no script: _do_set_timer below keys timers itself
        config = self.plan.network
        self.latencies = {(link.src, link.dst): link.latency for link in config.links if link.latency is not None}
        self.default_latency = config.latency
        self.timer_counts: dict[tuple[str, str], int] = {}
        self.message_fates: dict[tuple, Any] = {}  # key -> delay (delivered), or the drop reason

    def _stream(self, *key) -> random.Random:
        return random.Random(":".join([str(self.seed), *map(str, key)]))

    def _send_keyed(self, mid: int, src: str, dst: str, msg) -> None:
        ballot = getattr(msg, "ballot", None)
        base = (src, dst, msg.type, tuple(ballot) if ballot is not None else None)
        n = self.key_counts[base] = self.key_counts.get(base, 0) + 1
        key = base + (n,)
        scripted = self.script_messages.get(key)
        if scripted is not None:  # a script (paxsim shrink's output) fixes this message's fate
            fate, copy = scripted
            self.message_fates[key] = "loss" if fate is None else fate
            self._route_fates(mid, src, dst, msg, fate, copy)
            return
        rng = self._stream("msg", *key)
        net = self.network
        link = net.links.get((src, dst)) or net.default
        latency = sampler(self.latencies.get((src, dst), self.default_latency), rng)
        share = net.delay_share
        # A fixed sequence of draws per message, whatever the link's settings say.
        lost = rng.random() < link.loss
        dup = rng.random() < link.duplicate
        delay = latency()
        if share and rng.random() < share:
            delay += rng.uniform(0.0, net.delay_max)
        reason = net.judge(src, dst) if net.faulty else None
        self.message_fates[key] = reason or ("loss" if lost else round(delay, 9))
        self._route(mid, src, dst, msg, lost, delay)
        if dup:
            copy_lost = rng.random() < link.loss
            copy_delay = latency()
            if share and rng.random() < share:
                copy_delay += rng.uniform(0.0, net.delay_max)
            copy_id = self.next_id
            self.next_id += 1
            self.duplicated += 1
            self.emit("duplicate", id=mid, copy=copy_id)
            self._route(copy_id, src, dst, msg, copy_lost, copy_delay)

    def _do_set_timer(self, host, effect) -> None:
        base = (host.name, effect.name)
        n = self.timer_counts[base] = self.timer_counts.get(base, 0) + 1
        scripted = self.script_timers.get(base + (n,))
        if scripted is not None:
            delay = scripted
        elif effect.hi <= effect.lo:
            delay = effect.lo
        else:
            delay = self._stream("timer", host.name, effect.name, n).uniform(effect.lo, effect.hi)
        if self.clocks is not None:
            delay = self._on_local_clock(host, delay)
        self.timer_gen += 1
        gen = host.timers[effect.name] = self.timer_gen
        self.env.timeout(delay).callbacks.append(partial(self._fire, host, effect.name, gen))


def simulate_crn(scenario: Scenario, seed: int | None = None) -> Run:
    """Run `scenario` in common-random-numbers mode; `Run.message_fates` holds the fates by key."""
    seed = scenario.seed if seed is None else seed
    with collector_paused():
        sim = CommonRandomSimulation(scenario, seed)
        try:
            sim.run()
            run = Run(scenario, seed, sim.events, sim.observed)
            run.message_fates = sim.message_fates
        finally:
            sim.release()
    return run


def same_fates(a: dict, b: dict) -> float:
    """The share of message keys (sent in either run) with the same fate in both."""
    keys = a.keys() | b.keys()
    if not keys:
        return 1.0
    return sum(1 for k in keys if k in a and k in b and a[k] == b[k]) / len(keys)
