"""A real 5-node loopback cluster beside the simulated run of the same scenario.

    python benchmarks/cluster_bench.py             # happy, partition, lossy; 5 seeds each
    python benchmarks/cluster_bench.py --quick     # happy, 1 seed
    python benchmarks/cluster_bench.py --seeds 10 scenarios/duel.yaml

For each scenario and seed: the time until the last node learned (real ms on
the cluster, simulated ms in the simulator), the messages sent until then,
and messages per second: for the cluster, messages the relay carried per
wall-clock second up to the last decision; for the simulator, messages
simulated per second of CPU (how fast it computes runs, a different thing).
Medians over the seeds; the same seeds drive both sides' network draws.
Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from paxsim import check, load_scenario, simulate  # noqa: E402
from paxsim.real.cluster import run_cluster  # noqa: E402

DEFAULT = ["scenarios/happy.yaml", "scenarios/partition.yaml", "scenarios/lossy.yaml"]


def until_decision(events: list[dict]) -> tuple[float | None, int]:
    """(time of the last decide, sends up to it) of a trace."""
    verdict = check(events)
    last = verdict.last_decide_t
    if last is None or not verdict.decided:
        return None, 0
    return last, sum(1 for ev in events if ev["kind"] == "send" and ev["t"] <= last)


def measure(path: str, seeds: list[int]) -> list[str]:
    sc = load_scenario(HERE.parent / path)
    rows = []
    real_t, real_msgs, real_rate, real_ok = [], [], [], 0
    sim_t, sim_msgs, sim_rate = [], [], []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="paxsim-bench-") as tmp:
            events, _ = run_cluster(sc, seed, Path(tmp))
        t, n = until_decision(events)
        real_ok += check(events).ok
        if t is not None:
            real_t.append(t)
            real_msgs.append(n)
            real_rate.append(n / (t / 1000.0))
        start = time.process_time()
        reps = 0
        while True:  # repeat the (tiny) simulated run for a measurable CPU time
            run = simulate(sc, seed)
            reps += 1
            if time.process_time() - start > 0.2:
                break
        cpu = (time.process_time() - start) / reps
        events = run.events
        t, n = until_decision(events)
        if t is not None:
            sim_t.append(t)
            sim_msgs.append(n)
        sim_rate.append(len([ev for ev in events if ev["kind"] == "send"]) / cpu)

    def med(xs, fmt):
        return fmt.format(statistics.median(xs)) if xs else "-"

    name = sc.name
    rows.append(f"| {name} | real cluster | {len(real_t)}/{len(seeds)} | {med(real_t, '{:.1f}')} | "
                f"{med(real_msgs, '{:.0f}')} | {med(real_rate, '{:,.0f}')} (wall) | {real_ok}/{len(seeds)} |")
    rows.append(f"| {name} | simulator | {len(sim_t)}/{len(seeds)} | {med(sim_t, '{:.1f}')} | "
                f"{med(sim_msgs, '{:.0f}')} | {med(sim_rate, '{:,.0f}')} (CPU) | {len(seeds)}/{len(seeds)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per scenario (1..N)")
    parser.add_argument("--quick", action="store_true", help="happy.yaml, one seed")
    args = parser.parse_args()
    scenarios = args.scenarios or (["scenarios/happy.yaml"] if args.quick else DEFAULT)
    seeds = list(range(1, 2 if args.quick else args.seeds + 1))
    print("| scenario | runtime | decided | last decision, ms (median) | messages to decision | "
          "messages per second | checker OK |")
    print("|---|---|---|---|---|---|---|")
    for path in scenarios:
        for row in measure(path, seeds):
            print(row, flush=True)


if __name__ == "__main__":
    main()
