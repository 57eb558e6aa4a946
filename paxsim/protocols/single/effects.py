"""Single-decree observations: `Promised`, `Voted`, `Proposed` and `Decided`
change nothing outside the role; they are the observable protocol steps that
a runtime records (the checker reads them).  The effects every protocol
shares (`Send`, `Persist`, timers) live in `paxsim.protocols.effects`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..effects import Broadcast, CancelTimer, Persist, Send, SetTimer
from .messages import Ballot, Value


@dataclass(slots=True)
class Promised:
    ballot: Ballot


@dataclass(slots=True)
class Voted:
    ballot: Ballot
    value: Value


@dataclass(slots=True)
class Proposed:
    """The proposer enters phase 2 with `value`, on promises from `quorum`."""

    ballot: Ballot
    value: Value
    quorum: tuple[str, ...]


@dataclass(slots=True)
class Decided:
    value: Value


Effect = Union[Send, Broadcast, SetTimer, CancelTimer, Persist, Promised, Voted, Proposed, Decided]
