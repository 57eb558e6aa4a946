"""Operations and histories, independent of the file they came from.

An operation has an invoke and, if its outcome is known, a completion.
Positions (`call`, `ret`) are indexes into the file's sequence of client
events, so "A completed before B was invoked" is `A.ret < B.call`: the
order of events, not their clock, decides real-time precedence (ties in
`t` are ordered by the trace's `seq`, as the run ordered them).

An operation whose outcome is unknown (`info`, a timed-out read, an invoke
never completed) has `ret = None` and `result = ANY`: it may take effect at
any point after its invoke, with any result, or never.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import ANY, CAS, READ, Model


@dataclass(frozen=True)
class Where:
    """Where an event is in its file: line, and for paxsim traces t (ms) and seq."""

    line: int
    t: float | None = None
    seq: int | None = None

    def text(self) -> str:
        if self.t is None:
            return f"line {self.line}"
        t = f"{self.t:.3f}".rstrip("0").rstrip(".")
        return f"t={t} ms (seq {self.seq})"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"line": self.line}
        if self.t is not None:
            out["t"] = self.t
            out["seq"] = self.seq
        return out


@dataclass(frozen=True)
class Op:
    id: int                  # index in the history, in invoke order
    client: str
    f: str
    kind: int                # models.READ / WRITE / APPEND / CAS
    key: Any                 # str for kv, None for the register
    arg: Any                 # None, a value, or (expected, new)
    result: Any              # ANY if the outcome is unknown
    call: int                # position of the invoke among the file's client events
    ret: int | None          # position of the completion; None: unknown outcome
    invoked: Where
    completed: Where | None  # None: never completed
    outcome: str             # ok, fail (cas compare failed), info, timed-out, open
    optional: bool = False   # may have had no effect (only in explanations: see relaxed())

    @property
    def known(self) -> bool:
        return self.ret is not None

    def unknown(self) -> "Op":
        """The same operation with its outcome unknown: any time after its invoke, or never."""
        return Op(self.id, self.client, self.f, self.kind, self.key, self.arg, ANY, self.call, None,
                  self.invoked, self.completed, self.outcome)

    def relaxed(self) -> "Op":
        """The same operation, but it may have had no effect, and any result: it takes
        effect between its invoke and its completion, or never (used to explain violations)."""
        return Op(self.id, self.client, self.f, self.kind, self.key, self.arg, ANY, self.call, self.ret,
                  self.invoked, self.completed, self.outcome, optional=True)

    def describe(self) -> str:
        """e.g. `cas('1', '2') -> false`, `get -> 'x'`, `put('a')` (unknown outcome: `-> ?`)."""
        if self.arg is None:
            call = self.f
        elif isinstance(self.arg, tuple):
            call = f"{self.f}({', '.join(show_value(a) for a in self.arg)})"
        else:
            call = f"{self.f}({show_value(self.arg)})"
        if self.result is ANY:
            return f"{call} -> ? ({self.outcome})"
        if self.kind == READ:
            return f"{call} -> {show_value(self.result)}"
        if self.kind == CAS:
            return f"{call} -> {'true' if self.result else 'false'}"
        return f"{call} -> ok"

    def to_json(self) -> dict:
        return {
            "client": self.client, "f": self.f, "key": self.key,
            "value": list(self.arg) if isinstance(self.arg, tuple) else self.arg,
            "outcome": self.outcome,
            "result": None if self.result is ANY else self.result,
            "invoke": self.invoked.to_json(),
            "complete": self.completed.to_json() if self.completed is not None else None,
        }


def show_value(value: Any) -> str:
    if value is None:
        return "nil"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class History:
    source: str
    format: str
    model: Model
    initial: Any                           # the state every key starts in
    ops: list[Op]
    left_out: int = 0                      # definitely not applied (fail), or reads of unknown outcome
    notes: list[str] = field(default_factory=list)

    def by_key(self) -> list[tuple[Any, list[Op]]]:
        """P-compositionality: each key's operations, keys in order of first invoke."""
        groups: dict[Any, list[Op]] = {}
        for op in self.ops:
            groups.setdefault(op.key, []).append(op)
        return list(groups.items())
