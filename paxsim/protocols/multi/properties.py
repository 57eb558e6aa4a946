"""Log safety of Multi-Paxos, judged from trace events alone.

Functions over a list of event dicts as a trace holds them: the node
observations of `effects.py` as `{"seq", "kind", "node", **fields}` (other
events are ignored).  Each finding names the seq numbers involved.

* agreement: no two `decided` or `executed` events give different commands
  for one slot (so executed logs are prefix-compatible);
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


PROPERTIES = (agreement, divergence, order, exactly_once)


def log_safety(events: list[dict]) -> list[Finding]:
    """Every finding of every property, property by property."""
    found: list[Finding] = []
    for prop in PROPERTIES:
        found.extend(prop(events))
    return found

