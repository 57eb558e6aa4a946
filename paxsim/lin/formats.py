"""Reading client histories: paxsim traces, Jepsen logs, Jepsen EDN.

Every reader is strict: anything it does not understand is a
`HistoryError` naming the file, the line and the field, never a guess.

* `paxsim`: a trace (JSON Lines); events of kind invoke / ok / fail / info
  (fields seq, t, client, req, f, key, value) form the history, every other
  event is ignored.  `fail` means definitely not applied, `info` unknown.
  Keys start absent (a get reads null).
* `jepsen-log`: `INFO  jepsen.util - <process>\\t:<type>\\t:<f>\\t<value>`
  lines (Jepsen's log of a CAS register); lines of other loggers and the
  nemesis are skipped.  `:fail :cas` is a definite compare mismatch (the cas
  returned false); `:fail :read ...` and every `:info` are unknown; another
  `:fail` is "not applied".  The register starts as nil.
* `jepsen-edn`: one EDN map a line (`:process :type :f :key :value`), parsed
  with the edn_format library; the same completion rules; keys start as "".
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..trace import FORMAT as TRACE_FORMAT
from ..trace import too_many_digits
from .history import History, Op, Where
from .models import ANY, CAS, MODELS, READ, Model

FORMATS = ("paxsim", "jepsen-log", "jepsen-edn")


class _Keyword(str):
    """A Jepsen keyword value such as :timed-out (only meaningful on failed or unknown completions)."""


class HistoryError(ValueError):
    """Bad input; `str()` is one line: `file:line: field: message`."""

    def __init__(self, source: str, line: int | None, field: str | None, message: str) -> None:
        self.source, self.line, self.field, self.message = source, line, field, message
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


# --------------------------------------------------------------------------- format guessing

_LOG_LINE = re.compile(r"^\S+\s+jepsen\.util\s+-\s+(.*)$")


def guess_format(text: str, source: str) -> str:
    """The format of a history file, from its first non-blank line."""
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("{:") or s.startswith("{ :"):
            return "jepsen-edn"
        if s.startswith("{"):
            return "paxsim"
        if "jepsen." in s or re.match(r"^\d+\t:", s):
            return "jepsen-log"
        break
    raise HistoryError(source, None, None,
                       "cannot tell the history format from the first line; pass --format paxsim|jepsen-log|jepsen-edn")


def read_history(path, model: str | Model, fmt: str | None = None) -> History:
    """Read one history file; raises HistoryError on anything malformed."""
    source = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise HistoryError(source, None, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise HistoryError(source, None, None, "not a UTF-8 text file") from None
    return parse_history(text, source, model, fmt)


def parse_history(text: str, source: str, model: str | Model, fmt: str | None = None) -> History:
    model = MODELS[model] if isinstance(model, str) else model
    guessed = fmt is None
    if fmt is None:
        fmt = guess_format(text, source)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    history = {"paxsim": _parse_paxsim, "jepsen-log": _parse_jepsen_log, "jepsen-edn": _parse_jepsen_edn}[fmt](
        text, source, model)
    if guessed:
        history.notes.append(f"format {fmt} (guessed from the file)")
    return history


# --------------------------------------------------------------------------- values

def _scalar(model: Model, v: Any, source: str, line: int, field: str, nullable: bool) -> Any:
    """A value the model can hold: str for kv, str or int for the register."""
    if v is None:
        if nullable:
            return None
        raise HistoryError(source, line, field, "expected a value, found null")
    if isinstance(v, str):
        return v
    if model.name == "register" and isinstance(v, int) and not isinstance(v, bool):
        return v
    allowed = "a string" if model.name == "kv" else "a string or an integer"
    raise HistoryError(source, line, field, f"expected {allowed}{' or null' if nullable else ''}, found {_kind(v)}")


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, (int, float)):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v!r}"
    return type(v).__name__


def _argument(model: Model, kind: int, v: Any, source: str, line: int, field: str) -> Any:
    """The invoke's argument: none for reads, a value, or (expected, new) for cas."""
    if kind == READ:
        return None
    if kind == CAS:
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise HistoryError(source, line, field, f"cas takes [expected, new], found {_kind(v)}")
        return (_scalar(model, v[0], source, line, field + "[0]", nullable=True),
                _scalar(model, v[1], source, line, field + "[1]", nullable=False))
    return _scalar(model, v, source, line, field, nullable=False)


# --------------------------------------------------------------------------- building operations

class _Builder:
    """Pairs invokes with completions and turns them into Ops."""

    def __init__(self, source: str, fmt: str, model: Model, initial: Any) -> None:
        self.source, self.fmt, self.model, self.initial = source, fmt, model, initial
        self.open: dict[Any, dict] = {}
        self.done: list[dict] = []
        self.position = 0
        self.left_out = 0

    def invoke(self, match: Any, client: str, f: str, key: Any, arg: Any, where: Where, what: str) -> None:
        if match in self.open:
            prev = self.open[match]
            raise HistoryError(self.source, where.line, what,
                               f"{client} invokes again while its {prev['f']} invoked at line "
                               f"{prev['invoked'].line} is still open")
        self.open[match] = {"client": client, "f": f, "kind": self.model.kind(f), "key": key, "arg": arg,
                            "call": self.position, "invoked": where}
        self.position += 1

    def complete(self, match: Any, status: str, f: str, key: Any, result: Any, where: Where, what: str) -> None:
        """status: ok (result as given), compare-failed, not-applied, unknown."""
        op = self.open.pop(match, None)
        if op is None:
            raise HistoryError(self.source, where.line, what, "completes an operation that was never invoked "
                               "(or was already completed)")
        if op["f"] != f:
            raise HistoryError(self.source, where.line, "f",
                               f"completion says {f!r} but the operation invoked at line {op['invoked'].line} "
                               f"is {op['f']!r}")
        if op["key"] != key:
            raise HistoryError(self.source, where.line, "key",
                               f"completion is for key {key!r} but the operation invoked at line "
                               f"{op['invoked'].line} is on {op['key']!r}")
        op["completed"] = where
        if status == "ok":
            op.update(ret=self.position, result=result, outcome="ok")
        elif status == "compare-failed":
            op.update(ret=self.position, result=False, outcome="fail")
        elif status == "not-applied":
            op["drop"] = True
        else:
            op.update(ret=None, result=ANY, outcome=status)
        self.position += 1
        self.done.append(op)

    def history(self) -> History:
        for op in self.open.values():
            op.update(ret=None, result=ANY, outcome="open", completed=None)
            self.done.append(op)
        ops: list[Op] = []
        for op in sorted(self.done, key=lambda o: o["call"]):
            if op.get("drop") or (op["ret"] is None and op["kind"] == READ):
                # not applied, or a read of unknown outcome: no effect, nothing observed
                self.left_out += 1
                continue
            ops.append(Op(len(ops), op["client"], op["f"], op["kind"], op["key"], op["arg"], op["result"],
                          op["call"], op["ret"], op["invoked"], op["completed"], op["outcome"]))
        return History(self.source, self.fmt, self.model, self.initial, ops, self.left_out)


def _check_f(model: Model, f: Any, source: str, line: int, field: str = "f") -> str:
    if f not in model.ops:
        raise HistoryError(source, line, field,
                           f"{f!r} is not an operation of the {model.name} model ({', '.join(model.ops)})")
    return f


# --------------------------------------------------------------------------- paxsim traces

CLIENT_KINDS = ("invoke", "ok", "fail", "info")


def _json_lines(text: str, source: str):
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HistoryError(source, number, None, f"not a JSON object: {exc.msg}") from None
        yield number, ev


def _parse_paxsim(text: str, source: str, model: Model) -> History:
    """A paxsim trace's lines may come in any order (events are judged in
    `seq` order, as `paxsim check` does): they are put in that order, each
    keeping its line number, when every event has an integer seq (else the
    line that has none is the error)."""
    numbered = list(_json_lines(text, source))
    first = 1 if numbered and isinstance(numbered[0][1], dict) and numbered[0][1].get("kind") == "header" else 0
    seqs = [ev.get("seq") if isinstance(ev, dict) else None for _, ev in numbered[first:]]
    if all(type(q) is int for q in seqs) and any(b < a for a, b in zip(seqs, seqs[1:])):
        numbered[first:] = sorted(numbered[first:], key=lambda item: item[1]["seq"])
    return _paxsim_events(numbered, source, model)


def history_from_events(events, model: str | Model, source: str = "trace") -> History:
    """The client history in a trace already in memory (a list of event
    dicts, e.g. a run's events), as `read_history` would read it from the
    written trace; line numbers count events from 1."""
    return history_from_numbered(enumerate(events, 1), model, source)


def history_from_numbered(numbered, model: str | Model, source: str = "trace") -> History:
    """`history_from_events` over (line number, event) pairs: a trace's
    client events kept as it streamed (the other events may be left out;
    the header, if given, must come first)."""
    model = MODELS[model] if isinstance(model, str) else model
    return _paxsim_events(numbered, source, model)


def _paxsim_events(numbered, source: str, model: Model) -> History:
    b = _Builder(source, "paxsim", model, None)
    last_seq: int | None = None
    first = True
    for number, ev in numbered:
        if not isinstance(ev, dict):
            raise HistoryError(source, number, None, f"expected a JSON object, found {_kind(ev)}")
        kind = ev.get("kind")
        if first and kind == "header" and ev.get("format", TRACE_FORMAT) != TRACE_FORMAT:
            raise HistoryError(source, number, "format", f"trace format {ev.get('format')!r} is not supported "
                               f"(this paxsim reads format {TRACE_FORMAT})")
        first = False
        if kind not in CLIENT_KINDS:
            continue

        def need(name: str, types: tuple, what: str) -> Any:
            if name not in ev:
                raise HistoryError(source, number, name, f"missing (a {kind} event needs {what})")
            v = ev[name]
            if isinstance(v, bool) or not isinstance(v, types):
                raise HistoryError(source, number, name, f"expected {what}, found {_kind(v)}")
            return v

        seq = need("seq", (int,), "an integer")
        t = need("t", (int, float), "a number (ms)")
        client = need("client", (str,), "a string")
        req = need("req", (int,), "an integer")
        f = _check_f(model, need("f", (str,), "a string"), source, number)
        if last_seq is not None and seq <= last_seq:
            raise HistoryError(source, number, "seq", f"{seq} does not increase (after {last_seq})")
        last_seq = seq
        if "key" not in ev:
            raise HistoryError(source, number, "key", "missing (null for the register)")
        key = ev["key"]
        if model.keyed and not isinstance(key, str):
            raise HistoryError(source, number, "key", f"the kv model needs a string key, found {_kind(key)}")
        if not model.keyed and key is not None:
            raise HistoryError(source, number, "key", f"the register model has no keys: expected null, found "
                               f"{_kind(key)}")
        if "value" not in ev:
            raise HistoryError(source, number, "value", "missing (null when there is none)")
        value = ev["value"]
        where = Where(number, t, seq)
        op_kind = model.kind(f)
        if kind == "invoke":
            if op_kind == READ and value is not None:
                raise HistoryError(source, number, "value", f"a {f} takes no argument: expected null, found "
                                   f"{_kind(value)}")
            arg = _argument(model, op_kind, value, source, number, "value")
            b.invoke((client, req), client, f, key, arg, where, "req")
            continue
        if kind == "ok":
            if op_kind == READ:
                result = _scalar(model, value, source, number, "value", nullable=True)
            elif op_kind == CAS:
                if not isinstance(value, bool):
                    raise HistoryError(source, number, "value", f"a cas result is true (swapped) or false "
                                       f"(compare failed), found {_kind(value)}")
                result = value
            else:
                if value is not None:
                    raise HistoryError(source, number, "value", f"a {f} returns null, found {_kind(value)}")
                result = None
            b.complete((client, req), "ok", f, key, result, where, "req")
        elif kind == "fail":
            b.complete((client, req), "not-applied", f, key, None, where, "req")
        else:
            b.complete((client, req), "info", f, key, None, where, "req")
    return b.history()


# --------------------------------------------------------------------------- Jepsen logs

_LOG_VALUE = re.compile(r"^(?:(nil)|(-?\d+)|(:[\w.*+!?-]+)|\[\s*(nil|-?\d+)\s+(nil|-?\d+)\s*\])$")
_JEPSEN_TYPES = ("invoke", "ok", "fail", "info")


def _int(text: str, source: str, line: int, field: str) -> int:
    """A log's integer (ASCII digits, checked by the caller's pattern), or the line that says it is
    longer than Python reads (its own message tells the user to raise a limit they cannot reach)."""
    digits = len(text.lstrip("-"))
    if digits > sys.get_int_max_str_digits():
        raise HistoryError(source, line, field, too_many_digits(digits))
    return int(text)


def _log_value(text: str, source: str, line: int) -> Any:
    m = _LOG_VALUE.match(text.strip())
    if not m:
        raise HistoryError(source, line, "value", f"cannot read {text.strip()!r} (expected nil, an integer, "
                           f"a keyword or [A B])")
    nil, num, kw, a, b = m.groups()
    if nil:
        return None
    if num is not None:
        return _int(num, source, line, "value")
    if kw is not None:
        return _Keyword(kw[1:])
    return tuple(None if x == "nil" else _int(x, source, line, "value") for x in (a, b))


def _parse_jepsen_log(text: str, source: str, model: Model) -> History:
    b = _Builder(source, "jepsen-log", model, None if model.name == "register" else "")
    for number, line in enumerate(text.splitlines(), 1):
        m = _LOG_LINE.match(line.rstrip("\r\n"))
        if not m:
            continue  # blank, or another logger's line
        parts = m.group(1).split("\t")
        process = parts[0].strip()
        if process == ":nemesis":
            continue
        if not re.fullmatch(r"-?\d+", process):
            raise HistoryError(source, number, "process", f"expected an integer process id, found {process!r}")
        if len(parts) < 3:
            raise HistoryError(source, number, None, "expected <process>\\t:<type>\\t:<f>\\t<value>")
        typ, f = parts[1].strip(), parts[2].strip()
        if not typ.startswith(":") or typ[1:] not in _JEPSEN_TYPES:
            raise HistoryError(source, number, "type", f"expected :invoke, :ok, :fail or :info, found {typ!r}")
        typ = typ[1:]
        if not f.startswith(":"):
            raise HistoryError(source, number, "f", f"expected a keyword such as :read, found {f!r}")
        f = _check_f(model, f[1:], source, number)
        raw = "\t".join(parts[3:]) if len(parts) > 3 else "nil"
        value = _log_value(raw, source, number)
        _jepsen_event(b, model, source, number, _int(process, source, number, "process"), typ, f, None, value,
                      "value")
    return b.history()


def _jepsen_event(b: _Builder, model: Model, source: str, number: int, process: Any, typ: str, f: str,
                  key: Any, value: Any, vfield: str) -> None:
    """One Jepsen event (from a log line or an EDN map) into the builder."""
    client = str(process)
    where = Where(number)
    kind = model.kind(f)
    if isinstance(value, _Keyword):
        if typ in ("invoke", "ok"):
            raise HistoryError(source, number, vfield, f"expected a value, found the keyword :{value}")
        value = None  # e.g. :timed-out on a failed or indeterminate completion
    if typ == "invoke":
        if kind == READ and value is not None:
            raise HistoryError(source, number, vfield, f"a :{f} is invoked with nil, found {_kind(value)}")
        b.invoke(process, client, f, key, _argument(model, kind, value, source, number, vfield), where, "process")
    elif typ == "ok":
        result = _scalar(model, value, source, number, vfield, nullable=True) if kind == READ else None
        if kind == CAS:
            result = True
        b.complete(process, "ok", f, key, result, where, "process")
    elif typ == "fail":
        status = "compare-failed" if kind == CAS else ("timed-out" if kind == READ else "not-applied")
        b.complete(process, status, f, key, None, where, "process")
    else:
        b.complete(process, "info", f, key, None, where, "process")


# --------------------------------------------------------------------------- Jepsen EDN

def _parse_jepsen_edn(text: str, source: str, model: Model) -> History:
    import edn_format

    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    records: list | None
    try:
        records = list(edn_format.loads_all(text))
    except Exception:  # edn_format raises several kinds; find the line below
        records = None
    if records is None or len(records) != len(lines):
        # locate the offending line (slow path, bad input only)
        for number, line in lines:
            try:
                got = list(edn_format.loads_all(line))
            except Exception as exc:
                if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
                    raise HistoryError(source, number, None, too_many_digits()) from None
                raise HistoryError(source, number, None, f"not an EDN map: {exc}") from None
            if len(got) != 1:
                raise HistoryError(source, number, None, f"expected one EDN map on the line, found {len(got)} "
                                   f"values")
        raise HistoryError(source, None, None, "EDN values span several lines; expected one map a line")
    b = _Builder(source, "jepsen-edn", model, "" if model.name == "kv" else None)
    kw = edn_format.Keyword
    K = {name: kw(name) for name in ("process", "type", "f", "key", "value")}
    for (number, _), rec in zip(lines, records):
        if not isinstance(rec, Mapping):
            raise HistoryError(source, number, None, f"expected an EDN map, found {type(rec).__name__}")
        for name in ("process", "type", "f"):
            if K[name] not in rec:
                raise HistoryError(source, number, ":" + name, "missing")
        process = rec[K["process"]]
        if isinstance(process, kw):
            if process.name == "nemesis":
                continue
            raise HistoryError(source, number, ":process", f"expected a process id, found :{process.name}")
        if isinstance(process, bool) or not isinstance(process, (int, str)):
            raise HistoryError(source, number, ":process", f"expected a process id, found {_kind(process)}")
        typ, f = rec[K["type"]], rec[K["f"]]
        if not isinstance(typ, kw) or typ.name not in _JEPSEN_TYPES:
            raise HistoryError(source, number, ":type", f"expected :invoke, :ok, :fail or :info, found {typ}")
        if not isinstance(f, kw):
            raise HistoryError(source, number, ":f", f"expected a keyword such as :get, found {f!r}")
        f_name = _check_f(model, f.name, source, number, ":f")
        key = None
        if model.keyed:
            if K["key"] not in rec:
                raise HistoryError(source, number, ":key", "missing (the kv model needs a key)")
            key = rec[K["key"]]
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise HistoryError(source, number, ":key", f"expected a string or an integer, found {_kind(key)}")
        value = rec.get(K["value"])
        if isinstance(value, kw):
            value = _Keyword(value.name)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            value = tuple(value)  # an EDN vector [a b] (edn_format's ImmutableList) or list (a b)
        _jepsen_event(b, model, source, number, process, typ.name, f_name, key, value, ":value")
    return b.history()
