"""Scenario parsing, defaults, normalization and the published schema."""

import json

import jsonschema
import pytest
import yaml

from paxsim.scenario import duration_ms, load_scenario, parse_scenario, scenario_from_dict, schema

from .conftest import SCENARIOS


def test_durations():
    assert duration_ms("50ms") == 50.0
    assert duration_ms("2s") == 2000.0
    assert duration_ms("100us") == pytest.approx(0.1)
    assert duration_ms("1.5s") == 1500.0
    assert duration_ms(7) == 7.0


def test_defaults_fill_in():
    s = parse_scenario("nodes: 4\nproposers: [{node: n1, value: a}]\n", "x.yaml")
    assert s.nodes == ("n1", "n2", "n3", "n4")
    assert (s.phase1, s.phase2) == (3, 3)
    assert s.duration == 2000.0 and s.storage == "durable" and s.seed == 0
    assert s.retry.timeout == 50.0 and s.network.loss == 0.0 and s.name == "x"


def test_node_list_and_flexible_quorum():
    s = parse_scenario("nodes: [a, b, c, d]\nproposers: [{node: a, value: x}]\nprotocol:\n  quorum: {phase1: 3, phase2: 2}\n")
    assert s.nodes == ("a", "b", "c", "d") and (s.phase1, s.phase2) == (3, 2)


def test_unsafe_quorum_allowed_when_declared():
    s = parse_scenario("nodes: 5\nproposers: [{node: n1, value: a}]\nprotocol:\n  quorum: {phase1: 2, phase2: 2, unsafe: true}\n")
    assert s.unsafe and (s.phase1, s.phase2) == (2, 2)


def test_partition_example_from_the_issue():
    s = load_scenario(next(p for p in SCENARIOS if p.name == "partition.yaml"))
    d = s.to_dict()
    assert d["faults"][0] == {"at": 20.0, "partition": [["n1", "n2"], ["n3", "n4", "n5"]]}
    assert d["network"]["links"][0] == {"from": "n1", "to": "n3", "latency": {"dist": "constant", "value": 40.0}, "loss": 0.1}
    assert d["expect"] == {"decided": True, "safety": "holds", "within": 1000.0}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_normalized_form_round_trips(path):
    s = load_scenario(path)
    d = s.to_dict()
    again = scenario_from_dict(json.loads(json.dumps(d)))
    assert again == s
    assert again.to_dict() == d


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_files_validate_against_published_schema(path):
    """Editors use the JSON Schema file directly: the shipped files must pass it."""
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema())


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_has_a_description(path):
    assert load_scenario(path).description.strip()


def test_schema_documents_every_top_level_key_the_loader_accepts():
    keys = set(schema()["properties"])
    assert keys == {"name", "description", "seed", "duration", "nodes", "protocol", "proposers", "network", "faults",
                    "expect", "script", "explore", "clocks", "workload", "stop"}
