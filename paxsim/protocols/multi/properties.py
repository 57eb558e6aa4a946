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
* exactly-once: no replica applies a command `(client, req)` at two slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Finding:
    kind: str  # agreement | divergence | order | exactly-once
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


def agreement(events: Iterable[dict]) -> list[Finding]:
    """No slot holds two different commands, in any replica's decided or executed log."""
    first: dict[int, dict] = {}
    reported: dict[int, bool] = {}
    found = []
    for ev in events:
        if ev.get("kind") not in ("decided", "executed"):
            continue
        slot = ev["slot"]
        seen = first.setdefault(slot, ev)
        if seen["command"] != ev["command"] and slot not in reported:
            reported[slot] = True
            found.append(Finding(
                "agreement",
                f"slot {slot}: {seen['node']} {seen['kind']} {fmt_command(seen['command'])} (seq {seen['seq']}) "
                f"but {ev['node']} {ev['kind']} {fmt_command(ev['command'])} (seq {ev['seq']})",
                (seen["seq"], ev["seq"])))
    return found


def _command_id(cmd: Any) -> Any:
    return None if cmd is None else (cmd["client"], cmd["req"], cmd["f"], cmd["key"], repr(cmd.get("value")))


def chosen(events: list[dict]) -> list[Finding]:
    """No slot has two commands chosen, or one chosen and another learned.

    A command is chosen at a slot when a quorum (a majority of the header's
    nodes) voted for it at one ballot, whether or not any replica learned it
    yet: agreement over `decided` and `executed` events alone misses a
    second command chosen where nobody learned the first.  Needs the header
    (without one, nothing is judged here)."""
    header = events[0] if events and events[0].get("kind") == "header" else None
    nodes = ((header or {}).get("scenario") or {}).get("nodes")
    if not nodes:
        return []
    quorum = len(nodes) // 2 + 1
    voters: dict[tuple, dict[str, int]] = {}  # (slot, ballot, command id) -> node -> seq of its vote
    picked: dict[int, tuple] = {}  # slot -> (command, ballot, voters) of the first command chosen there
    learned: dict[int, dict] = {}  # slot -> first decided or executed event
    reported: dict[int, bool] = {}
    found = []

    def votes(who: dict[str, int]) -> str:
        return ", ".join(f"{n} (seq {q})" for n, q in who.items())

    for ev in events:
        kind = ev.get("kind")
        if kind == "voted":
            slot, cmd = ev["slot"], ev["command"]
            ballot = tuple(ev["ballot"])
            who = voters.setdefault((slot, ballot, _command_id(cmd)), {})
            who.setdefault(ev["node"], ev["seq"])
            if len(who) != quorum or slot in reported:
                continue
            first = picked.setdefault(slot, (cmd, ballot, dict(who)))
            if _command_id(first[0]) != _command_id(cmd):
                reported[slot] = True
                found.append(Finding(
                    "agreement",
                    f"slot {slot}: two commands chosen: {fmt_command(first[0])} at ballot {list(first[1])} (votes "
                    f"of {votes(first[2])}) and {fmt_command(cmd)} at ballot {list(ballot)} (votes of {votes(who)})",
                    tuple(sorted({*first[2].values(), *who.values()}))))
            elif slot in learned and _command_id(learned[slot]["command"]) != _command_id(cmd):
                seen = learned[slot]
                reported[slot] = True
                found.append(Finding(
                    "agreement",
                    f"slot {slot}: {seen['node']} {seen['kind']} {fmt_command(seen['command'])} (seq {seen['seq']}) "
                    f"but {fmt_command(cmd)} was chosen at ballot {list(ballot)} (votes of {votes(who)})",
                    tuple(sorted({seen["seq"], *who.values()}))))
        elif kind in ("decided", "executed"):
            slot = ev["slot"]
            seen = learned.setdefault(slot, ev)
            first = picked.get(slot)
            if seen is ev and first is not None and slot not in reported \
                    and _command_id(first[0]) != _command_id(ev["command"]):
                reported[slot] = True
                found.append(Finding(
                    "agreement",
                    f"slot {slot}: {fmt_command(first[0])} was chosen at ballot {list(first[1])} (votes of "
                    f"{votes(first[2])}) but {ev['node']} {kind} {fmt_command(ev['command'])} (seq {ev['seq']})",
                    tuple(sorted({*first[2].values(), ev["seq"]}))))
    return found


def divergence(events: Iterable[dict]) -> list[Finding]:
    """Replicas that run the same command at a slot get the same result, and
    all apply it or all answer it from the dedup table: one that applies a
    put the others skip has a different state though every result agrees."""
    first: dict[int, dict] = {}
    reported: dict[int, bool] = {}
    found = []
    for ev in events:
        if ev.get("kind") != "executed":
            continue
        slot = ev["slot"]
        seen = first.setdefault(slot, ev)
        if seen["command"] != ev["command"] or slot in reported:
            continue
        if seen["result"] != ev["result"]:
            reported[slot] = True
            found.append(Finding(
                "divergence",
                f"slot {slot} ({fmt_command(ev['command'])}): {seen['node']} got {seen['result']!r} "
                f"(seq {seen['seq']}) but {ev['node']} got {ev['result']!r} (seq {ev['seq']})",
                (seen["seq"], ev["seq"])))
        elif bool(seen.get("applied")) != bool(ev.get("applied")):
            reported[slot] = True
            found.append(Finding(
                "divergence",
                f"slot {slot} ({fmt_command(ev['command'])}): {seen['node']} "
                f"{'applied it' if seen.get('applied') else 'did not apply it'} (seq {seen['seq']}) but "
                f"{ev['node']} {'applied it' if ev.get('applied') else 'did not apply it'} (seq {ev['seq']})",
                (seen["seq"], ev["seq"])))
    return found


def order(events: Iterable[dict]) -> list[Finding]:
    """Each replica executes its log in slot order, from where it was restored, with no hole."""
    expected: dict[str, tuple[int, int | None]] = {}  # node -> (next slot, seq that set it)
    found = []
    for ev in events:
        kind = ev.get("kind")
        if kind == "restored":
            node = ev["node"]
            nxt, at = expected.get(node, (0, None))
            if ev["executed"] < nxt:
                found.append(Finding(
                    "order",
                    f"{node}'s log shrank: it had executed slots 0..{nxt - 1} (seq {at}) and was restored "
                    f"with only {ev['executed']} (seq {ev['seq']})",
                    (at, ev["seq"]) if at is not None else (ev["seq"],)))
            expected[node] = (ev["executed"], ev["seq"])
        elif kind == "executed":
            node, slot = ev["node"], ev["slot"]
            nxt, at = expected.get(node, (0, None))
            if slot > nxt:
                found.append(Finding(
                    "order", f"{node} executed slot {slot} (seq {ev['seq']}) before slot {nxt}: it applied past a hole",
                    (ev["seq"],)))
            elif slot < nxt:
                found.append(Finding(
                    "order", f"{node} executed slot {slot} (seq {ev['seq']}) after slot {nxt - 1} (seq {at}): "
                    f"out of order or twice", (at, ev["seq"]) if at is not None else (ev["seq"],)))
            if slot + 1 > nxt:
                expected[node] = (slot + 1, ev["seq"])
    return found


def exactly_once(events: Iterable[dict]) -> list[Finding]:
    """No replica applies one client request (client, req) at two slots."""
    applied: dict[tuple, dict] = {}  # (node, client, req) -> first executed event that applied it
    reported: dict[tuple, bool] = {}
    found = []
    for ev in events:
        if ev.get("kind") != "executed" or not ev.get("applied") or ev["command"] is None:
            continue
        cmd = ev["command"]
        cid = (cmd["client"], cmd["req"])
        seen = applied.setdefault((ev["node"],) + cid, ev)
        if seen is not ev and seen["slot"] != ev["slot"] and cid not in reported:
            reported[cid] = True
            found.append(Finding(
                "exactly-once",
                f"{ev['node']} applied {fmt_command(cmd)} twice: at slot {seen['slot']} (seq {seen['seq']}) "
                f"and at slot {ev['slot']} (seq {ev['seq']})",
                (seen["seq"], ev["seq"])))
    return found


PROPERTIES = (agreement, chosen, divergence, order, exactly_once)


def log_safety(events: list[dict]) -> list[Finding]:
    """Every finding of every property, property by property."""
    found: list[Finding] = []
    for prop in PROPERTIES:
        found.extend(prop(events))
    return found

