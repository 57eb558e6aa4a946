"""The single-decree protocol as the explorer sees it.

A protocol plugs into the search with one adapter object offering:

* `names`, `proposals` (node -> value) and `fixed`: the nodes that no
  renaming may move (here: the proposers, whose names are inside ballots);
* `boot(i, storage)`: a fresh node from its stable storage (a restart);
* `restore(i, snap)` / `snapshot(node)`: a node to and from an immutable,
  hashable tuple (the explorer's copy and hash of role state);
* `propose(node, value)`, `on_message(node, src, msg)`, `on_timer(node, name)`:
  the role's own handlers, returning effects;
* `rename_snap`, `rename_msg`, `rename_storage`: apply a renaming of nodes
  (symmetry reduction);
* `message_key(msg)`: (type, ballot or None), the simulator's script key;
* `initial_history()`, `observe(history, node, effect)`, `rename_history`:
  the safety properties, checked on every transition.

Copying is done from here, reading the roles' `__slots__`, so the roles stay
exactly as the simulator runs them.  `SLOTS` lists the slots each snapshot
covers; tests/test_explore.py fails if a role gains a slot this file does not
know about.
"""

from __future__ import annotations

from ..protocols.single import (Accept, Accepted, Acceptor, Decided, Learn, Learned, Learner, Nack, Node,
                                NodeConfig, Prepare, Promise, Proposer, Voted)
from ..protocols.single import roles as _roles
from ..scenario import Scenario

# Slots read and written by snapshot/restore (config slots are rebuilt from the NodeConfig).
SLOTS = {
    Node: {"cfg", "acceptor", "learner", "proposer", "_round"},
    Acceptor: {"promised", "accepted", "bugs", "to_learners"},
    Learner: {"decided", "quorum", "votes", "bugs"},
    Proposer: {"cfg", "round", "seen_round", "ballot", "phase", "value", "proposal", "promises", "accepts",
               "attempt", "announcing", "acked", "announce_attempt", "bugs", "q1", "q2"},
}


def _blank(cls):
    """An instance of a role class whose every slot restore() then sets:
    without running __init__ (object.__new__) in the pure build; built by
    its constructor in the compiled one (setup.py), whose classes refuse
    object.__new__ and construct cheaply."""
    if cls is Node:
        return Node(_BLANK_CFG)
    if cls is Acceptor:
        return Acceptor(None, frozenset(), ())
    if cls is Learner:
        return Learner(None, 1, frozenset())
    return Proposer(_BLANK_CFG, 0)


_BLANK_CFG = NodeConfig("n1", ("n1",), 1, 1)
_new = _blank if _roles._COMPILED else object.__new__
ORDER_SENSITIVE = frozenset({"any-accepted", "reused-ballot", "blog"})
# Bugs that break what `dead` relies on: a proposer's round is durable and
# grows, a decision and a promise stay once stored.
NO_GC = frozenset({"reused-ballot", "reset-after-learn", "blog"})


def _stored(storage: tuple, key: str):
    for k, v in storage:
        if k == key:
            return v
    return None


class SingleDecree:
    """Adapter for paxsim.protocols.single.

    Abstraction: `Proposer.attempt` and `announce_attempt` only choose the
    [lo, hi] window of the next timer, and the explorer lets a timer fire at
    any moment, so snapshots leave them out (restored as 0).  States that
    differ only in them are one state."""

    def __init__(self, scenario: Scenario) -> None:
        self.names = scenario.nodes
        self.index = {n: i for i, n in enumerate(self.names)}
        self.cfgs = tuple(NodeConfig(name, scenario.nodes, scenario.phase1, scenario.phase2, scenario.retry,
                                     scenario.learning, frozenset(scenario.bugs)) for name in scenario.nodes)
        self.proposals = {p.node: p.value for p in scenario.proposers}
        self.values = tuple(p.value for p in scenario.proposers)
        self.fixed = frozenset(self.proposals)
        self.phase2 = self.cfgs[0].quorums[1] if self.cfgs else 0  # the learners' quorum (a bug may shrink it)
        # "chosen" is paxsim/check.py's: a quorum of the configured size, whatever a bug makes the roles count
        self.chosen_quorum = scenario.phase2
        self._votes_are_lists = "counts-duplicates" in scenario.bugs
        # The order promises arrived in matters only to these bugs (the first
        # report wins, or two values share a ballot); otherwise it is sorted away.
        self._sort_promises = not (ORDER_SENSITIVE & set(scenario.bugs))
        self._to_learners = tuple(c.nodes if c.learning == "acceptors" else () for c in self.cfgs)
        self.gc = scenario.storage == "durable" and not (NO_GC & set(scenario.bugs))
        self._prepare_ge = "prepare-ge" in scenario.bugs
        self._accept_any = "accept-skips-promise" in scenario.bugs

    # -- nodes ------------------------------------------------------------------
    def boot(self, i: int, storage: dict) -> Node:
        return Node(self.cfgs[i], storage)

    def snapshot(self, node: Node, timers_left: bool = True) -> tuple:
        """The node's state, canonical: equal for nodes that behave the same
        in every future (see the class docstring)."""
        a, lr, p = node.acceptor, node.learner, node.proposer
        votes = lr.votes
        if votes:
            votes = tuple(sorted(((k, tuple(sorted(v.items()))) for k, v in votes.items()), key=repr))
        else:
            votes = ()
        if p is None:
            return (a.promised, a.accepted, lr.decided, votes, node._round, None)
        phase = p.phase
        if phase == "done":
            # absorbing: only the announcement and its acknowledgements are ever read again
            ps = (0, 0, None, phase, None, None, (), (), p.announcing, tuple(sorted(p.acked)))
        else:
            rounds = (p.round, p.seen_round) if timers_left else (0, 0)
            promises = p.promises if phase == "prepare" else ()
            accepts = p.accepts if phase == "accept" else ()
            if type(promises) is dict:
                promises = tuple(promises.items())
                if self._sort_promises:
                    promises = tuple(sorted(promises))
            elif self._sort_promises:
                promises = tuple(sorted(promises, key=repr))
            else:
                promises = tuple(promises)
            accepts = tuple(sorted(accepts))
            ps = rounds + (None if phase == "backoff" else p.ballot, phase, p.value,
                           p.proposal if phase == "accept" else None, promises, accepts,
                           p.announcing, tuple(sorted(p.acked)))
        return (a.promised, a.accepted, lr.decided, votes, 0, ps)

    def restore(self, i: int, snap: tuple) -> Node:
        cfg = self.cfgs[i]
        node = _new(Node)
        node.cfg = cfg
        a = node.acceptor = _new(Acceptor)
        a.promised, a.accepted, a.bugs, a.to_learners = snap[0], snap[1], cfg.bugs, self._to_learners[i]
        lr = node.learner = _new(Learner)
        lr.decided, lr.quorum, lr.bugs = snap[2], self.phase2, cfg.bugs
        lr.votes = {k: dict(v) for k, v in snap[3]} if snap[3] else {}
        node._round = snap[4]
        ps = snap[5]
        if ps is None:
            node.proposer = None
            return node
        p = node.proposer = _new(Proposer)
        p.cfg, p.bugs = cfg, cfg.bugs
        p.q1, p.q2 = cfg.quorums
        (p.round, p.seen_round, p.ballot, p.phase, p.value, p.proposal, promises, accepts,
         p.announcing, acked) = ps
        if self._votes_are_lists:
            p.promises, p.accepts = list(promises), list(accepts)
        else:
            p.promises, p.accepts = dict(promises), dict.fromkeys(accepts, True)
        p.acked = dict.fromkeys(acked, True)
        p.attempt = p.announce_attempt = 0
        return node

    @staticmethod
    def propose(node: Node, value) -> list:
        return node.propose(value)

    @staticmethod
    def on_message(node: Node, src: str, msg) -> list:
        return node.on_message(src, msg)

    @staticmethod
    def on_timer(node: Node, name: str) -> list:
        return node.on_timer(name)

    @staticmethod
    def message_key(msg) -> tuple:
        ballot = getattr(msg, "ballot", None)
        return msg.type, (tuple(ballot) if ballot is not None else None)

    # -- dead messages ---------------------------------------------------------------
    # A message is dead when delivering it does nothing now and in every
    # future the budgets allow: no change of role state, no reply that is not
    # itself dead.  The explorer drops dead messages from the state, since a
    # state with one in flight and the same state without it have the same
    # futures (the delivery is a no-op, a loss only spends budget).  Sound
    # only with durable storage and without the bugs in NO_GC (`self.gc`).
    # `nodes` are the model's node entries (up, snapshot, storage, timers,
    # started); `timers_left`: a timer may still fire; `renewable`: a node
    # that is up may still crash and restart (a fresh proposer, acks forgotten).
    def dead(self, msg, src: int, dst: int, nodes: tuple, timers_left: bool, renewable: bool) -> bool:
        kind = type(msg)
        if kind is Promise:
            return not self._running(nodes[dst], msg.ballot, ("prepare",))
        if kind is Accepted:
            return msg.value is None and not self._running(nodes[dst], msg.ballot, ("prepare", "accept"))
        if kind is Nack:
            return self._dead_nack(nodes[dst], msg.ballot, msg.promised.round, timers_left, renewable)
        if kind is Learned:
            return self._dead_learned(src, dst, nodes, renewable)
        if kind is Learn:
            return self._dead_learn(src, dst, nodes, renewable)
        if kind is Prepare or kind is Accept:
            # refused forever (the stored promise only grows), and neither
            # the nack nor a decided node's learn that answers it can matter
            promised = _stored(nodes[dst][2], "acceptor")
            promised = promised[0] if promised is not None else None
            if promised is None:
                return False
            b = msg.ballot
            if kind is Prepare:
                refused = b < promised if self._prepare_ge else b <= promised
            else:
                refused = b < promised and not self._accept_any
            return (refused and self._dead_nack(nodes[src], b, None, timers_left, renewable)
                    and self._dead_learn(dst, src, nodes, renewable))
        return False

    @staticmethod
    def _running(entry: tuple, ballot, phases: tuple) -> bool:
        """Is the node's proposer in one of `phases` of `ballot`?  (A later
        proposer, after a restart, uses a higher ballot: rounds are durable.)"""
        snap = entry[1]
        if snap is None or snap[5] is None:
            return False
        ps = snap[5]
        return ps[3] in phases and ps[2] == ballot

    def _dead_nack(self, entry: tuple, ballot, promised_round: int | None, timers_left: bool,
                   renewable: bool) -> bool:
        """A nack for `ballot` promising round `promised_round` (None: any)."""
        if self._running(entry, ballot, ("prepare", "accept")):
            return False
        if not timers_left:
            return True  # seen_round is read only by a retry, which needs a timer firing
        up, snap, storage, _timers, _started = entry
        if promised_round is not None and promised_round <= (_stored(storage, "proposer") or 0):
            return True  # every proposer of this node, now or after a restart, has seen it
        ps = snap[5] if snap is not None else None
        if ps is None:
            return False
        if ps[3] == "done" and _stored(storage, "learner") is not None:
            return True  # announcing, and a restarted proposer announces at once: no retry ever
        return (not renewable and promised_round is not None and promised_round <= ps[1])

    def _dead_learned(self, src: int, dst: int, nodes: tuple, renewable: bool) -> bool:
        """`learned` from src to dst: read only by dst's proposer while announcing."""
        if self.names[dst] not in self.proposals:
            return True  # never a proposer
        up, snap, _storage, _timers, _started = nodes[dst]
        if renewable or not up or snap[5] is None:
            return False
        ps = snap[5]
        return ps[8] is not None and self.names[src] in ps[9]

    def _dead_learn(self, src: int, dst: int, nodes: tuple, renewable: bool) -> bool:
        """`learn` from src to dst: dead once dst's decision is stored (it
        only answers `learned`) and that answer is dead."""
        up, snap, storage, _timers, _started = nodes[dst]
        if _stored(storage, "learner") is None:
            return False
        if up and snap[5] is not None and snap[5][8] is None:
            return False  # its proposer would start announcing
        return self._dead_learned(dst, src, nodes, renewable)

    # -- renaming (symmetry) ----------------------------------------------------------
    # Only nodes outside `fixed` are renamed; their names never appear inside
    # ballots (only proposers make ballots), so messages and storage are unchanged.
    @staticmethod
    def rename_msg(msg, m: dict):
        return msg

    @staticmethod
    def rename_storage(storage: tuple, m: dict) -> tuple:
        return storage

    def rename_snap(self, snap: tuple, m: dict) -> tuple:
        votes = snap[3]
        if votes:
            votes = tuple((k, tuple((m[src], v) for src, v in vs)) for k, vs in votes)
        ps = snap[5]
        if ps is not None:
            promises = tuple((m[src], acc) for src, acc in ps[6])
            accepts = tuple(m[src] for src in ps[7])
            ps = ps[:6] + (promises, accepts, ps[8], tuple(m[n] for n in ps[9]))
        return snap[:3] + (votes, snap[4], ps)

    # -- safety -------------------------------------------------------------------------
    # history = (votes: (ballot, value, voter) sorted by repr, first decision per
    #            node (or None), whether each node knows a decision in its current storage life)
    # The definitions are paxsim/check.py's: chosen = a phase-2 quorum of
    # distinct acceptors voted (b, v); agreement, validity, integrity as there.
    def initial_history(self) -> tuple:
        n = len(self.names)
        return ((), (None,) * n, (False,) * n)

    def rename_history(self, hist: tuple, perm: list, m: dict) -> tuple:
        votes, first, knows = hist
        votes = tuple(sorted(((b, v, m[a]) for b, v, a in votes), key=repr))
        nf, nk = [None] * len(first), [False] * len(knows)
        for i, j in enumerate(perm):
            nf[j], nk[j] = first[i], knows[i]
        return votes, tuple(nf), tuple(nk)

    def forget(self, hist: tuple, i: int) -> tuple:
        """Node i restarted without its storage: it may decide again."""
        votes, first, knows = hist
        return votes, first, knows[:i] + (False,) + knows[i + 1:]

    def _chosen(self, votes: tuple) -> dict:
        count: dict = {}
        for b, v, _a in votes:
            count[(b, v)] = count.get((b, v), 0) + 1
        return {key: c for key, c in count.items() if c >= self.chosen_quorum}

    def observe(self, hist: tuple, i: int, effect) -> tuple[tuple, tuple | None]:
        """(new history, violation (kind, message) or None)."""
        kind = type(effect)
        if kind is Voted:
            votes, first, knows = hist
            vote = (effect.ballot, effect.value, self.names[i])
            if vote in votes:
                return hist, None
            votes = tuple(sorted(votes + (vote,), key=repr))
            hist = (votes, first, knows)
            chosen = self._chosen(votes)
            values = {v for _b, v in chosen}
            if len(values) > 1:
                shown = ", ".join(f"{v!r} at ({b[0]}, {b[1]})" for b, v in sorted(chosen, key=repr))
                return hist, ("agreement", f"two values chosen: {shown}")
            bad = [v for v in values if v not in self.values]
            if bad:
                return hist, ("validity", f"value {bad[0]!r} was chosen but no proposer was given it")
            return hist, None
        if kind is Decided:
            votes, first, knows = hist
            name, value = self.names[i], effect.value
            violation = None
            if knows[i]:
                violation = ("integrity", f"{name} decided twice without losing its storage")
            elif first[i] is not None and first[i] != value:
                violation = ("integrity", f"{name} changed its mind: {first[i]!r} then {value!r}")
            elif not any(v == value for _b, v in self._chosen(votes)):
                violation = ("integrity", f"{name} decided {value!r} but no quorum of acceptors had voted for it")
            if first[i] is None:
                first = first[:i] + (value,) + first[i + 1:]
                others = {f for f in first if f is not None}
                if violation is None and len(others) > 1:
                    violation = ("agreement", "learners disagree: " + "; ".join(
                        f"{n} decided {f!r}" for n, f in zip(self.names, first) if f is not None))
            return (votes, first, knows[:i] + (True,) + knows[i + 1:]), violation
        return hist, None
