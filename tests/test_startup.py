"""The command line starts without loading what a command does not need:
plotting, numpy, the HTTP runtime, Dask, or (for a single-decree scenario)
the Multi-Paxos package."""

import json
import subprocess
import sys

from .conftest import ROOT

HEAVY = ["matplotlib", "numpy", "aiohttp", "dask", "distributed", "paxsim.protocols.multi",
         "jsonschema"]  # jsonschema: only to word a scenario error (paxsim.scenario._surely_valid)


def loaded_after(code: str) -> list[str]:
    probe = code + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_paxsim_cli_loads_nothing_heavy():
    assert loaded_after("import paxsim.cli") == []


def test_import_paxsim_is_lazy_and_still_offers_its_api():
    assert loaded_after("import paxsim\nassert callable(paxsim.simulate) and paxsim.Scenario") == []


def test_a_single_decree_sweep_and_run_load_nothing_heavy(tmp_path):
    out = tmp_path / "r.jsonl"
    code = f"""
from paxsim.cli import main
for args in (["sweep", "scenarios/lossy.yaml", "--seeds", "0:3", "-j", "1", "-o", {str(out)!r}],
             ["run", "scenarios/partition.yaml"]):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code == 0, (args, exc.code)
"""
    assert loaded_after(code) == []
    assert '"kind":"run"' in out.read_text()


def test_libyaml_reads_every_scenario_as_pyyaml_does():
    """Scenario files are read with libyaml's parser when PyYAML has it (the
    pure-Python one costs milliseconds of every command's start-up): on every
    YAML file of the project and every bad input of tests/test_bad_input.py,
    it gives the same data and the same line of every value, or refuses it
    (and then the pure-Python parser words the error as it always has)."""
    import yaml

    from paxsim import scenario as sm

    from .test_bad_input import CASES

    assert sm._fast_loader() is yaml.CSafeLoader  # the fast path is what runs here

    def read(loader, text):
        try:
            node = sm._compose(loader, text, "x")
        except (yaml.YAMLError, sm.ScenarioError, RecursionError) as exc:
            return ("refused", type(exc).__name__)
        if node is None:
            return None
        reader = sm._Reader("x")
        try:
            return reader.convert(node, ()), reader.lines
        except sm.ScenarioError as exc:
            return ("refused", str(exc))

    texts = [p.read_text() for p in sorted(ROOT.glob("**/*.yaml")) if ".git" not in p.parts]
    texts += [c[1] for c in CASES]
    texts += ["a: 1\n\tb: 2\n", "x: 'unterminated\n", "- a\n-b\n", "k: v\nk: w\n", "a: !!binary aGk=\n", "%YAML 1.1\n---\nn: 3\n"]
    assert len(texts) > 80
    accepted = 0
    for text in texts:
        fast = read(yaml.CSafeLoader, text)
        if fast is not None and fast[0] == "refused":
            continue  # the pure-Python parser reads it again: what the user sees comes from it alone
        accepted += 1
        assert fast == read(yaml.SafeLoader, text), text[:300]
    assert accepted > 50


def test_pyyaml_loads_only_to_read_yaml():
    """PyYAML's import costs 20 to 30 ms: neither the command line's start
    nor what a sweep's workers import (they start before the parent reads
    the scenario, and never read YAML) loads it; reading a scenario does."""
    probe = ("import sys\nimport paxsim.cli, paxsim.sweep\npaxsim.sweep.warm_up()\nassert 'yaml' not in sys.modules\n"
             "from paxsim.scenario import load_scenario\nload_scenario('scenarios/lossy.yaml')\n"
             "assert 'yaml' in sys.modules\nprint('ok')")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
