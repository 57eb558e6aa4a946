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
