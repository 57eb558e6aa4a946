"""Verdicts as text and JSON (what `paxsim linearizable` prints)."""

from __future__ import annotations

from typing import Any

from .check import LINEARIZABLE, UNKNOWN, VIOLATION, Verdict
from .history import show_value


def _key_name(model_keyed: bool, key: Any) -> str:
    return f"key {show_value(key)}" if model_keyed else "the register"


def verdict_text(v: Verdict, time_limit: float | None = None) -> str:
    h = v.history
    unknown_ops = sum(1 for op in h.ops if not op.known)
    fmt = h.format + (" (guessed)" if any("guessed" in n for n in h.notes) else "")
    title = {LINEARIZABLE: "linearizable", VIOLATION: "NOT LINEARIZABLE", UNKNOWN: "UNKNOWN"}[v.result]
    if v.settled:
        title += f" (by {v.witness.source}, checked)"
    lines = [f"{h.source}: {title}",
             f"  history:   {fmt}, model {h.model.name}; {len(h.ops)} operations ({unknown_ops} of unknown outcome"
             f"{f', {h.left_out} without effect left out' if h.left_out else ''}), {v.keys} "
             f"key{'s' if v.keys != 1 else ''}; checked in {v.seconds:.2f} s"]
    if v.result == UNKNOWN or v.unknown:
        limit = f" ({time_limit:g} s)" if time_limit is not None else ""
        names = ", ".join(_key_name(h.model.keyed, k) for k in v.unknown)
        lines.append(f"  undecided: the time limit{limit} ran out on {names}: no verdict for "
                     f"{'them' if len(v.unknown) > 1 else 'it'}")
    if v.settled:
        names = ", ".join(_key_name(h.model.keyed, k) for k in v.settled)
        lines.append(f"  witness:   the search left {names} undecided; {v.witness.source} is a linearization "
                     f"(every completed operation once, real-time order kept, each result as the model gives)")
    elif v.result == UNKNOWN and v.witness is not None and not v.witness.valid:
        lines.append(f"  witness:   {v.witness.source} is no linearization: {v.witness.reason}")
    e = v.explanation
    if e is not None:
        where = _key_name(h.model.keyed, e.key)
        others = e.prefix_ops - len(e.core)
        lines.append(f"  violation: these {len(e.core)} operations on {where} cannot be ordered, whatever the "
                     f"{others} others invoked by then did (any result or none, each within its interval; "
                     f"those of unknown outcome at any time after their invoke):")
        rows = [("client", "operation", "invoke", "complete", "")]
        for op in e.core:
            mark = "<- first that cannot be placed" if op.id == e.first.id else ""
            rows.append((op.client, op.describe(), op.invoked.text(),
                         op.completed.text() if op.completed else "-", mark))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append(("    " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4]).rstrip())
        shorter = ("cut at the completion before it, they can" if e.shorter_ok else
                   "whether a shorter prefix can is undecided (time limit)")
        lines.append(f"  why:       the {e.prefix_ops} operations invoked before {e.first.completed.text()} (of "
                     f"{e.key_ops} on {where}) cannot be linearized; {shorter}"
                     f"{'' if e.minimal else ' (not fully minimised: time limit)'}")
        if e.other_keys:
            lines.append("  also:      not linearizable on " + ", ".join(_key_name(h.model.keyed, k)
                                                                        for k in e.other_keys))
    return "\n".join(lines)


def verdict_json(v: Verdict) -> dict:
    h = v.history
    e = v.explanation
    return {
        "file": h.source, "format": h.format, "model": h.model.name, "verdict": v.result,
        "linearizable": {LINEARIZABLE: True, VIOLATION: False, UNKNOWN: None}[v.result],
        "operations": len(h.ops), "unknown_outcome": sum(1 for op in h.ops if not op.known),
        "left_out": h.left_out, "keys": v.keys, "failing_keys": v.failing, "undecided_keys": v.unknown,
        "seconds": round(v.seconds, 4), "notes": h.notes,
        "decided_by": v.decided_by if v.result != UNKNOWN else None, "settled_keys": v.settled,
        "witness": None if v.witness is None else v.witness.to_json(),
        "violation": None if e is None else {
            "key": e.key, "operations": [op.to_json() for op in e.core],
            "first_unplaceable": e.core.index(next(op for op in e.core if op.id == e.first.id)),
            "prefix_operations": e.prefix_ops, "key_operations": e.key_ops, "minimal": e.minimal,
        },
    }
