"""Multi-Paxos key-value runs: simulated operations per second of wall time.

    python benchmarks/kv_bench.py            # every shipped KV scenario, 20 seeds each
    python benchmarks/kv_bench.py --quick    # a smoke run: 2 seeds each

For each scenario: wall time of simulating its seeds (the run alone), of
checking them (log safety plus linearizability of the client history), the
client operations completed, and so operations per wall second, simulated
and simulated-and-checked.  Measured here, now, in this process; prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from paxsim import load_scenario, simulate  # noqa: E402
from paxsim.check import check  # noqa: E402

SCENARIOS = ["kv", "kv-failover", "kv-partition", "kv-lossy", "kv-heavy"]


def measure(name: str, seeds: int) -> dict:
    sc = load_scenario(HERE.parent / "scenarios" / f"{name}.yaml")
    sim_s = check_s = 0.0
    ops = events = 0
    for seed in range(seeds):
        t0 = time.perf_counter()
        run = simulate(sc, seed)
        t1 = time.perf_counter()
        verdict = check(run._observed)  # what Run.verdict reads: every event but the message traffic
        t2 = time.perf_counter()
        sim_s += t1 - t0
        check_s += t2 - t1
        if verdict.violations:
            raise SystemExit(f"{name} seed {seed}: {verdict.violations[0].explain()}")
        ops += verdict.workload["ok"]
        events += len(run._records)
    return {"name": name, "seeds": seeds, "ops": ops, "events": events, "sim_s": sim_s, "check_s": check_s,
            "simulated_s": seeds * sc.duration / 1000.0}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds per scenario")
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    print(f"## Multi-Paxos KV: simulated operations per wall-clock second ({seeds} seeds per scenario)\n")
    print("| scenario | ops ok | simulated s | run wall s | check wall s | ops/s (run) | ops/s (run + check) "
          "| events/s (run) |")
    print("|---|---|---|---|---|---|---|---|")
    total = {"ops": 0, "sim_s": 0.0, "check_s": 0.0}
    for name in SCENARIOS:
        r = measure(name, seeds)
        for k in total:
            total[k] += r[k]
        print(f"| {name} | {r['ops']} | {r['simulated_s']:.1f} | {r['sim_s']:.2f} | {r['check_s']:.2f} "
              f"| {r['ops'] / r['sim_s']:,.0f} | {r['ops'] / (r['sim_s'] + r['check_s']):,.0f} "
              f"| {r['events'] / r['sim_s']:,.0f} |")
    print(f"| all | {total['ops']} | | {total['sim_s']:.2f} | {total['check_s']:.2f} "
          f"| {total['ops'] / total['sim_s']:,.0f} | {total['ops'] / (total['sim_s'] + total['check_s']):,.0f} | |")


if __name__ == "__main__":
    main()
