"""The checker on hand-written traces: it must fire on broken runs, explain
them with seq numbers, and stay quiet on good or merely undecided runs."""

import pytest

from paxsim.check import check, evaluate_expect
from paxsim.cli import main

from .conftest import ROOT
from .traces import Trace


def good_trace():
    t = Trace()
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
    t = Trace()
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
    t = Trace(nodes=("n1", "n2", "n3", "n4"), phase2=2)
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n4"])
    t.vote("n3", (2, "n3"), "b").vote("n4", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert "does not intersect" in text


def test_vote_below_promise_is_named():
    t = Trace()
    t.vote("n1", (1, "n1"), "a")
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 1
    t.vote("n2", (1, "n1"), "a")  # seq 2: below its promise
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    v = check(t.end().events)
    text = v.violations[0].explain()
    assert "n2 promised (2, n3) (seq 1) and then voted at the lower ballot (1, n1) (seq 2)" in text
    assert acceptor_findings(v) == ["n2 voted at (1, n1) (seq 2) below its promise (2, n3) (its promise at seq 1): "
                                    "an acceptor must refuse ballots below its promise"]


@pytest.mark.parametrize("storage", ["volatile", "durable"])
def test_a_promise_lost_to_a_restart_names_the_restart(storage):
    # Paxos on volatile storage: n2 promised (2, n3), restarted with nothing, and then
    # voted at (1, n1), a value the new ballot did not know.  The explanation blamed
    # the acceptor's rule, as if n2's code were wrong, and never named the restart.
    t = Trace()
    t.vote("n1", (1, "n1"), "a")  # seq 0
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 1
    t.add("crash", node="n2")  # seq 2
    t.add("restart", node="n2", storage=storage)  # seq 3
    t.vote("n2", (1, "n1"), "a")  # seq 4
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    v = check(t.end().events)
    agreement = [x for x in v.violations if x.kind == "agreement"]
    text = agreement[0].explain()
    if storage == "volatile":
        assert ("n2 promised (2, n3) (seq 1) and then voted at the lower ballot (1, n1) (seq 4): it restarted "
                "with volatile storage in between (seq 3) and forgot its promise") in text
        assert "must refuse" not in text
    else:  # its storage kept the promise: the acceptor broke the rule, and the restart is named
        assert ("n2 promised (2, n3) (seq 1) and then voted at the lower ballot (1, n1) (seq 4): an acceptor must "
                "refuse ballots below its promise; it restarted with durable storage in between (seq 3), which "
                "should have kept its promise") in text
    assert {1, 3, 4} <= set(agreement[0].seqs)


def test_a_promise_made_again_after_a_restart_is_the_one_the_vote_broke():
    # n2 promised (2, n3), restarted with nothing, promised (2, n3) again, and only
    # then voted at (1, n1).  The restart forgot the first promise, but the vote broke
    # the second: the explanation blamed the restart (it measured from the first).
    t = Trace()
    t.vote("n1", (1, "n1"), "a")  # seq 0
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 1
    t.add("crash", node="n2")  # seq 2
    t.add("restart", node="n2", storage="volatile")  # seq 3
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 4
    t.vote("n2", (1, "n1"), "a")  # seq 5
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 6: a duplicate prepare, after the vote
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    v = check(t.end().events)
    text = [x for x in v.violations if x.kind == "agreement"][0].explain()
    assert ("n2 promised (2, n3) (seq 4) and then voted at the lower ballot (1, n1) (seq 5): an acceptor must "
            "refuse ballots below its promise") in text
    assert "forgot" not in text and "restarted" not in text


def test_same_value_chosen_twice_is_fine():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n3"), "a").vote("n3", (2, "n3"), "a")
    v = check(t.end().events)
    assert v.ok and len(v.chosen) == 2


def test_votes_are_counted_per_distinct_acceptor():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n1", (1, "n1"), "a").vote("n1", (1, "n1"), "a")
    assert check(t.end().events).chosen == []


def test_learners_disagreeing():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n1", "a").decide("n2", "b")
    kinds = [x.kind for x in check(t.end().events).violations]
    assert "agreement" in kinds and "integrity" in kinds  # b was never chosen either


def test_decide_before_chosen_is_an_integrity_violation():
    t = Trace()
    t.vote("n1", (1, "n1"), "a")
    t.decide("n3", "a")
    t.vote("n2", (1, "n1"), "a")
    v = check(t.end().events)
    assert [x.kind for x in v.violations] == ["integrity"]
    assert "no quorum of acceptors had voted for it" in v.violations[0].message


def test_deciding_twice_and_changing_mind():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n3", "a").decide("n3", "a")
    assert "decided twice" in check(t.end().events).violations[0].message
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n2"), "b").vote("n3", (2, "n2"), "b")
    t.decide("n3", "a").add("crash", node="n3").add("restart", node="n3", storage="volatile").decide("n3", "b")
    msgs = [x.message for x in check(t.end().events).violations]
    assert any("n3 changed its mind" in m for m in msgs)


def test_redeciding_same_value_after_losing_storage_is_not_a_violation():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.decide("n3", "a").add("crash", node="n3").add("restart", node="n3", storage="volatile").decide("n3", "a")
    assert check(t.end().events).ok


def test_validity():
    t = Trace(values=("a",))
    t.vote("n1", (1, "n1"), "zzz").vote("n2", (1, "n1"), "zzz")
    v = check(t.end().events)
    assert [x.kind for x in v.violations] == ["validity"]


def test_undecided_is_not_a_violation_but_fails_decided_expectation():
    t = Trace()
    t.vote("n1", (1, "n1"), "a")
    t.add("crash", node="n2")
    v = check(t.end().events)
    assert v.ok and not v.decided and v.undecided == ["n1", "n3"] and v.down == ["n2"]
    assert evaluate_expect(v, {"decided": False}) == []
    assert evaluate_expect(v, {"decided": True}) == ["decided: expected every learner that is up to learn, but nobody decided"]


def test_safety_expectation():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    t.vote("n2", (2, "n2"), "b").vote("n3", (2, "n2"), "b")
    v = check(t.end().events)
    assert evaluate_expect(v, {"safety": "holds"}) and evaluate_expect(v, {"safety": "may-violate"}) == []


# -- issue 8, item 5: acceptor findings, and explanations that blame the right step ----------
def promise(t, node, ballot, to, accepted=None):
    """An acceptor's promise event and the promise message it sends to the proposer."""
    t.add("promise", node=node, ballot=list(ballot))
    acc = None if accepted is None else {"ballot": list(accepted[0]), "value": accepted[1]}
    return t.add("send", id=len(t.events), src=node, dst=to, msg={"type": "promise", "ballot": list(ballot),
                                                                   "accepted": acc})


def acceptor_findings(v):
    return [x.message for x in v.violations if x.kind == "acceptor"]


def test_a_correct_adoption_is_not_blamed_the_vote_below_the_promise_is():
    """The shape of `paxsim run scenarios/hunt/mixed.yaml --seed 1206 --bug accept-keeps-promise`."""
    t = Trace(values=("a", "x", "b"))
    t.vote("n1", (1, "n3"), "b").vote("n3", (1, "n3"), "b")  # seq 0, 1: 'b' chosen at (1, n3)
    t.vote("n1", (1, "n1"), "a")  # seq 2: below n1's promise (1, n3), overwriting its vote
    promise(t, "n1", (2, "n2"), "n2", ((1, "n1"), "a"))  # seq 3, 4
    promise(t, "n2", (2, "n2"), "n2")  # seq 5, 6
    t.add("propose", node="n2", ballot=[2, "n2"], value="a", quorum=["n2", "n1"])  # seq 7: adopted correctly
    t.vote("n1", (2, "n2"), "a")  # seq 8
    promise(t, "n1", (3, "n3"), "n3", ((2, "n2"), "a"))  # seq 9, 10
    promise(t, "n3", (3, "n3"), "n3", ((1, "n3"), "b"))  # seq 11, 12
    t.add("propose", node="n3", ballot=[3, "n3"], value="a", quorum=["n3", "n1"])  # seq 13: adopted correctly
    t.vote("n3", (3, "n3"), "a").vote("n1", (3, "n3"), "a")  # seq 14, 15: 'a' chosen at (3, n3)
    v = check(t.end().events)
    text = next(x for x in v.violations if x.kind == "agreement").explain()
    assert "should have adopted" not in text
    assert ("n2 proposed 'a' at (2, n2) (seq 7) after promises from n2, n1: the first proposal above (1, n3) "
            "with a value other than 'b'") in text
    assert ("n1 voted 'b' at (1, n3) (seq 0), then promised (2, n2) (seq 4) reporting (1, n1) 'a': it should have "
            "reported (1, n3) 'b'; in between it voted at the lower ballot (1, n1) (seq 2), below its promise, "
            "and so lost its vote") in text
    assert acceptor_findings(v) == [
        "n1 voted at (1, n1) (seq 2) below its promise (1, n3) (its vote at seq 0): an acceptor must refuse "
        "ballots below its promise"]
    finding = next(x for x in v.violations if x.kind == "acceptor")
    assert finding.seqs == (0, 2)
    assert [x.kind for x in v.violations][-1] == "acceptor"  # after the properties, which stay first


def test_a_wrong_adoption_is_blamed_on_the_proposer():
    t = Trace(values=("a", "x", "b"))
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")  # seq 0, 1: 'a' chosen
    promise(t, "n2", (2, "n3"), "n3", ((1, "n1"), "a"))  # seq 2, 3
    promise(t, "n3", (2, "n3"), "n3")  # seq 4, 5
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])  # seq 6: should be 'a'
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    v = check(t.end().events)
    text = v.violations[0].explain()
    assert ("n3 should have adopted 'a': of the promises its quorum sent it before it proposed, n2's (seq 3) "
            "reports the highest-ballot vote, (1, n1) 'a'; it proposed 'b'") in text
    assert "n2 voted 'a' at (1, n1) (seq 1), then promised (2, n3) (seq 3) reporting (1, n1) 'a': correct" in text
    assert acceptor_findings(v) == []


def test_a_quorum_member_that_never_promised_is_named():
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    promise(t, "n3", (2, "n3"), "n3")
    t.add("promise", node="n1", ballot=[9, "n1"])  # n2 never promised (2, n3); a refusal was counted
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n1", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert "n2 is counted in that quorum but never promised (2, n3): the proposer counted a reply that was no promise" in text


def test_a_quorum_member_that_promised_but_sent_no_promise_is_not_said_never_to_have_promised():
    # n2 promised (2, n3) (its state says so) but no promise message left it (it crashed
    # first, say): "never promised" contradicted the trace's own promise event
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")  # seq 0, 1
    promise(t, "n3", (2, "n3"), "n3")  # seq 2, 3
    t.add("promise", node="n2", ballot=[2, "n3"])  # seq 4: no message follows
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n1", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert ("n2 is counted in that quorum but sent n3 no promise for (2, n3) (it promised it at seq 4): the "
            "proposer counted a reply that was no promise") in text
    assert "never promised" not in text


def _late_promise_trace(event_before_proposal: bool):
    t = Trace()
    t.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")  # seq 0, 1
    promise(t, "n3", (2, "n3"), "n3")  # seq 2, 3
    if event_before_proposal:
        t.add("promise", node="n2", ballot=[2, "n3"])  # seq 4
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    if event_before_proposal:
        t.add("send", id=len(t.events), src="n2", dst="n3", msg={"type": "promise", "ballot": [2, "n3"],
                                                                  "accepted": None})  # seq 6
    else:
        t.add("promise", node="n2", ballot=[2, "n3"])  # seq 5
    t.vote("n3", (2, "n3"), "b").vote("n1", (2, "n3"), "b")
    return check(t.end().events).violations[0].explain()


def test_a_promise_after_the_proposal_is_named_by_its_event_or_its_message():
    # a promise event after the proposal, and no message: was "never promised"
    text = _late_promise_trace(False)
    assert "n2 is counted in that quorum but promised (2, n3) only after the proposal (seq 5)" in text
    assert "never promised" not in text
    # a promise event before the proposal, its message after: was "promised only after (seq 6)"
    text = _late_promise_trace(True)
    assert ("n2 is counted in that quorum but sent its promise of (2, n3) only after the proposal (seq 6; it "
            "promised at seq 4)") in text


def test_a_promise_message_before_a_vote_below_it_is_not_said_to_come_then():
    # a trace with promise messages but no promise events: "voted (seq 2), then promised (seq 1)"
    t = Trace()
    t.vote("n1", (1, "n1"), "a")  # seq 0
    t.add("send", id=1, src="n2", dst="n3", msg={"type": "promise", "ballot": [2, "n3"], "accepted": None})  # seq 1
    t.vote("n2", (1, "n1"), "a")  # seq 2
    t.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    t.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b")
    text = check(t.end().events).violations[0].explain()
    assert ("n2 promised (2, n3) (seq 1) and then voted at the lower ballot (1, n1) (seq 2): an acceptor must "
            "refuse ballots below its promise") in text
    assert "then promised" not in text


def test_the_quorum_sizes_named_are_the_ones_used():
    """The shape of a 7-node small-quorum run: a phase-1 quorum of 3 where 4 are configured."""
    t = Trace(nodes=tuple(f"n{i}" for i in range(1, 8)))
    for n in ("n1", "n2", "n3", "n4"):
        t.vote(n, (1, "n1"), "a")
    t.add("propose", node="n7", ballot=[2, "n7"], value="b", quorum=["n7", "n6", "n5"])
    for n in ("n7", "n6", "n5", "n4"):
        t.vote(n, (2, "n7"), "b")
    text = check(t.end().events).violations[0].explain()
    assert "its phase-1 quorum has 3 acceptor(s); the configuration asks for 4" in text
    assert ("that phase-1 quorum {n7, n6, n5} does not intersect the phase-2 quorum {n1, n2, n3, n4} that chose 'a' "
            "(quorum sizes used: phase 1 3 + phase 2 4 <= 7 nodes)") in text


def test_a_promise_that_goes_backwards_is_a_finding():
    t = Trace()
    t.add("promise", node="n1", ballot=[2, "n2"])  # seq 0
    t.add("promise", node="n1", ballot=[2, "n2"])  # seq 1: the same again is not backwards
    t.add("promise", node="n1", ballot=[1, "n3"])  # seq 2: backwards
    v = check(t.end().events)
    assert acceptor_findings(v) == ["n1's promise went backwards: (1, n3) (seq 2) after its promise at (2, n2) (seq 0)"]
    assert v.violations[0].seqs == (0, 2)
    # a vote raises the promise too
    t = Trace()
    t.vote("n1", (3, "n3"), "c").add("promise", node="n1", ballot=[2, "n2"])
    assert acceptor_findings(check(t.end().events)) == [
        "n1's promise went backwards: (2, n2) (seq 1) after its vote at (3, n3) (seq 0)"]


def test_storage_lives_decide_whether_a_promise_may_go_back():
    def after_restart(storage):
        t = Trace()
        t.add("promise", node="n1", ballot=[2, "n2"]).add("crash", node="n1")
        t.add("restart", node="n1", storage=storage).add("promise", node="n1", ballot=[1, "n3"])
        return check(t.end().events)

    assert after_restart("volatile").ok  # its storage is gone: a fresh acceptor (the volatile scenario)
    v = after_restart("durable")
    assert acceptor_findings(v) == ["n1's promise went backwards: (1, n3) (seq 3) after its promise at (2, n2) (seq 0)"]
    assert v.violations[0].details == ("it restarted with durable storage at seq 2 in between: its state should "
                                       "have survived",)


def test_repeated_findings_are_counted_into_the_first():
    t = Trace()
    t.add("promise", node="n2", ballot=[5, "n3"])
    for r in range(1, 4):
        t.vote("n2", (r, "n1"), "a")  # seq 1, 2, 3: each below (5, n3)
    v = check(t.end().events)
    (finding,) = [x for x in v.violations if x.kind == "acceptor"]
    assert finding.details == ("and again at seq 2, 3",) and finding.seqs == (0, 1, 2, 3)


def test_the_correct_protocol_has_no_acceptor_or_fail_stop_findings_under_a_slow_disk_and_crashes():
    from paxsim import load_scenario, simulate

    sc = load_scenario(ROOT / "scenarios" / "hunt" / "crashes.yaml").with_changes(write_latency=3.0)
    for seed in range(150):
        assert simulate(sc, seed).verdict.ok, seed


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios" / "bugs").glob("*.yaml")), ids=lambda p: p.stem)
def test_explanations_are_the_same_on_memory_and_file_forms(path):
    """Run.verdict explains from the events it keeps (promise messages, no
    deliveries); a trace file must get the same words."""
    from paxsim import load_scenario, simulate

    run = simulate(load_scenario(path), 0)
    assert check(run.lines_as_events()).to_json() == run.verdict.to_json()


# -- the two examples, through the CLI ----------------------------------------------
def test_mixed_1206_accept_keeps_promise_blames_the_acceptor_not_the_proposer(runner):
    result = runner.invoke(main, ["run", str(ROOT / "scenarios/hunt/mixed.yaml"), "--seed", "1206",
                                  "--bug", "accept-keeps-promise"])
    assert result.exit_code == 1
    out = result.stdout
    assert "agreement: two values chosen" in out and "should have adopted" not in out
    assert "in between it voted at the lower ballot (1, n1) (seq 74), below its promise, and so lost its vote" in out
    assert ("acceptor: n1 voted at (1, n1) (seq 74) below its promise (1, n3) (its vote at seq 62): an acceptor "
            "must refuse ballots below its promise") in out


FLAPPING_7 = """
name: flapping-7
nodes: 7
duration: 1s
protocol: {retry: {timeout: 20ms, backoff: 1.5, jitter: 0.5, max: 200ms}}
proposers: [{node: n1, value: a}, {node: n4, value: b, at: 3ms}, {node: n7, value: c, at: 6ms}]
network: {latency: {dist: lognormal, median: 3ms, sigma: 0.6}}
faults:
  - {at: 5ms, partition: [[n1, n2, n3], [n4, n5, n6, n7]]}
  - {at: 40ms, partition: [[n1, n2, n3, n4], [n5, n6, n7]]}
  - {at: 80ms, partition: [[n1, n2, n3], [n4, n5, n6, n7]]}
  - {at: 120ms, heal: all}
"""


def test_seven_node_small_quorum_names_the_quorum_sizes_used(runner, write):
    f = write(FLAPPING_7)
    result = runner.invoke(main, ["run", str(f), "--seed", "7", "--bug", "small-quorum"])
    assert result.exit_code == 1
    assert "n1 proposed 'a' at (2, n1) (seq 245) after promises from n1, n2, n3" in result.stdout
    assert ("that phase-1 quorum {n1, n2, n3} does not intersect the phase-2 quorum {n7, n5, n6, n4} that chose 'b' "
            "(quorum sizes used: phase 1 3 + phase 2 4 <= 7 nodes)") in result.stdout
    assert "phase1 4" not in result.stdout
