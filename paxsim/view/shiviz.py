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
from typing import Any, Callable, Iterable, Iterator

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
    """One trace's events as ShiViz lines (description, then `host {vector clock}`)."""
    return list(stream_execution(events))


def stream_execution(events: Iterable[dict], again: Callable[[], Iterable[dict]] | None = None) -> Iterator[str]:
    """`execution`, a line at a time as the events come.  With `again` (a
    function giving the same events from the start), a message is let go of
    once delivered or dropped, so memory holds the hosts' clocks and the
    messages in flight, not the trace; if a later event names a message let
    go of (a second delivery, say, which no paxsim run writes), the events
    before it are read again to follow it with every message kept.  The
    lines are those of `execution` either way."""
    state = _Execution(forget=again is not None)
    for k, ev in enumerate(events):
        out = state.step(ev)
        if out is None:
            state = _Execution(forget=False)
            for _, old in zip(range(k), again()):
                state.step(old)
            out = state.step(ev)
        yield from out


class _Execution:
    """The clocks of one execution, and what its deliveries read of their sends."""

    def __init__(self, forget: bool) -> None:
        self.forget = forget
        self.clocks: dict[str, dict[str, int]] = {}
        # every message, kept:
        self.at_send: dict[str, dict[str, int]] = {}  # message id -> the sender's clock when it sent
        self.copy_of: dict[str, str] = {}
        self.dst_of: dict[str, str] = {}
        self.sends: dict[str, dict] = {}
        # the messages in flight, let go of when delivered or dropped:
        # id -> (clock at send, destination host, what its delivery says of it, is a copy)
        self.flying: dict[str, tuple] = {}
        self.done: dict[str, tuple] = {}  # those let go of at time `done_t`: a copy may follow its original's end
        self.done_t = None
        self.top = -1  # the largest message id so far: ids must rise for a message to be let go of

    def tick(self, host: str, merge: dict[str, int] | None = None) -> dict[str, int]:
        clocks = self.clocks
        clock = dict(clocks.get(host, {}))
        if merge:
            for h, n in merge.items():
                if n > clock.get(h, 0):
                    clock[h] = n
        clock[host] = clocks.get(host, {}).get(host, 0) + 1
        clocks[host] = clock
        return clock

    @staticmethod
    def emit(text: str, host: str, clock: dict[str, int]) -> list[str]:
        return [" ".join(text.split()), f"{host} {_clock_text(clock)}"]  # one line, whatever the event held

    def step(self, ev: dict) -> list[str] | None:
        """The lines for one event; None (nothing changed) if it names a message let go of."""
        kind = ev.get("kind")
        if kind in ("header", "end", "random-faults", "partition", "heal", "cut", "uncut"):
            return []
        if kind == "drop":
            if self.forget:
                self._finished(ev, str(ev.get("id")))
            return []
        if kind == "send" and ev.get("src") is not None and "id" in ev:
            if not self.forget:
                return self._send(ev)
            mid = ev["id"]
            if type(mid) is not int or mid <= self.top:
                return None
            self.top = mid
            host = _host(ev["src"])
            clock = self.tick(host)
            msg = ev.get("msg") if isinstance(ev.get("msg"), dict) else {}
            self.flying[str(mid)] = (dict(clock), _host(ev.get("dst")), f"{msg.get('type', '?')} from {ev['src']}",
                                     False)
            return self.emit(describe(ev), host, clock)
        if kind == "duplicate" and "copy" in ev:
            if not self.forget:
                key, orig = str(ev["copy"]), str(ev.get("id"))
                self.copy_of[key] = orig
                if orig in self.at_send:
                    self.at_send[key] = self.at_send[orig]
                    self.dst_of[key] = self.dst_of[orig]
                return []
            copy, orig = ev["copy"], str(ev.get("id"))
            got = self.flying.get(orig) or (self.done.get(orig) if ev.get("t") == self.done_t else None)
            if got is None or type(copy) is not int or copy <= self.top:
                return None
            self.top = copy
            # a copy's delivery names its original's send; a copy of a copy has none
            self.flying[str(copy)] = (got[0], got[1], "? from None" if got[3] else got[2], True)
            return []
        if kind == "deliver" and "id" in ev:
            key = str(ev["id"])
            if not self.forget:
                return self._deliver(ev, key)
            got = self.flying.get(key)
            if got is None:
                return None
            self._finished(ev, key)
            host = got[1]
            clock = self.tick(host, got[0])
            return self.emit(describe(ev) + f" ({got[2]}{', a duplicate' if got[3] else ''})", host, clock)
        node = _lane_of(ev)
        if node is None:
            return []
        host = _host(node)
        return self.emit(describe(ev), host, self.tick(host))

    def _finished(self, ev: dict, key: str) -> None:
        got = self.flying.pop(key, None)
        if got is not None:
            if ev.get("t") != self.done_t:
                self.done.clear()
                self.done_t = ev.get("t")
            self.done[key] = got

    def _send(self, ev: dict) -> list[str]:
        host = _host(ev["src"])
        key = str(ev["id"])
        self.sends[key] = ev
        self.dst_of[key] = _host(ev.get("dst"))
        clock = self.tick(host)
        self.at_send[key] = dict(clock)
        return self.emit(describe(ev), host, clock)

    def _deliver(self, ev: dict, key: str) -> list[str]:
        if key not in self.at_send:
            return []  # no send for it: nothing to merge with, and no host known
        host = self.dst_of[key]
        clock = self.tick(host, self.at_send[key])
        send = self.sends.get(self.copy_of.get(key, key), {})
        msg = send.get("msg") if isinstance(send.get("msg"), dict) else {}
        about = f" ({msg.get('type', '?')} from {send.get('src')}{', a duplicate' if key in self.copy_of else ''})"
        return self.emit(describe(ev) + about, host, clock)


def export_lines(traces: Iterable[tuple]) -> Iterator[str]:
    """`export`, a line (with its newline) at a time.  Each trace is (name,
    events) or (name, events, again): see `stream_execution`."""
    yield PARSER + "\n"
    yield DELIMITER + "\n"
    for name, events, *again in traces:
        yield f"=== {' '.join(str(name).split())} ===\n"
        for line in stream_execution(events, *again):
            yield line + "\n"


def export(traces: Iterable[tuple[str, list[dict]]]) -> str:
    """Several (name, events) traces as one ShiViz file, one execution each."""
    return "".join(export_lines(traces))
