"""An in-memory cluster of pure Paxos nodes, with no simulator: messages sit
in a pool and the test (or Hypothesis) decides what is delivered, dropped,
duplicated or reordered, and when timers fire or nodes crash.  It must never
import simpy: the roles are tested on their own."""

from __future__ import annotations

from paxsim.protocols.single import (
    Broadcast,
    CancelTimer,
    Decided,
    Node,
    NodeConfig,
    Persist,
    Promised,
    Proposed,
    RetryPolicy,
    Send,
    SetTimer,
    Voted,
)


class Cluster:
    def __init__(self, n: int = 3, phase1: int | None = None, phase2: int | None = None, durable: bool = True):
        self.names = tuple(f"n{i}" for i in range(1, n + 1))
        q = n // 2 + 1
        self.configs = {
            name: NodeConfig(name, self.names, phase1 or q, phase2 or q, RetryPolicy(10, 2, 0.5, 100))
            for name in self.names
        }
        self.durable = durable
        self.storage = {name: {} for name in self.names}
        self.nodes = {name: Node(self.configs[name], self.storage[name]) for name in self.names}
        self.up = {name: True for name in self.names}
        self.pool: list[tuple[str, str, object]] = []  # (src, dst, msg) in flight
        self.timers: dict[str, set[str]] = {name: set() for name in self.names}
        self.votes: list[tuple[str, tuple, object]] = []
        self.decisions: list[tuple[str, object]] = []
        self.proposed: list[tuple] = []
        self.log: list[tuple] = []  # every effect, in order, for ordering assertions

    def apply(self, name: str, effects) -> None:
        for e in effects:
            self.log.append((name, e))
            if isinstance(e, Send):
                self.pool.append((name, e.dst, e.msg))
            elif isinstance(e, Broadcast):
                self.pool.extend((name, dst, e.msg) for dst in e.dsts)
            elif isinstance(e, SetTimer):
                assert 0 <= e.lo <= e.hi
                self.timers[name].add(e.name)
            elif isinstance(e, CancelTimer):
                self.timers[name].discard(e.name)
            elif isinstance(e, Persist):
                self.storage[name][e.key] = e.data
            elif isinstance(e, Voted):
                self.votes.append((name, e.ballot, e.value))
            elif isinstance(e, Decided):
                self.decisions.append((name, e.value))
            elif isinstance(e, Proposed):
                self.proposed.append((name, e.ballot, e.value, e.quorum))
            elif isinstance(e, Promised):
                pass
            else:  # pragma: no cover - a new effect type must be handled here
                raise AssertionError(f"unhandled effect {e!r}")

    def propose(self, name: str, value) -> None:
        self.apply(name, self.nodes[name].propose(value))

    def deliver(self, index: int = 0) -> None:
        src, dst, msg = self.pool.pop(index)
        if self.up[dst]:
            self.apply(dst, self.nodes[dst].on_message(src, msg))

    def fire(self, name: str, timer: str) -> None:
        if self.up[name] and timer in self.timers[name]:
            self.timers[name].discard(timer)
            self.apply(name, self.nodes[name].on_timer(timer))

    def crash(self, name: str) -> None:
        self.up[name] = False
        self.timers[name] = set()

    def restart(self, name: str) -> None:
        if not self.durable:
            self.storage[name] = {}
        self.nodes[name] = Node(self.configs[name], self.storage[name])
        self.up[name] = True

    def run_until_quiet(self, limit: int = 10_000) -> None:
        for _ in range(limit):
            if not self.pool:
                return
            self.deliver(0)
        raise AssertionError("messages still in flight after the limit")

    def chosen(self, quorum: int | None = None) -> set:
        quorum = quorum or len(self.names) // 2 + 1
        voters: dict[tuple, set] = {}
        for name, ballot, value in self.votes:
            voters.setdefault((ballot, value), set()).add(name)
        return {value for (ballot, value), who in voters.items() if len(who) >= quorum}


def sends(effects) -> list[tuple[str, object]]:
    """(destination, message) of every Send and Broadcast, in order."""
    out = []
    for e in effects:
        if isinstance(e, Send):
            out.append((e.dst, e.msg))
        elif isinstance(e, Broadcast):
            out.extend((dst, e.msg) for dst in e.dsts)
    return out
