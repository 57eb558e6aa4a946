"""Log safety of Multi-Paxos, judged from trace events alone.

Functions over a list of event dicts as a trace holds them: the node
observations of `effects.py` as `{"seq", "kind", "node", **fields}` (other
events are ignored).  Each finding names the seq numbers involved.

* agreement: no two `decided` or `executed` events give different commands
  for one slot (so executed logs are prefix-compatible); and no slot has two
  commands chosen (`voted` for by a majority at one ballot), or one chosen
  and another learned, even where no replica learned it (`chosen`);
* divergence: no two replicas get different results at one slot, or
  disagree on whether its command was applied (their state machines went
  apart);
* order: each replica executes slots 0, 1, 2, ... in order, each once, with
  no hole; a `restored` event (a start) resumes at the slot it names, and
  may never go back (each log only grows);
* exactly-once: no replica applies a command `(client, req)` at two slots;
* fail-stop: a node that is down votes, decides, executes, promises, leads
  and restores nothing, and it is not crashed while down or restarted while
  up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Finding:
    kind: str  # agreement | divergence | order | exactly-once | fail-stop
    message: str
    seqs: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return {"kind": self.kind, "message": self.message, "seqs": list(self.seqs)}

    def explain(self) -> str:
        return f"{self.kind}: {self.message}"


def fmt_command(cmd: Any) -> str:
    if cmd is None:
        return "no-op"
    value = "" if cmd.get("value") is None else f" {cmd['value']!r}"
    return f"{cmd['client']}#{cmd['req']} {cmd['f']} {cmd['key']!r}{value}"


class _Property:
    """One property judged incrementally: `feed` each event in `seq` order
    (anything else is ignored), `found` holds the findings so far.  Its
    state grows with the log's slots and the clients' requests, never with
    the message traffic or the number of replicas' events per slot beyond
    the first, so a trace of millions of events is judged in little memory."""

    found: list[Finding]

    def feed(self, ev: dict) -> None:  # pragma: no cover - every property defines it
        raise NotImplementedError

    @classmethod
    def over(cls, events: Iterable[dict]) -> list[Finding]:
        prop = cls()
        feed = prop.feed
        for ev in events:
            feed(ev)
        return prop.found


class Agreement(_Property):
    """No slot holds two different commands, in any replica's decided or executed log."""

    def __init__(self) -> None:
        self.first: dict[int, tuple] = {}  # slot -> (command id, node, kind, seq) of its first decided or executed
        self.reported: dict[int, bool] = {}
        self.names: dict[str, str] = {}  # see _command_id
        self.found = []

    def feed(self, ev: dict) -> None:
        if ev.get("kind") not in ("decided", "executed"):
            return
        slot = ev["slot"]
        seen = self.first.get(slot)
        if seen is None:  # what the message quotes, not the whole event: one entry per slot
            names = self.names
            self.first[slot] = (_command_id(ev["command"], names), names.setdefault(ev["node"], ev["node"]),
                                names.setdefault(ev["kind"], ev["kind"]), ev["seq"])
        elif slot not in self.reported and seen[0] != _command_id(ev["command"]):
            cid, node, kind, seq = seen
            self.reported[slot] = True
            self.found.append(Finding(
                "agreement",
                f"slot {slot}: {node} {kind} {fmt_cid(cid)} (seq {seq}) "
                f"but {ev['node']} {ev['kind']} {fmt_command(ev['command'])} (seq {ev['seq']})",
                (seq, ev["seq"])))


def agreement(events: Iterable[dict]) -> list[Finding]:
    """No slot holds two different commands, in any replica's decided or executed log."""
    return Agreement.over(events)


def _command_id(cmd: Any, names: dict | None = None) -> Any:
    """What identifies a command (None for a no-op): (client, req, f, key,
    repr(value)), all a message about it quotes (`fmt_cid`).  Two commands
    are the same when these are: a value's JSON type counts (1, 1.0 and
    true differ).  With `names`, one copy of each client, operation and key
    name among those it has seen: a trace read line by line has its own
    copy of every string of every line, and a property keeps a command per
    slot, so it keeps this rather than the command's dict."""
    if cmd is None:
        return None
    client, f, key = cmd["client"], cmd["f"], cmd["key"]
    if names is not None:
        client, f = names.setdefault(client, client), names.setdefault(f, f)
        if type(key) is str:
            key = names.setdefault(key, key)
    return (client, cmd["req"], f, key, repr(cmd.get("value")))


def fmt_cid(cid: Any) -> str:
    """`fmt_command` of the command `cid` identifies."""
    if cid is None:
        return "no-op"
    client, req, f, key, value = cid
    return f"{client}#{req} {f} {key!r}" + ("" if value == "None" else f" {value}")


_CHOSEN: dict = {}  # Chosen.voters' mark of a (slot, ballot, command) already judged chosen (never written to)


def _votes(who: dict[str, int]) -> str:
    return ", ".join(f"{n} (seq {q})" for n, q in who.items())


class Chosen(_Property):
    """No slot has two commands chosen, or one chosen and another learned.

    A command is chosen at a slot when a quorum (a majority of the header's
    nodes) voted for it at one ballot, whether or not any replica learned it
    yet: agreement over `decided` and `executed` events alone misses a
    second command chosen where nobody learned the first.  Needs the header
    as the first event fed (without one, nothing is judged here)."""

    def __init__(self) -> None:
        self.quorum: int | None = None
        self.started = False
        self.voters: dict[tuple, dict[str, int]] = {}  # (slot, ballot, command id) -> node -> seq of its vote
        self.picked: dict[int, tuple] = {}  # slot -> (command id, ballot, voters) chosen first
        self.learned: dict[int, tuple] = {}  # slot -> (command id, node, kind, seq) of its first decided or executed
        self.names: dict = {}  # see _command_id (and ballots, one copy each)
        self.reported: dict[int, bool] = {}
        self.found = []

    def feed(self, ev: dict) -> None:
        if not self.started:
            self.started = True
            if ev.get("kind") == "header":
                nodes = (ev.get("scenario") or {}).get("nodes")
                if nodes:
                    self.quorum = len(nodes) // 2 + 1
        if self.quorum is None:
            return
        kind = ev.get("kind")
        if kind == "voted":
            slot, cmd = ev["slot"], ev["command"]
            names = self.names  # what is kept per (slot, ballot) has one copy of each name
            ballot = tuple(names.setdefault(x, x) if type(x) is str else x for x in ev["ballot"])
            ballot = names.setdefault(ballot, ballot)  # and of each ballot: a leader keeps one over many slots
            cid = _command_id(cmd, names)
            picked = self.picked.get(slot)
            if picked is not None and picked[1] == ballot and picked[0] == cid:
                return  # a later vote for the command chosen first, at its ballot: nothing new
            key = (slot, ballot, cid)
            who = self.voters.get(key)
            if who is None:
                who = self.voters[key] = {}
            elif who is _CHOSEN:
                return  # a later vote for a command already judged chosen at this ballot: nothing new
            who.setdefault(names.setdefault(ev["node"], ev["node"]), ev["seq"])
            if len(who) != self.quorum:
                return
            # Judged now and never again: its voters need not be kept (the first command chosen
            # at a slot is known by `picked`, any other by a mark).
            if slot in self.reported:
                self.voters[key] = _CHOSEN
                return
            if picked is None:
                del self.voters[key]
                picked = self.picked[slot] = (cid, ballot, who)
            else:
                self.voters[key] = _CHOSEN
            first = picked
            if first[0] != cid:
                self.reported[slot] = True
                self.found.append(Finding(
                    "agreement",
                    f"slot {slot}: two commands chosen: {fmt_cid(first[0])} at ballot {list(first[1])} (votes "
                    f"of {_votes(first[2])}) and {fmt_command(cmd)} at ballot {list(ballot)} (votes of {_votes(who)})",
                    tuple(sorted({*first[2].values(), *who.values()}))))
            elif slot in self.learned and self.learned[slot][0] != cid:
                learned_cid, node, learned_kind, seq = self.learned[slot]
                self.reported[slot] = True
                self.found.append(Finding(
                    "agreement",
                    f"slot {slot}: {node} {learned_kind} {fmt_cid(learned_cid)} (seq {seq}) "
                    f"but {fmt_command(cmd)} was chosen at ballot {list(ballot)} (votes of {_votes(who)})",
                    tuple(sorted({seq, *who.values()}))))
        elif kind in ("decided", "executed"):
            slot = ev["slot"]
            if slot in self.learned:
                return
            names = self.names
            cid = _command_id(ev["command"], names)
            first = self.picked.get(slot)
            if first is not None and first[0] == cid:
                cid = first[0]  # one copy for both
            self.learned[slot] = (cid, names.setdefault(ev["node"], ev["node"]), names.setdefault(kind, kind),
                                  ev["seq"])
            if first is not None and slot not in self.reported and first[0] != cid:
                self.reported[slot] = True
                self.found.append(Finding(
                    "agreement",
                    f"slot {slot}: {fmt_cid(first[0])} was chosen at ballot {list(first[1])} (votes of "
                    f"{_votes(first[2])}) but {ev['node']} {kind} {fmt_command(ev['command'])} (seq {ev['seq']})",
                    tuple(sorted({*first[2].values(), ev["seq"]}))))


def chosen(events: Iterable[dict]) -> list[Finding]:
    """No slot has two commands chosen, or one chosen and another learned (see `Chosen`)."""
    return Chosen.over(events)


class Divergence(_Property):
    """Replicas that run the same command at a slot get the same result, and
    all apply it or all answer it from the dedup table: one that applies a
    put the others skip has a different state though every result agrees."""

    def __init__(self) -> None:
        self.first: dict[int, tuple] = {}  # slot -> (command id, result, applied, node, seq) of its first executed
        self.learned: dict[int, tuple] | None = None  # Chosen's, where LogSafety shares it: its command ids reused
        self.names: dict[str, str] = {}  # see _command_id
        self.reported: dict[int, bool] = {}
        self.found = []

    def feed(self, ev: dict) -> None:
        if ev.get("kind") != "executed":
            return
        slot = ev["slot"]
        seen = self.first.get(slot)
        if seen is None:  # what the messages quote, not the whole event
            names = self.names
            cid = _command_id(ev["command"], names)
            other = self.learned.get(slot) if self.learned is not None else None
            if other is not None and other[0] == cid:
                cid = other[0]  # one copy for both
            self.first[slot] = (cid, ev["result"], bool(ev.get("applied")),
                                names.setdefault(ev["node"], ev["node"]), ev["seq"])
            return
        cid, result, applied, node, seq = seen
        if slot in self.reported or cid != _command_id(ev["command"]):
            return
        if result != ev["result"]:
            self.reported[slot] = True
            self.found.append(Finding(
                "divergence",
                f"slot {slot} ({fmt_command(ev['command'])}): {node} got {result!r} "
                f"(seq {seq}) but {ev['node']} got {ev['result']!r} (seq {ev['seq']})",
                (seq, ev["seq"])))
        elif applied != bool(ev.get("applied")):
            self.reported[slot] = True
            self.found.append(Finding(
                "divergence",
                f"slot {slot} ({fmt_command(ev['command'])}): {node} "
                f"{'applied it' if applied else 'did not apply it'} (seq {seq}) but "
                f"{ev['node']} {'applied it' if ev.get('applied') else 'did not apply it'} (seq {ev['seq']})",
                (seq, ev["seq"])))


def divergence(events: Iterable[dict]) -> list[Finding]:
    """Replicas agree on each slot's result and on whether it was applied (see `Divergence`)."""
    return Divergence.over(events)


class Order(_Property):
    """Each replica executes its log in slot order, from where it was restored, with no hole."""

    def __init__(self) -> None:
        self.expected: dict[str, tuple[int, int | None]] = {}  # node -> (next slot, seq that set it)
        self.found = []

    def feed(self, ev: dict) -> None:
        kind = ev.get("kind")
        expected = self.expected
        if kind == "restored":
            node = ev["node"]
            nxt, at = expected.get(node, (0, None))
            if ev["executed"] < nxt:
                self.found.append(Finding(
                    "order",
                    f"{node}'s log shrank: it had executed slots 0..{nxt - 1} (seq {at}) and was restored "
                    f"with only {ev['executed']} (seq {ev['seq']})",
                    (at, ev["seq"]) if at is not None else (ev["seq"],)))
            expected[node] = (ev["executed"], ev["seq"])
        elif kind == "executed":
            node, slot = ev["node"], ev["slot"]
            nxt, at = expected.get(node, (0, None))
            if slot > nxt:
                self.found.append(Finding(
                    "order", f"{node} executed slot {slot} (seq {ev['seq']}) before slot {nxt}: it applied past a hole",
                    (ev["seq"],)))
            elif slot < nxt:
                self.found.append(Finding(
                    "order", f"{node} executed slot {slot} (seq {ev['seq']}) after slot {nxt - 1} (seq {at}): "
                    f"out of order or twice", (at, ev["seq"]) if at is not None else (ev["seq"],)))
            if slot + 1 > nxt:
                expected[node] = (slot + 1, ev["seq"])


def order(events: Iterable[dict]) -> list[Finding]:
    """Each replica executes its log in slot order, from where it was restored, with no hole."""
    return Order.over(events)


class ExactlyOnce(_Property):
    """No replica applies one client request (client, req) at two slots."""

    def __init__(self) -> None:
        # Where each replica first applied each request, stored for what is usual (every
        # replica applies a request at one slot): (client, req) -> (that slot, {node: seq});
        # a replica whose first application was at another slot: (node, client, req) -> (slot, seq).
        self.applied: dict[tuple, tuple[int, dict[str, int]]] = {}
        self.elsewhere: dict[tuple, tuple[int, int]] = {}
        self.reported: dict[tuple, bool] = {}
        self.names: dict[str, str] = {}  # see _command_id
        self.found = []

    def feed(self, ev: dict) -> None:
        if ev.get("kind") != "executed" or not ev.get("applied") or ev["command"] is None:
            return
        cmd = ev["command"]
        names = self.names
        cid = (names.setdefault(cmd["client"], cmd["client"]), cmd["req"])
        node, slot, seq = names.setdefault(ev["node"], ev["node"]), ev["slot"], ev["seq"]
        usual = self.applied.get(cid)
        if usual is None:
            self.applied[cid] = (slot, {node: seq})
            return
        usual_slot, seqs = usual
        if node in seqs:
            first_slot, first_seq = usual_slot, seqs[node]
        elif (node,) + cid in self.elsewhere:
            first_slot, first_seq = self.elsewhere[(node,) + cid]
        else:  # this replica's first application of the request
            if slot == usual_slot:
                seqs[node] = seq
            else:
                self.elsewhere[(node,) + cid] = (slot, seq)
            return
        if first_slot != slot and cid not in self.reported:
            self.reported[cid] = True
            self.found.append(Finding(
                "exactly-once",
                f"{ev['node']} applied {fmt_command(cmd)} twice: at slot {first_slot} (seq {first_seq}) "
                f"and at slot {slot} (seq {seq})",
                (first_seq, seq)))


def exactly_once(events: Iterable[dict]) -> list[Finding]:
    """No replica applies one client request (client, req) at two slots."""
    return ExactlyOnce.over(events)


class FailStop(_Property):
    """A crashed node does nothing until it restarts; it is not crashed
    while down, or restarted while up."""

    ACTS = {"voted": "voted", "decided": "decided", "executed": "executed", "promised": "promised",
            "leading": "took the lead", "restored": "restored its log"}

    def __init__(self) -> None:
        self.down: dict[str, int] = {}  # node -> seq of the crash that took it down, while it is down
        self.told: set[int] = set()  # crashes whose node's first act while down is reported (one finding each)
        self.found = []

    def feed(self, ev: dict) -> None:
        kind = ev.get("kind")
        down = self.down
        if kind == "crash":
            node = ev["node"]
            if node in down:
                self.found.append(Finding(
                    "fail-stop", f"{node} crashed at seq {ev['seq']} while already down (crashed at seq "
                    f"{down[node]})", (down[node], ev["seq"])))
            else:
                down[node] = ev["seq"]
        elif kind == "restart":
            node = ev["node"]
            if down.pop(node, None) is None:
                self.found.append(Finding(
                    "fail-stop", f"{node} restarted at seq {ev['seq']} while up: a restart must follow a crash",
                    (ev["seq"],)))
        elif down and kind in self.ACTS:
            crashed = down.get(ev["node"])
            if crashed is not None and crashed not in self.told:
                self.told.add(crashed)
                self.found.append(Finding(
                    "fail-stop", f"{ev['node']} is down (crashed at seq {crashed}) but {self.ACTS[kind]} at seq "
                    f"{ev['seq']}", (crashed, ev["seq"])))


def fail_stop(events: Iterable[dict]) -> list[Finding]:
    """A crashed node does nothing until it restarts."""
    return FailStop.over(events)


PROPERTIES = (Agreement, Chosen, Divergence, Order, ExactlyOnce, FailStop)


class LogSafety:
    """Every property at once, fed one event at a time in `seq` order
    (`feed`), then `findings()`: property by property, as `log_safety`
    gives them over the whole list."""

    KINDS = {  # the events each property reads (Chosen also reads the first event: the header)
        "voted": (Chosen, FailStop), "decided": (Chosen, Agreement, FailStop), "restored": (Order, FailStop),
        "executed": (Chosen, Agreement, Divergence, Order, ExactlyOnce, FailStop),
        "promised": (FailStop,), "leading": (FailStop,), "crash": (FailStop,), "restart": (FailStop,),
    }

    def __init__(self) -> None:
        self.props = [prop() for prop in PROPERTIES]
        by_class = {type(p): p.feed for p in self.props}
        # Agreement and Chosen both keep each slot's first decided or executed event, alike:
        # one dict for both (Chosen, fed first, writes it when it judges; else Agreement does).
        agreement, chosen = (next(p for p in self.props if type(p) is c) for c in (Agreement, Chosen))
        agreement.first = chosen.learned
        next(p for p in self.props if type(p) is Divergence).learned = chosen.learned
        self._table = {kind: tuple(by_class[c] for c in classes) for kind, classes in self.KINDS.items()}
        self._everyone = self._table["executed"]  # every property, in the order that shares `first`
        self._fresh = True

    def feed(self, ev: dict) -> None:
        if self._fresh:  # the first event goes to every property (Chosen reads the header there)
            self._fresh = False
            for f in self._everyone:
                f(ev)
            return
        for f in self._table.get(ev.get("kind"), ()):
            f(ev)

    def findings(self) -> list[Finding]:
        return [f for p in self.props for f in p.found]


def log_safety(events: Iterable[dict]) -> list[Finding]:
    """Every finding of every property, property by property."""
    judge = LogSafety()
    feed = judge.feed
    for ev in events:
        feed(ev)
    return judge.findings()
