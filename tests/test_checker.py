"""The checker on hand-written traces: it must fire on broken runs, explain
them with seq numbers, and stay quiet on good or merely undecided runs."""

from paxsim.check import check, evaluate_expect


def header(nodes=("n1", "n2", "n3"), values=("a", "b"), phase2=None, expect=None):
    n = len(nodes)
    q = n // 2 + 1
    return {"kind": "header", "format": 1, "paxsim": "test", "seed": 0, "scenario": {
        "nodes": list(nodes),
        "protocol": {"quorum": {"phase1": q, "phase2": phase2 or q}},
        "proposers": [{"node": nodes[i], "value": v, "at": 0} for i, v in enumerate(values)],
        "expect": expect or {"decided": False, "safety": "holds"},
    }}


class T:
    """Builds a trace with increasing seq numbers."""

    def __init__(self, **kw):
        self.events = [header(**kw)]

    def add(self, kind, t=0.0, **fields):
        self.events.append({"seq": len(self.events) - 1, "t": t, "kind": kind, **fields})
        return self

    def vote(self, node, ballot, value, t=0.0):
        return self.add("vote", t, node=node, ballot=list(ballot), value=value)

    def decide(self, node, value, t=0.0):
        return self.add("decide", t, node=node, value=value)

    def end(self):
        return self.add("end", 100.0, messages={})


def good_trace():
    t = T()
    t.add("propose", node="n1", ballot=[1, "n1"], value="a", quorum=["n1", "n2"])
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    for n in ("n1", "n2", "n3"):
        t.decide(n, "a", t=5.0)
    return t.end().events


def test_good_trace_is_ok_and_decided():
    v = check(good_trace())
    assert v.ok and v.decided and v.value == "a"
    assert [c.voters for c in v.chosen] == [("n1", "n2")]
    assert evaluate_expect(v, {"decided": True, "within": 10.0, "safety": "holds"}) == []
    assert evaluate_expect(v, {"decided": True, "within": 1.0}) != []


def test_two_values_chosen_is_an_agreement_violation_with_explanation():
    t = T()
    t.add("propose", node="n1", ballot=[1, "n1"], value="a", quorum=["n1", "n2"])
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")  # seq 1, 2: a chosen
    t.add("crash", node="n2")  # seq 3
    t.add("restart", node="n2", storage="volatile")  # seq 4
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 5
    t.add("send", id=9, src="n2", dst="n3", msg={"type": "promise", "ballot": [2, "n3"], "accepted": None})  # seq 6
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])  # seq 7
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")  # seq 8, 9: b chosen
    v = check(t.end().events)
    assert not v.ok
    agreement = [x for x in v.violations if x.kind == "agreement"]
    assert len(agreement) == 1
    text = agreement[0].explain()
    assert "'a' at (1, n1) (seq 2)" in text and "'b' at (2, n3) (seq 9)" in text
    assert "n2 voted 'a' at (1, n1) (seq 2), then promised (2, n3) (seq 6) reporting nothing" in text
    assert "restarted with volatile storage in between (seq 4)" in text
    assert {2, 4, 6, 7, 9} <= set(agreement[0].seqs)


def test_non_intersecting_quorums_are_named():
    t = T(nodes=("n1", "n2", "n3", "n4"), phase2=2)
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n4"])
    t.vote("n3", (2, "n3"), "b").vote("n4", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert "does not intersect" in text


def test_vote_below_promise_is_named():
    t = T()
    t.vote("n1", (1, "n1"), "a")
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 1
    t.vote("n2", (1, "n1"), "a")  # seq 2: below its promise
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert "n2 promised (2, n3) (seq 1) and then voted at the lower ballot (1, n1) (seq 2)" in text


def test_same_value_chosen_twice_is_fine():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n3"), "a").vote("n3", (2, "n3"), "a")
    v = check(t.end().events)
    assert v.ok and len(v.chosen) == 2


def test_votes_are_counted_per_distinct_acceptor():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n1", (1, "n1"), "a").vote("n1", (1, "n1"), "a")
    assert check(t.end().events).chosen == []


def test_learners_disagreeing():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n1", "a").decide("n2", "b")
    kinds = [x.kind for x in check(t.end().events).violations]
    assert "agreement" in kinds and "integrity" in kinds  # b was never chosen either


def test_decide_before_chosen_is_an_integrity_violation():
    t = T()
    t.vote("n1", (1, "n1"), "a")
    t.decide("n3", "a")
    t.vote("n2", (1, "n1"), "a")
    v = check(t.end().events)
    assert [x.kind for x in v.violations] == ["integrity"]
    assert "no quorum of acceptors had voted for it" in v.violations[0].message


def test_deciding_twice_and_changing_mind():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n3", "a").decide("n3", "a")
    assert "decided twice" in check(t.end().events).violations[0].message
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n2"), "b").vote("n3", (2, "n2"), "b")
    t.decide("n3", "a").add("crash", node="n3").add("restart", node="n3", storage="volatile").decide("n3", "b")
    msgs = [x.message for x in check(t.end().events).violations]
    assert any("n3 changed its mind" in m for m in msgs)


def test_redeciding_same_value_after_losing_storage_is_not_a_violation():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n3", "a").add("crash", node="n3").add("restart", node="n3", storage="volatile").decide("n3", "a")
    assert check(t.end().events).ok


def test_validity():
    t = T(values=("a",))
    t.vote("n1", (1, "n1"), "zzz").vote("n2", (1, "n1"), "zzz")
    v = check(t.end().events)
    assert [x.kind for x in v.violations] == ["validity"]


def test_undecided_is_not_a_violation_but_fails_decided_expectation():
    t = T()
    t.vote("n1", (1, "n1"), "a")
    t.add("crash", node="n2")
    v = check(t.end().events)
    assert v.ok and not v.decided and v.undecided == ["n1", "n3"] and v.down == ["n2"]
    assert evaluate_expect(v, {"decided": False}) == []
    assert evaluate_expect(v, {"decided": True}) == ["decided: expected every learner that is up to learn, but nobody decided"]


def test_safety_expectation():
    t = T()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n2"), "b").vote("n3", (2, "n2"), "b")
    v = check(t.end().events)
    assert evaluate_expect(v, {"safety": "holds"}) and evaluate_expect(v, {"safety": "may-violate"}) == []
