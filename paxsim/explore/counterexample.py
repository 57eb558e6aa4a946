"""A path found by the search -> a scripted scenario `paxsim run` replays.

Transition k happens at k ms.  Replaying the path through the model with a
recorder gives every network send its script key (link, type, ballot, n:
the simulator's numbering) and every armed timer its (node, timer, n); then

* a message delivered at transition k has fate k - (time sent), its
  duplicate likewise as `copy`; a lost one has fate `drop`; one still in
  flight at the end arrives after the run ends;
* a timer that fires at transition k has delay k - (time armed); every other
  armed timer fires after the end;
* a crash or restart becomes a fault at its time, a proposal a proposer
  starting at its time (proposals never started are left out);

with a constant latency, no random loss or duplication and no timer jitter,
so the file replays the same schedule on any seed.
"""

from __future__ import annotations

from typing import Any

from ..scenario import Scenario, Script
from .model import Model, Recorder

STEP = 1.0  # ms between transitions


class _Script(Recorder):
    def __init__(self, model: Model) -> None:
        self.m = model
        self.t = 0.0
        self.counts: dict[tuple, int] = {}
        self.inflight: list[list] = []  # [key, is_copy, src, dst, msg, dup, t_sent]
        self.fates: dict[tuple, list] = {}  # key -> [fate, copy]; "pending" until known
        self.armed: dict[tuple, tuple[int, float]] = {}
        self.timers: dict[tuple, float | None] = {}

    def send(self, src: int, dst: int, msg: Any) -> None:
        kind, ballot = self.m.p.message_key(msg)
        base = (self.m.names[src], self.m.names[dst], kind, ballot)
        n = self.counts[base] = self.counts.get(base, 0) + 1
        key = base + (n,)
        self.fates[key] = ["pending", "none"]
        self.inflight.append([key, False, src, dst, msg, True, self.t])

    def set_timer(self, node: int, name: str) -> None:
        base = (self.m.names[node], name)
        n = self.counts[base] = self.counts.get(base, 0) + 1
        self.armed[(node, name)] = (n, self.t)
        self.timers[base + (n,)] = None

    def _find(self, src: int, dst: int, msg: Any, dup: bool) -> list:
        for entry in self.inflight:
            if entry[2] == src and entry[3] == dst and entry[5] == dup and entry[4] == msg:
                return entry
        raise AssertionError(f"no such message in flight: {src}->{dst} {msg!r}")

    def transition(self, label: tuple) -> None:
        kind = label[0]
        if kind in ("deliver", "lose"):
            entry = self._find(label[1], label[2], label[3], label[4])
            self.inflight.remove(entry)
            fate = None if kind == "lose" else self.t - entry[6]
            self.fates[entry[0]][1 if entry[1] else 0] = fate
        elif kind == "duplicate":
            entry = self._find(label[1], label[2], label[3], True)
            entry[5] = False
            self.fates[entry[0]][1] = "pending"
            self.inflight.append([entry[0], True, entry[2], entry[3], entry[4], False, entry[6]])
        elif kind == "timer":
            n, t0 = self.armed.pop((label[1], label[2]))
            self.timers[(self.m.names[label[1]], label[2], n)] = self.t - t0
        elif kind == "crash":
            for key in [k for k in self.armed if k[0] == label[1]]:
                del self.armed[key]


def counterexample(model: Model, path: list[tuple], violation: tuple, origin: str, shortest: bool = True) -> dict:
    """The scenario (plain data, as a scenario file holds it) replaying `path`
    (`shortest`: the search proved no schedule is shorter, as BFS does)."""
    sc: Scenario = model.scenario
    rec = _Script(model)
    state = model.initial()
    faults, proposers = [], []
    for k, label in enumerate(path, start=1):
        rec.t = k * STEP
        rec.transition(label)
        if label[0] == "propose":
            i = label[1]
            proposers.append({"node": model.names[i], "value": model.proposal[i], "at": rec.t})
        elif label[0] in ("crash", "restart"):
            faults.append({"at": rec.t, label[0]: model.names[label[1]]})
        state, _ = model.apply(state, label, rec)
    end = (len(path) + 1) * STEP
    never = end + 1000.0

    def settled(f):  # a message still in flight when the violation happened arrives after the end
        return never if f == "pending" else f

    script = Script(tuple((key, settled(f), settled(copy)) for key, (f, copy) in rec.fates.items()),
                    tuple((key, never if d is None else d) for key, d in rec.timers.items()))
    d = sc.to_dict()
    d.pop("explore", None)
    d["name"] = f"{sc.name}-explored"
    d["description"] = (f"Found by paxsim explore {origin}: {'a shortest' if shortest else 'a'} schedule of {len(path)} transition{'s' if len(path) != 1 else ''} "
                        f"(one per ms) that violates {violation[0]}. Every message's fate and every timer's "
                        "delay is scripted, so it replays on any seed.")
    d["seed"] = 0
    d["duration"] = end
    d["protocol"]["retry"]["jitter"] = 0.0
    d["protocol"]["write_latency"] = 0.0
    d["proposers"] = proposers
    d["network"] = {"latency": {"dist": "constant", "value": STEP}, "loss": 0.0, "duplicate": 0.0, "links": []}
    d["faults"] = faults
    d["script"] = script.to_dict()
    d["expect"] = {"decided": False, "safety": "may-violate", "violates": violation[0]}
    return d


def to_yaml(data: dict) -> str:
    import yaml

    order = ["name", "description", "seed", "duration", "nodes", "protocol", "proposers", "network",
             "faults", "script", "expect"]
    ordered = {k: data[k] for k in order if k in data}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=110)
