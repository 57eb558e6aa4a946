"""A fault the simulation cannot apply (the runtime's FaultError) is a bug
in paxsim: `paxsim run` and `paxsim sweep` say so in one line on stderr,
naming the scenario and the seed to report and the command that reproduces
it, and exit 70, never with a traceback.

The loader refuses impossible schedules, so each test builds one behind its
back (as a bug in paxsim would): the loader used by the command is wrapped
(or the simulator's entry point) is wrapped to add a restart of a node
that is up."""

import json
import re

import pytest

import paxsim.cli
import paxsim.sim
from paxsim.cli import EXIT_PAXSIM_BUG, main
from paxsim.scenario import Fault

from .conftest import ROOT

LOSSY = str(ROOT / "scenarios" / "lossy.yaml")
IMPOSSIBLE = (Fault(1.0, "restart", "n2"),)  # n2 is up at 1 ms


def test_the_exit_status_is_its_own():
    assert EXIT_PAXSIM_BUG not in (0, 1, 2, 3, 130)


def test_run_reports_a_fault_error_as_a_paxsim_bug(runner, monkeypatch):
    real = paxsim.cli.load_variant
    monkeypatch.setattr(paxsim.cli, "load_variant", lambda *a, **k: real(*a, **k).with_changes(faults=IMPOSSIBLE))
    result = runner.invoke(main, ["run", LOSSY, "--seed", "12", "--set", "network.loss=0.2"])
    assert result.exit_code == EXIT_PAXSIM_BUG, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("paxsim bug, please report it")
    assert "impossible fault at 1 ms: restart node n2, which is up" in line
    assert "(scenario lossy, seed 12)" in line
    assert line.endswith(f"reproduce: paxsim run {LOSSY} --seed 12 --set network.loss=0.2")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sweep_reports_the_run_that_met_a_fault_error(runner, monkeypatch, tmp_path, jobs):
    real = paxsim.sim.simulate

    def broken(sc, *a, **k):  # only the loss=0.3 combination: the message must name it and the seed
        return real(sc.with_changes(faults=IMPOSSIBLE) if sc.network.loss == 0.3 else sc, *a, **k)

    monkeypatch.setattr(paxsim.sim, "simulate", broken)  # the workers fork after this: they have it too
    out = tmp_path / "r.jsonl"
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "5:8", "--set", "network.loss=0,0.3", "-j", jobs,
                                  "-o", str(out), "--no-progress"])
    assert result.exit_code == EXIT_PAXSIM_BUG, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "paxsim bug" in line and "impossible fault at 1 ms: restart node n2, which is up" in line
    # with two workers, which of the combination's seeds fails first is a race; the line names that one
    seed = re.search(r"\(scenario lossy, seed (\d+)\)", line).group(1)
    assert seed in ("5", "6", "7") and (jobs == "2" or seed == "5")
    assert line.endswith(f"reproduce: paxsim run {LOSSY} --seed {seed} --set network.loss=0.3")
    # what finished before is kept, as after Ctrl-C
    runs = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    assert all(r["params"] == {"network.loss": 0} for r in runs)


def test_any_other_command_reports_it_too(runner, monkeypatch, tmp_path):
    """replay reruns a trace's scenario: the group's own catch makes it one line and exit 70."""
    trace = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", LOSSY, "--trace", str(trace)]).exit_code == 0
    real = paxsim.sim.simulate

    def broken(sc, *a, **k):
        return real(sc.with_changes(faults=IMPOSSIBLE), *a, **k)

    monkeypatch.setattr(paxsim.sim, "simulate", broken)
    seed = json.loads(trace.read_text().splitlines()[0])["seed"]
    result = runner.invoke(main, ["replay", str(trace)])
    assert result.exit_code == EXIT_PAXSIM_BUG, result.output
    assert result.stderr.strip().splitlines() == [
        "paxsim bug, please report it with the scenario file: impossible fault at 1 ms: restart node n2, "
        f"which is up (scenario lossy, seed {seed})"]
