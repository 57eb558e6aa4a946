"""Hosts that carry out the roles' effects on a SimPy environment.

Messages are delivered by a SimPy event with a callback (no process per
message), timers likewise; a timer is identified by a generation number, so
re-arming, cancelling or crashing simply makes the old timeout a no-op.

The hot paths (a message's delivery, a timer) put a `_Due` straight on the
environment's queue, as `Environment.schedule` would (same time, priority
and event id, so the order is the one `env.timeout` gave): a `Timeout`
costs three Python calls more per message.  A message's delivery between
nodes is a bare `(id, src, dst, msg)` tuple there instead, which the simulation's own
event loop (`Simulation._run_until`) carries out itself (as `_deliver`
does): no `_Due`, list, `partial` or call per message.  Such a queue is run
only by that loop, never by `Environment.step`.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from functools import lru_cache, partial
from heapq import heappop, heappush
from typing import Any

from simpy.core import StopSimulation
from simpy.events import NORMAL

from .._version import __version__
from ..protocols.single import (
    Accept,
    Broadcast,
    CancelTimer,
    Decided,
    Node,
    NodeConfig,
    Persist,
    Prepare,
    Promised,
    Promise,
    Proposed,
    Send,
    SetTimer,
    Voted,
)
from ..check import Checker, check
from ..scenario import Scenario
from ..trace import FORMAT, event_json, write_trace
from .faults import explicit
from .interpreted import Environment as _Environment
from .interpreted import FaultError
from .clocks import node_clocks
from .network import NetworkModel
from .streams import stream


class _Due:
    """A scheduled callback, as `simpy.Environment.step` reads an event: it
    calls each of `callbacks` with the event and then checks `_ok`."""

    __slots__ = ("callbacks",)
    callbacks: list | None
    _ok = True


class Host:
    """A node's process: its role state, stable storage, timers and up/down."""

    __slots__ = ("name", "cfg", "node", "storage", "timers", "up", "proposal", "life", "disk_free", "client")

    def __init__(self, cfg: Any, node: Any = None, storage: dict | None = None, client: bool = False) -> None:
        self.name: str = cfg.name
        self.cfg: Any = cfg
        self.storage: dict[str, Any] = {} if storage is None else storage
        # A fresh Node(cfg) here; on generic hosts any protocol's node or client, given.
        self.node: Any = Node(cfg, self.storage) if node is None else node
        self.timers: dict[str, int] = {}
        self.up = True
        self.proposal: Any = None  # the scenario's Proposal for this node, once it has one
        self.life = 0  # bumped by each crash: a write still in progress then is lost
        self.disk_free = 0.0  # when the disk finishes the writes queued so far
        self.client = client  # generic hosts: a client of the protocol (outside partitions and cuts)


def _per_scenario(fn):
    """`lru_cache(fn)` that also keeps the last scenario's result by identity:
    hashing a frozen Scenario walks every field, and a sweep asks once a run
    for the same scenario object (a strong reference, so `is` is exact)."""
    cached = lru_cache(maxsize=64)(fn)
    last: list = [None, None]

    def get(scenario: Scenario):
        if last[0] is not scenario:
            last[1] = cached(scenario)
            last[0] = scenario
        return last[1]

    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return get


@_per_scenario
def _node_configs(scenario: Scenario) -> tuple[NodeConfig, ...]:
    """Per-scenario constants, built once for the thousands of runs of a sweep."""
    return tuple(NodeConfig(name, scenario.nodes, scenario.phase1, scenario.phase2, scenario.retry,
                            scenario.learning, frozenset(scenario.bugs))
                 for name in scenario.nodes)


@_per_scenario
def _fresh_nodes(scenario: Scenario) -> tuple[tuple, ...]:
    """Each node's configuration and what `Node.fresh` takes with it."""
    return tuple((cfg, cfg.nodes if cfg.learning == "acceptors" else (), cfg.quorums[1])
                 for cfg in _node_configs(scenario))


@_per_scenario
def _normalized(scenario: Scenario) -> dict:
    return scenario.to_dict()  # callers copy before changing it


class Simulation:
    def __init__(self, scenario: Scenario, seed: int, record: bool = False) -> None:
        self.scenario = scenario  # as given: the header records it, random profile and all
        self.seed = seed
        self.env = _Environment()
        self._queue, self._eid = self.env._queue, self.env._eid  # see _Due
        # A random fault profile is drawn now, from its own stream, into explicit faults.
        self.plan, self.drawn = explicit(scenario, seed)
        self.network = NetworkModel(self.plan.network, stream(seed, "network"))
        if self.drawn is not None and self.drawn.delay is not None:
            self.network.set_delay(self.drawn.delay, stream(seed, "delays"))
        default = self.network.default  # a LinkModel is not changed after the network is built
        self._default_link = (default.loss, default.duplicate, default.latency)
        self._net_random = self.network.rng.random
        self.timer_rng = stream(seed, "timers")
        self.clocks = node_clocks(scenario, seed)  # per-node clocks, or None: every timer on global time
        self.write_latency = scenario.write_latency
        # Effects are carried out at once, or (a slow disk) with writes taking time.
        self._apply: Any = self._apply_with_disk if self.write_latency else self._apply_now
        # Scripts (paxsim shrink's output) fix the fates of named messages and
        # timers; recording notes every fate, so a run can be written as a script.
        script = self.plan.script
        self.script_messages = {key: (fate, copy) for key, fate, copy in script.messages} if script else {}
        self.script_timers = dict(script.timers) if script else {}
        self.fates: dict | None = {} if record else None
        self.timer_fates: dict | None = {} if record else None
        self.keyed = bool(script) or record
        self.key_counts: dict[tuple, int] = {}
        self.special = self.keyed or bool(self.network.delay_share)
        # Rare events are dicts; the two hot ones are tuples, made dicts only when read:
        # ("send", seq, t, id, src, dst, msg) and ("deliver", seq, t, id).
        # Both are replaced by a sink and a checker when a run streams its trace (_simulate).
        self.events: Any = []
        self.observed: Any = []  # the dict events alone (what the checker reads, less promises)
        self.seq = 0
        self.next_id = 0
        self.timer_gen = 0
        self.delivered = self.duplicated = 0  # and `sent`, a property
        self.dropped: dict[str, int] = {"loss": 0, "partition": 0, "cut": 0, "crashed": 0}
        self.hosts: dict[str, Host] = self._make_hosts(scenario)
        self._deliver_cb: Any = self._deliver  # one bound method, not one per message
        # stop: when-decided (see _stop_check); the acts are the faults and proposal starts still to come.
        self.stop_when_decided = scenario.stop == "when-decided"
        self.pending_acts = 0
        self._check_due = False
        self._handlers: Any = {
            SetTimer: self._do_set_timer,
            CancelTimer: self._do_cancel_timer,
            Promised: self._do_promised,
            Voted: self._do_voted,
            Proposed: self._do_proposed,
            Decided: self._do_decided,
        }

    def _make_hosts(self, scenario: Scenario) -> dict:
        """The hosts, by name (a subclass running another protocol builds its own)."""
        fresh = Node.fresh
        return {cfg.name: Host(cfg, fresh(cfg, to_learners, phase2))
                for cfg, to_learners, phase2 in _fresh_nodes(scenario)}

    def release(self) -> None:
        """Break the simulation's reference cycles (bound methods held by it,
        events still queued), so that it is freed as soon as it is dropped,
        without the cyclic garbage collector.  The simulation is unusable after.
        (Attribute by attribute, not `self.__dict__.clear()`: a simulation
        compiled with mypyc has no `__dict__`.)"""
        self.env._queue.clear()
        self.env.__dict__.clear()  # its queue (a plain simpy.Environment also binds its event factories to itself)
        self._apply = self._deliver_cb = self._handlers = None
        self.hosts = {}

    # -- recording ------------------------------------------------------------
    def emit(self, kind: str, **fields: Any) -> None:
        fields["seq"] = self.seq
        fields["t"] = self.env._now
        fields["kind"] = kind
        self.seq += 1
        self.events.append(fields)
        self.observed.append(fields)

    # -- scheduling ----------------------------------------------------------
    def at(self, t: float, fn, *args) -> None:
        delay = t - self.env._now
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")  # as env.timeout would
        self._later(delay, lambda _ev: fn(*args))

    def run(self) -> Any:  # the events, or the sink they went to
        sc = self.scenario
        header_scenario = dict(_normalized(sc), seed=self.seed)
        header = {"kind": "header", "paxsim": __version__, "format": FORMAT, "seed": self.seed,
                  "scenario": header_scenario}
        self.events.append(header)
        self.observed.append(header)
        if self.drawn is not None:
            self.emit("random-faults", **self.drawn.to_json())
        if self.clocks is not None:
            self.emit("clocks", nodes={name: clock.to_json() for name, clock in self.clocks.items()})
        for fault in self.plan.faults:
            self.at(fault.at, self._fault, fault)
        for p in sc.proposers:
            self.hosts[p.node].proposal = p
            self.at(p.at, self._start_proposal, self.hosts[p.node])
        self.pending_acts = len(self.plan.faults) + len(sc.proposers)
        self._run_until(sc.duration)
        # What each node that is up has durably decided (its learner's stored
        # decision): a decision whose write is still in progress is not there
        # yet and has no decide event either.
        decided = {h.name: h.storage["learner"] for h in self.hosts.values()
                   if h.up and h.storage.get("learner") is not None}
        self.emit(
            "end",
            messages={"sent": self.sent, "delivered": self.delivered,
                      "dropped": dict(self.dropped), "duplicated": self.duplicated},
            decided=decided,
            up=[h.name for h in self.hosts.values() if h.up],
        )
        return self.events

    def _run_until(self, until: float) -> None:
        """`self.env.run(until=until)`, without `Environment.step`'s Python
        call per event: the same queue, times and order.  SimPy puts an
        urgent event at `until` before any other event due then, so this
        stops at the first event due at `until` or later; `_stop_check` may
        stop it sooner (StopSimulation, as in SimPy)."""
        env = self.env
        queue = env._queue
        deliver, hosts, record, apply = self._deliver, self.hosts, self.events.append, self._apply
        try:
            while queue and queue[0][0] < until:
                env._now, _, _, event = heappop(queue)
                if type(event) is tuple:  # a message's delivery, put there by _send or _route: (id, src, dst, msg)
                    mid, src, dst, msg = event
                    host = hosts[dst]
                    if host.up:  # _deliver, inline: a Python call less per message
                        self.delivered += 1
                        seq = self.seq
                        self.seq = seq + 1
                        record(("deliver", seq, env._now, mid))
                        effects = host.node.on_message(src, msg)
                        if effects:  # most replies a proposer gets change nothing: no call for them
                            apply(host, effects)
                    else:
                        deliver(mid, src, dst, msg)
                    continue
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
        except StopSimulation:
            return
        env._now = until

    # -- nodes ----------------------------------------------------------------

    def _apply_with_disk(self, host: Host, effects: list) -> None:
        """Writes take `write_latency` (one at a time per node); what follows
        a Persist waits for it, and a crash before it completes loses the
        write and everything after it."""
        for i, effect in enumerate(effects):
            if type(effect) is Persist:
                now = self.env.now
                host.disk_free = max(now, host.disk_free) + self.write_latency
                self._later(host.disk_free - now, partial(self._written, host, host.life, effect, effects[i + 1:]))
                return
            self._apply_now(host, [effect])

    def _written(self, host: Host, life: int, effect: Persist, rest: list, _event) -> None:
        if host.up and host.life == life:
            host.storage[effect.key] = effect.data
            self._apply_with_disk(host, rest)

    def _apply_now(self, host: Host, effects: list) -> None:
        for effect in effects:
            kind = type(effect)
            if kind is Send:  # the common cases, without a dispatch
                self._send(host.name, effect.dst, effect.msg)
            elif kind is Persist:  # as common as a reply: one per promise and vote
                host.storage[effect.key] = effect.data
            elif kind is Promised or kind is Voted:  # as common too: recorded here (_do_promised, _do_voted)
                seq = self.seq
                self.seq = seq + 1
                if kind is Promised:
                    ev = {"seq": seq, "t": self.env._now, "kind": "promise", "node": host.name,
                          "ballot": effect.ballot}
                else:
                    ev = {"seq": seq, "t": self.env._now, "kind": "vote", "node": host.name, "ballot": effect.ballot,
                          "value": effect.value}
                self.events.append(ev)
                self.observed.append(ev)
            elif kind is Broadcast:
                self._broadcast(host.name, effect.dsts, effect.msg)
            else:
                self._handlers[kind](host, effect)

    def _start_proposal(self, host: Host) -> None:
        self._acted()
        if host.up:
            self._apply(host, host.node.propose(host.proposal.value))
        # A node that is down when its proposal is due proposes on restart.

    def _acted(self) -> None:
        self.pending_acts -= 1
        if self.stop_when_decided and not self.pending_acts:
            self._stop_soon()

    # -- stop: when-decided ----------------------------------------------------
    def _stop_soon(self) -> None:
        """Check, once the current step is done, whether the run may stop."""
        if not self._check_due:
            self._check_due = True
            self._later(0.0, self._stop_check)

    def _stop_check(self, _event) -> None:
        """Stop the run if no event still to come can change its verdict.

        The rule: no fault and no proposal start is still to come; every node
        that is up has decided, durably (its learner's value is in its
        storage), and is `settled` (its proposer, if any, is not trying a
        ballot; no `reset-after-learn`); and no prepare or accept is in
        flight and no disk write is in progress.  Then every event left is a
        message other than prepare and accept, a timer, or a write that was
        not started: a settled node answers those without promising, voting,
        proposing or deciding (a retry timer finds its proposer done; a learn
        timer re-sends `learn`, which a decided learner only acknowledges;
        promise, accepted and nack find no proposer waiting), and nothing
        sends a new prepare or accept.  So the rest of the run would add no
        event the checker judges, nor change who is up or what each stored:
        the trace so far plus `end` gets the verdict of the whole run.

        Otherwise, if only prepares, accepts or writes in flight stand in the
        way, check again once the last of them has happened (a delivered
        prepare or accept may start a write, which the next check sees); any
        other obstacle is rechecked at the next decision or proposer change,
        or when the last fault or proposal start has happened."""
        self._check_due = False
        if self.pending_acts:
            return  # _acted checks again after the last one
        for host in self.hosts.values():
            if host.up:
                node = host.node
                if not node.settled() or host.storage.get("learner") != node.learner.decided:
                    return
        deliver, written = self._deliver_cb, self._written
        last = None
        for t, _, _, due in self._queue:
            if type(due) is tuple:  # a delivery (see _run_until)
                if type(due[3]) in (Prepare, Accept) and (last is None or t > last):
                    last = t
                continue
            if type(due) is not _Due:
                continue  # the run's `until`
            callback = due.callbacks[0]  # type: ignore[index]  # a queued _Due has its callbacks
            func = getattr(callback, "func", None)
            if (func == written or (func == deliver and type(callback.args[3]) in (Prepare, Accept))) \
                    and (last is None or t > last):
                last = t
        if last is None:
            raise StopSimulation(None)
        self._check_due = True
        self._later(last - self.env._now, self._stop_check)  # after what is due then (a later event id)

    def _fault(self, fault) -> None:
        self._acted()
        kind = fault.kind
        if kind == "crash":
            host = self.hosts[fault.arg]
            if not host.up:
                raise self._impossible(fault, "which is already down")
            host.up = False
            host.life += 1  # writes still in progress belong to the old life: they never complete
            host.timers.clear()
            host.disk_free = 0.0  # and the disk queue empties: a restarted node's writes start at once
            self.emit("crash", node=host.name)
        elif kind == "restart":
            host = self.hosts[fault.arg]
            if host.up:  # rebuilding it would keep its writes in progress beside the new node
                raise self._impossible(fault, "which is up")
            lost = self.scenario.storage == "volatile"
            if lost:
                host.storage = {}
            host.node = Node(host.cfg, host.storage)
            host.up = True
            self.emit("restart", node=host.name, storage=self.scenario.storage)
            if host.proposal is not None and host.proposal.at <= self.env.now:
                self._apply(host, host.node.propose(host.proposal.value))
        elif kind == "partition":
            self.network.partition.set(fault.arg)
            self.emit("partition", groups=[list(g) for g in fault.arg])
        elif kind == "heal":
            self.network.partition.heal()
            self.emit("heal")
        elif kind == "cut":
            if fault.arg in self.network.cuts.cut:
                raise self._impossible(fault, "which is already cut")
            self.network.cuts.cut.add(fault.arg)
            self.emit("cut", src=fault.arg[0], dst=fault.arg[1])
        elif kind == "uncut":
            if fault.arg not in self.network.cuts.cut:
                raise self._impossible(fault, "which is not cut")
            self.network.cuts.cut.discard(fault.arg)
            self.emit("uncut", src=fault.arg[0], dst=fault.arg[1])
        self.network.update()

    def _impossible(self, fault, why: str) -> "FaultError":
        what = f"link {fault.arg[0]} -> {fault.arg[1]}" if fault.kind in ("cut", "uncut") else f"node {fault.arg}"
        return FaultError(f"impossible fault at {self.env.now:g} ms: {fault.kind} {what}, {why} "
                          f"(scenario {self.scenario.name or '<unnamed>'}, seed {self.seed})")

    # -- effects --------------------------------------------------------------

    @property
    def sent(self) -> int:
        """Messages sent: every message id but the duplicates' (one counter less per send)."""
        return self.next_id - self.duplicated

    def _send(self, src: str, dst: str, msg) -> None:
        # _broadcast has a copy of this for the default link: change both.
        mid = self.next_id
        self.next_id = mid + 1
        now = self.env._now
        seq = self.seq
        self.seq = seq + 1
        self.events.append(("send", seq, now, mid, src, dst, msg))
        if src == dst:  # local delivery: no network, no loss
            heappush(self._queue, (now + 0.0, NORMAL, next(self._eid), (mid, src, dst, msg)))
            return
        if self.special:  # a script, recording, or random extra delays: the general path
            self._send_keyed(mid, src, dst, msg)
            return
        net = self.network
        if net.links:
            link = net.links.get((src, dst)) or net.default
            loss, duplicate, latency = link.loss, link.duplicate, link.latency
        else:  # every link the default one: its model, unpacked once per run (see __init__)
            loss, duplicate, latency = self._default_link
        rng = self._net_random
        # Draws depend only on the link's configuration, never on faults
        # (_draw_fate makes the same draws in the same order).
        lost = loss > 0.0 and rng() < loss
        dup = duplicate > 0.0 and rng() < duplicate
        delay = latency()
        if not (lost or net.faulty):  # the common case, without _route: a bare tuple (see _run_until)
            heappush(self._queue, (now + delay, NORMAL, next(self._eid), (mid, src, dst, msg)))
        else:
            self._route(mid, src, dst, msg, lost, delay)
        if dup:
            self._copy(mid, src, dst, msg, loss, rng, latency)

    def _copy(self, mid: int, src: str, dst: str, msg, loss: float, rng, latency) -> None:
        """A duplicate of message `mid` on the default link (rare: off the
        hot path of _send and _broadcast): its own id, loss coin and delay."""
        copy = self.next_id
        self.next_id += 1
        self.duplicated += 1
        self.emit("duplicate", id=mid, copy=copy)
        self._route(copy, src, dst, msg, loss > 0.0 and rng() < loss, latency())

    def _broadcast(self, src: str, dsts, msg) -> None:
        """`_send(src, dst, msg)` for each of `dsts` in order: the same records,
        ids, draws and queue entries, with what is the same for every
        message looked up once (a prepare or accept goes to every node)."""
        if self.special or self.network.links:
            send = self._send
            for dst in dsts:
                send(src, dst, msg)
            return
        net = self.network
        loss, duplicate, latency = self._default_link
        rng, record, queue, eid = self._net_random, self.events.append, self._queue, self._eid
        now = self.env._now
        for dst in dsts:  # _send's body, for the default link
            mid = self.next_id
            self.next_id = mid + 1
            seq = self.seq
            self.seq = seq + 1
            record(("send", seq, now, mid, src, dst, msg))
            if src == dst:
                heappush(queue, (now + 0.0, NORMAL, next(eid), (mid, src, dst, msg)))
                continue
            lost = loss > 0.0 and rng() < loss
            dup = duplicate > 0.0 and rng() < duplicate
            delay = latency()
            if not (lost or net.faulty):
                heappush(queue, (now + delay, NORMAL, next(eid), (mid, src, dst, msg)))
            else:
                self._route(mid, src, dst, msg, lost, delay)
            if dup:
                self._copy(mid, src, dst, msg, loss, rng, latency)

    def _draw_fate(self, link) -> tuple[float | None, Any]:
        """(fate, copy fate): a delay or None (lost); the copy's "none" if not duplicated."""
        net = self.network
        rng = net.rng.random
        lost = link.loss > 0.0 and rng() < link.loss
        dup = link.duplicate > 0.0 and rng() < link.duplicate
        delay = link.latency()
        share, delay_rng = net.delay_share, net.delay_rng
        if share and delay_rng is not None and delay_rng.random() < share:  # set_delay gives both
            delay += delay_rng.uniform(0.0, net.delay_max)
        copy: Any = "none"
        if dup:  # the same draws, in the same order, as the unkeyed path in _send
            copy_lost = link.loss > 0.0 and rng() < link.loss
            copy_delay = link.latency()
            if share and delay_rng is not None and delay_rng.random() < share:  # a copy is delayed like any message
                copy_delay += delay_rng.uniform(0.0, net.delay_max)
            copy = None if copy_lost else copy_delay
        return (None if lost else delay), copy

    def _send_keyed(self, mid: int, src: str, dst: str, msg) -> None:
        """A send under a script, or while recording fates for shrinking.  A
        message's key is its link, type, ballot and how many such came before."""
        ballot = getattr(msg, "ballot", None)
        base = (src, dst, msg.type, tuple(ballot) if ballot is not None else None)
        n = self.key_counts[base] = self.key_counts.get(base, 0) + 1
        key = base + (n,)
        scripted = self.script_messages.get(key)
        if scripted is not None:
            fate, copy = scripted
        else:
            fate, copy = self._draw_fate(self.network.links.get((src, dst)) or self.network.default)
        if self.fates is not None:
            self.fates[key] = (fate, copy)
        self._route_fates(mid, src, dst, msg, fate, copy)

    def _route_fates(self, mid: int, src: str, dst: str, msg, fate, copy) -> None:
        """Route a message whose fate is known (None: lost, else its delay),
        and its duplicate unless `copy` is "none" (None: the copy is lost)."""
        self._route(mid, src, dst, msg, fate is None, fate or 0.0)
        if copy != "none":
            copy_id = self.next_id
            self.next_id += 1
            self.duplicated += 1
            self.emit("duplicate", id=mid, copy=copy_id)
            self._route(copy_id, src, dst, msg, copy is None, copy or 0.0)

    def _route(self, mid: int, src: str, dst: str, msg, lost: bool, delay: float) -> None:
        reason = self.network.judge(src, dst) if self.network.faulty else None
        if reason is None and lost:
            reason = "loss"
        if reason is not None:
            self.dropped[reason] += 1
            self.emit("drop", id=mid, reason=reason)
        else:  # a bare tuple, as in _send (see _run_until)
            heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), (mid, src, dst, msg)))

    def _later(self, delay: float, callback) -> None:
        """Call `callback(event)` after `delay`: `env.timeout(delay).callbacks.append(callback)`, cheaper."""
        due = _Due()
        due.callbacks = [callback]
        heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), due))

    def _deliver(self, mid: int, src: str, dst: str, msg, _event=None) -> None:
        # _run_until has a copy of this for the bare tuples on the queue: change both.
        host = self.hosts[dst]
        if not host.up:
            self.dropped["crashed"] += 1
            self.emit("drop", id=mid, reason="crashed")
            return
        self.delivered += 1
        self.events.append(("deliver", self.seq, self.env._now, mid))
        self.seq += 1
        self._apply(host, host.node.on_message(src, msg))

    def _do_set_timer(self, host: Host, effect: SetTimer) -> None:
        delay = None
        if self.keyed:
            base = (host.name, effect.name)
            n = self.key_counts[base] = self.key_counts.get(base, 0) + 1
            delay = self.script_timers.get(base + (n,))
        if delay is None:
            delay = effect.lo if effect.hi <= effect.lo else self.timer_rng.uniform(effect.lo, effect.hi)
        if self.timer_fates is not None:
            self.timer_fates[(host.name, effect.name, n)] = delay
        if self.clocks is not None:
            delay = self._on_local_clock(host, delay)
        self.timer_gen += 1
        gen = host.timers[effect.name] = self.timer_gen
        self._later(delay, partial(self._fire, host, effect.name, gen))

    def _on_local_clock(self, host: Host, delay: float) -> float:
        """The global delay of a timer of `delay` ms on the node's own clock."""
        now = self.env.now
        return max(0.0, self.clocks[host.name].fire_at(now, delay) - now)  # type: ignore[index]  # clocks set

    def _fire(self, host: Host, name: str, gen: int, _event) -> None:
        if host.up and host.timers.get(name) == gen:
            del host.timers[name]
            if self.clocks is not None:  # the trace shows the node's local time where its clock acts
                self.emit("timer", node=host.name, name=name,
                          local=round(self.clocks[host.name].local(self.env.now), 6))
            self._apply(host, host.node.on_timer(name))

    def _do_cancel_timer(self, host: Host, effect: CancelTimer) -> None:
        host.timers.pop(effect.name, None)
        if self.stop_when_decided and effect.name == "retry":  # a proposer done: maybe the last one
            self._stop_soon()

    # Observations: recorded as trace events.  A ballot is a tuple, which JSON writes as [round, node].
    def _do_promised(self, host: Host, effect: Promised) -> None:
        ev = {"seq": self.seq, "t": self.env._now, "kind": "promise", "node": host.name, "ballot": effect.ballot}
        self.seq += 1
        self.events.append(ev)
        self.observed.append(ev)

    def _do_voted(self, host: Host, effect: Voted) -> None:
        ev = {"seq": self.seq, "t": self.env._now, "kind": "vote", "node": host.name, "ballot": effect.ballot,
              "value": effect.value}
        self.seq += 1
        self.events.append(ev)
        self.observed.append(ev)

    def _do_proposed(self, host: Host, effect: Proposed) -> None:
        self.emit("propose", node=host.name, ballot=effect.ballot, value=effect.value, quorum=list(effect.quorum))

    def _do_decided(self, host: Host, effect: Decided) -> None:
        self.emit("decide", node=host.name, value=effect.value)
        if self.stop_when_decided:
            self._stop_soon()


def _as_dict(record) -> dict:
    if type(record) is dict:
        return record
    if record[0] == "send":
        _, seq, t, mid, src, dst, msg = record
        return {"seq": seq, "t": t, "kind": "send", "id": mid, "src": src, "dst": dst, "msg": msg}
    _, seq, t, mid = record
    return {"seq": seq, "t": t, "kind": "deliver", "id": mid}


class _Tail:
    """Forwards records to a sink, keeping the header and the last event dict
    (the `end` event once the run is over) for the `Run`."""

    __slots__ = ("sink", "header", "last", "_forward")

    def __init__(self, sink) -> None:
        self.sink: Any = sink
        self.header: dict | None = None
        self.last: dict | None = None
        self._forward: Any = sink.append if sink is not None else None

    def append(self, record) -> None:
        if type(record) is dict:
            if self.header is None:
                self.header = record
            self.last = record
        if self._forward is not None:
            self._forward(record)


class _Checked:
    """A sink keeping what the checker reads to explain a violation: the
    event dicts and the promise messages (see `Run.checked_events`)."""

    __slots__ = ("events", "header", "last")

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.header: dict | None = None
        self.last: dict | None = None

    def append(self, record) -> None:
        if type(record) is dict:
            self.events.append(record)
            if self.header is None:
                self.header = record
            self.last = record
        elif record[0] == "send" and type(record[6]) is Promise:
            self.events.append(_as_dict(record))


class Run:
    """One finished simulation: its events (header first, end last) and verdict.

    A run simulated with a `sink` holds no trace: `events`, `lines()` and
    `write_trace()` are then unavailable, and `header` and `end` are what
    remains of it."""

    def __init__(self, scenario: Scenario, seed: int, records: list | None, observed=None,
                 header: dict | None = None, end: dict | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self._records = records
        self._observed = observed
        self._events: list[dict] | None = None
        self._verdict: Any = None
        self.header: dict = header if header is not None else records[0]  # type: ignore[index]
        self.end: dict = end if end is not None else records[-1]  # type: ignore[index]
        self._again: Any = None  # simulate() sets it: the same run again, into another sink
        # simulate(record=True) sets these (paxsim shrink reads them); simulate_crn, message_fates.
        self.fates: dict | None = None
        self.timer_fates: dict | None = None
        self.plan: Any = None
        self.message_fates: dict | None = None

    def _kept(self) -> list:
        if self._records is None:
            raise RuntimeError("this run streamed its trace to a sink and kept none of it "
                               "(simulate without sink= to keep the events)")
        return self._records

    @property
    def events(self) -> list[dict]:
        """Every event as a dict (a send's `msg` is still a message object; see `lines_as_events`)."""
        if self._events is None:
            self._events = [_as_dict(r) for r in self._kept()]
        return self._events

    def checked_events(self) -> list[dict]:
        """The events the checker reads: all but the message traffic, plus the
        promises (whose reports explain violations).  The checker ignores the
        rest, so its verdict on this list equals its verdict on `events`
        (tests/test_determinism.py checks that); it is just cheaper.  A run
        that kept no trace simulates itself again (same scenario and seed,
        so the same events) to collect them."""
        if self._records is None:
            sink = _Checked()
            self._again(sink, lean=False)
            return sink.events
        return [r if type(r) is dict else _as_dict(r) for r in self._records
                if type(r) is dict or (r[0] == "send" and type(r[6]) is Promise)]

    @property
    def verdict(self) -> Any:  # a check.Verdict, or a Multi-Paxos one
        """The checker's verdict.  It reads the protocol events first (or was
        fed them during the run); only if they show a violation does it read
        the promises too, which its explanations quote (so the verdict is the
        one on the full trace)."""
        if self._verdict is None:
            if self._events is not None:
                self._verdict = check(self._events)
            else:
                verdict: Any
                observed = self._observed
                if isinstance(observed, list):
                    verdict = check(observed, in_order=True, explain=False)
                else:  # a checker fed during the run
                    verdict = observed.finish() if observed is not None else None
                if verdict is None or (verdict.violations and not getattr(observed, "exact", False)):
                    verdict = check(self.checked_events())
                self._verdict = verdict
        return self._verdict

    @property
    def totals(self) -> dict:
        """The end event's message counts, without building every event."""
        return self.end["messages"]

    def lines(self) -> list[str]:
        """The trace file's lines, each ending in a newline."""
        return [event_json(ev) + "\n" for ev in self.events]

    def lines_as_events(self) -> list[dict]:
        """The events exactly as a trace file holds them (messages as dicts, ballots as lists)."""
        import json

        return [json.loads(line) for line in self.lines()]

    def write_trace(self, path) -> None:
        write_trace(path, self.events)


def simulate(scenario: Scenario, seed: int | None = None, record: bool = False, *, sink=None) -> Run:
    """Run `scenario` with `seed` (default: the scenario's own seed).  With
    `record`, the run also keeps the fate of every message and timer
    (`Run.fates`, `Run.timer_fates`), as `paxsim shrink` needs.

    `sink`: an object with `append(record)` (e.g. `paxsim.trace.TraceWriter`,
    which writes the trace file as the run goes; or `paxsim.sim.DISCARD`)
    that receives every trace record in order instead of the run holding
    them.  The run then keeps only its header, its `end` event and what the
    checker needs (fed as the run goes, so memory does not grow with the
    message traffic); a violation's explanation simulates the run again."""
    seed = scenario.seed if seed is None else seed
    return _simulate(scenario, seed, record, sink, lean=sink is not None)


class _Discard:
    """A sink that drops every record (`simulate(..., sink=DISCARD)`: no trace at all)."""

    __slots__ = ()  # and no header or last: the run wraps it in a _Tail

    def append(self, record) -> None:
        pass


DISCARD = _Discard()


def _simulate(scenario: Scenario, seed: int, record: bool, sink, lean: bool) -> Run:
    cls: Any
    if scenario.kind != "single-decree":  # any other protocol runs on the generic hosts
        from .generic import ProtocolSimulation  # (not `as cls`: mypyc then leaves cls unbound)

        cls = ProtocolSimulation
    else:
        cls = Simulation
    was_enabled = gc.isenabled()  # collector_paused(), inline: a run pays for no generator
    gc.disable()
    try:
        sim = cls(scenario, seed, record)
        try:
            if sink is not None:
                if hasattr(sink, "header") and hasattr(sink, "last"):  # it keeps them itself (TraceWriter does)
                    tail = sim.events = sink
                else:
                    tail = sim.events = _Tail(None if sink is DISCARD else sink)
                if lean:  # judged as it goes: the run keeps no list of its events
                    if cls is Simulation:
                        sim.observed = Checker(None, explain=False)
                    else:
                        from ..check_multi import MultiChecker

                        sim.observed = MultiChecker(scenario.kind)
            sim.run()
            if sink is None:
                run = Run(scenario, seed, sim.events, sim.observed)
            else:
                run = Run(scenario, seed, None, sim.observed, tail.header, tail.last)
            run.fates, run.timer_fates, run.plan = sim.fates, sim.timer_fates, sim.plan
        finally:
            sim.release()
    finally:
        if was_enabled:
            _resume_collector()
    # The same run again, into another sink (to explain a violation of a run that kept no trace):
    # every argument that shapes the run must be here (the early stop is part of the scenario).
    run._again = partial(_simulate, scenario, seed, record)
    return run


@contextmanager
def collector_paused():
    """The cyclic garbage collector off for the duration (as it was after).

    A run allocates hundreds of thousands of objects that live until it ends
    (its trace); the collector, triggered by the allocation count, would walk
    them again and again and free nothing: up to 45% of a large run's time;
    and once more right after the run.
    A run leaves no cycles behind (`Simulation.release`), so nothing waits
    for the collector; tests/test_sim.py checks both."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _resume_collector()


def _resume_collector() -> None:
    """The end of `collector_paused` (`_simulate` has it inline)."""
    # What the run leaves (its trace) would otherwise make the next
    # young collection walk all of it: move it, unscanned, to the
    # oldest generation (freeze, then unfreeze), which a full
    # collection still examines (gc.collect() included).  In a
    # sweep's worker this also thaws what the parent froze before
    # forking: measured, that costs nothing, while skipping this step
    # there made the workers spend 2.5 times the CPU of one process.
    gc.freeze()
    gc.unfreeze()
    gc.enable()
