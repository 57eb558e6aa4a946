"""The checker's batch loop (`Checker.extend`, what `check()` and
`Run.verdict` use) against its general path (`Checker.append`, one event at a
time, as the runtime feeds a lean run): the same verdict, to every field, on
violating and non-violating runs, whole or cut short, and on hand-written
traces that take each way out of the batch loop."""

import pytest

import paxsim
from paxsim.check import Checker, check
from paxsim.sim import DISCARD

from .conftest import ROOT
from .traces import Trace


def verdict_fields(v):
    return (
        [(x.kind, x.message, x.details, x.seqs) for x in v.violations],
        [(c.ballot, c.value, c.voters, c.vote_seqs, c.seq, c.t) for c in v.chosen],
        v.decisions, v.undecided, v.down, v.end_t, v.messages, v.incomplete,
        None if v.liveness is None else repr(v.liveness), v.budget,
    )


def one_at_a_time(events, explain=True):
    """The general path: a header-less checker fed every event by `append`, in seq order."""
    checker = Checker(None, explain)
    checker.append(events[0])
    for ev in sorted(events[1:], key=lambda e: e["seq"]):
        checker.append(ev)
    return checker.finish(events if explain else None)


def assert_same(events, explain=True):
    fast = check(events, in_order=True, explain=explain)
    general = one_at_a_time(events, explain)
    assert verdict_fields(fast) == verdict_fields(general)
    assert verdict_fields(check(events, explain=explain)) == verdict_fields(general)  # the sorting path
    return fast


def single_decree(paths):
    return [p for p in paths if paxsim.load_scenario(p).kind == "single-decree"]  # others: their own checker


BUGS = single_decree(sorted((ROOT / "scenarios" / "bugs").glob("*.yaml")))
GOOD = [ROOT / "scenarios" / f"{name}.yaml" for name in
        ("happy", "lossy", "duel", "crash-minority", "crash-majority", "volatile", "partition", "duplicates")]


@pytest.mark.parametrize("path", BUGS + GOOD, ids=lambda p: p.stem)
def test_batch_and_general_paths_agree_on_shipped_scenarios(path):
    sc = paxsim.load_scenario(path)
    for seed in range(3):
        run = paxsim.simulate(sc, seed)
        events = run.events
        full = assert_same(events)
        lean = assert_same(run._observed, explain=False)  # what Run.verdict reads first
        if full.ok:
            assert verdict_fields(lean) == verdict_fields(full)
        assert verdict_fields(run.verdict) == verdict_fields(full)
        streamed = paxsim.simulate(sc, seed, sink=DISCARD)  # fed to a Checker one event at a time by the runtime
        assert verdict_fields(streamed.verdict) == verdict_fields(full)
        for cut in (len(events) // 3, len(events) // 2, len(events) - 1):  # no `end`: incomplete
            assert assert_same(events[:cut]).incomplete is not None


def test_the_shipped_bugs_are_caught_by_the_batch_path():
    kinds = set()
    for path in BUGS:
        v = check(paxsim.simulate(paxsim.load_scenario(path)).events, in_order=True)
        kinds.update(x.kind for x in v.violations)
    assert {"agreement", "integrity", "acceptor"} <= kinds


def hand_written():
    """Traces that leave the batch loop for `append` at every kind it hands over."""
    down = Trace()
    down.add("propose", node="n1", ballot=[1, "n1"], value="a", quorum=["n1", "n2"])
    down.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    down.add("crash", node="n1").add("crash", node="n1")
    down.add("promise", node="n1", ballot=[2, "n1"]).vote("n1", (2, "n1"), "a")
    down.add("propose", node="n1", ballot=[3, "n1"], value="a", quorum=["n1", "n2"])
    down.decide("n1", "a", t=4.0).add("restart", node="n1", storage="volatile").add("restart", node="n1")
    down.decide("n2", "a", t=5.0).decide("n1", "a", t=6.0).add("partition", groups=[["n1"], ["n2", "n3"]])
    yield down.end().events

    below = Trace()
    below.add("promise", node="n1", ballot=[5, "n2"]).add("promise", node="n1", ballot=[2, "n3"])
    below.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").vote("n2", (1, "n1"), "a")
    below.decide("n3", "b").decide("n2", "a").decide("n2", "a")
    yield below.end().events

    two = Trace()
    two.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").decide("n1", "a")
    two.add("send", id=3, src="n2", dst="n3", msg={"type": "promise", "ballot": [2, "n3"], "accepted": None})
    two.add("propose", node="n3", ballot=[2, "n3"], value="b", quorum=["n3", "n2"])
    two.vote("n3", (2, "n3"), "b").vote("n2", (2, "n3"), "b").decide("n3", "b")
    yield two.end().events

    same = Trace(values=("b",))  # "a" is chosen but nobody proposed it
    same.vote("n1", (1, "n1"), "a").vote("n2", (1, "n1"), "a").vote("n2", (2, "n2"), "a")
    same.vote("n3", (2, "n2"), "a").decide("n1", "a").decide("n2", "c")
    yield same.events  # and no end


@pytest.mark.parametrize("explain", [True, False])
def test_batch_and_general_paths_agree_on_hand_written_traces(explain):
    verdicts = [assert_same(events, explain) for events in hand_written()]
    assert all(not v.ok for v in verdicts)
    kinds = {x.kind for v in verdicts for x in v.violations}
    assert kinds == {"agreement", "integrity", "acceptor", "fail-stop", "validity"}
    assert verdicts[-1].incomplete is not None


def test_a_header_less_checker_takes_the_header_from_its_first_batch():
    events = next(hand_written())
    checker = Checker(None)
    checker.extend(events[:4])
    checker.extend(events, 4)
    assert verdict_fields(checker.finish(events)) == verdict_fields(one_at_a_time(events))


@pytest.mark.parametrize("explain", [True, False])
def test_a_promise_without_seq_is_refused_by_both_paths(explain):
    """Found by review: the batch path read a raising promise's `seq` only
    when it needed it, so an event without one passed where `append` fails.
    `read_trace` rejects such a line; the two paths must still agree."""
    events = [{"kind": "header", "scenario": {"nodes": ["n1", "n2", "n3"]}},
              {"seq": 0, "t": 0, "kind": "promise", "node": "n1", "ballot": [1, "n1"]},
              {"t": 1, "kind": "promise", "node": "n1", "ballot": [1, "n1"]},
              {"seq": 2, "t": 2, "kind": "end", "messages": {}}]
    general = Checker(events[0], explain)
    with pytest.raises(KeyError):
        for ev in events[1:]:
            general.append(ev)
    with pytest.raises(KeyError):
        check(events, in_order=True, explain=explain)
