"""The client role: one outstanding operation at a time, retried elsewhere.

`invoke(op)` records the `invoke` observation, sends the request to a node
and arms the `timeout` timer.  A `reply` for the current request completes
it (`ok`, with the result).  A `redirect` naming another leader re-sends the
request there at once; on a timeout the request goes to the leader last
named, else to the next node in `nodes` order.  After `attempts` sends
without a reply the client gives up: `info`, outcome unknown.

The request id stays the same across retries (that is what lets replicas
answer a retry from the recorded result), and increases with each new
operation.  This client never reports `fail` (definitely not applied): a
redirect only says that one copy of one attempt was not taken, while an
earlier attempt, or a duplicate of this one that the network delivered
earlier, may still be decided; so giving up is always `info`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .effects import CancelTimer, Effect, Info, Invoke, Ok, Send, SetTimer
from .messages import OPS, Command, Message, Redirect, Reply, Request


class Op(NamedTuple):
    """An operation to invoke: `f` in get / put / append / cas on `key`;
    `value` None for get, the value for put and append, (expected, new) for cas."""

    f: str
    key: str
    value: Any = None

    @classmethod
    def of(cls, op: Any) -> "Op":
        if isinstance(op, dict):
            op = cls(op["f"], op["key"], op.get("value"))
        elif not isinstance(op, Op):
            op = cls(*op)
        if op.f not in OPS:
            raise ValueError(f"unknown operation {op.f!r}")
        if op.f == "cas":
            expected, new = op.value
            op = op._replace(value=(expected, new))
        return op


@dataclass(frozen=True, slots=True)
class ClientConfig:
    name: str
    nodes: tuple[str, ...]  # the nodes it may talk to, the first one first
    timeout: tuple[float, float] = (200.0, 300.0)  # ms to wait for a reply to one attempt
    attempts: int = 5  # sends of one operation before it gives up


class Client:
    __slots__ = ("cfg", "name", "req", "command", "attempts", "target", "leader")

    def __init__(self, cfg: ClientConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.req = 0
        self.command: Command | None = None  # the outstanding operation
        self.attempts = 0
        self.target = 0  # index into cfg.nodes of the next node to try
        self.leader: str | None = None  # the leader a node last named

    @property
    def busy(self) -> bool:
        return self.command is not None

    def start(self) -> list[Effect]:
        return []

    def invoke(self, op: Any) -> list[Effect]:
        if self.command is not None:
            raise RuntimeError(f"client {self.name} already has request {self.req} outstanding")
        op = Op.of(op)
        self.req += 1
        self.command = Command(self.name, self.req, op.f, op.key, op.value)
        self.attempts = 0
        return [Invoke(self.name, self.req, op.f, op.key, op.value), *self._send(self._next_node())]

    def _next_node(self) -> str:
        if self.leader is not None:
            return self.leader
        node = self.cfg.nodes[self.target % len(self.cfg.nodes)]
        self.target += 1
        return node

    def _send(self, node: str) -> list[Effect]:
        self.attempts += 1
        lo, hi = self.cfg.timeout
        return [Send(node, Request(self.command)), SetTimer("timeout", lo, hi)]

    def on_message(self, src: str, msg: Message) -> list[Effect]:
        cmd = self.command
        if cmd is None or msg.req != cmd.req:  # a late answer to an earlier operation
            return []
        if type(msg) is Reply:
            self.command = None
            self.leader = src
            return [CancelTimer("timeout"), Ok(self.name, cmd.req, cmd.f, cmd.key, msg.result)]
        if type(msg) is Redirect:
            self.leader = msg.leader if msg.leader != src else None
            if self.leader is not None and self.attempts < self.cfg.attempts:
                return self._send(self.leader)
            return []  # no leader known: try the next node when the timer fires
        raise TypeError(f"not a client message: {msg!r}")

    def on_timer(self, name: str) -> list[Effect]:
        if name != "timeout":
            raise ValueError(f"unknown timer {name!r}")
        cmd = self.command
        if cmd is None:
            return []
        if self.attempts >= self.cfg.attempts:
            self.command = None
            return [Info(self.name, cmd.req, cmd.f, cmd.key, cmd.value)]
        self.leader = None  # it did not answer: try elsewhere
        return self._send(self._next_node())
