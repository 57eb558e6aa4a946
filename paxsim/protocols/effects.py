"""Effects every protocol shares: what a role asks its runtime to do.

A runtime carries out a list of effects in order.  `Persist` must be durable
before any later effect of the same list is carried out.  Each protocol adds
its own *observations* (effects that change nothing outside the role, such as
single-decree Paxos's `Promised` or `Decided`): the runtime records them as
trace events, and the protocol's checker reads them.

Effects are plain slotted dataclasses, not frozen ones: a runtime consumes
each list at once and no one keeps an effect, and frozen construction cost
about 8% of a simulated run.  Messages, which live on in flight and in
traces, are hashable values, immutable by convention (see
`paxsim.protocols.single.messages`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Send:
    dst: str
    msg: Any


@dataclass(slots=True)
class Broadcast:
    """Send `msg` to each node of `dsts`, in that order (one effect, many sends)."""

    dsts: tuple[str, ...]
    msg: Any


@dataclass(slots=True)
class SetTimer:
    """(Re)arm timer `name` to fire after a delay drawn from [lo, hi] ms."""

    name: str
    lo: float
    hi: float


@dataclass(slots=True)
class CancelTimer:
    name: str


@dataclass(slots=True)
class Persist:
    """Write `data` under `key` to the node's stable storage."""

    key: str
    data: Any
