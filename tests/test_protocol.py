"""The pure roles, without any simulator."""

from paxsim.protocols.single import (
    Broadcast,
    Accept,
    Accepted,
    Acceptor,
    Ballot,
    Decided,
    Learn,
    Learned,
    Learner,
    Nack,
    Node,
    NodeConfig,
    Persist,
    Prepare,
    Promise,
    Promised,
    Proposed,
    Proposer,
    RetryPolicy,
    Send,
    SetTimer,
    Voted,
    message_from_json,
)

from .cluster import Cluster, sends

B = Ballot


def cfg(name="n1", n=3, **kw):
    names = tuple(f"n{i}" for i in range(1, n + 1))
    q = n // 2 + 1
    return NodeConfig(name, names, kw.get("phase1", q), kw.get("phase2", q), RetryPolicy(10, 2, 0.5, 100))


# -- acceptor ------------------------------------------------------------------
def test_acceptor_promises_only_higher_ballots():
    a = Acceptor()
    effects = a.on_prepare("n1", Prepare(B(1, "n1")))
    assert effects == [Persist("acceptor", (B(1, "n1"), None)), Promised(B(1, "n1")), Send("n1", Promise(B(1, "n1"), None))]
    # the same ballot again (a duplicate) and a lower one are refused with the promise
    assert a.on_prepare("n1", Prepare(B(1, "n1"))) == [Send("n1", Nack(B(1, "n1"), B(1, "n1")))]
    assert a.on_prepare("n2", Prepare(B(0, "n2"))) == [Send("n2", Nack(B(0, "n2"), B(1, "n1")))]
    assert a.on_prepare("n2", Prepare(B(1, "n2")))[-1] == Send("n2", Promise(B(1, "n2"), None))


def test_acceptor_persists_before_it_replies():
    a = Acceptor()
    for effects in (a.on_prepare("n1", Prepare(B(1, "n1"))), a.on_accept("n1", Accept(B(1, "n1"), "x"))):
        kinds = [type(e) for e in effects]
        assert kinds.index(Persist) < kinds.index(Send)


def test_acceptor_accepts_at_or_above_promise_and_raises_promise():
    a = Acceptor()
    a.on_prepare("n1", Prepare(B(2, "n1")))
    assert a.on_accept("n2", Accept(B(1, "n2"), "low")) == [Send("n2", Nack(B(1, "n2"), B(2, "n1")))]
    effects = a.on_accept("n3", Accept(B(3, "n3"), "high"))
    assert Voted(B(3, "n3"), "high") in effects and Send("n3", Accepted(B(3, "n3"))) in effects
    assert a.promised == B(3, "n3")
    # the promise was raised: a prepare at the old promise is now refused
    assert a.on_prepare("n1", Prepare(B(2, "n1")))[0] == Send("n1", Nack(B(2, "n1"), B(3, "n3")))


def test_acceptor_reports_its_last_vote_in_promises():
    a = Acceptor()
    a.on_accept("n1", Accept(B(1, "n1"), "x"))
    assert a.on_prepare("n2", Prepare(B(2, "n2")))[-1] == Send("n2", Promise(B(2, "n2"), (B(1, "n1"), "x")))


def test_acceptor_restored_from_storage():
    a = Acceptor()
    effects = a.on_accept("n1", Accept(B(1, "n1"), "x"))
    stored = next(e.data for e in effects if isinstance(e, Persist))
    b = Acceptor(stored)
    assert b.on_prepare("n2", Prepare(B(1, "n0")))[0] == Send("n2", Nack(B(1, "n0"), B(1, "n1")))
    assert b.on_prepare("n2", Prepare(B(2, "n2")))[-1] == Send("n2", Promise(B(2, "n2"), (B(1, "n1"), "x")))


# -- proposer ------------------------------------------------------------------
def test_proposer_sends_prepare_to_all_and_persists_round_first():
    p = Proposer(cfg())
    effects = p.propose("v")
    assert effects[0] == Persist("proposer", 1)
    assert sends(effects) == [(n, Prepare(B(1, "n1"))) for n in ("n1", "n2", "n3")]
    assert isinstance(effects[-1], SetTimer) and effects[-1].name == "retry"


def test_proposer_adopts_highest_ballot_reported_value():
    p = Proposer(cfg(n=5))
    p.propose("mine")
    b = B(1, "n1")
    assert p.on_promise("n2", Promise(b, (B(0, "n4"), "older"))) == []
    assert p.on_promise("n3", Promise(b, None)) == []
    effects = p.on_promise("n4", Promise(b, (B(0, "n5"), "newer")))
    assert Proposed(b, "newer", ("n2", "n3", "n4")) in effects
    assert ("n5", Accept(b, "newer")) in sends(effects)


def test_proposer_uses_own_value_when_nothing_reported_and_counts_distinct_acceptors():
    p = Proposer(cfg())
    p.propose("mine")
    b = B(1, "n1")
    assert p.on_promise("n2", Promise(b, None)) == []
    assert p.on_promise("n2", Promise(b, None)) == []  # duplicate: still one acceptor
    effects = p.on_promise("n3", Promise(b, None))
    assert Proposed(b, "mine", ("n2", "n3")) in effects
    assert p.on_accepted("n2", Accepted(b)) == []
    assert p.on_accepted("n2", Accepted(b)) == []
    effects = p.on_accepted("n3", Accepted(b))
    assert [dst for dst, msg in sends(effects) if msg == Learn("mine")] == ["n1", "n2", "n3"]


def test_proposer_ignores_stale_replies():
    p = Proposer(cfg())
    p.propose("v")
    assert p.on_promise("n2", Promise(B(7, "n9"), None)) == []
    assert p.on_accepted("n2", Accepted(B(1, "n1"))) == []  # not in phase 2 yet


def test_proposer_backs_off_on_higher_nack_and_retries_above_it():
    p = Proposer(cfg())
    p.propose("v")
    effects = p.on_nack("n2", Nack(B(1, "n1"), B(5, "n3")))
    assert effects and isinstance(effects[0], SetTimer) and effects[0].name == "retry"
    retry = p.on_retry()
    prepare = sends(retry)[0][1]
    assert prepare.ballot == B(6, "n1")
    # a nack that only echoes our own ballot (a duplicated prepare) is no reason to retry
    assert p.on_nack("n2", Nack(B(6, "n1"), B(6, "n1"))) == []


def test_retry_windows_grow_and_are_capped():
    policy = RetryPolicy(timeout=10, backoff=2, jitter=0.5, max=35)
    assert policy.window(0) == (5, 15)
    assert policy.window(1) == (10, 30)
    assert policy.window(5) == (17.5, 52.5)


def test_ballots_order_by_round_then_node():
    assert B(1, "n2") > B(1, "n1") and B(2, "n1") > B(1, "n9")


# -- learner and node ----------------------------------------------------------
def test_learner_decides_once_and_acknowledges_every_learn():
    learner = Learner()
    effects = learner.on_learn("n1", Learn("x"))
    assert effects == [Persist("learner", "x"), Decided("x"), Send("n1", Learned("x"))]
    # a repeated learn is acknowledged once the decision is durable (re-persisting orders the reply)
    assert learner.on_learn("n2", Learn("x")) == [Persist("learner", "x"), Send("n2", Learned("x"))]


def test_announcer_resends_learn_until_acknowledged():
    node = Node(cfg(), {"learner": "x"})  # decided before: proposing just announces
    first = node.propose("ignored")
    assert [e.dst for e in first if isinstance(e, Send)] == [] and Broadcast(("n1", "n2", "n3"), Learn("x")) in first
    node.on_message("n1", Learned("x"))
    node.on_message("n2", Learned("x"))
    resend = node.on_timer("learn")
    assert Broadcast(("n3",), Learn("x")) in resend
    node.on_message("n3", Learned("x"))
    assert node.on_timer("learn") == []


def test_decided_node_answers_prepare_with_learn():
    node = Node(cfg("n2"), {"learner": "x"})
    effects = node.on_message("n1", Prepare(B(4, "n1")))
    assert Send("n1", Learn("x")) in effects


def test_restarted_proposer_keeps_its_round():
    c = Cluster(3)
    c.propose("n1", "a")
    c.crash("n1")
    c.restart("n1")
    c.pool.clear()
    c.propose("n1", "a")
    assert c.pool[0][2] == Prepare(B(2, "n1"))


def test_messages_round_trip_through_json():
    msgs = [Prepare(B(1, "n1")), Promise(B(1, "n1"), None), Promise(B(2, "n1"), (B(1, "n2"), "v")),
            Nack(B(1, "n1"), B(2, "n2")), Accept(B(1, "n1"), 7), Accepted(B(1, "n1")), Learn("v"), Learned("v")]
    for m in msgs:
        assert message_from_json(m.to_json()) == m


# -- whole cluster, in memory ----------------------------------------------------
def test_cluster_decides_on_a_clean_network():
    c = Cluster(5)
    c.propose("n1", "apple")
    c.run_until_quiet()
    assert c.chosen() == {"apple"}
    assert sorted(n for n, _ in c.decisions) == ["n1", "n2", "n3", "n4", "n5"]


def test_second_proposer_adopts_chosen_value():
    c = Cluster(3)
    c.propose("n1", "apple")
    c.run_until_quiet()
    c.propose("n3", "banana")  # n3 already decided: it announces apple instead
    c.run_until_quiet()
    assert c.chosen() == {"apple"}
    # even a fresh node that has not learned adopts the chosen value
    fresh = Cluster(3)
    fresh.propose("n1", "apple")
    while fresh.pool:  # deliver everything except learns to n3
        src, dst, msg = fresh.pool[0]
        if isinstance(msg, Learn) and dst == "n3":
            fresh.pool.pop(0)
            continue
        fresh.deliver(0)
    fresh.propose("n3", "banana")
    fresh.run_until_quiet()
    assert fresh.chosen() == {"apple"}
    assert {v for _, v in fresh.decisions} == {"apple"}
