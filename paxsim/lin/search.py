"""Wing & Gong's search with Lowe's memoisation, for one key's operations.

The operations whose outcome is known form a doubly linked list of call and
return entries in the order they happened.  The search walks it from the
front: at a call entry it tries to linearize that operation now (the model
must accept its result in the current state); if that gives a (linearized
set, state) pair never seen before, the operation is lifted out of the
list, pushed on a stack, and the walk restarts from the front.  Reaching a
return entry means the operation it closes must be linearized before
anything later.  The history is linearizable when the list empties; not,
when a return is reached with no choice left and nothing to pop.

Memoisation (Lowe): the linearized set is a bitset (a Python int) and the
model state a hashable value, so every configuration is explored once.

Unknown outcomes (`ret is None`: info, timed out, never completed) accept
any result and may take effect at any point after their invoke, or never
("never" is the same as "after everything else": nothing observes it).
They are kept in a second list, by invoke, and tried only when the walk
reaches a return entry, before backtracking: those invoked before that
return are the candidates.  Trying known operations first finds a
linearization quickly when there is one, and once every known operation is
placed the rest can always follow.  Unknown operations with the same step
and argument are interchangeable, and the earlier invoked is available
whenever the later is, so twins are linearized only in invoke order (a
symmetry reduction that leaves the answer unchanged).  And an unknown
operation is never placed where it would change nothing (a cas whose
compare fails, a write of the current value): that is the same as placing
it last, and spending it early only hides it from where it is needed.

Optional operations (`op.optional`, used only to explain a violation) may
also have had no effect: when the walk reaches the return of one not yet
linearized, that is the last choice tried before backtracking.

A deadline (a time.monotonic() value) makes the search give up with None:
"unknown", never a guess.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from .history import Op
from .models import ANY, APPEND, READ, WRITE, step

_CHECK_EVERY = 2048
_MAIN, _UNKNOWN, _SKIP = 0, 1, 2


class Stats:
    """What the last search did (for benchmarks and tests)."""

    __slots__ = ("configurations",)

    def __init__(self) -> None:
        self.configurations = 0


def linearizable(ops: Sequence[Op], initial: Any, deadline: float | None = None,
                 stats: Stats | None = None) -> bool | None:
    """True if `ops` (one key's, in invoke order) have a linearization from
    `initial`, False if not, None if `deadline` passed first."""
    n = len(ops)
    # main list: entries i (call of known op i) and n + i (its return); head 2n, tail 2n + 1
    known = [i for i in range(n) if ops[i].ret is not None]
    if not known:
        return True
    pos = [0] * (2 * n)
    for i in known:
        pos[i], pos[n + i] = ops[i].call, ops[i].ret
    head, tail = 2 * n, 2 * n + 1
    nxt = [0] * (2 * n + 2)
    prv = [0] * (2 * n + 2)
    chain = [head, *sorted([*known, *(n + i for i in known)], key=pos.__getitem__), tail]
    for a, b in zip(chain, chain[1:]):
        nxt[a], prv[b] = b, a
    # unknown list, by invoke: head n, tail n + 1
    uhead, utail = n, n + 1
    unxt = [0] * (n + 2)
    uprv = [0] * (n + 2)
    uchain = [uhead, *(i for i in range(n) if ops[i].ret is None), utail]
    for a, b in zip(uchain, uchain[1:]):
        unxt[a], uprv[b] = b, a
    call = [op.call for op in ops]
    twin = [-1] * n
    last_of: dict[tuple, int] = {}
    for i in uchain[1:-1]:
        sig = (ops[i].kind, ops[i].arg)
        twin[i] = last_of.get(sig, -1)
        last_of[sig] = i

    kinds = [op.kind for op in ops]
    args = [op.arg for op in ops]
    results = [op.result for op in ops]
    optional = [op.optional for op in ops]
    bits = [1 << i for i in range(n)]

    state = initial
    linearized = 0
    stack: list[tuple[int, Any, int, int]] = []   # (op, state before, how, return entry)
    seen: set[tuple[int, Any]] = set()
    seen_add = seen.add
    entry = nxt[head]
    scanning_main = True
    ret_entry = u = 0
    steps = 0
    answer: bool | None = None
    while True:
        steps += 1
        if deadline is not None and steps % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            break
        if scanning_main:
            if entry < n:
                # try to linearize the known operation `entry` now (models.step, inlined)
                kind = kinds[entry]
                result = results[entry]
                if kind == READ:
                    ok = result is ANY or result == state
                    new = state
                elif kind == WRITE:
                    ok, new = True, args[entry]
                elif kind == APPEND:
                    ok, new = True, (state or "") + args[entry]
                else:
                    expected, value = args[entry]
                    swapped = state == expected
                    ok = result is ANY or result == swapped
                    new = value if swapped else state
                if ok:
                    lin = linearized | bits[entry]
                    config = (lin, new)
                    if config not in seen:
                        seen_add(config)
                        stack.append((entry, state, _MAIN, 0))
                        state, linearized = new, lin
                        c, r = entry, entry + n
                        p, q = prv[c], nxt[c]
                        nxt[p], prv[q] = q, p
                        p, q = prv[r], nxt[r]
                        nxt[p], prv[q] = q, p
                        if nxt[head] == tail:
                            answer = True
                            break
                        entry = nxt[head]
                        continue
                entry = nxt[entry]
                continue
            # a return entry: every unknown operation invoked before it is a candidate
            ret_entry, u, scanning_main = entry, unxt[uhead], False
            continue
        bound = pos[ret_entry]
        pushed = False
        while u != utail and call[u] < bound:
            t = twin[u]
            if t < 0 or linearized & bits[t]:
                new = step(kinds[u], state, args[u], ANY)  # always legal: any result
                if new == state:
                    # no effect here (a cas that does not match, a write of the
                    # current value): the same as taking effect last, or never
                    u = unxt[u]
                    continue
                lin = linearized | bits[u]
                config = (lin, new)
                if config not in seen:
                    seen_add(config)
                    stack.append((u, state, _UNKNOWN, ret_entry))
                    state, linearized = new, lin
                    p, q = uprv[u], unxt[u]
                    unxt[p], uprv[q] = q, p
                    pushed = True
                    break
            u = unxt[u]
        if pushed:
            entry, scanning_main = nxt[head], True
            continue
        i = ret_entry - n
        if optional[i]:
            # last choice at this return: the optional operation had no effect
            lin = linearized | bits[i]
            config = (lin, state)
            if config not in seen:
                seen_add(config)
                stack.append((i, state, _SKIP, ret_entry))
                linearized = lin
                c, r = i, ret_entry
                p, q = prv[c], nxt[c]
                nxt[p], prv[q] = q, p
                p, q = prv[r], nxt[r]
                nxt[p], prv[q] = q, p
                if nxt[head] == tail:
                    answer = True
                    break
                entry, scanning_main = nxt[head], True
                continue
        # backtrack: undo the last choice and try the next one after it
        while True:
            if not stack:
                answer = False
                break
            i, state, how, ret_entry = stack.pop()
            linearized ^= bits[i]
            if how == _UNKNOWN:
                p, q = uprv[i], unxt[i]
                unxt[p] = uprv[q] = i
                u, scanning_main = unxt[i], False
                break
            # put the known operation back (reverse order of the lift)
            c, r = i, i + n
            p, q = prv[r], nxt[r]
            nxt[p] = prv[q] = r
            p, q = prv[c], nxt[c]
            nxt[p] = prv[q] = c
            if how == _MAIN:
                entry, scanning_main = nxt[i], True
                break
            # _SKIP was the last choice at its return: keep backtracking
        if answer is False:
            break
    if stats is not None:
        stats.configurations = len(seen)
    return answer
