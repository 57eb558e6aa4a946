"""Multi-Paxos messages: small frozen values with a stable JSON form.

Every message has a `type` string (its JSON tag) and `to_json()`; a trace
writes exactly that dict and `message_from_json` reads it back.  A command is
a `Command` or `None` (a no-op, which a new leader uses to fill a hole); in
JSON a command is `{"client", "req", "f", "key", "value"}` and a no-op `null`.

Between nodes: prepare / promise / nack (phase 1 for every slot at once),
accept / accepted (phase 2, per slot), decide (a slot's command is chosen),
heartbeat (the leader is alive; how far its decided log reaches), catchup /
log (a lagging replica asks for decided slots, and gets them).
Between clients and nodes: request (client -> node), reply and redirect
(node -> client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..ballot import Ballot

OPS = ("get", "put", "append", "cas")


@dataclass(frozen=True, slots=True)
class Command:
    """A client's operation `f` on `key`, identified by `(client, req)`.

    `value` is the argument: None for get, the value for put and append,
    `(expected, new)` for cas (a tuple; JSON writes it as a list)."""

    client: str
    req: int
    f: str
    key: str
    value: Any = None

    @property
    def id(self) -> tuple[str, int]:
        return (self.client, self.req)

    def to_json(self) -> dict:
        value = list(self.value) if self.f == "cas" else self.value
        return {"client": self.client, "req": self.req, "f": self.f, "key": self.key, "value": value}

    @classmethod
    def from_json(cls, data: dict) -> "Command":
        f = data["f"]
        if f not in OPS:
            raise ValueError(f"unknown operation {f!r}")
        value = data.get("value")
        if f == "cas":
            value = (value[0], value[1])
        return cls(str(data["client"]), int(data["req"]), f, str(data["key"]), value)


def command_to_json(cmd: Command | None) -> dict | None:
    return None if cmd is None else cmd.to_json()


def command_from_json(data: dict | None) -> Command | None:
    return None if data is None else Command.from_json(data)


Entry = tuple  # (slot, ballot, command): an acceptor's vote, reported in a promise


@dataclass(frozen=True, slots=True)
class Prepare:
    """Phase 1a for every slot from `first` on (the sender knows every decided slot below it)."""

    ballot: Ballot
    first: int = 0
    type = "prepare"

    def to_json(self) -> dict:
        return {"type": "prepare", "ballot": self.ballot.to_json(), "first": self.first}


@dataclass(frozen=True, slots=True)
class Promise:
    """Phase 1b: a promise for `ballot`, with every vote `(slot, ballot, command)`
    the acceptor holds at slots >= the prepare's `first`, in slot order."""

    ballot: Ballot
    accepted: tuple[Entry, ...] = ()
    type = "promise"

    def to_json(self) -> dict:
        acc = [[s, b.to_json(), command_to_json(c)] for s, b, c in self.accepted]
        return {"type": "promise", "ballot": self.ballot.to_json(), "accepted": acc}


@dataclass(frozen=True, slots=True)
class Nack:
    """A refused prepare, accept or heartbeat at `ballot`: the node promised `promised`."""

    ballot: Ballot
    promised: Ballot
    type = "nack"

    def to_json(self) -> dict:
        return {"type": "nack", "ballot": self.ballot.to_json(), "promised": self.promised.to_json()}


@dataclass(frozen=True, slots=True)
class Accept:
    """Phase 2a: vote for `command` at `slot` under `ballot`."""

    ballot: Ballot
    slot: int
    command: Command | None
    type = "accept"

    def to_json(self) -> dict:
        return {"type": "accept", "ballot": self.ballot.to_json(), "slot": self.slot,
                "command": command_to_json(self.command)}


@dataclass(frozen=True, slots=True)
class Accepted:
    """Phase 2b: the acceptor voted at `slot` under `ballot`."""

    ballot: Ballot
    slot: int
    type = "accepted"

    def to_json(self) -> dict:
        return {"type": "accepted", "ballot": self.ballot.to_json(), "slot": self.slot}


@dataclass(frozen=True, slots=True)
class Decide:
    """`command` is chosen at `slot` (leader -> every replica)."""

    slot: int
    command: Command | None
    type = "decide"

    def to_json(self) -> dict:
        return {"type": "decide", "slot": self.slot, "command": command_to_json(self.command)}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The leader of `ballot` is alive; it knows every decided slot below `commit`."""

    ballot: Ballot
    commit: int
    type = "heartbeat"

    def to_json(self) -> dict:
        return {"type": "heartbeat", "ballot": self.ballot.to_json(), "commit": self.commit}


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A lagging replica asks for the decided slots from `first` on."""

    first: int
    type = "catchup"

    def to_json(self) -> dict:
        return {"type": "catchup", "first": self.first}


@dataclass(frozen=True, slots=True)
class Log:
    """Decided slots `(slot, command)`, in slot order (the answer to a catchup)."""

    entries: tuple[tuple[int, Command | None], ...]
    type = "log"

    def to_json(self) -> dict:
        return {"type": "log", "entries": [[s, command_to_json(c)] for s, c in self.entries]}


@dataclass(frozen=True, slots=True)
class Request:
    """A client asks a node to run `command` (a retry carries the same `req`)."""

    command: Command
    type = "request"

    def to_json(self) -> dict:
        return {"type": "request", "command": self.command.to_json()}


@dataclass(frozen=True, slots=True)
class Reply:
    """The result of the client's request `req` (node -> client)."""

    req: int
    result: Any
    type = "reply"

    def to_json(self) -> dict:
        return {"type": "reply", "req": self.req, "result": self.result}


@dataclass(frozen=True, slots=True)
class Redirect:
    """The node is not the leader and did not take request `req`; `leader` is
    the leader it knows of, if any."""

    req: int
    leader: str | None
    type = "redirect"

    def to_json(self) -> dict:
        return {"type": "redirect", "req": self.req, "leader": self.leader}


Message = Union[Prepare, Promise, Nack, Accept, Accepted, Decide, Heartbeat, CatchUp, Log, Request, Reply, Redirect]


def message_from_json(data: dict) -> Message:
    """Inverse of `Message.to_json()`; raises ValueError on an unknown type."""
    kind = data.get("type")
    if kind == "prepare":
        return Prepare(Ballot.from_json(data["ballot"]), int(data.get("first", 0)))
    if kind == "promise":
        acc = tuple((int(s), Ballot.from_json(b), command_from_json(c)) for s, b, c in data.get("accepted", ()))
        return Promise(Ballot.from_json(data["ballot"]), acc)
    if kind == "nack":
        return Nack(Ballot.from_json(data["ballot"]), Ballot.from_json(data["promised"]))
    if kind == "accept":
        return Accept(Ballot.from_json(data["ballot"]), int(data["slot"]), command_from_json(data["command"]))
    if kind == "accepted":
        return Accepted(Ballot.from_json(data["ballot"]), int(data["slot"]))
    if kind == "decide":
        return Decide(int(data["slot"]), command_from_json(data["command"]))
    if kind == "heartbeat":
        return Heartbeat(Ballot.from_json(data["ballot"]), int(data["commit"]))
    if kind == "catchup":
        return CatchUp(int(data["first"]))
    if kind == "log":
        return Log(tuple((int(s), command_from_json(c)) for s, c in data["entries"]))
    if kind == "request":
        return Request(Command.from_json(data["command"]))
    if kind == "reply":
        return Reply(int(data["req"]), data.get("result"))
    if kind == "redirect":
        return Redirect(int(data["req"]), data.get("leader"))
    raise ValueError(f"unknown message type {kind!r}")
