"""paxsim explore gives the same result in any process, whatever PYTHONHASHSEED.

Python salts the hash of every string per process, and the explorer's
states are full of strings (node names, values, message kinds): a visited
set keyed by `hash(state)` could skip different states in different
processes.  The explorer keys states by `Model.key` instead: the same
bytes in every process, equal exactly when the states are."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import ROOT

THREE = str(ROOT / "scenarios" / "explore" / "three-nodes.yaml")

# Runs in a fresh process: the keys of the states a BFS of the issue's
# configuration meets first (as explore meets them: canonical, then keyed),
# and the raw hash() of the same states.
KEYS = """
import hashlib, sys
from paxsim.explore import model_for
from paxsim.scenario import load_scenario
model = model_for(load_scenario(sys.argv[1]))
first = model.canonical(model.initial())[0]
key = model.key(first)
queue, seen, keys, raw = [model.shared(key)], {key}, [key], [hash(first)]
for state in queue:
    if len(keys) >= 3000:
        break
    for label in model.enabled(state):
        child, violation, _subsumed = model.step(state, label)
        child = model.canonical(child)[0]
        key = model.key(child)
        keys.append(key)
        raw.append(hash(child))
        if key not in seen:
            seen.add(key)
            queue.append(model.shared(key))
print(len(seen), hashlib.sha256(b"|".join(keys)).hexdigest(), hashlib.sha256(repr(raw).encode()).hexdigest())
"""


def _env(hashseed: str) -> dict:
    return dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))


def test_state_keys_do_not_depend_on_the_string_hash_seed():
    outs = []
    for hashseed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-c", KEYS, THREE], env=_env(hashseed), capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout.split())
    (n1, keys1, raw1), (n2, keys2, raw2) = outs
    assert int(n1) > 500 and n1 == n2
    # the raw states' hashes are salted (what keying by hash() would have used) ...
    assert raw1 != raw2
    # ... their keys are not: the same bytes, state by state
    assert keys1 == keys2


def test_explore_counts_and_counterexample_are_the_same_under_any_hash_seed(tmp_path):
    # amnesia needs a crash and a restart: reboots, covering and the
    # dead-message rule all take part; 5,802 states
    procs = {}
    for hashseed in ("1", "2", "3"):
        out = tmp_path / f"cex{hashseed}.yaml"
        procs[hashseed] = (out, subprocess.Popen(
            [sys.executable, "-m", "paxsim", "explore", THREE, "--bug", "amnesia", "--json", "-o", str(out)],
            env=_env(hashseed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for hashseed, (out, proc) in procs.items():
            stdout, stderr = proc.communicate(timeout=180)
            assert proc.returncode == 1, stderr
            data = json.loads(stdout)
            for measured in ("seconds", "states_per_second", "visited_per_second", "peak_rss_mib"):
                data.pop(measured)
            assert data.pop("counterexample") == str(out)
            results.append((data, out.read_bytes()))
    finally:
        for _out, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    data, cex = results[0]
    assert data["violation"]["kind"] == "agreement" and data["counterexample_length"] == 10
    assert data["unique_states"] > 1000 and data["covered"] > 0
    for other, other_cex in results[1:]:
        assert other == data
        assert other_cex == cex
