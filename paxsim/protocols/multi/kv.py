"""The replicated key-value state machine, applied in slot order.

Operations (`Command.f`) on string values, with the absent key reading as null:

    get k          -> the value, or None when k is absent
    put k v        -> None                      (k := v)
    append k v     -> None                      (k := k + v; an absent k appends to "")
    cas k (e, n)   -> True and k := n if k == e (e None matches an absent k), else False

Exactly once: the dedup table (client -> (last req applied, its result)) is
part of the replicated state, so every replica makes the same decision.  A
command whose `(client, req)` is not newer than the client's last applied
request is not applied again: it is answered from the table (an older one,
which its client has given up waiting for, gets None).  A no-op (None) does
nothing.
"""

from __future__ import annotations

from typing import Any

from .messages import Command


class KV:
    __slots__ = ("data", "last")

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.last: dict[str, tuple[int, Any]] = {}  # client -> (req, result): the dedup table

    def answered(self, cmd: Command) -> tuple[bool, Any]:
        """(True, result) when `cmd` was already applied (or superseded), else (False, None)."""
        last = self.last.get(cmd.client)
        if last is None or cmd.req > last[0]:
            return False, None
        return True, (last[1] if cmd.req == last[0] else None)

    def apply(self, cmd: Command | None, dedup: bool = True) -> tuple[bool, Any]:
        """Apply `cmd` once: returns (applied, result); applied is False for a
        no-op and for a command answered from the dedup table."""
        if cmd is None:
            return False, None
        if dedup:
            done, result = self.answered(cmd)
            if done:
                return False, result
        result = self.run(cmd)
        self.last[cmd.client] = (cmd.req, result)
        return True, result

    def run(self, cmd: Command) -> Any:
        data, key, f = self.data, cmd.key, cmd.f
        if f == "get":
            return data.get(key)
        if f == "put":
            data[key] = cmd.value
            return None
        if f == "append":
            data[key] = data.get(key, "") + cmd.value
            return None
        if f == "cas":
            expected, new = cmd.value
            if data.get(key) == expected:
                data[key] = new
                return True
            return False
        raise ValueError(f"unknown operation {f!r}")
