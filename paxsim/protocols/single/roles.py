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
* With `learning="acceptors"`, acceptors also send `accepted(ballot, value)`
  to every node, and a learner decides on a phase-2 quorum of distinct
  acceptors at one ballot (the classic way, beside the proposer's `learn`).

Deliberate bugs (`NodeConfig.bugs`, see `BUGS`) are small, documented
changes in these roles, each marked `# bug:` where it acts, so the checker
can be shown to catch them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        try:
            base = min(self.timeout * self.backoff**attempt, self.max)
        except OverflowError:  # backoff**attempt past the largest float (1,024 retries at 2.0): long past max
            base = self.max
        return base * (1.0 - self.jitter), base * (1.0 + self.jitter)


BUGS = {
    "amnesia": "the acceptor keeps its promise and vote only in memory, so a restart forgets them",
    "persist-after-reply": "the acceptor replies before its state reaches stable storage; a crash in "
                           "between loses it (needs a storage write latency)",
    "ignore-accepted": "the proposer ignores the values reported in promises and proposes its own",
    "any-accepted": "the proposer adopts the first reported value, not the one with the highest ballot",
    "reused-ballot": "ballots carry no node id, and the round is not kept across a restart",
    "accept-skips-promise": "the acceptor accepts without checking its promise",
    "accept-keeps-promise": "accepting does not raise the acceptor's promise to the accepted ballot",
    "mixed-ballot-learner": "a learner counts accepted messages from different ballots toward one quorum "
                            "(acts with learning: acceptors)",
    "small-quorum": "quorums of N//2 instead of N//2 + 1",
    "counts-refusals": "the proposer counts every reply to prepare or accept, refusals included, toward its quorum",
    "counts-duplicates": "the proposer counts replies rather than distinct acceptors",
    "unsafe-flexible": "phase-1 quorums of N//2 and phase-2 quorums of N - N//2, which need not intersect",
    "prepare-ge": "CONTROL, harmless while ballots are unique: promise on >= instead of >",
    "hides-accepted": "the acceptor's promise never reports the value it voted for",
    "accept-equal-only": "CONTROL, harmless to safety: the acceptor votes only at exactly the ballot it promised",
    "counts-self-twice": "the proposer counts itself once more toward its phase-2 quorum",
    "reset-after-learn": "after learning, the node resets every role to its initial state, its decision included",
    "no-retry": "CONTROL, harmless to safety: the proposer never retries a ballot and never re-sends learn",
    "blog": "PRESET, the tutorial's node as written: reused-ballot, hides-accepted, accept-equal-only, "
            "counts-refusals, counts-self-twice, reset-after-learn, amnesia, no-retry",
}
CONTROL_BUGS = frozenset({"prepare-ge", "accept-equal-only", "no-retry"})
# A preset switches on several bugs at once: NodeConfig expands it.
PRESETS = {
    "blog": ("reused-ballot", "hides-accepted", "accept-equal-only", "counts-refusals", "counts-self-twice",
             "reset-after-learn", "amnesia", "no-retry"),
}


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What a node knows of the system.  `nodes` is ordered: every broadcast follows it."""

    name: str
    nodes: tuple[str, ...]
    phase1: int
    phase2: int
    retry: RetryPolicy = RetryPolicy()
    learning: str = "proposer"  # or "acceptors"
    bugs: frozenset = frozenset()

    def __post_init__(self) -> None:
        if any(b in PRESETS for b in self.bugs):
            expanded = {part for b in self.bugs for part in PRESETS.get(b, (b,))}
            object.__setattr__(self, "bugs", frozenset(expanded))

    @property
    def quorums(self) -> tuple[int, int]:
        """(phase 1, phase 2) quorum sizes as the roles use them."""
        n = len(self.nodes)
        if "small-quorum" in self.bugs:
            return n // 2, n // 2  # bug: a quorum of N//2 is no majority
        if "unsafe-flexible" in self.bugs:
            return n // 2, n - n // 2  # bug: |Q1| + |Q2| = N, so they may not intersect
        return self.phase1, self.phase2


class Acceptor:
    """Promises only higher ballots; votes at ballots >= its promise; persists first."""

    __slots__ = ("promised", "accepted", "bugs", "to_learners")

    def __init__(self, stored: tuple | None = None, bugs: frozenset = frozenset(),
                 to_learners: tuple[str, ...] = ()) -> None:
        self.promised: Ballot | None = None
        self.accepted: tuple[Ballot, Value] | None = None
        self.bugs = bugs
        self.to_learners = to_learners  # learning by acceptors: every vote goes to these
        if stored is not None:
            self.promised, self.accepted = stored

    def _refuses(self, b: Ballot, prepare: bool) -> bool:
        promised = self.promised
        if not prepare and "accept-equal-only" in self.bugs:
            return b != promised  # bug (control): only the very ballot promised, and nothing before a promise
        if promised is None:
            return False
        if prepare:
            if "prepare-ge" in self.bugs:
                return b < promised  # bug (control): promises an equal ballot again
            return not b > promised
        if "accept-skips-promise" in self.bugs:
            return False  # bug: votes whatever it promised
        return b < promised

    def _durable(self, observed: Effect | None, reply: Send) -> list[Effect]:
        persist = Persist("acceptor", (self.promised, self.accepted))
        if "amnesia" in self.bugs:
            effects = [observed, reply]  # bug: nothing reaches stable storage
        elif "persist-after-reply" in self.bugs:
            effects = [observed, reply, persist]  # bug: the reply leaves before the write
        else:
            effects = [persist, observed, reply]
        return [e for e in effects if e is not None]

    def on_prepare(self, src: str, msg: Prepare) -> list[Effect]:
        b = msg.ballot
        promised = self.promised
        if self.bugs:
            if self._refuses(b, prepare=True):
                return [Send(src, Nack(b, promised))]  # type: ignore[arg-type]  # refused: promised is set
            self.promised = b
            if "hides-accepted" in self.bugs:
                return self._durable(Promised(b), Send(src, Promise(b, None)))  # bug: the vote goes unreported
            return self._durable(Promised(b), Send(src, Promise(b, self.accepted)))
        if promised is not None and not b > promised:
            return [Send(src, Nack(b, promised))]
        self.promised = b
        return [Persist("acceptor", (b, self.accepted)), Promised(b), Send(src, Promise(b, self.accepted))]

    def on_accept(self, src: str, msg: Accept) -> list[Effect]:
        b = msg.ballot
        if self.bugs or self.to_learners:
            return self._on_accept_general(src, msg)
        if self.promised is not None and b < self.promised:
            return [Send(src, Nack(b, self.promised))]
        if self.accepted == (b, msg.value):
            # A re-sent accept.  Answer only once the vote is durable: with a
            # slow disk the first write may still be in progress, and re-writing
            # the same state orders this reply after it.
            return [Persist("acceptor", (self.promised, self.accepted)), Send(src, Accepted(b))]
        self.promised = b
        self.accepted = (b, msg.value)
        return [Persist("acceptor", (b, self.accepted)), Voted(b, msg.value), Send(src, Accepted(b))]

    def _on_accept_general(self, src: str, msg: Accept) -> list[Effect]:
        """on_accept with deliberate bugs or learning by acceptors."""
        b = msg.ballot
        if self._refuses(b, prepare=False):
            return [Send(src, Nack(b, self.promised or Ballot(0, "")))]
        if self.accepted == (b, msg.value):  # a re-sent accept: answered once durable, as above
            return self._durable(None, Send(src, Accepted(b)))
        if "accept-keeps-promise" not in self.bugs:  # bug: otherwise the promise stays where it was
            self.promised = b
        self.accepted = (b, msg.value)
        effects = self._durable(Voted(b, msg.value), Send(src, Accepted(b)))
        if self.to_learners:
            effects.append(Broadcast(self.to_learners, Accepted(b, msg.value)))
        return effects


class Learner:
    """Decides on the first `learn` (or, learning by acceptors, on a phase-2
    quorum of distinct acceptors that voted at one ballot), durably, and
    acknowledges every `learn`."""

    __slots__ = ("decided", "quorum", "votes", "bugs")

    def __init__(self, stored: Value | None = None, quorum: int = 0, bugs: frozenset = frozenset()) -> None:
        self.decided: Value | None = stored
        self.quorum = quorum
        self.votes: dict = {}  # ballot -> {acceptor: value}
        self.bugs = bugs

    def _decide(self, value: Value) -> list[Effect]:
        self.decided = value
        return [Persist("learner", value), Decided(value)]

    def on_learn(self, src: str, msg: Learn) -> list[Effect]:
        if self.decided is not None:  # acknowledge once the decision is durable (it may be being written)
            return [Persist("learner", self.decided), Send(src, Learned(self.decided))]
        value = self.decided = msg.value
        return [Persist("learner", value), Decided(value), Send(src, Learned(value))]

    def on_accepted(self, src: str, msg: Accepted) -> list[Effect]:
        """An acceptor's vote, sent to learners (learning by acceptors)."""
        if self.decided is not None or msg.value is None:
            return []
        key = msg.value if "mixed-ballot-learner" in self.bugs else msg.ballot  # bug: one count per value
        voters = self.votes.setdefault(key, {})
        voters[src] = msg.value
        if len(voters) >= self.quorum:
            return self._decide(msg.value)
        return []


class Proposer:
    """Phase 1 and 2 for one value; then announces the decision until acknowledged."""

    __slots__ = (
        "cfg", "round", "seen_round", "ballot", "phase", "value", "proposal",
        "promises", "accepts", "attempt", "announcing", "acked", "announce_attempt",
        "bugs", "q1", "q2",
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
        # src -> reported vote, and src -> True; lists of src under the bug counts-duplicates
        self.promises: Any = {}
        self.accepts: Any = {}
        self.attempt = 0
        self.announcing: Value | None = None
        self.acked: dict[str, bool] = {}
        self.announce_attempt = 0
        self.bugs = cfg.bugs
        self.q1, self.q2 = cfg.quorums

    # -- phase 1 ------------------------------------------------------------
    def propose(self, value: Value) -> list[Effect]:
        self.value = value
        if self.phase != "idle":
            return []
        return self._new_ballot()

    def _new_ballot(self) -> list[Effect]:
        self.round = max(self.round, self.seen_round) + 1
        self.phase = "prepare"
        self.promises = {} if "counts-duplicates" not in self.bugs else []
        self.accepts = {} if "counts-duplicates" not in self.bugs else []
        lo, hi = self.cfg.retry.window(self.attempt)
        self.attempt += 1
        if "reused-ballot" in self.bugs:
            self.ballot = Ballot(self.round, "")  # bug: no node id, so two proposers share ballots
            effects: list[Effect] = []  # bug: ...and the round is not kept across a restart
        else:
            self.ballot = Ballot(self.round, self.cfg.name)
            effects = [Persist("proposer", self.round)]
        msg = Prepare(self.ballot)
        effects.append(Broadcast(self.cfg.nodes, msg))
        if "no-retry" not in self.bugs:  # bug (control): otherwise a lost round is never retried
            effects.append(SetTimer("retry", lo, hi))
        return effects

    def on_promise(self, src: str, msg: Promise) -> list[Effect]:
        if self.phase != "prepare" or msg.ballot != self.ballot:
            return []
        if self.bugs:
            return self._promised_by(src, msg.accepted)
        promises = self.promises
        promises[src] = msg.accepted
        if len(promises) < self.q1:
            return []
        return self._promised_by(src, msg.accepted)  # the quorum is complete: choose the value

    def _promised_by(self, src: str, accepted) -> list[Effect]:
        replies: Any  # a list or a dict's items (mypyc would take the first for the type)
        if type(self.promises) is list:
            self.promises.append((src, accepted))  # bug: counts replies, not acceptors
            replies = self.promises
        else:
            self.promises[src] = accepted
            replies = self.promises.items()
        if len(self.promises) < self.q1:
            return []
        reported = [acc for _, acc in replies if acc is not None]
        if not reported or "ignore-accepted" in self.bugs:
            self.proposal = self.value  # bug when reported: proposes its own value regardless
        elif "any-accepted" in self.bugs:
            self.proposal = reported[0][1]  # bug: the first report, not the highest ballot's
        else:
            self.proposal = max(reported, key=lambda acc: acc[0])[1]
        self.phase = "accept"
        quorum = tuple(dict.fromkeys(src for src, _ in replies))
        accept = Accept(self.ballot, self.proposal)  # type: ignore[arg-type]  # both set by now
        effects: list[Effect] = [Proposed(self.ballot, self.proposal, quorum)]  # type: ignore[arg-type]
        effects.append(Broadcast(self.cfg.nodes, accept))
        return effects

    def on_nack(self, src: str, msg: Nack) -> list[Effect]:
        self.seen_round = max(self.seen_round, msg.promised.round)
        if self.phase not in ("prepare", "accept") or msg.ballot != self.ballot:
            return []
        if "counts-refusals" in self.bugs:  # bug: a refusal counts like a promise or a vote
            return self._promised_by(src, None) if self.phase == "prepare" else self._accepted_by(src)
        if not msg.promised > self.ballot:
            return []  # a duplicate of our own prepare: we already hold that promise
        self.phase = "backoff"
        if "no-retry" in self.bugs:
            return []  # bug (control): a refused round is given up
        lo, hi = self.cfg.retry.window(self.attempt)
        return [SetTimer("retry", lo, hi)]

    # -- phase 2 ------------------------------------------------------------
    def on_accepted(self, src: str, msg: Accepted) -> list[Effect]:
        if self.phase != "accept" or msg.ballot != self.ballot:
            return []
        if not self.bugs:
            accepts = self.accepts
            accepts[src] = True
            if len(accepts) < self.q2:
                return []
        return self._accepted_by(src)

    def _accepted_by(self, src: str) -> list[Effect]:
        if type(self.accepts) is list:
            self.accepts.append(src)  # bug: counts replies, not acceptors
        else:
            self.accepts[src] = True
        if "counts-self-twice" in self.bugs:
            if len(self.accepts) + 1 < self.q2:  # bug: the proposer's own vote counts twice
                return []
        elif len(self.accepts) < self.q2:
            return []
        assert self.proposal is not None
        return self.announce(self.proposal)

    def on_retry(self) -> list[Effect]:
        if self.phase in ("prepare", "accept", "backoff"):
            return self._new_ballot()
        return []

    # -- announcing the decision --------------------------------------------
    def announce(self, value: Value | None) -> list[Effect]:
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
        msg = Learn(self.announcing)  # type: ignore[arg-type]  # announce() set it
        effects: list[Effect] = [Broadcast(tuple(n for n in self.cfg.nodes if n not in self.acked), msg)]
        lo, hi = self.cfg.retry.window(self.announce_attempt)
        self.announce_attempt += 1
        if "no-retry" not in self.bugs:  # bug (control): otherwise a lost learn is never re-sent
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


_new: Any = object.__new__
_COMPILED = not __file__.endswith((".py", ".pyc"))  # compiled with mypyc (setup.py): an extension module


class Node:
    """One process playing acceptor, learner and (once asked to propose) proposer."""

    __slots__ = ("cfg", "acceptor", "learner", "proposer", "_round")

    def __init__(self, cfg: NodeConfig, storage: dict | None = None) -> None:
        storage = storage or {}
        self.cfg = cfg
        to_learners = cfg.nodes if cfg.learning == "acceptors" else ()
        self.acceptor = Acceptor(storage.get("acceptor"), cfg.bugs, to_learners)
        self.learner = Learner(storage.get("learner"), cfg.quorums[1], cfg.bugs)
        self.proposer: Proposer | None = None  # made on the first propose()
        self._round = storage.get("proposer", 0)

    @classmethod
    def fresh(cls, cfg: NodeConfig, to_learners: tuple[str, ...], phase2: int) -> Node:
        """`Node(cfg)`: a node with nothing stored, given what `__init__`
        derives from `cfg` (`to_learners` and `cfg.quorums[1]`), without a
        call per role: a simulation makes every node anew for each run, from
        the same few configurations (tests/test_sim.py checks it equals `Node(cfg)`)."""
        if _COMPILED:  # mypyc's classes refuse object.__new__, and their constructors are cheap
            return cls(cfg)
        node = _new(cls)
        node.cfg = cfg
        node.acceptor = acceptor = _new(Acceptor)
        acceptor.promised = acceptor.accepted = None
        acceptor.bugs = cfg.bugs
        acceptor.to_learners = to_learners
        node.learner = learner = _new(Learner)
        learner.decided = None
        learner.quorum = phase2
        learner.votes = {}
        learner.bugs = cfg.bugs
        node.proposer = None
        node._round = 0
        return node

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

    def on_message(self, src: str, msg: Any) -> list[Effect]:  # a Message (Any: mypy reads no `type(msg) is`)
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
            if "reset-after-learn" in self.cfg.bugs:
                self._reset()  # bug: forgets promise, vote, rounds and the decision itself
            return effects
        if kind is Accepted and msg.value is not None:  # a vote sent to learners
            effects = self.learner.on_accepted(src, msg)
            if effects and self.proposer is not None and self.proposer.announcing is None:
                effects.extend(self.proposer.announce(self.learner.decided))
            if self.proposer is not None:
                effects.extend(self.proposer.on_accepted(src, msg))
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

    def settled(self) -> bool:
        """Nothing that can still reach this node makes it promise, vote,
        propose or decide, unless a prepare or accept does: it has decided,
        its proposer (if any) is not trying a ballot (so no timer or reply
        starts one), and no bug lets a `learn` make it forget.  With every
        node up settled and no prepare or accept left to deliver, a run's
        verdict is final (the runtime's early stop, `stop: when-decided`)."""
        if self.learner.decided is None or "reset-after-learn" in self.cfg.bugs:
            return False
        return self.proposer is None or self.proposer.phase not in ("prepare", "accept", "backoff")

    def _reset(self) -> None:
        """The tutorial's reset after learning (bug `reset-after-learn`), in memory."""
        self.acceptor.promised = self.acceptor.accepted = None
        self.learner.decided = None
        self._round = 0
        if self.proposer is not None:
            self.proposer.round = self.proposer.seen_round = 0

    def on_timer(self, name: str) -> list[Effect]:
        if self.proposer is None:
            return []
        if name == "retry":
            return self.proposer.on_retry()
        if name == "learn":
            return self.proposer.on_learn_timer()
        raise ValueError(f"unknown timer {name!r}")
