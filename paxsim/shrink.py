"""Shrinking a violating run to a small scenario file that violates by itself.

1. Rerun the (scenario, seed) recording the fate of every message (dropped,
   or its delay, and its duplicate's) and every timer; write the random fault
   profile out as explicit faults.
2. Turn that into a *scripted* scenario: every fate named in `script:`, a
   constant default latency, no random loss, duplication or timer jitter.
   It reproduces the run event for event, whatever the seed.
3. Greedily remove what is not needed while the same property still breaks:
   proposers, faults (a crash with its restart, a partition with its heal, a
   cut with its uncut), nodes, scripted message fates and timer delays (in
   halving chunks, ddmin style; a removed fate falls back to the default
   latency), and finally cut the duration to just after the violation.

Every candidate is a validated scenario run from scratch, so the result is a
file that `paxsim run` reproduces with no seed luck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .check import Verdict
from .report import plural
from .scenario import Scenario, ScenarioError, Script, scenario_from_dict
from .sim import simulate


class ShrinkError(ValueError):
    """The run to shrink does not violate, or cannot be scripted; one line."""


@dataclass
class Size:
    nodes: int
    proposers: int
    faults: int
    scripted_messages: int
    scripted_timers: int
    messages: int  # sent in the run
    duration: float

    @classmethod
    def of(cls, scenario: Scenario, verdict: Verdict) -> "Size":
        script = scenario.script or Script()
        return cls(len(scenario.nodes), len(scenario.proposers), len(scenario.faults), len(script.messages),
                   len(script.timers), (verdict.messages or {}).get("sent", 0), scenario.duration)

    @property
    def total(self) -> int:
        """One number to compare: nodes + proposers + fault events + scripted message fates."""
        return self.nodes + self.proposers + self.faults + self.scripted_messages

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        n = plural
        return (f"{n(self.nodes, 'node')}, {n(self.proposers, 'proposer')}, {n(self.faults, 'fault')}, "
                f"{n(self.scripted_messages, 'scripted message fate')}, {n(self.scripted_timers, 'scripted timer')}, "
                f"{n(self.messages, 'message')} sent, {self.duration:g} ms")


def summarize_removed(removed: list[str]) -> str:
    """'20 scripted message fate(s)' x3 and the rest -> one readable line."""
    import re

    totals: dict[str, int] = {}
    others = []
    for item in (part for entry in removed for part in entry.split("; ")):
        m = re.fullmatch(r"(\d+) scripted (message|timer) fate\(s\)", item)
        if m:
            totals[m.group(2)] = totals.get(m.group(2), 0) + int(m.group(1))
        else:
            others.append(item)
    others += [f"{n} scripted {kind} fates" for kind, n in totals.items()]
    return "; ".join(others) if others else "nothing"


@dataclass
class ShrinkResult:
    scenario: Scenario
    property: str
    before: Size
    after: Size
    removed: list[str] = field(default_factory=list)
    explanation: str = ""
    runs: int = 0
    interrupted: bool = False  # Ctrl-C stopped the shrinking: `scenario` is the smallest found by then
    cut: bool = False  # the candidate-run budget ran out before every removal was tried


def _typical(latency) -> float:
    """A representative constant for the default latency of a scripted scenario."""
    p = dict(latency.params)
    return float({
        "constant": lambda: p["value"], "uniform": lambda: (p["low"] + p["high"]) / 2,
        "normal": lambda: p["mean"], "exponential": lambda: p["mean"] * math.log(2),
        "lognormal": lambda: p["median"], "pareto": lambda: p["scale"] * 2 ** (1 / p["shape"]),
    }[latency.dist]())


class _Shrinker:
    def __init__(self, prop: str, log: Callable[[str], None], budget: int,
                 on_run: Callable[[], None] | None = None) -> None:
        self.prop = prop
        self.log = log
        self.budget = budget
        self.runs = 0
        self.on_run = on_run
        self.cut = False  # a candidate went untried: the budget ran out, so the result may not be minimal

    def violates(self, data: dict) -> tuple[Scenario, Verdict] | None:
        if self.runs >= self.budget:
            self.cut = True
            return None
        try:
            sc = scenario_from_dict(data, "<shrink candidate>", structure_checked=True)
        except ScenarioError:
            return None
        self.runs += 1
        verdict = simulate(sc, 0).verdict
        if self.on_run is not None:
            self.on_run()
        if any(v.kind == self.prop for v in verdict.violations):
            return sc, verdict
        return None


def _without_node(data: dict, node: str) -> dict:
    d = _copy(data)
    d["nodes"] = [n for n in d["nodes"] if n != node]
    d["proposers"] = [p for p in d["proposers"] if p["node"] != node]
    faults = []
    for f in d["faults"]:
        if f.get("crash") == node or f.get("restart") == node:
            continue
        for key in ("cut", "uncut"):
            if key in f and node in (f[key]["from"], f[key]["to"]):
                break
        else:
            if "partition" in f:
                groups = [[n for n in g if n != node] for g in f["partition"]]
                f = dict(f, partition=[g for g in groups if g])
                if not f["partition"]:
                    continue
            faults.append(f)
    d["faults"] = faults
    d["network"]["links"] = [ln for ln in d["network"]["links"] if node not in (ln["from"], ln["to"])]
    script = d.get("script") or {}
    d["script"] = {
        "messages": [m for m in script.get("messages", []) if node not in (m["from"], m["to"])
                     and not (m.get("ballot") and m["ballot"][1] == node)],
        "timers": [t for t in script.get("timers", []) if t["node"] != node],
    }
    d["protocol"]["quorum"] = {"phase1": len(d["nodes"]) // 2 + 1, "phase2": len(d["nodes"]) // 2 + 1}
    return d


def _copy(data: Any) -> Any:
    import copy

    return copy.deepcopy(data)


def _fault_groups(faults: list[dict]) -> list[list[int]]:
    """Indexes of faults that go together: a crash and its restart, a
    partition and the heal that ends it, a cut and its uncut."""
    groups, used = [], set()
    for i, f in enumerate(faults):
        if i in used:
            continue
        group = [i]
        for j in range(i + 1, len(faults)):
            g = faults[j]
            if j in used:
                continue
            if ("crash" in f and g.get("restart") == f["crash"]) or ("partition" in f and "heal" in g) or \
                    ("cut" in f and g.get("uncut") == f["cut"]):
                group.append(j)
                break
            if "partition" in f and "partition" in g:
                break
        used.update(group)
        groups.append(group)
    return groups


def shrink(scenario: Scenario, seed: int, *, budget: int = 20000,
           log: Callable[[str], None] = lambda _s: None, on_run: Callable[[], None] | None = None) -> ShrinkResult:
    """Shrink the violating run (scenario, seed).  Raises ShrinkError if it
    does not violate.  `log` hears each removal, `on_run` each candidate run.
    Ctrl-C (KeyboardInterrupt) once the shrinking has begun stops it: the
    result is then the smallest violating scenario found so far, with
    `interrupted` set."""
    run = simulate(scenario, seed, record=True)
    verdict = run.verdict
    if verdict.ok:
        raise ShrinkError(f"seed {seed} does not violate safety in {scenario.name!r}: nothing to shrink")
    prop = verdict.violations[0].kind
    sh = _Shrinker(prop, log, budget, on_run)
    removed: list[str] = []

    # 2. the run as a fully scripted scenario
    plan = run.plan
    script = Script(tuple((key, fate, copy) for key, (fate, copy) in run.fates.items()),
                    tuple(run.timer_fates.items()))
    # A workload scenario keeps its seed: a scripted one draws its operations from it.
    base = replace(plan, script=script, seed=0 if plan.workload is None else seed, random_faults=None,
                   retry=replace(plan.retry, jitter=0.0),
                   network=replace(plan.network, loss=0.0, duplicate=0.0, links=(),
                                   latency=replace(plan.network.latency, dist="constant",
                                                   params=(("value", _typical(plan.network.latency)),))))
    data = base.to_dict()
    found = sh.violates(data)
    if found is None:
        raise ShrinkError(f"seed {seed}: the scripted replay of the run does not violate {prop}; cannot shrink")
    current, cur_verdict = found
    # counted as scripted, like `after`: every message and timer fate is written out
    before = Size.of(current, verdict)

    def attempt(candidate: dict, what: str) -> bool:
        nonlocal data, current, cur_verdict
        got = sh.violates(candidate)
        if got is None:
            return False
        if "scripted" not in what:  # fates that left with a node or client count as removed too
            what = "; ".join([what] + [f"{n} scripted {k[:-1]} fate(s)" for k in ("messages", "timers")
                                       if (n := len(data["script"][k]) - len(candidate["script"][k])) > 0])
        data, (current, cur_verdict) = candidate, got
        removed.append(what)
        log(f"removed {what}")
        return True

    interrupted = False
    try:
        changed = True
        while changed and sh.runs < budget:
            changed = False
            # proposers
            for p in list(data["proposers"]):
                if len(data["proposers"]) > 1:
                    cand = _copy(data)
                    cand["proposers"] = [q for q in cand["proposers"] if q != p]
                    changed |= attempt(cand, f"proposer {p['node']} ({p['value']!r})")
            # faults, in groups (recomputed after every removal: the indexes move)
            k = 0
            while k < len(groups := _fault_groups(data["faults"])):
                group = groups[k]
                cand = _copy(data)
                what = ", ".join(_describe_fault(cand["faults"][i]) for i in group)
                cand["faults"] = [f for i, f in enumerate(cand["faults"]) if i not in group]
                if attempt(cand, f"fault {what}"):
                    changed = True
                else:
                    k += 1
            # single fault events (a restart, heal or uncut alone: the fault then lasts)
            k = 0
            while k < len(data["faults"]):
                cand = _copy(data)
                what = _describe_fault(cand["faults"][k])
                del cand["faults"][k]
                if attempt(cand, f"fault {what}"):
                    changed = True
                else:
                    k += 1
            # nodes
            for node in list(data["nodes"]):
                if len(data["nodes"]) > 1:
                    changed |= attempt(_without_node(data, node), f"node {node}")
            # clients of a workload, the last first (with their scripted fates)
            while "workload" in data and data["workload"]["clients"] > 1:
                if not attempt(_without_last_client(data), f"client c{data['workload']['clients']}"):
                    break
                changed = True
            # scripted fates (ddmin-style chunks)
            for kind in ("messages", "timers"):
                changed |= _shrink_list(lambda: data, kind, attempt)
        # duration: just after the violation
        t_end = max((ev["t"] for ev in simulate(current, 0).events[1:-1]
                     if ev.get("seq") in set(cur_verdict.violations[0].seqs)), default=None)
        if t_end is not None:
            new = float(math.ceil(t_end + 1.0))
            if new < data["duration"]:
                cand = _copy(data)
                cand["duration"] = new
                cand["faults"] = [f for f in cand["faults"] if f["at"] <= new]
                cand["proposers"] = [p for p in cand["proposers"] if p["at"] <= new]
                if "workload" in cand:
                    cand["workload"]["stop"] = min(cand["workload"]["stop"], new)
                    cand["workload"]["start"] = min(cand["workload"]["start"], new)
                attempt(cand, f"time after {new:g} ms")
        pruned = _prune_script(data, simulate(current, 0, record=True))
        if pruned != data:
            attempt(pruned, "; ".join(f"{len(data['script'][k]) - len(pruned['script'][k])} scripted {k[:-1]} fate(s)"
                                      for k in ("messages", "timers")
                                      if len(data["script"][k]) != len(pruned["script"][k])))
    except KeyboardInterrupt:  # keep what was shrunk: `current` always violates
        interrupted = True
        cur_verdict = simulate(current, 0).verdict  # its own, whatever the interrupt cut short
    explanation = next(v.explain() for v in cur_verdict.violations if v.kind == prop)
    return ShrinkResult(current, prop, before, Size.of(current, cur_verdict), removed, explanation, sh.runs,
                        interrupted, sh.cut)


def _shrink_list(get_data, kind: str, attempt) -> bool:
    """Remove scripted entries in chunks of halving size while the violation stays."""
    changed = False
    chunk = max(1, len(get_data().get("script", {}).get(kind, [])) // 2)
    while True:
        i = 0
        while i < len(get_data()["script"][kind]):
            data = get_data()
            current = data["script"][kind]
            cand = _copy(data)
            cand["script"][kind] = current[:i] + current[i + chunk:]
            if attempt(cand, f"{len(current[i:i + chunk])} scripted {kind[:-1]} fate(s)"):
                changed = True  # the list shrank under index i: try the same place again
            else:
                i += chunk
        if chunk == 1:
            return changed
        chunk //= 2


def _without_last_client(data: dict) -> dict:
    d = _copy(data)
    name = f"c{d['workload']['clients']}"
    d["workload"]["clients"] -= 1
    script = d.get("script")
    if script:
        script["messages"] = [m for m in script.get("messages", []) if name not in (m["from"], m["to"])]
        script["timers"] = [t for t in script.get("timers", []) if t["node"] != name]
    return d


def _prune_script(data: dict, run) -> dict:
    """Drop script entries the final run never used, or that equal the default."""
    d = _copy(data)
    default = d["network"]["latency"]["value"]
    used = run.fates or {}
    kept = []
    for m in d["script"]["messages"]:
        key = (m["from"], m["to"], m["type"], tuple(m["ballot"]) if m.get("ballot") else None, m["n"])
        if key in used and not (m["fate"] == default and "copy" not in m):
            kept.append(m)
    d["script"]["messages"] = kept
    tused = run.timer_fates or {}
    d["script"]["timers"] = [t for t in d["script"]["timers"] if (t["node"], t["timer"], t["n"]) in tused]
    return d


def _describe_fault(f: dict) -> str:
    kind = next(k for k in f if k != "at")
    arg = f[kind]
    if kind in ("cut", "uncut"):
        arg = f"{arg['from']}->{arg['to']}"
    elif kind == "partition":
        arg = " | ".join(",".join(g) for g in arg)
    return f"{kind} {arg} at {f['at']:g}ms" if kind != "heal" else f"heal at {f['at']:g}ms"


def to_yaml(result: ShrinkResult, origin: str) -> str:
    """The minimal scenario as a YAML file, with a comment on where it came from."""
    import yaml

    d = result.scenario.to_dict()
    d["name"] = f"{d['name']}-minimal"
    d["description"] = (f"Shrunk by paxsim shrink from {origin}: {result.after}. "
                        f"It violates {result.property}; the checker explains how.")
    d["expect"] = {"decided": False, "safety": "may-violate", "violates": result.property}
    script = d.get("script") or {}
    if not script.get("messages") and not script.get("timers") and "workload" not in d:
        d.pop("script", None)  # (a workload scenario keeps it: scripted, it runs the same on any seed)
    if "workload" in d:
        d.pop("proposers", None)
    order = ["name", "description", "seed", "duration", "nodes", "protocol", "proposers", "workload", "network",
             "faults", "clocks", "script", "expect"]
    ordered = {k: d[k] for k in order if k in d}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=110)
