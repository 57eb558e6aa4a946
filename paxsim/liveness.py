"""Did a run stay within the protocol's liveness assumptions?  Reads only a
trace (its header and fault events), so it judges any run, simulated or real.

Paxos promises safety always, but progress only when a quorum is up and can
talk for long enough.  This module finds, from the trace:

* the longest *good window*: a stretch of time in which one fixed set of at
  least a quorum of nodes, among them a proposer whose proposal is due, was
  up and mutually connected (no partition between them, no cut either way,
  loss on each link between them below a bound).  When some learners decided
  and others did not, the set must also hold every node undecided at the end.
* what broke the assumptions outside it (more than f = N - quorum nodes down
  at once, a partition with no quorum side, cuts, lossy links).

An undecided run is then *expected* (no good window reached the threshold:
`PERIODS` of the longest retry wait, the time a proposer may sleep between
rounds) or *suspicious* (a good window at least that long passed with no
decision: a liveness bug, or assumptions this analysis does not see).

A scenario's random fault profile may also state a *budget* (at most `down`
nodes crashed at once, at most `partitions` partitions and `cuts` cuts in a
run, loss at most `loss`); `budget(events)` says which limits a run broke.

Only the fault events are read (crash, restart, partition, heal, cut, uncut,
random-faults): cheap, and done only when asked (`Verdict.liveness`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOSS_BOUND = 0.2  # a link lossier than this does not count as connected (unless the budget says otherwise)
PERIODS = 3  # a good window this many longest retry waits long should see a decision

_FAULT_KINDS = ("crash", "restart", "partition", "heal", "cut", "uncut", "random-faults")


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    quorum: tuple[str, ...]

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)

    def to_json(self) -> dict:
        return {"from": self.start, "to": self.end, "ms": self.length, "quorum": list(self.quorum)}


@dataclass(frozen=True)
class Liveness:
    cls: str  # "expected" | "suspicious"
    window: Window | None  # the longest good window, None if there was none
    threshold: float  # ms: a good window this long should have seen a decision
    f: int  # how many nodes may be down at once and leave a quorum
    reasons: tuple[str, ...] = field(default=())  # what broke the assumptions, first occurrence each

    @property
    def suspicious(self) -> bool:
        return self.cls == "suspicious"

    def explain(self) -> str:
        w = self.window
        if self.cls == "suspicious":
            return (f"suspicious: a good window of {w.length:g} ms ({w.start:g} to {w.end:g} ms, "
                    f"{', '.join(w.quorum)} up and connected), {w.length / self.threshold * PERIODS:.1f} "
                    f"longest retry waits long, passed without a decision")
        longest = f"{w.length:g} ms, from {w.start:g} to {w.end:g} ms" if w else "none"
        return (f"expected: the assumptions never held for long enough (longest good window {longest}; "
                f"a decision is due within {self.threshold:g} ms of one)")

    def to_json(self) -> dict:
        return {"class": self.cls, "longest_window": self.window.to_json() if self.window else None,
                "threshold_ms": self.threshold, "f": self.f, "reasons": list(self.reasons),
                "explanation": self.explain()}


def _scenario(events: list[dict]) -> dict:
    header = events[0] if events and events[0].get("kind") == "header" else {}
    return header.get("scenario") or {}


def _quorum(scenario: dict, n: int) -> int:
    q = (scenario.get("protocol") or {}).get("quorum")
    if isinstance(q, dict):
        return max(q.get("phase1") or n // 2 + 1, q.get("phase2") or n // 2 + 1)
    return n // 2 + 1


def budget_of(scenario: dict) -> dict:
    faults = scenario.get("faults")
    if isinstance(faults, dict):
        return dict((faults.get("random") or {}).get("budget") or {})
    return {}


def longest_retry_wait(scenario: dict) -> float:
    retry = (scenario.get("protocol") or {}).get("retry") or {}
    timeout = float(retry.get("timeout", 50.0))
    top = float(retry.get("max", 1000.0))
    backoff = float(retry.get("backoff", 2.0))
    base = top if backoff > 1.0 else min(timeout, top)
    return base * (1.0 + float(retry.get("jitter", 0.5)))


def _fault_events(events: list[dict]) -> list[dict]:
    body = [ev for ev in events if ev.get("kind") in _FAULT_KINDS or ev.get("kind") == "end"]
    return sorted(body, key=lambda ev: ev.get("seq", 0))


SEARCH_STEPS = 50_000  # quorum-search steps one assessment may take (a clique search is exponential at worst)


class _Budget:
    """Steps left for one assessment's quorum searches; once spent, a search finds nothing."""

    def __init__(self, steps: int) -> None:
        self.left = steps
        self.spent_at: float | None = None  # the segment time at which it ran out


def _suffix_bounds(adj: dict[str, frozenset] | dict[str, set], cands: list[str]) -> list[int]:
    """bounds[i]: the most nodes a clique among cands[i:] can have.  A
    greedy colouring from the end (each node joins the first class holding
    none of its neighbours): a clique has at most one node of each class,
    and cands[i:] uses bounds[i] classes."""
    classes: list[set] = []
    bounds = [0] * len(cands)
    for i in range(len(cands) - 1, -1, -1):
        v, near = cands[i], adj[cands[i]]
        for cls in classes:
            if near.isdisjoint(cls):
                cls.add(v)
                break
        else:
            classes.append({v})
        bounds[i] = len(classes)
    return bounds


def _has_clique(adj: dict[str, frozenset] | dict[str, set], cands: list[str], need: int, chosen: list[str],
                budget: _Budget | None = None) -> list[str] | None:
    """`chosen` and `need` more nodes from `cands` (all adjacent to `chosen`)
    that are mutually adjacent, or None.  Depth first in `cands`' order, so
    the first such set in that order; iterative (a quorum of a thousand
    nodes is a thousand levels deep).  A level's colouring bound is computed
    once its first branch has failed, and cuts the branches that cannot
    hold `need` nodes (it never cuts one that can, so the set found is the
    same).  With a `budget`, each branch tried after a failed one costs a
    step, and the search finds nothing once the steps are spent."""
    if need <= 0:
        return list(chosen)
    if len(cands) < need:
        return None
    # a frame: the nodes chosen, its candidates, their bounds (None until needed), the next index
    stack: list[list] = [[list(chosen), cands, None, 0]]
    target = len(chosen) + need
    while stack:
        frame = stack[-1]
        picked, cs, bounds, i = frame
        k = target - len(picked)
        if i >= len(cs) or len(cs) - i < k:
            stack.pop()
            continue
        if i > 0:  # a branch after a failed one: what costs (a first descent is cheap)
            if budget is not None:
                if budget.left <= 0:
                    return None
                budget.left -= 1
            if bounds is None:
                bounds = frame[2] = _suffix_bounds(adj, cs)
            if bounds[i] < k:
                stack.pop()
                continue
        frame[3] = i + 1
        v = cs[i]
        if k == 1:
            return picked + [v]
        near = adj[v]
        rest = [u for u in cs[i + 1:] if u in near]
        if len(rest) >= k - 1:
            stack.append([picked + [v], rest, None, 0])
    return None


class _State:
    """The fault state at one moment: who is down, the partition, the cuts."""

    def __init__(self, nodes: list[str]) -> None:
        self.down: set[str] = set()
        self.group: dict[str, int] | None = None
        self.cuts: set[tuple[str, str]] = set()

    def apply(self, ev: dict) -> None:
        kind = ev["kind"]
        if kind == "crash":
            self.down.add(ev.get("node"))
        elif kind == "restart":
            self.down.discard(ev.get("node"))
        elif kind == "partition":
            self.group = {n: i for i, g in enumerate(ev.get("groups") or []) for n in g}
        elif kind == "heal":
            self.group = None
        elif kind == "cut":
            self.cuts.add((ev.get("src"), ev.get("dst")))
        elif kind == "uncut":
            self.cuts.discard((ev.get("src"), ev.get("dst")))

    def graph(self, nodes: list[str], lossy: set) -> dict[str, frozenset]:
        """Each up node's neighbours: the up nodes on its side of the partition (everyone, with none)
        that no cut or lossy link parts from it either way.  The nodes of a side that no cut or lossy
        link touches share one set, which holds each of them too (no search pairs a node with
        itself), so a quorum of thousands of nodes costs a set, not a set a node."""
        up = [n for n in nodes if n not in self.down]
        if self.group is None:
            everyone = frozenset(up)
            adj = {a: everyone for a in up}
        else:
            sides: dict[Any, list[str]] = {}
            for a in up:
                g = self.group.get(a)
                sides.setdefault(("alone", a) if g is None else g, []).append(a)  # in no group: alone
            shared = {key: frozenset(members) for key, members in sides.items()}
            adj = {a: shared[("alone", a) if self.group.get(a) is None else self.group[a]] for a in up}  # in node order
        parted: dict[str, set] = {}
        for a, b in (*self.cuts, *lossy):
            parted.setdefault(a, set()).add(b)
            parted.setdefault(b, set()).add(a)
        for a, others in parted.items():
            if a in adj:
                adj[a] = adj[a] - others
        return adj


def _lossy_links(scenario: dict, events: list[dict], nodes: list[str], bound: float) -> tuple[set, list[str]]:
    network = scenario.get("network") or {}
    default = network.get("loss") or 0.0
    for ev in events:
        if ev.get("kind") == "random-faults" and ev.get("loss") is not None:
            default = ev["loss"]  # a random profile's drawn loss replaces the network's
    per_link = {(link.get("from"), link.get("to")): link.get("loss") for link in network.get("links") or []}
    if default < bound:  # only links of their own can be lossy (N^2 pairs need not be looked at)
        known = set(nodes)
        lossy = {(a, b) for (a, b), loss in per_link.items()
                 if loss is not None and loss >= bound and a != b and a in known and b in known}
    else:
        lossy = set()
        for a in nodes:
            for b in nodes:
                if a != b:
                    loss = per_link.get((a, b))
                    if (default if loss is None else loss) >= bound:
                        lossy.add((a, b))
    reasons = []
    if default >= bound:
        reasons.append(f"loss {default:g} on every link is at or above the bound {bound:g}")
    elif lossy:
        reasons.append(f"{len(lossy)} link(s) with loss at or above the bound {bound:g}")
    return lossy, reasons


def assess(events: list[dict], decided: dict | None = None, undecided: list[str] | None = None,
           end_t: float | None = None) -> Liveness:
    """Classify an undecided run: `decided` maps the nodes that decided to
    anything, `undecided` lists the nodes up at the end that did not (as the
    checker's verdict has them)."""
    scenario = _scenario(events)
    nodes = list(scenario.get("nodes") or [])
    n = len(nodes)
    q = _quorum(scenario, n)
    f = max(0, n - q)
    bound = float(budget_of(scenario).get("loss", LOSS_BOUND))
    faults = _fault_events(events)
    if end_t is None:
        end_t = next((ev["t"] for ev in faults if ev["kind"] == "end"), None)
        if end_t is None:
            end_t = max((ev.get("t", 0.0) for ev in events[1:]), default=float(scenario.get("duration") or 0.0))
    required = set(undecided or []) if decided else set()
    starts: dict[str, float] = {}
    for p in scenario.get("proposers") or []:
        starts[p["node"]] = min(starts.get(p["node"], float("inf")), float(p.get("at", 0.0)))
    lossy, reasons = _lossy_links(scenario, events, nodes, bound)
    # Segments [t_i, t_i+1) of constant state: breakpoints at faults and proposal times.
    times = sorted({0.0, *[ev["t"] for ev in faults if ev["kind"] in _FAULT_KINDS and ev["t"] < end_t],
                    *[t for t in starts.values() if t < end_t]})
    state = _State(nodes)
    search = _Budget(SEARCH_STEPS)
    graphs: list[dict[str, frozenset]] = []
    k = 0
    noted: set[str] = set()

    def note(key: str, text: str) -> None:
        if key not in noted:
            noted.add(key)
            reasons.append(text)

    for i, t in enumerate(times):
        while k < len(faults) and faults[k]["kind"] != "end" and faults[k]["t"] <= t:
            state.apply(faults[k])
            k += 1
        g = state.graph(nodes, lossy)
        graphs.append(g)
        up = len(g)
        with_required = f" and {', '.join(sorted(required, key=nodes.index))}" if required else ""  # learners
        if up < q:
            note("down", f"{n - up} node{'s' if n - up != 1 else ''} down at once from {t:g} ms (more than f = {f})")
        elif not any(s <= t for s in starts.values()) or _find_quorum(g, nodes, q, starts, t, required, search):
            pass  # no proposal due yet, or the assumptions hold here
        elif search.left <= 0:
            pass  # not known here: the search gave up (said once, below)
        elif state.group is not None:
            note("partition", f"a partition from {t:g} ms left no side with a quorum ({q}) of up nodes "
                              f"and a proposer whose proposal is due{with_required}")
        elif state.cuts:
            note("cut", f"one-way cuts from {t:g} ms left no connected quorum with a proposer{with_required}")
        else:
            note("proposer", f"from {t:g} ms no proposer whose proposal is due was up in a connected quorum"
                 + with_required)
    ends = times[1:] + [end_t]
    best: Window | None = None
    for i in range(len(times)):
        adj = graphs[i]
        for j in range(i, len(times)):
            if j > i:  # the set must stay good throughout: intersect the graphs
                adj = _intersect(adj, graphs[j])
            quorum = _find_quorum(adj, nodes, q, starts, times[i], required, search)
            if quorum is None:
                break
            w = Window(times[i], ends[j], quorum)
            if best is None or w.length > best.length:
                best = w
    if search.spent_at is not None:
        reasons.append(f"the search for a connected quorum gave up at {search.spent_at:g} ms, after "
                       f"{SEARCH_STEPS:,} steps; where it had not found one, it counted none")
    threshold = PERIODS * longest_retry_wait(scenario)
    if best is None and not starts:
        reasons.append("no proposer")
    cls = "suspicious" if best is not None and best.length >= threshold else "expected"
    return Liveness(cls, best, threshold, f, tuple(reasons))


def _intersect(adj: dict[str, frozenset], other: dict[str, frozenset]) -> dict[str, frozenset]:
    """The graph of the links up in both `adj` and `other`, over the nodes in both.  Nodes that
    share their sets in both share the result: each distinct pair of sets is intersected once."""
    pairs: dict[tuple[int, int], frozenset] = {}
    out: dict[str, frozenset] = {}
    for a, bs in adj.items():
        cs = other.get(a)
        if cs is not None:
            key = (id(bs), id(cs))  # both sets live on in adj and other while this runs
            if key not in pairs:
                pairs[key] = bs & cs
            out[a] = pairs[key]
    kept = out.keys()
    narrowed: dict[int, frozenset] = {}
    for a, bs in out.items():
        if id(bs) not in narrowed:
            narrowed[id(bs)] = bs.intersection(kept)
        out[a] = narrowed[id(bs)]
    return out


def _find_quorum(adj: dict[str, frozenset] | dict[str, set], nodes: list[str], q: int, starts: dict[str, float], t: float,
                 required: set, budget: _Budget | None = None) -> tuple[str, ...] | None:
    """A set of >= q mutually connected up nodes holding a proposer due by `t`
    and every `required` node, in node order; None if there is none, or if
    `budget` ran out before one was found (then `budget.spent_at` is set)."""
    if any(r not in adj for r in required):
        return None
    for p in nodes:
        if p not in adj or starts.get(p, float("inf")) > t:
            continue
        base = sorted({p} | required, key=nodes.index)
        if any(b not in adj[a] for a in base for b in base if a != b):
            continue
        cands = [u for u in nodes if u in adj and u not in base and all(u in adj[b] for b in base)]
        found = _has_clique(adj, cands, q - len(base), list(base), budget)
        if found is not None:
            return tuple(sorted(found, key=nodes.index))
        if budget is not None and budget.left <= 0:
            if budget.spent_at is None:
                budget.spent_at = t
            return None
    return None


def budget(events: list[dict]) -> dict | None:
    """The scenario's fault budget against what the trace shows, or None
    without a budget: {"budget": {...}, "seen": {...}, "exceeded": [lines]}."""
    scenario = _scenario(events)
    limits = budget_of(scenario)
    if not limits:
        return None
    down: set[str] = set()
    most_down = partitions = cuts = 0
    for ev in _fault_events(events):
        kind = ev["kind"]
        if kind == "crash":
            down.add(ev.get("node"))
            most_down = max(most_down, len(down))
        elif kind == "restart":
            down.discard(ev.get("node"))
        elif kind == "partition":
            partitions += 1
        elif kind == "cut":
            cuts += 1
    loss = (scenario.get("network") or {}).get("loss") or 0.0
    for ev in events:
        if ev.get("kind") == "random-faults" and ev.get("loss") is not None:
            loss = ev["loss"]
    seen: dict[str, Any] = {"down": most_down, "partitions": partitions, "cuts": cuts, "loss": loss}
    words = {"down": "nodes down at once", "partitions": "partitions", "cuts": "cuts", "loss": "loss"}
    exceeded = [f"{words[k]}: {seen[k]:g} > {limits[k]:g}" for k in ("down", "partitions", "cuts", "loss")
                if k in limits and seen[k] > limits[k]]
    return {"budget": limits, "seen": {k: seen[k] for k in limits}, "exceeded": exceeded}
