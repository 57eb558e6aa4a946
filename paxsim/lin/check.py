"""Judging a history: split by key, search each key, explain a violation.

P-compositionality (Herlihy & Wing; Horn & Kroening): a history of a map is
linearizable iff each key's sub-history is, so each key is searched on its
own.  The register is one key.

Explaining a violation, on the first key (in order of first invoke) that
is not linearizable:

1. The shortest failing prefix: the history cut just after some completion,
   operations still open at the cut becoming unknown.  Cutting can only
   remove constraints, so the failing prefixes are exactly those from some
   completion on; a binary search finds the first.  The operation whose
   completion ends it is the first one that cannot be placed.
2. Minimising: one by one, each other operation of that prefix is relaxed
   (it may take effect at any point between its invoke and its completion,
   with any result, or not at all); if the prefix still cannot be
   linearized, it stays relaxed.  What remains is the core: operations that
   cannot be ordered, whatever the other operations did within their own
   intervals.  Relaxing only adds possibilities, so the core is a sound
   witness (its operations alone, every other removed, cannot be ordered
   either), and 1-minimal: relaxing any one more of its operations would
   let the prefix be linearized.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

from .history import History, Op
from .models import ANY, READ
from .search import linearizable
from .witness import Witness

LINEARIZABLE, VIOLATION, UNKNOWN = "linearizable", "not linearizable", "unknown"

# With a valid witness the history is known linearizable: the search only
# gets this long (seconds) to decide on its own before the witness settles
# the keys it leaves undecided.
WITNESS_SEARCH_BUDGET = 1.0


@dataclass
class Explanation:
    key: Any
    core: list[Op]            # known operations that cannot be ordered, in invoke order
    first: Op                 # the first operation that cannot be placed (in core)
    prefix_ops: int           # operations of the key invoked before that completion
    key_ops: int              # operations on the key
    minimal: bool             # False if the time limit stopped the minimisation
    shorter_ok: bool = True   # the prefix cut at the completion before `first` was shown linearizable
    other_keys: list[Any] = field(default_factory=list)  # further keys found not linearizable


@dataclass
class Verdict:
    history: History
    result: str                        # LINEARIZABLE, VIOLATION or UNKNOWN
    keys: int
    failing: list[Any]                 # keys not linearizable
    unknown: list[Any]                 # keys the time limit left undecided
    seconds: float
    explanation: Explanation | None = None
    witness: Witness | None = None     # the order offered as a linearization, checked
    settled: list[Any] = field(default_factory=list)  # keys the search left undecided, settled by the witness

    @property
    def decided_by(self) -> str:
        """"search", or "witness" when a valid witness settled keys the search left undecided."""
        return "witness" if self.settled else "search"

    @property
    def ok(self) -> bool:
        return self.result == LINEARIZABLE


def check(history: History, time_limit: float | None = None, explain: bool = True,
          explain_limit: float | None = 30.0, witness: Witness | None = None) -> Verdict:
    """Judge `history`.  `time_limit` (seconds) bounds the search; a key it
    leaves undecided makes the verdict UNKNOWN unless another key fails.
    `explain_limit` bounds the explanation's minimisation separately.

    `witness` (see `witness.py`, already checked against `history`): if it
    is valid, the history is linearizable, so the search gets at most
    WITNESS_SEARCH_BUDGET seconds and the keys it leaves undecided are
    settled by the witness (`Verdict.settled`).  An invalid witness changes
    nothing."""
    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    search_deadline = deadline
    if witness is not None and witness.valid:
        cap = start + WITNESS_SEARCH_BUDGET
        search_deadline = cap if deadline is None else min(deadline, cap)
    groups = history.by_key()
    failing, unknown = [], []
    failing_ops: dict[Any, list[Op]] = {}
    for key, ops in groups:
        answer = linearizable(ops, history.initial, search_deadline)
        if answer is False:
            failing.append(key)
            failing_ops[key] = ops
        elif answer is None:
            unknown.append(key)
    settled: list[Any] = []
    if unknown and not failing and witness is not None and witness.valid:
        settled, unknown = unknown, []
    result = VIOLATION if failing else (UNKNOWN if unknown else LINEARIZABLE)
    now = time.monotonic()
    verdict = Verdict(history, result, len(groups), failing, unknown, now - start, witness=witness,
                      settled=settled)
    if failing and explain:
        key = failing[0]
        # the explanation shares the file's time limit (it does not get a second one)
        ends = [t for t in (deadline, None if explain_limit is None else now + explain_limit) if t is not None]
        verdict.explanation = explain_key(key, failing_ops[key], history.initial, min(ends) if ends else None)
        verdict.explanation.other_keys = failing[1:]
    return verdict


def _prefix(ops: list[Op], cut: int, relaxed: set[int] = frozenset()) -> list[Op]:
    """The key's history cut just after position `cut`: operations invoked
    later are left out, those still open become unknown, those in `relaxed`
    optional with any result, and reads whose result does not count (which
    change nothing) are left out."""
    out = []
    for op in ops:
        if op.call > cut:
            break
        if op.ret is not None and op.ret > cut:
            op = op.unknown()
        elif op.id in relaxed:
            op = op.relaxed()
        if op.kind == READ and op.result is ANY:
            continue
        out.append(op)
    return out


def explain_key(key: Any, ops: list[Op], initial: Any, deadline: float | None) -> Explanation:
    """A small set of `ops` (one key's, known not linearizable) that cannot be ordered."""
    completions = sorted(op.ret for op in ops if op.ret is not None)
    # ops are in invoke order (call positions increase)
    lo, hi = -1, len(completions) - 1           # prefix(completions[hi]) is known to fail
    minimal = True
    shorter_ok = True                           # prefix(completions[lo]) is linearizable (lo -1: empty)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        answer = linearizable(_prefix(ops, completions[mid]), initial, deadline)
        if answer is False:
            hi = mid
        else:
            lo = mid
            shorter_ok = answer is True
            if answer is None:
                minimal = False
    cut = completions[hi]
    first = next(op for op in ops if op.ret == cut)
    prefix = _prefix(ops, cut)
    candidates = [op.id for op in prefix if op.ret is not None and op.id != first.id]
    # reads first: relaxing one removes it, which only makes later searches smaller
    kind_of = {op.id: op.kind for op in prefix}
    candidates.sort(key=lambda i: (kind_of[i] != READ, i))

    def still_fails(relax: set[int]) -> bool:
        nonlocal minimal
        answer = linearizable(_prefix(ops, cut, relax), initial, deadline)
        if answer is None:
            minimal = False
        return answer is False

    # the longest run of candidates that can all be relaxed at once (relaxing
    # fewer can only keep it failing, so a binary search finds it) ...
    lo, hi = 0, len(candidates)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if still_fails(set(candidates[:mid])):
            lo = mid
        else:
            hi = mid - 1
    relaxed: set[int] = set(candidates[:lo])
    # ... then each remaining one on its own
    for i in candidates[lo + 1:]:
        if deadline is not None and time.monotonic() > deadline:
            minimal = False
            break
        if still_fails(relaxed | {i}):
            relaxed.add(i)
    core = [op for op in prefix if op.ret is not None and op.id not in relaxed]
    prefix_ops = bisect.bisect_right([op.call for op in ops], cut)
    return Explanation(key, core, first, prefix_ops, len(ops), minimal, shorter_ok)
