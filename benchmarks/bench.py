"""paxsim against a minimal hand-written SimPy Paxos, measured in one run.

    python benchmarks/bench.py            # the full set (about a minute)
    python benchmarks/bench.py --quick    # a smoke run with tiny sizes

Every number is a ratio or a rate measured here, now, in this process (best of
several rounds, the same seeds for both sides); nothing is compared with a
number measured elsewhere.  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import reference  # noqa: E402

import paxsim  # noqa: E402
from paxsim.sweep import plan_sweep, run_sweep  # noqa: E402

PROPOSER_TIMES = [0.0, 2.0, 4.0, 6.0, 8.0]


def scenario_text(nodes: int, proposers: int, loss: float, sigma: float = 0.5) -> str:
    step = max(1, nodes // proposers)
    props = "\n".join(f"  - {{node: n{1 + i * step}, value: v{i}, at: {PROPOSER_TIMES[i % 5]}}}" for i in range(proposers))
    return f"""
name: bench-{nodes}x{proposers}-loss{loss}
nodes: {nodes}
duration: 2s
proposers:
{props}
network:
  latency: {{dist: lognormal, median: 5ms, sigma: {sigma}}}
  loss: {loss}
"""


def reference_args(nodes: int, proposers: int, loss: float, sigma: float = 0.5):
    step = max(1, nodes // proposers)
    props = [(i * step, f"v{i}", PROPOSER_TIMES[i % 5]) for i in range(proposers)]
    return dict(nodes=nodes, proposals=props, loss=loss, sigma=sigma)


def time_paxsim(sc, seeds, check=True) -> tuple[float, int]:
    sent = 0
    t = time.perf_counter()
    for s in seeds:
        run = paxsim.simulate(sc, s)
        if check:
            run.verdict
        sent += run.totals["sent"]
    return time.perf_counter() - t, sent


def time_reference(args, seeds) -> tuple[float, int, int]:
    sent = undecided = 0
    t = time.perf_counter()
    for s in seeds:
        r = reference.run(seed=s, **args)
        sent += r["sent"]
        undecided += None in r["decided"]
    return time.perf_counter() - t, sent, undecided


def best_of(rounds: int, fn):
    results = [fn() for _ in range(rounds)]
    return min(results, key=lambda r: r[0])


def compare(title: str, nodes: int, proposers: int, loss: float, runs: int, rounds: int, sigma=0.5) -> dict:
    sc = paxsim.parse_scenario(scenario_text(nodes, proposers, loss, sigma))
    args = reference_args(nodes, proposers, loss, sigma)
    seeds = range(runs)
    time_paxsim(sc, range(20))  # warm up
    ref_t, ref_sent, ref_undecided = best_of(rounds, lambda: time_reference(args, seeds))
    pax_t, pax_sent = best_of(rounds, lambda: time_paxsim(sc, seeds, check=True))
    raw_t, _ = best_of(rounds, lambda: time_paxsim(sc, seeds, check=False))
    return {
        "title": title, "runs": runs,
        "ref_rps": runs / ref_t, "ref_mps": ref_sent / ref_t, "ref_msgs": ref_sent / runs,
        "pax_rps": runs / pax_t, "pax_mps": pax_sent / pax_t, "pax_msgs": pax_sent / runs,
        "raw_rps": runs / raw_t, "ratio": ref_t / pax_t, "ratio_nocheck": ref_t / raw_t,
        "ref_undecided": ref_undecided,
    }


def sweep_speedup(runs: int, rounds: int) -> dict:
    path = Path(tempfile.mkdtemp()) / "scenario.yaml"
    path.write_text(scenario_text(5, 2, 0.05))
    plan = plan_sweep(path, f"0:{runs}", [])
    times = {}
    for jobs in (1, 2):
        best = None
        for r in range(rounds):
            out = path.with_name(f"r-{jobs}-{r}.jsonl")
            t = time.perf_counter()
            run_sweep(plan, out, jobs=jobs)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        times[jobs] = best
    return {"runs": runs, "t1": times[1], "t2": times[2], "speedup": times[1] / times[2], "cpus": os.cpu_count()}


def scaling(runs: int) -> tuple[list, list]:
    by_nodes = []
    for n in (5, 11, 21, 51, 101):
        sc = paxsim.parse_scenario(scenario_text(n, 2, 0.05))
        k = max(5, runs * 5 // n)
        t, sent = time_paxsim(sc, range(k))
        by_nodes.append((n, 1000 * t / k, sent / k, 1e6 * t / sent))
    by_loss = []
    for loss in (0.0, 0.05, 0.1, 0.2, 0.3):
        sc = paxsim.parse_scenario(scenario_text(5, 2, loss))
        t, sent = time_paxsim(sc, range(runs))
        by_loss.append((loss, 1000 * t / runs, sent / runs, 1e6 * t / sent))
    return by_nodes, by_loss


def profile(runs: int) -> list[tuple[str, float]]:
    sc = paxsim.parse_scenario(scenario_text(5, 2, 0.05))
    prof = cProfile.Profile()
    prof.enable()
    for s in range(runs):
        paxsim.simulate(sc, s).verdict
    prof.disable()
    stats = pstats.Stats(prof).stats
    areas: dict[str, float] = {}
    total = 0.0
    for (filename, _, func), (_, _, tottime, _, _) in stats.items():
        f = filename.replace("\\", "/")
        if "/paxsim/protocols/" in f:
            area = "protocol roles (paxsim/protocols)"
        elif "/paxsim/sim/" in f:
            area = "runtime: effects, network, trace records (paxsim/sim)"
        elif f.endswith("/paxsim/check.py"):
            area = "checker (paxsim/check.py)"
        elif "/simpy/" in f:
            area = "SimPy event loop"
        elif f.endswith("/random.py") or "_random" in func:
            area = "random draws (latency, loss, timers)"
        else:
            area = "other (builtins, dataclasses, ...)"
        areas[area] = areas.get(area, 0.0) + tottime
        total += tottime
    return sorted(((a, 100 * v / total) for a, v in areas.items()), key=lambda x: -x[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the script works, measures nothing")
    opts = ap.parse_args()
    q = opts.quick
    rounds = 1 if q else 5
    print(f"paxsim {paxsim.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
          + (" (quick: sizes too small to mean anything)" if q else ""))
    print()
    print("## paxsim (checking on) against a hand-written SimPy Paxos (benchmarks/reference.py)")
    print()
    print("| scenario | runs | reference runs/s | paxsim runs/s | ratio | without checking | reference msgs/s | paxsim msgs/s | msgs/run (ref, paxsim) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in (compare("5 nodes, 2 proposers, 5% loss", 5, 2, 0.05, 20 if q else 1500, rounds),
                compare("51 nodes, 5 proposers, 5% loss", 51, 5, 0.05, 3 if q else 120, rounds, sigma=0.6)):
        print(f"| {row['title']} | {row['runs']} | {row['ref_rps']:.0f} | {row['pax_rps']:.0f} | **{row['ratio']:.2f}** "
              f"| {row['ratio_nocheck']:.2f} | {row['ref_mps']:.0f} | {row['pax_mps']:.0f} "
              f"| {row['ref_msgs']:.0f}, {row['pax_msgs']:.0f} |")
    print()
    print("Ratio = paxsim runs/s / reference runs/s on the same seeds (best of rounds). Target: >= 0.5.")
    print()
    sp = sweep_speedup(40 if q else 6000, 1 if q else 3)
    print("## Parallel sweep (`paxsim sweep`, 5 nodes, 2 proposers, 5% loss)")
    print()
    print("| runs | --jobs 1 | --jobs 2 | speedup |")
    print("|---|---|---|---|")
    print(f"| {sp['runs']} | {sp['t1']:.2f} s | {sp['t2']:.2f} s | **{sp['speedup']:.2f}x** |")
    print()
    print("Target: 2 jobs >= 1.8x one job (on 2 CPUs).")
    print()
    by_nodes, by_loss = scaling(10 if q else 400)
    print("## Cost of one run (paxsim, checking on)")
    print()
    print("| nodes (2 proposers, 5% loss) | ms/run | msgs/run | us/msg |")
    print("|---|---|---|---|")
    for n, ms, msgs, us in by_nodes:
        print(f"| {n} | {ms:.2f} | {msgs:.0f} | {us:.2f} |")
    print()
    print("| loss (5 nodes, 2 proposers) | ms/run | msgs/run | us/msg |")
    print("|---|---|---|---|")
    for loss, ms, msgs, us in by_loss:
        print(f"| {loss:g} | {ms:.2f} | {msgs:.0f} | {us:.2f} |")
    print()
    print("## Where the time goes (cProfile, 5 nodes, 2 proposers, 5% loss; share of own time)")
    print()
    print("| area | share |")
    print("|---|---|")
    for area, share in profile(30 if q else 500):
        print(f"| {area} | {share:.0f}% |")


if __name__ == "__main__":
    main()
