"""The three Paxos roles and the node that plays all of them.

Each handler takes one input (a message, a timer firing, a request to
propose) and returns a list of effects.  State that must survive a crash is
written with `Persist(key, data)`; a node is rebuilt from that storage:

    acceptor -> (promised ballot | None, (ballot, value) | None)
    proposer -> the last round used (so ballots keep increasing)
    learner  -> the decided value | None

Liveness:

* A proposer retries with a higher ballot on a timeout or on a nack that
  shows a higher promise, after a randomized exponential backoff
  (`RetryPolicy`), so duelling proposers settle.
* Learning under loss: a proposer that knows the decision (it reached a
  quorum of accepted, or its own learner learned) sends `learn` to every
  learner and re-sends it on a backoff until each one answers `learned`.
  The decision is durable, so a restarted proposer resumes this.  A node that
  has decided also answers any prepare or accept with `learn`, so a proposer
  still trying learns the outcome at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .effects import Broadcast, CancelTimer, Decided, Effect, Persist, Promised, Proposed, Send, SetTimer, Voted
from .messages import Accept, Accepted, Ballot, Learn, Learned, Message, Nack, Prepare, Promise, Value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt k waits timeout * backoff**k (at most `max`), +- jitter of that."""

    timeout: float = 50.0
    backoff: float = 2.0
    jitter: float = 0.5
    max: float = 1000.0

    def window(self, attempt: int) -> tuple[float, float]:
        base = min(self.timeout * self.backoff**attempt, self.max)
        return base * (1.0 - self.jitter), base * (1.0 + self.jitter)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What a node knows of the system.  `nodes` is ordered: every broadcast follows it."""

    name: str
    nodes: tuple[str, ...]
    phase1: int
    phase2: int
    retry: RetryPolicy = RetryPolicy()


class Acceptor:
    """Promises only higher ballots; votes at ballots >= its promise; persists first."""

    __slots__ = ("promised", "accepted")

    def __init__(self, stored: tuple | None = None) -> None:
        self.promised: Ballot | None = None
        self.accepted: tuple[Ballot, Value] | None = None
        if stored is not None:
            self.promised, self.accepted = stored

    def on_prepare(self, src: str, msg: Prepare) -> list[Effect]:
        b = msg.ballot
        if self.promised is not None and not b > self.promised:
            return [Send(src, Nack(b, self.promised))]
        self.promised = b
        return [Persist("acceptor", (b, self.accepted)), Promised(b), Send(src, Promise(b, self.accepted))]

    def on_accept(self, src: str, msg: Accept) -> list[Effect]:
        b = msg.ballot
        if self.promised is not None and b < self.promised:
            return [Send(src, Nack(b, self.promised))]
        if self.accepted == (b, msg.value):
            return [Send(src, Accepted(b))]  # a re-sent accept: already durable
        self.promised = b
        self.accepted = (b, msg.value)
        return [Persist("acceptor", (b, self.accepted)), Voted(b, msg.value), Send(src, Accepted(b))]


class Learner:
    """Decides on the first `learn`, durably, and acknowledges every `learn`."""

    __slots__ = ("decided",)

    def __init__(self, stored: Value | None = None) -> None:
        self.decided: Value | None = stored

    def on_learn(self, src: str, msg: Learn) -> list[Effect]:
        if self.decided is not None:
            return [Send(src, Learned(self.decided))]
        self.decided = msg.value
        return [Persist("learner", msg.value), Decided(msg.value), Send(src, Learned(msg.value))]


class Proposer:
    """Phase 1 and 2 for one value; then announces the decision until acknowledged."""

    __slots__ = (
        "cfg", "round", "seen_round", "ballot", "phase", "value", "proposal",
        "promises", "accepts", "attempt", "announcing", "acked", "announce_attempt",
    )

    # phases: idle -> prepare -> accept -> (backoff -> prepare ...) -> done
    def __init__(self, cfg: NodeConfig, stored_round: int = 0) -> None:
        self.cfg = cfg
        self.round = stored_round
        self.seen_round = stored_round
        self.ballot: Ballot | None = None
        self.phase = "idle"
        self.value: Value | None = None
        self.proposal: Value | None = None
        self.promises: dict[str, tuple[Ballot, Value] | None] = {}
        self.accepts: dict[str, bool] = {}
        self.attempt = 0
        self.announcing: Value | None = None
        self.acked: dict[str, bool] = {}
        self.announce_attempt = 0

    # -- phase 1 ------------------------------------------------------------
    def propose(self, value: Value) -> list[Effect]:
        self.value = value
        if self.phase != "idle":
            return []
        return self._new_ballot()

    def _new_ballot(self) -> list[Effect]:
        self.round = max(self.round, self.seen_round) + 1
        self.ballot = Ballot(self.round, self.cfg.name)
        self.phase = "prepare"
        self.promises = {}
        self.accepts = {}
        lo, hi = self.cfg.retry.window(self.attempt)
        self.attempt += 1
        msg = Prepare(self.ballot)
        effects: list[Effect] = [Persist("proposer", self.round)]
        effects.append(Broadcast(self.cfg.nodes, msg))
        effects.append(SetTimer("retry", lo, hi))
        return effects

    def on_promise(self, src: str, msg: Promise) -> list[Effect]:
        if self.phase != "prepare" or msg.ballot != self.ballot:
            return []
        self.promises[src] = msg.accepted
        if len(self.promises) < self.cfg.phase1:
            return []
        reported = [acc for acc in self.promises.values() if acc is not None]
        self.proposal = max(reported, key=lambda acc: acc[0])[1] if reported else self.value
        self.phase = "accept"
        quorum = tuple(self.promises)
        accept = Accept(self.ballot, self.proposal)
        effects: list[Effect] = [Proposed(self.ballot, self.proposal, quorum)]
        effects.append(Broadcast(self.cfg.nodes, accept))
        return effects

    def on_nack(self, src: str, msg: Nack) -> list[Effect]:
        self.seen_round = max(self.seen_round, msg.promised.round)
        if self.phase not in ("prepare", "accept") or msg.ballot != self.ballot:
            return []
        if not msg.promised > self.ballot:
            return []  # a duplicate of our own prepare: we already hold that promise
        self.phase = "backoff"
        lo, hi = self.cfg.retry.window(self.attempt)
        return [SetTimer("retry", lo, hi)]

    # -- phase 2 ------------------------------------------------------------
    def on_accepted(self, src: str, msg: Accepted) -> list[Effect]:
        if self.phase != "accept" or msg.ballot != self.ballot:
            return []
        self.accepts[src] = True
        if len(self.accepts) < self.cfg.phase2:
            return []
        assert self.proposal is not None
        return self.announce(self.proposal)

    def on_retry(self) -> list[Effect]:
        if self.phase in ("prepare", "accept", "backoff"):
            return self._new_ballot()
        return []

    # -- announcing the decision --------------------------------------------
    def announce(self, value: Value) -> list[Effect]:
        """The value is chosen: stop trying, tell every learner until it acknowledges."""
        if self.announcing is not None:
            return []
        self.phase = "done"
        self.announcing = value
        self.acked = {}
        self.announce_attempt = 0
        effects: list[Effect] = [CancelTimer("retry")]
        return effects + self._send_learns()

    def _send_learns(self) -> list[Effect]:
        msg = Learn(self.announcing)
        effects: list[Effect] = [Broadcast(tuple(n for n in self.cfg.nodes if n not in self.acked), msg)]
        lo, hi = self.cfg.retry.window(self.announce_attempt)
        self.announce_attempt += 1
        effects.append(SetTimer("learn", lo, hi))
        return effects

    def on_learned(self, src: str, msg: Learned) -> list[Effect]:
        if self.announcing is None or src in self.acked:
            return []
        self.acked[src] = True
        if len(self.acked) == len(self.cfg.nodes):
            return [CancelTimer("learn")]
        return []

    def on_learn_timer(self) -> list[Effect]:
        if self.announcing is None or len(self.acked) == len(self.cfg.nodes):
            return []
        return self._send_learns()


class Node:
    """One process playing acceptor, learner and (once asked to propose) proposer."""

    __slots__ = ("cfg", "acceptor", "learner", "proposer", "_round")

    def __init__(self, cfg: NodeConfig, storage: dict | None = None) -> None:
        storage = storage or {}
        self.cfg = cfg
        self.acceptor = Acceptor(storage.get("acceptor"))
        self.learner = Learner(storage.get("learner"))
        self.proposer: Proposer | None = None  # made on the first propose()
        self._round = storage.get("proposer", 0)

    @property
    def decided(self) -> Value | None:
        return self.learner.decided

    @property
    def proposing(self) -> bool:
        return self.proposer is not None

    def propose(self, value: Value) -> list[Effect]:
        """A client asks this node to get `value` chosen (again after a restart)."""
        if self.proposer is None:
            self.proposer = Proposer(self.cfg, self._round)
        if self.learner.decided is not None:
            return self.proposer.announce(self.learner.decided)
        return self.proposer.propose(value)

    def on_message(self, src: str, msg: Message) -> list[Effect]:
        kind = type(msg)
        if kind is Prepare or kind is Accept:
            if kind is Prepare:
                effects = self.acceptor.on_prepare(src, msg)
            else:
                effects = self.acceptor.on_accept(src, msg)
            if self.learner.decided is not None and src != self.cfg.name:
                effects.append(Send(src, Learn(self.learner.decided)))
            return effects
        if kind is Learn:
            effects = self.learner.on_learn(src, msg)
            if self.proposer is not None and self.proposer.announcing is None:
                effects.extend(self.proposer.announce(self.learner.decided))
            return effects
        proposer = self.proposer
        if proposer is None:  # replies to a proposer that is not (or no longer) running
            if kind in (Promise, Accepted, Nack, Learned):
                return []
            raise TypeError(f"not a Paxos message: {msg!r}")
        if kind is Promise:
            return proposer.on_promise(src, msg)
        if kind is Accepted:
            return proposer.on_accepted(src, msg)
        if kind is Nack:
            return proposer.on_nack(src, msg)
        if kind is Learned:
            return proposer.on_learned(src, msg)
        raise TypeError(f"not a Paxos message: {msg!r}")

    def on_timer(self, name: str) -> list[Effect]:
        if self.proposer is None:
            return []
        if name == "retry":
            return self.proposer.on_retry()
        if name == "learn":
            return self.proposer.on_learn_timer()
        raise ValueError(f"unknown timer {name!r}")
