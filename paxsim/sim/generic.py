"""Hosts for any protocol package that offers `PROTOCOL` (see
paxsim/protocols/multi/__init__.py for the interface): nodes and clients are
hosts alike, a workload driver feeds the clients, and every observation
effect becomes the trace event `{"seq", "t", "kind": KIND, "node", **fields()}`
without the runtime knowing what it means.

Single-decree Paxos keeps its own tuned `Simulation`; this subclass shares
its network, faults, timers, disk and scripts, and changes only how hosts
are built and started, how observations are recorded, and one rule: clients
stand outside partitions and cuts (those name nodes), so a client reaches
every node it talks to, through loss and latency only.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from .._version import __version__
from ..protocols import protocol as protocol_for
from ..protocols.effects import CancelTimer, Persist, SetTimer
from ..scenario import Scenario
from ..trace import FORMAT
from .clocks import Clock, node_clocks
from .interpreted import Handlers
from .runtime import Host, Simulation, _normalized
from .streams import stream
from .workload import WorkloadDriver

COMPLETIONS = ("ok", "fail", "info")  # client events that end an operation (the Jepsen vocabulary)


class ProtocolSimulation(Simulation):
    def __init__(self, scenario: Scenario, seed: int, record: bool = False, protocol: Any = None) -> None:
        self.protocol = protocol if protocol is not None else protocol_for(scenario.kind)
        super().__init__(scenario, seed, record)
        self._handlers = Handlers({SetTimer: self._do_set_timer, CancelTimer: self._do_cancel_timer},
                                   self._observe)
        self.client_hosts = [h for h in self.hosts.values() if h.client]
        self.client_names = frozenset(h.name for h in self.client_hosts)  # membership only
        # A scripted scenario (paxsim shrink's output) reproduces its run on any seed: its
        # operations, unscripted timers and random clocks come from the scenario's own seed.
        workload_seed = seed
        if scenario.script is not None:
            workload_seed = scenario.seed
            self.timer_rng = stream(scenario.seed, "timers")
            if self.clocks is not None:
                self.clocks = node_clocks(scenario, scenario.seed)
        self.node_clocks = self.clocks
        if self.clocks is not None:  # clients keep exact time: a scenario's clocks name nodes
            self.clocks = {**self.clocks, **{name: Clock() for name in sorted(self.client_names)}}
        assert scenario.workload is not None  # the loader gives every protocol scenario one
        self.workload: Any = WorkloadDriver(scenario.workload, stream(workload_seed, "workload"), self.client_hosts,
                                       lambda: self.env.now, self.at, self._invoke)

    def release(self) -> None:
        self.workload = None  # it calls back into the simulation
        super().release()

    def _make_hosts(self, scenario: Scenario) -> dict:
        assert scenario.multi is not None and scenario.workload is not None  # as the loader gives them
        proto, options, w = self.protocol, scenario.multi.node_options(), scenario.workload
        hosts: dict[str, Host] = {}
        for name in scenario.nodes:
            cfg = proto.node_config(name, scenario.nodes, frozenset(scenario.bugs), **options)
            storage: dict = {}
            hosts[name] = Host(cfg, proto.make_node(cfg, storage), storage)
        targets = w.nodes or scenario.nodes
        for i, name in enumerate(w.client_names):
            k = i % len(targets)  # client i starts at the i-th node it may talk to
            cfg = proto.client_config(name, targets[k:] + targets[:k], timeout=w.timeout, attempts=w.attempts)
            hosts[name] = Host(cfg, proto.make_client(cfg), client=True)
        return hosts

    # -- observations -----------------------------------------------------------
    def _observe(self, host: Host, effect: Any) -> None:
        ev = {"seq": self.seq, "t": self.env.now, "kind": effect.KIND, "node": host.name, **effect.fields()}
        self.seq += 1
        self.events.append(ev)
        self.observed.append(ev)
        if host.client and effect.KIND in COMPLETIONS:
            self.workload.completed(host)

    # -- a slow disk ------------------------------------------------------------
    def _apply_with_disk(self, host: Host, effects: list) -> None:
        """Writes take `write_latency`, one at a time per node, in the order the
        node issued them: every write of `effects` takes its place in the disk
        queue now, and what follows a write waits for it.  (Queueing a write only
        when the one before it completes, as single-decree does, let a later
        message's write overtake the rest of a catch-up's: the slot it decided
        was recorded as executed before the slots it follows.)"""
        now = self.env.now
        queued = None  # the last write queued: (when it completes, the write, where what waits for it begins)
        for i, effect in enumerate(effects):
            if type(effect) is Persist:
                if queued is not None:
                    self._queue_write(host, now, queued, effects[queued[2]:i])
                host.disk_free = max(now, host.disk_free) + self.write_latency
                queued = (host.disk_free, effect, i + 1)
            elif queued is None:
                self._apply_now(host, [effect])
        if queued is not None:
            self._queue_write(host, now, queued, effects[queued[2]:])

    def _queue_write(self, host: Host, now: float, queued: tuple, after: list) -> None:
        done, write, _ = queued
        self._later(done - now, partial(self._written_then, host, host.life, write, after))

    def _written_then(self, host: Host, life: int, write: Persist, after: list, _event) -> None:
        if host.up and host.life == life:  # a crash loses the writes in progress and queued
            host.storage[write.key] = write.data
            self._apply_now(host, after)

    def _invoke(self, host: Host, op: dict) -> None:
        self._apply(host, host.node.invoke(op))

    # -- running ----------------------------------------------------------------
    def run(self) -> Any:  # the events, or the sink they went to
        sc = self.scenario
        header = {"kind": "header", "paxsim": __version__, "format": FORMAT, "seed": self.seed,
                  "scenario": dict(_normalized(sc), seed=self.seed)}
        self.events.append(header)
        self.observed.append(header)
        if self.drawn is not None:
            self.emit("random-faults", **self.drawn.to_json())
        if self.node_clocks is not None:
            self.emit("clocks", nodes={name: clock.to_json() for name, clock in self.node_clocks.items()})
        for fault in self.plan.faults:
            self.at(fault.at, self._fault, fault)
        for host in self.hosts.values():  # nodes first, then clients, in name order
            self._apply(host, host.node.start())
        self.workload.begin()
        self._run_until(sc.duration)  # the event loop that also runs _send's bare deliveries
        self.emit(
            "end",
            messages={"sent": self.sent, "delivered": self.delivered,
                      "dropped": dict(self.dropped), "duplicated": self.duplicated},
            up=[h.name for h in self.hosts.values() if h.up and not h.client],
            skipped=self.workload.skipped,
        )
        return self.events

    def _fault(self, fault) -> None:
        if fault.kind != "restart":
            return super()._fault(fault)
        host = self.hosts[fault.arg]
        if host.up:
            raise self._impossible(fault, "which is up")
        if self.scenario.storage == "volatile":
            host.storage = {}
        host.node = self.protocol.make_node(host.cfg, host.storage)
        host.up = True
        self.emit("restart", node=host.name, storage=self.scenario.storage)
        self._apply(host, host.node.start())
        self.network.update()

    def _route(self, mid: int, src: str, dst: str, msg, lost: bool, delay: float) -> None:
        if src in self.client_names or dst in self.client_names:  # outside partitions and cuts
            if lost:
                self.dropped["loss"] += 1
                self.emit("drop", id=mid, reason="loss")
            else:
                self.env.timeout(delay).callbacks.append(partial(self._deliver_cb, mid, src, dst, msg))
            return
        super()._route(mid, src, dst, msg, lost, delay)
