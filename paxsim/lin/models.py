"""The sequential specifications a history is judged against.

A model is a name, the operation names it accepts (each mapped to one of
four kinds of step), whether operations carry a key, and the state an
object starts in.  States are plain hashable values (None, a str or an
int), so the search can memoise (linearized set, state) pairs cheaply.

Kinds of step, shared by both models:

* READ:   returns the state; legal only if the result equals it.
* WRITE:  sets the state to the argument.
* APPEND: sets the state to the state (or "" when absent) plus the argument.
* CAS:    argument (expected, new); if the state equals `expected` the state
          becomes `new` and the result is True, else nothing changes and the
          result is False.  An absent value (None) matches expected None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

READ, WRITE, APPEND, CAS = 0, 1, 2, 3

# The result a step is checked against is ANY for an operation whose
# outcome is unknown: it may have taken effect (with whatever result) or not.
ANY = object()
ILLEGAL = object()


@dataclass(frozen=True)
class Model:
    name: str
    ops: dict[str, int]      # operation name -> kind of step
    keyed: bool              # whether operations name a key (split by key)
    about: str

    def kind(self, f: str) -> int:
        return self.ops[f]


REGISTER = Model("register", {"read": READ, "write": WRITE, "cas": CAS}, keyed=False,
                 about="a compare-and-set register: read, write, cas [expected new]")
KV = Model("kv", {"get": READ, "put": WRITE, "append": APPEND, "cas": CAS}, keyed=True,
           about="a map of keys to strings: get, put, append, cas [expected new]; each key checked on its own")

MODELS = {m.name: m for m in (REGISTER, KV)}


def step(kind: int, state: Any, arg: Any, result: Any) -> Any:
    """The state after one operation, or ILLEGAL if its result is impossible here.

    The search inlines the same logic for speed; this is the reference
    (tests check that both agree)."""
    if kind == READ:
        return state if (result is ANY or result == state) else ILLEGAL
    if kind == WRITE:
        return arg
    if kind == APPEND:
        return (state or "") + arg
    expected, new = arg
    swapped = state == expected
    if result is ANY or result == swapped:
        return new if swapped else state
    return ILLEGAL
