"""paxsim explore's speed beside the simulator's, on the same roles.

    python benchmarks/explore_bench.py            # about a minute
    python benchmarks/explore_bench.py --quick    # a smoke run

Both drive the single-decree roles of paxsim/protocols/single.  The
simulator's unit is an event (a message sent or delivered, a timer, a
protocol step recorded in the trace); the explorer's are a transition (one
role input plus the messages a node sends itself, then a copy and the exact
key of the whole system state) and a unique state.  Every number is measured here,
now, in this process (best of several rounds).  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import paxsim  # noqa: E402
from paxsim.explore import explore, model_for  # noqa: E402

SIM_SCENARIO = """
name: bench-explore-sim
nodes: 3
duration: 2s
proposers:
  - {node: n1, value: a, at: 0}
  - {node: n2, value: b, at: 1}
network:
  latency: {dist: uniform, low: 1ms, high: 10ms}
  loss: 0.05
"""


def simulator(runs: int, rounds: int) -> dict:
    sc = paxsim.parse_scenario(SIM_SCENARIO)
    best = None
    for _ in range(rounds):
        events = 0
        t = time.perf_counter()
        for seed in range(runs):
            run = paxsim.simulate(sc, seed)
            run.verdict
            events += len(run.events)
        dt = time.perf_counter() - t
        if best is None or dt < best[0]:
            best = (dt, events)
    dt, events = best
    return {"events_per_s": events / dt, "runs_per_s": runs / dt}


def explorer(max_states: int, rounds: int, prune: bool, reduce: bool) -> dict:
    # the configuration: loss 1, crash 1 with restart (not exhausted here: the first states)
    sc = paxsim.load_scenario(HERE.parent / "scenarios" / "explore" / "three-nodes.yaml")
    budgets = replace(sc.explore, restart=1)
    best = None
    for _ in range(rounds):
        res = explore(model_for(sc, budgets, prune=prune, reduce=reduce), max_states=max_states)
        if best is None or res.seconds < best.seconds:
            best = res
    return {"states_per_s": best.unique / best.seconds, "transitions_per_s": best.transitions / best.seconds,
            "states": best.unique, "transitions": best.transitions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to see that it works")
    args = ap.parse_args()
    runs, states, rounds = (20, 2000, 1) if args.quick else (300, 50000, 3)
    sim = simulator(runs, rounds)
    reduced = explorer(states, rounds, True, True)
    pruned = explorer(states, rounds, True, False)
    full = explorer(states, rounds, False, False)
    print("## Explorer and simulator on the same roles (3 nodes, 2 proposers)\n")
    print("| runtime | unit | per second |")
    print("|---|---|---:|")
    print(f"| simulator (5% loss, checked) | trace event | {sim['events_per_s']:,.0f} |")
    print(f"| simulator | run | {sim['runs_per_s']:,.0f} |")
    for name, r in (("explorer, reduction (default)", reduced), ("explorer, --no-reduction", pruned),
                    ("explorer, --no-prune", full)):
        print(f"| {name} (three-nodes.yaml --restart 1, first {r['states']:,} states) | unique state | "
              f"{r['states_per_s']:,.0f} |")
        print(f"| {name} | transition | {r['transitions_per_s']:,.0f} |")


if __name__ == "__main__":
    main()
