"""Multi-Paxos observations: effects that change nothing outside the role.

A runtime records each one as a trace event without knowing the class: the
event is `{"seq", "t", "kind": cls.KIND, "node": <the emitting process>,
**obs.fields()}`.  `fields()` is JSON-ready (ballots as [round, node],
commands as dicts, a no-op as null).

Node observations (the checker in `properties.py` reads them):

    promised   ballot                      the acceptor promised `ballot` for every slot
    voted      slot, ballot, command       the acceptor voted (persisted first)
    leading    ballot, recovered           phase 1 done: the node leads `ballot`; `recovered`
                                           is how many slots it re-proposes (votes found or no-ops)
    decided    slot, command               the replica learned the slot's command (persisted first)
    executed   slot, command, result, applied
                                           the replica ran the slot on the state machine;
                                           applied is false for a no-op and for a retried request
                                           answered from the dedup table
    restored   executed                    a (re)started replica rebuilt its state from storage
                                           by re-running its stored decided slots 0..executed-1

Client observations (a Jepsen-style history, read by a linearizability checker):

    invoke     client, req, f, key, value  value: get null, put/append the value, cas [expected, new]
    ok         client, req, f, key, value  value: the result (get: value read or null,
                                           put/append null, cas true/false)
    fail       client, req, f, key, value  definitely not applied (value: the argument)
    info       client, req, f, key, value  unknown outcome: the client gave up (value: the argument)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..effects import Broadcast, CancelTimer, Persist, Send, SetTimer
from .messages import Ballot, Command, command_to_json


@dataclass(slots=True)
class Promised:
    ballot: Ballot
    KIND = "promised"

    def fields(self) -> dict:
        return {"ballot": self.ballot.to_json()}


@dataclass(slots=True)
class Voted:
    slot: int
    ballot: Ballot
    command: Command | None
    KIND = "voted"

    def fields(self) -> dict:
        return {"slot": self.slot, "ballot": self.ballot.to_json(), "command": command_to_json(self.command)}


@dataclass(slots=True)
class Leading:
    ballot: Ballot
    recovered: int
    KIND = "leading"

    def fields(self) -> dict:
        return {"ballot": self.ballot.to_json(), "recovered": self.recovered}


@dataclass(slots=True)
class Decided:
    slot: int
    command: Command | None
    KIND = "decided"

    def fields(self) -> dict:
        return {"slot": self.slot, "command": command_to_json(self.command)}


@dataclass(slots=True)
class Executed:
    slot: int
    command: Command | None
    result: Any
    applied: bool
    KIND = "executed"

    def fields(self) -> dict:
        return {"slot": self.slot, "command": command_to_json(self.command), "result": self.result,
                "applied": self.applied}


@dataclass(slots=True)
class Restored:
    executed: int
    KIND = "restored"

    def fields(self) -> dict:
        return {"executed": self.executed}


def _arg(f: str, value: Any) -> Any:
    return list(value) if f == "cas" and value is not None else value


@dataclass(slots=True)
class _ClientEvent:
    client: str
    req: int
    f: str
    key: str
    value: Any

    def fields(self) -> dict:
        return {"client": self.client, "req": self.req, "f": self.f, "key": self.key, "value": _arg(self.f, self.value)}


@dataclass(slots=True)
class Invoke(_ClientEvent):
    KIND = "invoke"


@dataclass(slots=True)
class Ok(_ClientEvent):
    KIND = "ok"

    def fields(self) -> dict:  # the value is the result, never a cas argument
        return {"client": self.client, "req": self.req, "f": self.f, "key": self.key, "value": self.value}


@dataclass(slots=True)
class Fail(_ClientEvent):
    KIND = "fail"


@dataclass(slots=True)
class Info(_ClientEvent):
    KIND = "info"


OBSERVATIONS = (Promised, Voted, Leading, Decided, Executed, Restored, Invoke, Ok, Fail, Info)

Effect = Union[Send, Broadcast, SetTimer, CancelTimer, Persist, Promised, Voted, Leading, Decided, Executed,
               Restored, Invoke, Ok, Fail, Info]
