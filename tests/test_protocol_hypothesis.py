"""Agreement under any schedule: Hypothesis delivers, drops, duplicates and
reorders messages among the pure roles, fires timers and crashes and restarts
nodes (with durable storage), and checks safety after every step."""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .cluster import Cluster

NAMES = ["n1", "n2", "n3", "n4", "n5"]
VALUES = ["apple", "banana", "cherry"]


class PaxosSchedules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c = Cluster(5)
        self.proposed: dict[str, str] = {}

    @rule(node=st.sampled_from(NAMES), value=st.sampled_from(VALUES))
    def propose(self, node, value):
        if self.c.up[node] and node not in self.proposed:
            self.proposed[node] = value
            self.c.propose(node, value)

    @precondition(lambda self: self.c.pool)
    @rule(data=st.data())
    def deliver_any(self, data):  # picking any message reorders
        self.c.deliver(data.draw(st.integers(0, len(self.c.pool) - 1)))

    @precondition(lambda self: self.c.pool)
    @rule(data=st.data())
    def drop(self, data):
        self.c.pool.pop(data.draw(st.integers(0, len(self.c.pool) - 1)))

    @precondition(lambda self: self.c.pool)
    @rule(data=st.data())
    def duplicate(self, data):
        self.c.pool.append(self.c.pool[data.draw(st.integers(0, len(self.c.pool) - 1))])

    @rule(node=st.sampled_from(NAMES), timer=st.sampled_from(["retry", "learn"]))
    def fire(self, node, timer):
        self.c.fire(node, timer)

    @rule(node=st.sampled_from(NAMES))
    def crash(self, node):
        if self.c.up[node] and sum(self.c.up.values()) > 3:
            self.c.crash(node)

    @rule(node=st.sampled_from(NAMES))
    def restart(self, node):
        if not self.c.up[node]:
            self.c.restart(node)
            if node in self.proposed:
                self.c.propose(node, self.proposed[node])

    @invariant()
    def agreement(self):
        chosen = self.c.chosen()
        assert len(chosen) <= 1, f"two values chosen: {chosen}"
        decided = {v for _, v in self.c.decisions}
        assert decided <= chosen, f"decided {decided} but chosen {chosen}"

    @invariant()
    def validity(self):
        assert self.c.chosen() <= set(self.proposed.values())


PaxosSchedules.TestCase.settings = settings(max_examples=300, stateful_step_count=80, deadline=None)
TestPaxosSchedules = PaxosSchedules.TestCase


def deliver_all_avoiding(c: Cluster, node: str) -> None:
    """Deliver every message that neither comes from nor goes to `node`."""
    while True:
        idx = next((i for i, (src, dst, _) in enumerate(c.pool) if node not in (src, dst)), None)
        if idx is None:
            return
        c.deliver(idx)


def test_the_schedule_search_can_find_a_violation():
    """The same harness must catch a broken cluster: with volatile storage,
    this fixed schedule chooses two values and the invariant fires."""
    c = Cluster(3, durable=False)
    c.propose("n1", "apple")
    deliver_all_avoiding(c, "n3")  # n1 and n2 vote for apple
    assert c.chosen() == {"apple"}
    c.pool.clear()
    c.crash("n2")
    c.restart("n2")  # forgets its vote
    c.propose("n3", "banana")
    deliver_all_avoiding(c, "n1")  # n3 and the amnesiac n2 choose banana
    assert c.chosen() == {"apple", "banana"}
    machine = PaxosSchedules()
    machine.c = c
    machine.proposed = {"n1": "apple", "n3": "banana"}
    try:
        machine.agreement()
    except AssertionError:
        return
    raise AssertionError("the agreement invariant did not fire")
