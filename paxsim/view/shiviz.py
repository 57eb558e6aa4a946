"""Traces as a ShiViz log (https://bestchai.bitbucket.io/shiviz/).

The file: line 1 the parser regex (named groups `event`, `host`, `clock`);
line 2 the regex that delimits executions (its `trace` group names each);
then per execution a delimiter line and, per event, a description line and a
`host {vector clock}` line.  Each host's own entry starts at 1 and rises by
exactly 1 per event it logs; a delivery first takes the entrywise maximum
with the clock the sender had when it sent, then increments.

Exported: sends (at the sender), deliveries (at the receiver, merging the
sender's clock), and every other event that names a node (promise, vote,
propose, decide, crash, restart, and other protocols' events).  Drops,
partitions and cuts happen in the network, on no host, and are left out; a
lost message is a send with no delivery.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from .diff import describe
from .model import _lane_of

PARSER = r"(?<event>.*)\n(?<host>\S+) (?<clock>\{.*\})"
DELIMITER = r"^=== (?<trace>.*) ===$"
_UNSAFE = re.compile(r"\s")


def _host(name: Any) -> str:
    return _UNSAFE.sub("_", str(name)) or "_"


def _clock_text(clock: dict[str, int]) -> str:
    return json.dumps(clock, sort_keys=True, separators=(", ", ": "))


def execution(events: list[dict]) -> list[str]:
    """One trace's events as ShiViz lines (description, then `host {clock}`)."""
    clocks: dict[str, dict[str, int]] = {}
    at_send: dict[str, dict[str, int]] = {}  # message id -> the sender's clock when it sent
    copy_of: dict[str, str] = {}
    dst_of: dict[str, str] = {}
    sends: dict[str, dict] = {}
    out: list[str] = []

    def tick(host: str, merge: dict[str, int] | None = None) -> dict[str, int]:
        clock = dict(clocks.get(host, {}))
        if merge:
            for h, n in merge.items():
                if n > clock.get(h, 0):
                    clock[h] = n
        clock[host] = clocks.get(host, {}).get(host, 0) + 1
        clocks[host] = clock
        return clock

    def emit(text: str, host: str, clock: dict[str, int]) -> None:
        out.append(" ".join(text.split()))  # one line, whatever the event held
        out.append(f"{host} {_clock_text(clock)}")

    for ev in events:
        kind = ev.get("kind")
        if kind in ("header", "end", "random-faults", "drop", "partition", "heal", "cut", "uncut"):
            continue
        if kind == "send" and ev.get("src") is not None and "id" in ev:
            host = _host(ev["src"])
            key = str(ev["id"])
            sends[key] = ev
            dst_of[key] = _host(ev.get("dst"))
            clock = tick(host)
            at_send[key] = dict(clock)
            emit(describe(ev), host, clock)
        elif kind == "duplicate" and "copy" in ev:
            key, orig = str(ev["copy"]), str(ev.get("id"))
            copy_of[key] = orig
            if orig in at_send:
                at_send[key] = at_send[orig]
                dst_of[key] = dst_of[orig]
        elif kind == "deliver" and "id" in ev:
            key = str(ev["id"])
            if key not in at_send:
                continue  # no send for it: nothing to merge with, and no host known
            host = dst_of[key]
            clock = tick(host, at_send[key])
            send = sends.get(copy_of.get(key, key), {})
            msg = send.get("msg") if isinstance(send.get("msg"), dict) else {}
            about = f" ({msg.get('type', '?')} from {send.get('src')}{', a duplicate' if key in copy_of else ''})"
            emit(describe(ev) + about, host, clock)
        else:
            node = _lane_of(ev)
            if node is None:
                continue
            host = _host(node)
            emit(describe(ev), host, tick(host))
    return out


def export(traces: Iterable[tuple[str, list[dict]]]) -> str:
    """Several (name, events) traces as one ShiViz file, one execution each."""
    lines = [PARSER, DELIMITER]
    for name, events in traces:
        lines.append(f"=== {' '.join(str(name).split())} ===")
        lines += execution(events)
    return "\n".join(lines) + "\n"
