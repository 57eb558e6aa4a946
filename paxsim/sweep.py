"""Many seeded runs: a grid of scenario parameters times a range of seeds.

* Runs are independent and seeded, so the results do not depend on which
  executor ran them or in what order: inline (one process), local worker
  processes, or a Dask cluster.
* Each result is one JSON line, appended to the results file as its chunk
  of runs finishes, so Ctrl-C or a killed process loses nothing already
  finished; `resume=True` skips the runs already in the file.
* A run's trace lives only as long as it takes to check it; only violating
  runs send their trace back, to be saved beside the results.
* The summary is computed from the results file, so an interrupted and
  resumed sweep summarizes exactly like an uninterrupted one.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import math
import os
import re
import shlex
import signal
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

try:  # the lean built-in module first, as random.py does for sha512: hashlib loads OpenSSL (3 ms of start-up)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12 and later name it _sha2 (as paxsim.sim.streams reads it)
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

from ._version import __version__
from .scenario import (
    OverrideError,
    Scenario,
    add_bugs,
    ScenarioError,
    apply_set,
    parse_sets,
    read_scenario_data,
    scenario_from_dict,
)

RESULTS_FORMAT = 1
SYNC_EVERY = 1.0  # s: how often a sweep forces its results file to disk (it writes each chunk at once)


class SweepError(ValueError):
    """Bad sweep input; `str()` is one line."""


class WorkerLost(RuntimeError):
    """A local worker process ended abruptly (killed, or out of memory):
    what finished is kept, as on Ctrl-C, and `--resume` goes on; `str()` is
    one line."""


# --------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------
MAX_SEEDS = 10_000_000  # in one sweep: the list alone then takes hundreds of MB, and the runs hours
MAX_COMBINATIONS = 10_000  # of --set values in one sweep, each a validated scenario held in memory


def parse_seeds(text: str) -> list[int]:
    """'0:1000' (half-open), '7', '1,5,9' or '0:100,500:600' -> seeds, in order, without repeats."""
    seeds: list[int] = []
    seen: set[int] = set()
    ranges = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"([0-9]+)(?::([0-9]+))?", part)  # ASCII digits: int() would read any script's
        if not m:
            raise SweepError(f"--seeds {text}: expected A:B (from A up to B-1), N, or a comma list of those")
        longest = max(len(m.group(1)), len(m.group(2) or ""))
        if longest > sys.get_int_max_str_digits():  # more than Python reads (its message says to raise the limit)
            shown = text if len(text) <= 80 else f"{text[:80]}..."
            from .trace import too_many_digits

            raise SweepError(f"--seeds {shown}: {too_many_digits(longest)}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo + 1
        if hi <= lo:
            raise SweepError(f"--seeds {text}: empty range {part} (B must be greater than A)")
        ranges.append((lo, hi))
    if sum(hi - lo for lo, hi in ranges) > MAX_SEEDS:  # before building a list that may not fit in memory
        raise SweepError(f"--seeds {text}: more than {MAX_SEEDS:,} seeds; split them into several runs "
                         "(e.g. --seeds 0:10000000, then --seeds 10000000:20000000)")
    for lo, hi in ranges:
        for s in range(lo, hi):
            if s not in seen:
                seen.add(s)
                seeds.append(s)
    return seeds


@dataclass(frozen=True)
class Combo:
    """One point of the parameter grid: its --set values and the resulting scenario."""

    index: int
    params: tuple[tuple[str, Any], ...]
    scenario: dict  # normalized, validated
    bugs: tuple[str, ...] = ()  # the sweep's --bug names (in scenario's protocol.bugs already), for the label

    @property
    def key(self) -> str:
        """The combination's identity in results files: its --set values."""
        return json.dumps(dict(self.params), sort_keys=True, separators=(",", ":"))

    @property
    def scenario_id(self) -> str:
        """A worker caches validated scenarios under this: the content itself."""
        text = json.dumps(self.scenario, sort_keys=True, separators=(",", ":"))
        return sha256(text.encode()).hexdigest()

    @property
    def label(self) -> str:
        return " ".join(f"{k}={_show(v)}" for k, v in self.params) or (
            f"(scenario with {' '.join(f'--bug {b}' for b in self.bugs)})" if self.bugs else "(scenario as written)")

    def set_args(self) -> str:
        return "".join(f" --set {shlex.quote(f'{k}={_yaml_scalar(v)}')}" for k, v in self.params)


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else _yaml_scalar(value)


def _yaml_scalar(value: Any) -> str:
    """`value` as a --set value that YAML reads back as `value`: a string
    bare (10ms), or double-quoted when YAML would read it as something
    else (the string '1' is "1", 'true' is "true"); any other value as JSON."""
    if not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    return value if _reads_back(value) else json.dumps(value)


@functools.lru_cache(maxsize=1024)
def _reads_back(text: str) -> bool:
    """Whether YAML reads `text`, written bare, as that same string."""
    from .scenario import _yaml

    yaml = _yaml()
    try:
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def build_grid(scenario_path: str | Path, sets: Iterable[str], bugs=()) -> tuple[list[Combo], Scenario]:
    """Every combination of the --set values applied to the scenario file
    (with --bug names added), each validated.  Returns the combos and the
    base scenario."""
    data, lines = read_scenario_data(scenario_path)
    base = scenario_from_dict(data, str(scenario_path), lines)
    if bugs:
        data = add_bugs(data, bugs)
        base = scenario_from_dict(data, f"{scenario_path} (with {' '.join(f'--bug {b}' for b in bugs)})")
    axes = []
    for (name, path, values), text in zip(parse_sets(sets, many=True, bugs=tuple(bugs),
                                                     hint="list every value in one --set {name}=V1,V2"), sets):
        if tuple(path) == ("seed",):
            raise SweepError(f"--set {text}: a sweep's runs take their seeds from --seeds, not from the "
                             "scenario's seed (drop it, or give --seeds)")
        shown = [json.dumps(v, sort_keys=True) for v in values]
        twice = next((v for i, v in enumerate(shown) if v in shown[:i]), None)
        if twice is not None:  # one combination: its runs would be counted, and summarized, twice
            raise SweepError(f"--set {name}: the value {twice} is given twice (as YAML reads it)")
        axes.append((name, path, values))
    count = math.prod(len(a[2]) for a in axes)
    if count > MAX_COMBINATIONS:  # each is validated and kept before the first run: refuse before that
        raise SweepError(f"--set: {count:,} combinations ({' x '.join(str(len(a[2])) for a in axes)} values), "
                         f"more than the {MAX_COMBINATIONS:,} one sweep takes; sweep fewer values at a time")
    combos = []
    for index, choice in enumerate(itertools.product(*[a[2] for a in axes])):
        d = data
        params = []
        for (name, path, _), value in zip(axes, choice):
            d = apply_set(d, path, value)
            params.append((name, value))
        label = " ".join(f"{n}={_show(v)}" for n, v in params)
        scenario = scenario_from_dict(d, f"{scenario_path} (with --set {label})") if params else base
        combos.append(Combo(index, tuple(params), scenario.to_dict(), tuple(bugs)))
    return combos, base


# --------------------------------------------------------------------------
# Running: the worker side
# --------------------------------------------------------------------------
_scenarios: dict[str, Scenario] = {}  # per worker process: combo key -> scenario


def run_chunk(scenario: dict, key: str, params: dict, seeds: list[int]) -> list[dict]:
    """Run `seeds` of one combination; one result dict per seed.  Runs in a
    worker process (or Dask worker) and keeps nothing between chunks but the
    validated scenario, cached under `key`, which must identify the
    scenario's content (`Combo.scenario_id`)."""
    from .sim import simulate
    from .sim.runtime import FaultError

    sc = _scenarios.get(key)
    if sc is None:
        if len(_scenarios) > 256:
            _scenarios.clear()
        sc = _scenarios[key] = scenario_from_dict(scenario)
    within = sc.expect.within
    out = []
    for seed in seeds:
        try:
            run = simulate(sc, seed)
        except FaultError as exc:  # a bug in paxsim: say which run met it (pickled with it from a worker)
            exc.paxsim_run = (seed, params)
            raise
        out.append(result_record(run, params, within))
        del run  # the trace goes now; only a violation's comes back (as text)
    return out


def result_record(run, params: dict, within: float | None) -> dict:
    v = run.verdict
    m = v.messages or {}
    kinds = sorted({x.kind for x in v.violations}) if v.violations else []
    decided = v.decided
    decision_t = v.last_decide_t if decided else None
    outcome = "violation" if kinds else ("decided" if decided else "undecided")
    rec = {
        "kind": "run",
        "seed": run.seed,
        "params": params,
        "outcome": outcome,
        "decision_t": decision_t,
        "sent": m.get("sent", 0),
        "delivered": m.get("delivered", 0),
        "lost": sum((m.get("dropped") or {}).values()),
        "duplicated": m.get("duplicated", 0),
        "violation": kinds[0] if kinds else None,
        "violations": kinds,
    }
    w = v.workload
    if w is not None:  # a run with clients: its operations, not a decision
        rec["outcome"] = "violation" if kinds else "ok"
        rec["ops"] = {"ok": w["ok"], "invoked": w["invoked"], "info": w["info"], "ops_per_s": w["ops_per_s"],
                      "p50": w["latency"]["p50"], "p99": w["latency"]["p99"],
                      "linearizability": w["linearizability"]}
    if within is not None:
        # decided as the "decided" column counts it: a run that broke safety decided nothing within anything
        rec["within"] = bool(outcome == "decided" and decision_t is not None and decision_t <= within)
    live = v.liveness if outcome == "undecided" else None  # computed only for undecided runs
    if live is not None:
        rec["liveness"] = live.cls
        rec["good_window"] = live.window.length if live.window is not None else 0.0
    budget = v.budget
    if budget is not None:
        rec["over_budget"] = budget["exceeded"]
    if kinds:
        rec["trace"] = "".join(run.lines())
        rec["explanations"] = {}
        for violation in v.violations:
            rec["explanations"].setdefault(violation.kind, violation.explain())
    return rec


# A results-file line: json.dumps(rec, sort_keys=True, separators=(",", ":")), without building an encoder per run.
_record_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _record_line(rec: dict, params: dict, params_json: str) -> str:
    """`_record_json(rec)`: the common record (a run decided or undecided,
    without violations, workload, liveness or budget; `within` or not)
    written directly, its keys in sorted order, its numbers as the encoder
    writes them (int and finite float repr); any other record by the
    encoder.  tests/test_sweep_records.py holds it to json.dumps."""
    n = len(rec)  # result_record always sets the eleven keys below
    t = rec["decision_t"]
    seed, sent, delivered, lost, duplicated = rec["seed"], rec["sent"], rec["delivered"], rec["lost"], rec["duplicated"]
    outcome = rec["outcome"]
    if (n == 11 or (n == 12 and type(rec.get("within")) is bool)) \
            and (outcome == "decided" or outcome == "undecided") and rec["kind"] == "run" and rec["params"] is params \
            and rec["violation"] is None and rec["violations"] == [] \
            and type(seed) is int and type(sent) is int and type(delivered) is int and type(lost) is int \
            and type(duplicated) is int and (t is None or (type(t) is float and t - t == 0.0)):
        return (f'{{"decision_t":{"null" if t is None else repr(t)},"delivered":{delivered},'
                f'"duplicated":{duplicated},"kind":"run","lost":{lost},"outcome":"{outcome}","params":{params_json},'
                f'"seed":{seed},"sent":{sent},"violation":null,"violations":[]'
                + ("}" if n == 11 else ',"within":true}' if rec["within"] else ',"within":false}'))
    return _record_json(rec)


def run_chunk_lines(scenario: dict, key: str, params: dict, seeds: list[int]) -> list[tuple]:
    """`run_chunk`, with each record already written as its results-file
    line (so the parent, which shares the CPUs with the workers, only
    writes): one (line, trace text or None, {"seed", "outcome"}) per seed.
    A violating run's record names its trace file, as `run_sweep` saves it."""
    out = []
    params_json = _record_json(params)
    for rec in run_chunk(scenario, key, params, seeds):
        trace = rec.pop("trace", None)
        if trace is not None:
            rec["trace"] = _trace_name(rec["params"], rec["seed"])  # in RESULTS.traces/, so results do not depend on -o
        out.append((_record_line(rec, params, params_json) + "\n", trace,
                    {"seed": rec["seed"], "outcome": rec["outcome"]}))
    return out


class InOrder:
    """Chunks numbered 0, 1, 2, ... that finish in any order, released in
    number order: what a sweep or a comparison writes is the same whatever
    the executor.  `add` returns the chunks now due; `rest` the ones still
    waiting (finished ahead of an unfinished one), in number order."""

    def __init__(self) -> None:
        self.waiting: dict[int, Any] = {}
        self.following = 0  # the next number due

    def add(self, index: int, chunk) -> list:
        self.waiting[index] = chunk
        due = []
        while self.following in self.waiting:
            due.append(self.waiting.pop(self.following))
            self.following += 1
        return due

    def rest(self) -> list:
        rest = [self.waiting[i] for i in sorted(self.waiting)]
        self.waiting.clear()
        return rest


def run_chunk_lines_at(index: int, scenario: dict, key: str, params: dict, seeds: list[int]) -> tuple[int, list]:
    """`run_chunk_lines`, with the chunk's place in the sweep: the parent
    writes chunks in that order, whichever worker finished first."""
    return index, run_chunk_lines(scenario, key, params, seeds)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and keeps what finished
    # The console script makes SIGTERM interrupt like Ctrl-C; a worker just ends on it (its parent,
    # told too or seeing the pool broken, keeps what finished).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def exit_with_parent() -> None:
    """In a forked worker: end this process once its parent is gone.  A
    parent killed outright (SIGTERM, SIGKILL) cannot close its pool, and a
    worker waiting on the pool's queue would wait forever (it holds the
    queue's write end itself, so it never sees the end of it)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="paxsim-exit-with-parent", daemon=True).start()


def _start_worker() -> None:
    """A local worker's first act: ignore Ctrl-C, end with the parent, then
    import what the runs need (with the cyclic collector off meanwhile, and
    what it made frozen after, as the command line does for itself).  A
    worker forked after the parent's own `warm_up` inherits all of it and
    imports nothing."""
    import gc

    _ignore_sigint()
    exit_with_parent()
    collecting = gc.isenabled()
    gc.disable()
    try:
        warm_up()
    finally:
        if collecting:
            gc.enable()
    gc.freeze()


# --------------------------------------------------------------------------
# Executors: each yields the results of chunks as they finish
# --------------------------------------------------------------------------
Task = tuple  # (scenario dict, key, params, seeds)


class InlineExecutor:
    """Runs chunks in this process, one after another (jobs=1)."""

    name = "inline"

    def run(self, tasks: Iterable[Task], fn: Callable = None) -> Iterator[list[dict]]:
        fn = fn or run_chunk  # paxsim compare passes its own worker function
        for task in tasks:
            yield fn(*task)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """Local worker processes: `jobs - 1` forked workers, and this process
    runs chunks too (so `jobs` processes run, and no CPU waits for a third
    one that mostly sleeps).  The workers get a few chunks queued ahead;
    when the chunks run out, this process takes back the queued ones no
    worker has started and runs them itself, so all finish together."""

    name = "processes"

    def __init__(self, jobs: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self.pool = ProcessPoolExecutor(max_workers=jobs - 1, initializer=_start_worker) if jobs > 1 else None
        self.closed = False
        self.started = False

    def start(self) -> None:
        """Fork the workers now rather than with the first chunk: each then
        imports what the runs need (`_start_worker`) while this process goes
        on with what only it needs (`paxsim sweep` reads and checks the
        scenario), so they start running sooner."""
        if self.pool is None or self.closed or self.started:
            return
        self.started = True
        import gc

        frozen = gc.get_freeze_count()
        gc.freeze()  # as in run(): the workers' collectors never walk what this process made so far
        try:
            self.pool.submit(int)  # any task forks them (a fork-based pool forks all at once)
        finally:
            if not frozen:
                gc.unfreeze()

    def run(self, tasks: Iterable[Task], fn: Callable = None,
            before_own: Callable[[], None] | None = None) -> Iterator[list[dict]]:
        """`before_own` is called once the workers have their first chunks,
        before this process runs any (workers started ahead warm up
        themselves, so this process's own warming need not delay them)."""
        import gc
        from concurrent.futures.process import BrokenProcessPool

        fn = fn or run_chunk
        tasks = iter(tasks)
        pending: dict = {}  # future -> its task, in the order submitted
        ahead = 3 * (self.jobs - 1)  # queued per worker: one running, one in the pipe, one to spare

        def submit(task) -> None:
            pending[self.pool.submit(fn, *task)] = task

        # The first submit forks the workers: they inherit every module and
        # cache the parent loaded (callers warm them: see run_sweep), and
        # with the parent's objects frozen their collector never walks (and
        # copies) those pages.
        frozen = gc.get_freeze_count()  # the paxsim command froze its start-up for good (cli._importing)
        gc.freeze()
        try:
            for task in itertools.islice(tasks, ahead):
                submit(task)
        finally:
            if not frozen:
                gc.unfreeze()
        if before_own is not None:
            before_own()
        try:
            yield from self._run(tasks, fn, pending, submit, ahead)
        except BrokenProcessPool:
            # A worker died (SIGKILL, the kernel's out-of-memory killer): the
            # pool is unusable, and every chunk it held fails.  Hand on those
            # it finished first, to be kept, then stop as Ctrl-C would.
            for fut in list(pending):
                del pending[fut]
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    yield fut.result()
            raise WorkerLost("a worker process ended abruptly (killed, or out of memory?)") from None

    def _run(self, tasks, fn, pending, submit, ahead) -> Iterator[list[dict]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        def finished() -> Iterator[list[dict]]:
            """The results of the chunks the workers have finished, taken off `pending`."""
            for fut in [f for f in pending if f.done()]:
                del pending[fut]
                yield fut.result()

        try:
            while True:
                yield from finished()
                while len(pending) < ahead:
                    nxt = next(tasks, None)
                    if nxt is None:
                        break
                    submit(nxt)
                task = next(tasks, None)
                if task is None:
                    break
                yield fn(*task)  # this process's share
        except KeyboardInterrupt:
            # Ctrl-C, most likely in this process's own chunk: the workers (which ignore it) have
            # finished some chunks meanwhile and finish the ones they hold (close() would wait for
            # them anyway): hand those on to be kept, then stop.
            for fut in list(pending):
                if fut.cancel():
                    del pending[fut]
            for fut in list(pending):
                del pending[fut]
                try:
                    chunk = fut.result()
                except Exception:
                    continue
                yield chunk
            raise
        # The end: run here what no worker has started, newest first.
        while True:
            yield from finished()
            back = next((f for f in reversed(pending) if f.cancel()), None)
            if back is None:
                break
            yield fn(*pending.pop(back))
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                del pending[fut]
                yield fut.result()

    def close(self) -> None:
        if self.pool is not None and not self.closed:
            self.closed = True
            self.pool.shutdown(wait=True, cancel_futures=True)


def _probe_scheduler(address: str, timeout: float = 10.0) -> None:
    """SweepError unless a Dask scheduler with workers answers at `address`
    within `timeout` seconds.  distributed's Client waits forever on a server
    that accepts the connection and never answers in Dask's protocol (an
    HTTP server), and on one that answers something else it can fail
    anywhere (a 3 EiB allocation for the length an SSH banner gave): asked
    for its identity first, within a deadline, such an address is refused in
    one line.  So is a scheduler with no workers, where the sweep would wait
    for ever.  The words say whose fault it is: the address, this machine's
    transport, the connection, or what answered."""
    import asyncio
    import socket

    from distributed.comm import connect
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend
    from distributed.security import Security

    def refuse(what: str) -> SweepError:
        return SweepError(f"--scheduler {address}: {what}")

    def said(exc: BaseException) -> str:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"

    try:  # the address, before anything is sent
        scheme, loc = parse_address(address)  # no scheme is tcp, as for Client
        backend = get_backend(scheme)
    except (ValueError, TypeError) as exc:
        raise refuse(f"not a scheduler address like tcp://HOST:PORT ({exc})") from None
    if scheme == "inproc":
        raise refuse("not a scheduler address like tcp://HOST:PORT (an inproc:// scheduler lives inside "
                     "another process, which this command cannot reach)")
    try:  # this machine's transport for the scheme
        backend.get_connector()
    except Exception as exc:
        raise refuse(f"cannot connect (the {scheme} transport does not work here: {said(exc)})") from None
    try:
        backend.get_address_host(loc)
        host, port = parse_host_port(loc) if scheme in ("tcp", "tls", "ws", "wss") else (None, None)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
        if host is not None and not host.strip():
            raise ValueError("no host")
    except (ValueError, TypeError) as exc:
        raise refuse(f"not a scheduler address like tcp://HOST:PORT ({exc})") from None
    args = Security().get_connection_args("client")  # TLS settings from the Dask configuration, as Client's
    if scheme in ("tls", "wss") and args.get("ssl_context") is None:
        raise refuse(f"cannot connect ({scheme}:// needs TLS certificates in the Dask configuration, "
                     f"distributed.comm.tls)")
    answered = [False]  # from here on, an error is the answer's
    if host is not None:  # refused, unknown host, no route: said at once, not after the deadline
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except socket.gaierror as exc:
            raise refuse(f"cannot connect (no such host {host!r}: {exc.strerror or exc})") from None
        except OSError as exc:
            raise refuse(f"cannot connect ({exc.strerror or exc or f'no answer within {timeout:g} s'})") from None
        answered[0] = True

    async def identity():
        comm = await connect(address, timeout=timeout, **args)
        try:
            answered[0] = True
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout))
    except (TimeoutError, asyncio.TimeoutError):
        if answered[0]:  # something listens there, and says nothing a Dask client understands
            raise refuse(f"not a Dask scheduler (it took the connection but did not answer within "
                         f"{timeout:g} s)") from None
        raise refuse(f"cannot connect (no answer within {timeout:g} s)") from None
    except Exception as exc:
        if not answered[0]:
            raise refuse(f"cannot connect ({' '.join(str(exc).split()) or type(exc).__name__})") from None
        raise refuse(f"not a Dask scheduler (its answer could not be read: {said(exc)})") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise refuse(f"not a Dask scheduler (asked who it is, it said {' '.join(repr(reply).split())[:120]})")
    if reply.get("n_workers") == 0:
        raise refuse(f"the scheduler has no workers; start some (dask worker {address}) and run again")


class DaskExecutor:
    """A Dask cluster (`distributed`); workers need paxsim installed."""

    name = "dask"

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SweepError("--scheduler needs the Dask extra: pip install 'paxsim[dask]'") from None
        _probe_scheduler(address)
        try:
            self.client = Client(address, timeout="10s")
        except ValueError as exc:  # distributed's words for an address it cannot parse
            raise SweepError(f"--scheduler {address}: not a scheduler address like tcp://HOST:PORT ({exc})") from None
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"--scheduler {address}: cannot connect ({exc})") from None
        try:
            self._same_paxsim(address)
        except BaseException:
            self.client.close()
            raise
        self.jobs = max(1, sum(self.client.nthreads().values()))

    def _same_paxsim(self, address: str) -> None:
        """Refuse workers that run another paxsim than this one: their
        results (and trace names) would differ from this command's, silently."""
        here = code_fingerprint()
        try:
            theirs = self.client.run(code_fingerprint)
        except Exception as exc:
            raise SweepError(f"--scheduler {address}: its workers cannot run paxsim "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())}); install paxsim there") from None
        other = next(((w, f) for w, f in sorted(theirs.items()) if f != here), None)
        if other is not None:
            raise SweepError(f"--scheduler {address}: worker {other[0]} runs paxsim {other[1]}, this command "
                             f"{here}; its results would differ from this paxsim's: install the same paxsim there")

    def run(self, tasks: Iterable[Task], fn: Callable = None) -> Iterator[list[dict]]:
        from distributed import as_completed

        fn = fn or run_chunk
        tasks = iter(tasks)
        first = [self.client.submit(fn, *t, pure=False) for t in itertools.islice(tasks, self.jobs * 4)]
        queue = as_completed(first)
        for fut in queue:
            nxt = next(tasks, None)
            if nxt is not None:
                queue.add(self.client.submit(fn, *nxt, pure=False))
            yield fut.result()
            fut.release()

    def close(self) -> None:
        self.client.close()


def code_fingerprint() -> str:
    """paxsim's version and a digest of its Python source: two processes
    with the same fingerprint give the same results for the same runs."""
    root = Path(__file__).resolve().parent
    digest = sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__} (source {digest.hexdigest()[:12]})"


def make_executor(jobs: int, scheduler: str | None):
    if scheduler:
        return DaskExecutor(scheduler)
    if jobs <= 1:
        return InlineExecutor()
    return ProcessExecutor(jobs)


# --------------------------------------------------------------------------
# The results file
# --------------------------------------------------------------------------
def sweep_header(scenario_path: str, base: Scenario, sets: list[str]) -> dict:
    digest = sha256(json.dumps(base.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    return {"kind": "sweep", "format": RESULTS_FORMAT, "paxsim": __version__, "scenario": str(scenario_path),
            "scenario_sha256": digest, "sets": sets}


RESULTS_BLOCK = 1 << 22  # bytes of a results file read (and parsed) at a time


def read_results(path: Path) -> tuple[dict | None, list[dict], int]:
    """(header, run records, byte length of the complete lines).  A last line
    cut short by a kill is left out (and later overwritten)."""
    runs: list[dict] = []
    header, good = scan_results(path, lambda rec: runs.append(rec) if rec["kind"] == "run" else None)
    return header, runs, good


def scan_results(path: Path, on_record: Callable[[dict], None]) -> tuple[dict | None, int]:
    """Read a results file a few megabytes at a time, giving `on_record`
    each record (the header and the runs) in the file's order, none kept:
    (the header, the byte length of the complete lines).  A last line cut
    short by a kill, or left garbled by one, is left out; a bad line
    anywhere else is a SweepError naming it."""
    header, good, number = None, 0, 0  # number: lines before the block at hand
    with open(path, "rb") as fh:
        carry = b""
        while True:
            data = fh.read(RESULTS_BLOCK)
            if not data:
                break  # what is left in `carry` is an unfinished last line
            data = carry + data
            cut = data.rfind(b"\n") + 1
            body, carry = data[:cut], data[cut:]
            if not body:
                continue
            # A block of sound lines parses as one JSON array: half the time
            # of a json.loads per line.  Anything else goes line by line.
            try:
                recs = json.loads(b"[" + body[:-1].replace(b"\n", b",") + b"]")
            except json.JSONDecodeError:
                recs = None
            if (recs is not None and len(recs) == body.count(b"\n")
                    and all(type(r) is dict and r.get("kind") in ("run", "sweep") for r in recs)):
                for rec in recs:
                    if rec["kind"] == "sweep":
                        header = rec
                    on_record(rec)
                number += len(recs)
                good += len(body)
                continue
            pos = 0
            for raw in _lines(body):
                number += 1
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError:
                    if pos + len(raw) == len(body) and not carry and not fh.read(1):
                        return header, good  # a garbled last line, as a kill can leave: left out
                    raise SweepError(f"{path}:{number}: not a JSON line; is this a paxsim sweep results file?") \
                        from None
                pos += len(raw)
                good += len(raw)
                if type(rec) is not dict:
                    raise SweepError(f"{path}:{number}: a JSON line that is not an object; is this a paxsim sweep "
                                     "results file?")
                kind = rec.get("kind")
                if kind == "sweep":
                    header = rec
                elif kind != "run":
                    raise SweepError(f"{path}:{number}: unexpected record; is this a paxsim sweep results file?")
                on_record(rec)
    return header, good


class _KeyOf:
    """A run record's params -> its combination's key (json.dumps, sorted):
    one dumps per distinct params, looked up by their repr after that."""

    __slots__ = ("known",)

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, params: Any) -> str:
        shown = repr(params)
        key = self.known.get(shown)
        if key is None:
            key = self.known[shown] = json.dumps(params, sort_keys=True, separators=(",", ":"))
        return key


def count_done(plan: SweepPlan, path: Path) -> int:
    """How many of the plan's runs (combination and seed) the results file
    holds, each once, read a block at a time."""
    keys = {c.key for c in plan.combos}
    done = _Done(plan)
    count = 0

    def found(r: dict) -> None:
        nonlocal count
        if r["kind"] == "run" and done.place(r["seed"]) is not None:
            key, new = done.add(r)
            count += new and key in keys

    scan_results(path, found)
    return count


def _lines(body: bytes) -> list[bytes]:
    """`body`'s lines, each with its newline (a carriage return is not a
    line's end: JSON reads it as white space, as in a file saved with CRLF)."""
    return [line + b"\n" for line in body[:-1].split(b"\n")]


def traces_dir(results: Path) -> Path:
    return results.with_name(results.name + ".traces")


MAX_SLUG = 120  # characters of --set values in a trace file's name (a name may have 255 bytes)


def _trace_name(params: dict, seed: int) -> str:
    """The trace file of a violating run: its --set values and seed.  Values
    a file name cannot hold as they are (a space, a slash, a quote) or too
    long for one are cut and followed by a digest of the values, so two
    combinations never share a file."""
    slug = "-".join(f"{k}={_show(v)}" for k, v in params.items())
    slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", slug)
    if len(slug) > MAX_SLUG or any(re.search(r"[^A-Za-z0-9_.-]", _show(v)) for v in params.values()):
        slug = f"{slug[:MAX_SLUG]}-{sha256(_record_json(params).encode()).hexdigest()[:12]}"
    return (f"{slug}-" if slug else "") + f"seed-{seed}.jsonl"


# --------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------
@dataclass
class SweepPlan:
    scenario_path: str
    combos: list[Combo]
    seeds: list[int]
    base: Scenario
    sets: list[str]
    bugs: list[str] = field(default_factory=list)
    header: dict = field(init=False)

    def __post_init__(self) -> None:
        self.header = sweep_header(self.scenario_path, self.base, self.sets)

    @property
    def total(self) -> int:
        return len(self.combos) * len(self.seeds)


def plan_sweep(scenario_path: str | Path, seeds: str, sets: list[str], bugs: list[str] = ()) -> SweepPlan:
    try:
        combos, base = build_grid(scenario_path, sets, bugs)
    except OverrideError as exc:
        raise SweepError(str(exc)) from None
    return SweepPlan(str(scenario_path), combos, parse_seeds(seeds), base, list(sets), list(bugs))


def chunk_size(todo: int, jobs: int) -> int:
    """Small enough to keep every worker busy and report progress often,
    large enough that a chunk's overhead stays negligible."""
    return max(1, min(100, todo // max(1, jobs * 16)))


def run_sweep(plan: SweepPlan, output: Path, *, jobs: int = 1, scheduler: str | None = None,
              resume: bool = False, on_result: Callable[[dict], None] | None = None,
              records: list[dict] | Summary | None = None, executor: ProcessExecutor | None = None) -> dict:
    """Run the plan, appending to `output`.  Returns counts; raises
    SweepError on bad input and lets KeyboardInterrupt through after
    everything finished is safely written.

    `executor`: local workers already started (`ProcessExecutor.start`), to
    use instead of making them (`jobs` and `scheduler` are then ignored);
    they are closed on the way out, whatever happens.

    With `records` (a list, or a `Summary`: anything with `extend`), every
    run record the results file holds at the end is given to it (those a
    resumed sweep found, then each line as it is written, parsed from that
    same text): what `read_results` would read back, for
    `summarize(..., runs=records)`.  The parsing then happens while the
    runs go on (beside the workers) instead of after the last."""
    try:
        return _run_sweep(plan, output, jobs, scheduler, resume, on_result, records, executor)
    finally:
        if executor is not None:
            executor.close()


def _run_sweep(plan: SweepPlan, output: Path, jobs: int, scheduler: str | None, resume: bool,
               on_result: Callable[[dict], None] | None, records: list[dict] | Summary | None,
               executor: ProcessExecutor | None) -> dict:
    done = _Done(plan)  # the runs the results file has
    resumed = False
    held = None  # the results file, open to append and locked against another sweep's writing it
    if output.exists():
        if not resume:
            raise SweepError(f"{output} exists: pass --resume to continue it, or choose another -o")
        held = _hold(output)
        try:
            twice = []  # the first run the file holds twice (a file edited or concatenated by hand)

            def found(r: dict) -> None:
                if r["kind"] != "run":
                    return
                if not done.add(r)[1]:
                    if not twice:
                        twice.append(r)
                    return
                if records is not None:
                    records.append(r)

            # read a block at a time, keeping what the rest needs, not the records (a
            # million-seed sweep's take a gigabyte)
            header, good = scan_results(output, found)
            if header is not None and (header.get("scenario_sha256") != plan.header["scenario_sha256"]
                                       or header.get("sets") != plan.header["sets"]):
                raise SweepError(f"{output} was written by a different sweep (another scenario, --set or --bug); "
                                 "choose another -o")
            if header is not None and header.get("paxsim") != plan.header["paxsim"]:
                raise SweepError(f"{output} was written by paxsim {header.get('paxsim')}, this is paxsim "
                                 f"{plan.header['paxsim']}: its runs could differ from this version's; finish it "
                                 "with that version, or choose another -o")
            if twice:  # a run would count twice
                r = twice[0]
                label = " ".join(f"{k}={_show(v)}" for k, v in r["params"].items())
                raise SweepError(f"{output}: seed {r['seed']}{' of ' + label if label else ''} is in it "
                                 "twice: a results file holds each run once (remove one of the lines)")
            with open(output, "r+b") as fh:
                fh.truncate(good)
        except BaseException:
            held.close()
            raise
        need_header = header is None
        resumed = True
    else:
        if not output.parent.exists():
            raise SweepError(f"{output}: directory {str(output.parent)!r} does not exist")
        tdir = traces_dir(output)
        if tdir.is_dir() and any(tdir.iterdir()):  # left by an earlier sweep whose results file is gone
            raise SweepError(f"{tdir} holds the traces of an earlier sweep (its results file {output} is gone); "
                             "move it, or choose another -o")
        need_header = True
    tasks = []
    todo = 0
    for combo in plan.combos:
        params = dict(combo.params)
        have = done.by_key.get(combo.key, ())
        seeds = [s for s in plan.seeds if s not in have] if have else list(plan.seeds)
        todo += len(seeds)
        tasks.append((combo, params, seeds))
    skipped = plan.total - todo
    try:
        executor = executor or make_executor(jobs, scheduler)
    except BaseException:
        if held is not None:
            held.close()
        raise
    workers = getattr(executor, "jobs", 1)
    warm = None
    if isinstance(executor, ProcessExecutor):
        combos = [c for c, _, seeds in tasks if seeds]
        if executor.started:  # forked already, warming up themselves: this process warms once they have chunks
            warm = functools.partial(_warm, combos)
        else:
            _warm(combos)  # before the workers fork: they inherit it
    chunks = _chunks([(c.scenario, c.scenario_id, params, seeds) for c, params, seeds in tasks if seeds], todo,
                     workers)
    numbered = ((i, *chunk) for i, chunk in enumerate(chunks))
    counts = {"ran": 0, "skipped": skipped, "violations": 0}
    tdir = traces_dir(output)
    if tdir.exists() and not tdir.is_dir():  # where violating runs' traces go: refused now, not at the first
        executor.close()
        if held is not None:
            held.close()
        raise SweepError(f"{tdir}: exists and is not a directory (the traces of violating runs go there); "
                         "move it, or choose another -o")
    try:
        results_file = held or _hold(output)
    except OSError as exc:
        executor.close()
        raise SweepError(f"{output}: cannot write results: {exc.strerror or exc}") from None
    except SweepError:
        executor.close()
        raise
    with results_file as out:
        if need_header:
            out.write(json.dumps(plan.header, sort_keys=True, separators=(",", ":")) + "\n")
            out.flush()
        synced = time.monotonic()

        def write(results: list[tuple]) -> None:
            nonlocal synced
            out.write("".join(line for line, _, _ in results))
            # In the operating system's hands at once: a killed sweep loses
            # nothing written.  On the disk within a second (an fsync costs
            # milliseconds, and the parent hands out chunks meanwhile).
            out.flush()
            if time.monotonic() - synced >= SYNC_EVERY:
                os.fsync(out.fileno())
                synced = time.monotonic()
            counts["ran"] += len(results)
            if records is not None and results:  # the lines just written, read back as the file would be
                records.extend(json.loads("[" + ",".join(line for line, _, _ in results) + "]"))

        # Chunks are written in the sweep's order (seeds in order, per
        # combination), so the results file is the same whatever the
        # executor and however many workers: one that finished ahead of an
        # earlier chunk waits here (a few chunks at most: each worker has
        # three queued) until that one is written.
        order = InOrder()
        try:
            for index, results in (executor.run(numbered, fn=run_chunk_lines_at, before_own=warm) if warm else
                                   executor.run(numbered, fn=run_chunk_lines_at)):
                for line, trace, rec in results:
                    if trace is not None:
                        tdir.mkdir(exist_ok=True)
                        name = _trace_name_of(line)
                        (tdir / name).write_text(trace, encoding="utf-8")
                        counts["violations"] += 1
                for due in order.add(index, results):
                    write(due)
                if on_result is not None:
                    for _, _, rec in results:
                        on_result(rec)
        finally:
            # Interrupted (Ctrl-C) or failed: what finished ahead of an
            # unfinished chunk is written too, out of order, so nothing
            # finished is lost (--resume reads the lines in any order).
            try:
                for results in order.rest():
                    write(results)
            finally:
                executor.close()
                out.flush()
                os.fsync(out.fileno())
        if resumed:  # what an interruption wrote out of order, and what ran now after it, in the sweep's order
            _put_in_sweep_order(plan, output)  # (still holding the lock)
    return counts


def _hold(output: Path):
    """`output` open to append, with an exclusive lock (flock) held until it
    is closed: a second sweep on the same file, started while this one runs,
    would append the same runs again.  Where flock is missing, just open."""
    try:
        fh = open(output, "a", encoding="utf-8")
    except OSError as exc:
        raise SweepError(f"{output}: cannot write results: {exc.strerror or exc}") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise SweepError(f"{output}: another paxsim sweep is writing it now; let it finish (or stop it) and "
                         "continue with --resume, or choose another -o") from None
    except OSError:  # a file system without locks (some network ones): go on unlocked
        pass
    return fh


class _Seen:
    """The seeds of one combination a results file holds: a byte per seed of
    the plan (a set of a million seeds takes some 100 MB), and a set for
    any other seed (runs kept from another sweep)."""

    __slots__ = ("place", "plan", "other")

    def __init__(self, place: Callable[[Any], int | None], n: int) -> None:
        self.place = place  # seed -> its place in the plan's seeds, or None
        self.plan = bytearray(n)
        self.other: set = set()

    def add(self, seed) -> bool:
        """Note `seed`; False if it was noted already."""
        at = self.place(seed)
        if at is None:
            if seed in self.other:
                return False
            self.other.add(seed)
        else:
            if self.plan[at]:
                return False
            self.plan[at] = 1
        return True

    def __contains__(self, seed) -> bool:
        at = self.place(seed)
        return seed in self.other if at is None else bool(self.plan[at])


class _Done:
    """The runs a results file holds, per combination (its key): `_Seen`."""

    __slots__ = ("place", "n", "key_of", "by_key")

    def __init__(self, plan: SweepPlan) -> None:
        self.place = _seed_index(plan.seeds)
        self.n = len(plan.seeds)
        self.key_of = _KeyOf()
        self.by_key: dict[str, _Seen] = {}

    def add(self, r: dict) -> tuple[str, bool]:
        """Note run record `r`: (its combination's key, False if noted already)."""
        key = self.key_of(r["params"])
        seen = self.by_key.get(key)
        if seen is None:
            seen = self.by_key[key] = _Seen(self.place, self.n)
        return key, seen.add(r["seed"])


class _OutOfOrder(Exception):
    pass


def _seed_index(seeds: list[int]) -> Callable[[Any], int | None]:
    """seed -> its place in `seeds` (None: not in them), without a dict of
    them all when they are the usual --seeds A:B, in order."""
    if seeds and seeds[-1] - seeds[0] + 1 == len(seeds) and all(b == a + 1 for a, b in zip(seeds, seeds[1:])):
        lo, hi = seeds[0], seeds[-1]

        def at(seed) -> int | None:
            if type(seed) is not int:  # as a dict would find it: True is 1, and so is 1.0
                if not (isinstance(seed, int) or isinstance(seed, float) and seed.is_integer()):
                    return None
                seed = int(seed)
            return seed - lo if lo <= seed <= hi else None

        return at
    return {s: i for i, s in enumerate(seeds)}.get


def _put_in_sweep_order(plan: SweepPlan, output: Path) -> None:
    """Rewrite a finished results file in the sweep's order (the header,
    then combination by combination, seed by seed; runs of other seeds or
    combinations, kept from other sweeps, after those in their own order),
    so a resumed sweep's file is the uninterrupted one byte for byte.  A
    file already in order is left alone; the rewrite goes to a file beside
    it that replaces it whole, so an interruption leaves the old one."""
    import stat
    import tempfile

    combo_at = {c.key: i for i, c in enumerate(plan.combos)}
    seed_at = _seed_index(plan.seeds)
    key_of = _KeyOf()

    def rank_of(rec: dict) -> tuple[int, int]:
        if rec.get("kind") != "run":
            return (-1, 0)
        c = combo_at.get(key_of(rec["params"]))
        i = seed_at(rec["seed"])
        return (c, i) if c is not None and i is not None else (len(plan.combos), 0)

    # First, a block at a time, whether it is in order (it is, unless an
    # interruption wrote chunks that finished ahead of an unfinished one).
    last = [(-2, 0)]

    def check(rec: dict) -> None:
        r = rank_of(rec)
        if r < last[0]:
            raise _OutOfOrder
        last[0] = r

    try:
        scan_results(output, check)
        return
    except _OutOfOrder:
        pass
    # Then the lines' places and sort keys (not the lines: the file is
    # mapped), sorted; equal keys (other sweeps' runs) keep the file's order.
    import mmap

    width = len(plan.seeds) + 1
    with open(output, "rb") as src, mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        starts, keys = array("q"), array("q")
        pos, size = 0, len(mm)
        while pos < size:
            end = mm.find(b"\n", pos) + 1 or size
            c, i = rank_of(json.loads(mm[pos:end]))
            starts.append(pos)
            keys.append((c + 1) * width + i)
            pos = end
        starts.append(size)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                for n in order:
                    fh.write(mm[starts[n]:starts[n + 1]])
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, stat.S_IMODE(os.stat(output).st_mode))
            os.replace(tmp, output)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def _trace_name_of(line: str) -> str:
    return json.loads(line)["trace"]  # only for violating runs


def warm_up() -> None:
    """Import what the runs need (the simulator, the checker and what
    `result_record` reads): the command line does it with the rest of its
    start-up, and each local worker as it starts (`_start_worker`)."""
    from . import check, liveness  # noqa: F401
    from .sim import runtime, simulate  # noqa: F401


def _warm(combos: Iterable[Combo]) -> None:
    """Load in this process what every worker's first chunk would load:
    the simulator and checker modules and the validated scenarios.  The
    cyclic collector is off meanwhile; a process that froze its start-up
    (the `paxsim` program does) freezes this too."""
    import gc

    collecting, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        warm_up()
        for c in combos:
            key = c.scenario_id
            if key not in _scenarios:
                _scenarios[key] = scenario_from_dict(c.scenario)
    finally:
        if collecting:
            gc.enable()
    if frozen:
        gc.freeze()


def _chunks(tasks: list[tuple], todo: int, jobs: int) -> Iterator[tuple]:
    """(scenario, key, params, seeds) chunks of `tasks`, guided: each takes
    a share of what is left, so chunks start large (at most 100 runs, which
    keeps the progress bar moving) and end small, and the workers finish
    together instead of one running the last big chunk alone."""
    left = todo
    largest = chunk_size(todo, jobs)
    smallest = max(1, largest // 10)  # each chunk costs an exchange with a worker and a write
    for scenario, key, params, seeds in tasks:
        i = 0
        while i < len(seeds):
            size = max(smallest, min(largest, math.ceil(left / (jobs * 8)))) if jobs > 1 else largest
            chunk = seeds[i:i + size]
            yield scenario, key, params, chunk
            i += size
            left -= len(chunk)


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float | None:
    """numpy.percentile(values, q) (its default, linear interpolation), to
    the last bit (tests/test_sweep_speed.py compares them), without
    importing numpy: a sweep's summary should not cost its start-up time."""
    if not values:
        return None
    xs = sorted(map(float, values))
    n = len(xs)
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return xs[-1]
    lo = math.floor(virtual)
    a, b = xs[lo], xs[lo + 1]
    t = virtual - lo
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t  # numpy's _lerp, the same rounding


class _Tally:
    """What the summary needs of one combination's runs, added one run at a
    time: counts and sums, the decision times (8 bytes a run), and only the
    few records it names (each kind's first violation)."""

    __slots__ = ("runs", "decided", "undecided", "violating", "times", "sent", "groups", "expected",
                 "suspicious", "suspicious_first", "budgeted", "over", "over_first", "within", "ops",
                 "rate_seeds", "rates", "ops_ok", "ops_info", "p50s", "p99s", "lin_unknown")

    def __init__(self) -> None:
        self.runs = self.decided = self.undecided = self.violating = self.sent = 0
        self.times = array("d")
        self.groups: dict[str, list] = {}  # kind -> [runs, the record of its lowest seed]
        self.expected = self.suspicious = self.over = self.within = self.ops = 0
        self.suspicious_first: list[int] = []  # the lowest seeds (negated: a max-heap of SHOWN_SEEDS)
        self.over_first: list[int] = []
        self.budgeted = False
        self.rate_seeds: list[int] = []  # (seeds can be any size: not an array)
        self.rates = array("d")
        self.ops_ok = self.ops_info = self.lin_unknown = 0
        self.p50s, self.p99s = array("d"), array("d")

    def add(self, r: dict) -> None:
        self.runs += 1
        outcome = r["outcome"]
        seed = r["seed"]
        if outcome == "decided":
            self.decided += 1
            self.sent += r["sent"]
            if r["decision_t"] is not None:
                self.times.append(r["decision_t"])
        elif outcome == "undecided":
            self.undecided += 1
        elif outcome == "violation":
            self.violating += 1
        for kind in r.get("violations") or ():
            group = self.groups.get(kind)
            if group is None:
                self.groups[kind] = [1, r]
            else:
                group[0] += 1
                if seed < group[1]["seed"]:
                    group[1] = r
        live = r.get("liveness")
        if live == "expected":
            self.expected += 1
        elif live == "suspicious":
            self.suspicious += 1
            _keep_lowest(self.suspicious_first, seed)
        if "over_budget" in r:
            self.budgeted = True
            if r["over_budget"]:
                self.over += 1
                _keep_lowest(self.over_first, seed)
        if r.get("within"):
            self.within += 1
        o = r.get("ops")
        if o:
            self.ops += 1
            if o["ops_per_s"] is not None:
                self.rate_seeds.append(seed)
                self.rates.append(o["ops_per_s"])
            self.ops_ok += o["ok"]
            self.ops_info += o["info"]
            if o["p50"] is not None:
                self.p50s.append(o["p50"])
            if o["p99"] is not None:
                self.p99s.append(o["p99"])
            if o["linearizability"] not in ("linearizable", "not linearizable"):
                self.lin_unknown += 1


SHOWN_SEEDS = 20  # the seeds a summary row lists of its suspicious or over-budget runs: the lowest


def _keep_lowest(heap: list[int], seed: int) -> None:
    """Keep in `heap` (seeds negated) the SHOWN_SEEDS lowest seeds seen."""
    if len(heap) < SHOWN_SEEDS:
        heapq.heappush(heap, -seed)
    elif -seed > heap[0]:
        heapq.heapreplace(heap, -seed)


class Summary:
    """A sweep's summary, built as its run records come (`add`, or `extend`
    with a list of them, in any order): what `summarize` returns, the same
    to the last bit, without keeping the records.  A sweep of a million
    seeds kept them all for its summary, about 1 GB; this keeps some
    numbers per combination and a decision time per run."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.place = _seed_index(plan.seeds)
        self.tallies = {c.key: _Tally() for c in plan.combos}
        self.key_of = _KeyOf()

    def add(self, r: dict) -> None:
        tally = self.tallies.get(self.key_of(r["params"]))
        if tally is not None and self.place(r["seed"]) is not None:
            tally.add(r)

    append = add  # as a list of the records is given them

    def extend(self, records: Iterable[dict]) -> None:
        for r in records:
            self.add(r)

    def result(self, output: Path) -> dict:
        plan = self.plan
        within_ms = plan.base.expect.within
        rows = []
        for combo in plan.combos:
            t = self.tallies[combo.key]
            n = t.runs
            violations = []
            for kind, (count, first) in sorted(t.groups.items()):
                violations.append({
                    "kind": kind,
                    "count": count,
                    "first_seed": first["seed"],
                    "reproduce": f"paxsim run {shlex.quote(plan.scenario_path)} --seed {first['seed']}"
                                 + "".join(f" --bug {b}" for b in plan.bugs) + combo.set_args(),
                    "trace": str(traces_dir(output) / first["trace"]) if first.get("trace") else None,
                    "explanation": (first.get("explanations") or {}).get(kind),
                })
            row = {
                "params": dict(combo.params),
                "label": combo.label,
                "runs": n,
                "decided": t.decided / n if n else None,
                "undecided": t.undecided / n if n else None,
                "p50": _pct(t.times, 50),
                "p95": _pct(t.times, 95),
                "p99": _pct(t.times, 99),
                "messages_per_decision": t.sent / t.decided if t.decided else None,
                "violating_runs": t.violating,
                "violations": violations,
            }
            row["undecided_expected"] = t.expected
            row["undecided_suspicious"] = t.suspicious
            row["suspicious_seeds"] = sorted(-s for s in t.suspicious_first)
            if t.budgeted:
                row["over_budget"] = t.over
                row["over_budget_seeds"] = sorted(-s for s in t.over_first)
            if t.ops:  # workload scenarios: throughput and operation latency over the runs
                # summed in seed order, as a list of the records sorted by seed would sum them
                rates = [t.rates[i] for i in sorted(range(len(t.rates)), key=t.rate_seeds.__getitem__)]
                row["workload"] = {
                    "ops_per_s": sum(rates) / len(rates) if rates else None,
                    "ops_ok": t.ops_ok,
                    "unknown_outcome": t.ops_info,
                    "latency_p50": _pct(t.p50s, 50),
                    "latency_p99": _pct(t.p99s, 99),
                    "lin_unknown": t.lin_unknown,
                }
            if within_ms is not None:
                row["within_ms"] = within_ms
                row["decided_within"] = t.within / n if n else None
            rows.append(row)
        return {"scenario": plan.scenario_path, "seeds": len(plan.seeds), "combinations": rows,
                "violating_runs": sum(r["violating_runs"] for r in rows)}


def summarize(plan: SweepPlan, output: Path, runs: list[dict] | Summary | None = None) -> dict:
    """Per combination: runs, shares decided/undecided, decision time
    percentiles, messages per decision, violations by kind (each with the
    command that reproduces its first seed), and liveness within T.  The
    run records are read from `output` unless given: a list of them, or a
    `Summary` they were fed to as they were written (`run_sweep`'s
    `records`), which need not keep them."""
    if isinstance(runs, Summary):
        return runs.result(output)
    if runs is None:
        _, runs, _ = read_results(output)
    summary = Summary(plan)
    summary.extend(runs)
    return summary.result(output)


def _format_workload_rows(rows: list[dict]) -> list[list[str]]:
    """The table of a sweep of a workload scenario: throughput, operation latency."""
    def num(v, fmt="{:.1f}"):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)

    table = [["parameters", "runs", "ops/s", "op p50 ms", "op p99 ms", "ops ok", "unknown", "lin unknown",
              "violations"]]
    for r in rows:
        w = r.get("workload") or {}
        table.append([r["label"], str(r["runs"]), num(w.get("ops_per_s")), num(w.get("latency_p50")),
                      num(w.get("latency_p99")), str(w.get("ops_ok", 0)), str(w.get("unknown_outcome", 0)),
                      str(w.get("lin_unknown", 0)),
                      ", ".join(f"{v['kind']} {v['count']}" for v in r["violations"]) or "0"])
    return table


def format_summary(summary: dict) -> str:
    """The summary table.  For workload scenarios: ops/s is the mean over runs
    of operations completed ok per simulated second; op p50 is the median of
    the runs' median latencies, op p99 the 99th percentile of their p99s."""
    rows = summary["combinations"]
    if any("workload" in r for r in rows):
        return _finish_summary(_format_workload_rows(rows), rows)
    has_within = any("decided_within" in r for r in rows)
    head = ["parameters", "runs", "decided", "undecided", "p50 ms", "p95 ms", "p99 ms", "msgs/decision"]
    if has_within:
        head.append(f"within {rows[0]['within_ms']:g}ms")
    head.append("violations")
    table = [head]

    def num(v, fmt="{:.1f}"):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)

    for r in rows:
        line = [r["label"], str(r["runs"]), num(r["decided"], "{:.1%}"), num(r["undecided"], "{:.1%}"),
                num(r["p50"]), num(r["p95"]), num(r["p99"]), num(r["messages_per_decision"])]
        if has_within:
            line.append(num(r.get("decided_within"), "{:.1%}"))
        line.append(", ".join(f"{v['kind']} {v['count']}" for v in r["violations"]) or "0")
        table.append(line)
    return _finish_summary(table, rows)


def _finish_summary(table: list[list[str]], rows: list[dict]) -> str:
    head = table[0]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
           for row in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    for r in rows:
        if r.get("undecided_expected") or r.get("undecided_suspicious"):
            out.append("")
            line = (f"undecided in [{r['label']}]: {r['undecided_expected']} expected (the liveness assumptions "
                    f"never held long enough), {r['undecided_suspicious']} SUSPICIOUS")
            if r["suspicious_seeds"]:
                line += f" (seeds {', '.join(map(str, r['suspicious_seeds']))})"
            out.append(line)
        if r.get("over_budget"):
            out.append(f"over the fault budget in [{r['label']}]: {r['over_budget']} run(s) "
                       f"(seeds {', '.join(map(str, r['over_budget_seeds']))})")
    for r in rows:
        for v in r["violations"]:
            out.append("")
            out.append(f"{v['kind']} violated in {v['count']} run(s) of [{r['label']}]; first at seed {v['first_seed']}:")
            out.append(f"  reproduce: {v['reproduce']}")
            if v.get("trace"):
                out.append(f"  trace:     {v['trace']}")
            if v.get("explanation"):
                out.extend("  " + line for line in v["explanation"].splitlines())
    return "\n".join(out)


__all__ = [
    "Combo",
    "ScenarioError",
    "SweepError",
    "SweepPlan",
    "build_grid",
    "format_summary",
    "parse_seeds",
    "plan_sweep",
    "read_results",
    "run_chunk",
    "run_chunk_lines",
    "run_chunk_lines_at",
    "run_sweep",
    "summarize",
]
