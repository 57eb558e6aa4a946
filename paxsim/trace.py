"""Trace events and their JSON Lines form.  Imports nothing else of paxsim.

A trace is a list of dicts.  The first is the header, the last the `end`
event; every other event has a `seq` (0, 1, 2, ... with no gaps), a time `t`
in ms that does not decrease in `seq` order, and a `kind`.  Written form: one
JSON object a line, keys sorted, compact separators, so the same run is the
same bytes.

The format is published as a JSON Schema (`paxsim/trace.schema.json`).
`read_trace` validates every line against it and then checks what a schema
cannot say (seq numbers, time order, nodes named in the header, the `end`
last); any failure is a `TraceError` naming the file, the line and the field.
Events in memory (a run's own) are trusted and never validated: that path is
the hot one of every sweep.

While a run is in memory, a `send` event's `msg` may still be a message
object with a `to_json()` method; `event_json` and the writer turn it into
its dict.  Readers of in-memory traces use `msg_dict(event)`.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from json.encoder import encode_basestring_ascii
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

FORMAT = 1
# The protocol kinds a header may name (paxsim.protocols.KINDS; this module imports nothing of
# paxsim: tests/test_layers.py holds the two equal).
PROTOCOL_KINDS = ("single-decree", "multi-paxos")


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
    write_text_atomically(path, lines(events))


def write_text_atomically(path: str | Path, chunks: Iterable[str]) -> None:
    """Write text as it comes into a file beside `path`, which replaces it
    once all is written: an error or an interruption while the text comes
    (a bad line of the trace it is made from) leaves `path` as it was."""
    path = Path(path)
    import tempfile  # only here: the commands that write no trace start without it

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.fchmod(fd, _output_mode(path))  # mkstemp makes 0600; an output gets what open() would give it
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class TraceWriter:
    """A trace sink: records appended to it are written to `path` as they
    come, as the trace file's lines, byte for byte what `write_trace` writes
    for the same events (a run streams its trace instead of holding it).

    A record is an event dict, or one of a simulation's two compact shapes
    ("send", seq, t, id, src, dst, msg) and ("deliver", seq, t, id).  Lines
    are written whole, so a run interrupted before `close()` leaves a
    readable prefix of its trace (one that `paxsim check` calls
    incomplete: no `end` event).  The first record (the header) and the last
    dict (the `end` event, once written) stay readable as `header` and
    `last`."""

    BATCH = 4096  # lines encoded before each write

    def __init__(self, path) -> None:
        if hasattr(path, "write"):  # an open text file (or anything with write), which the caller closes
            self.path, self._fh, self._owned = None, path, False
        else:
            self.path = Path(path)
            self._fh = open(self.path, "w", encoding="utf-8", newline="\n")
            self._owned = True
        self._lines: list[str] = []
        self.header: dict | None = None
        self.last: dict | None = None
        self.count = 0  # records appended
        self._msg = self._msg_json = None

    def append(self, record) -> None:
        lines = self._lines
        if type(record) is tuple:
            t = record[2]
            ts = repr(t) if type(t) is float else _encoder.encode(t)
            if record[0] == "send":
                _, seq, _, mid, src, dst, msg = record
                if msg is not self._msg:  # a broadcast sends one message object to many: encode it once
                    self._msg, self._msg_json = msg, _encoder.encode(msg)
                lines.append(f'{{"dst":{_encode_str(dst)},"id":{mid:d},"kind":"send","msg":{self._msg_json},'
                             f'"seq":{seq:d},"src":{_encode_str(src)},"t":{ts}}}\n')
            else:
                lines.append(f'{{"id":{record[3]:d},"kind":"deliver","seq":{record[1]:d},"t":{ts}}}\n')
        else:
            if self.header is None:
                self.header = record
            self.last = record
            lines.append(_encoder.encode(record) + "\n")
        self.count += 1
        if len(lines) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the lines encoded so far (whole lines only)."""
        if self._lines:
            text = "".join(self._lines)
            self._lines = []
            self._fh.write(text)
        self._fh.flush()

    def close(self) -> None:
        if not self._owned:
            self.flush()
        elif not self._fh.closed:
            try:
                self.flush()
            finally:
                self._fh.close()

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _encode_str(s) -> str:
    return encode_basestring_ascii(s) if type(s) is str else _encoder.encode(s)


def _output_mode(path: Path) -> int:
    """The mode open(path, "w") leaves: an existing file keeps its mode, a
    new one gets 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def read_header(path: str | Path) -> dict:
    """Read and validate only a trace file's header (what `paxsim replay`
    needs: it compares the rest byte for byte)."""
    return _read(path, True, None)[0]


def read_trace(path: str | Path, header_only: bool = False, lines: list[int] | None = None) -> list[dict]:
    """Read and validate a trace file: the header, then its events in `seq`
    order.  Raises `TraceError` (file, line, field) on anything that is not a
    well-formed trace.  A trace without its `end` event is returned as it is:
    the checker reports it as incomplete.  `lines`, if given, gets the line
    of each event returned (its place in the file, which `seq` order may not
    be), for errors found later to name."""
    return _read(path, header_only, lines)


def _read(path: str | Path, header_only: bool, lines: list[int] | None) -> list[dict]:
    source = str(path)
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise TraceError(source, None, f"cannot read trace: {exc.strerror or exc}") from None
    events: list[dict] = []
    numbers: list[int] = []  # the line of each event
    other = False  # a trace of another protocol than single-decree: its messages need only a type
    with fh:
        try:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                ev = _parse_line(source, number, line)
                if not events:
                    other = _check_first(source, number, ev)
                _validate(source, number, ev, other)
                events.append(ev)
                numbers.append(number)
                if header_only:
                    return events
        except UnicodeDecodeError:
            raise TraceError(source, None, "not a UTF-8 text file") from None
    if not events:
        raise TraceError(source, None, "the trace is empty")
    return _check_order(source, events, numbers, lines)


class NotStreamable(Exception):
    """Raised by `iter_trace` for a file it cannot stream: one with an error
    to word, or lines out of `seq` order.  `read_trace` reads such a file
    whole (and raises the `TraceError` that says what is wrong)."""


def iter_trace(path: str | Path) -> Iterator[dict]:
    """The events of a trace file in file order, each validated as
    `read_trace` validates it, holding none of them: for a well-formed file
    whose lines are in `seq` order (every file paxsim writes).  Anything
    else raises `NotStreamable`, possibly after some events were yielded;
    then read the file with `read_trace`.  A trace without its `end` event
    streams to its last line."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError:
        raise NotStreamable from None
    source = str(path)
    with fh:
        try:
            header = None
            other = False
            known: set = set()
            expected, last_t, ended = 0, 0.0, False
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    ev = _loads(line)
                except (ValueError, RecursionError):
                    raise NotStreamable from None
                if not isinstance(ev, dict) or "kind" not in ev:
                    raise NotStreamable
                try:
                    if header is None:
                        other = _check_first(source, number, ev)
                    _validate(source, number, ev, other)
                except TraceError:
                    raise NotStreamable from None
                if header is None:
                    header = ev
                    known = set(ev["scenario"]["nodes"])
                    if any(p["node"] not in known for p in ev["scenario"]["proposers"]):
                        raise NotStreamable
                    yield ev
                    continue
                kind = ev["kind"]
                if kind == "header" or ended or ev["seq"] != expected or ev["t"] < last_t:
                    raise NotStreamable
                if kind in _NODE_KINDS and not _known_node(ev, known):
                    raise NotStreamable
                if kind == "propose" and any(n not in known for n in ev["quorum"]):
                    raise NotStreamable
                if kind == "end":
                    if any(n not in known for n in ev.get("decided") or {}) or \
                            any(n not in known for n in ev.get("up") or []):
                        raise NotStreamable
                    ended = True
                expected, last_t = expected + 1, ev["t"]
                yield ev
        except UnicodeDecodeError:
            raise NotStreamable from None
    if header is None:
        raise NotStreamable  # empty


def stream_trace(path: str | Path) -> Iterator[dict]:
    """A trace file's events one at a time, as `read_trace` returns them
    (the header, then the events in `seq` order), each validated as
    `read_trace` validates it, holding only the line being read: a file
    whose lines are in `seq` order (every file paxsim writes) streams in
    memory that does not grow with its size.

    A file that `read_trace` rejects raises the same `TraceError` (file,
    line, field), possibly after some events were yielded: a consumer that
    writes as it reads has then written a prefix.  Lines out of `seq`
    order, an unknown node, or anything after `end` are judged the way
    `read_trace` judges them: the file is then read whole, and either that
    raises its error or the events not yet yielded come from it (such a
    file costs what `read_trace` costs)."""
    source = str(path)
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise TraceError(source, None, f"cannot read trace: {exc.strerror or exc}") from None
    yielded = 0  # events given out, the header included
    with fh:
        try:
            other = False
            known: frozenset = frozenset()
            expected, last_t, ended = 0, 0.0, False
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                ev = _parse_line(source, number, line)
                if not yielded:
                    other = _check_first(source, number, ev)
                _validate(source, number, ev, other)
                if not yielded:
                    known = frozenset(ev["scenario"]["nodes"])
                    if any(p["node"] not in known for p in ev["scenario"]["proposers"]):
                        break
                else:
                    kind = ev["kind"]
                    if (kind == "header" or ended or ev["seq"] != expected or ev["t"] < last_t
                            or type(ev["t"]) is int and not -_MAX_T <= ev["t"] <= _MAX_T):
                        break
                    if kind in _NODE_KINDS:
                        if not _known_node(ev, known) or (kind == "propose" and not known.issuperset(ev["quorum"])):
                            break
                    elif kind == "end":
                        if not known.issuperset(ev.get("decided") or {}) or not known.issuperset(ev.get("up") or []):
                            break
                        ended = True
                    expected, last_t = expected + 1, ev["t"]
                yielded += 1
                yield ev
            else:
                if not yielded:
                    raise TraceError(source, None, "the trace is empty")
                return
        except UnicodeDecodeError:
            raise TraceError(source, None, "not a UTF-8 text file") from None
    # Something only the whole file can settle: read_trace raises its error, or sorts the lines.
    yield from read_trace(path)[yielded:]


def _validate(source: str, number: int, ev: dict, other: bool) -> None:
    """Validate one event; `other`: the trace's protocol is not single-decree
    (its messages then need only a type)."""
    if other and ev["kind"] == "send":
        _validate_send_any(source, number, ev)
    else:
        _validate_line(source, number, ev)


def _parse_line(source: str, number: int, line: str) -> dict:
    """One line as an event dict with a `kind`, else the `TraceError` that says why not."""
    try:
        ev = _loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        if isinstance(exc, json.JSONDecodeError):  # its msg may end "starting at": say where
            where = f"column {exc.colno}"
            msg = f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} ({where})"
            if exc.msg.startswith("Unterminated") or exc.pos >= len(line.rstrip()):
                msg += "; the line ends early (a file cut short?)"
        else:
            msg = "nested too deeply"
        raise TraceError(source, number, f"not a JSON object: {msg}") from None
    except ValueError as exc:
        raise TraceError(source, number, unreadable_number(exc)) from None
    if not isinstance(ev, dict) or "kind" not in ev:
        raise TraceError(source, number, "expected a JSON object with a 'kind'")
    return ev


def unreadable_number(exc: ValueError) -> str:
    """What a JSON decoder's ValueError that is not a syntax error says, in paxsim's words: Python
    refuses to read a whole number of more than `sys.get_int_max_str_digits()` digits (its own message
    tells the reader to call a function they cannot call); any other (a number too large for a float,
    NaN) says it well already."""
    text = str(exc)
    if "integer string conversion" not in text:
        return text
    digits = next((w for w in text.split("value has ", 1)[-1].split()[:1] if w.isdigit()), None)
    return too_many_digits(None if digits is None else int(digits))


def too_many_digits(digits: int | None = None) -> str:
    """paxsim's words for a whole number longer than Python reads (`sys.get_int_max_str_digits()`,
    4,300 by default), for every reader of files and arguments: Python's own message tells the user
    to raise that limit, which they cannot do from a command line."""
    limit = sys.get_int_max_str_digits()
    if digits is None:
        return f"a whole number of more than the {limit:,} digits Python reads"
    return f"a whole number of {digits:,} digits, more than the {limit:,} Python reads"


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent, refused where it overflows a float (1e400 would be
    infinity, which JSON has not: a time of inf would pass every check and --json could not print it)."""
    x = float(text)
    if x in (_INF, -_INF):
        raise ValueError(f"{text} is too large for a number (it would be infinite)")
    return x


_INF = float("inf")
_DECODE = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite).decode  # one decoder for every line


def _loads(line: str) -> Any:
    """`json.loads(line)`, refusing NaN and infinities, without building a decoder a line (a sixth of
    reading a big trace)."""
    if line.startswith("\ufeff"):
        return json.loads(line)  # its error (a byte-order mark)
    return _DECODE(line)


def _check_first(source: str, number: int, ev: dict) -> bool:
    """Check the first event is a header this paxsim reads; True if its
    protocol is not single-decree (its messages then need only a type)."""
    kind = ev["kind"]
    if kind == "sweep":
        name = Path(source).name
        raise TraceError(source, number, f"this is a paxsim sweep results file, not a trace: the traces of its "
                         f"violating runs are in {name}.traces/ (paxsim check one of those), and any run's "
                         f"'reproduce' command with --trace FILE writes its trace")
    if kind == "start" and "port" in ev:
        raise TraceError(source, number, "this is a paxsim node's own event log (DATA/trace.jsonl), not a run's "
                         "trace: 'paxsim cluster SCENARIO --trace FILE' merges every node's log into one trace "
                         "that paxsim check reads")
    if kind != "header":
        raise TraceError(source, number, f"expected a 'header' event first, found {kind!r}")
    if ev.get("format") != FORMAT:
        raise TraceError(source, number, f"trace format {ev.get('format')!r} is not supported "
                         f"(this paxsim reads format {FORMAT})")
    protocol = ev.get("scenario", {}).get("protocol") if isinstance(ev.get("scenario"), dict) else None
    kind = protocol.get("kind", "single-decree") if isinstance(protocol, dict) else "single-decree"
    if kind not in PROTOCOL_KINDS:  # judged by no checker: the single-decree one would see nothing and say OK
        raise TraceError(source, number, f"scenario.protocol.kind: {_found(kind)} is not a protocol this paxsim "
                         f"checks ({', '.join(PROTOCOL_KINDS)})")
    return kind != "single-decree"


# --------------------------------------------------------------------------
# Validation: the published schema, then what a schema cannot say
# --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schema() -> dict:
    """The published JSON Schema of one trace line."""
    from importlib import resources

    return json.loads(resources.files("paxsim").joinpath("trace.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(definition: str):
    """A validator for one definition, its references inlined (three times
    faster than resolving them on every event)."""
    import jsonschema

    defs = schema()["$defs"]

    def inline(x):
        if isinstance(x, dict):
            if set(x) == {"$ref"}:
                return inline(defs[x["$ref"].rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in x.items()}
        return [inline(v) for v in x] if isinstance(x, list) else x

    return jsonschema.Draft202012Validator(inline(defs[definition]))


def _definition(kind: Any) -> str:
    if kind == "header":
        return "header"
    defs = schema()["$defs"]
    return f"event-{kind}" if isinstance(kind, str) and f"event-{kind}" in defs else "other"


def _validate_line(source: str, number: int, ev: dict) -> None:
    kind = ev["kind"]
    if not isinstance(kind, str):
        raise TraceError(source, number, f"kind: expected a string, found {_found(kind)}")
    fast = _FAST.get(kind) or _fast_for(kind)
    if fast(ev):
        return  # certainly valid (the common kinds of a big trace); anything else goes to the schema
    validator = _validator(_definition(kind))
    errors = list(validator.iter_errors(ev))
    if errors:
        path, message = min((_describe(e, kind) for e in errors), key=lambda pm: (-len(pm[0]), pm[1]))
        where = _format_path(path)
        raise TraceError(source, number, f"{where}: {message}" if where else message)


def _validate_send_any(source: str, number: int, ev: dict) -> None:
    if _base(ev, _K_SEND) and _nat(ev["id"]) and type(ev["src"]) is str and type(ev["dst"]) is str \
            and type(ev["msg"]) is dict and type(ev["msg"].get("type")) is str:
        return
    errors = list(_validator("event-send-any").iter_errors(ev))
    if errors:
        path, message = min((_describe(e, "send") for e in errors), key=lambda pm: (-len(pm[0]), pm[1]))
        where = _format_path(path)
        raise TraceError(source, number, f"{where}: {message}" if where else message)


# Fast acceptance of the bulk kinds.  Each returns True only for an event the
# schema accepts (tests/test_check_traces.py checks that on mutated events);
# False sends the event to the schema, which decides and words the error.
def _nat(x) -> bool:
    return type(x) is int and x >= 0


def _time(x) -> bool:
    return (type(x) is float or type(x) is int) and x >= 0


def _name(x) -> bool:
    return type(x) is str and x != ""


def _ballot(b) -> bool:
    return type(b) is list and len(b) == 2 and _nat(b[0]) and type(b[1]) is str


def _value(v) -> bool:
    return type(v) is str or type(v) is int


def _base(ev, keys) -> bool:
    return ev.keys() == keys and _nat(ev["seq"]) and _time(ev["t"])


_MSG_FAST = {
    "prepare": lambda m: m.keys() == {"type", "ballot"} and _ballot(m["ballot"]),
    "promise": lambda m: m.keys() == {"type", "ballot", "accepted"} and _ballot(m["ballot"]) and (
        m["accepted"] is None or (type(m["accepted"]) is dict and m["accepted"].keys() == {"ballot", "value"}
                                  and _ballot(m["accepted"]["ballot"]) and _value(m["accepted"]["value"]))),
    "nack": lambda m: m.keys() == {"type", "ballot", "promised"} and _ballot(m["ballot"]) and _ballot(m["promised"]),
    "accept": lambda m: m.keys() == {"type", "ballot", "value"} and _ballot(m["ballot"]) and _value(m["value"]),
    "accepted": lambda m: (m.keys() == {"type", "ballot"} or (m.keys() == {"type", "ballot", "value"}
                                                              and _value(m["value"]))) and _ballot(m["ballot"]),
    "learn": lambda m: m.keys() == {"type", "value"} and _value(m["value"]),
    "learned": lambda m: m.keys() == {"type", "value"} and _value(m["value"]),
}


def _msg(m) -> bool:
    if type(m) is not dict:
        return False
    t = m.get("type")
    fast = _MSG_FAST.get(t) if type(t) is str else None
    return fast is not None and fast(m)


_K_SEND = frozenset({"seq", "t", "kind", "id", "src", "dst", "msg"})
_K_ID = frozenset({"seq", "t", "kind", "id"})
_K_DROP = frozenset({"seq", "t", "kind", "id", "reason"})
_K_DUP = frozenset({"seq", "t", "kind", "id", "copy"})
_K_PROMISE = frozenset({"seq", "t", "kind", "node", "ballot"})
_K_VOTE = frozenset({"seq", "t", "kind", "node", "ballot", "value"})
_K_DECIDE = frozenset({"seq", "t", "kind", "node", "value"})
_FAST = {
    "send": lambda e: _base(e, _K_SEND) and _nat(e["id"]) and type(e["src"]) is str and type(e["dst"]) is str
    and _msg(e["msg"]),
    "deliver": lambda e: _base(e, _K_ID) and _nat(e["id"]),
    "drop": lambda e: _base(e, _K_DROP) and _nat(e["id"]) and type(e["reason"]) is str,
    "duplicate": lambda e: _base(e, _K_DUP) and _nat(e["id"]) and _nat(e["copy"]),
    "promise": lambda e: _base(e, _K_PROMISE) and _name(e["node"]) and _ballot(e["ballot"]),
    "vote": lambda e: _base(e, _K_VOTE) and _name(e["node"]) and _ballot(e["ballot"]) and _value(e["value"]),
    "decide": lambda e: _base(e, _K_DECIDE) and _name(e["node"]) and _value(e["value"]),
}


def _command(c) -> bool:
    """A Multi-Paxos command (multi-command): null, or an object with these typed keys (others allowed)."""
    return c is None or (type(c) is dict and type(c.get("client")) is str and type(c.get("req")) is int
                         and type(c.get("f")) is str and type(c.get("key")) is str)


_K_DECIDED = frozenset({"seq", "t", "kind", "node", "slot", "command"})
_K_EXECUTED = _K_DECIDED | {"result", "applied"}
_FAST.update({  # the schema allows other keys in these: the required ones must be there
    "decided": lambda e: e.keys() >= _K_DECIDED and _nat(e["seq"]) and _time(e["t"]) and _name(e["node"])
    and _nat(e["slot"]) and _command(e["command"]),
    "executed": lambda e: e.keys() >= _K_EXECUTED and _nat(e["seq"]) and _time(e["t"]) and _name(e["node"])
    and _nat(e["slot"]) and _command(e["command"]) and type(e["applied"]) is bool,
})


def _other(e) -> bool:
    """An event of a kind the schema does not define ("other": seq, t and a string kind, anything else)."""
    return _nat(e.get("seq")) and _time(e.get("t"))


def _never(e) -> bool:
    return False


@lru_cache(maxsize=256)
def _fast_for(kind: Any):
    """The fast acceptance of an event of `kind` that `_FAST` does not name: `_other` for a kind the
    schema does not define (a Multi-Paxos vote, a client's invoke and ok, ...), else none."""
    return _other if _definition(kind) == "other" else _never


def _format_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _found(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"a number {json.dumps(value)}"
    if isinstance(value, str):
        return f"a string {json.dumps(value)}"
    return "a list" if isinstance(value, list) else "an object"


_TYPE_NAMES = {"object": "an object", "array": "a list", "number": "a number", "integer": "an integer",
               "string": "a string", "boolean": "true or false", "null": "null"}


def _describe(error, kind: str) -> tuple[tuple, str]:
    """(path, message) for one schema error, in the words scenario errors use."""
    if error.validator in ("anyOf", "oneOf", "allOf") and error.context:
        deeper = [e for e in error.context if len(e.absolute_path) > len(error.absolute_path)
                  or e.validator in ("required", "additionalProperties")]
        if deeper and "x-expected" not in error.schema:
            return _describe(max(deeper, key=lambda e: len(e.absolute_path)), kind)
    path = tuple(error.absolute_path)
    sch = error.schema if isinstance(error.schema, dict) else {}
    instance, v = error.instance, error.validator
    what = f"a {kind!r} event" if not path else _format_path(path)
    if v == "required":
        missing = next(k for k in error.validator_value if k not in instance)
        return path + (missing,), f"missing (required in {what})"
    if v == "additionalProperties":
        allowed = sorted(sch.get("properties", {}))
        extra = next(k for k in instance if k not in allowed)
        return path + (extra,), f"unknown field in {what} (its fields are {', '.join(allowed)})"
    if "x-expected" in sch:
        return path, f"expected {sch['x-expected']}, found {_found(instance)}"
    if v == "type":
        expected = error.validator_value
        names = [_TYPE_NAMES.get(x, x) for x in (expected if isinstance(expected, list) else [expected])]
        return path, f"expected {' or '.join(names)}, found {_found(instance)}"
    if v in ("enum", "const"):
        options = error.validator_value if v == "enum" else [error.validator_value]
        return path, f"expected {' or '.join(json.dumps(o) for o in options)}, found {_found(instance)}"
    if v in ("minItems", "maxItems", "minimum", "minLength", "uniqueItems"):
        return path, f"{error.message}"
    return path, error.message


def _check_order(source: str, events: list[dict], numbers: list[int], lines: list[int] | None = None) -> list[dict]:
    """Header first; seq 0, 1, 2, ... without gaps or repeats (lines may come
    in any order: events are judged in seq order); t never decreasing in seq
    order; nothing after `end`; every node an event names is in the header."""
    header = events[0]
    scenario = header["scenario"]
    nodes = scenario["nodes"]
    known = set(nodes)
    node_list = ", ".join(nodes)

    def unknown(number: int, field: str, name: Any) -> None:
        raise TraceError(source, number, f"{field}: unknown node {name!r} (the header's nodes are {node_list})")

    for i, p in enumerate(scenario["proposers"]):
        if p["node"] not in known:
            unknown(numbers[0], f"scenario.proposers[{i}].node", p["node"])
    body = []
    for ev, number in zip(events[1:], numbers[1:]):
        kind = ev["kind"]
        if kind == "header":
            raise TraceError(source, number, f"a second header (the first is on line {numbers[0]})")
        if kind in _NODE_KINDS and not _known_node(ev, known):
            if "node" not in ev:
                raise TraceError(source, number, f"node: missing (a {kind!r} event names its node)")
            if type(ev["node"]) is not str:  # a kind the schema leaves open (a Multi-Paxos vote)
                raise TraceError(source, number, f"node: expected a node name, found {_found(ev['node'])}")
            unknown(number, "node", ev["node"])
        if kind == "propose":
            for i, n in enumerate(ev["quorum"]):
                if n not in known:
                    unknown(number, f"quorum[{i}]", n)
        elif kind == "end":
            for n in ev.get("decided") or {}:
                if n not in known:
                    unknown(number, f"decided.{n}", n)
            for i, n in enumerate(ev.get("up") or []):
                if n not in known:
                    unknown(number, f"up[{i}]", n)
        body.append((ev["seq"], number, ev))
    body.sort(key=lambda item: item[0])
    expected, last_t, last_number, end_number = 0, 0.0, numbers[0], None
    for seq, number, ev in body:
        if seq != expected:
            if seq < expected:
                raise TraceError(source, number, f"seq: {seq} again (also on line {last_number})")
            missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected} to {seq - 1}"
            raise TraceError(source, number, f"seq: {missing} missing before this event's seq {seq}: "
                             f"the trace was cut or filtered")
        if end_number is not None:
            raise TraceError(source, number, f"seq: {seq} comes after the 'end' event (line {end_number})")
        if type(ev["t"]) is int and not -_MAX_T <= ev["t"] <= _MAX_T:  # JSON's integers have no bound
            raise TraceError(source, number, f"t: a whole number of {len(str(abs(ev['t'])))} digits, too large "
                             "for a time in ms (a float's range)")
        if ev["t"] < last_t:
            raise TraceError(source, number, f"t: {ev['t']:g} is earlier than {last_t:g}, the time of seq "
                             f"{seq - 1} (line {last_number}): times must not decrease in seq order")
        if ev["kind"] == "end":
            end_number = number
        expected, last_t, last_number = seq + 1, ev["t"], number
    if lines is not None:
        lines[:] = [numbers[0]] + [number for _, number, _ in body]
    return [header] + [ev for _, _, ev in body]


_MAX_T = int(sys.float_info.max)  # the largest whole number a float holds: a time every reader can use


def _known_node(ev: dict, known) -> bool:
    node = ev.get("node")
    return type(node) is str and node in known


# Events of a node the header must name: single-decree's, then Multi-Paxos's replicas' (a client's
# invoke and ok name the client, which is no node).
_NODE_KINDS = frozenset({"crash", "restart", "promise", "vote", "propose", "decide",
                         "promised", "voted", "leading", "decided", "executed", "restored"})
