"""`paxsim linearizable` against an independent brute-force oracle (tests/lin_oracle.py).

Random small histories (registers with read / write / cas, the key-value
model with several keys and get / put / append / cas; concurrent, failed,
unknown and never-completed operations, clients that crash; results from a
real execution, then often mutated: a read's value swapped, a cas flipped, a
completion moved, an operation dropped), written in each of the three
formats and read back through `lin.parse_history`.  The checker must give
the oracle's verdict on every one, and every explanation must say only what
the oracle confirms.
"""

from __future__ import annotations

import random

import pytest

from paxsim import lin
from paxsim.cli import main

from . import lin_oracle as oracle

COMBOS = [("register", "paxsim"), ("register", "jepsen-log"), ("kv", "paxsim"), ("kv", "jepsen-edn")]


def _case(seed: int):
    rng = random.Random(seed)
    model, fmt = COMBOS[seed % len(COMBOS)]
    keys = rng.randint(1, 3) if model == "kv" else 1
    events, initial = oracle.random_history(rng, model, fmt, rng.randint(1, 10), rng.randint(1, 5), keys)
    return model, fmt, events, initial


def test_the_oracle_itself_gets_hand_checked_answers():
    def ev(t, p, f, value=None, key=None):
        return {"type": t, "process": p, "f": f, "key": key, "value": value}

    stale = [ev("invoke", 1, "write", 1), ev("ok", 1, "write"), ev("invoke", 2, "write", 2), ev("ok", 2, "write"),
             ev("invoke", 3, "read"), ev("ok", 3, "read", 1)]
    assert oracle.linearizable(oracle.operations(stale, "paxsim"), None) is False
    late = [ev("invoke", 1, "write", 5), ev("info", 1, "write", 5), ev("invoke", 2, "write", 6), ev("ok", 2, "write"),
            ev("invoke", 3, "read"), ev("ok", 3, "read", 5)]  # the unknown write lands after the known one
    assert oracle.linearizable(oracle.operations(late, "paxsim"), None) is True
    cas = [ev("invoke", 1, "cas", [None, 1]), ev("fail", 1, "cas", [None, 1])]  # Jepsen: the compare failed
    assert oracle.linearizable(oracle.operations(cas, "jepsen-log"), None) is False
    assert oracle.linearizable(oracle.operations(cas, "paxsim"), None) is True  # paxsim: not applied
    ops = oracle.operations(stale, "paxsim")
    assert oracle.linearizable(ops, None, relaxed=frozenset({1})) is True  # write 2 may not have happened


@pytest.mark.slow
def test_the_checker_agrees_with_the_oracle_on_random_histories(runner, tmp_path):
    answers = {(m, f, a): 0 for m, f in COMBOS for a in (True, False)}
    for seed in range(4000):
        model, fmt, events, initial = _case(seed)
        text = oracle.render(events, fmt)
        expected = oracle.linearizable(oracle.operations(events, fmt), initial)
        answers[model, fmt, expected] += 1
        verdict = lin.check(lin.parse_history(text, f"seed-{seed}", model, fmt))
        assert verdict.result == (lin.LINEARIZABLE if expected else lin.VIOLATION), (seed, text)
        if seed % 40 == 0:  # and through the command, now and then
            path = tmp_path / f"h{seed}"
            path.write_text(text)
            result = runner.invoke(main, ["linearizable", str(path), "--model", model, "--format", fmt])
            assert result.exit_code == (0 if expected else 1), (seed, result.output)
    assert min(answers.values()) >= 50, answers  # both answers, in every model and format


@pytest.mark.slow
def test_every_explanation_is_true_and_minimal_on_random_violations():
    explained = 0
    for seed in range(4000):
        model, fmt, events, initial = _case(seed)
        verdict = lin.check(lin.parse_history(oracle.render(events, fmt), f"seed-{seed}", model, fmt))
        if verdict.result != lin.VIOLATION:
            continue
        e = verdict.explanation
        ops = oracle.operations(events, fmt)
        cut = e.first.ret  # positions: every line of these files is a client event
        pre = oracle.prefix(ops, e.key, cut)
        core = {i for i, o in enumerate(pre) if o["call"] in {op.call for op in e.core}}
        others = {i for i, o in enumerate(pre) if o["ret"] is not None} - core
        invoked = [o for o in ops if o["key"] == e.key and o["call"] <= cut
                   and (o["ret"] is not None or o["f"] not in oracle.READS)]  # reads of unknown outcome left out
        assert len(core) == len(e.core) and len(invoked) == e.prefix_ops, seed
        # "these operations cannot be ordered, whatever the others did"
        assert not oracle.linearizable(pre, initial, frozenset(others)), seed
        # 1-minimal: relax any one more and the prefix can be linearized
        for i in core:
            assert oracle.linearizable(pre, initial, frozenset(others | {i})), (seed, pre[i])
        # "cut at the completion before it, they can"
        assert e.shorter_ok
        earlier = [o["ret"] for o in ops if o["key"] == e.key and o["ret"] is not None and o["ret"] < cut]
        assert oracle.linearizable(oracle.prefix(ops, e.key, max(earlier, default=-1)), initial), seed
        # the first failing key is named: every key first invoked before it is linearizable
        for key, _ in verdict.history.by_key():
            if key == e.key:
                break
            assert oracle.linearizable([o for o in ops if o["key"] == key], initial), seed
        explained += 1
    assert explained >= 450
