"""Paxos messages: small immutable values with a stable JSON form.

Every message has a `type` string (its JSON tag) and `to_json()`; the trace
writes exactly that dict, and `message_from_json` reads it back.

Messages are values: equal by type and fields, hashable (the explorer keeps
them in its states).  They are immutable by convention, not frozen: nothing
assigns to a message after it is built, and a frozen dataclass costs about
2.5x as much to build (one `object.__setattr__` per field), once per message
sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..ballot import Ballot

Value = Union[str, int]


@dataclass(slots=True, unsafe_hash=True)
class Prepare:
    """Phase 1a: ask acceptors to promise `ballot`."""

    ballot: Ballot
    type = "prepare"

    def to_json(self) -> dict:
        return {"type": "prepare", "ballot": self.ballot.to_json()}


@dataclass(slots=True, unsafe_hash=True)
class Promise:
    """Phase 1b: a promise for `ballot`, reporting the acceptor's last vote."""

    ballot: Ballot
    accepted: tuple[Ballot, Value] | None
    type = "promise"

    def to_json(self) -> dict:
        acc = None
        if self.accepted is not None:
            acc = {"ballot": self.accepted[0].to_json(), "value": self.accepted[1]}
        return {"type": "promise", "ballot": self.ballot.to_json(), "accepted": acc}


@dataclass(slots=True, unsafe_hash=True)
class Nack:
    """A refused prepare or accept for `ballot`: the acceptor promised `promised`."""

    ballot: Ballot
    promised: Ballot
    type = "nack"

    def to_json(self) -> dict:
        return {"type": "nack", "ballot": self.ballot.to_json(), "promised": self.promised.to_json()}


@dataclass(slots=True, unsafe_hash=True)
class Accept:
    """Phase 2a: ask acceptors to vote for `value` at `ballot`."""

    ballot: Ballot
    value: Value
    type = "accept"

    def to_json(self) -> dict:
        return {"type": "accept", "ballot": self.ballot.to_json(), "value": self.value}


@dataclass(slots=True, unsafe_hash=True)
class Accepted:
    """Phase 2b: the acceptor voted at `ballot`.  Sent to learners (learning
    by acceptors) it also carries the `value`."""

    ballot: Ballot
    value: Value | None = None
    type = "accepted"

    def to_json(self) -> dict:
        if self.value is None:
            return {"type": "accepted", "ballot": self.ballot.to_json()}
        return {"type": "accepted", "ballot": self.ballot.to_json(), "value": self.value}


@dataclass(slots=True, unsafe_hash=True)
class Learn:
    """The value `value` is chosen: sent to learners, re-sent until acknowledged."""

    value: Value
    type = "learn"

    def to_json(self) -> dict:
        return {"type": "learn", "value": self.value}


@dataclass(slots=True, unsafe_hash=True)
class Learned:
    """A learner's acknowledgement of a `learn`: stops its retransmission."""

    value: Value
    type = "learned"

    def to_json(self) -> dict:
        return {"type": "learned", "value": self.value}


Message = Union[Prepare, Promise, Nack, Accept, Accepted, Learn, Learned]


def message_from_json(data: dict) -> Message:
    """Inverse of `Message.to_json()`; raises ValueError on an unknown type."""
    kind = data.get("type")
    if kind == "prepare":
        return Prepare(Ballot.from_json(data["ballot"]))
    if kind == "promise":
        acc = data.get("accepted")
        accepted = None if acc is None else (Ballot.from_json(acc["ballot"]), acc["value"])
        return Promise(Ballot.from_json(data["ballot"]), accepted)
    if kind == "nack":
        return Nack(Ballot.from_json(data["ballot"]), Ballot.from_json(data["promised"]))
    if kind == "accept":
        return Accept(Ballot.from_json(data["ballot"]), data["value"])
    if kind == "accepted":
        return Accepted(Ballot.from_json(data["ballot"]), data.get("value"))
    if kind == "learn":
        return Learn(data["value"])
    if kind == "learned":
        return Learned(data["value"])
    raise ValueError(f"unknown message type {kind!r}")
