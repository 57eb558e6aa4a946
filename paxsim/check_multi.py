"""The verdict on a multi-paxos trace: log safety and linearizability.

`paxsim.check.check` sends a trace here when its header names protocol kind
multi-paxos.  Two judges, both reading only trace events:

* log safety, the protocol's own properties (`PROTOCOL.check`: agreement,
  divergence, order, exactly-once, fail-stop), each finding a violation;
* linearizability of the client history (`invoke` / `ok` / `fail` / `info`)
  against the key-value model (`paxsim.lin`, model kv): a history that is
  not linearizable is a `linearizability` violation, explained by the
  smallest set of operations on one key that cannot be ordered.  A search
  the time limit cuts short says "unknown", never a violation, unless the
  order in which the log applied the commands (`executed` events) is
  itself a linearization, checked (`paxsim.lin.witness`): then the verdict
  is "linearizable", decided by that witness (`linearizability_by`).

The verdict also carries the workload's numbers: operations invoked and
completed, simulated ops/s and the latency percentiles of completed ones.
"""

from __future__ import annotations

from typing import Any

from . import lin
from .check import Verdict, Violation
from .lin.report import verdict_text
from .protocols import protocol as protocol_of

LIN_TIME_LIMIT = 10.0  # seconds per history; beyond it the verdict is "unknown"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]) of `values`, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(min(rank, len(ordered))) - 1]


def workload_stats(events: list[dict], duration: float) -> dict:
    """Operations and latencies from a trace's client events."""
    invoked: dict[tuple, float] = {}
    counts = {"invoked": 0, "ok": 0, "fail": 0, "info": 0}
    latencies: list[float] = []
    by_f: dict[str, list[float]] = {}
    for ev in events:
        kind = ev.get("kind")
        if kind == "invoke":
            counts["invoked"] += 1
            invoked[(ev["client"], ev["req"])] = ev["t"]
        elif kind in ("ok", "fail", "info"):
            counts[kind] += 1
            start = invoked.pop((ev["client"], ev["req"]), None)
            if kind == "ok" and start is not None:
                latencies.append(ev["t"] - start)
                by_f.setdefault(ev["f"], []).append(ev["t"] - start)
    seconds = duration / 1000.0
    return {
        **counts,
        "open": len(invoked),
        "ops_per_s": counts["ok"] / seconds if seconds > 0 else None,
        "latency": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                    "max": max(latencies) if latencies else None},
        "latency_by_f": {f: {"p50": percentile(v, 50), "p99": percentile(v, 99)} for f, v in sorted(by_f.items())},
    }


def _lin_violation(v: Any) -> Violation:
    e = v.explanation
    text = verdict_text(v).splitlines()
    details = tuple(line.strip() for line in text[2:])  # the operations that cannot be ordered, and why
    seqs = tuple(sorted(w.seq for op in e.core for w in (op.invoked, op.completed)
                        if w is not None and w.seq is not None)) if e else ()
    where = f"key {e.key!r}" if e else "a key"
    n = len(e.core) if e else 0
    return Violation("linearizability", f"the client history is not linearizable: {n} operations on {where} "
                     "cannot be ordered", details, seqs)


CLIENT_KINDS = ("invoke", "ok", "fail", "info")
_NAMES = frozenset({"kind", "node", "client", "f", "key"})  # client event fields with few distinct strings


class MultiChecker:
    """The multi-paxos verdict fed one event at a time in `seq` order
    (`append`, so a simulation or a trace reader can feed it as it goes),
    then `finish()`: `check_multi` is this over a whole trace.  It keeps the
    header, the `end` event, the client events (the history) and what the
    log's properties and its order need per slot, never the message traffic
    or every replica's copy of each slot's events, so a long run is judged
    in memory that grows with its operations, not its messages.  Its
    verdict is complete (explanations included): a multi-paxos explanation
    reads nothing else."""

    exact = True  # Run.verdict: nothing to re-read to explain a violation

    def __init__(self, kind: str = "multi-paxos") -> None:
        self.kind = kind
        self.log = protocol_of(kind).log_checker()
        self.order = lin.LogOrder()
        self.number = 0  # events fed: the line numbers of the client events kept
        self.header: dict | None = None
        self.clients: list[tuple[int, dict]] = []  # (number, event): the header and the client events
        self.end: dict | None = None
        self.last_t = 0.0  # the latest event time, for a trace cut short
        self._history = None
        self._shared: dict[str, str] = {}  # field names, and the names of _NAMES fields, one copy each

    def append(self, ev: dict) -> None:
        self.number += 1
        kind = ev.get("kind")
        self.log.feed(ev)
        if kind in CLIENT_KINDS:
            self.clients.append((self.number, self._compact(ev)))
        elif kind == "executed":
            self.order.feed(ev)
        elif kind == "end":
            self.end = ev
        elif kind == "header" and self.number == 1:
            self.header = ev
            self.clients.append((1, ev))
        if self.number > 1:
            t = ev.get("t")
            if isinstance(t, (int, float)) and t > self.last_t:
                self.last_t = t

    def _compact(self, ev: dict) -> dict:
        """The event with one copy of each field name and of each client,
        operation and key name (a trace read line by line has its own copy
        of every string in every line): what a long history keeps is then
        little more than its numbers and values."""
        shared = self._shared
        return {shared.setdefault(k, k): (shared.setdefault(v, v) if k in _NAMES and type(v) is str else v)
                for k, v in ev.items()}

    def extend(self, events) -> None:
        append = self.append
        for ev in events:
            append(ev)

    def history(self):
        """The client history (raises `lin.HistoryError` on a malformed one),
        once all events are fed."""
        if self._history is None:
            try:
                self._history = lin.history_from_numbered(self.clients, "kv")
            except lin.HistoryError as err:
                self._history = err
        if isinstance(self._history, lin.HistoryError):
            raise self._history
        return self._history

    def finish(self) -> Verdict:
        scenario = (self.header or {}).get("scenario") or {}
        violations = [Violation(f.kind, f.message, (), tuple(f.seqs)) for f in self.log.findings()]
        lin_result = lin.UNKNOWN
        lin_by = None
        client_events = [ev for _, ev in self.clients]
        try:
            history = self.history()
            try:
                order = self.order.result()
            except ValueError as err:  # an executed event it cannot read: no witness (as witness_from_log)
                witness = lin.Witness(lin.LOG_ORDER, None, str(err))
            else:
                witness = lin.witness_from_order(order, client_events, history)
            lv = lin.check(history, time_limit=LIN_TIME_LIMIT, witness=witness)
            lin_result = lv.result
            lin_by = "log order" if lv.settled else "search"
            if lv.result == lin.VIOLATION:
                violations.append(_lin_violation(lv))
        except lin.HistoryError as err:  # a malformed client history: no verdict on it
            lin_result = f"unknown ({err})"
        end = self.end
        nodes = scenario.get("nodes") or []
        up = end.get("up") if end else None
        down = [n for n in nodes if up is not None and n not in up]
        # ops/s over the time the trace covers: the run's duration, or up to its last event if it was cut short
        covered = (scenario.get("duration") or end.get("t")) if end else self.last_t
        stats = workload_stats(client_events, covered or 0.0)
        stats["linearizability"] = lin_result
        if lin_result == lin.LINEARIZABLE:  # what decided it: the search, or the log's order checked as a witness
            stats["linearizability_by"] = lin_by
        stats["log_safety"] = "violated" if any(v.kind != "linearizability" for v in violations) else "holds"
        stats["skipped"] = (end or {}).get("skipped", 0)
        return Verdict(
            violations=violations, chosen=[], decisions={}, undecided=[], down=down,
            end_t=end.get("t") if end else None, messages=(end or {}).get("messages", {}),
            incomplete=None if end else "the trace has no 'end' event", workload=stats,
        )


def check_multi(events: list[dict], kind: str = "multi-paxos") -> Verdict:
    checker = MultiChecker(kind)
    checker.extend(events)
    return checker.finish()
