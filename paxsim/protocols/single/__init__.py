"""Single-decree Paxos ("Paxos Made Simple"), pure and sans-I/O.

The rules of `paxsim.protocols` hold here: no I/O, clock or randomness; every
side effect is a returned effect; `Persist` before the sends that depend on
it; a role sees only messages; iteration follows the ordered node tuple.
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
from .roles import BUGS, CONTROL_BUGS, PRESETS, Acceptor, Learner, Node, NodeConfig, Proposer, RetryPolicy

__all__ = [
    "BUGS",
    "CONTROL_BUGS",
    "PRESETS",
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
