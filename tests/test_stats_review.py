"""The statistics that sweep, compare and hunt print, recomputed
independently (numpy, or plain Python) from the per-seed results the
commands keep; and the input they must refuse because a summary of it
would be false."""

import json

import numpy as np

from paxsim.cli import main

from .conftest import ROOT

LOSSY = str(ROOT / "scenarios" / "lossy.yaml")


def test_a_set_value_given_twice_is_refused_not_counted_twice(runner, tmp_path):
    # 0.1 and 0.10 are the same YAML number: one combination, not two rows of 40 runs over 20 seeds
    for values in ("0.1,0.1", "0.1,0.10", "[a],[a]"):
        out = tmp_path / "r.jsonl"
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:3", "--set", f"network.loss={values}",
                                      "-j", "1", "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert "network.loss" in result.stderr and "twice" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert not out.exists()
