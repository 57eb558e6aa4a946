"""Breadth-first (default), depth-first and random-walk search over a Model.

Visited states are kept by hash only (Python's 64-bit `hash` of the
canonical state tuple): each entry maps a state's hash to its parent's hash
and the transition that reached it, so a counterexample is rebuilt by
walking back.  Two distinct states with one hash would make the search skip
one (about n**2 / 2**64: 1e-7 for 2e6 states); the counterexample it returns
is always replayed and checked, so a collision can hide a state but never
forge a violation.

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
from typing import Any, Callable

from .model import Model


@dataclass
class Result:
    strategy: str
    visited: int = 0  # states popped and expanded
    unique: int = 0  # distinct (canonical) states seen
    transitions: int = 0
    pruned: int = 0  # subsumed transitions not followed (see Model.step)
    max_depth: int = 0
    seconds: float = 0.0
    exhausted: bool = False
    bound: str | None = None  # which bound stopped the search first
    violation: tuple | None = None  # (kind, message) found by the explorer
    path: list[tuple] = field(default_factory=list)  # labels from the initial state, concrete
    symmetry: bool = False
    peak_rss_mib: float = 0.0

    @property
    def states_per_second(self) -> float:
        return self.unique / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "strategy": self.strategy, "states_visited": self.visited, "unique_states": self.unique,
            "transitions": self.transitions, "pruned": self.pruned, "max_depth": self.max_depth, "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1), "exhausted": self.exhausted,
            "bound": self.bound, "symmetry": self.symmetry, "peak_rss_mib": round(self.peak_rss_mib, 1),
            "violation": None if self.violation is None else {"kind": self.violation[0],
                                                              "message": self.violation[1]},
            "counterexample_length": len(self.path) if self.violation else None,
        }


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


def explore(model: Model, strategy: str = "bfs", max_depth: int | None = None, max_states: int | None = None,
            time_limit: float | None = None, seed: int = 0,
            progress: Callable[[int], None] | None = None) -> Result:
    res = Result(strategy, symmetry=model.symmetric)
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    init, _ = model.canonical(model.initial())
    h0 = hash(init)
    parents: dict[int, Any] = {h0: None}
    res.unique = 1
    found: tuple | None = None  # (parent hash, label, violation)

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
    if strategy in ("bfs", "dfs"):
        frontier: deque = deque([(init, h0, 0)])
        pop = frontier.popleft if strategy == "bfs" else frontier.pop
        truncated = False
        while frontier:
            if max_states is not None and res.unique >= max_states:
                res.bound = "max-states"
                break
            if (res.visited & 255) == 0:
                if progress is not None:
                    progress(res.unique)
                if out_of_bounds():
                    break
            state, h, depth = pop()
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
                child, _ = canonical(child)
                ch = hash(child)
                if violation is not None:
                    found = (h, label, violation)
                    break
                if ch not in parents:
                    parents[ch] = (h, label)
                    res.unique += 1
                    children.append((child, ch, depth + 1))
            if found is not None:
                break
            if strategy == "dfs":
                children.reverse()  # explore the first enabled transition first
            frontier.extend(children)
        else:
            if truncated:
                res.bound = "max-depth"
            else:
                res.exhausted = True
        if found is not None:
            res.bound = None  # a violation is a verdict, whatever bound was near
            h, label, violation = found
            path = [label]
            while parents[h] is not None:
                h, label = parents[h]
                path.append(label)
            path.reverse()
            res.violation = violation
            res.path = concretize(model, path)
            res.max_depth = max(res.max_depth, len(path))
    elif strategy == "random":
        rng = random.Random(seed)
        limit = 200 if max_depth is None else max_depth
        while found is None:
            if progress is not None:
                progress(res.unique)
            if out_of_bounds():
                break
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
                ch = hash(canonical(state)[0])
                if ch not in parents:
                    parents[ch] = True
                    res.unique += 1
                if violation is not None:
                    found = (None, label, violation)
                    res.violation, res.path = violation, path
                    break
            res.max_depth = max(res.max_depth, len(path))
        # a random walk never proves anything: without a violation, a bound stopped it
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    res.seconds = time.perf_counter() - start
    res.peak_rss_mib = _peak_rss_mib()
    if progress is not None:
        progress(res.unique)
    return res
