import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

# A shell without job control starts a background command with SIGINT ignored
# (`pytest &`, nohup), and every process the tests start inherits that: the tests
# that interrupt a command with SIGINT would wait for it forever.  Python's own
# handler here gives the children the default back when they start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def write(tmp_path):
    """write(text, name='s.yaml') -> path of a new scenario file."""

    def _write(text: str, name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture(scope="session")
def compiled_tree(tmp_path_factory):
    """(tree, modules): a copy of the repository with the hot modules compiled
    by mypyc (setup.py, PAXSIM_COMPILE=1, via benchmarks/compiled.py), built
    once per test run; `PYTHONPATH=tree python -m paxsim` runs it.  The suite
    runs on every core (pytest-xdist: `-n auto` in pyproject.toml): the first
    worker to need the build makes it, in the run's shared temporary folder,
    and any other waits for it rather than build it again."""
    import fcntl
    import importlib.util
    import json
    import os
    import shutil
    import sys
    import sysconfig

    if importlib.util.find_spec("mypyc") is None:
        pytest.skip("mypy (which ships mypyc) is not installed; pip install '.[test]' installs it")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) to build the compiled paxsim with")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import compiled

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    folder = shared / "compiled"
    folder.mkdir(exist_ok=True)
    built = folder / "built.json"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not built.exists():
            try:
                built.write_text(json.dumps({"modules": compiled.build(folder / "tree")}))
            except compiled.BuildError as exc:
                built.write_text(json.dumps({"error": str(exc)}))
    result = json.loads(built.read_text())
    if "error" in result:
        pytest.fail(result["error"])
    return folder / "tree", result["modules"]


@pytest.fixture(scope="session", autouse=True)
def _build_under_test():
    """tests/test_compiled.py runs some of these tests again on the compiled
    build, with PAXSIM_TEST_BUILD=compiled: make sure that is what runs."""
    import os

    if os.environ.get("PAXSIM_TEST_BUILD") == "compiled":
        from paxsim.sim import runtime

        assert not runtime.__file__.endswith((".py", ".pyc")), \
            f"PAXSIM_TEST_BUILD=compiled, but the pure {runtime.__file__} was imported"
