"""Human and JSON summaries of a checked trace (used by the CLI and notebooks)."""

from __future__ import annotations

import shlex
from typing import Any

from .check import Verdict, evaluate_expect, fmt_ballot, fmt_value


MAX_LISTED = 12  # beyond this many nodes, summaries count instead of listing


def _learned_compact(nodes, verdict: Verdict) -> str:
    times = sorted((t, n) for n, (_, t, _) in verdict.decisions.items())
    text = f"{len(times)}/{len(nodes)} nodes"
    if times:
        median = times[len(times) // 2][0]
        text += f", first {times[0][1]} {times[0][0]:.1f}, median {median:.1f}, last {times[-1][1]} {times[-1][0]:.1f} ms"
    other = sorted(n for n, (v, _, _) in verdict.decisions.items() if v != verdict.value)
    if other:
        text += f"; learned another value: {', '.join(other)}"
    if verdict.down:
        text += f"; down: {', '.join(verdict.down)}"
    return text


def reproduce_command(scenario_path: str, seed: int, sets=(), bugs=()) -> str:
    extra = "".join(f" --bug {b}" for b in bugs) + "".join(f" --set {shlex.quote(s)}" for s in sets)
    return f"paxsim run {shlex.quote(str(scenario_path))} --seed {seed}{extra}"


def plural(count: int, word: str) -> str:
    """'1 node', '2 nodes'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def status(verdict: Verdict) -> str:
    """What the verdict line says, in one word: "violation" (safety broken),
    "incomplete" (no violation in a trace cut short: never "ok", the rest of
    the run is unknown), "unknown" (no violation found, but a client
    history's linearizability is undecided: its search hit the time limit)
    or "ok".  `Verdict.ok` only says there is no violation."""
    if verdict.violations:
        return "violation"
    if verdict.incomplete:
        return "incomplete"
    w = verdict.workload
    if w is not None and w.get("linearizability") not in (None, "linearizable"):
        return "unknown"
    return "ok"


def _unmet(header: dict, verdict: Verdict) -> list[str] | None:
    """The scenario's unmet expectations; None when not judged: a trace cut
    short without a violation (what the run did after the cut is unknown)."""
    if verdict.incomplete and not verdict.violations:
        return None
    expect = (header.get("scenario") or {}).get("expect") or {}
    return evaluate_expect(verdict, expect, wall_clock=header.get("clock") == "wall")


def summary_json(header: dict, verdict: Verdict, reproduce: str) -> dict:
    scenario = header.get("scenario") or {}
    unmet = _unmet(header, verdict)
    out: dict[str, Any] = {
        "status": status(verdict),
        "scenario": scenario.get("name"),
        "seed": header.get("seed"),
        "value": verdict.value,
        "decided": verdict.decided,
        "last_decide_t": verdict.last_decide_t,
        "messages": verdict.messages,
        "verdict": verdict.to_json(),
        "expect": {"met": None, "unmet": []} if unmet is None else {"met": not unmet, "unmet": unmet},
        "reproduce": reproduce,
    }
    live = verdict.liveness  # None when decided
    out["liveness"] = live.to_json() if live is not None else None
    budget = verdict.budget
    if budget is not None:
        out["budget"] = budget
    if verdict.workload is not None:
        out["workload"] = verdict.workload
    return out


def _ms(v) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def workload_text(header: dict, verdict: Verdict, reproduce: str) -> str:
    """The summary of a run with clients (multi-paxos): operations, ops/s,
    latency, log safety and linearizability."""
    scenario = header.get("scenario") or {}
    w = verdict.workload
    nodes = scenario.get("nodes") or []
    clock = "ms at most, wall clock" if header.get("clock") == "wall" else "ms simulated"
    wl = scenario.get("workload") or {}
    lines = [f"{scenario.get('name') or 'scenario'} (seed {header.get('seed')}): "
             f"{(scenario.get('protocol') or {}).get('kind')}, {plural(len(nodes), 'node')}, "
             f"{wl.get('clients', '?')} client{'' if wl.get('clients') == 1 else 's'} "
             f"({wl.get('loop', '?')} loop), {scenario.get('duration', 0):g} {clock}"]
    if scenario.get("description"):
        lines.append(f"  {scenario['description']}")
    ops_s = "-" if w["ops_per_s"] is None else f"{w['ops_per_s']:.1f}"
    lines.append(f"ops:       {w['ok']} ok of {w['invoked']} invoked ({w['info']} unknown outcome, {w['fail']} failed, "
                 f"{w['open']} open at the end" + (f", {w['skipped']} arrivals skipped" if w.get("skipped") else "")
                 + f"); {ops_s} ops/s simulated")
    lat = w["latency"]
    lines.append(f"latency:   p50 {_ms(lat['p50'])}, p99 {_ms(lat['p99'])}, max {_ms(lat['max'])} (completed ok)")
    m = verdict.messages or {}
    lost = sum((m.get("dropped") or {}).values())
    if verdict.incomplete:
        lines.append("messages:  unknown (the trace has no 'end' event)")
    else:
        lines.append(f"messages:  {m.get('sent', 0)} sent, {m.get('delivered', 0)} delivered, {lost} lost, "
                     f"{m.get('duplicated', 0)} duplicated")
    properties = ("agreement", "divergence", "order", "exactly-once", "fail-stop")
    if w["log_safety"] == "holds":
        lines.append(f"log:       safe ({', '.join(properties)})")
    else:  # name what broke: the four together read as if all four had
        broken = {v.kind for v in verdict.violations}
        held = [p for p in properties if p not in broken]
        lines.append(f"log:       VIOLATED ({', '.join(p for p in properties if p in broken)})"
                     + (f"; holds: {', '.join(held)}" if held else ""))
    how = "by the log's order, checked; " if w.get("linearizability_by") == "log order" else ""
    lines.append(f"history:   {'linearizable' if w['linearizability'] == 'linearizable' else w['linearizability'].upper()}"
                 f" ({how}model kv)")
    if verdict.violations:
        lines.append(f"verdict:   VIOLATION ({len(verdict.violations)})"
                     + (f" in an INCOMPLETE trace ({verdict.incomplete})" if verdict.incomplete else ""))
        for v in verdict.violations:
            lines.extend("  " + line for line in v.explain().splitlines())
    elif verdict.incomplete:
        lines.append(f"verdict:   INCOMPLETE trace ({verdict.incomplete}): no violation in the events it has")
    elif w["linearizability"] != "linearizable":
        lines.append("verdict:   UNKNOWN: no violation found, but linearizability is undecided "
                     f"({w['linearizability']}; exit status 3)")
    else:
        lines.append("verdict:   OK")
    return _closing(lines, verdict, header, reproduce)


_DROP_ORDER = {"loss": 0, "partition": 1, "cut": 2, "crashed": 3}


def summary_text(header: dict, verdict: Verdict, reproduce: str) -> str:
    if verdict.workload is not None:
        return workload_text(header, verdict, reproduce)
    scenario = header.get("scenario") or {}
    nodes = scenario.get("nodes") or []
    lines = []
    title = scenario.get("name") or "scenario"
    clock = "ms at most, wall clock" if header.get("clock") == "wall" else "ms simulated"
    lines.append(f"{title} (seed {header.get('seed')}): {plural(len(nodes), 'node')}, "
                 f"{plural(len(scenario.get('proposers') or []), 'proposer')}, {scenario.get('duration', 0):g} {clock}")
    if scenario.get("description"):
        lines.append(f"  {scenario['description']}")
    if verdict.chosen:
        c = verdict.chosen[0]
        voters = ", ".join(c.voters) if len(c.voters) <= MAX_LISTED else f"{len(c.voters)} acceptors"
        lines.append(f"chosen:    {fmt_value(c.value)} at ballot {fmt_ballot(c.ballot)}, t={c.t:.3f} ms "
                     f"(votes from {voters})")
    else:
        lines.append("chosen:    nothing (no quorum of acceptors voted for one ballot)")
    if len(nodes) > MAX_LISTED:
        lines.append("learned:   " + _learned_compact(nodes, verdict))
    learned = []
    for n in (nodes if len(nodes) <= MAX_LISTED else []):
        if n in verdict.decisions:
            v, t, _ = verdict.decisions[n]
            learned.append(f"{n} {t:.1f}" + ("" if v == verdict.value else f" ({fmt_value(v)})"))
        elif n in verdict.down:
            learned.append(f"{n} down")
        else:
            learned.append(f"{n} -")
    if learned:
        lines.append("learned:   " + ", ".join(learned) + " (ms)")
    m = verdict.messages or {}
    dropped = m.get("dropped") or {}
    lost = sum(dropped.values())
    # In one order whether the counts come from a run (the simulator's order) or a trace file (keys sorted).
    why = ", ".join(f"{k} {dropped[k]}" for k in sorted(dropped, key=lambda k: (_DROP_ORDER.get(k, 4), k)) if dropped[k])
    if verdict.incomplete:  # no `end` event: no totals, and no verdict on what the trace does not show
        lines.append("messages:  unknown (the trace has no 'end' event)")
    else:
        lines.append(f"messages:  {m.get('sent', 0)} sent, {m.get('delivered', 0)} delivered, {lost} lost"
                     + (f" ({why})" if why else "") + f", {m.get('duplicated', 0)} duplicated"
                     + " (counting a node's messages to itself)")
    if verdict.incomplete and verdict.ok:
        lines.append(f"verdict:   INCOMPLETE trace ({verdict.incomplete}): no violation in the events it has")
    elif verdict.ok:
        if verdict.decided:
            lines.append(f"verdict:   OK: every learner agrees on {fmt_value(verdict.value)}")
        elif verdict.decisions:
            lines.append(f"verdict:   OK (safe); undecided: {', '.join(verdict.undecided)}")
        else:
            lines.append("verdict:   OK (safe); undecided: no learner learned a value")
    else:
        lines.append(f"verdict:   VIOLATION ({len(verdict.violations)})"
                     + (f" in an INCOMPLETE trace ({verdict.incomplete})" if verdict.incomplete else ""))
        for v in verdict.violations:
            lines.extend("  " + line for line in v.explain().splitlines())
    live = verdict.liveness if not verdict.incomplete else None
    if live is not None:
        lines.append("liveness:  " + ("SUSPICIOUS: " + live.explain()[len("suspicious: "):] if live.suspicious
                                      else live.explain()))
        lines.extend(f"  - {r}" for r in live.reasons)
    budget = verdict.budget
    if budget is not None:
        limits = ", ".join(f"{k} {v:g}" for k, v in budget["budget"].items())
        lines.append(f"budget:    EXCEEDED ({'; '.join(budget['exceeded'])}; budget: {limits})" if budget["exceeded"]
                     else f"budget:    within ({limits})")
    return _closing(lines, verdict, header, reproduce)


def _closing(lines: list[str], verdict, header: dict, reproduce: str) -> str:
    """The lines every summary ends with: the scenario's expectations, then how to reproduce."""
    unmet = _unmet(header, verdict)
    if unmet is None:
        lines.append("expect:    not judged (the trace is incomplete)")
    elif unmet:
        lines.append("expect:    NOT MET")
        lines.extend(f"  - {u}" for u in unmet)
    else:
        lines.append("expect:    met")
    lines.append(f"reproduce: {reproduce}")
    return "\n".join(lines)
