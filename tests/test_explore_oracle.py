"""paxsim explore against an independent brute-force search (tests/explore_oracle.py).

"exhausted: no schedule violates ..." is a proof only if the reductions
(pruning, dead messages, reboots, covering, symmetry, canonical role state)
lose nothing.  The oracle has none of them: on configurations small enough
for it, the explorer with its defaults must find a violation exactly when
the oracle does, at the same shortest length, of a kind the oracle sees at
that length."""

import json

import pytest

from paxsim.cli import main
from paxsim.explore import explore, model_for
from paxsim.protocols.single import BUGS
from paxsim.scenario import Explore, parse_scenario

from .explore_oracle import Oracle, search


def config(nodes: int, proposers: int, bugs=(), storage: str = "durable", learning: str = "proposer"):
    text = f"nodes: {nodes}\nproposers:\n" + "".join(
        f"  - {{node: n{i + 1}, value: {'abc'[i]}}}\n" for i in range(proposers))
    text += f"protocol: {{storage: {storage}, learning: {learning}, bugs: [{', '.join(bugs)}]}}\n"
    return parse_scenario(text)


def check_against_oracle(sc, **budgets):
    length, kinds, _states = search(Oracle(sc, **budgets), max_states=200_000)
    res = explore(model_for(sc, Explore(**budgets)))
    assert res.exhausted or res.violation is not None
    if length is None:
        assert res.violation is None and res.exhausted, res.violation
    else:
        assert res.violation is not None, f"the oracle finds {sorted(kinds)} in {length} transitions"
        assert len(res.path) == length and res.violation[0] in kinds, (len(res.path), res.violation, kinds)


# -- a finding: "chosen" used the quorum a bug shrinks, not the configured one -----------------------
def test_a_decision_on_a_quorum_the_bug_shrank_is_an_integrity_violation(runner, write):
    # small-quorum makes the roles count N//2: on 3 nodes, n1 decides on its own vote alone.  The
    # checker calls that an integrity violation (no configured quorum voted for it); the explorer
    # counted "chosen" with the bug's quorum too and printed "exhausted: no schedule violates".
    path = write("nodes: 3\nproposers: [{node: n1, value: a}]\n")
    result = runner.invoke(main, ["explore", str(path), "--bug", "small-quorum", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["violation"]["kind"] == "integrity" and data["counterexample_length"] == 1
    assert data["replayed"]
    run = runner.invoke(main, ["run", str(path), "--bug", "small-quorum"])
    assert "integrity: n1 decided 'a'" in run.stdout and "but no quorum of acceptors had voted for it" in run.stdout


# -- every mutant and the correct protocol, against the oracle -------------------------------------------
@pytest.mark.parametrize("bug", [None, *BUGS])
def test_two_nodes_no_faults_same_verdicts_as_the_oracle(bug):
    check_against_oracle(config(2, 2, [bug] if bug else []))


# -- a finding: the last timer firing retried with a forgotten round ---------------------------------------
def test_the_last_timer_firing_retries_with_a_higher_ballot(runner, write):
    # Spending the last timer firing forgot every proposer's rounds (only a retry reads them)
    # *before* running that very retry, so it reused ballot (1, n1): with counts-refusals the
    # acceptor's nack of its own promised ballot then counted as a vote, and the explorer reported
    # an integrity violation that no run has (its replay did not show it; "an explorer bug").
    path = write("nodes: 2\nproposers: [{node: n1, value: a}]\nexplore: {timers: 1}\n")
    result = runner.invoke(main, ["explore", str(path), "--bug", "counts-refusals"])
    assert result.exit_code == 0, result.output
    assert "exhausted: no schedule violates" in result.stdout and "explorer bug" not in result.stdout
    # the retry's ballot is a new one: the second prepare n2 sees is (2, n1)
    sc = config(2, 1)
    model = model_for(sc, Explore(timers=1))
    state = model.initial()
    for label in [("propose", 0), ("timer", 0, "retry")]:
        state, violation = model.apply(state, label)
    sent = sorted(entry[4].ballot for entry in state[1] if type(entry[4]).__name__ == "Prepare")
    assert sent == [(1, "n1"), (2, "n1")]


@pytest.mark.parametrize("bug", [None, *BUGS])
def test_one_proposer_with_a_timer_firing_same_verdicts_as_the_oracle(bug):
    check_against_oracle(config(2, 1, [bug] if bug else []), timers=1)


# -- crashes and restarts, duplicates, several timer firings, volatile storage, symmetry ----------------
# (configurations the oracle exhausts in about a second each; the sweep behind the README's numbers
# ran every mutant on these and more, by hand)
STRESS = [
    ((2, 1), {"crash": 2, "restart": 2}, [None, "amnesia", "reset-after-learn", "counts-refusals"]),
    ((2, 1, (), "volatile"), {"crash": 1, "restart": 1}, [None, "counts-refusals"]),
    ((2, 1), {"duplicate": 1, "timers": 1}, [None, "counts-duplicates", "counts-refusals"]),
    ((2, 1), {"timers": 2}, [None, "no-retry", "counts-refusals", "reused-ballot"]),
    ((2, 2), {"crash": 1, "restart": 0}, [None, "amnesia", "ignore-accepted"]),
    ((2, 2), {"loss": 1}, [None, "hides-accepted"]),
    ((3, 1), {}, [None, "counts-duplicates", "counts-self-twice"]),  # symmetry: n2 and n3 interchangeable
]


@pytest.mark.slow
@pytest.mark.parametrize("shape,budgets,bug", [(shape, budgets, bug) for shape, budgets, bugs in STRESS
                                               for bug in bugs])
def test_faults_same_verdicts_as_the_oracle(shape, budgets, bug):
    nodes, proposers, *rest = shape
    storage = rest[1] if len(rest) > 1 else "durable"
    check_against_oracle(config(nodes, proposers, [bug] if bug else [], storage), **budgets)
