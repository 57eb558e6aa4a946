"""Random fault profiles: faults drawn per seed from the "faults" stream.

Swarm style (after "Swarm Testing", Groce et al.): each kind present in the
profile is switched on or off per seed, so some runs see only crashes, others
only loss and cuts, others everything; bugs that one kind of fault masks
surface in the runs without it.  Crashes respect a budget (`max_down` nodes
down at once); partitions and cuts never overlap one of their own kind, so
every drawn schedule is a valid explicit one.

Drawn faults respect the scenario's explicit schedule too: a node is never
crashed while the schedule has it down (nor restarted while it is up), the
budget counts scheduled and drawn crashes together, and a drawn partition
or cut never overlaps a scheduled one of its kind (whose heal or uncut would
otherwise end the other early).  A draw that would break these is skipped,
as one over the budget always was; without a schedule the draws are the same.

`draw(scenario, seed)` returns the scenario with the drawn faults written
out: explicit fault events, and the drawn loss, duplication and delay as
network settings.  The trace records what was drawn; shrinking starts from
this explicit form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..scenario import Fault, RandomFaults, Scenario
from .streams import stream

TIMED = ("crash", "partition", "cut")
KINDS = ("crash", "partition", "cut", "loss", "duplicate", "delay")


@dataclass(frozen=True)
class Drawn:
    kinds: tuple[str, ...]  # the kinds switched on for this seed
    faults: tuple[Fault, ...]
    loss: float | None
    duplicate: float | None
    delay: tuple[float, float] | None  # (share, max)

    def to_json(self) -> dict:
        return {"kinds": list(self.kinds), "loss": self.loss, "duplicate": self.duplicate,
                "delay": None if self.delay is None else {"share": self.delay[0], "max": self.delay[1]},
                "faults": [f.to_dict() for f in self.faults]}


INF = float("inf")


def _scheduled_spans(schedule: tuple[Fault, ...]) -> tuple[list, list, list]:
    """The schedule's (node, from, until) downtimes, (from, until) partitions
    and (link, from, until) cuts; until is infinite when nothing ends them."""
    down: list[tuple[str, float, float]] = []
    partitions: list[tuple[float, float]] = []
    cuts: list[tuple[tuple[str, str], float, float]] = []
    crashed: dict[str, float] = {}
    cut: dict[tuple[str, str], float] = {}
    partitioned: float | None = None
    for f in sorted(schedule, key=lambda f: f.at):  # stable: ties in file order, as they are applied
        if f.kind == "crash":
            crashed.setdefault(f.arg, f.at)
        elif f.kind == "restart" and f.arg in crashed:
            down.append((f.arg, crashed.pop(f.arg), f.at))
        elif f.kind == "partition":
            partitioned = f.at if partitioned is None else partitioned  # a new partition replaces the old
        elif f.kind == "heal" and partitioned is not None:
            partitions.append((partitioned, f.at))
            partitioned = None
        elif f.kind == "cut":
            cut.setdefault(f.arg, f.at)
        elif f.kind == "uncut" and f.arg in cut:
            cuts.append((f.arg, cut.pop(f.arg), f.at))
    down += [(node, at, INF) for node, at in crashed.items()]
    if partitioned is not None:
        partitions.append((partitioned, INF))
    cuts += [(link, at, INF) for link, at in cut.items()]
    return down, partitions, cuts


def draw_faults(profile: RandomFaults, nodes: tuple[str, ...], duration: float, seed: int,
                schedule: tuple[Fault, ...] = ()) -> Drawn:
    """This seed's faults.  `schedule` (the scenario's explicit faults) is
    respected: the drawn ones never overlap what it has down, partitioned or
    cut, and `max_down` counts its crashes too."""
    rng = stream(seed, "faults")
    present = [k for k in KINDS if getattr(profile, k) is not None]
    if profile.swarm and present:
        kinds = [k for k in present if rng.random() < 0.5] or [rng.choice(present)]
    else:
        kinds = present
    loss = rng.uniform(0.0, profile.loss) if "loss" in kinds else None
    duplicate = rng.uniform(0.0, profile.duplicate) if "duplicate" in kinds else None
    delay = profile.delay if "delay" in kinds else None
    timed = [k for k in kinds if k in TIMED]
    # node, from, until; partition (from, until); (link, from, until): the schedule's, then the drawn
    down, partitions, cuts = _scheduled_spans(schedule)
    spans: dict[str, list[tuple[float, float]]] = {"partition": partitions, "cut": []}
    faults: list[Fault] = []
    for _ in range(rng.randint(1, profile.events) if timed else 0):
        kind = rng.choice(timed)
        at = round(rng.uniform(0.0, profile.until), 3)
        if kind == "crash":
            node = rng.choice(nodes)
            lo, hi = profile.crash
            end = round(at + rng.uniform(lo, hi), 3)
            busy = [d for d in down if d[1] <= end and at <= d[2]]
            if any(d[0] == node for d in busy) or len({d[0] for d in busy}) >= profile.max_down:
                continue  # over the budget, or the node is down then: skip this draw
            down.append((node, at, end))
            faults.append(Fault(at, "crash", node))
            if end < duration:
                faults.append(Fault(end, "restart", node))
        elif kind == "partition":
            lo, hi = profile.partition
            end = round(at + rng.uniform(lo, hi), 3)
            if any(a <= end and at <= b for a, b in spans["partition"]):
                continue
            order = list(nodes)
            rng.shuffle(order)
            k = rng.randint(1, len(order) - 1) if len(order) > 1 else 1
            groups = (tuple(sorted(order[:k], key=nodes.index)), tuple(sorted(order[k:], key=nodes.index)))
            spans["partition"].append((at, end))
            faults.append(Fault(at, "partition", tuple(g for g in groups if g)))
            if end < duration:
                faults.append(Fault(end, "heal", None))
        else:
            if len(nodes) < 2:
                continue
            src, dst = rng.sample(nodes, 2)
            lo, hi = profile.cut
            end = round(at + rng.uniform(lo, hi), 3)
            if any(link == (src, dst) and a <= end and at <= b for link, a, b in cuts):
                continue
            cuts.append(((src, dst), at, end))
            faults.append(Fault(at, "cut", (src, dst)))
            if end < duration:
                faults.append(Fault(end, "uncut", (src, dst)))
    faults.sort(key=lambda f: f.at)  # stable: ties keep the order drawn
    return Drawn(tuple(kinds), tuple(faults), loss, duplicate, delay)


def explicit(scenario: Scenario, seed: int) -> tuple[Scenario, Drawn | None]:
    """The scenario with this seed's random faults written out as explicit
    faults and network settings (and no random profile left)."""
    profile = scenario.random_faults
    if profile is None:
        return scenario, None
    drawn = draw_faults(profile, scenario.nodes, scenario.duration, seed, scenario.faults)
    network = scenario.network
    if drawn.loss is not None:
        network = replace(network, loss=drawn.loss)
    if drawn.duplicate is not None:
        network = replace(network, duplicate=drawn.duplicate)
    faults = tuple(sorted(scenario.faults + drawn.faults, key=lambda f: f.at))
    return replace(scenario, faults=faults, network=network, random_faults=None), drawn
