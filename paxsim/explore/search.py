"""Breadth-first (default), depth-first and random-walk search over a Model.

Visited states are kept by an exact key (`Model.key`: the state's parts
numbered in the order the search first meets them, packed as bytes): each
entry maps a state's key to its parent's key and the transition that
reached it, so a counterexample is rebuilt by walking back.  Keys are equal
exactly when states are, so no state is ever skipped for sharing a hash with
another, and nothing the search does depends on Python's per-process string
hashing (PYTHONHASHSEED): dicts are looked up by equality and iterated in
insertion order.

Determinism: successors are generated in a fixed order (sorted in-flight
messages, node order), so BFS and DFS visit states in the same order in any
process; the random walk draws from `random.Random(seed)`.
"""

from __future__ import annotations

import random
import resource
import time
from collections import deque
from dataclasses import dataclass, field
from operator import ge
from typing import Any, Callable

from .model import Model


@dataclass
class Result:
    strategy: str
    visited: int = 0  # states popped and expanded
    unique: int = 0  # distinct (canonical) states seen
    transitions: int = 0
    pruned: int = 0  # subsumed transitions not followed (see Model.step)
    covered: int = 0  # new states not followed: an explored state covers them (BFS with covering)
    max_depth: int = 0
    seconds: float = 0.0
    exhausted: bool = False
    bound: str | None = None  # which bound stopped the search first
    violation: tuple | None = None  # (kind, message) found by the explorer
    path: list[tuple] = field(default_factory=list)  # labels from the initial state, concrete
    shortest: bool = False  # the path is a shortest one (BFS that was not stopped by a bound first)
    symmetry: bool = False
    peak_rss_mib: float = 0.0

    @property
    def states_per_second(self) -> float:
        """Unique states found per second."""
        return self.unique / self.seconds if self.seconds > 0 else 0.0

    @property
    def visited_per_second(self) -> float:
        """States expanded per second: what a random walk, which comes back to
        states it has seen, spends its time on."""
        return self.visited / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "strategy": self.strategy, "states_visited": self.visited, "unique_states": self.unique,
            "transitions": self.transitions, "pruned": self.pruned,
            "covered": self.covered, "max_depth": self.max_depth, "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "visited_per_second": round(self.visited_per_second, 1), "exhausted": self.exhausted,
            "bound": self.bound, "symmetry": self.symmetry, "peak_rss_mib": round(self.peak_rss_mib, 1),
            "violation": None if self.violation is None else {"kind": self.violation[0],
                                                              "message": self.violation[1]},
            "counterexample_length": len(self.path) if self.violation else None,
            "shortest": self.shortest if self.violation else None,
        }


_MISSING = object()
STALE_WALKS = 1000  # a random walk stops after this many walks in a row without a new state


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def concretize(model: Model, path: list[tuple]) -> list[tuple]:
    """Labels recorded on canonical states -> labels on the states actually
    reached from the initial one (undoing each step's renaming)."""
    state = model.initial()
    out = []
    for label in path:
        _canon, perm = model.canonical(state)
        concrete = model.unrename_label(label, perm)
        out.append(concrete)
        state, _ = model.apply(state, concrete)
    return out


def expand(path: list[tuple]) -> list[tuple]:
    """A path with every reboot written as the crash and restart it stands for."""
    out = []
    for label in path:
        if label[0] == "reboot":
            out.extend((("crash", label[1]), ("restart", label[1])))
        else:
            out.append(label)
    return out


def explore(model: Model, strategy: str = "bfs", max_depth: int | None = None, max_states: int | None = None,
            time_limit: float | None = None, seed: int = 0,
            progress: Callable[[int], None] | None = None, covering: bool | None = None) -> Result:
    """Search `model`.  `covering` (default: on with the model's reduction,
    BFS only) skips a state B when a state A queued at a depth no greater
    has the same node states and history, budgets no smaller and at least
    B's messages in flight (multiset inclusion): B is not queued if A came
    first, and dropped from the queue, not yet expanded, if A comes later.

    Why that is sound and keeps counterexamples shortest: a transition's
    effect on node states, history and the messages it adds depends only on
    its own node, message and the history, never on the rest of the
    multiset; dead messages are dropped by a rule that reads only node states
    and budgets, and a message dead under smaller budgets is dead under
    larger ones or else can simply stay in flight.  So every transition enabled in B is enabled in A and leads
    to a pair of states related the same way, and by induction every
    schedule from B, with its violation, runs from A with the same length.
    A is at a depth no greater than B's, so the shortest counterexample
    through B has one no longer through A.  (This is the monotonicity of a
    lossy network: a message may always stay in flight forever.)"""
    res = Result(strategy, symmetry=model.symmetric)
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    init, _ = model.canonical(model.initial())
    state_key = model.key
    shared = model.shared
    h0 = state_key(init)
    init = shared(h0)
    parents: dict[bytes, Any] = {h0: None}
    res.unique = 1
    found: tuple | None = None  # random walk: (None, label, violation)

    def out_of_bounds() -> bool:
        if max_states is not None and res.unique >= max_states:
            res.bound = "max-states"
            return True
        if deadline is not None and time.perf_counter() > deadline:
            res.bound = "time-limit"
            return True
        return False

    canonical = model.canonical
    step = model.step
    prune = model.prune
    enabled = model.enabled
    if strategy not in ("bfs", "dfs", "random"):
        raise ValueError(f"unknown strategy {strategy!r}")
    try:
        if strategy in ("bfs", "dfs"):
            # BFS by labels: a reboot is two labels (crash, restart), so its
            # child goes two levels down (`levels`, one list per depth); a state
            # first seen two levels down and then one level down is moved up
            # (its stale entry is skipped).  DFS uses one stack.
            bfs = strategy == "bfs"
            cover = model.cover if (bfs and (model.reduce if covering is None else covering)) else None
            covers: dict[tuple, list] = {}  # cover key -> [(depth, budgets, in-flight set, key)] of states queued
            if cover is not None:
                k0, b0, items0 = cover(init, h0)
                covers[k0] = [(0, b0, items0, h0)]
            levels: dict[int, list] = {0: [(init, h0, 0)]}
            stack: list = levels[0] if not bfs else []
            level = 0
            cursor = 0
            truncated = False
            best: tuple | None = None  # (cost, parent key, label, violation)
            while True:
                if bfs:
                    current = levels.get(level)
                    if current is None or cursor >= len(current):
                        levels.pop(level, None)
                        if not levels:
                            break
                        level += 1
                        cursor = 0
                        continue
                    if best is not None and best[0] <= level + 1:
                        break  # nothing from this level on can be shorter
                    state, h, depth = current[cursor]
                    current[cursor] = None
                    cursor += 1
                    entry = parents[h]
                    if entry is not None and (entry[2] != depth or len(entry) == 4):
                        continue  # reached again one level higher (expanded there), or covered since
                else:
                    if not stack:
                        break
                    state, h, depth = stack.pop()
                if max_states is not None and res.unique >= max_states:
                    res.bound = "max-states"
                    break
                if (res.visited & 255) == 0:
                    if progress is not None:
                        progress(res.unique)
                    if out_of_bounds():
                        break
                res.visited += 1
                if depth > res.max_depth:
                    res.max_depth = depth
                labels = enabled(state)
                if max_depth is not None and depth >= max_depth:
                    if labels:
                        truncated = True
                    continue
                children = []
                for label in labels:
                    child, violation, subsumed = step(state, label)
                    res.transitions += 1
                    if subsumed and prune and violation is None:
                        res.pruned += 1
                        continue
                    cost = depth + (2 if label[0] == "reboot" else 1)
                    if max_depth is not None and cost > max_depth:
                        truncated = True  # a reboot from the last level but one
                        continue
                    if violation is not None:
                        if best is None or cost < best[0]:
                            best = (cost, h, label, violation)
                        if not bfs:
                            break
                        continue
                    child, _ = canonical(child)
                    ch = state_key(child)
                    if bfs:
                        entry = parents.get(ch, _MISSING)
                        if entry is not _MISSING and (entry is None or entry[2] <= cost):
                            continue
                        # queued before (a 3-tuple), now one level higher: counted already
                        counted = entry is not _MISSING and len(entry) == 3
                        if cover is not None:
                            key, budget, items = cover(child, ch)
                            group = covers.get(key)
                            if group is None:
                                covers[key] = [(cost, budget, items, ch)]
                            elif any(d <= cost and items <= other and all(map(ge, b, budget))
                                     for d, b, other, _h in group):
                                res.covered += 1
                                parents[ch] = (h, label, cost, True)  # covered, never expanded
                                continue
                            else:
                                # and the other way: queued states, no higher, that this one covers
                                # (not expanded yet: they are at least one level down)
                                for d, b, other, oh in group:
                                    if d >= cost and other <= items and all(map(ge, budget, b)):
                                        old = parents[oh]
                                        if len(old) == 3 and old[2] == d:
                                            parents[oh] = old + (True,)
                                            res.covered += 1
                                            res.unique -= 1
                                group.append((cost, budget, items, ch))
                        parents[ch] = (h, label, cost)
                        if not counted:
                            res.unique += 1
                        levels.setdefault(cost, []).append((shared(ch), ch, cost))
                    elif ch not in parents:
                        parents[ch] = (h, label)
                        res.unique += 1
                        children.append((shared(ch), ch, cost))
                    if max_states is not None and res.unique >= max_states:
                        break  # exactly max_states known: the check before the next expansion stops the search
                if best is not None and not bfs:
                    break
                if children:
                    children.reverse()  # explore the first enabled transition first
                    stack.extend(children)
            if best is None and res.bound is None:
                if truncated:
                    res.bound = "max-depth"
                else:
                    res.exhausted = True
            if best is not None:
                # shortest only if BFS saw every level below it: a bound can stop it after a reboot
                # found a violation two levels down and before the next level was searched
                res.shortest = bfs and res.bound is None
                res.bound = None  # a violation is a verdict, whatever bound was near
                _cost, h, label, violation = best
                path = [label]
                while parents[h] is not None:
                    h, label = parents[h][:2]
                    path.append(label)
                path.reverse()
                res.violation = violation
                res.path = expand(concretize(model, path))
                res.max_depth = max(res.max_depth, len(res.path))
        elif strategy == "random":
            rng = random.Random(seed)
            limit = 200 if max_depth is None else max_depth
            stale = 0  # walks in a row that met no new state
            while found is None:
                if progress is not None:
                    progress(res.unique)
                if out_of_bounds():
                    break
                if stale >= STALE_WALKS:
                    # a space smaller than --max-states (and no --time-limit) would be walked forever
                    res.bound = "no-new-states"
                    break
                unique_before = res.unique
                state, path = model.initial(), []
                for _ in range(limit):
                    labels = enabled(state)
                    if not labels:
                        break
                    label = labels[rng.randrange(len(labels))]
                    state, violation = model.apply(state, label)
                    res.transitions += 1
                    res.visited += 1
                    path.append(label)
                    ch = state_key(canonical(state)[0])
                    if ch not in parents:
                        parents[ch] = True
                        res.unique += 1
                    if violation is not None:
                        found = (None, label, violation)
                        res.violation, res.path = violation, expand(path)
                        break
                    if max_states is not None and res.unique >= max_states:
                        break  # exactly max_states known: out_of_bounds stops the walks
                res.max_depth = max(res.max_depth, len(path))
                stale = stale + 1 if res.unique == unique_before else 0
            # a random walk never proves anything: without a violation, a bound stopped it
    except KeyboardInterrupt:  # Ctrl-C: a bound like the others, so what was searched is reported
        res.bound, res.exhausted = "interrupted", False
        if not res.path:  # caught between finding a violation and writing its schedule: none to show
            res.violation = None
    res.seconds = time.perf_counter() - start
    res.peak_rss_mib = _peak_rss_mib()
    if progress is not None:
        progress(res.unique)
    return res
