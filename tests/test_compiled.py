"""The compiled build (setup.py with PAXSIM_COMPILE=1; README, "Compiled
build") is the pure build, faster: the same traces byte for byte, the same
verdicts, the same fates, the same sweep results; and the simulator's own
tests pass on it.  The rest of the suite tests the pure build, which is
what `pip install .` installs.

The compiled tree is built once per session (`compiled_tree` in
conftest.py, about 30 s); these tests skip, saying why, only where mypy or
a C compiler is missing (CI has both)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys

import pytest

from . import compiled_digest
from .conftest import ROOT


def _env(path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(path)
    env.pop("PAXSIM_TEST_BUILD", None)
    return env


def _setup_py_list() -> list[str]:
    """The modules setup.py compiles, read from its COMPILED list."""
    for node in ast.parse((ROOT / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILED" for t in node.targets):
            return [ast.literal_eval(elt) for elt in node.value.elts]
    raise AssertionError("setup.py has no COMPILED list")


def test_this_session_tests_the_pure_build():
    """Everything but this file runs the pure-Python modules (the default install)."""
    if os.environ.get("PAXSIM_TEST_BUILD") == "compiled":
        pytest.skip("this session runs the compiled build on purpose (test_compiled_passes_the_simulators_tests)")
    assert compiled_digest.build_of_runtime() == "pure"


def test_the_build_compiles_what_setup_py_lists(compiled_tree, tmp_path):
    tree, modules = compiled_tree
    listed = _setup_py_list()
    assert modules == sorted(path[: -len(".py")].replace("/", ".") for path in listed)
    probe = ("import importlib, json, sys\n"
             "mods = sys.argv[1:]\n"
             "print(json.dumps({m: importlib.import_module(m).__file__ for m in mods}))\n"
             "from paxsim.protocols.single import roles\n"
             "assert roles._COMPILED\n")
    proc = subprocess.run([sys.executable, "-c", probe, *modules], cwd=tmp_path, env=_env(tree),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout.splitlines()[0])
    for module, path in files.items():
        assert path.startswith(str(tree)) and not path.endswith((".py", ".pyc")), (module, path)


def test_compiled_runs_give_the_pure_runs_traces_verdicts_and_fates(compiled_tree):
    """Every shipped scenario (single-decree, Multi-Paxos, bugs, hunt profiles),
    as is, with an early stop and with a slow disk: kept and streamed traces,
    verdicts, the fates a recording run keeps, common-random-numbers runs."""
    tree, _ = compiled_tree
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "compiled_digest.py"), str(ROOT)], cwd=tree,
                          env=_env(tree), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout)
    assert got["build"] == "compiled"
    want = compiled_digest.digests(ROOT)
    assert len(want) > 100 and got["digests"].keys() == want.keys()
    differ = [case for case in want if got["digests"][case] != want[case]]
    assert not differ, f"{len(differ)} runs differ, first: {differ[:5]}"


def _sweep(env, out, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paxsim", "sweep", *args, "-o", str(out)], cwd=out.parent, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("scenario, extra", [("scenarios/duplicates.yaml", ()),
                                             ("scenarios/partition.yaml", ("--bug", "small-quorum")),
                                             ("scenarios/kv-partition.yaml", ("--bug", "stale-read"))])
def test_a_compiled_sweep_writes_the_pure_sweeps_results_and_traces(compiled_tree, tmp_path, scenario, extra):
    """Two worker processes each, violations included (their traces and the
    summary's reproduce commands)."""
    tree, _ = compiled_tree
    seeds = "0:40" if "kv" in scenario else "0:300"
    results = {}
    for build, path in (("pure", ROOT), ("compiled", tree)):
        (tmp_path / build).mkdir()
        out = tmp_path / build / "r.jsonl"
        proc = _sweep(_env(path), out, str(ROOT / scenario), "--seeds", seeds, "--jobs", "2", *extra)
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        traces = sorted((tmp_path / build / "r.jsonl.traces").glob("*")) if extra else []
        results[build] = (proc.returncode, out.read_bytes(), [(p.name, p.read_bytes()) for p in traces])
    assert results["pure"] == results["compiled"]
    if extra:
        assert results["pure"][0] == 1 and results["pure"][2], "the bug is caught, with traces"


# The simulator's own tests, run again on the compiled build. (The others
# exercise the CLI, plots, the checker and the real nodes, which are not
# compiled, through the same runtime.)
ON_COMPILED = ["tests/test_sim.py", "tests/test_sim_hotpath.py", "tests/test_runtime_faults.py",
               "tests/test_determinism.py", "tests/test_bugs.py", "tests/test_streaming.py",
               "tests/test_clocks.py", "tests/test_kv_sim.py"]


def test_compiled_passes_the_simulators_tests(compiled_tree):
    tree, _ = compiled_tree
    for name in ("tests", "examples"):  # what these tests read beside the package and its scenarios
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    env = _env(tree)
    env["PAXSIM_TEST_BUILD"] = "compiled"  # conftest checks that the compiled modules are what runs
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-x",
                           "--durations=5", *ON_COMPILED], cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1]


@pytest.mark.parametrize("value, compiles", [("", False), ("0", False), ("yes", None)])
def test_setup_py_compiles_only_when_asked_to_and_says_what_it_takes(tmp_path, value, compiles):
    """PAXSIM_COMPILE unset, empty or 0: a pure build (no mypy needed); 1
    compiles; anything else is refused in one line, not taken as yes or no."""
    env = dict(os.environ, PAXSIM_COMPILE=value)
    probe = ("import runpy, setuptools\n"
             "setuptools.setup = lambda **kw: print(len(kw.get('ext_modules') or []))\n"
             "runpy.run_path('setup.py')\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if compiles is None:
        assert proc.returncode != 0 and "PAXSIM_COMPILE='yes'" in proc.stderr and "Traceback" not in proc.stderr
    else:
        assert proc.returncode == 0 and proc.stdout.strip() == "0", proc.stderr
