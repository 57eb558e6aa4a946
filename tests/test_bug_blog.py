"""The `blog` preset: the tutorial's node as a set of mutants in the pure
roles, each a real change, caught by a sweep in simulated time."""

from paxsim.cli import main
from paxsim.protocols.single import (
    BUGS,
    CONTROL_BUGS,
    PRESETS,
    Accept,
    Accepted,
    Acceptor,
    Ballot,
    Learn,
    Node,
    NodeConfig,
    Prepare,
    Promise,
    RetryPolicy,
    Send,
    SetTimer,
)

from .conftest import ROOT

B = Ballot
NAMES = ("n1", "n2", "n3")


def cfg(bugs=()):
    return NodeConfig("n1", NAMES, 2, 2, RetryPolicy(10, 2, 0.5, 100), bugs=frozenset(bugs))


def test_the_preset_is_listed_and_expands_to_documented_mutants():
    assert set(PRESETS["blog"]) <= set(BUGS) and "blog" in BUGS
    assert cfg(["blog"]).bugs == frozenset(PRESETS["blog"])
    for part in ("reused-ballot", "counts-refusals", "amnesia"):  # reused, not rewritten
        assert part in PRESETS["blog"]
    assert {"accept-equal-only", "no-retry"} <= CONTROL_BUGS


def test_hides_accepted_promises_without_the_vote():
    for bugs, reported in ((frozenset(), (B(1, "n1"), "v")), (frozenset({"hides-accepted"}), None)):
        acc = Acceptor(bugs=bugs)
        acc.on_accept("n1", Accept(B(1, "n1"), "v"))
        reply = [e for e in acc.on_prepare("n2", Prepare(B(2, "n2"))) if isinstance(e, Send)][0]
        assert reply.msg == Promise(B(2, "n2"), reported)


def test_accept_equal_only_refuses_higher_ballots_and_unpromised_ones():
    for bugs, votes in ((frozenset(), True), (frozenset({"accept-equal-only"}), False)):
        acc = Acceptor(bugs=bugs)
        acc.on_prepare("n1", Prepare(B(1, "n1")))
        assert any(isinstance(e, Send) and isinstance(e.msg, Accepted)
                   for e in acc.on_accept("n2", Accept(B(2, "n2"), "v"))) == votes
    fresh = Acceptor(bugs=frozenset({"accept-equal-only"}))
    assert [type(e.msg).__name__ for e in fresh.on_accept("n2", Accept(B(1, "n2"), "v"))] == ["Nack"]


def test_counts_self_twice_decides_on_one_vote_of_three():
    def votes_needed(bugs):
        node = Node(cfg(bugs))
        node.propose("v")
        for src in ("n1", "n2"):
            node.on_message(src, Promise(node.proposer.ballot, None))
        for i, src in enumerate(NAMES, 1):
            if node.on_message(src, Accepted(node.proposer.ballot)):
                return i
    assert votes_needed(()) == 2
    assert votes_needed(["counts-self-twice"]) == 1


def test_reset_after_learn_forgets_everything_and_decides_again():
    for bugs, forgets in (((), False), (["reset-after-learn"], True)):
        node = Node(cfg(bugs))
        node.on_message("n2", Prepare(B(1, "n2")))
        node.on_message("n2", Learn("v"))
        assert (node.decided is None) == forgets and (node.acceptor.promised is None) == forgets


def test_no_retry_sets_no_timer():
    for bugs, timers in (((), True), (["no-retry"], False)):
        effects = Node(cfg(bugs)).propose("v")
        assert any(isinstance(e, SetTimer) for e in effects) == timers


def test_a_sweep_catches_the_blog_preset(runner, tmp_path):
    out = tmp_path / "sweep.jsonl"
    result = runner.invoke(main, ["sweep", str(ROOT / "examples/blog.yaml"), "--seeds", "0:20", "--bug", "blog",
                                  "-o", str(out), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "violated in 20 run(s)" in result.output
    result = runner.invoke(main, ["sweep", str(ROOT / "examples/blog.yaml"), "--seeds", "0:20",
                                  "-o", str(tmp_path / "correct.jsonl"), "--no-progress"])
    assert result.exit_code == 0, result.output
