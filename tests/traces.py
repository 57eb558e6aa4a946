"""Hand-written single-decree traces for the checker's tests."""

import json


def header(nodes=("n1", "n2", "n3"), values=("a", "b"), phase2=None, expect=None, **extra):
    n = len(nodes)
    q = n // 2 + 1
    return {"kind": "header", "format": 1, "paxsim": "test", "seed": 0, **extra, "scenario": {
        "nodes": list(nodes),
        "protocol": {"quorum": {"phase1": q, "phase2": phase2 or q}},
        "proposers": [{"node": nodes[i], "value": v, "at": 0} for i, v in enumerate(values)],
        "expect": expect or {"decided": False, "safety": "holds"},
    }}


class Trace:
    """A hand-written trace: events get seq 0, 1, 2, ... in the order added."""

    def __init__(self, **kw):
        self.events = [header(**kw)]

    def add(self, kind, t=0.0, **fields):
        self.events.append({"seq": len(self.events) - 1, "t": t, "kind": kind, **fields})
        return self

    def vote(self, node, ballot, value, t=0.0):
        return self.add("vote", t, node=node, ballot=list(ballot), value=value)

    def decide(self, node, value, t=0.0):
        return self.add("decide", t, node=node, value=value)

    def end(self, t=100.0):
        return self.add("end", t, messages={"sent": 0, "delivered": 0, "dropped": {}, "duplicated": 0},
                        decided={}, up=[])

    def write(self, path, lines=None):
        path.write_text("".join(json.dumps(ev) + "\n" for ev in (lines or self.events)))
        return path
