"""An independent trace oracle for single-decree traces, written from the
README's trace format alone (it imports nothing from paxsim), to judge the
checker and the simulator's fault semantics.

`safety(lines)` answers, from the header and the vote / decide events only:

* two-decided: two different values were decided (by any nodes, at any time);
* unchosen-decide: a value was decided while no phase-2 quorum of distinct
  acceptors had yet voted for it at one ballot;
* two-chosen: quorums voted for two different values;
* unproposed: a chosen or decided value was given to no proposer;
* decided-twice: a node decided twice within one life of its storage (no
  restart with volatile storage in between).

`faults(lines)` lists every place where the trace contradicts the fault
semantics the README states (a down node acting, receiving or sending; a
message crossing a partition or a cut; a message with no fate or two; a
duplicate without a fresh id; `end.decided` and `end.up` against the
decide, crash and restart events; a promise reporting other than the
acceptor's last durable vote).

Both are deliberately slow and plain: obviously right beats fast here.
"""

from __future__ import annotations

import json


def parse(lines) -> list[dict]:
    """The events of a trace file's lines, header first, the rest in seq order."""
    events = [json.loads(line) for line in lines if line.strip()]
    header = [e for e in events if e["kind"] == "header"]
    rest = sorted((e for e in events if e["kind"] != "header"), key=lambda e: e["seq"])
    return header + rest


def _phase2(header: dict) -> int:
    scenario = header["scenario"]
    nodes = scenario["nodes"]
    quorum = scenario.get("protocol", {}).get("quorum")
    if isinstance(quorum, dict) and quorum.get("phase2") is not None:
        return quorum["phase2"]
    return len(nodes) // 2 + 1


def safety(events: list[dict]) -> set[str]:
    """The kinds of safety violation the trace shows (empty: safe)."""
    header = events[0]
    q2 = _phase2(header)
    proposed = [p["value"] for p in header["scenario"].get("proposers", [])]
    voters: dict = {}  # (ballot, value) -> set of acceptors
    chosen_values: list = []
    decided_values: list = []
    found: set[str] = set()
    knows: set = set()  # nodes that decided in their current storage life
    for ev in events[1:]:
        if ev["kind"] == "restart" and ev.get("storage") == "volatile":
            knows.discard(ev["node"])
        if ev["kind"] == "vote":
            key = (tuple(ev["ballot"]), json.dumps(ev["value"]))
            voters.setdefault(key, set()).add(ev["node"])
            if len(voters[key]) >= q2 and ev["value"] not in chosen_values:
                chosen_values.append(ev["value"])
        elif ev["kind"] == "decide":
            if ev["value"] not in chosen_values:
                found.add("unchosen-decide")
            if ev["value"] not in decided_values:
                decided_values.append(ev["value"])
            if ev["node"] in knows:
                found.add("decided-twice")
            knows.add(ev["node"])
    if len(chosen_values) > 1:
        found.add("two-chosen")
    if len(decided_values) > 1:
        found.add("two-decided")
    if any(v not in proposed for v in chosen_values + decided_values):
        found.add("unproposed")
    return found


def faults(events: list[dict]) -> list[str]:
    """Where the trace breaks the documented fault semantics (empty: nowhere)."""
    header = events[0]
    scenario = header["scenario"]
    nodes = list(scenario["nodes"])
    storage = scenario.get("protocol", {}).get("storage", "durable")
    up = {n: True for n in nodes}
    groups = None  # the partition in force: list of lists, or None
    cut: set = set()
    sends: dict = {}  # id -> (src, dst, msg, partitioned or cut at send time)
    fate: dict = {}  # id -> "deliver" | "drop:<reason>"
    copies: dict = {}  # copy id -> original id
    decided: dict = {}  # node -> value decided in its current storage life
    last_vote: dict = {}  # node -> (ballot, value) of its latest vote in its current storage life
    out: list[str] = []
    correct = scenario.get("protocol", {}).get("bugs") in (None, [])
    last_prepare: dict = {}  # node -> (ballot of its last prepare, its life then)
    lives = {n: 0 for n in nodes}  # node -> crashes so far

    def blocked(src, dst) -> frozenset:
        """What stops a message sent now from src to dst: {"cut", "partition"}, either or neither."""
        if src == dst:
            return frozenset()
        why = set()
        if (src, dst) in cut:
            why.add("cut")
        if groups is not None and not any(src in g and dst in g for g in groups):
            why.add("partition")
        return frozenset(why)

    end = None
    for ev in events[1:]:
        kind, seq = ev["kind"], ev["seq"]
        node = ev.get("node")
        if kind in ("promise", "vote", "propose", "decide") and not up[node]:
            out.append(f"seq {seq}: {node} is down but has a {kind} event")
        if kind == "crash":
            if not up[node]:
                out.append(f"seq {seq}: {node} crashed while down")
            up[node] = False
            lives[node] += 1
        elif kind == "restart":
            if up[node]:
                out.append(f"seq {seq}: {node} restarted while up")
            if ev.get("storage") != storage:
                out.append(f"seq {seq}: restart storage {ev.get('storage')!r}, scenario says {storage!r}")
            up[node] = True
            if storage == "volatile":
                decided.pop(node, None)
                last_vote.pop(node, None)
        elif kind == "partition":
            groups = [list(g) for g in ev["groups"]]
        elif kind == "heal":
            groups = None
        elif kind == "cut":
            cut.add((ev["src"], ev["dst"]))
        elif kind == "uncut":
            cut.discard((ev["src"], ev["dst"]))
        elif kind == "send":
            if not up[ev["src"]]:
                out.append(f"seq {seq}: {ev['src']} is down but sends message {ev['id']}")
            if ev["id"] in sends or ev["id"] in copies:
                out.append(f"seq {seq}: message id {ev['id']} used twice")
            sends[ev["id"]] = (ev["src"], ev["dst"], ev["msg"], blocked(ev["src"], ev["dst"]))
            msg = ev["msg"]
            if msg["type"] == "prepare" and correct and storage == "durable":
                src, ballot = ev["src"], tuple(msg["ballot"])
                last = last_prepare.get(src)
                if last is not None and (ballot < last[0] or (ballot == last[0] and last[1] != lives[src])):
                    out.append(f"seq {seq}: {src} sends prepare {ballot} after it sent prepare {last[0]}"
                               + (" before a restart" if last[1] != lives[src] else ""))
                last_prepare[src] = (ballot, lives[src])
            if msg["type"] == "promise" and correct:
                reported = msg.get("accepted")
                want = last_vote.get(ev["src"])
                got = None if reported is None else (tuple(reported["ballot"]), reported["value"])
                if got != want:
                    out.append(f"seq {seq}: {ev['src']}'s promise reports {got}, its last durable vote is {want}")
        elif kind == "duplicate":
            if ev["copy"] in sends or ev["copy"] in copies:
                out.append(f"seq {seq}: duplicate copy id {ev['copy']} is not fresh")
            if ev["id"] not in sends:
                out.append(f"seq {seq}: duplicate of unknown message {ev['id']}")
            else:
                src, dst, msg, _ = sends[ev["id"]]
                copies[ev["copy"]] = ev["id"]
                sends[ev["copy"]] = (src, dst, msg, blocked(src, dst))
        elif kind in ("deliver", "drop"):
            mid = ev["id"]
            if mid not in sends:
                out.append(f"seq {seq}: {kind} of unknown message {mid}")
                continue
            if mid in fate:
                out.append(f"seq {seq}: message {mid} has a second fate ({fate[mid]}, then {kind})")
            src, dst, msg, was_blocked = sends[mid]
            fate[mid] = kind if kind == "deliver" else f"drop:{ev['reason']}"
            if kind == "deliver":
                if not up[dst]:
                    out.append(f"seq {seq}: message {mid} delivered to {dst}, which is down")
                if was_blocked:
                    out.append(f"seq {seq}: message {mid} {src}->{dst} delivered across a {' and a '.join(sorted(was_blocked))}")
            else:
                reason = ev["reason"]
                if reason == "crashed" and up[dst]:
                    out.append(f"seq {seq}: message {mid} dropped as 'crashed' but {dst} is up")
                if reason in ("partition", "cut") and reason not in was_blocked:
                    out.append(f"seq {seq}: message {mid} {src}->{dst} dropped for {reason} but the link was "
                               f"{' and '.join(sorted(was_blocked)) or 'open'} when it was sent")
                if was_blocked and reason not in was_blocked and reason != "loss":
                    out.append(f"seq {seq}: message {mid} {src}->{dst} sent across a {sorted(was_blocked)} "
                               f"dropped for {reason}")
                if reason == "loss" and src == dst:
                    out.append(f"seq {seq}: message {mid} to itself was lost")
        elif kind == "vote":
            last_vote[node] = (tuple(ev["ballot"]), ev["value"])
        elif kind == "decide":
            decided[node] = ev["value"]
        elif kind == "end":
            end = ev
    if end is None:
        return out + ["no end event"]
    if end["up"] != [n for n in nodes if up[n]]:
        out.append(f"end.up is {end['up']}, the crash and restart events leave {[n for n in nodes if up[n]]} up")
    want = {n: v for n, v in decided.items() if up[n]}
    if end["decided"] != want:
        out.append(f"end.decided is {end['decided']}, the decide events say {want}")
    totals = end["messages"]
    n_copies = len(copies)
    if totals["duplicated"] != n_copies or totals["sent"] != len(sends) - n_copies:
        out.append(f"end.messages {totals} against {len(sends) - n_copies} sends and {n_copies} copies")
    if totals["delivered"] != sum(1 for f in fate.values() if f == "deliver"):
        out.append("end.messages.delivered differs from the deliver events")
    for reason, n in totals["dropped"].items():
        if n != sum(1 for f in fate.values() if f == f"drop:{reason}"):
            out.append(f"end.messages.dropped.{reason} differs from the drop events")
    return out


# -- explanations ---------------------------------------------------------------
# What the checker prints about a violation, read back against the trace: each
# sentence it says about an event must be true of the event with that seq.

import ast  # noqa: E402
import re  # noqa: E402

_VAL = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)"
_BAL = r"\((\d+), ([^)]*)\)"
_NODES = r"([\w.-]+(?:, [\w.-]+)*)"
_SEQS = r"(\d+(?:, \d+)*)"


def _val(text):
    return ast.literal_eval(text)


def _nodes_of(text):
    return text.split(", ")


def _seqs_of(text):
    return [int(s) for s in text.split(", ")]


def _bal(r, n):
    return (int(r), n)


def explanation_errors(text: str, seqs, events: list[dict], unmatched: list | None = None) -> tuple[list[str], int]:
    """(false statements, sentences checked) in a violation's explanation
    `text` (Violation.explain()) with its `seqs`, against the trace."""
    by_seq = {e["seq"]: e for e in events[1:]}
    header = events[0]
    q2 = _phase2(header)
    errors: list[str] = []
    checked = 0

    def ev(seq, kind, **want):
        e = by_seq.get(seq)
        if e is None:
            errors.append(f"seq {seq} is not in the trace ({text[:80]!r})")
            return None
        if e["kind"] != kind:
            errors.append(f"seq {seq} is a {e['kind']}, said to be a {kind}")
            return None
        for k, v in want.items():
            got = tuple(e[k]) if k == "ballot" else e[k]
            if got != v:
                errors.append(f"seq {seq} ({kind}) has {k}={got!r}, said {v!r}")
        return e

    def voters_at(ballot, value, upto):
        return {e["node"] for s, e in by_seq.items()
                if s <= upto and e["kind"] == "vote" and tuple(e["ballot"]) == ballot and e["value"] == value}

    for s in seqs:
        if s not in by_seq:
            errors.append(f"violation seq {s} is not in the trace")
    for line in text.splitlines():
        line = re.sub(r"^(agreement|validity|integrity|acceptor|fail-stop): ", "", line.strip().removeprefix("- "))
        m = re.search(rf"{_VAL} was chosen at ballot {_BAL}: votes from {_NODES} \(seq {_SEQS}\)", line)
        if m:
            checked += 1
            value, ballot = _val(m[1]), _bal(m[2], m[3])
            nodes, ss = _nodes_of(m[4]), _seqs_of(m[5])
            if len(nodes) != len(ss) or len(set(nodes)) < q2:
                errors.append(f"{line!r}: {len(set(nodes))} voters for a quorum of {q2}")
            for n, s in zip(nodes, ss):
                ev(s, "vote", node=n, ballot=ballot, value=value)
            continue
        m = re.search(rf"two values chosen: {_VAL} at {_BAL} \(seq (\d+)\) and {_VAL} at {_BAL} \(seq (\d+)\)", line)
        if m:
            checked += 1
            for v, r, n, s in ((m[1], m[2], m[3], m[4]), (m[5], m[6], m[7], m[8])):
                value, ballot, s = _val(v), _bal(r, n), int(s)
                if ev(s, "vote", ballot=ballot, value=value) and len(voters_at(ballot, value, s)) < q2:
                    errors.append(f"{line!r}: at seq {s} {value!r} has no quorum at {ballot}")
            if _val(m[1]) == _val(m[5]):
                errors.append(f"{line!r}: the same value twice")
            continue
        m = re.search(rf"^([\w.-]+) proposed {_VAL} at {_BAL} \(seq (\d+)\) after promises from {_NODES}", line)
        if m:
            checked += 1
            e = ev(int(m[5]), "propose", node=m[1], value=_val(m[2]), ballot=_bal(m[3], m[4]))
            if e is not None and e.get("quorum") != _nodes_of(m[6]):
                errors.append(f"{line!r}: the propose event's quorum is {e.get('quorum')}")
            continue
        m = re.search(rf"^([\w.-]+) voted {_VAL} at {_BAL} \(seq (\d+)\), then promised {_BAL} \(seq (\d+)\) "
                      rf"reporting (nothing|{_BAL} {_VAL})", line)
        if m:
            checked += 1
            node, vote_seq, promise_seq = m[1], int(m[5]), int(m[8])
            ev(vote_seq, "vote", node=node, value=_val(m[2]), ballot=_bal(m[3], m[4]))
            e = ev(promise_seq, "send", src=node)
            if e is not None:
                msg = e["msg"]
                if msg["type"] != "promise" or tuple(msg["ballot"]) != _bal(m[6], m[7]):
                    errors.append(f"{line!r}: seq {promise_seq} is {msg}")
                reported = msg.get("accepted")
                said = None if m[9] == "nothing" else {"ballot": [int(m[10]), m[11]], "value": _val(m[12])}
                if reported != said:
                    errors.append(f"{line!r}: the promise reports {reported}")
                if promise_seq < vote_seq:
                    errors.append(f"{line!r}: the promise comes before the vote")
            r = re.search(r"restarted with (volatile|durable) storage in between \(seq ([\d, ]+)\)", line)
            if r:
                for s in _seqs_of(r[2]):
                    ev(s, "restart", node=node, storage=r[1])
                    if not vote_seq < s < promise_seq:
                        errors.append(f"{line!r}: restart seq {s} is not in between")
            continue
        m = re.search(rf"learners disagree: (.*)$", line)
        if m:
            checked += 1
            firsts = {}
            for e in events[1:]:
                if e["kind"] == "decide":
                    firsts.setdefault(e["node"], e["value"])
            values = set()
            for group in m[1].split("; "):
                g = re.fullmatch(rf"{_NODES} decided {_VAL}", group)
                if not g:
                    errors.append(f"{line!r}: cannot read {group!r}")
                    continue
                values.add(_val(g[2]))
                for n in _nodes_of(g[1]):
                    if firsts.get(n) != _val(g[2]):
                        errors.append(f"{line!r}: {n} first decided {firsts.get(n)!r}")
            if len(values) < 2:
                errors.append(f"{line!r}: fewer than two values")
            continue
        m = re.search(rf"^([\w.-]+) changed its mind: it decided {_VAL} \(seq (\d+)\) and then {_VAL} \(seq (\d+)\)", line)
        if m:
            checked += 1
            ev(int(m[3]), "decide", node=m[1], value=_val(m[2]))
            ev(int(m[5]), "decide", node=m[1], value=_val(m[4]))
            if _val(m[2]) == _val(m[4]) or int(m[3]) > int(m[5]):
                errors.append(f"{line!r}: not a change of mind")
            continue
        m = re.search(rf"^([\w.-]+) restarted with volatile storage at seq {_SEQS} and forgot its decision", line)
        if m:
            checked += 1
            for s in _seqs_of(m[2]):
                ev(s, "restart", node=m[1], storage="volatile")
            continue
        m = re.search(rf"^([\w.-]+) decided {_VAL} \(seq (\d+)\) but no quorum of acceptors had voted for it", line)
        if m:
            checked += 1
            s, value = int(m[3]), _val(m[2])
            ev(s, "decide", node=m[1], value=value)
            ballots = {tuple(e["ballot"]) for e in events[1:] if e["kind"] == "vote" and e["value"] == value}
            if any(len(voters_at(b, value, s)) >= q2 for b in ballots):
                errors.append(f"{line!r}: a quorum had voted for it by then")
            continue
        m = re.search(rf"^([\w.-]+) decided twice without losing its storage: {_VAL} and then {_VAL} \(seq (\d+)\)", line)
        if m:
            checked += 1
            ev(int(m[4]), "decide", node=m[1], value=_val(m[3]))
            continue
        m = re.search(rf"^([\w.-]+)'s promise went backwards: {_BAL} \(seq (\d+)\) after its (promise|vote) at "
                      rf"{_BAL} \(seq (\d+)\)", line)
        if m:
            checked += 1
            low, high = _bal(m[2], m[3]), _bal(m[6], m[7])
            ev(int(m[4]), "promise", node=m[1], ballot=low)
            ev(int(m[8]), m[5], node=m[1], ballot=high)
            if not low < high or int(m[8]) > int(m[4]):
                errors.append(f"{line!r}: not backwards")
            continue
        m = re.search(rf"^([\w.-]+) voted at {_BAL} \(seq (\d+)\) below its promise {_BAL} \(its (promise|vote) at "
                      rf"seq (\d+)\)", line)
        if m:
            checked += 1
            low, high = _bal(m[2], m[3]), _bal(m[5], m[6])
            ev(int(m[4]), "vote", node=m[1], ballot=low)
            ev(int(m[8]), m[7], node=m[1], ballot=high)
            if not low < high or int(m[8]) > int(m[4]):
                errors.append(f"{line!r}: not below")
            continue
        m = re.search(rf"^([\w.-]+) should have adopted {_VAL}: .*, ([\w.-]+)'s \(seq (\d+)\) reports the "
                      rf"highest-ballot vote, {_BAL} {_VAL}; it proposed {_VAL}", line)
        if m:
            checked += 1
            e = ev(int(m[4]), "send", src=m[3], dst=m[1])
            if e is not None and e["msg"].get("accepted") != {"ballot": [int(m[5]), m[6]], "value": _val(m[7])}:
                errors.append(f"{line!r}: seq {m[4]} reports {e['msg'].get('accepted')}")
            if _val(m[2]) != _val(m[7]) or _val(m[7]) == _val(m[8]):
                errors.append(f"{line!r}: inconsistent")
            continue
        m = re.search(rf"^([\w.-]+) is down \(crashed at seq (\d+)\) but it (promised|voted|proposed|decided) at "
                      rf"seq (\d+)", line)
        if m:
            checked += 1
            ev(int(m[2]), "crash", node=m[1])
            kind = {"promised": "promise", "voted": "vote", "proposed": "propose", "decided": "decide"}[m[3]]
            ev(int(m[4]), kind, node=m[1])
            continue
        if unmatched is not None:
            unmatched.append(line)
    return errors, checked
