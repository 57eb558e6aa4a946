"""Architecture rules, checked on the source: the protocol package is pure,
and the trace and checker depend on nothing that runs a simulation."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "paxsim"
FORBIDDEN_IN_PROTOCOL = {"simpy", "random", "time", "socket", "asyncio", "os", "numpy", "threading", "datetime", "uuid"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.add(base)
    return out


PROTOCOLS = PKG / "protocols"
PROTOCOL_FILES = sorted(PROTOCOLS.rglob("*.py"))


def _leaves_protocols(path: Path, name: str) -> bool:
    """Whether a relative import `name` in `path` reaches outside paxsim/protocols."""
    if name.startswith("paxsim"):
        return True
    level = len(name) - len(name.lstrip("."))
    if level == 0:
        return False
    target = path.parent
    for _ in range(level - 1):
        target = target.parent
    return not (target == PROTOCOLS or PROTOCOLS in target.parents)


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=[str(p.relative_to(PROTOCOLS)) for p in PROTOCOL_FILES])
def test_protocol_imports_no_runtime_module(path):
    bad = {name for name in imports(path) if name.split(".")[0] in FORBIDDEN_IN_PROTOCOL}
    assert not bad, f"{path.name} imports {bad}: the protocol must stay sans-I/O"
    leaving = {name for name in imports(path) if _leaves_protocols(path, name)}
    assert not leaving, f"{path.name} imports {leaving}: a protocol imports only from paxsim/protocols"


def test_every_protocol_package_is_checked():
    assert {p.parent.name for p in PROTOCOL_FILES} >= {"protocols", "single"}


def test_the_layer_check_sees_an_import_leaving_protocols():
    assert _leaves_protocols(PROTOCOLS / "single" / "roles.py", "...trace")
    assert not _leaves_protocols(PROTOCOLS / "single" / "roles.py", "..effects")


def test_the_purity_check_sees_imports(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import random\nfrom simpy import Environment\n")
    assert {"random", "simpy"} <= imports(f)


def test_trace_imports_nothing_of_paxsim():
    assert not any(name.startswith(".") or name.startswith("paxsim") for name in imports(PKG / "trace.py"))
    # so it keeps its own list of the protocol kinds a header may name
    from paxsim.protocols import KINDS
    from paxsim.trace import PROTOCOL_KINDS

    assert PROTOCOL_KINDS == KINDS


def test_checker_reads_only_traces():
    local = {name for name in imports(PKG / "check.py") if name.startswith(".")}
    assert local <= {".trace", ".liveness", ".check_multi"}
    # the liveness analysis the checker offers reads only traces too
    assert {name for name in imports(PKG / "liveness.py") if name.startswith(".")} <= {".trace"}
    # other protocols' traces: their pure properties, and the linearizability checker (which reads histories)
    local = {name for name in imports(PKG / "check_multi.py") if name.startswith(".")}
    assert local <= {".", ".check", ".lin", ".lin.report", ".protocols"}
