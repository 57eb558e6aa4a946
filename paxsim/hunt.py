"""Does the checker have teeth?  For every deliberate bug and every fault
profile, how many seeds does a sweep need before the checker reports a
violation; how small does the violation shrink; and does the correct
protocol stay clean over many seeds.

    paxsim hunt                       # all bugs, scenarios/hunt/*.yaml
    paxsim hunt --quick               # a smoke run

Seeds to first violation are measured over disjoint seed ranges (range r is
seeds r*size .. r*size+size-1): the count is how many seeds of the range
were run, up to and including the first violating one.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from pathlib import Path

from .protocols.multi import BUGS as MULTI_BUGS
from .protocols.multi import CONTROL_BUGS as MULTI_CONTROL_BUGS
from .protocols.single import BUGS
from .protocols.single import CONTROL_BUGS as SINGLE_CONTROL_BUGS

CONTROL_BUGS = SINGLE_CONTROL_BUGS | MULTI_CONTROL_BUGS  # either protocol's harmless mutants

# Settings a bug needs in order to act at all (documented with the bug).
NEEDS = {"mixed-ballot-learner": ("protocol.learning=acceptors",)}

# The smallest scenario that can show each bug, derived by hand:
# (nodes, proposers, fault events, message fates, why).
HAND_MINIMUM = {
    "amnesia": (2, 2, 4, 0, "both nodes vote for the first value, then both crash and restart (4 events) and "
                            "forget it; the second proposer then hears nothing reported"),
    "persist-after-reply": (3, 2, 2, 1, "a voter crashes inside the write that follows its reply (2 events); the "
                                        "second proposer must miss the other voter (one prepare lost or late)"),
    "ignore-accepted": (2, 2, 0, 1, "the second proposer's promises report the first value, which it ignores; one "
                                    "late message keeps it from having learned the outcome first"),
    "any-accepted": (3, 2, 0, 2, "two ballots with votes (one proposer's retry makes the second) must be reported, "
                                 "the lower first: two messages late or lost"),
    "reused-ballot": (2, 2, 0, 0, "not alone: strict promises stop a reused ballot; with prepare-ge, two "
                                  "proposers at (1, '') on 2 nodes suffice"),
    "accept-skips-promise": (2, 2, 0, 0, "two racing proposers on 2 nodes: an accept for the lower ballot arrives "
                                         "after the higher promise under plain latencies"),
    "accept-keeps-promise": (3, 3, 0, 3, "an acceptor votes without having promised, then takes an older accept, "
                                         "then a third ballot reads it"),
    "mixed-ballot-learner": (2, 2, 0, 0, "two nodes: each votes its own value at its own ballot, then the other's; "
                                         "a learner counting per value sees a quorum for the wrong one"),
    "small-quorum": (2, 1, 0, 0, "on 2 nodes a quorum of 1 lets a lone proposer decide on its own vote, which "
                                 "no majority made"),
    "counts-refusals": (2, 2, 0, 0, "a nack completes the quorum of a proposer that lost the race"),
    "counts-duplicates": (3, 1, 0, 1, "one duplicated reply gives a lone proposer a 'quorum' of one acceptor counted "
                                      "twice"),
    "unsafe-flexible": (2, 2, 0, 0, "on 2 nodes both quorums are 1: each proposer chooses alone"),
    "prepare-ge": (None, None, None, None, "control: harmless while ballots are unique"),
}


def _first_violation(args) -> tuple[int | None, list[str], int]:
    """Worker: run seeds start.. until the first violation (or size seeds)."""
    path, bugs, start, size = args
    from .scenario import load_variant
    from .sim import simulate

    extra = [s for b in bugs for s in NEEDS.get(b, ())]
    sc = load_variant(path, extra, list(bugs))
    for k in range(size):
        v = simulate(sc, start + k).verdict
        if v.violations:
            return start + k, sorted({x.kind for x in v.violations}), k + 1
    return None, [], size


def _count_violations(args) -> tuple[int, int, int]:
    """(runs that violated safety, runs, runs whose client history's
    linearizability is undecided and that violated nothing)."""
    path, start, size = args
    from .report import status
    from .scenario import load_scenario
    from .sim import simulate

    sc = load_scenario(path)
    violated = undecided = 0
    for s in range(start, start + size):
        verdict = simulate(sc, s).verdict
        if not verdict.ok:
            violated += 1
        elif status(verdict) == "unknown":
            undecided += 1
    return violated, size, undecided


@dataclass
class Row:
    bug: str
    profile: str
    counts: list[int | None] = field(default_factory=list)  # per range: seeds to first violation, None if none
    kinds: set = field(default_factory=set)
    first_seeds: list[int] = field(default_factory=list)  # each range's first violating seed
    ranges_run: int = 0

    @property
    def first_seed(self) -> int | None:
        return min(self.first_seeds, default=None)

    @property
    def caught(self) -> int:
        return sum(c is not None for c in self.counts)

    def stat(self, q: float) -> str:
        if not self.caught:
            return "-"
        # ranges without a violation count as beyond the range: a lower bound.  The q-quantile with
        # linear interpolation (numpy's default): the median of 4 ranges is the mean of the middle two.
        values = sorted(c if c is not None else float("inf") for c in self.counts)
        virtual = q * (len(values) - 1)
        lo = int(virtual)
        hi = min(lo + 1, len(values) - 1)
        t = virtual - lo
        if values[hi if t > 0 else lo] == float("inf"):
            return "> range"
        v = values[lo] + (values[hi] - values[lo]) * t if t > 0 else values[lo]
        return f"{round(v, 2):g}"


def default_profiles() -> list[Path]:
    """The shipped fault profiles, every scenarios/hunt/*.yaml: from the
    current directory's checkout if there is one (short names in what the
    hunt writes), else the checkout this package runs from, else the copy
    installed with the package (pyproject.toml maps scenarios/hunt to
    paxsim/hunt_profiles)."""
    from importlib import resources

    here = Path("scenarios") / "hunt"
    checkout = Path(__file__).resolve().parent.parent / "scenarios" / "hunt"
    installed = resources.files("paxsim") / "hunt_profiles"
    for folder in (here, checkout, Path(str(installed))):
        found = sorted(folder.glob("*.yaml"))
        if found:
            return found
    return []


def work_units(profiles: list[Path], bugs: list[str], ranges: int, size: int, correct_seeds: int) -> int:
    """The hunt's size in seeds (a mutant's range counts whole, even when it stops at its first violation)."""
    return len(profiles) * (len(bugs) * ranges * size + correct_seeds)


def hunt(profiles: list[Path], bugs: list[str], *, ranges: int = 20, size: int = 10000,
         correct_seeds: int = 100000, jobs: int = 2, give_up: int = 3, tries: int = 5, progress=None,
         advance=None) -> dict:
    """Run the hunt; returns rows, the correct protocol's counts and shrink results.
    `progress(line)` is told what each step found; `advance(seeds)` how many
    of `work_units(...)` are done."""
    advance = advance or (lambda _n: None)
    from .scenario import load_variant
    from .shrink import shrink

    rows: dict[tuple[str, str], Row] = {}
    correct: dict = {}
    try:
        _hunt_runs(profiles, bugs, rows, correct, ranges, size, correct_seeds, jobs, give_up, progress, advance)
    except KeyboardInterrupt:  # what finished so far, for the caller to keep; nothing shrunk
        for key, row in list(rows.items()):
            row.ranges_run = len(row.counts)
            if not row.counts:
                del rows[key]
        return {"rows": rows, "correct": correct, "shrunk": {}, "ranges": ranges, "size": size,
                "correct_seeds": correct_seeds, "interrupted": True}
    # shrink: the first violations of every profile that caught the bug (up to
    # `tries` of them), keeping the smallest result
    shrunk = {}
    by_path = {p.stem: p for p in profiles}
    for bug_set in bugs:
        names = bug_set.split("+")
        extra = [s for b in names for s in NEEDS.get(b, ())]
        best = None
        for (b, profile), row in sorted(rows.items()):
            if b != bug_set:
                continue
            sc = load_variant(by_path[profile], extra, names)
            for seed in sorted(row.first_seeds)[:tries]:
                try:
                    result = shrink(sc, seed)
                except ValueError:
                    continue
                if best is None or result.after.total < best[2].after.total:
                    best = (profile, seed, result, str(by_path[profile]))
        if best is not None:
            shrunk[bug_set] = best
            if progress:
                progress(f"{bug_set}: shrunk {best[0]} seed {best[1]} to {best[2].after}")
    return {"rows": rows, "correct": correct, "shrunk": shrunk, "ranges": ranges, "size": size,
            "correct_seeds": correct_seeds}


def _start_worker() -> None:
    """A hunt worker ignores Ctrl-C (the parent stops it, keeping what finished) and ends with its parent."""
    from .sweep import _ignore_sigint, exit_with_parent

    _ignore_sigint()
    exit_with_parent()


def _hunt_runs(profiles, bugs, rows, correct, ranges, size, correct_seeds, jobs, give_up, progress,
               advance) -> None:
    """The hunt's sweeps, filling `rows` and `correct` as they finish."""
    # A multiprocessing pool, for its terminate(): a worker's task can run for minutes (a range of
    # 10,000 seeds), and Ctrl-C must stop now, keeping what finished.  (Ending a concurrent.futures
    # pool's workers under it made its manager thread print tracebacks.)
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_start_worker)
    try:
        _hunt_in(pool, profiles, bugs, rows, correct, ranges, size, correct_seeds, jobs, give_up, progress,
                 advance)
    except BaseException:  # Ctrl-C: stop now; what finished is in rows and correct
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def _hunt_in(pool, profiles, bugs, rows, correct, ranges, size, correct_seeds, jobs, give_up, progress,
             advance) -> None:
    """The hunt's sweeps on `pool`, filling `rows` and `correct` as each finishes."""
    # mutants: ranges in batches of `jobs`, stopping early when a non-control bug is not found
    for bug_set in bugs:
        names = tuple(bug_set.split("+"))
        control = set(names) <= CONTROL_BUGS
        for p in profiles:
            row = rows[(bug_set, p.stem)] = Row(bug_set, p.stem)
            r = 0
            while r < ranges:
                batch = [(str(p), names, (r + i) * size, size) for i in range(min(jobs, ranges - r))]
                for first, kinds, count in pool.imap(_first_violation, batch):
                    row.counts.append(count if first is not None else None)
                    row.kinds.update(kinds)
                    if first is not None:
                        row.first_seeds.append(first)
                    advance(size)
                r += len(batch)
                row.ranges_run = r
                if not control and row.caught == 0 and r >= give_up:
                    advance((ranges - r) * size)
                    break  # not this profile's kind of bug: say so rather than spend 200,000 runs
            if progress:
                progress(f"{bug_set} on {p.stem}: {row.caught}/{row.ranges_run} ranges caught")
    # the correct protocol (none with correct_seeds=0: the table then says "not run")
    chunk = max(1, correct_seeds // (jobs * 8))
    for p in profiles if correct_seeds else ():
        tasks = [(str(p), s, min(chunk, correct_seeds - s)) for s in range(0, correct_seeds, chunk)]
        results = []
        for got in pool.imap(_count_violations, tasks):
            results.append(got)
            advance(got[1])
        correct[p.stem] = tuple(sum(r[i] for r in results) for i in range(3))  # violations, seeds, undecided
        if progress:
            progress(f"correct protocol on {p.stem}: {_correct_cell(correct[p.stem])}")


def _correct_cell(counts: tuple[int, int, int]) -> str:
    violations, seeds, undecided = counts
    return f"{violations} violations in {seeds:,} seeds" + (
        f", {undecided:,} undecided (a linearizability search hit its time limit)" if undecided else "")


def counterexample_path(bug_set: str, directory: Path) -> Path | None:
    """Where write_counterexamples may put the shrunk scenario of `bug_set`
    (a bug or a combination a+b: its first bug's name), None for a control."""
    names = bug_set.split("+")
    return None if set(names) <= CONTROL_BUGS else Path(directory) / f"{names[0]}.yaml"


def counterexample_paths(bug_sets, directory: Path) -> list[Path]:
    """Every file write_counterexamples may write for a hunt of `bug_sets`, once each."""
    return list(dict.fromkeys(p for p in (counterexample_path(b, directory) for b in bug_sets) if p is not None))


def chosen_counterexamples(result: dict, directory: Path) -> dict[Path, str]:
    """Which shrunk bug set each BUG.yaml holds: the bug alone if the hunt
    shrank it alone, else the first combination starting with it that it
    shrank (reused-ballot is caught only with prepare-ge).  One set per file:
    'amnesia' and 'amnesia+prepare-ge' both name amnesia.yaml."""
    chosen: dict[Path, str] = {}
    for bug_set in result["shrunk"]:  # in the order of the hunt's bug list
        path = counterexample_path(bug_set, directory)
        if path is not None and (path not in chosen or ("+" in chosen[path] and "+" not in bug_set)):
            chosen[path] = bug_set
    return chosen


def write_counterexamples(result: dict, directory: Path) -> list[tuple[Path, str]]:
    """Each bug's shrunk scenario as DIRECTORY/BUG.yaml (see chosen_counterexamples);
    returns (path, bug set) for each file written."""
    from .shrink import to_yaml

    written = []
    for path, bug_set in chosen_counterexamples(result, directory).items():
        _, seed, res, path_text = result["shrunk"][bug_set]
        names = bug_set.split("+")
        flags = "".join(f" --bug {b}" for b in names) + "".join(
            f" --set {s}" for b in names for s in NEEDS.get(b, ()))
        if path.is_symlink():  # --force replaces the file in the directory, not what a link points at
            path.unlink()
        path.write_text(to_yaml(res, f"{path_text} --seed {seed}{flags}"), encoding="utf-8")
        written.append((path, bug_set))
    return written


def format_table(result: dict) -> str:
    rows, correct, shrunk = result["rows"], result["correct"], result["shrunk"]
    profiles = sorted({p for _, p in rows} | set(correct))
    out = [f"Seeds to the first violation over {result['ranges']} disjoint ranges of {result['size']:,} seeds "
           "(median / p95; '-' none found; a profile that finds nothing in its first ranges is not run further)."
           " Shrunk size: nodes / proposers / fault events / scripted message fates; hand-derived minimum beside it.",
           "",
           "| bug | " + " | ".join(profiles) + " | property | shrunk (n/p/f/m) | hand minimum (n/p/f/m) |",
           "|---|" + "---|" * len(profiles) + "---|---|---|"]
    bugs = list(dict.fromkeys(b for b, _ in rows))
    for bug in bugs:
        cells = []
        kinds = set()
        for p in profiles:
            row = rows.get((bug, p))
            if row is None:
                cells.append("")
                continue
            kinds |= row.kinds
            if row.caught:
                cells.append(f"{row.stat(0.5)} / {row.stat(0.95)} ({row.caught}/{row.ranges_run})")
            else:
                cells.append(f"- (0/{row.ranges_run})")
        s = shrunk.get(bug)
        size = f"{s[2].after.nodes}/{s[2].after.proposers}/{s[2].after.faults}/{s[2].after.scripted_messages}" if s else "-"
        hand = HAND_MINIMUM.get(bug.split("+")[0])
        hand_s = "-" if not hand or hand[0] is None else f"{hand[0]}/{hand[1]}/{hand[2]}/{hand[3]}"
        out.append(f"| {bug} | " + " | ".join(cells) + f" | {', '.join(sorted(kinds)) or '-'} | {size} | {hand_s} |")
    if result.get("correct_seeds", 1):
        missing = "not run (interrupted)" if result.get("interrupted") else ""
        cells = [_correct_cell(correct[p]) if p in correct else missing for p in profiles]
    else:
        cells = ["not run (--correct-seeds 0)" for _ in profiles]
    out.append("| correct protocol | " + " | ".join(cells) + " | - | - | - |")
    return "\n".join(out)


def default_bugs(kind: str = "single-decree") -> list[str]:
    if kind == "multi-paxos":
        return list(MULTI_BUGS)
    return [*BUGS, "reused-ballot+prepare-ge"]
