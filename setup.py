"""paxsim's build: pure Python, unless PAXSIM_COMPILE=1.

With PAXSIM_COMPILE=1 the simulator's hot modules are also compiled to C
extensions with mypyc (as black and mypy ship), which makes a simulated run
faster; the README's "Compiled build" says how much, and how to install it:

    pip install "mypy>=1.10,<3" "setuptools>=77" wheel
    PAXSIM_COMPILE=1 pip install --no-build-isolation .

Everything else (the package list, data, metadata) is in pyproject.toml.
The pure-Python install is the default and works wherever Python does.
"""

import os

from setuptools import setup

# What a run spends its time in (see the README's profile); every other module
# stays pure Python. paxsim/sim/interpreted.py holds the classes these extend
# that mypyc cannot compile (subclasses of simpy.Environment, dict, RuntimeError).
COMPILED = [
    "paxsim/protocols/single/roles.py",
    "paxsim/sim/crn.py",
    "paxsim/sim/generic.py",
    "paxsim/sim/latency.py",
    "paxsim/sim/network.py",
    "paxsim/sim/runtime.py",
]


def ext_modules() -> list:
    flag = os.environ.get("PAXSIM_COMPILE", "")
    if flag in ("", "0"):
        return []
    if flag != "1":
        raise SystemExit(f"PAXSIM_COMPILE={flag!r}: set it to 1 to compile, or leave it unset")
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit("PAXSIM_COMPILE=1 needs mypy (which ships mypyc) where the build runs: "
                         "pip install 'mypy>=1.10,<3' 'setuptools>=77' wheel, then "
                         "PAXSIM_COMPILE=1 pip install --no-build-isolation .") from None
    # The compiled modules are type-checked in full (--check-untyped-defs): a compiled function
    # checks its arguments against its annotations at run time, so they must be right. The
    # modules they import are read for their types only (--follow-imports=silent).
    return mypycify(["--check-untyped-defs", "--follow-imports=silent", "--ignore-missing-imports", *COMPILED],
                    opt_level="3")


setup(ext_modules=ext_modules())
