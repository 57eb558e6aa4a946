"""Trace events and their JSON Lines form.  Imports nothing else of paxsim.

A trace is a list of dicts.  The first is the header, the last the `end`
event; every other event has an increasing `seq`, a time `t` in ms and a
`kind`.  Written form: one JSON object a line, keys sorted, compact
separators, so the same run is the same bytes.

While a run is in memory, a `send` event's `msg` may still be a message
object with a `to_json()` method; `event_json` and the writer turn it into
its dict.  Readers of in-memory traces use `msg_dict(event)`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

FORMAT = 1


class TraceError(ValueError):
    """An unreadable trace; `str()` is one line naming file and line."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {message}")


def _default(obj: Any) -> Any:
    to_json = getattr(obj, "to_json", None)
    if to_json is None:
        raise TypeError(f"cannot write {type(obj).__name__} to a trace")
    return to_json()


_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_default, allow_nan=False)


def event_json(event: dict) -> str:
    """One event as its canonical JSON line (without the newline)."""
    return _encoder.encode(event)


def msg_dict(event: dict) -> dict:
    """The `msg` of a send event as a dict, whether in memory or read back."""
    msg = event["msg"]
    return msg if isinstance(msg, dict) else msg.to_json()


def lines(events: Iterable[dict]) -> Iterator[str]:
    for ev in events:
        yield event_json(ev) + "\n"


def write_trace(path: str | Path, events: Iterable[dict]) -> None:
    """Write atomically: a reader never sees a half-written trace, and an
    interrupted write leaves any earlier file untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(lines(events))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_trace(path: str | Path) -> list[dict]:
    """Read a trace file; raises `TraceError` on anything that is not one."""
    source = str(path)
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise TraceError(source, None, f"cannot read trace: {exc.strerror or exc}") from None
    events: list[dict] = []
    with fh:
        try:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TraceError(source, number, f"not a JSON object: {exc.msg}") from None
                if not isinstance(ev, dict) or "kind" not in ev:
                    raise TraceError(source, number, "expected a JSON object with a 'kind'")
                if not events and ev["kind"] != "header":
                    raise TraceError(source, number, f"expected a 'header' event first, found {ev['kind']!r}")
                events.append(ev)
        except UnicodeDecodeError:
            raise TraceError(source, None, "not a UTF-8 text file") from None
    if not events:
        raise TraceError(source, None, "the trace is empty")
    fmt = events[0].get("format")
    if fmt != FORMAT:
        raise TraceError(source, 1, f"trace format {fmt!r} is not supported (this paxsim reads format {FORMAT})")
    return events
