"""The scenario loader's quick schema check (`_surely_valid`), which spares
a command the jsonschema import: it may only say "valid" where jsonschema
finds no error, and it must say so for the shipped scenarios (or the
start-up gain is gone)."""

import copy

import jsonschema
import pytest

from paxsim.scenario import _read_yaml, _surely_valid, schema

from .conftest import ROOT
from .test_bad_input import CASES

FILES = sorted(ROOT.glob("scenarios/**/*.yaml")) + sorted(ROOT.glob("benchmarks/*.yaml"))
WRONG = [None, True, False, 0, -1, 1.5, -2.5, 10**30, "", "x", "5ms", [], [1], {}, {"x": 1}]


def _validator():
    return jsonschema.Draft202012Validator(schema())


def _data(path):
    return _read_yaml(path.read_text(), str(path))[0]


def _mutants(data):
    """Each value replaced by each wrong one, each key removed, a key added to each mapping."""
    def walk(node, path):
        yield path, node
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in list(items):
            yield from walk(v, path + (k,))

    def at(root, path):
        for k in path:
            root = root[k]
        return root

    for path, node in list(walk(data, ())):
        if path:
            for wrong in WRONG:
                m = copy.deepcopy(data)
                at(m, path[:-1])[path[-1]] = wrong
                yield m
            m = copy.deepcopy(data)
            del at(m, path[:-1])[path[-1]]
            yield m
        if isinstance(node, dict):
            m = copy.deepcopy(data)
            at(m, path)["surplus"] = 1
            yield m


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_shipped_scenarios_pass_the_quick_check(path):
    data = _data(path)
    assert _validator().is_valid(data)
    assert _surely_valid(data, schema())


def test_bad_input_cases_never_pass_the_quick_check_where_jsonschema_objects():
    v = _validator()
    for case in CASES:
        try:
            data = _read_yaml(case[1], "x.yaml")[0]
        except Exception:
            continue  # a YAML error: no schema check
        if _surely_valid(data, schema()):
            assert v.is_valid(data), case[0]


def test_the_quick_check_agrees_with_jsonschema_on_mutated_scenarios():
    v = _validator()
    checked = caught = 0
    for name in ("lossy.yaml", "partition.yaml", "happy.yaml", "duel.yaml"):
        for m in _mutants(_data(ROOT / "scenarios" / name)):
            valid = v.is_valid(m)
            quick = _surely_valid(m, schema())
            assert not quick or valid, m
            checked += 1
            caught += not valid
    assert checked > 200 and caught > 100
