"""An independent brute-force linearizability oracle, and random histories for it.

Written from the documented semantics only (README "Linearizability"),
sharing no code with `paxsim.lin`: its own reading of outcomes, its own
models, its own search.  A history here is a list of raw client events
(dicts: type invoke / ok / fail / info, process, f, key, value) in file
order; `render` writes it in one of the three formats `paxsim linearizable`
reads, so a comparison goes through the whole reader and checker.

Outcomes, as documented:

* paxsim traces: `ok` known; `fail` definitely not applied (left out);
  `info` and an invoke never completed: unknown.
* Jepsen log / EDN: `ok` known (a cas ok swapped); `:fail :cas` a definite
  compare mismatch (known, returned false); `:fail` of a read unknown; any
  other `:fail` not applied; `:info` and open invokes unknown.

An unknown operation may take effect at any point after its invoke, with
any result, or never.  The oracle is a depth-first search over every order
in which each next operation is one whose predecessors in real time (known
operations completed before its invoke) are all placed; it memoises
(placed set, state), nothing cleverer.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache

UNKNOWN = "<unknown>"
READS = ("read", "get")


def operations(events: list[dict], fmt: str) -> list[dict]:
    """The operations of a raw history: dicts call, ret (None: unknown), f, key, arg, result."""
    pending: dict = {}
    ops = []
    for pos, ev in enumerate(events):
        p = ev["process"]
        if ev["type"] == "invoke":
            pending[p] = {"call": pos, "f": ev["f"], "key": ev["key"], "arg": ev["value"]}
            continue
        op = pending.pop(p)
        if ev["type"] == "ok":
            if op["f"] in READS:
                result = ev["value"]
            elif op["f"] == "cas":
                result = ev["value"] if fmt == "paxsim" else True
            else:
                result = None
            ops.append({**op, "ret": pos, "result": result})
        elif ev["type"] == "fail" and fmt != "paxsim" and op["f"] == "cas":
            ops.append({**op, "ret": pos, "result": False})
        elif ev["type"] == "fail" and (fmt == "paxsim" or op["f"] not in READS):
            continue  # not applied
        else:
            ops.append({**op, "ret": None, "result": UNKNOWN})
    ops += [{**op, "ret": None, "result": UNKNOWN} for op in pending.values()]
    return sorted(ops, key=lambda o: o["call"])


def _step(f: str, state, arg, result):
    """(legal, state after) for one operation of either model."""
    if f in READS:
        return result == UNKNOWN or result == state, state
    if f in ("write", "put"):
        return True, arg
    if f == "append":
        return True, ("" if state is None else state) + arg
    expected, new = arg
    if state == expected:
        return result == UNKNOWN or result is True, new
    return result == UNKNOWN or result is False, state


def linearizable(ops: list[dict], initial, relaxed: frozenset = frozenset()) -> bool:
    """Is there an order of `ops` (all keys at once) explaining every known result?
    `relaxed`: indexes of known operations that may instead take effect inside
    their interval with any result, or not at all (what an explanation claims)."""
    n = len(ops)
    keys = sorted({json.dumps(o["key"]) for o in ops})
    key_of = [keys.index(json.dumps(o["key"])) for o in ops]
    result = [UNKNOWN if i in relaxed else o["result"] for i, o in enumerate(ops)]
    before = [[j for j in range(n) if ops[j]["ret"] is not None and ops[j]["ret"] < o["call"]] for o in ops]
    required = sum(1 << i for i, o in enumerate(ops) if o["ret"] is not None and i not in relaxed)

    @lru_cache(maxsize=None)
    def search(done: int, placed: int, state: tuple) -> bool:
        if placed & required == required:
            return True
        for i in range(n):
            if done >> i & 1 or any(not done >> j & 1 for j in before[i]):
                continue
            k = key_of[i]
            legal, new = _step(ops[i]["f"], state[k], ops[i]["arg"], result[i])
            if legal and search(done | 1 << i, placed | 1 << i, state[:k] + (new,) + state[k + 1:]):
                return True
            if i in relaxed and search(done | 1 << i, placed, state):  # it had no effect
                return True
        return False

    return search(0, 0, tuple(initial for _ in keys))


def prefix(ops: list[dict], key, cut: int) -> list[dict]:
    """One key's operations invoked by position `cut`, those still open then unknown."""
    out = []
    for o in ops:
        if o["key"] == key and o["call"] <= cut:
            out.append({**o, "ret": None, "result": UNKNOWN} if o["ret"] is not None and o["ret"] > cut else o)
    return out


# ---------------------------------------------------------------- random histories

def random_history(rng: random.Random, model: str, fmt: str, n_ops: int, processes: int, keys: int = 1):
    """(events, initial): a random concurrent history.  Half the time its
    results come from a real execution (each operation takes effect at a
    random moment inside its interval; an unknown one maybe later, maybe
    never), then mutated; else as executed (mostly linearizable)."""
    if model == "register":
        fs, values, names = ["read", "write", "cas"], rng.choice([[0, 1, 2], [1, 2]]), [None]
    else:
        fs = ["get", "put", "append", "cas"]
        values, names = ["x", "y", "z"], [f"k{i}" for i in range(keys)]
    if fmt == "paxsim" and model == "register" and rng.random() < 0.5:
        values = [str(v) for v in values]
    initial = "" if fmt == "jepsen-edn" else None
    p_info, p_fail = rng.choice([0.0, 0.1, 0.3]), rng.choice([0.0, 0.1])
    state = {k: initial for k in names}
    events: list[dict] = []
    busy: dict[int, dict] = {}
    late: list[dict] = []            # unknown operations that may still take effect
    free = list(range(processes))
    next_process = processes
    invoked = 0

    def effect(op: dict) -> None:
        now = state[op["key"]]
        op["result"] = now if op["f"] in READS else (now == op["arg"][0] if op["f"] == "cas" else None)
        state[op["key"]] = _step(op["f"], now, op["arg"], UNKNOWN)[1]
        op["done"] = True

    while invoked < n_ops or busy:
        if late and rng.random() < 0.1:
            effect(late.pop(rng.randrange(len(late))))
            continue
        idle = [p for p in free if p not in busy]
        if invoked < n_ops and idle and (not busy or rng.random() < 0.4):
            p, f, key = rng.choice(idle), rng.choice(fs), rng.choice(names)
            arg = None if f in READS else ([rng.choice(values + [initial]), rng.choice(values)] if f == "cas"
                                           else rng.choice(values))
            busy[p] = {"f": f, "key": key, "arg": arg, "done": False}
            events.append({"type": "invoke", "process": p, "f": f, "key": key, "value": arg})
            invoked += 1
            continue
        p = rng.choice(sorted(busy))
        op = busy[p]
        if not op["done"] and rng.random() < 0.5:
            effect(op)
            continue
        r = rng.random()
        end = {"process": p, "f": op["f"], "key": op["key"]}
        if r < p_info:  # the client gives up: unknown outcome; a Jepsen process is not reused
            if not op["done"] and rng.random() < 0.5:
                late.append(op)
            events.append({**end, "type": "info", "value": op["arg"]})
            if fmt != "paxsim":
                free.remove(p)
                free.append(next_process)
                next_process += 1
        elif not op["done"]:
            if r < p_info + p_fail and op["f"] not in READS:
                events.append({**end, "type": "fail", "value": op["arg"]})
            else:
                continue  # it must take effect before it completes ok
        elif fmt != "paxsim" and op["f"] == "cas":
            events.append({**end, "type": "ok" if op["result"] else "fail", "value": op["arg"]})
        else:
            value = op["result"] if op["f"] in READS or fmt == "paxsim" and op["f"] == "cas" else (
                None if fmt == "paxsim" else op["arg"])
            events.append({**end, "type": "ok", "value": value})
        del busy[p]
    if processes > 1 and rng.random() < 0.2:  # a client crashed: its last invoke never completes
        last = max(i for i, e in enumerate(events) if e["type"] == "invoke")
        if events[last + 1:] and events[-1]["process"] == events[last]["process"]:
            events.pop()
    if rng.random() < 0.5:
        _mutate(rng, events, values + [initial, "xy", "yx"], fmt)
    return events, initial


def _mutate(rng: random.Random, events: list[dict], values: list, fmt: str) -> None:
    """Swap a read's value, flip a cas result, move a completion, or drop an operation."""
    choice = rng.random()
    if choice < 0.4:
        reads = [i for i, e in enumerate(events) if e["type"] == "ok" and e["f"] in READS]
        if reads:
            i = rng.choice(reads)
            events[i] = {**events[i], "value": rng.choice([v for v in values if type(v) is type(values[0])] + [None])}
    elif choice < 0.55:
        cas = [i for i, e in enumerate(events) if e["f"] == "cas" and (
            isinstance(e["value"], bool) if fmt == "paxsim" else e["type"] in ("ok", "fail"))]
        if cas:
            i = rng.choice(cas)
            e = events[i]
            flipped = {"value": not e["value"]} if isinstance(e["value"], bool) else {
                "type": "fail" if e["type"] == "ok" else "ok"}
            events[i] = {**e, **flipped}
    elif choice < 0.8:
        ends = [i for i, e in enumerate(events) if e["type"] != "invoke"]
        if ends:
            i = rng.choice(ends)
            e = events.pop(i)
            invoke = max(j for j in range(i) if events[j]["process"] == e["process"])
            later = next((j for j in range(i, len(events)) if events[j]["process"] == e["process"]), len(events))
            events.insert(rng.randint(invoke + 1, later), e)
    else:
        invokes = [i for i, e in enumerate(events) if e["type"] == "invoke"]
        if len(invokes) > 1:
            i = rng.choice(invokes)
            j = next((k for k in range(i + 1, len(events)) if events[k]["process"] == events[i]["process"]), None)
            for k in sorted({i, j} - {None}, reverse=True):
                del events[k]


def render(events: list[dict], fmt: str) -> str:
    """The history as a file: a paxsim trace, a Jepsen log or Jepsen EDN."""
    lines = []
    if fmt == "paxsim":
        req: dict = {}
        for seq, e in enumerate(events, 1):
            if e["type"] == "invoke":
                req[e["process"]] = req.get(e["process"], 0) + 1
            lines.append(json.dumps({"kind": e["type"], "seq": seq, "t": seq / 2, "client": f"c{e['process']}",
                                     "req": req[e["process"]], "f": e["f"], "key": e["key"], "value": e["value"]}))
    elif fmt == "jepsen-log":
        def show(v):
            return "nil" if v is None else "[" + " ".join(map(show, v)) + "]" if isinstance(v, list) else str(v)
        for e in events:
            value = ":timed-out" if e["type"] == "fail" and e["f"] in READS else show(e["value"])
            lines.append(f"INFO  jepsen.util - {e['process']}\t:{e['type']}\t:{e['f']}\t{value}")
    else:
        def edn(v):
            return "nil" if v is None else "[" + " ".join(map(edn, v)) + "]" if isinstance(v, list) else json.dumps(v)
        for e in events:
            lines.append(f"{{:process {e['process']}, :type :{e['type']}, :f :{e['f']}, :key {edn(e['key'])}, "
                         f":value {edn(e['value'])}}}")
    return "\n".join(lines) + "\n"
