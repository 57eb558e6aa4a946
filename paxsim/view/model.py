"""A trace as the data the page draws: lanes, messages with their fates and
causes, node events, fault spans and the checker's verdict.

Reads only trace events (in the format paxsim/trace.py documents), and is
tolerant: an event it does not know, or one missing a field, is kept and
shown generically, never dropped and never an error.

Causality is derived from the trace alone.  A simulated step is atomic: a
node's delivery of message m and everything that node does in reaction
(sends, promise, vote, propose, decide, and the drop/duplicate records of
those sends) are consecutive events at the same time.  So a send by X at the
same time as X's delivery of m, in the same step, was caused by m.  A step
ends at the next delivery, at any event of another node, at a fault, or when
the time moves.  A timer that fires at X at exactly the time of X's delivery
(not recorded in traces) would be misattributed; with continuous latencies
that does not happen.  With a slow disk (`write_latency`), replies leave
after the write, in a later step, and get no cause.

Wall-clock traces (a header `"runtime"` other than the simulator's) merge
per-node logs, so steps are not consecutive: there a send by X is caused by
X's latest delivery if no other delivery, crash or restart at X came between
and it follows within `WALL_TOLERANCE_MS`.  Their times are shown as they are
when they are on the scenario's clock (as `paxsim cluster` writes them: none
past the scenario's duration), else relative to the trace's first event.
"""

from __future__ import annotations

import math
from typing import Any

from ..colors import type_colors

SIM_RUNTIMES = (None, "sim", "simpy", "simulation")
WALL_TOLERANCE_MS = 1.0
MESSAGE_KINDS = ("send", "deliver", "drop", "duplicate")
FAULT_KINDS = ("partition", "heal", "cut", "uncut")
QUIET_KINDS = ("header", "end", "random-faults")  # shown in the page's header, not on a lane
LANE_FIELDS = ("node", "host", "process", "client", "replica", "leader", "src")


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _key(mid: Any) -> str:
    """Message ids as strings: the simulator's are ints, other runtimes' may not be."""
    return str(mid)


def is_wall_clock(header: dict) -> bool:
    return header.get("runtime") not in SIM_RUNTIMES


def _lane_of(ev: dict) -> str | None:
    for field in LANE_FIELDS:
        v = ev.get(field)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
    return None


def build(events: list[dict], name: str = "trace") -> dict:
    """The page's model of one trace (plain JSON data)."""
    header = events[0] if events and events[0].get("kind") == "header" else {}
    scenario = header.get("scenario") if isinstance(header.get("scenario"), dict) else {}
    wall = is_wall_clock(header)
    lanes: list[str] = []
    lane_set: set[str] = set()

    def lane(n: Any) -> str | None:
        if n is None:
            return None
        n = str(n)
        if n not in lane_set:
            lane_set.add(n)
            lanes.append(n)
        return n

    for n in scenario.get("nodes") or []:
        if isinstance(n, (str, int)):
            lane(n)

    times = [t for t in (_num(ev.get("t")) for ev in events[1:]) if t is not None]
    # paxsim cluster writes wall-clock times on the scenario's clock (0 once every node is
    # ready, faults at their `at`), as its checker quotes them: those stay; other tools'
    # (epoch milliseconds, past the scenario's duration) count from the first event
    duration = _num(scenario.get("duration"))
    t0 = min(times) if (wall and times and (duration is None or min(times) > duration)) else 0.0
    last_t = 0.0

    msgs: dict[str, dict] = {}
    order: list[str] = []
    nodes_events: list[dict] = []
    faults: list[dict] = []
    end: dict | None = None
    # causality state
    step: dict | None = None  # simulated: {"node", "t", "id"} of the step in progress
    last_deliver: dict[str, tuple[str, float]] = {}  # wall clock: node -> (message key, t)

    def cause_for(node: str | None, t: float) -> str | None:
        if node is None:
            return None
        if wall:
            got = last_deliver.get(node)
            if got is not None and 0.0 <= t - got[1] <= WALL_TOLERANCE_MS:
                return got[0]
            return None
        if step is not None and step["node"] == node and step["t"] == t:
            return step["id"]
        return None

    for line, ev in enumerate(events, 1):
        kind = ev.get("kind")
        if line == 1 and kind == "header":
            continue
        t_raw = _num(ev.get("t"))
        t = (t_raw - t0) if t_raw is not None else last_t
        last_t = t
        seq = ev.get("seq")
        if kind == "send" and "id" in ev:
            key = _key(ev["id"])
            src, dst = lane(ev.get("src")), lane(ev.get("dst"))
            msg = ev.get("msg") if isinstance(ev.get("msg"), dict) else {"value": ev.get("msg")}
            if step is not None and (step["t"] != t or step["node"] != src):
                step = None
            cause = cause_for(src, t)
            m = msgs.get(key)
            if m is None:
                m = msgs[key] = {"id": key}
                order.append(key)
            m.update(src=src, dst=dst, msg=msg, type=str(msg.get("type", "?")), ts=t, sseq=seq, sline=line,
                     cause=cause)
            if cause is not None and cause in msgs:
                msgs[cause].setdefault("effects", []).append(key)
            continue
        if kind == "duplicate" and "copy" in ev:
            key, orig = _key(ev["copy"]), _key(ev.get("id"))
            m = msgs.get(key)
            if m is None:
                m = msgs[key] = {"id": key}
                order.append(key)
            m.update(copy_of=orig, ts=t, sseq=seq, sline=line)
            continue
        if kind in ("deliver", "drop") and "id" in ev:
            key = _key(ev["id"])
            m = msgs.get(key)
            if m is None:  # its send is later in the file (merged wall-clock logs) or missing
                m = msgs[key] = {"id": key}
                order.append(key)
            m.update(te=t, eseq=seq, eline=line, fate="delivered" if kind == "deliver" else "lost")
            if kind == "drop":
                m["reason"] = ev.get("reason")
                if ev.get("reason") == "crashed":  # a separate step: the arrival at a crashed node
                    step = None
            else:
                dst = m.get("dst")
                if dst is None:
                    orig = msgs.get(m.get("copy_of") or "")
                    dst = orig.get("dst") if orig else None
                step = {"node": dst, "t": t, "id": key}
                if dst is not None:
                    last_deliver[dst] = (key, t)
            continue
        if kind == "end":
            end = {"t": t, "seq": seq, "line": line,
                   "fields": {k: v for k, v in ev.items() if k not in ("kind", "t", "seq")}}
            step = None
            continue
        if kind in QUIET_KINDS:
            continue
        if kind in FAULT_KINDS:
            faults.append({"kind": kind, "t": t, "seq": seq, "line": line,
                           "fields": {k: v for k, v in ev.items() if k not in ("kind", "t", "seq")}})
            step = None
            continue
        node = lane(_lane_of(ev))
        if step is not None and (step["t"] != t or step["node"] != node):
            step = None
        cause = cause_for(node, t) if kind not in ("crash", "restart") else None
        if kind in ("crash", "restart") and node is not None:
            last_deliver.pop(node, None)
        item = {"seq": seq, "t": t, "kind": str(kind), "node": node, "line": line,
                "fields": {k: v for k, v in ev.items() if k not in ("kind", "t", "seq")}}
        if t_raw is not None and wall and t0:
            item["traw"] = t_raw
        if cause is not None:
            item["cause"] = cause
            if cause in msgs:
                msgs[cause].setdefault("caused", []).append(seq)
        nodes_events.append(item)

    # copies inherit their original's link and content
    for key in order:
        m = msgs[key]
        orig = msgs.get(m.get("copy_of") or "") if "copy_of" in m else None
        if orig is not None:
            for f in ("src", "dst", "msg", "type"):
                if f not in m and f in orig:
                    m[f] = orig[f]
        m.setdefault("type", "?")
        m.setdefault("fate", "inflight")
    end_t = end["t"] if end is not None else max([last_t] + [m.get("te", 0.0) for m in msgs.values()])
    messages = []
    for key in order:
        m = msgs[key]
        if m.get("src") is None or m.get("dst") is None or "ts" not in m:
            # a delivery or drop without its send: keep it, as a generic event
            nodes_events.append({"seq": m.get("eseq"), "t": m.get("te", 0.0), "kind": "orphan-" + m["fate"],
                                 "node": lane(m.get("dst")), "line": m.get("eline"),
                                 "fields": {"id": m["id"], "note": "no send event for this message id"}})
            continue
        if wall and "te" in m and m["te"] < m["ts"]:
            m["skew"] = True  # clocks of different machines
        messages.append(m)
    messages.sort(key=lambda m: (m["ts"], m.get("sseq") if isinstance(m.get("sseq"), (int, float)) else 0))
    nodes_events.sort(key=lambda e: (e["t"], e["seq"] if isinstance(e.get("seq"), (int, float)) else 0))

    types: list[str] = []
    for m in messages:
        if m["type"] not in types:
            types.append(m["type"])
    colors = type_colors(types)
    types = list(colors)  # known types first, in the figures' order
    kinds: list[str] = []
    for e in nodes_events:
        if e["kind"] not in kinds:
            kinds.append(e["kind"])

    return {
        "name": name,
        "title": f"{scenario.get('name') or name} (seed {header.get('seed')})"
                 if header.get("seed") is not None else str(scenario.get("name") or name),
        "description": scenario.get("description") or "",
        "runtime": "wall-clock" if wall else "simulated",
        "runtime_name": header.get("runtime") or "sim",
        "t0": t0,
        "end": end_t,
        "end_event": end,
        "lanes": lanes,
        "messages": messages,
        "events": nodes_events,
        "faults": faults,
        "spans": _spans(nodes_events, faults, end_t),
        "types": types,
        "colors": colors,
        "kinds": kinds,
        "causality": ("a send at the same time as the sender's delivery of a message, in the same step, "
                      "was caused by that message" if not wall else
                      f"wall clock: a send within {WALL_TOLERANCE_MS:g} ms of the sender's latest delivery, "
                      "with nothing else at that node between, was caused by it"),
        "header": {k: header.get(k) for k in ("paxsim", "format", "seed", "runtime") if k in header},
    }


def _spans(node_events: list[dict], faults: list[dict], end_t: float) -> dict:
    down, parts, cuts = [], [], []
    crashed: dict[str, float] = {}
    for e in node_events:
        if e["kind"] == "crash" and e["node"] is not None:
            crashed.setdefault(e["node"], e["t"])
        elif e["kind"] == "restart" and e["node"] in crashed:
            down.append({"node": e["node"], "t0": crashed.pop(e["node"]), "t1": e["t"]})
    down += [{"node": n, "t0": t, "t1": end_t, "open": True} for n, t in crashed.items()]
    current = None
    open_cuts: dict[tuple, float] = {}
    for f in faults:
        fields = f["fields"]
        if f["kind"] == "partition":
            if current is not None:
                parts.append(dict(current, t1=f["t"]))
            current = {"groups": fields.get("groups"), "t0": f["t"]}
        elif f["kind"] == "heal" and current is not None:
            parts.append(dict(current, t1=f["t"]))
            current = None
        elif f["kind"] == "cut":
            open_cuts.setdefault((str(fields.get("src")), str(fields.get("dst"))), f["t"])
        elif f["kind"] == "uncut":
            k = (str(fields.get("src")), str(fields.get("dst")))
            if k in open_cuts:
                cuts.append({"src": k[0], "dst": k[1], "t0": open_cuts.pop(k), "t1": f["t"]})
    if current is not None:
        parts.append(dict(current, t1=end_t, open=True))
    cuts += [{"src": s, "dst": d, "t0": t, "t1": end_t, "open": True} for (s, d), t in open_cuts.items()]
    return {"down": down, "partitions": parts, "cuts": cuts}
