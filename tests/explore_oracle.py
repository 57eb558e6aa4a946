"""An independent brute-force explorer, to check `paxsim explore` against.

Written from the documented semantics (README "Exhaustive search"), sharing
no code with `paxsim.explore`: it drives the roles of
`paxsim.protocols.single` itself, keeps whole `Node` objects (copied before
every step, keyed by every slot in insertion order, nothing abstracted), and
searches breadth-first with no reduction of any kind: no pruning, no dead
messages dropped, no reboots, no covering, no symmetry, no canonical role
state.  Its safety checks are `paxsim/check.py`'s definitions, written again:

* chosen: a phase-2 quorum (the scenario's configured size) of distinct
  acceptors voted (b, v);
* agreement: two values chosen, or two nodes' first decisions differ;
* validity: a chosen value no proposer was given;
* integrity: a node decides again within one life of its storage, changes
  its mind, or decides a value not chosen at that moment.

Transitions (any order, time abstracted away): a proposer starts (once; it
proposes again when it restarts); a message in flight is delivered (lost if
its node is down), lost (loss budget) or duplicated (once per send,
duplicate budget); an armed timer fires (timer budget); a node that is up
crashes (crash budget: its role state and timers are gone), one that is
down restarts (restart budget: from its storage, emptied when storage is
volatile).  A node's messages to itself are handled inside the transition
that sent them, in order, as the simulator delivers them.
"""

from __future__ import annotations

from collections import Counter

from paxsim.protocols.effects import Broadcast, CancelTimer, Persist, Send, SetTimer
from paxsim.protocols.single import Acceptor, Decided, Learner, Node, NodeConfig, Proposer, Voted

ROLES = (Node, Acceptor, Learner, Proposer)


def _slots(cls) -> tuple:
    """A role class's slots (a class compiled with mypyc lists them in __mypyc_attrs__)."""
    return getattr(cls, "__slots__", None) or tuple(a for a in cls.__mypyc_attrs__ if a != "__dict__")


def _empty(cls):
    """An instance whose slots the caller sets (a compiled class refuses object.__new__)."""
    try:
        return object.__new__(cls)
    except TypeError:
        from paxsim.explore.single import _blank

        return _blank(cls)


def _freeze(obj):
    """Every slot of a role object, recursively, order kept: an exact key."""
    if type(obj) in ROLES:
        return (type(obj).__name__,) + tuple(
            _freeze(getattr(obj, s)) for s in _slots(type(obj)) if s not in ("cfg", "bugs"))
    if isinstance(obj, dict):
        return ("dict",) + tuple((k, _freeze(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return ("list",) + tuple(_freeze(v) for v in obj)
    return obj


def _clone(obj):
    """A copy of a role object, every slot copied down to the immutable values
    (configuration shared)."""
    if type(obj) in ROLES:
        new = _empty(type(obj))
        for s in _slots(type(obj)):
            v = getattr(obj, s)
            setattr(new, s, v if s in ("cfg", "bugs") else _clone(v))
        return new
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj


class Oracle:
    def __init__(self, scenario, loss=0, duplicate=0, crash=0, restart=None, timers=0):
        self.names = tuple(scenario.nodes)
        self.cfgs = [NodeConfig(n, scenario.nodes, scenario.phase1, scenario.phase2, scenario.retry,
                                scenario.learning, frozenset(scenario.bugs)) for n in self.names]
        self.proposal = {p.node: p.value for p in scenario.proposers}
        self.values = [p.value for p in scenario.proposers]
        self.quorum = scenario.phase2
        self.volatile = scenario.storage == "volatile"
        self.budget0 = (loss, duplicate, crash, crash if restart is None else restart, timers)
        self._frozen: dict = {}

    # state: (nodes, net, budget, history)
    #   nodes[i] = [up, Node or None, storage dict, armed timer names (set), started]
    #   net      = Counter of (src, dst, msg, can_duplicate)
    #   history  = (set of votes (b, v, voter), first decision per node, decided in this storage life)
    def initial(self):
        nodes = [[True, Node(cfg, {}), {}, set(), False] for cfg in self.cfgs]
        return nodes, Counter(), list(self.budget0), (frozenset(), (None,) * len(nodes), (False,) * len(nodes))

    def key(self, state):
        nodes, net, budget, hist = state
        return (tuple((up, self._node_key(node), frozenset(storage.items()), frozenset(timers), started)
                      for up, node, storage, timers, started in nodes),
                frozenset(net.items()), tuple(budget), hist)

    def _node_key(self, node):
        # a node object is never changed once in a state (a step changes a copy), so its key is kept;
        # the memo holds the object too, so its id() cannot be reused by another
        memo = self._frozen.get(id(node))
        if memo is None:
            memo = self._frozen[id(node)] = (node, _freeze(node))
        return memo[1]

    def enabled(self, state):
        nodes, net, budget, _hist = state
        out = []
        for i, (up, _node, _storage, timers, started) in enumerate(nodes):
            if up and not started and self.names[i] in self.proposal:
                out.append(("propose", i))
        for m in list(net):
            out.append(("deliver", m))
            if budget[0]:
                out.append(("lose", m))
            if budget[1] and m[3]:
                out.append(("duplicate", m))
        for i, (up, _node, _storage, timers, _started) in enumerate(nodes):
            if budget[4]:
                out.extend(("timer", i, t) for t in sorted(timers))
            if up and budget[2]:
                out.append(("crash", i))
            if not up and budget[3]:
                out.append(("restart", i))
        return out

    def step(self, state, label):
        """(next state, list of violation kinds this transition shows)."""
        nodes, net, budget, hist = state
        nodes = [list(entry) for entry in nodes]
        net, budget = Counter(net), list(budget)
        self._hist, self._found = hist, []
        kind = label[0]
        if kind in ("deliver", "lose", "duplicate"):
            src, dst, msg, dup = m = label[1]
            net[m] -= 1
            if not net[m]:
                del net[m]
            if kind == "lose":
                budget[0] -= 1
            elif kind == "duplicate":
                budget[1] -= 1
                net[(src, dst, msg, False)] += 2
            elif nodes[dst][0]:
                self._run(nodes, net, dst, lambda node: node.on_message(self.names[src], msg))
        elif kind == "timer":
            _, i, name = label
            budget[4] -= 1
            nodes[i][3] = nodes[i][3] - {name}
            self._run(nodes, net, i, lambda node: node.on_timer(name))
        elif kind == "propose":
            i = label[1]
            nodes[i][4] = True
            self._run(nodes, net, i, lambda node: node.propose(self.proposal[self.names[i]]))
        elif kind == "crash":
            i = label[1]
            budget[2] -= 1
            nodes[i][0], nodes[i][1], nodes[i][3] = False, None, set()
        elif kind == "restart":
            i = label[1]
            budget[3] -= 1
            if self.volatile:
                nodes[i][2] = {}
                votes, first, knows = self._hist
                self._hist = (votes, first, knows[:i] + (False,) + knows[i + 1:])
            nodes[i][0], nodes[i][1] = True, Node(self.cfgs[i], dict(nodes[i][2]))
            if nodes[i][4]:
                self._run(nodes, net, i, lambda node: node.propose(self.proposal[self.names[i]]))
        return (nodes, net, budget, self._hist), self._found

    def _run(self, nodes, net, i, call):
        entry = nodes[i]
        node = entry[1] = _clone(entry[1])
        storage = entry[2] = dict(entry[2])
        timers = entry[3] = set(entry[3])
        name = self.names[i]
        local = []
        effects = call(node)
        while True:
            for effect in effects:
                t = type(effect)
                if t is Send or t is Broadcast:
                    for dst in (effect.dsts if t is Broadcast else (effect.dst,)):
                        if dst == name:
                            local.append(effect.msg)
                        else:
                            net[(i, self.names.index(dst), effect.msg, True)] += 1
                elif t is Persist:
                    storage[effect.key] = effect.data
                elif t is SetTimer:
                    timers.add(effect.name)
                elif t is CancelTimer:
                    timers.discard(effect.name)
                elif t is Voted:
                    self._vote(effect.ballot, effect.value, name)
                elif t is Decided:
                    self._decide(i, effect.value)
            if not local:
                return
            effects = node.on_message(name, local.pop(0))

    def _chosen(self, votes):
        count = Counter((b, v) for b, v, _a in votes)
        return {v for (b, v), c in count.items() if c >= self.quorum}

    def _vote(self, ballot, value, voter):
        votes, first, knows = self._hist
        votes = votes | {(ballot, value, voter)}
        self._hist = (votes, first, knows)
        chosen = self._chosen(votes)
        if len(chosen) > 1:
            self._found.append("agreement")
        if any(v not in self.values for v in chosen):
            self._found.append("validity")

    def _decide(self, i, value):
        votes, first, knows = self._hist
        if knows[i] or (first[i] is not None and first[i] != value) or value not in self._chosen(votes):
            self._found.append("integrity")
        if first[i] is None:
            first = first[:i] + (value,) + first[i + 1:]
            if len({f for f in first if f is not None}) > 1:
                self._found.append("agreement")
        self._hist = (votes, first, knows[:i] + (True,) + knows[i + 1:])


def search(oracle: Oracle, max_states: int = 2_000_000):
    """(shortest violating length or None, the kinds violated at that length, unique states)."""
    start = oracle.initial()
    seen = {oracle.key(start)}
    level, depth = [start], 0
    while level:
        found: set = set()
        nxt = []
        for state in level:
            for label in oracle.enabled(state):
                child, kinds = oracle.step(state, label)
                if kinds:
                    found.update(kinds)
                    continue
                k = oracle.key(child)
                if k not in seen:
                    seen.add(k)
                    nxt.append(child)
                    if len(seen) > max_states:
                        raise RuntimeError("oracle: too many states for a test configuration")
        depth += 1
        if found:
            return depth, found, len(seen)
        level = nxt
    return None, set(), len(seen)
