"""Peak memory of one sweep worker over 100,000 runs (what `paxsim sweep` runs
in each worker process): it should stay flat.

    python benchmarks/memory.py [RUNS]
"""

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paxsim.scenario import load_scenario  # noqa: E402
from paxsim.sweep import run_chunk  # noqa: E402

parser = argparse.ArgumentParser(description="Peak memory of one sweep worker over many runs: it should stay flat.")
parser.add_argument("runs", nargs="?", type=int, default=100_000, help="runs (default 100000)")
runs = parser.parse_args().runs
scenario = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "lossy.yaml").to_dict()
start = time.time()
step = max(500, runs // 10)
for done in range(0, runs, step):
    for first in range(done, min(runs, done + step), 500):
        run_chunk(scenario, "lossy", {}, list(range(first, min(runs, first + 500))))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{min(runs, done + step):7d} runs  peak RSS {peak:.1f} MiB  {time.time() - start:.0f} s", flush=True)
