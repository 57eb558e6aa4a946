"""Where the time of a parallel sweep goes, and what an idle machine would give.

    python benchmarks/sweep_timeline.py              # 6000 seeds, 3 rounds of --jobs 1 and --jobs 2
    python benchmarks/sweep_timeline.py --seeds 2000 --rounds 5
    python benchmarks/sweep_timeline.py --tree DIR   # the compiled build benchmarks/compiled.py made in DIR

Wall time is what users see, but on a machine other jobs share it mostly
measures them.  This runs `paxsim sweep` on the bench scenario (5 nodes, 2
proposers) with the sweep's chunk function wrapped to note, in every
process, when each chunk starts and ends (CLOCK_MONOTONIC, one clock for
all processes), the process's CPU time then, and its run-queue wait
(/proc/self/schedstat: time it was ready but another process had the CPU).
From those, per command:

* before: CPU time of the command before any run starts (interpreter,
  imports, reading the scenario, forking);
* serial: CPU time of the command before it forks its workers (before the
  first run with --jobs 1): `paxsim sweep -j 2` forks before reading the
  scenario, and its worker imports what the runs need meanwhile;
* runs:   CPU time of each process from its first chunk to its last
  (results writing and progress included);
* after:  CPU time of the command after the last run (summary, exit);
* idle:   wall time a process waited at the end for the other to finish;
* waits:  wall time a worker waited between chunks, neither running nor
  ready to run (for the parent to hand it its next chunk).

An idle machine runs each process on its own CPU, and the processes take
chunks as they free up, so a command takes about serial + the CPU of all
processes after the fork (their start-up and the runs) shared evenly among
them + after (Amdahl; "idle at the end" says how evenly they finished, and
"worker's first run" how long it waited to start); the projected speedup
is that of --jobs 1 over that of --jobs 2, per round.
Linux only (schedstat, fork).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child(log: str, argv: list[str]) -> None:
    """Run `paxsim sweep ...` in this process, noting chunk times to `log` (workers fork with the patch)."""
    import atexit
    import resource

    def note(*fields) -> None:
        with open(log, "a") as fh:
            fh.write(" ".join(map(str, fields)) + "\n")

    def runqueue() -> float:
        with open("/proc/self/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9

    import paxsim.sweep as sw

    inner = sw.run_chunk_lines

    def run_chunk_lines(*args):
        q0, t0, c0 = runqueue(), time.monotonic(), time.process_time()
        out = inner(*args)
        note("chunk", os.getpid(), t0, time.monotonic(), c0, time.process_time(), q0, runqueue())
        return out

    run_chunk_lines.__module__, run_chunk_lines.__qualname__ = "paxsim.sweep", "run_chunk_lines"  # pickled by name
    sw.run_chunk_lines = run_chunk_lines
    real_fork, parent = os.fork, os.getpid()

    def fork() -> int:
        if os.getpid() == parent:
            note("fork", parent, time.monotonic(), time.process_time())
        return real_fork()

    os.fork = fork

    def at_exit() -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        note("exit", os.getpid(), time.monotonic(), ru.ru_utime + ru.ru_stime)

    atexit.register(at_exit)
    sys.argv = ["paxsim", *argv]
    from paxsim.cli import run_main

    run_main()


def measure(scenario: Path, seeds: int, jobs: int, tmp: Path, tree: Path = HERE.parent) -> dict:
    work = Path(tempfile.mkdtemp(dir=tmp))
    log = work / "timeline.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(log), "sweep", str(scenario), "--seeds",
                             f"0:{seeds}", "--jobs", str(jobs), "-o", str(work / "r.jsonl"), "--no-progress"],
                            stdout=subprocess.DEVNULL, cwd=work, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.monotonic()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sweep_timeline: paxsim sweep --jobs {jobs} exited {os.waitstatus_to_exitcode(status)}")
    chunks: dict[int, list[tuple]] = {}
    parent = parent_cpu = forked = None
    for line in log.read_text().splitlines():
        f = line.split()
        if f[0] == "chunk":
            chunks.setdefault(int(f[1]), []).append(tuple(map(float, f[2:])))
        elif f[0] == "fork":
            forked = forked or (float(f[2]), float(f[3]))  # the first: when the workers started
        else:
            parent, parent_cpu = int(f[1]), float(f[3])
    shutil.rmtree(work)
    for cs in chunks.values():
        cs.sort()
    first = min(cs[0][0] for cs in chunks.values())
    last = max(cs[-1][1] for cs in chunks.values())
    total_cpu = usage.ru_utime + usage.ru_stime
    mine = chunks.get(parent)
    if mine is None:
        raise SystemExit("sweep_timeline: the command itself ran no runs; this script expects it to")
    before = mine[0][2]  # the parent's CPU since it started, at its first run
    serial = min(before, forked[1]) if forked else before  # until the workers fork (they may run first)
    after = parent_cpu - mine[-1][3]
    runs = {pid: cs[-1][3] - cs[0][2] for pid, cs in chunks.items()}
    workers = [pid for pid in chunks if pid != parent]
    if workers:  # a worker's CPU outside its chunks: start-up after the fork, taking and returning chunks
        outside = total_cpu - parent_cpu - sum(runs[p] for p in workers)
        for p in workers:
            runs[p] += outside / len(workers)
    waits = 0.0
    for p in workers:
        cs = chunks[p]
        waits += sum((b[0] - a[1]) - (b[2] - a[3]) - (b[4] - a[5]) for a, b in zip(cs, cs[1:]))
    worker_first = min((chunks[p][0][0] for p in workers), default=first) - start
    return {"wall": end - start, "cpu": total_cpu, "before": before, "serial": serial, "runs_parent": runs[parent],
            "runs_worker": max((runs[p] for p in workers), default=0.0), "after": after,
            "idle": sum(last - cs[-1][1] for cs in chunks.values()), "waits": waits,
            "wall_before": first - start, "wall_after": end - last, "worker_first": worker_first,
            "idle_machine": serial + (total_cpu - serial - after) / len(runs) + after}


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # measure() runs this script so: --child LOG SWEEP-ARGS...
        _child(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tree", type=Path, default=HERE.parent,
                    help="the paxsim tree to run (default: this checkout, pure Python; a directory "
                         "`python benchmarks/compiled.py DIR` made runs the compiled build)")
    opts = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import bench

    rows: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="paxsim-timeline-") as name:
        tmp = Path(name)
        scenario = tmp / "bench-5x2.yaml"
        scenario.write_text(bench.scenario_text(5, 2))
        for jobs in (1, 2):  # untimed: file cache, bytecode
            measure(scenario, min(200, opts.seeds), jobs, tmp, opts.tree)
        for r in range(opts.rounds):
            for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
                rows[jobs].append(measure(scenario, opts.seeds, jobs, tmp, opts.tree))
    names = [("wall", "wall time"), ("cpu", "CPU, all processes"), ("serial", "before the fork (CPU), serial"),
             ("before", "before the first run (CPU)"),
             ("runs_parent", "runs: the command's process (CPU)"), ("runs_worker", "runs: its worker (CPU)"),
             ("after", "after the last run (CPU)"), ("idle", "idle at the end (wall)"),
             ("waits", "worker waiting between chunks (wall)"), ("wall_before", "before the first run (wall)"),
             ("wall_after", "after the last run (wall)"), ("worker_first", "worker's first run (wall from start)"),
             ("idle_machine", "projected on an idle machine")]
    print(f"paxsim sweep ({opts.tree}), bench scenario (5 nodes, 2 proposers), {opts.seeds} seeds, "
          f"median of {opts.rounds} rounds "
          f"(load average {os.getloadavg()[0]:.2f})")
    print(f"| {'':40s} | --jobs 1 | --jobs 2 |")
    print(f"|{'-' * 42}|----------|----------|")
    for key, label in names:
        cells = [statistics.median(r[key] for r in rows[j]) for j in (1, 2)]
        print(f"| {label:40s} | {cells[0]:6.3f} s | {cells[1]:6.3f} s |")
    measured = [a["wall"] / b["wall"] for a, b in zip(rows[1], rows[2])]
    projected = [a["idle_machine"] / b["idle_machine"] for a, b in zip(rows[1], rows[2])]
    print(f"speedup, wall time, per round:          {', '.join(f'{x:.2f}x' for x in measured)}")
    print(f"speedup, projected idle, per round:     {', '.join(f'{x:.2f}x' for x in projected)} "
          f"(median {statistics.median(projected):.2f}x)")


if __name__ == "__main__":
    main()
