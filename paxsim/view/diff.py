"""Where two traces part ways, and what differs after.

Events are compared in file order, field by field.  A wall-clock trace
(another runtime) is compared without times, seqs and message ids, which no
two real runs share.  The same machinery reports `paxsim replay`'s first
differing line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .model import is_wall_clock

WALL_IGNORED = ("t", "seq", "id", "copy")
END = "<end of trace>"


_MAX_T = int(float.fromhex("0x1.fffffffffffffp+1023"))  # sys.float_info.max: the largest whole float


def _clip(line: str | None, most: int = 300) -> str | None:
    """A trace line to print, cut to its first `most` characters (one nested 100,000 deep is 200 KB)."""
    if line is None or len(line) <= most:
        return line
    return f"{line[:most]}... ({len(line):,} characters)"


def fmt(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], int) and isinstance(v[1], str):
        return f"({v[0]}, {v[1]})"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int) and not -_MAX_T <= v <= _MAX_T:  # a hand-made trace's 10**400
        return _clip(str(v), 40)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def differing_fields(a: Any, b: Any, ignore: tuple = (), prefix: str = "") -> list[str]:
    """Dotted paths of the leaves where a and b differ (`kind` first, `t` last)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b), key=lambda k: (k != "kind", k == "t", k))
        out: list[str] = []
        for k in keys:
            if not prefix and k in ignore:
                continue
            path = f"{prefix}{k}"
            if k not in a or k not in b:
                out.append(path)
            else:
                out += differing_fields(a[k], b[k], (), path + ".")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a != b:
        if all(not isinstance(x, (dict, list)) for x in a + b) and len(a) <= 4:
            return [prefix.rstrip(".")]  # a ballot or a small tuple: name it whole
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differing_fields(x, y, (), f"{prefix.rstrip('.')}[{i}].")
        return out
    if a == b and isinstance(a, bool) == isinstance(b, bool):
        return []
    return [prefix.rstrip(".") or "(value)"]


def get_path(ev: Any, path: str) -> Any:
    cur = ev
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            i = int(part[1:-1])
            cur = cur[i] if isinstance(cur, list) and i < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


class Sends:
    """Message ids to their send (copies to their original's), to describe deliveries and drops."""

    def __init__(self, events: list[dict]) -> None:
        self.by_id: dict[str, dict] = {}
        for ev in events:
            if ev.get("kind") == "send" and "id" in ev:
                self.by_id.setdefault(str(ev["id"]), ev)
            elif ev.get("kind") == "duplicate" and "copy" in ev:
                orig = self.by_id.get(str(ev.get("id")))
                if orig is not None:
                    self.by_id.setdefault(str(ev["copy"]), orig)

    def about(self, mid: Any) -> str:
        send = self.by_id.get(str(mid))
        if send is None:
            return ""
        msg = send.get("msg") if isinstance(send.get("msg"), dict) else {}
        return f" ({msg.get('type', '?')} {send.get('src')}->{send.get('dst')})"


def describe(ev: dict | None, sends: Sends | None = None) -> str:
    """One event as a short line."""
    if ev is None:
        return END
    kind = ev.get("kind")
    head = []
    if "seq" in ev:
        head.append(f"seq {ev['seq']}")
    t = ev.get("t")
    if isinstance(t, float) or isinstance(t, int) and -_MAX_T <= t <= _MAX_T:
        head.append(f"t={t:.4f}")
    elif isinstance(t, int):  # a hand-made trace's: beyond a float's range, shown as it is
        head.append(f"t={_clip(str(t), 40)}")
    rest = {k: v for k, v in ev.items() if k not in ("seq", "t", "kind")}
    if kind == "send":
        msg = rest.pop("msg", None)
        msg = msg if isinstance(msg, dict) else {"msg": msg}
        body = (f"send #{rest.pop('id', '?')} {rest.pop('src', '?')}->{rest.pop('dst', '?')} {msg.get('type', '?')}"
                + "".join(f" {k}={fmt(v)}" for k, v in sorted(msg.items()) if k != "type"))
    elif kind in ("deliver", "drop", "duplicate") and "id" in rest:
        mid = rest.pop("id")
        body = f"{kind} #{mid}{sends.about(mid) if sends else ''}"
    elif kind == "header":
        body = "header" + "".join(f" {k}={fmt(rest[k])}" for k in ("paxsim", "seed", "runtime") if k in rest)
        rest = {}
    else:
        node = rest.pop("node", None)
        body = str(kind) + (f" {node}" if node is not None else "")
    extra = "".join(f" {k}={fmt(v)}" for k, v in sorted(rest.items()))
    return " ".join(head + [body]) + extra


@dataclass
class Divergence:
    index: int  # position in the event lists (0 is the header)
    fields: list[str]
    a: dict | None
    b: dict | None

    @property
    def line(self) -> int:
        return self.index + 1


def first_divergence(a: list[dict], b: list[dict], ignore: tuple = (), start: int = 0) -> Divergence | None:
    for i in range(start, max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x is None or y is None:
            return Divergence(i, ["(end of trace)"], x, y)
        fields = differing_fields(x, y, ignore)
        if fields:
            return Divergence(i, fields, x, y)
    return None


def side_line(label: str, ev: dict | None, fields: list[str], sends: Sends | None, width: int) -> str:
    if ev is None:
        return f"  {label.ljust(width)}  {END}"
    shown = [f for f in fields if not f.startswith("(")][:3]
    values = ", ".join(f"{f}={fmt(get_path(ev, f))}" for f in shown)
    return f"  {label.ljust(width)}  {values + '  in  ' if values else ''}{describe(ev, sends)}"


def divergence_lines(div: Divergence, labels: tuple[str, str], a_events, b_events, what: str = "line",
                     sends: tuple | None = None) -> list[str]:
    """`sends`: each side's `Sends` of the events before the divergence, if
    already made (then the event lists are unused)."""
    names = ", ".join(div.fields[:4]) + (f" and {len(div.fields) - 4} more" if len(div.fields) > 4 else "")
    width = max(len(labels[0]), len(labels[1]))
    seq = (div.a or div.b or {}).get("seq")
    at = f"{what} {div.line}" + (f" (seq {seq})" if seq is not None and what == "line" else "")
    sa, sb = sends or (Sends(a_events[:div.index]), Sends(b_events[:div.index]))
    return [f"first difference at {at}: {names}",
            side_line(labels[0], div.a, div.fields, sa, width),
            side_line(labels[1], div.b, div.fields, sb, width)]


# --- the summary of what differs after -------------------------------------
def _verdict(events):
    try:
        from ..check import check

        return check(events), None
    except Exception as exc:  # noqa: BLE001 - an unjudgeable trace is still compared
        return None, f"{type(exc).__name__}: {exc}"


class _Tally:
    """What `outcome` counts, one event at a time."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.delivered = self.lost = 0
        self.decisions: dict[str, Any] = {}
        self.slots: dict[str, dict] = {}  # Multi-Paxos: node -> slot -> the command it decided there
        self.last_decide = None

    def add(self, ev: dict) -> None:
        kind = ev.get("kind")
        if kind == "send":
            msg = ev.get("msg") if isinstance(ev.get("msg"), dict) else {}
            t = str(msg.get("type", "?"))
            self.counts[t] = self.counts.get(t, 0) + 1
        elif kind == "deliver":
            self.delivered += 1
        elif kind == "drop":
            self.lost += 1
        elif kind == "decide" and ev.get("node") is not None:
            self.decisions.setdefault(str(ev["node"]), ev.get("value"))
            if isinstance(ev.get("t"), (int, float)):
                self.last_decide = ev["t"] if self.last_decide is None else max(self.last_decide, ev["t"])
        elif kind == "decided" and ev.get("node") is not None and "slot" in ev:
            self.slots.setdefault(str(ev["node"]), {}).setdefault(json.dumps(ev["slot"]), ev.get("command"))
            if isinstance(ev.get("t"), (int, float)):
                self.last_decide = ev["t"] if self.last_decide is None else max(self.last_decide, ev["t"])

    def outcome(self, verdict, error) -> dict:
        chosen = [(fmt(c.value), fmt(list(c.ballot))) for c in getattr(verdict, "chosen", [])] if verdict else None
        violations = [v.kind for v in getattr(verdict, "violations", [])] if verdict else None
        return {"counts": self.counts, "delivered": self.delivered, "lost": self.lost, "decisions": self.decisions,
                "slots": self.slots, "last_decide": self.last_decide, "chosen": chosen, "violations": violations,
                "check_error": error}


def outcome(events: list[dict]) -> dict:
    tally = _Tally()
    for ev in events:
        tally.add(ev)
    return tally.outcome(*_verdict(events))


def _kinds(violations):
    if violations is None:
        return "not judged"
    if not violations:
        return "none"
    out: dict[str, int] = {}
    for k in violations:
        out[k] = out.get(k, 0) + 1
    return ", ".join(f"{k} ({n})" for k, n in out.items())


def _chosen_text(chosen: list[tuple[str, str]] | None, short: bool) -> str:
    """(value, ballot) pairs as `v at [r, n]; ...`; `short`: a value chosen at
    more than two ballots as `v at K ballots, [first] to [last]`."""
    if chosen is None:
        return "not judged"
    if not chosen:
        return "nothing"
    if not short:
        return "; ".join(f"{v} at {bal}" for v, bal in chosen)
    by_value: dict[str, list[str]] = {}
    for v, bal in chosen:
        by_value.setdefault(v, []).append(bal)
    return "; ".join("; ".join(f"{v} at {bal}" for bal in bals) if len(bals) <= 2
                     else f"{v} at {len(bals)} ballots, {bals[0]} to {bals[-1]}" for v, bals in by_value.items())


def summary_lines(a: list[dict], b: list[dict], labels: tuple[str, str], wall: bool,
                  outcomes: tuple[dict, dict] | None = None) -> list[str]:
    """`outcomes`: each side's `outcome`, if already made (then the event lists are unused)."""
    A, B = outcomes or (outcome(a), outcome(b))
    la, lb = labels
    rows: list[tuple[str, str, str]] = []
    same: list[str] = []

    def row(name, x, y):
        (same.append(name) if x == y else rows.append((name, x, y)))

    def decisions(d):
        if not d:
            return "nobody decided"
        by_value: dict[str, list[str]] = {}
        for n, v in d.items():
            by_value.setdefault(fmt(v), []).append(n)
        return "; ".join(f"{', '.join(ns)} {v}" for v, ns in by_value.items())

    if A["slots"] or B["slots"]:  # Multi-Paxos: a log of slots per node, not one decision
        def counts(sl):
            return ", ".join(f"{n} {len(sl[n])}" for n in sorted(sl)) or "none"

        row("slots decided", counts(A["slots"]), counts(B["slots"]))
        first = None
        for n in sorted(set(A["slots"]) | set(B["slots"])):
            a_log, b_log = A["slots"].get(n, {}), B["slots"].get(n, {})
            for slot in sorted(set(a_log) | set(b_log), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k)):
                if slot in a_log and slot in b_log and a_log[slot] != b_log[slot]:
                    key = (int(slot) if slot.isdigit() else float("inf"), slot, n)
                    if first is None or key < first[0]:
                        first = (key, fmt(a_log[slot]), fmt(b_log[slot]))
                    break
        if first is not None:
            (_, slot, n), x, y = first
            rows.append((f"first slot decided differently (slot {slot} at {n})", x, y))
        else:
            same.append("commands in the slots both decided")
    if not (A["slots"] or B["slots"]) or A["decisions"] or B["decisions"]:
        row("decisions", decisions(A["decisions"]), decisions(B["decisions"]))
        if A["chosen"] == B["chosen"]:
            same.append("chosen")
        else:  # told short where it is long (duelling proposers choose one value at hundreds of ballots)
            x, y = _chosen_text(A["chosen"], True), _chosen_text(B["chosen"], True)
            if x == y:
                x, y = _chosen_text(A["chosen"], False), _chosen_text(B["chosen"], False)
            rows.append(("chosen", x, y))
    types = list(dict.fromkeys(list(A["counts"]) + list(B["counts"])))
    diff_types = [t for t in types if A["counts"].get(t, 0) != B["counts"].get(t, 0)]
    if diff_types:
        rows.append(("messages sent", ", ".join(f"{t} {A['counts'].get(t, 0)}" for t in diff_types),
                     ", ".join(f"{t} {B['counts'].get(t, 0)}" for t in diff_types)))
    else:
        same.append("messages sent by type")
    row("delivered / lost", f"{A['delivered']} / {A['lost']}", f"{B['delivered']} / {B['lost']}")
    row("violations", _kinds(A["violations"]), _kinds(B["violations"]))
    if not wall:
        last = lambda x: "-" if x is None else f"{x:.3f} ms"  # noqa: E731
        row("last decision", last(A["last_decide"]), last(B["last_decide"]))
    width = max(len(la), len(lb))
    out = []
    for name, x, y in rows:
        out.append(f"  {name}:")
        out.append(f"    {la.ljust(width)}  {x}")
        out.append(f"    {lb.ljust(width)}  {y}")
    if same:
        out.append(f"  same: {', '.join(same)}")
    for label, o in ((la, A), (lb, B)):
        if o["check_error"]:
            out.append(f"  note: the checker could not judge {label}: {o['check_error']}")
    return out


@dataclass
class DiffResult:
    identical: bool
    lines: list[str]
    divergence: Divergence | None
    header_fields: list[str] = field(default_factory=list)
    wall: bool = False


def _compare_headers(ha: dict, hb: dict) -> tuple[bool, tuple, list[str], list[str]]:
    """(wall clock?, the fields events are compared without, the header
    fields that differ, the first summary lines) of two traces' headers."""
    wall = is_wall_clock(ha) or is_wall_clock(hb)
    lines: list[str] = []
    header_fields = differing_fields(ha, hb)
    if header_fields:
        shown = ", ".join(f"{f} ({fmt(get_path(ha, f))} vs {fmt(get_path(hb, f))})" for f in header_fields[:4])
        more = f" and {len(header_fields) - 4} more" if len(header_fields) > 4 else ""
        lines.append(f"headers differ: {shown}{more}")
    if wall:
        lines.append("a wall-clock trace: events compared without their times, seqs and message ids")
    return wall, (WALL_IGNORED if wall else ()), header_fields, lines


def diff(a: list[dict], b: list[dict], labels: tuple[str, str] = ("A", "B")) -> DiffResult:
    """Compare two traces (lists of events, header first)."""
    ha = a[0] if a and a[0].get("kind") == "header" else {}
    hb = b[0] if b and b[0].get("kind") == "header" else {}
    wall, ignore, header_fields, lines = _compare_headers(ha, hb)
    div = first_divergence(a, b, ignore, start=1)
    return _result(lines, div, header_fields, wall, labels, (len(a), len(b)),
                   lambda: divergence_lines(div, labels, a, b), lambda: summary_lines(a, b, labels, wall))


def _result(lines: list[str], div, header_fields, wall: bool, labels: tuple[str, str], counts: tuple[int, int],
            divergence, summary) -> DiffResult:
    """What `diff` and `diff_files` conclude, given the headers' lines, the
    first divergence (or None), each side's count of events, and how to word
    the divergence and the summary after it (called only if there is one)."""
    if div is None and not header_fields:
        lines.append(f"identical: {counts[0]} events")
        return DiffResult(True, lines, None, [], wall)
    if div is None:
        lines.append(f"the events are the same ({counts[0] - 1} after the header)")
    else:
        lines += divergence()
        lines.append(f"after it: {counts[0] - div.index} events in {labels[0]}, {counts[1] - div.index} in "
                     f"{labels[1]}; each run as a whole:")
        lines += summary()
    return DiffResult(False, lines, div, header_fields, wall)


class NotStreamed(Exception):
    """`diff_files` met traces it cannot compare as they are read (a
    protocol whose checker needs the whole trace): read them whole."""


class _Side:
    """One trace of `diff_files` as it is read: its count of events, the
    tally of `outcome`, a lean checker, and what `Sends` would say of the
    messages in flight (let go of once delivered or dropped)."""

    def __init__(self, path, header: dict) -> None:
        self.path, self.header, self.count = path, header, 1
        self.tally = _Tally()
        try:
            self.checker = _checker_for(header, explain=False)
        except Exception:  # noqa: BLE001 - judged again with a full checker, which words it
            self.checker = None
        self.flying: dict[str, str] = {}  # message id -> what `Sends.about` says of it
        self.done: dict[str, str] = {}  # those that ended at time done_t: a copy may follow its original's end
        self.done_t = None
        self.top = -1  # the largest message id so far; while ids rise, no two messages share one
        self.exact = True

    def add(self, ev: dict, follow: bool) -> None:
        self.count += 1
        self.tally.add(ev)
        if self.checker is not None:
            try:
                self.checker.append(ev)
            except Exception:  # noqa: BLE001 - judged again with a full checker, which words it
                self.checker = None
        if not follow:
            return
        kind = ev.get("kind")
        if kind == "send" and "id" in ev:
            mid = ev["id"]
            if type(mid) is not int or mid <= self.top:
                self.exact = False
                return
            self.top = mid
            msg = ev.get("msg") if isinstance(ev.get("msg"), dict) else {}
            self.flying[str(mid)] = f" ({msg.get('type', '?')} {ev.get('src')}->{ev.get('dst')})"
        elif kind == "duplicate" and "copy" in ev:
            copy, orig = ev["copy"], str(ev.get("id"))
            if type(copy) is not int or copy <= self.top:
                self.exact = False
                return
            self.top = copy
            about = self.flying.get(orig) or (self.done.get(orig) if ev.get("t") == self.done_t else None)
            if about is not None:  # else Sends says nothing of it, or what it let go of: `sends` asks again
                self.flying[str(copy)] = about
        elif kind in ("deliver", "drop") and "id" in ev:
            about = self.flying.pop(str(ev["id"]), None)
            if about is not None:
                if ev.get("t") != self.done_t:
                    self.done.clear()
                    self.done_t = ev.get("t")
                self.done[str(ev["id"])] = about

    def sends(self, ev: dict | None, index: int):
        """`Sends` of the first `index` events, as far as `describe(ev)` reads it."""
        if ev is None or ev.get("kind") not in ("deliver", "drop", "duplicate") or "id" not in ev:
            return None
        key = str(ev["id"])
        about = self.flying.get(key) or self.done.get(key)
        if self.exact and about is not None:
            return _About(key, about)
        from ..trace import stream_trace

        return Sends(ev for _, ev in zip(range(index), stream_trace(self.path)))  # read again: one let go of

    def outcome(self) -> dict:
        verdict, error = None, None
        if self.checker is not None:
            verdict = self.checker.finish()
        if verdict is None or (verdict.violations and not getattr(self.checker, "exact", False)):
            verdict, error = self._full_verdict()  # a lean checker's violations, explained by a full one
        return self.tally.outcome(verdict, error)

    def _full_verdict(self):
        try:
            from ..trace import stream_trace

            events = stream_trace(self.path)
            checker = _checker_for(next(events))
            for ev in events:
                checker.append(ev)
            return checker.finish(), None
        except Exception as exc:  # noqa: BLE001 - an unjudgeable trace is still compared
            return None, f"{type(exc).__name__}: {exc}"


def _protocol_kind(header: dict) -> str:
    """The protocol `header` names, as `check` finds it; NotStreamed if it cannot be read."""
    try:
        return ((header.get("scenario") or {}).get("protocol") or {}).get("kind", "single-decree")
    except AttributeError:
        raise NotStreamed from None


def _checker_for(header: dict, explain: bool = True):
    """A checker fed `header` (`append` the events after it, then
    `finish()`), for the protocol it names, as `check` finds it: the
    single-decree one, or a protocol package's (Multi-Paxos: complete with
    or without `explain`).  NotStreamed for a header it cannot read."""
    from ..check import PROTOCOL_KINDS, Checker

    kind = _protocol_kind(header)
    if kind in PROTOCOL_KINDS:
        from ..check_multi import MultiChecker

        checker = MultiChecker(kind)
        checker.append(header)
        return checker
    return Checker(header, explain=explain)


class _About:
    def __init__(self, key: str, about: str) -> None:
        self.key, self.text = key, about

    def about(self, mid: Any) -> str:
        return self.text if str(mid) == self.key else ""


def diff_files(a, b, labels: tuple[str, str] = ("A", "B")) -> DiffResult:
    """`diff` of two trace files, compared as they are read: memory holds
    the messages in flight, the counts and the checker's state, not the
    traces.  The same result as `diff` of the traces read whole, and the
    same `TraceError` first (A's, then B's).  `NotStreamed` for a header
    whose protocol cannot be read."""
    from ..trace import TraceError, stream_trace

    A, B = stream_trace(a), stream_trace(b)

    def next_b():
        try:
            return next(B, None)
        except TraceError:
            for _ in A:  # a bad A is reported first, as when both are read whole
                pass
            raise

    ha, hb = next(A), next_b()
    for h in (ha, hb):
        _protocol_kind(h)  # NotStreamed if it cannot be read: read whole, as `check` does
    wall, ignore, header_fields, lines = _compare_headers(ha, hb)
    sa, sb = _Side(a, ha), _Side(b, hb)
    div, sends = None, None
    index = 1
    while True:
        x, y = next(A, None), next_b()
        if x is None and y is None:
            break
        if div is None:
            if x is None or y is None:
                div = Divergence(index, ["(end of trace)"], x, y)
            else:
                fields = differing_fields(x, y, ignore)
                if fields:
                    div = Divergence(index, fields, x, y)
            if div is not None:
                sends = (sa.sends(x, index), sb.sends(y, index))
        if x is not None:
            sa.add(x, div is None)
        if y is not None:
            sb.add(y, div is None)
        index += 1
    return _result(lines, div, header_fields, wall, labels, (sa.count, sb.count),
                   lambda: divergence_lines(div, labels, None, None, sends=sends),
                   lambda: summary_lines(None, None, labels, wall, outcomes=(sa.outcome(), sb.outcome())))


def replay_difference(old_lines: list[str], new_lines: list[str]) -> tuple[int, list[str]] | None:
    """`paxsim replay`: the first line where a trace file and its replay differ,
    as (line number, report lines), or None when they are byte-identical."""
    for i in range(max(len(old_lines), len(new_lines))):
        old = old_lines[i] if i < len(old_lines) else None
        new = new_lines[i] if i < len(new_lines) else None
        if old == new:
            continue
        try:
            a = json.loads(old) if old is not None else None
            b = json.loads(new) if new is not None else None
        except (ValueError, RecursionError) as exc:  # not JSON; nested too deeply; a number too long
            from ..trace import unreadable_number

            why = ("not JSON" if isinstance(exc, json.JSONDecodeError) else
                   "not JSON Python can read (nested too deeply)" if isinstance(exc, RecursionError) else
                   f"not JSON Python can read ({unreadable_number(exc)})")
            return i + 1, [f"DIFFERENT at line {i + 1}: the trace's line is {why}",
                           f"  trace:  {_clip(old)}", f"  replay: {new}"]
        if old is not None and not isinstance(a, dict):  # e.g. `null`, `[1, 2]`: not an event, nor the end
            return i + 1, [f"DIFFERENT at line {i + 1}: the trace's line is not a JSON object",
                           f"  trace:  {_clip(old)}", f"  replay: {new}"]
        olds = [json.loads(x) for x in old_lines[:i] if x.strip()]
        news = [json.loads(x) for x in new_lines[:i]]
        if a is None or b is None:
            fields = ["(end of trace)"]
            more = (len(old_lines) - len(new_lines))
            what = (f"the trace has {more} more line(s)" if more > 0 else f"the trace ends after {len(old_lines)} lines")
        else:
            fields = differing_fields(a, b) or ["(formatting)"]
            what = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4 else "")
        seq = (a or b or {}).get("seq")
        head = f"DIFFERENT at line {i + 1}" + (f" (seq {seq})" if seq is not None else "") + f": {what}"
        return i + 1, [head,
                       side_line("trace:", a, fields, Sends(olds), 7),
                       side_line("replay:", b, fields, Sends(news), 7)]
    return None
