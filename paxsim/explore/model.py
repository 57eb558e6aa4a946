"""The explored system: states, transitions, symmetry.

A state is one immutable tuple, hashed and compared as a whole:

    (nodes, net, budget, history)
    nodes   : per node (up, role snapshot or None when down, stable storage as
              sorted items, armed timer names, proposal started)
    net     : the messages in flight, a multiset: sorted (src, dst, key, dup,
              msg, count); `dup` is True for a message sent but not yet
              duplicated (the simulator can duplicate a send once)
    budget  : faults left (loss, duplicate, crash, restart, timer firings)
    history : the protocol's safety history (votes cast, decisions)

Transitions (each a label):

    ("propose", i)                 node i's client asks it to propose (once)
    ("deliver", src, dst, msg, dup) one copy arrives (dropped if dst is down)
    ("lose", src, dst, msg, dup)    one copy is lost           (loss budget)
    ("duplicate", src, dst, msg)    a send gets a second copy  (duplicate budget)
    ("timer", i, name)              an armed timer fires       (timer budget)
    ("crash", i) / ("restart", i)   (crash / restart budgets; storage durable or volatile)

Time is abstracted away: any enabled transition may come next.  Messages a
node sends to itself are delivered at once, in order, inside the transition
that sent them, as the simulator delivers them (no network, zero delay): that
is what lets every counterexample replay exactly in `paxsim run`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import permutations
from typing import Any, Callable

from ..protocols.effects import Broadcast, CancelTimer, Persist, Send, SetTimer
from ..scenario import Explore, Scenario

# Symmetry reduction tries every renaming of the interchangeable nodes on every state: 4 nodes have
# 24 (89 unique states/s against 4,200 without, on 5 nodes), 5 have 120 (18 states/s, and a
# --time-limit of 10 s ran 18), and 10 have 3,628,800, listed up front (seconds and gigabytes before
# the search began).  Beyond this many nodes it is off, and the command says so.
MAX_SYMMETRIC = 4

LOSS, DUP, CRASH, RESTART, TIMERS = range(5)


class Recorder:
    """Hooks the counterexample writer uses while replaying a path."""

    def send(self, src: int, dst: int, msg: Any) -> None: ...

    def set_timer(self, node: int, name: str) -> None: ...


class Model:
    def __init__(self, scenario: Scenario, protocol: Any, budgets: Explore, symmetry: bool | None = None,
                 prune: bool = True, gc: bool = True, reduce: bool = True) -> None:
        self.scenario = scenario
        self.prune = prune  # skip subsumed transitions (see `step`)
        self.reduce = reduce and prune  # crashes as reboots (see `enabled`); relies on pruning's argument
        self.gc = gc and getattr(protocol, "gc", False)  # drop dead messages (see `_collect`)
        self._sends = 0
        self.p = protocol
        self.names = protocol.names
        self.n = len(self.names)
        self.volatile = scenario.storage == "volatile"
        self.proposal = tuple(protocol.proposals.get(name) for name in self.names)
        self.has_proposal = tuple(name in protocol.proposals for name in self.names)
        restart = budgets.crash if budgets.restart is None else budgets.restart
        self.budget0 = (budgets.loss, budgets.duplicate, budgets.crash, restart, budgets.timers)
        self._mkeys: dict = {}
        self._msgs: dict = {}  # message -> the first equal message object put in flight
        self._items: dict = {}  # interned covering items (see `cover`)
        self._ids: dict = {}  # node entries, budgets, histories, in-flight entries -> numbers (see `key`)
        self._parts: list = []  # number -> that part
        use_symmetry = budgets.symmetry if symmetry is None else symmetry
        movable = [i for i, name in enumerate(self.names) if name not in protocol.fixed]
        self.perms: list[list[int]] = []
        self.too_symmetric = len(movable) if use_symmetry and len(movable) > MAX_SYMMETRIC else 0
        if use_symmetry and 1 < len(movable) <= MAX_SYMMETRIC:
            for image in permutations(movable):
                perm = list(range(self.n))
                for src, dst in zip(movable, image):
                    perm[src] = dst
                self.perms.append(perm)
        self.symmetric = bool(self.perms)

    # -- states -------------------------------------------------------------------------
    def initial(self) -> tuple:
        nodes = []
        timers_left = self.budget0[TIMERS] > 0
        for i in range(self.n):
            node = self.p.boot(i, {})
            nodes.append((True, self.p.snapshot(node, timers_left), (), (), False))
        return tuple(nodes), (), self.budget0, self.p.initial_history()

    def mkey(self, msg: Any) -> str:
        key = self._mkeys.get(msg)
        if key is None:
            key = self._mkeys[msg] = repr(msg)
        return key

    def enabled(self, state: tuple) -> list[tuple]:
        """Every transition enabled in `state`, in a deterministic order.

        With `reduce` (the default; `--no-reduction` turns it off), crashes
        are explored only as reboots, and transitions that are always
        subsumed (a loss, a delivery to a node that is down) are not even
        generated.  Why this loses no violation and no shortest
        counterexample (counted in crash and restart labels, a reboot being
        two):

        * A crash never followed by a restart of that node is subsumed by not
          crashing: a node that is down does nothing (deliveries to it are
          subsumed, its timers are gone), and a node that is up can do
          nothing just as well (its messages stay in flight, its timers
          armed), while every other node and the history (per-node
          decisions, the set of votes) evolve the same.  Dropping the crash
          gives a schedule one transition shorter with the same violation.
        * Between a crash of node i and its restart nothing touches i (the
          node is down), and the restart reads only i's stable storage and
          budgets, and only adds messages to the multiset.  So the restart
          commutes with every transition in between (Lipton: it is a left
          mover) and `crash i; w; restart i; v` reaches the same state as
          `reboot i; w; v`, with the same number of labels.  A violation
          inside w does not need the crash at all (first point); one in the
          restart or in v is seen with the same history (votes are a set,
          decisions per node), except that a decision without a quorum may
          be flagged earlier, which is a real schedule too.
        """
        if self.reduce:
            return self._enabled_reduced(state)
        nodes, net, budget, _hist = state
        out: list[tuple] = []
        for i, (up, _snap, _storage, timers, started) in enumerate(nodes):
            if up and not started and self.has_proposal[i]:
                out.append(("propose", i))
        for src, dst, _key, dup, msg, _count in net:
            out.append(("deliver", src, dst, msg, dup))
        if budget[LOSS]:
            for src, dst, _key, dup, msg, _count in net:
                out.append(("lose", src, dst, msg, dup))
        self._duplicates_and_timers(nodes, net, budget, out)
        for i, node in enumerate(nodes):
            if node[0]:
                if budget[CRASH]:
                    out.append(("crash", i))
            elif budget[RESTART]:
                out.append(("restart", i))
        return out

    @staticmethod
    def _duplicates_and_timers(nodes: tuple, net: tuple, budget: tuple, out: list) -> None:
        """The duplications and timer firings enabled in a state, in the
        order both generators list them (after deliveries and losses)."""
        if budget[DUP]:
            for src, dst, _key, dup, msg, _count in net:
                if dup:
                    out.append(("duplicate", src, dst, msg))
        if budget[TIMERS]:
            for i, node in enumerate(nodes):
                for name in node[3]:
                    out.append(("timer", i, name))

    def _enabled_reduced(self, state: tuple) -> list[tuple]:
        nodes, net, budget, _hist = state
        out: list[tuple] = []
        for i, (up, _snap, _storage, timers, started) in enumerate(nodes):
            if up and not started and self.has_proposal[i]:
                out.append(("propose", i))
        for src, dst, _key, dup, msg, _count in net:
            if nodes[dst][0]:
                out.append(("deliver", src, dst, msg, dup))
        self._duplicates_and_timers(nodes, net, budget, out)
        if budget[CRASH] and budget[RESTART]:
            for i, node in enumerate(nodes):
                if node[0]:
                    out.append(("reboot", i))
        for i, node in enumerate(nodes):
            if not node[0] and budget[RESTART]:
                out.append(("restart", i))  # only from a state reached without the reduction
        return out

    def apply(self, state: tuple, label: tuple, rec: Recorder | None = None) -> tuple[tuple, tuple | None]:
        """(next state, violation or None) after transition `label`."""
        child, violation, _subsumed = self.step(state, label, rec)
        return child, violation

    def step(self, state: tuple, label: tuple, rec: Recorder | None = None) -> tuple[tuple, tuple | None, bool]:
        """(next state, violation or None, subsumed).  `subsumed` says the
        transition only took options away: it lost a message, delivered one
        to a node that is down or that did nothing with it, or fired a timer
        that did nothing.  Everything the next state can do, `state` can do
        too (leave that message in flight forever, never fire that timer), so
        a search for safety violations need not go there: a schedule through
        it is a longer schedule through `state`."""
        nodes, net, budget, hist = state
        self._sends = 0
        self._timers_left = budget[TIMERS] > 0
        subsumed = False
        kind = label[0]
        nodes_l = list(nodes)
        netd = list(net)
        budget_l = list(budget)
        violation = None
        if kind == "deliver" or kind == "lose":
            _, src, dst, msg, dup = label
            self._take(netd, src, dst, msg, dup)
            if kind == "lose":
                budget_l[LOSS] -= 1
                subsumed = True
            elif nodes[dst][0]:
                before = hist
                hist, violation = self._run(nodes_l, netd, hist, dst, lambda node: self.p.on_message(
                    node, self.names[src], msg), rec)
                subsumed = self._sends == 0 and nodes_l[dst] == nodes[dst] and hist == before
            else:
                subsumed = True
        elif kind == "duplicate":
            _, src, dst, msg = label
            self._take(netd, src, dst, msg, True)
            self._put(netd, src, dst, msg, False, 2)
            budget_l[DUP] -= 1
        elif kind == "timer":
            _, i, name = label
            budget_l[TIMERS] -= 1
            last = not budget_l[TIMERS]
            if last:
                self._timers_left = False
            up, snap, storage, timers, started = nodes_l[i]
            nodes_l[i] = disarmed = (up, snap, storage, tuple(t for t in timers if t != name), started)
            before = hist
            hist, violation = self._run(nodes_l, netd, hist, i, lambda node: self.p.on_timer(node, name), rec)
            if last:
                # forgotten only now: this very firing still reads the rounds (a retry's next ballot)
                self._forget_timers(nodes_l)
                disarmed = (up, self.p.snapshot(self.p.restore(i, snap), False), storage, (), started)
            subsumed = self._sends == 0 and nodes_l[i] == disarmed and hist == before
        elif kind == "propose":
            i = label[1]
            up, snap, storage, timers, _started = nodes_l[i]
            nodes_l[i] = (up, snap, storage, timers, True)
            value = self.proposal[i]
            hist, violation = self._run(nodes_l, netd, hist, i, lambda node: self.p.propose(node, value), rec)
        elif kind == "crash":
            i = label[1]
            budget_l[CRASH] -= 1
            _up, _snap, storage, _timers, started = nodes_l[i]
            nodes_l[i] = (False, None, storage, (), started)
        elif kind == "restart":
            i = label[1]
            budget_l[RESTART] -= 1
            _up, _snap, storage, _timers, started = nodes_l[i]
            if self.volatile:
                storage = ()
                hist = self.p.forget(hist, i)
            node = self.p.boot(i, dict(storage))
            nodes_l[i] = (True, self.p.snapshot(node, self._timers_left), storage, (), started)
            if started:
                value = self.proposal[i]
                hist, violation = self._run(nodes_l, netd, hist, i, lambda n: self.p.propose(n, value), rec)
        elif kind == "reboot":
            # a crash and, at once, the restart (see `enabled`); subsumed when
            # the node comes back exactly as it was and sends nothing
            if rec is not None:
                raise ValueError("expand reboots into crash and restart before recording")
            before = hist
            self._timers_left = budget[TIMERS] > 0
            crashed, _v, _s = self.step(state, ("crash", label[1]))
            child, violation, _s = self.step(crashed, ("restart", label[1]))
            subsumed = self._sends == 0 and child[0][label[1]] == nodes[label[1]] and child[3] == before
            return child, violation, subsumed
        else:
            raise ValueError(f"unknown transition {label!r}")
        nodes_t = tuple(nodes_l)
        if netd and self.gc:
            if budget_l[CRASH:] != list(budget[CRASH:]):
                netd = self._collect(nodes_t, netd, budget_l)
            elif kind in ("deliver", "timer", "propose"):
                # only messages from or to the node that moved can have died
                # (`dead` reads those two nodes and the budgets), and those
                # in `state` were all alive
                netd = self._collect(nodes_t, netd, budget_l, label[2] if kind == "deliver" else label[1])
        return (nodes_t, tuple(netd), tuple(budget_l), hist), violation, subsumed

    def _collect(self, nodes: tuple, netd: list, budget: list, moved: int | None = None) -> list:
        """The in-flight messages without the dead ones: those whose delivery
        can change nothing in any future the budgets allow (a node that is
        down for good, or the protocol's `dead`).  With `moved`, only the
        messages from or to that node are looked at."""
        timers_left = budget[TIMERS] > 0
        renewable = budget[CRASH] > 0 and budget[RESTART] > 0
        restarts = budget[RESTART] > 0
        dead = self.p.dead
        if moved is not None:
            return [e for e in netd if (e[0] != moved and e[1] != moved) or (
                (nodes[e[1]][0] or restarts) and not dead(e[4], e[0], e[1], nodes, timers_left, renewable))]
        keep = [e for e in netd if (nodes[e[1]][0] or restarts)
                and not dead(e[4], e[0], e[1], nodes, timers_left, renewable)]
        return keep

    def _forget_timers(self, nodes_l: list) -> None:
        """The last timer firing was spent: armed timers can never fire, and
        what only a timer would read is forgotten (see `snapshot`)."""
        p = self.p
        for j, (up, snap, storage, _timers, started) in enumerate(nodes_l):
            if snap is not None:
                snap = p.snapshot(p.restore(j, snap), False)
            nodes_l[j] = (up, snap, storage, (), started)

    # The in-flight multiset is a sorted list of (src, dst, key, dup, msg, count);
    # a 4-tuple probe sorts just before the entry it names.
    def _take(self, netd: list, src: int, dst: int, msg: Any, dup: bool) -> None:
        probe = (src, dst, self.mkey(msg), dup)
        k = bisect_left(netd, probe)
        entry = netd[k]
        if entry[:4] != probe:
            raise ValueError(f"no such message in flight: {probe!r}")
        if entry[5] == 1:
            del netd[k]
        else:
            netd[k] = entry[:5] + (entry[5] - 1,)

    def _put(self, netd: list, src: int, dst: int, msg: Any, dup: bool, count: int = 1) -> None:
        # one object per distinct message, so that in-flight entries mostly
        # compare by identity (see `shared`)
        msg = self._msgs.setdefault(msg, msg)
        key = self._mkeys.get(msg)
        if key is None:
            key = self.mkey(msg)
        probe = (src, dst, key, dup)
        k = bisect_left(netd, probe)
        if k < len(netd) and netd[k][:4] == probe:
            netd[k] = netd[k][:5] + (netd[k][5] + count,)
        else:
            netd.insert(k, (src, dst, key, dup, msg, count))

    def _run(self, nodes_l: list, netd: list, hist: tuple, i: int, call: Callable, rec: Recorder | None):
        """Feed node i one input, then the messages it sends itself, in order."""
        up, snap, storage, timers, started = nodes_l[i]
        p = self.p
        name = self.names[i]
        node = p.restore(i, snap)
        store = None
        timer_set = None
        violation = None
        local: list = []
        effects = call(node)
        k = 0
        while True:
            for effect in effects:
                kind = type(effect)
                if kind is Send:
                    if effect.dst == name:
                        local.append(effect.msg)
                    else:
                        dst = p.index[effect.dst]
                        self._sends += 1
                        self._put(netd, i, dst, effect.msg, True)
                        if rec is not None:
                            rec.send(i, dst, effect.msg)
                elif kind is Broadcast:
                    msg = effect.msg
                    for d in effect.dsts:
                        if d == name:
                            local.append(msg)
                        else:
                            dst = p.index[d]
                            self._sends += 1
                            self._put(netd, i, dst, msg, True)
                            if rec is not None:
                                rec.send(i, dst, msg)
                elif kind is Persist:
                    if store is None:
                        store = dict(storage)
                    store[effect.key] = effect.data
                elif kind is SetTimer:
                    if timer_set is None:
                        timer_set = set(timers)
                    timer_set.add(effect.name)
                    if rec is not None:
                        rec.set_timer(i, effect.name)
                elif kind is CancelTimer:
                    if timer_set is None:
                        timer_set = set(timers)
                    timer_set.discard(effect.name)
                else:
                    hist, v = p.observe(hist, i, effect)
                    if v is not None and violation is None:
                        violation = v
            if k == len(local):
                break
            msg = local[k]
            k += 1
            effects = p.on_message(node, name, msg)
        if store is not None:
            storage = tuple(sorted(store.items()))
        if timer_set is not None and self._timers_left:
            timers = tuple(sorted(timer_set))
        nodes_l[i] = (up, p.snapshot(node, self._timers_left), storage, timers, started)
        return hist, violation

    # -- covering -----------------------------------------------------------------------
    def cover(self, state: tuple, state_key: bytes) -> tuple[bytes, tuple, frozenset]:
        """(key, budgets, in-flight set) for covering (see search.explore):
        states with one key differ only in their budgets and in-flight
        messages, and one with budgets no smaller and a set containing
        another's can do everything the other can.  The timer budget is in
        the key: whether a firing is left changes what snapshots keep.  The set has one item per
        copy: (src, dst, message key, duplicable, k) for k < count.  The key
        is exact: the numbers of the node entries and the history, cut from
        the state's own `key`, and the timer budget."""
        nodes, net, budget, hist = state
        items = self._items
        out = []
        for src, dst, key, dup, _msg, count in net:
            for k in range(count):
                probe = (src, dst, key, dup, k)
                item = items.get(probe)
                if item is None:
                    item = items[probe] = probe
                out.append(item)
        n4 = 4 * self.n  # the key's layout: 4 bytes per number, nodes, budgets, history
        return (state_key[:n4] + state_key[n4 + 4:n4 + 8] + str(budget[TIMERS]).encode(), budget,
                frozenset(out))

    # -- keys ---------------------------------------------------------------------------
    def key(self, state: tuple) -> bytes:
        """The state's visited-set key: exact, and the same bytes in every
        process.  Each part of the state (a node's entry, the budgets, the
        history, one in-flight entry) is numbered the first time the search
        meets it (`_ids`, by ==, so never confused with another part), and
        the key is those numbers in a fixed layout: the nodes', the
        budgets', the history's, then the in-flight entries' (the only part
        of variable length, last).  Two states have one key exactly when
        they are equal, so no collision can hide a state, and the numbering
        follows the search's own deterministic order, so a state gets the
        same key bytes under any PYTHONHASHSEED.  (The hash of those bytes
        is salted per process like a string's, but dicts compare keys by
        equality and iterate in insertion order, so no result depends on it.)"""
        nodes, net, budget, hist = state
        parts = nodes + (budget, hist) + net
        ids = self._ids
        ks = list(map(ids.get, parts))
        if None in ks:
            table = self._parts
            for j, k in enumerate(ks):
                if k is None:
                    part = parts[j]
                    k = ids.get(part)  # met earlier in this same state
                    if k is None:
                        k = ids[part] = len(table)
                        table.append(part)
                    ks[j] = k
        return array("I", ks).tobytes()

    def shared(self, key: bytes) -> tuple:
        """The state whose key is `key`, made of the table's own objects: the
        states the search keeps share their parts, and the next lookup of a
        part a transition left alone compares by identity, not field by
        field.  (Built only for the states the search keeps: most successors
        are seen already, and only their key is needed.)"""
        ks = array("I")
        ks.frombytes(key)
        parts = list(map(self._parts.__getitem__, ks))
        n = self.n
        return tuple(parts[:n]), tuple(parts[n + 2:]), parts[n], parts[n + 1]

    # -- symmetry -----------------------------------------------------------------------
    def rename(self, state: tuple, perm: list[int]) -> tuple:
        """The state with node i called perm[i]."""
        nodes, net, budget, hist = state
        names = self.names
        m = {names[i]: names[j] for i, j in enumerate(perm)}
        p = self.p
        new_nodes: list = [None] * self.n
        for i, (up, snap, storage, timers, started) in enumerate(nodes):
            new_nodes[perm[i]] = (up, None if snap is None else p.rename_snap(snap, m),
                                  p.rename_storage(storage, m), timers, started)
        new_net = []
        for src, dst, _key, dup, msg, count in net:
            msg = p.rename_msg(msg, m)
            new_net.append((perm[src], perm[dst], self.mkey(msg), dup, msg, count))
        new_net.sort()
        return tuple(new_nodes), tuple(new_net), budget, p.rename_history(hist, perm, m)

    def canonical(self, state: tuple) -> tuple[tuple, list[int] | None]:
        """A fixed representative of the state's class under renaming of
        interchangeable nodes (the least by repr), and the renaming used."""
        if not self.perms:
            return state, None
        best, best_key, best_perm = None, None, None
        for perm in self.perms:
            renamed = self.rename(state, perm)
            key = repr(renamed)
            if best_key is None or key < best_key:
                best, best_key, best_perm = renamed, key, perm
        return best, best_perm

    def unrename_label(self, label: tuple, perm: list[int] | None) -> tuple:
        """A label on the canonical state, as a label on the state it came from."""
        if perm is None:
            return label
        inv = [0] * len(perm)
        for i, j in enumerate(perm):
            inv[j] = i
        kind = label[0]
        if kind in ("deliver", "lose", "duplicate"):
            m = {self.names[j]: self.names[i] for j, i in enumerate(inv)}
            return (kind, inv[label[1]], inv[label[2]], self.p.rename_msg(label[3], m)) + label[4:]
        return (kind, inv[label[1]]) + label[2:]
