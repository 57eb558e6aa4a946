"""Multi-Paxos with a stable leader, feeding a replicated key-value store; pure and sans-I/O.

The rules of `paxsim.protocols` hold here: no I/O, clock or randomness; every
side effect is a returned effect; `Persist` before the sends that depend on
it; a role sees only messages; iteration follows the ordered node tuple.

How a runtime drives this package (through `PROTOCOL`, nothing else):

1. Nodes.  `node = PROTOCOL.make_node(PROTOCOL.node_config(name, nodes, bugs, **options), storage)`
   where `storage` is the node's stable storage, a dict the runtime owns:
   it carries out `Persist(key, data)` as `storage[key] = data`, and the
   node reads it only when built.  Call `node.start()` at time 0 and after
   every restart; a restart builds a new node from the same storage (an
   empty dict if the storage was volatile).  Then
   `node.on_message(src, msg)` and `node.on_timer(name)`.  Node timers:
   "election" and "heartbeat".
2. Clients.  `client = PROTOCOL.make_client(PROTOCOL.client_config(name, nodes, **options))`;
   `client.invoke(op)` (only when `not client.busy`; `op` is
   `{"f", "key", "value"}` or `Op(f, key, value)`), `client.on_message(src, msg)`,
   `client.on_timer(name)` (timer "timeout"); `client.start()` returns no
   effects today.  Node and client names share one address space: nodes
   send replies to the client's name.
3. Every handler returns a list of effects, carried out in order:
   `Send`, `Broadcast`, `SetTimer(name, lo, hi)` (re-arms; the runtime
   draws the delay), `CancelTimer`, `Persist` (durable before anything after
   it in the list) from `paxsim.protocols.effects`.  Any other effect is an
   observation (`PROTOCOL.observations`): record it as the trace event
   `{"seq", "t", "kind": type(e).KIND, "node": <the emitting node or client>, **e.fields()}`.
   The client's `invoke` / `ok` / `fail` / `info` events are the history a
   linearizability checker reads (`effects.py` lists every field).
4. Messages: `msg.to_json()` in traces, `PROTOCOL.message_from_json` back.
5. Checking: `PROTOCOL.check(events)` runs every property of `properties.py`
   over a trace's events and returns its findings (`kind`, `message`, `seqs`);
   `PROTOCOL.log_checker()` is the same judge fed one event at a time
   (`feed(ev)`, then `findings()`), in memory that grows with the log, not
   with the trace.
6. Mutants: `PROTOCOL.BUGS` (name -> what it breaks) go into `bugs`;
   `PROTOCOL.CONTROL_BUGS` are harmless, to show a sweep does not cry wolf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .client import Client, ClientConfig, Op
from .effects import (
    OBSERVATIONS,
    Broadcast,
    CancelTimer,
    Decided,
    Effect,
    Executed,
    Fail,
    Info,
    Invoke,
    Leading,
    Ok,
    Persist,
    Promised,
    Restored,
    Send,
    SetTimer,
    Voted,
)
from .kv import KV
from .messages import (
    Accept,
    Accepted,
    Ballot,
    CatchUp,
    Command,
    Decide,
    Heartbeat,
    Log,
    Message,
    Nack,
    Prepare,
    Promise,
    Redirect,
    Reply,
    Request,
    message_from_json,
)
from .properties import Finding, LogSafety, log_safety
from .roles import BUGS, CONTROL_BUGS, Node, NodeConfig


def node_config(name: str, nodes: tuple[str, ...], bugs: frozenset = frozenset(), **options: Any) -> NodeConfig:
    """Options: window, heartbeat, election=(lo, hi), catchup_batch (see `NodeConfig`)."""
    unknown = sorted(set(bugs) - set(BUGS))
    if unknown:
        raise ValueError(f"unknown multi-paxos bug {unknown[0]!r}")
    return NodeConfig(name, tuple(nodes), bugs=frozenset(bugs), **options)


def client_config(name: str, nodes: tuple[str, ...], **options: Any) -> ClientConfig:
    """Options: timeout=(lo, hi), attempts (see `ClientConfig`)."""
    return ClientConfig(name, tuple(nodes), **options)


def make_node(config: NodeConfig, storage: dict | None = None) -> Node:
    return Node(config, storage)


def make_client(config: ClientConfig) -> Client:
    return Client(config)


@dataclass(frozen=True)
class Protocol:
    kind: str
    BUGS: dict
    CONTROL_BUGS: frozenset
    observations: tuple
    message_from_json: Callable[[dict], Message]
    node_config: Callable[..., NodeConfig]
    client_config: Callable[..., ClientConfig]
    make_node: Callable[[NodeConfig, dict | None], Node]
    make_client: Callable[[ClientConfig], Client]
    check: Callable[[list[dict]], list[Finding]]
    log_checker: Callable[[], LogSafety]  # the same judge fed one event at a time: .feed(ev), .findings()


PROTOCOL = Protocol(
    kind="multi-paxos",
    BUGS=BUGS,
    CONTROL_BUGS=CONTROL_BUGS,
    observations=OBSERVATIONS,
    message_from_json=message_from_json,
    node_config=node_config,
    client_config=client_config,
    make_node=make_node,
    make_client=make_client,
    check=log_safety,
    log_checker=LogSafety,
)

__all__ = [
    "BUGS", "CONTROL_BUGS", "OBSERVATIONS", "PROTOCOL", "Accept", "Accepted", "Ballot", "Broadcast", "CancelTimer",
    "CatchUp", "Client", "ClientConfig", "Command", "Decide", "Decided", "Effect", "Executed", "Fail", "Finding",
    "Heartbeat", "Info", "Invoke", "KV", "Leading", "Log", "Message", "Nack", "Node", "NodeConfig", "Ok", "Op",
    "Persist", "Prepare", "Promise", "Promised", "Protocol", "Redirect", "Reply", "Request", "Restored", "Send",
    "SetTimer", "Voted", "client_config", "log_safety", "make_client", "make_node", "message_from_json",
    "node_config",
]
