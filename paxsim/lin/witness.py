"""A witness: a total order of a history's operations, checked as a linearization.

The search can run out of time on a history that is linearizable.  A run
of a replicated log often carries the answer: the order in which the log
applied the client commands.  That order proves the history linearizable
if it is one, and `check_order` decides that from the history alone,
whatever produced the order (a correct protocol, a broken one, a guess):

1. every operation whose outcome is known (completed ok, or a cas that
   returned false) appears exactly once; an operation of unknown outcome
   at most once (it took effect, or never did); nothing else appears (an
   operation that failed, i.e. definitely not applied, is not in the
   history at all, so it cannot be named);
2. real time: if A completed before B was invoked, A comes before B;
3. replaying the order through the model (`models.step`, key by key from
   the history's initial state) gives every known operation exactly the
   result its client saw.

Then the order is a legal sequential history equivalent to a completion of
the history (unknown operations in it completed with the model's result,
the others removed) that respects its real-time order: the definition of
linearizable.  A witness that fails proves nothing: the search's own
answer stands.

`from_log` builds the candidate from a paxsim trace of a replicated log
(multi-paxos `executed` events, those that `applied` a client command, in
slot order); it refuses a log that applied a request its client was told
failed, or one never invoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .history import History, Op
from .models import ANY, ILLEGAL, READ, step

LOG_ORDER = "the log's order"


@dataclass
class Witness:
    source: str                  # where the order came from, e.g. "the log's order"
    order: list[Op] | None       # None: no candidate could be built (reason says why)
    reason: str | None           # why it is not a linearization; None: it is one

    @property
    def valid(self) -> bool:
        return self.order is not None and self.reason is None

    def to_json(self) -> dict:
        return {"source": self.source, "valid": self.valid, "reason": self.reason,
                "operations": None if self.order is None else len(self.order)}


def check_order(history: History, order: Sequence[Op]) -> str | None:
    """None if `order` (operations of `history`) is a linearization of it,
    else one line saying the first thing wrong with it."""
    ops = history.ops
    placed = [False] * len(ops)
    for op in order:
        if not (0 <= op.id < len(ops)) or ops[op.id] is not op:
            return f"{op.client}'s {op.describe()} is not an operation of the history"
        if placed[op.id]:
            return f"{op.client}'s {op.describe()} (invoked {op.invoked.text()}) appears twice"
        placed[op.id] = True
    for op in ops:
        if op.known and not placed[op.id]:
            return (f"{op.client}'s {op.describe()} (completed {op.completed.text()}) is missing "
                    "from the order")
    # real time: no operation may come after one invoked after it completed
    latest: Op | None = None  # the operation placed so far with the latest invoke
    for op in order:
        if op.ret is not None and latest is not None and op.ret < latest.call:
            return (f"{op.client}'s {op.describe()} completed {op.completed.text()}, before "
                    f"{latest.client}'s {latest.describe()} was invoked ({latest.invoked.text()}), "
                    "yet comes after it")
        if latest is None or op.call > latest.call:
            latest = op
    # the model: every known result as the client saw it
    state: dict[Any, Any] = {}
    for op in order:
        before = state.get(op.key, history.initial)
        after = step(op.kind, before, op.arg, op.result)
        if after is ILLEGAL:
            return (f"{op.client}'s {op.describe()} (completed {op.completed.text()}) is not what the model "
                    f"gives in this order ({_state(op, before)})")
        state[op.key] = after
    return None


def _state(op: Op, value: Any) -> str:
    from .history import show_value

    return f"the {'value' if op.kind == READ else 'state'} there is {show_value(value)}"


class LogOrder:
    """`log_order` fed one event at a time (`feed`, then `result()`): it
    keeps one entry per slot, whatever the trace's size."""

    def __init__(self) -> None:
        self.by_slot: dict[int, tuple[str, int] | None] = {}
        self.error: str | None = None

    def feed(self, ev: dict) -> None:
        if self.error is not None or ev.get("kind") != "executed":
            return
        slot = ev.get("slot")
        if isinstance(slot, bool) or not isinstance(slot, int):
            self.error = f"an executed event (seq {ev.get('seq')}) has no integer slot"
            return
        if slot in self.by_slot:
            return
        cmd = ev.get("command")
        if not ev.get("applied") or cmd is None:
            self.by_slot[slot] = None
            return
        client, req = (cmd.get("client"), cmd.get("req")) if isinstance(cmd, dict) else (None, None)
        if not isinstance(client, str) or isinstance(req, bool) or not isinstance(req, int):
            self.error = f"an executed event (seq {ev.get('seq')}) has no command client and req"
            return
        self.by_slot[slot] = (client, req)

    def result(self) -> list[tuple[str, int]] | None:
        """What `log_order` returns; raises its ValueError."""
        if self.error is not None:
            raise ValueError(self.error)
        if not self.by_slot:
            return None
        return [rid for _, rid in sorted(self.by_slot.items()) if rid is not None]


def log_order(events: Iterable[dict]) -> list[tuple[str, int]] | None:
    """The client requests (client, req) a replicated log applied, in slot
    order: for each slot, the first `executed` event recorded for it (on any
    replica), if it `applied` a command.  None if the trace has no
    `executed` events (not a replicated-log run).  Raises ValueError on an
    `executed` event it cannot read (the first such)."""
    acc = LogOrder()
    for ev in events:
        acc.feed(ev)
        if acc.error is not None:
            break
    return acc.result()


def from_log(events: Iterable[dict], history: History) -> Witness | None:
    """The log's order as a witness for `history` (read from the same
    trace's client events), checked; None if the trace has no log.
    `events` is read twice: give a list."""
    try:
        order_ids = log_order(events)
    except ValueError as err:
        return Witness(LOG_ORDER, None, str(err))
    return from_order(order_ids, events, history)


def from_order(order_ids: list[tuple[str, int]] | None, client_events: Iterable[dict],
               history: History) -> Witness | None:
    """`from_log`, given the log's order (`log_order`) and the trace's
    client events (any other events are skipped)."""
    if order_ids is None:
        return None
    # the history's operations by (client, req), through their invoke events
    by_seq = {op.invoked.seq: op for op in history.ops}
    request: dict[tuple[str, int], Op | str] = {}
    for ev in client_events:
        kind = ev.get("kind")
        if kind == "invoke":
            rid = (ev["client"], ev["req"])
            op = by_seq.get(ev["seq"])
            # not in the history: definitely not applied (fail), or a read of unknown outcome
            request[rid] = op if op is not None else ("read" if ev["f"] == "get" else "left out")
        elif kind == "fail":
            request[(ev["client"], ev["req"])] = "failed"
    order: list[Op] = []
    for client, req in order_ids:
        what = request.get((client, req))
        if what is None:
            return Witness(LOG_ORDER, None, f"the log applied {client}'s request {req}, which was never invoked")
        if what == "read":
            continue  # a get of unknown outcome: it changes nothing and nobody saw its result
        if isinstance(what, str):
            return Witness(LOG_ORDER, None, f"the log applied {client}'s request {req}, which its client "
                           f"was told {'failed' if what == 'failed' else 'had no effect'}")
        order.append(what)
    return Witness(LOG_ORDER, order, check_order(history, order))


def log_events(path) -> list[dict]:
    """The events of a paxsim trace file that `from_log` reads (invoke,
    fail, executed), for a history already read from it."""
    wanted = ("invoke", "fail", "executed")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if '"invoke"' not in line and '"fail"' not in line and '"executed"' not in line:
                continue  # cheap filter; the kind is checked after parsing
            ev = json.loads(line)
            if isinstance(ev, dict) and ev.get("kind") in wanted:
                out.append(ev)
    return out
