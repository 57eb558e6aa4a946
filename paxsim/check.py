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

And the rules these rest on, each a finding of its own (after the above, so
a run's first violation stays the property it broke):

* acceptor: an acceptor's promise (raised by promises and votes) never goes
  backwards within one life of its storage, and it never votes below it.
* fail-stop: a node that is down promises, votes, proposes and decides
  nothing; it is not crashed while down or restarted while up.

Events are judged in `seq` order.  A trace without its `end` event is
judged on what it has and marked incomplete (`Verdict.incomplete`).

A run in which nobody decides is not a violation: it is reported as
undecided, and only fails a scenario's `expect: {decided: true}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
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
    kind: str  # agreement | validity | integrity | acceptor | fail-stop
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
    incomplete: str | None = None  # why the trace is not complete (no `end` event), else None
    events: list | None = field(default=None, repr=False, compare=False)  # what was judged, for `liveness`

    @property
    def liveness(self):
        """For a run that is not decided, whether the protocol's liveness
        assumptions held long enough (`paxsim.liveness.Liveness`); None for a
        decided run.  Computed on first use: the hot path never pays for it."""
        if self.decided or self.events is None:
            return None
        if "_liveness" not in self.__dict__:
            from .liveness import assess

            self.__dict__["_liveness"] = assess(self.events, self.decisions, self.undecided, self.end_t)
        return self.__dict__["_liveness"]

    @property
    def budget(self) -> dict | None:
        """The scenario's fault budget against the trace (`paxsim.liveness.budget`), or None without one."""
        events = self.events
        if events is None:
            return None
        header = events[0] if events else None
        if header is not None and header.get("kind") == "header" \
                and not isinstance((header.get("scenario") or {}).get("faults"), dict):
            return None  # no random fault profile, so no budget (liveness.budget_of): nothing to read
        from .liveness import budget

        return budget(events)
    workload: dict | None = None  # protocols with clients: operations, ops/s, latencies, both verdicts

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
            "complete": self.incomplete is None,
            **({"incomplete": self.incomplete} if self.incomplete else {}),
            **({"workload": self.workload} if self.workload is not None else {}),
        }


def _quorum_sizes(header: dict) -> tuple[int | None, list[str]]:
    scenario = header.get("scenario") or {}
    nodes = scenario.get("nodes") or []
    quorum = (scenario.get("protocol") or {}).get("quorum") or {}
    phase2 = quorum.get("phase2") if isinstance(quorum, dict) else None
    if phase2 is None and nodes:
        phase2 = len(nodes) // 2 + 1
    return phase2, list(nodes)


_seq_of = itemgetter("seq")
PROTOCOL_KINDS = ("multi-paxos",)  # judged by their protocol package; any other header by the code below


def check(events: list[dict], in_order: bool = False, explain: bool = True) -> Verdict:
    """Judge a trace: `events[0]` is the header (it gives the nodes, the
    phase-2 quorum size and the proposed values), the rest are judged in
    `seq` order.  The events are trusted to be well formed: `read_trace`
    validates a file; a run's own events need no validation.  `in_order`:
    the events are already in `seq` order (a simulation's own list), so
    they need no sorting.  `explain=False`: a single-decree verdict without
    what only explanations read (see `Checker`), exact when it finds no
    violation; its `events` are then those `Verdict.liveness` reads."""
    header = events[0] if events and events[0].get("kind") == "header" else {}
    kind = ((header.get("scenario") or {}).get("protocol") or {}).get("kind", "single-decree")
    if kind in PROTOCOL_KINDS:  # another protocol: its own properties, and linearizability
        return _check_other(kind, events)
    checker = Checker(header, explain)
    start = 1 if header else 0
    if in_order:
        checker.extend(events, start)
    else:  # in seq order, whatever the line order
        checker.extend(sorted(events[start:], key=_seq_of))
    return checker.finish(events if explain else None)


class Checker:
    """The single-decree checker, fed one event at a time in `seq` order
    (`append`, so a simulation can feed it as it records), then `finish()`
    for the verdict: `check()` is this over a whole trace.

    With `explain=False` it keeps nothing that only explanations read (the
    promises and promise messages), so its memory does not grow with the
    message traffic; its verdict is then exact whenever it finds no
    violation, and a caller that gets violations asks a full checker for
    the explanations (`Run.verdict` re-reads the run).  It also keeps only
    the events that `Verdict.liveness` and `Verdict.budget` read (the header,
    the faults and `end`)."""

    def __init__(self, header: dict | None = None, explain: bool = True) -> None:
        self.explain = explain
        if header is None:  # the first event appended is the header (a simulation's own order)
            self.append = self._first
            header = {}
        self._setup(header)

    def _first(self, header: dict) -> None:
        del self.append  # from now on the class's append judges each event
        self._setup(header)

    def _setup(self, header: dict) -> None:
        self.header = header
        self.phase2, self.nodes = _quorum_sizes(header)
        self.scenario = header.get("scenario") or {}
        self.proposers = self.scenario.get("proposers")
        self.violations: list[Violation] = []
        self.votes: dict[tuple, dict[str, int]] = {}  # (ballot, value) -> acceptor -> seq of first vote
        self.chosen: list[Chosen] = []
        self.chosen_keys: set = set()
        self.promises: dict[tuple, list[int]] = {}  # (node, ballot) -> seqs of its promises, in order
        self.promise_sends: list[dict] = []
        self.proposes: dict[tuple, dict] = {}  # ballot -> first propose event
        self.restarts: dict[str, list[dict]] = {}
        self.decisions: dict[str, tuple[Any, float, int]] = {}
        self.knows: dict[str, Any] = {}  # node -> value decided in its current storage life
        self.down: dict[str, int] = {}  # node -> seq of the crash that took it down, while it is down
        self.bound: dict[str, tuple] = {}  # acceptor -> (ballot, seq, kind): its promise, raised by promises and votes
        self.below: list[tuple] = []  # (node, seq, ballot, bound): votes below the acceptor's promise, for explanations
        self.findings: dict[tuple, list] = {}  # (rule, node) -> [kind, message, details, seqs, later seqs]
        self.end = None
        self.last = None  # the last event judged
        self.mixed = False  # a decision went the general way (_check_decide): finish checks agreement in full
        self.kept: list[dict] = [header] if header else []  # what liveness and budget read

    def _finding(self, rule: str, node: str, kind: str, message: str, seqs: tuple, details=()) -> None:
        f = self.findings.get((rule, node))
        if f is None:
            self.findings[(rule, node)] = [kind, message, tuple(details), seqs, []]
        else:  # one finding per rule and node; later occurrences are counted into it
            f[4].append(seqs[-1])

    def append(self, ev: dict) -> None:
        """Judge the next event (in `seq` order)."""
        self.last = ev
        kind = ev["kind"]
        if kind == "promise" or kind == "vote":  # the common case of a run's own events, judged first
            node = ev.get("node")
            down = self.down
            if not (down and node in down):
                ballot = tuple(ev["ballot"])
                bound = self.bound
                b = bound.get(node)
                if b is None or not ballot < b[0]:  # else the general path below reports it
                    seq = ev["seq"]
                    if b is None or ballot > b[0]:
                        bound[node] = (ballot, seq, kind)
                    if kind == "promise":
                        if self.explain:
                            self.promises.setdefault((node, ballot), []).append(seq)
                        return
                    key = (ballot, ev["value"])
                    voters = self.votes.get(key)
                    if voters is None:
                        voters = self.votes[key] = {}
                    if node not in voters:
                        voters[node] = seq
                        if self.phase2 is not None and len(voters) >= self.phase2 and key not in self.chosen_keys:
                            self.chosen_keys.add(key)
                            self.chosen.append(Chosen(ballot, ev["value"], tuple(voters), tuple(voters.values()),
                                                      seq, ev["t"]))
                    return
        elif kind == "deliver" or kind == "drop" or kind == "duplicate":
            return  # the bulk of a trace; nothing to judge
        if kind == "send":
            if self.explain:
                msg = ev["msg"]
                if (msg.get("type") if isinstance(msg, dict) else msg.type) == "promise":
                    self.promise_sends.append(ev)  # read only to explain a violation
            return
        node = ev.get("node")
        down = self.down
        finding = self._finding
        if down and node in down and kind in _ACTS:
            finding("down", node, "fail-stop",
                    f"{node} is down (crashed at seq {down[node]}) but {_ACTS[kind]} at seq {ev['seq']}",
                    (down[node], ev["seq"]))
        if kind == "vote":
            ballot = tuple(ev["ballot"])
            seq = ev["seq"]
            b = self.bound.get(node)
            if b is not None and ballot < b[0]:
                self.below.append((node, seq, ballot, b))
                finding("vote-below", node, "acceptor",
                        f"{node} voted at {fmt_ballot(ballot)} (seq {seq}) below its promise {fmt_ballot(b[0])} "
                        f"(its {b[2]} at seq {b[1]}): an acceptor must refuse ballots below its promise",
                        (b[1], seq))
            elif b is None or ballot > b[0]:
                self.bound[node] = (ballot, seq, "vote")
            key = (ballot, ev["value"])
            voters = self.votes.setdefault(key, {})
            if node not in voters:
                voters[node] = seq
                if self.phase2 is not None and len(voters) >= self.phase2 and key not in self.chosen_keys:
                    self.chosen_keys.add(key)
                    self.chosen.append(Chosen(ballot, ev["value"], tuple(voters), tuple(voters.values()), seq,
                                              ev["t"]))
        elif kind == "promise":
            ballot = tuple(ev["ballot"])
            seq = ev["seq"]
            b = self.bound.get(node)
            if b is not None and ballot < b[0]:
                lives = [r["seq"] for r in self.restarts.get(node, []) if r["seq"] > b[1]]
                finding("promise-back", node, "acceptor",
                        f"{node}'s promise went backwards: {fmt_ballot(ballot)} (seq {seq}) after its {b[2]} at "
                        f"{fmt_ballot(b[0])} (seq {b[1]})",
                        (b[1], seq),
                        (f"it restarted with durable storage at seq {_seqs(lives)} in between: its state should "
                         f"have survived",) if lives else ())
            elif b is None or ballot > b[0]:
                self.bound[node] = (ballot, seq, "promise")
            if self.explain:
                self.promises.setdefault((node, ballot), []).append(seq)
        elif kind == "propose":
            self.proposes.setdefault(tuple(ev["ballot"]), ev)
        elif kind == "decide":
            decisions, knows, chosen, value = self.decisions, self.knows, self.chosen, ev["value"]
            if node not in knows and node not in decisions and chosen and chosen[0].value == value:
                # The common case, as _check_decide finds it: a first decision, of the value chosen first.
                decisions[node] = (value, ev["t"], ev["seq"])
                knows[node] = value
            else:
                self.mixed = True
                self.violations.extend(_check_decide(ev, decisions, knows, chosen, self.restarts))
        elif kind == "crash":
            self.kept.append(ev)
            if node in down:
                finding("crash-down", node, "fail-stop",
                        f"{node} crashed at seq {ev['seq']} while already down (crashed at seq {down[node]})",
                        (down[node], ev["seq"]))
            else:
                down[node] = ev["seq"]
        elif kind == "restart":
            self.kept.append(ev)
            if down.pop(node, None) is None:
                finding("restart-up", node, "fail-stop",
                        f"{node} restarted at seq {ev['seq']} while up: a restart must follow a crash",
                        (ev["seq"],))
            self.restarts.setdefault(node, []).append(ev)
            if ev.get("storage") == "volatile":
                self.knows.pop(node, None)
                self.bound.pop(node, None)  # its promise is gone with its storage: not going backwards
        elif kind == "end":
            self.kept.append(ev)
            self.end = ev
        elif kind in _KEPT:
            self.kept.append(ev)

    def extend(self, events: list[dict], start: int = 0) -> None:
        """Judge `events[start:]` (in `seq` order): `append` on each, in one
        loop.  The common events of a run (promises and votes at or above
        the acceptor's promise, first decisions of the value chosen first,
        proposals, messages, `end`) are judged here, with the state in
        locals; anything else goes to `append`, which judges it with the same
        state, so the verdict is the same as appending one at a time."""
        if start >= len(events):
            return
        if "append" in self.__dict__:  # no header yet: the first event is it
            self.append(events[start])
            start += 1
        general = self.append
        explain = self.explain
        phase2 = self.phase2
        down, bound, votes, promises = self.down, self.bound, self.votes, self.promises
        chosen, chosen_keys, decisions, knows = self.chosen, self.chosen_keys, self.decisions, self.knows
        proposes = self.proposes
        ev = None
        for ev in events[start:] if start else events:  # a list's own iterator is the fastest
            kind = ev["kind"]
            if kind == "promise":  # as in append: at or above the acceptor's promise, by a node that is up
                node = ev.get("node")
                if not (down and node in down):
                    ballot = tuple(ev["ballot"])
                    b = bound.get(node)
                    seq = ev["seq"]  # read always, as append does: an event without one fails here too
                    if b is None:
                        bound[node] = (ballot, seq, kind)
                    else:
                        b = b[0]
                        if ballot < b:
                            general(ev)
                            continue
                        if ballot > b:
                            bound[node] = (ballot, seq, kind)
                    if explain:
                        promises.setdefault((node, ballot), []).append(seq)
                    continue
                general(ev)
            elif kind == "vote":
                node = ev.get("node")
                if not (down and node in down):
                    ballot = tuple(ev["ballot"])
                    b = bound.get(node)
                    seq = ev["seq"]
                    if b is None:
                        bound[node] = (ballot, seq, kind)
                    else:
                        b = b[0]
                        if ballot < b:
                            general(ev)
                            continue
                        if ballot > b:
                            bound[node] = (ballot, seq, kind)
                    value = ev["value"]
                    key = (ballot, value)
                    voters = votes.get(key)
                    if voters is None:
                        voters = votes[key] = {node: seq}
                        if phase2 is not None and phase2 <= 1 and key not in chosen_keys:
                            chosen_keys.add(key)
                            chosen.append(Chosen(ballot, value, (node,), (seq,), seq, ev["t"]))
                    elif node not in voters:
                        voters[node] = seq
                        if phase2 is not None and len(voters) >= phase2 and key not in chosen_keys:
                            chosen_keys.add(key)
                            chosen.append(Chosen(ballot, value, tuple(voters), tuple(voters.values()), seq,
                                                 ev["t"]))
                    continue
                general(ev)
            elif kind == "deliver" or kind == "drop" or kind == "duplicate":
                continue
            elif kind == "decide":
                node = ev.get("node")
                value = ev["value"]
                if (not down or node not in down) and node not in knows and node not in decisions and chosen \
                        and chosen[0].value == value:  # as in append: a first decision, of the value chosen first
                    decisions[node] = (value, ev["t"], ev["seq"])
                    knows[node] = value
                else:
                    general(ev)
            elif kind == "propose" and not (down and ev.get("node") in down):
                proposes.setdefault(tuple(ev["ballot"]), ev)
            elif kind == "send" and not explain:
                continue
            elif kind == "end":
                self.kept.append(ev)
                self.end = ev
            else:
                general(ev)
        if ev is not None:
            self.last = ev

    def finish(self, events: list[dict] | None = None) -> Verdict:
        """The verdict on the events fed so far.  `events`: what
        `Verdict.events` holds (default: the header, the faults and `end`)."""
        violations = list(self.violations)
        chosen, decisions, down, end = self.chosen, self.decisions, self.down, self.end
        if self.mixed or (len(chosen) > 1 and any(c.value != chosen[0].value for c in chosen)):
            # Else at most one value chosen, and every decision of the value chosen first: nothing to find.
            violations[:0] = _check_agreement(chosen, decisions, self.votes, self.proposes, self.promises,
                                              self.promise_sends, self.restarts, self.scenario, self.below)
        proposers = self.proposers
        if proposers is not None and chosen:  # an empty list too: then no value is valid
            proposed_values = [p.get("value") for p in proposers]
            for c in chosen:
                if c.value not in proposed_values:
                    given = (f"proposed: {', '.join(map(fmt_value, proposed_values))}" if proposed_values
                             else "the header lists no proposers")
                    violations.append(Violation(
                        "validity",
                        f"value {fmt_value(c.value)} was chosen at {fmt_ballot(c.ballot)} but no proposer was "
                        f"given it ({given})",
                        seqs=(c.seq,)))
        for kind, message, details, seqs, later in self.findings.values():  # after the properties: shrink keeps the first
            if later:
                details += (f"and again at seq {_seqs(later[:10])}" + (f" and {len(later) - 10} more" if len(later) > 10 else ""),)
            violations.append(Violation(kind, message, details, seqs + tuple(later[:10])))
        nodes, knows = self.nodes, self.knows
        incomplete = None
        if end is None:
            last = self.last
            incomplete = ("no 'end' event: the trace stops " +
                          (f"at seq {last['seq']} (t={last['t']:g} ms)" if last else "after its header"))
        return Verdict(
            violations=violations,
            chosen=list(chosen),
            decisions=dict(decisions),
            undecided=[n for n in nodes if n not in knows and n not in down],
            down=[n for n in nodes if n in down] if down else [],
            end_t=end.get("t") if end else None,
            messages=(end or {}).get("messages", {}),
            incomplete=incomplete,
            events=self.kept if events is None else events,
        )


# Events besides crash, restart and end that a lean checker keeps for `Verdict.liveness` and `.budget`.
_KEPT = frozenset({"partition", "heal", "cut", "uncut", "random-faults"})


# Kinds that are a node's own acts: none may happen while it is down.
_ACTS = {"promise": "it promised", "vote": "it voted", "propose": "it proposed", "decide": "it decided"}


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


def _check_agreement(chosen, decisions, votes, proposes, promises, promise_sends, restarts, scenario,
                     below) -> list[Violation]:
    out: list[Violation] = []
    if chosen:
        first = chosen[0]
        other = next((c for c in chosen if c.value != first.value), None)
        if other is not None:
            promise_msgs: dict[tuple, tuple[int, Any]] = {}  # (src, dst, ballot) -> (seq, reported accepted)
            for ev in promise_sends:
                msg = msg_dict(ev)
                promise_msgs.setdefault((ev["src"], ev["dst"], tuple(msg["ballot"])), (ev["seq"], msg.get("accepted")))
            ctx = _Context(votes, proposes, promises, promise_msgs, restarts, scenario, below)
            out.append(_explain_two_chosen(first, other, ctx))
    by_value: dict[Any, list[str]] = {}
    for node, (value, _, _) in decisions.items():
        by_value.setdefault(value, []).append(node)
    if len(by_value) > 1:
        groups = "; ".join(f"{_nodes(ns)} decided {fmt_value(v)}" for v, ns in by_value.items())
        seqs = tuple(sorted(s for _, _, s in decisions.values()))
        out.append(Violation("agreement", f"learners disagree: {groups}", seqs=seqs))
    return out


@dataclass
class _Context:
    """What the explanation of two chosen values reads (built only then)."""

    votes: dict
    proposes: dict
    promises: dict
    promise_msgs: dict
    restarts: dict
    scenario: dict
    below: list


def _explain_two_chosen(a: Chosen, b: Chosen, ctx: _Context) -> Violation:
    """Why two values were chosen.  Paxos keeps a value chosen at ballot L
    because every proposal above L carries it; so find the *first* proposal
    above L with another value and say which step let it through: a phase-1
    quorum that misses L's voters, an acceptor that reported less than its
    vote (or voted below its promise), or a proposer that did not adopt the
    highest-ballot value among the promises it got."""
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
    scenario, restarts = ctx.scenario, ctx.restarts
    if tuple(low.ballot) == tuple(high.ballot):
        owner = low.ballot[1]
        lost = [r["seq"] for r in restarts.get(owner, []) if r.get("storage") == "volatile"]
        details.append(
            f"both at the same ballot {fmt_ballot(low.ballot)}: "
            + (f"proposer {owner} used" if owner not in ("", None) else "the ballot names no proposer, and two proposers used")
            + " one ballot for two values"
            + (f"; it restarted with volatile storage (seq {_seqs(lost)}) and forgot the rounds it had used" if lost else ""))
        return Violation("agreement", message, tuple(details), tuple(seqs))
    lb = tuple(low.ballot)
    above = [p for bal, p in ctx.proposes.items() if bal > lb and p["value"] != low.value]
    prop = min(above, key=lambda p: tuple(p["ballot"])) if above else ctx.proposes.get(tuple(high.ballot))
    if prop is None:
        details.append(f"no propose event for {fmt_ballot(high.ballot)}: the trace cannot show its phase-1 quorum")
        return Violation("agreement", message, tuple(details), tuple(seqs))
    pb = tuple(prop["ballot"])
    seqs.append(prop["seq"])
    quorum = list(prop.get("quorum") or [])
    first = (f": the first proposal above {fmt_ballot(lb)} with a value other than {fmt_value(low.value)}"
             if pb != tuple(high.ballot) else "")
    details.append(
        f"{prop['node']} proposed {fmt_value(prop['value'])} at {fmt_ballot(pb)} (seq {prop['seq']}) "
        f"after promises from {_nodes(quorum) or 'an unrecorded quorum'}{first}")
    n_nodes = len(scenario.get("nodes") or [])
    q = (scenario.get("protocol") or {}).get("quorum")
    phase1 = q.get("phase1") if isinstance(q, dict) else (n_nodes // 2 + 1 if n_nodes else None)
    if quorum and phase1 and len(quorum) < phase1:
        details.append(f"its phase-1 quorum has {len(quorum)} acceptor(s); the configuration asks for {phase1}")
    common = [n for n in quorum if n in low.voters]
    if quorum and not common:
        details.append(
            f"that phase-1 quorum {{{_nodes(quorum)}}} does not intersect the phase-2 quorum {{{_nodes(low.voters)}}} "
            f"that chose {fmt_value(low.value)} (quorum sizes used: phase 1 {len(quorum)} + phase 2 "
            f"{len(low.voters)} <= {n_nodes} nodes)")
    have_promises = bool(ctx.promise_msgs)
    for n in quorum:  # a member with no promise sent before the proposal was counted for something else
        sent = ctx.promise_msgs.get((n, prop["node"], pb))
        if have_promises and (sent is None or sent[0] > prop["seq"]):
            made = ctx.promises.get((n, pb), ())
            before = [s for s in made if s < prop["seq"]]
            after = [s for s in made if s > prop["seq"]] + ([sent[0]] if sent is not None else [])
            if before:  # its state promised in time; the message is what was missing or late
                when = (f"sent {prop['node']} no promise for {fmt_ballot(pb)} (it promised it at seq {before[-1]})"
                        if sent is None else f"sent its promise of {fmt_ballot(pb)} only after the proposal "
                        f"(seq {sent[0]}; it promised at seq {before[-1]})")
            elif after:
                when = f"promised {fmt_ballot(pb)} only after the proposal (seq {min(after)})"
            else:
                when = f"never promised {fmt_ballot(pb)}"
            details.append(f"{n} is counted in that quorum but {when}: the proposer counted a reply that was "
                           f"no promise")
    for n in common:
        vote_seq = ctx.votes[(lb, low.value)][n]
        # the last promise of that ballot before the vote: a promise made again after a
        # restart is the one the vote broke, not the one the restart forgot
        made = ctx.promises.get((n, pb), ())
        promise_seq = max((s for s in made if s < vote_seq), default=made[0] if made else None)
        sent = ctx.promise_msgs.get((n, prop["node"], pb))
        if promise_seq is None and sent is not None and sent[0] < vote_seq:
            promise_seq = sent[0]  # a trace with promise messages but no promise events (another node's)
        if promise_seq is not None and promise_seq < vote_seq:
            between = [r for r in restarts.get(n, []) if promise_seq < r["seq"] < vote_seq]
            volatile = [r["seq"] for r in between if r.get("storage") == "volatile"]
            if volatile:  # the restart, not the acceptor's rule, is what lost the promise
                why = (f"it restarted with volatile storage in between (seq {_seqs(volatile)}) and forgot its "
                       f"promise")
            else:
                why = "an acceptor must refuse ballots below its promise" + (
                    f"; it restarted with durable storage in between (seq {_seqs([r['seq'] for r in between])}), "
                    f"which should have kept its promise" if between else "")
            details.append(
                f"{n} promised {fmt_ballot(pb)} (seq {promise_seq}) and then voted at the lower ballot "
                f"{fmt_ballot(lb)} (seq {vote_seq}): {why}")
            seqs += [promise_seq, vote_seq] + [r["seq"] for r in between]
            continue
        if sent is None:
            if have_promises or promise_seq is not None:
                details.append(f"{n} voted {fmt_value(low.value)} at {fmt_ballot(lb)} (seq {vote_seq}); the trace "
                               f"has no promise message from it for {fmt_ballot(pb)}")
            seqs.append(vote_seq)
            continue
        reported = sent[1]
        what = "nothing" if reported is None else f"{fmt_ballot(reported['ballot'])} {fmt_value(reported['value'])}"
        line = (f"{n} voted {fmt_value(low.value)} at {fmt_ballot(lb)} (seq {vote_seq}), then promised "
                f"{fmt_ballot(pb)} (seq {sent[0]}) reporting {what}")
        seqs += [vote_seq, sent[0]]
        if reported is None or tuple(reported["ballot"]) < lb:
            line += f": it should have reported {fmt_ballot(lb)} {fmt_value(low.value)}"
            lost = [r for r in restarts.get(n, []) if vote_seq < r["seq"] < sent[0]]
            overwrote = [(s, bal, bd) for node, s, bal, bd in ctx.below if node == n and vote_seq < s < sent[0]]
            if overwrote:
                s, bal, bd = overwrote[0]
                line += (f"; in between it voted at the lower ballot {fmt_ballot(bal)} (seq {s}), below its "
                         f"promise, and so lost its vote")
                seqs.append(s)
            elif any(r.get("storage") == "volatile" for r in lost):
                vol = [r["seq"] for r in lost if r.get("storage") == "volatile"]
                line += f"; it restarted with volatile storage in between (seq {_seqs(vol)}) and lost its vote"
                seqs += vol
            elif lost:
                line += (f"; it restarted with durable storage in between (seq {_seqs(r['seq'] for r in lost)}) "
                         f"and its vote did not survive")
                seqs += [r["seq"] for r in lost]
        elif tuple(reported["ballot"]) >= lb and reported["value"] != low.value:
            line += f": a vote at or above {fmt_ballot(lb)} for another value than {fmt_value(low.value)}"
        elif sent[0] > prop["seq"]:
            line += ": correct, but after the proposal"
        else:
            line += ": correct"
        details.append(line)
    # What the proposer adopted, against the promises it got.
    got = [ctx.promise_msgs.get((n, prop["node"], pb)) for n in quorum]
    got = [(g, n) for g, n in zip(got, quorum) if g is not None and g[0] < prop["seq"]]
    reports = [(tuple(g[1]["ballot"]), g[1]["value"], n, g[0]) for g, n in got if g[1] is not None]
    if reports:
        hb, hv, hn, hs = max(reports, key=lambda r: r[0])
        if hv != prop["value"]:
            details.append(
                f"{prop['node']} should have adopted {fmt_value(hv)}: of the promises its quorum sent it before it "
                f"proposed, {hn}'s (seq {hs}) reports the highest-ballot vote, {fmt_ballot(hb)} {fmt_value(hv)}; "
                f"it proposed {fmt_value(prop['value'])}")
            seqs.append(hs)
    return Violation("agreement", message, tuple(details), tuple(sorted(set(seqs))))


def _check_other(kind: str, events: list[dict]) -> Verdict:
    from .check_multi import check_multi

    return check_multi(events, kind)


def evaluate_expect(verdict: Verdict, expect: dict, wall_clock: bool = False) -> list[str]:
    """Unmet expectations of a scenario's normalized `expect` block, as
    lines.  `wall_clock`: the trace's times are real (a cluster run's
    header says `"clock": "wall"`), and an unmet `within` says so."""
    unmet = []
    ops = expect.get("ops")
    if ops is not None and verdict.workload is not None and verdict.workload["ok"] < ops:
        unmet.append(f"ops: expected at least {ops} operations to complete ok, {verdict.workload['ok']} did")
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
            unmet.append(f"within: the last learner learned at {last:g} ms, after the bound of {within:g} ms"
                         + (" (wall-clock time: on real processes it includes their own time, and so the "
                            "machine's load)" if wall_clock else ""))
    return unmet
