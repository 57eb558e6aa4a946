"""Pure, sans-I/O Simple Paxos ("Paxos Made Simple").

Rules of this package (tests/test_protocol_purity.py enforces the first):

1. No I/O, no clock, no randomness: nothing here imports simpy, random, time,
   socket, asyncio, os or numpy. The same roles can be driven by the simulator
   or, later, by a real network runtime.
2. Every side effect is a returned effect (`paxsim.protocol.effects`): a role
   never sends, sleeps, writes or draws a random number itself.  Timers are
   ranges (`SetTimer(name, lo, hi)`): the runtime draws the delay.
3. `Persist` comes before the sends that depend on it, in the same effect list.
   A runtime must carry out effects in order (that is the stable-storage rule).
4. A role never reads another node's state: it only sees messages.
5. Iteration order is always a list order (acceptors are a list), never a set.
"""

from .effects import (
    Broadcast,
    CancelTimer,
    Decided,
    Effect,
    Persist,
    Promised,
    Proposed,
    Send,
    SetTimer,
    Voted,
)
from .messages import (
    Accept,
    Accepted,
    Ballot,
    Learn,
    Learned,
    Message,
    Nack,
    Prepare,
    Promise,
    message_from_json,
)
from .roles import BUGS, CONTROL_BUGS, Acceptor, Learner, Node, NodeConfig, Proposer, RetryPolicy

__all__ = [
    "BUGS",
    "CONTROL_BUGS",
    "Accept",
    "Accepted",
    "Acceptor",
    "Ballot",
    "Broadcast",
    "CancelTimer",
    "Decided",
    "Effect",
    "Learn",
    "Learned",
    "Learner",
    "Message",
    "Nack",
    "Node",
    "NodeConfig",
    "Persist",
    "Prepare",
    "Promise",
    "Promised",
    "Proposed",
    "Proposer",
    "RetryPolicy",
    "Send",
    "SetTimer",
    "Voted",
    "message_from_json",
]
