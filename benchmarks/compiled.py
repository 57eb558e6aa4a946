"""Build paxsim compiled with mypyc (setup.py, PAXSIM_COMPILE=1) into a
directory of its own, beside the pure-Python source, to measure or test it:

    python benchmarks/compiled.py /tmp/paxsim-compiled      # about 30 s
    PYTHONPATH=/tmp/paxsim-compiled python -m paxsim run scenarios/partition.yaml

The directory mirrors the repository's layout (the package, its scenarios,
setup.py and pyproject.toml), with the compiled modules built in place next
to their sources: Python imports an extension module before a `.py` of the
same name.  Needs mypy (`pip install ".[test]"` has it) and a C compiler.
To install the compiled build instead, see the README ("Compiled build").
"""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("paxsim", "scenarios", "setup.py", "pyproject.toml", "README.md")
EXTENSION = tuple(importlib.machinery.EXTENSION_SUFFIXES)


class BuildError(RuntimeError):
    pass


def compiled_modules(tree: Path) -> list[str]:
    """The paxsim modules built as extension modules under `tree`, dotted, sorted."""
    found = []
    for path in sorted((tree / "paxsim").rglob("*")):
        if path.name.endswith(EXTENSION):
            rel = path.relative_to(tree).as_posix()
            found.append(rel[: -len(next(s for s in EXTENSION if rel.endswith(s)))].replace("/", "."))
    return found


def build(dest: Path, timeout: float = 600) -> list[str]:
    """Copy the source tree to `dest` (which must not exist yet) and compile
    it there; returns the compiled modules.  Raises BuildError, with the
    build's own output, if the build fails or compiles nothing."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "build")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=skip)
        else:
            shutil.copy2(src, dest / name)
    env = dict(os.environ, PAXSIM_COMPILE="1")
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=dest, env=env,
                          capture_output=True, text=True, timeout=timeout)
    modules = compiled_modules(dest)
    if proc.returncode != 0 or not modules:
        raise BuildError(f"compiled build failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    shutil.rmtree(dest / "build", ignore_errors=True)  # the objects; the extensions are in place
    return modules


def main() -> None:
    parser = argparse.ArgumentParser(description="Build paxsim compiled with mypyc into DEST (see the module docstring).",
                                     epilog="example: python benchmarks/compiled.py /tmp/pc && "
                                            "PYTHONPATH=/tmp/pc python -m paxsim run scenarios/partition.yaml")
    parser.add_argument("dest", help="a directory that does not exist yet")
    dest = Path(parser.parse_args().dest)
    if dest.exists():
        raise SystemExit(f"compiled.py: {dest} exists; give a new directory")
    try:
        modules = build(dest)
    except BuildError as exc:
        raise SystemExit(str(exc)) from None
    print(f"compiled {len(modules)} modules into {dest}: {', '.join(modules)}")
    print(f"use it with: PYTHONPATH={dest} python -m paxsim ...")


if __name__ == "__main__":
    main()
