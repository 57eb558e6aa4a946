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

from ..protocols.single import Acceptor, Decided, Learner, Node, NodeConfig, Proposer, Voted
from ..scenario import Scenario

# Slots read and written by snapshot/restore (config slots are rebuilt from the NodeConfig).
SLOTS = {
    Node: {"cfg", "acceptor", "learner", "proposer", "_round"},
    Acceptor: {"promised", "accepted", "bugs", "to_learners"},
    Learner: {"decided", "quorum", "votes", "bugs"},
    Proposer: {"cfg", "round", "seen_round", "ballot", "phase", "value", "proposal", "promises", "accepts",
               "attempt", "announcing", "acked", "announce_attempt", "bugs", "q1", "q2"},
}

_new = object.__new__


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
        self.phase2 = self.cfgs[0].quorums[1] if self.cfgs else 0
        self._votes_are_lists = "counts-duplicates" in scenario.bugs
        self._to_learners = tuple(c.nodes if c.learning == "acceptors" else () for c in self.cfgs)

    # -- nodes ------------------------------------------------------------------
    def boot(self, i: int, storage: dict) -> Node:
        return Node(self.cfgs[i], storage)

    def snapshot(self, node: Node) -> tuple:
        a, lr, p = node.acceptor, node.learner, node.proposer
        votes = tuple((k, tuple(v.items())) for k, v in lr.votes.items()) if lr.votes else ()
        if p is None:
            ps = None
        else:
            promises = p.promises
            accepts = p.accepts
            ps = (p.round, p.seen_round, p.ballot, p.phase, p.value, p.proposal,
                  tuple(promises) if type(promises) is list else tuple(promises.items()),
                  tuple(accepts) if type(accepts) is list else tuple(accepts),
                  p.announcing, tuple(p.acked))
        return (a.promised, a.accepted, lr.decided, votes, node._round, ps)

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
        return {key: c for key, c in count.items() if c >= self.phase2}

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
