"""Safety checks over a trace.  Reads only trace events (in memory or from a
file), so it judges any trace, from any runtime or version.

Definitions (single-decree Paxos):

* A value v is *chosen at ballot b* when a phase-2 quorum of distinct
  acceptors have `vote` events for (b, v).  This is computed from the votes,
  independently of what any learner claims.
* agreement: at most one value is ever chosen, and no two learners decide
  different values.
* validity: a chosen or decided value is one that some proposer was given.
* integrity: a learner decides at most once per life of its storage, never
  changes its mind, and decides only a value already chosen.

A run in which nobody decides is not a violation: it is reported as
undecided, and only fails a scenario's `expect: {decided: true}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .trace import msg_dict


def fmt_ballot(b) -> str:
    return f"({b[0]}, {b[1]})"


def fmt_value(v: Any) -> str:
    return repr(v)


def _nodes(names) -> str:
    return ", ".join(names)


def _seqs(seqs) -> str:
    return ", ".join(str(s) for s in seqs)


@dataclass(frozen=True)
class Violation:
    kind: str  # agreement | validity | integrity
    message: str  # one line
    details: tuple[str, ...] = ()
    seqs: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return {"kind": self.kind, "message": self.message, "details": list(self.details), "seqs": list(self.seqs)}

    def explain(self) -> str:
        return "\n".join([f"{self.kind}: {self.message}", *(f"  - {d}" for d in self.details)])


@dataclass(frozen=True)
class Chosen:
    ballot: tuple
    value: Any
    voters: tuple[str, ...]
    vote_seqs: tuple[int, ...]
    seq: int  # the vote that completed the quorum
    t: float


@dataclass
class Verdict:
    violations: list[Violation]
    chosen: list[Chosen]  # every (ballot, value) a quorum voted for, in order of seq
    decisions: dict[str, tuple[Any, float, int]]  # node -> (value, t, seq), first decision
    undecided: list[str]  # nodes up at the end that do not know the decision
    down: list[str]  # nodes down at the end
    end_t: float | None
    messages: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def value(self) -> Any:
        return self.chosen[0].value if self.chosen else None

    @property
    def decided(self) -> bool:
        """Every node up at the end knows the decision."""
        return bool(self.decisions) and not self.undecided

    @property
    def last_decide_t(self) -> float | None:
        return max((t for _, t, _ in self.decisions.values()), default=None)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "violations": [v.to_json() for v in self.violations],
            "chosen": [
                {"ballot": list(c.ballot), "value": c.value, "voters": list(c.voters), "seq": c.seq, "t": c.t}
                for c in self.chosen
            ],
            "decisions": {n: {"value": v, "t": t, "seq": s} for n, (v, t, s) in self.decisions.items()},
            "undecided": self.undecided,
            "down": self.down,
        }


def _quorum_sizes(header: dict) -> tuple[int | None, list[str]]:
    scenario = header.get("scenario") or {}
    nodes = scenario.get("nodes") or []
    quorum = (scenario.get("protocol") or {}).get("quorum") or {}
    phase2 = quorum.get("phase2") if isinstance(quorum, dict) else None
    if phase2 is None and nodes:
        phase2 = len(nodes) // 2 + 1
    return phase2, list(nodes)


def check(events: list[dict]) -> Verdict:
    """Judge a trace.  `events[0]` should be the header (it gives the nodes,
    the phase-2 quorum size and the proposed values)."""
    header = events[0] if events and events[0].get("kind") == "header" else {}
    phase2, nodes = _quorum_sizes(header)
    scenario = header.get("scenario") or {}
    proposed_values = [p.get("value") for p in scenario.get("proposers") or []]

    violations: list[Violation] = []
    votes: dict[tuple, dict[str, int]] = {}  # (ballot, value) -> acceptor -> seq of first vote
    chosen: list[Chosen] = []
    chosen_keys: set = set()
    promises: dict[tuple, int] = {}  # (node, ballot) -> seq
    promise_sends: list[dict] = []
    proposes: dict[tuple, dict] = {}  # ballot -> first propose event
    restarts: dict[str, list[dict]] = {}
    decisions: dict[str, tuple[Any, float, int]] = {}
    knows: dict[str, Any] = {}  # node -> value decided in its current storage life
    up = {n: True for n in nodes}
    end = None

    for ev in events:
        kind = ev["kind"]
        if kind == "deliver" or kind == "drop" or kind == "duplicate":
            continue  # the bulk of a trace; nothing to judge
        if kind == "vote":
            ballot = tuple(ev["ballot"])
            key = (ballot, ev["value"])
            voters = votes.setdefault(key, {})
            if ev["node"] not in voters:
                voters[ev["node"]] = ev["seq"]
                if phase2 is not None and len(voters) >= phase2 and key not in chosen_keys:
                    chosen_keys.add(key)
                    chosen.append(Chosen(ballot, ev["value"], tuple(voters), tuple(voters.values()), ev["seq"], ev["t"]))
        elif kind == "send":
            msg = ev["msg"]
            if (msg.get("type") if isinstance(msg, dict) else msg.type) == "promise":
                promise_sends.append(ev)  # read only to explain a violation
        elif kind == "promise":
            promises.setdefault((ev["node"], tuple(ev["ballot"])), ev["seq"])
        elif kind == "propose":
            proposes.setdefault(tuple(ev["ballot"]), ev)
        elif kind == "decide":
            violations.extend(_check_decide(ev, decisions, knows, chosen, restarts))
        elif kind == "crash":
            up[ev["node"]] = False
        elif kind == "restart":
            up[ev["node"]] = True
            restarts.setdefault(ev["node"], []).append(ev)
            if ev.get("storage") == "volatile":
                knows.pop(ev["node"], None)
        elif kind == "end":
            end = ev

    violations[:0] = _check_agreement(chosen, decisions, votes, proposes, promises, promise_sends, restarts, scenario)
    if proposed_values:
        for c in chosen:
            if c.value not in proposed_values:
                violations.append(Violation(
                    "validity",
                    f"value {fmt_value(c.value)} was chosen at {fmt_ballot(c.ballot)} but no proposer was given it "
                    f"(proposed: {', '.join(map(fmt_value, proposed_values))})",
                    seqs=(c.seq,)))
    up_names = [n for n in nodes if up.get(n)]
    return Verdict(
        violations=violations,
        chosen=chosen,
        decisions=decisions,
        undecided=[n for n in up_names if n not in knows],
        down=[n for n in nodes if not up.get(n)],
        end_t=end.get("t") if end else None,
        messages=(end or {}).get("messages", {}),
    )


def _check_decide(ev, decisions, knows, chosen, restarts) -> list[Violation]:
    node, value, seq = ev["node"], ev["value"], ev["seq"]
    out = []
    if node in knows:
        out.append(Violation(
            "integrity",
            f"{node} decided twice without losing its storage: {fmt_value(knows[node])} and then "
            f"{fmt_value(value)} (seq {seq})", seqs=(decisions[node][2], seq)))
    elif node in decisions and decisions[node][0] != value:
        first_value, _, first_seq = decisions[node]
        lost = [r["seq"] for r in restarts.get(node, []) if r["seq"] > first_seq and r.get("storage") == "volatile"]
        out.append(Violation(
            "integrity",
            f"{node} changed its mind: it decided {fmt_value(first_value)} (seq {first_seq}) and then "
            f"{fmt_value(value)} (seq {seq})",
            details=(f"{node} restarted with volatile storage at seq {_seqs(lost)} and forgot its decision",) if lost else (),
            seqs=(first_seq, seq)))
    if not any(c.value == value for c in chosen):
        out.append(Violation(
            "integrity",
            f"{node} decided {fmt_value(value)} (seq {seq}) but no quorum of acceptors had voted for it",
            seqs=(seq,)))
    decisions.setdefault(node, (value, ev["t"], seq))
    knows[node] = value
    return out


def _check_agreement(chosen, decisions, votes, proposes, promises, promise_sends, restarts, scenario) -> list[Violation]:
    out: list[Violation] = []
    if chosen:
        first = chosen[0]
        other = next((c for c in chosen if c.value != first.value), None)
        if other is not None:
            promise_msgs: dict[tuple, tuple[int, Any]] = {}  # (src, ballot) -> (seq, reported accepted)
            for ev in promise_sends:
                msg = msg_dict(ev)
                promise_msgs.setdefault((ev["src"], tuple(msg["ballot"])), (ev["seq"], msg.get("accepted")))
            out.append(_explain_two_chosen(first, other, proposes, promises, promise_msgs, votes, restarts, scenario))
    by_value: dict[Any, list[str]] = {}
    for node, (value, _, _) in decisions.items():
        by_value.setdefault(value, []).append(node)
    if len(by_value) > 1:
        groups = "; ".join(f"{_nodes(ns)} decided {fmt_value(v)}" for v, ns in by_value.items())
        seqs = tuple(sorted(s for _, _, s in decisions.values()))
        out.append(Violation("agreement", f"learners disagree: {groups}", seqs=seqs))
    return out


def _explain_two_chosen(a: Chosen, b: Chosen, proposes, promises, promise_msgs, votes, restarts, scenario) -> Violation:
    low, high = sorted((a, b), key=lambda c: (tuple(c.ballot), c.seq))
    details = [
        f"{fmt_value(low.value)} was chosen at ballot {fmt_ballot(low.ballot)}: votes from {_nodes(low.voters)} "
        f"(seq {_seqs(low.vote_seqs)})",
        f"{fmt_value(high.value)} was chosen at ballot {fmt_ballot(high.ballot)}: votes from {_nodes(high.voters)} "
        f"(seq {_seqs(high.vote_seqs)})",
    ]
    seqs = [a.seq, b.seq]
    message = (f"two values chosen: {fmt_value(a.value)} at {fmt_ballot(a.ballot)} (seq {a.seq}) and "
               f"{fmt_value(b.value)} at {fmt_ballot(b.ballot)} (seq {b.seq})")
    if tuple(low.ballot) == tuple(high.ballot):
        owner = low.ballot[1]
        lost = [r["seq"] for r in restarts.get(owner, []) if r.get("storage") == "volatile"]
        details.append(
            f"both at the same ballot {fmt_ballot(low.ballot)}: proposer {owner} used one ballot for two values"
            + (f"; it restarted with volatile storage (seq {_seqs(lost)}) and forgot the rounds it had used" if lost else ""))
        return Violation("agreement", message, tuple(details), tuple(seqs))
    prop = proposes.get(tuple(high.ballot))
    if prop is None:
        details.append(f"no propose event for {fmt_ballot(high.ballot)}: the trace cannot show its phase-1 quorum")
        return Violation("agreement", message, tuple(details), tuple(seqs))
    seqs.append(prop["seq"])
    quorum = list(prop.get("quorum") or [])
    details.append(
        f"{prop['node']} proposed {fmt_value(prop['value'])} at {fmt_ballot(high.ballot)} (seq {prop['seq']}) "
        f"after promises from {_nodes(quorum) or 'an unrecorded quorum'}")
    common = [n for n in quorum if n in low.voters]
    if quorum and not common:
        q = (scenario.get("protocol") or {}).get("quorum") or {}
        details.append(
            f"that phase-1 quorum {{{_nodes(quorum)}}} does not intersect the phase-2 quorum {{{_nodes(low.voters)}}} "
            f"that chose {fmt_value(low.value)} (quorum sizes phase1 {q.get('phase1')} + phase2 {q.get('phase2')} "
            f"<= {len(scenario.get('nodes') or [])} nodes)")
    for n in common:
        vote_seq = votes[(tuple(low.ballot), low.value)][n]
        promise_seq = promises.get((n, tuple(high.ballot)))
        sent = promise_msgs.get((n, tuple(high.ballot)))
        if promise_seq is not None and promise_seq < vote_seq:
            details.append(
                f"{n} promised {fmt_ballot(high.ballot)} (seq {promise_seq}) and then voted at the lower ballot "
                f"{fmt_ballot(low.ballot)} (seq {vote_seq}): an acceptor must refuse ballots below its promise")
            seqs += [promise_seq, vote_seq]
            continue
        reported = sent[1] if sent else None
        what = "nothing" if reported is None else f"{fmt_ballot(reported['ballot'])} {fmt_value(reported['value'])}"
        line = (f"{n} voted {fmt_value(low.value)} at {fmt_ballot(low.ballot)} (seq {vote_seq}), then promised "
                f"{fmt_ballot(high.ballot)}" + (f" (seq {sent[0]})" if sent else "") + f" reporting {what}")
        if reported is None or tuple(reported["ballot"]) < tuple(low.ballot):
            lost = [r["seq"] for r in restarts.get(n, []) if r.get("storage") == "volatile"
                    and vote_seq < r["seq"] < (sent[0] if sent else 1 << 62)]
            line += f": it should have reported {fmt_ballot(low.ballot)} {fmt_value(low.value)}"
            if lost:
                line += f"; it restarted with volatile storage in between (seq {_seqs(lost)}) and lost its vote"
                seqs += lost
        else:
            line += (f": the proposer should have adopted the highest-ballot reported value, not "
                     f"{fmt_value(prop['value'])}")
        details.append(line)
        seqs += [vote_seq] + ([sent[0]] if sent else [])
    return Violation("agreement", message, tuple(details), tuple(sorted(set(seqs))))


def evaluate_expect(verdict: Verdict, expect: dict) -> list[str]:
    """Unmet expectations of a scenario's normalized `expect` block, as lines."""
    unmet = []
    wanted = expect.get("violates")
    if wanted and not any(v.kind == wanted for v in verdict.violations):
        unmet.append(f"violates: expected a violation of {wanted}, found none")
    if verdict.violations and expect.get("safety", "holds") == "holds":
        kinds = sorted({v.kind for v in verdict.violations})
        unmet.append(f"safety: expected to hold, but {', '.join(kinds)} was violated")
    if expect.get("decided"):
        if not verdict.decisions:
            unmet.append("decided: expected every learner that is up to learn, but nobody decided")
        elif verdict.undecided:
            unmet.append(f"decided: expected every learner that is up to learn, but {_nodes(verdict.undecided)} did not")
    within = expect.get("within")
    if within is not None and verdict.decisions:
        last = verdict.last_decide_t
        if last is not None and last > within:
            unmet.append(f"within: the last learner learned at {last:g} ms, after the bound of {within:g} ms")
    return unmet
