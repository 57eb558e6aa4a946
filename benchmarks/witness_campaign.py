"""How many undecided KV linearizability verdicts the log's order settles.

Random five-node KV scenarios (many clients on few zipf keys, random faults:
the histories the search finds hardest), each run once; its client history
is judged by the search alone with a short time limit, and the log's order
is checked as a witness.  Prints, per run that the search left undecided,
whether the witness settles it (and if not, why), then the totals and what
each costs.  With --recheck S every undecided run is searched again for up
to S seconds: a run the witness settled must never turn out a violation.
With --bug NAME (a multi-paxos mutant) the runs break things: a run the
search finds not linearizable must never have a valid witness.

    python benchmarks/witness_campaign.py --runs 200 --time-limit 0.5
    python benchmarks/witness_campaign.py --runs 50 --time-limit 0.2 --recheck 60
    python benchmarks/witness_campaign.py --runs 100 --bug stale-read
"""

from __future__ import annotations

import argparse
import random
import time

from paxsim import lin
from paxsim.scenario import scenario_from_dict
from paxsim.sim.runtime import simulate


def random_scenario(r: random.Random, i: int, bugs: list[str]) -> dict:
    nodes = [f"n{k}" for k in range(1, 6)]
    d = {"name": f"w{i}", "duration": r.choice([400, 600, 800]), "nodes": 5,
         "protocol": {"kind": "multi-paxos", "window": r.choice([8, 16]), "heartbeat": 20, "election": [100, 200],
                      "bugs": bugs},
         "workload": {"clients": r.choice([8, 12, 16]), "keys": r.choice([1, 2, 4, 8]), "distribution": "zipf",
                      "zipf_exponent": 1.0, "timeout": [r.choice([20, 50, 100]), 150], "attempts": r.choice([3, 5])},
         "network": {"latency": r.choice([{"dist": "lognormal", "median": 2, "sigma": 0.5},
                                          {"dist": "pareto", "scale": 1, "shape": 1.5}]),
                     "loss": r.choice([0, 0, 0.05]), "duplicate": r.choice([0, 0.1])}}
    if r.random() < 0.7:
        d["faults"] = {"random": {"until": d["duration"] // 2, "events": 6, "max_down": 2, "crash": {"down": [5, 80]},
                                  "partition": {"length": [10, 100]}, "cut": {"length": [10, 100]},
                                  "loss": 0.2, "duplicate": 0.3, "delay": {"share": 0.1, "max": 30}}}
    else:
        a, b = r.sample(nodes, 2)
        d["faults"] = [{"at": 60, "partition": [[a, b], [x for x in nodes if x not in (a, b)]]},
                       {"at": 160, "heal": "all"}]
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--first", type=int, default=0, help="first run number (scenario and seed)")
    ap.add_argument("--time-limit", type=float, default=0.5, help="seconds of search per history")
    ap.add_argument("--recheck", type=float, default=0.0, help="search undecided runs again for up to S seconds")
    ap.add_argument("--bug", action="append", default=[], help="a multi-paxos mutant (repeatable)")
    a = ap.parse_args()
    totals = {"runs": 0, "ops": 0, "undecided": 0, "settled": 0, "violations": 0, "witness_valid": 0, "unsound": 0}
    search_s = witness_s = 0.0
    for i in range(a.first, a.first + a.runs):
        sc = scenario_from_dict(random_scenario(random.Random(f"witness-campaign:{i}"), i, a.bug), f"w{i}.yaml")
        run = simulate(sc, i)
        events = run.events
        history = lin.history_from_events(events, "kv")
        t0 = time.perf_counter()
        v = lin.check(history, time_limit=a.time_limit, explain=False)
        t1 = time.perf_counter()
        w = lin.witness_from_log(events, history)
        t2 = time.perf_counter()
        search_s += t1 - t0
        witness_s += t2 - t1
        totals["runs"] += 1
        totals["ops"] += len(history.ops)
        totals["witness_valid"] += bool(w is not None and w.valid)
        totals["violations"] += v.result == lin.VIOLATION
        if v.result == lin.VIOLATION and w is not None and w.valid:
            totals["unsound"] += 1
            print(f"run {i}: not linearizable, yet the witness is valid  <-- UNSOUND", flush=True)
        if v.result != lin.UNKNOWN:
            continue
        totals["undecided"] += 1
        settled = w is not None and w.valid
        totals["settled"] += settled
        line = (f"run {i}: {len(history.ops)} ops, undecided {', '.join(map(str, v.unknown))}; witness "
                + ("settles it" if settled else f"does not: {w.reason if w else 'no log'}"))
        if a.recheck:
            again = lin.check(history, time_limit=a.recheck, explain=False)
            line += f"; searched {a.recheck:g} s: {again.result} ({again.seconds:.1f} s)"
            if settled and again.result == lin.VIOLATION:
                line += "  <-- UNSOUND"
        print(line, flush=True)
    print(f"\n{totals['runs']} runs, {totals['ops']} operations; search alone ({a.time_limit:g} s limit): "
          f"{totals['undecided']} undecided, {totals['violations']} violations; the log's order settles "
          f"{totals['settled']} of the {totals['undecided']} undecided (a valid witness in "
          f"{totals['witness_valid']} of {totals['runs']} runs; {totals['unsound']} valid beside a violation)")
    print(f"time: search {search_s:.2f} s in all, witness {witness_s:.2f} s in all "
          f"({1000 * witness_s / max(1, totals['runs']):.1f} ms a run)")


if __name__ == "__main__":
    main()
