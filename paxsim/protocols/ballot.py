"""The ballot both protocols use: a `(round, node)` pair, totally ordered."""

from __future__ import annotations

from typing import Any, NamedTuple


class Ballot(NamedTuple):
    """A proposal number `(round, node)`: unique per proposer (or leader), totally ordered."""

    round: int
    node: str

    def to_json(self) -> list:
        return [self.round, self.node]

    @classmethod
    def from_json(cls, data: Any) -> "Ballot":
        return cls(int(data[0]), str(data[1]))
