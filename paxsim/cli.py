"""The `paxsim` command line: thin glue over the library.

Exit status: 0 all good; 1 a safety violation or an unmet `expect`;
2 bad input or usage (one line on stderr, never a traceback); 3 no
violation, but a client history's linearizability undecided (its search
hit the time limit and the log's order is no witness); 70 a bug in
paxsim itself (a fault the simulation cannot apply), one line naming the
scenario and seed to report.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path

_collecting = gc.isenabled()
gc.disable()  # while the command line imports (see _importing)
try:
    import click

    from ._version import __version__
    from .check import check as check_trace
    from .check import evaluate_expect
    from .protocols.single import BUGS
    from .report import plural, reproduce_command, summary_json, summary_text
    from .report import status as verdict_status
    from .scenario import (
        OverrideError,
        ScenarioError,
        load_scenario,
        load_variant,
        scenario_from_dict,
    )
    from .trace import TraceError, event_json, read_header, read_trace
finally:
    if _collecting:
        gc.enable()

_AS_PROGRAM = False  # run_main sets it: this process is the `paxsim` command, not a library user


@contextmanager
def _importing():
    """Around a command's own imports.  They allocate tens of thousands of
    objects that live as long as the process; the cyclic collector,
    triggered by allocation counts, would walk them again and again and
    free nothing, so it is off meanwhile.  In the `paxsim` program (not in
    a process that merely calls `main`), what start-up made is then frozen
    (`gc.freeze`): later collections during the runs skip it, and so does
    the last one at exit."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        if _AS_PROGRAM:
            gc.freeze()

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2
EXIT_UNKNOWN = 3  # no violation found, but a property is undecided (paxsim linearizable's code for the same)
EXIT_PAXSIM_BUG = 70  # sysexits' EX_SOFTWARE: paxsim itself is wrong, not the input


def _verdict_exit(verdict, unmet: list[str]) -> int:
    """1 on a violation or an unmet expectation; 3 when no violation was
    found but a client history's linearizability is undecided (its search
    hit the time limit and the log's order is no witness); else 0."""
    if verdict.violations or unmet:
        return EXIT_FAIL
    return EXIT_UNKNOWN if verdict_status(verdict) == "unknown" else EXIT_OK


def sim_bugs() -> list[str]:
    """Every deliberate bug, either protocol's (the scenario's kind decides which apply)."""
    from .protocols.multi import BUGS as MULTI_BUGS

    return [*BUGS, *(b for b in MULTI_BUGS if b not in BUGS)]


class BugChoice(click.Choice):
    """click.Choice over `sim_bugs()`, read only when an option is given or
    help is shown: a single-decree run need not import Multi-Paxos to start."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self):
        return tuple(sim_bugs())

    @choices.setter
    def choices(self, value) -> None:
        pass


class Number(click.FloatRange):
    """click.FloatRange that refuses NaN, which passes every range check
    (all its comparisons are false): '--time-limit nan' meant no limit."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


class Jobs(click.IntRange):
    """A number of local worker processes: at least 1, and no more than the
    machine can use (each is a forked process with its own memory; -j 100000
    would fork them all at once)."""

    def __init__(self) -> None:
        super().__init__(min=1)

    def convert(self, value, param, ctx):
        jobs = super().convert(value, param, ctx)
        most = max(32, 4 * (os.cpu_count() or 1))
        if jobs > most:
            self.fail(f"{jobs} worker processes is more than this machine can use (at most {most}: 4 per CPU, "
                      f"or 32 if that is more); more would only contend for its {os.cpu_count() or 1} CPU(s) "
                      "and memory", param, ctx)
        return jobs


# Options that sweep and compare share (many seeded runs, locally or on Dask).
SEEDS_OPTION = click.option("--seeds", default="0:1000", show_default=True,
                            help="Seeds: A:B (A up to B-1), N, or a comma list of those.")
JOBS_OPTION = click.option("-j", "--jobs", type=Jobs(), default=None,
                           help="Local worker processes [default: the number of CPUs].")
SCHEDULER_OPTION = click.option("--scheduler", metavar="tcp://HOST:PORT",
                                help="Run on this Dask cluster instead (needs paxsim[dask]).")


def _jobs_or_scheduler(jobs: int | None, scheduler: str | None) -> None:
    if scheduler is not None and not scheduler.strip():  # '--scheduler "$ADDR"' with ADDR unset ran locally
        _bad_input("--scheduler: the address is empty; give tcp://HOST:PORT, or leave --scheduler out to run "
                   "on this machine")
    if jobs is not None and scheduler:
        _bad_input(f"-j/--jobs {jobs}: local worker processes, unused with --scheduler (the Dask cluster's "
                   "workers run the runs); give one or the other")


def _bad_input(message: str) -> None:
    for copy, original in _SPOOLED.items():  # name what the user gave, not our copy of a pipe
        message = message.replace(copy, original)
    click.echo(message, err=True)
    sys.exit(EXIT_BAD_INPUT)


_SPOOLED: dict[str, str] = {}  # temporary copy -> the pipe it copies (_spooled)


def _as_given(message: str, stop_early: bool) -> str:
    """--stop-when-decided is carried out as --set stop=when-decided: name the option the user gave."""
    return message.replace("--set stop=when-decided", "--stop-when-decided") if stop_early else message


def _writable_parent(path: Path, what: str) -> None:
    """Refuse up front (one line, exit 2) a file to be written later, after
    a long computation, whose directory is missing or not a directory."""
    parent = path.parent
    if not parent.is_dir():
        why = "does not exist" if not parent.exists() else "is not a directory"
        _bad_input(f"{path}: cannot write {what}: {str(parent)!r} {why}")


def _not_an_input(output: Path | None, option: str, *inputs) -> None:
    """Refuse (one line, exit 2) an output file that is one of the command's
    own inputs: writing it would destroy what the user gave ('paxsim run
    s.yaml --trace s.yaml' replaced the scenario with its trace)."""
    if output is None or not output.exists():
        return
    for given in inputs:
        if _same_file(output, Path(given)):
            _bad_input(f"{output}: {option} would overwrite the input {given}; choose another file")


def _distinct_outputs(*named: tuple[str, Path | None]) -> None:
    """Refuse (one line, exit 2) two outputs of one command that name the
    same file ('--trace b.jsonl --html b.jsonl' replaced the trace with the
    page, silently).  `named`: (option, path) pairs; None is not given."""
    seen: list[tuple[str, Path]] = []
    for option, path in named:
        if path is None:
            continue
        for other_option, other in seen:
            if _same_file(path, other):
                _bad_input(f"{path}: {option} and {other_option} name the same file; give each its own")
        seen.append((option, path))


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or
    two names (links) of one existing file."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _fault_error(exc: BaseException):
    """`exc` if it is the runtime's FaultError (a fault the simulation
    cannot apply), else None.  Only a simulation raises one, so its module
    is loaded by then: the check imports nothing."""
    runtime = sys.modules.get("paxsim.sim.runtime")
    return exc if runtime is not None and isinstance(exc, runtime.FaultError) else None


def _close(executor) -> None:
    """Stop workers started ahead of the runs (a no-op once closed)."""
    if executor is not None:
        executor.close()


def _paxsim_bug(exc: BaseException, reproduce: str | None = None) -> None:
    """A FaultError is a bug in paxsim, not in the user's input: one line
    saying so, with the scenario and seed (in the runtime's message) and the
    command that reproduces it, and its own exit status."""
    again = f"; reproduce: {reproduce}" if reproduce else ""
    click.echo(f"paxsim bug, please report it with the scenario file: {exc}{again}", err=True)
    sys.exit(EXIT_PAXSIM_BUG)


class _Main(click.Group):
    """The `paxsim` group: a FaultError escaping any command (run and sweep
    catch their own, to add the reproducing command) is one line and exit
    status 70, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # 'paxsim plot' alone: its help, as click shows it
                raise
            _usage_error(exc)
        except Exception as exc:
            if _fault_error(exc) is None:
                raise
            _paxsim_bug(exc)


def _usage_error(exc: click.UsageError) -> None:
    """A bad option or argument of a command: one line naming the option
    and pointing at the command's help, exit 2, like any other bad input
    (click's own is four lines: the usage, a hint, a blank, the error)."""
    names = []
    ctx = exc.ctx
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name)
        ctx = ctx.parent
    param = getattr(exc, "param", None)
    if isinstance(exc, click.BadParameter) and param is not None and not isinstance(exc, click.MissingParameter):
        name = "/".join(param.opts) if param.param_type_name == "option" else param.human_readable_name
        text = f"{name}: {exc.message}"
    else:
        text = exc.format_message()
    text = " ".join(text.split())  # click's messages may break lines
    _bad_input(f"{text} (see '{' '.join(['paxsim', *names])} --help')")


class PathParam(click.Path):
    """click.Path whose complaints (a directory where a file goes, a file
    where a directory goes) are one line naming the option and the path, and
    exit 2, like any other bad input (click's own would print a three-line
    usage error)."""

    def fail(self, message, param=None, ctx=None):
        name = "/".join(param.opts) if param is not None and param.param_type_name == "option" else (
            param.human_readable_name if param is not None else "path")
        _bad_input(f"{name}: {message}")


class InputFile(click.Path):
    """An input file argument: a directory gets one line and exit 2, like any
    other bad input (click's own check would print a three-line usage error)."""

    def __init__(self, what: str) -> None:
        super().__init__(path_type=Path)
        self.what = what

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if Path(path).is_dir():
            _bad_input(f"{path}: is a directory, not a {self.what} file")
        return _spooled(Path(path))



# One instance of each path type for all commands: a click.Path looks up
# its messages' translations when it is made (gettext, some 0.1 ms each),
# and it holds no state of a conversion, so sharing is safe.
SCENARIO_FILE = InputFile("scenario")
TRACE_FILE = InputFile("trace")
OUT_FILE = PathParam(dir_okay=False, path_type=Path)
OUT_DIR = PathParam(file_okay=False, path_type=Path)

def _spooled(path: Path) -> Path:
    """`path` itself when it is a regular file; otherwise (a pipe, as in
    `paxsim check <(zcat run.jsonl.gz)`, or /dev/stdin) a copy of what it
    gives, in a temporary file removed at exit, named like it.  A trace is
    read more than once (to judge it, then to explain a violation or word
    an error), and a pipe gives its content only once: read twice, it
    looked empty the second time."""
    import stat

    try:
        if stat.S_ISREG(path.stat().st_mode):
            return path
    except OSError:
        return path  # the reader words the error
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="paxsim-pipe-"))
    atexit.register(shutil.rmtree, folder, True)
    copy = folder / (path.name or "input")
    try:
        with open(path, "rb") as src, open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        _bad_input(f"{path}: cannot read: {exc.strerror or exc}")
    _SPOOLED[str(copy)] = str(path)
    return copy


LARGE_NODES = 5000  # from here a run takes seconds, and minutes with retries
LARGE_CLIENTS = 10000  # each keeps an operation in flight: a run, and its history's check, take minutes
LARGE_ROUNDS = 100_000  # ballots one proposer can start in a run (shipped scenarios: a few hundred at most)


def _warn_if_large(*scenarios) -> None:
    """One line up front for scenarios (`Scenario`s, or their dicts) of
    many nodes or clients, which would otherwise run silently for a long time."""
    n = clients = 0
    rounds = 0.0  # about how many ballots a proposer that never decides starts in a run
    for sc in scenarios:
        if not isinstance(sc, dict):
            sc = sc.to_dict()
        n, clients = max(n, len(sc["nodes"])), max(clients, (sc.get("workload") or {}).get("clients", 0))
        retry = (sc.get("protocol") or {}).get("retry")  # single-decree only
        if retry and sc.get("proposers"):  # the wait a retrying proposer settles at, jitter aside
            wait = retry["max"] if retry["backoff"] > 1 else min(retry["timeout"], retry["max"])
            if wait > 0:
                rounds = max(rounds, sc["duration"] / wait)
    if rounds >= LARGE_ROUNDS:
        click.echo(f"note: a proposer that keeps retrying starts about {rounds:,.0f} ballots in a run (the "
                   "duration over its retry wait), each a round of messages to every node: a run can take "
                   "minutes (Ctrl-C stops it)", err=True)
    if n >= LARGE_NODES:
        click.echo(f"note: {n:,} nodes: every round sends several messages per node, so a run can take "
                   "minutes and gigabytes of memory (Ctrl-C stops it)", err=True)
    if clients >= LARGE_CLIENTS:
        click.echo(f"note: {clients:,} clients, each with an operation in flight: a run and the check of its "
                   "history can take minutes and gigabytes of memory (Ctrl-C stops it)", err=True)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paxsim")
def main() -> None:
    """paxsim: a deterministic, seeded Paxos simulator.

    \b
    Examples:
      paxsim run scenarios/partition.yaml
      paxsim run scenarios/partition.yaml --seed 1234 --trace run.jsonl
      paxsim check run.jsonl
      paxsim replay run.jsonl

    Exit status: 0 all good, 1 a safety violation or an unmet expect,
    2 bad input or usage, 3 no violation but a client history's
    linearizability undecided (its search hit the time limit and the log's
    order is no witness), 70 a bug in
    paxsim (a fault the simulation cannot apply: please report the scenario
    and seed the message names), 130 interrupted (Ctrl-C, SIGTERM): what
    was finished is kept (a sweep continues with --resume).
    """


@main.command()
@click.argument("scenario", type=SCENARIO_FILE)
@click.option("--seed", type=click.IntRange(min=0), help="Seed for this run (default: the scenario's seed).")
@click.option("--trace", "trace_path", type=OUT_FILE,
              help="Write the run's trace (JSON Lines) to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@click.option("--plots", "plots_dir", type=OUT_DIR,
              help="Write latency.png and timeline.png (and for a workload, throughput.png and "
                   "operations.png) for this run into this directory.")
@click.option("--html", "html_path", type=OUT_FILE,
              help="Write the run as an interactive page (see 'paxsim view').")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set network.loss=0.1 (repeatable).")
@click.option("--bug", "bugs", multiple=True, type=BugChoice(), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@click.option("--stop-when-decided", "stop_early", is_flag=True,
              help="End each run once every node up has decided and nothing pending can change the verdict "
                   "(the scenario option stop: when-decided).")
def run(scenario: Path, seed: int | None, trace_path: Path | None, as_json: bool, plots_dir: Path | None,
        sets: tuple[str, ...], bugs: tuple[str, ...], html_path: Path | None = None, stop_early: bool = False) -> None:
    """Simulate SCENARIO once, check it and print a summary.

    \b
    Examples:
      paxsim run scenarios/partition.yaml
      paxsim run scenarios/partition.yaml --seed 1234
      paxsim run scenarios/lossy.yaml --trace run.jsonl --json
      paxsim run scenarios/partition.yaml --plots figures/
      paxsim run scenarios/lossy.yaml --seed 12 --set network.loss=0.3
      paxsim run scenarios/bugs/amnesia.yaml --bug amnesia
      paxsim run scenarios/volatile.yaml --seed 3 --html run.html
      paxsim run scenarios/lossy.yaml --stop-when-decided

    An undecided run is classed by whether the protocol's liveness
    assumptions held (a quorum up and connected, with a proposer): expected,
    or SUSPICIOUS when a long enough good window passed without a decision.
    The last line is the command that reproduces the run exactly.
    """
    with _importing():
        from .sim import simulate

    sets += ("stop=when-decided",) if stop_early else ()
    _not_an_input(trace_path, "--trace", scenario)
    _not_an_input(html_path, "--html", scenario)
    _distinct_outputs(("--trace", trace_path), ("--html", html_path))
    try:
        sc = load_variant(scenario, sets, bugs)
    except (ScenarioError, OverrideError) as exc:
        _bad_input(_as_given(str(exc), stop_early))
    if trace_path is not None and not trace_path.parent.exists():
        _bad_input(f"{trace_path}: cannot write trace: directory {str(trace_path.parent)!r} does not exist")
    _warn_if_large(sc)
    try:
        if plots_dir is not None or html_path is not None:  # figures and pages read every event: keep them
            result = simulate(sc, seed)
            if trace_path is not None:
                try:
                    result.write_trace(trace_path)
                except OSError as exc:
                    _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")
        else:  # the run holds no trace: it streams it to the file, or drops it
            result = _streamed_run(sc, seed, trace_path)
    except Exception as exc:
        if _fault_error(exc) is None:
            raise
        _paxsim_bug(exc, reproduce_command(str(scenario), sc.seed if seed is None else seed, sets, bugs))
    written = _write_run_plots(result.events, plots_dir) if plots_dir is not None else []
    if html_path is not None:
        too_big = _too_big_for_a_page(result.end["seq"] + 1, f"{html_path}: no page")
        if too_big:  # the run's verdict and summary still follow, as with a plot that cannot be drawn
            click.echo(f"note: {too_big}", err=True)
            html_path = None
        else:
            _write_html(html_path, lambda: _view_page(scenario.name, result.lines_as_events()))
    verdict = result.verdict
    header = result.header
    reproduce = reproduce_command(str(scenario), result.seed, sets, bugs)
    if as_json:
        click.echo(json.dumps(summary_json(header, verdict, reproduce), sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
        if trace_path is not None:
            click.echo(f"trace:     {trace_path}")
        for path in written:
            click.echo(f"plot:      {path}")
        if html_path is not None:
            click.echo(f"page:      {html_path}")
    unmet = evaluate_expect(verdict, header["scenario"]["expect"])
    sys.exit(_verdict_exit(verdict, unmet))


def _streamed_run(sc, seed: int | None, trace_path: Path | None):
    """Simulate holding no trace: with a path, each event is written to it
    as the run makes it.  Ctrl-C leaves the lines written so far, a trace
    without its `end` (which `paxsim check` calls incomplete)."""
    from .sim import DISCARD, simulate
    from .trace import TraceWriter

    if trace_path is None:
        return simulate(sc, seed, sink=DISCARD)
    try:
        writer = TraceWriter(trace_path)
    except OSError as exc:
        _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")
    try:
        with writer:
            return simulate(sc, seed, sink=writer)
    except KeyboardInterrupt:
        click.echo(f"interrupted: {trace_path} holds the events up to the interruption, without the 'end' event "
                   f"(paxsim check calls it incomplete)", err=True)
        sys.exit(130)
    except OSError as exc:
        _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")


def _write_run_plots(events: list[dict], directory: Path) -> list[Path]:
    from . import plot

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _bad_input(f"{directory}: cannot create plot directory: {exc.strerror or exc}")
    written = []
    name = (events[0].get("scenario") or {}).get("name") or "run"
    figures = [("latency", lambda: plot.latency_figure([(name, events)])),
               ("timeline", lambda: plot.timeline_figure(events))]
    if "workload" in (events[0].get("scenario") or {}):  # a run with clients: its operations too
        figures += [("throughput", lambda: plot.throughput_figure(events)),
                    ("operations", lambda: plot.operations_figure([(name, events)]))]
    for kind, make in figures:
        try:
            written.append(plot.save(make(), directory / f"{kind}.png"))
        except plot.PlotError as exc:
            click.echo(f"note: no {kind} plot: {exc}", err=True)
        except OSError as exc:
            _bad_input(f"{directory / (kind + '.png')}: cannot write: {exc.strerror or exc}")
    return written


@main.command()
@click.argument("trace", type=TRACE_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
def check(trace: Path, as_json: bool) -> None:
    """Run the safety checker on a TRACE file (from any run or tool).

    \b
    Examples:
      paxsim run scenarios/partition.yaml --trace run.jsonl
      paxsim check run.jsonl
      paxsim check run.jsonl --json

    Exit status 1 if the trace shows a violation (single-decree: agreement,
    validity, integrity, or the acceptor and fail-stop rules they rest on;
    Multi-Paxos: agreement, divergence, order, exactly-once, fail-stop or
    linearizability), or misses its scenario's expect block; 2 if it is malformed (one line naming the
    line and field; client events too), or incomplete (no 'end' event)
    without a violation; 3 if it shows no violation but its client history's
    linearizability is undecided (the search hit its time limit and the
    log's order, checked, is no linearization).
    """
    _check_header(trace)
    streamed = _check_streaming(trace)
    verdict, header = streamed if streamed is not None else (None, None)
    # A multi-paxos verdict streamed is complete (explanations included); a single-decree one is re-read to explain.
    exact = verdict is not None and verdict.workload is not None
    if verdict is None or (verdict.violations and not exact) or verdict.incomplete:
        # The whole trace in memory: to word what is wrong with it, or to explain a violation.
        lines: list[int] = []  # each event's line in the file (its seq order may differ)
        try:
            events = read_trace(trace, lines=lines)
        except TraceError as exc:
            _bad_input(str(exc))
        header = events[0]
        if "workload" in (header.get("scenario") or {}):  # a run with clients: their history must be readable
            from .lin import HistoryError, history_from_numbered

            try:
                history_from_numbered(zip(lines, events), "kv", source=str(trace))
            except HistoryError as exc:  # the trace schema leaves client events open: other tools write them
                _bad_input(str(exc))
        verdict = check_trace(events)  # read_trace validated it: the checker does not fail on it
    runtime = header.get("runtime")
    given = _SPOOLED.get(str(trace), str(trace))  # a pipe: the name the user gave, not our copy
    if runtime in (None, "sim", "simpy", "simulation"):
        reproduce = f"paxsim replay {given}"
    else:  # real processes on wall clocks: no run of theirs happens twice
        reproduce = (f"not replayable (a {runtime} run on wall clocks); "
                     f"paxsim check {shlex_join([given])} judges this file again")
    if as_json:
        click.echo(json.dumps(summary_json(header, verdict, reproduce), sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
    if verdict.incomplete and not verdict.violations:
        _bad_input(f"{trace}: incomplete trace: {verdict.incomplete}; checked what it has, found no violation")
    unmet = evaluate_expect(verdict, (header.get("scenario") or {}).get("expect") or {})
    sys.exit(_verdict_exit(verdict, unmet))


def _check_streaming(trace: Path):
    """(verdict, header) for TRACE read a line at a time, holding only what
    the verdict needs (so a trace of millions of events checks in little
    memory); None if the file must be read whole (`iter_trace`), or its
    client history is malformed (the whole read words that)."""
    from .check import PROTOCOL_KINDS, Checker
    from .trace import NotStreamable, iter_trace

    try:
        events = iter_trace(trace)
        header = next(events)
        protocol = header["scenario"].get("protocol")
        kind = protocol.get("kind", "single-decree") if isinstance(protocol, dict) else "single-decree"
        if kind == "single-decree":
            checker = Checker(header, explain=False)
        elif kind in PROTOCOL_KINDS:
            from .check_multi import MultiChecker

            checker = MultiChecker(kind)
            checker.append(header)
        else:
            return None
        feed = checker.append
        for ev in events:
            feed(ev)
        if kind != "single-decree":
            from .lin import HistoryError

            try:
                checker.history()
            except HistoryError:
                return None
    except (NotStreamable, StopIteration):
        return None
    return checker.finish(), header


class _SameText:
    """A file-like target for a TraceWriter: compares what is written with
    an open file's text, holding neither."""

    def __init__(self, old) -> None:
        self.old, self.same = old, True

    def write(self, text: str) -> None:
        if self.same and self.old.read(len(text)) != text:
            self.same = False

    def flush(self) -> None:
        pass


def _replays_identically(trace: Path, sc, seed: int) -> int | None:
    """The number of lines if simulating `sc` with `seed` gives TRACE's text
    exactly; None if not (then the caller finds and words the difference)."""
    from .sim import simulate
    from .trace import TraceWriter

    try:
        with open(trace, encoding="utf-8", newline="") as old:  # byte for byte: a CR LF is not a LF
            target = _SameText(old)
            with TraceWriter(target) as writer:
                simulate(sc, seed, sink=writer)
            return writer.count if target.same and old.read(1) == "" else None
    except (OSError, UnicodeDecodeError):
        return None


@main.command()
@click.argument("trace", type=TRACE_FILE)
def replay(trace: Path) -> None:
    """Rerun the scenario and seed in TRACE's header; compare byte for byte.

    \b
    Example:
      paxsim run scenarios/partition.yaml --seed 1234 --trace run.jsonl
      paxsim replay run.jsonl

    Exit status 0 if the new trace is byte-identical (or has the same lines,
    each byte for byte, in another order: a trace's lines may come in any
    order), 1 (with the first differing line, and the field that differs)
    if not, 2 if the header cannot be read or replayed. Only the header is
    validated: the rest is compared byte for byte, so a line cut short or
    not JSON is a difference (1), where 'paxsim check' refuses it (2).
    """
    from .sim import simulate

    try:
        header = read_header(trace)  # the rest is compared byte for byte, valid or not
    except TraceError as exc:
        _bad_input(str(exc))
    if "seed" not in header or "scenario" not in header:
        _bad_input(f"{trace}:1: header: missing 'seed' or 'scenario'")
    runtime = header.get("runtime")
    if runtime not in (None, "sim", "simpy", "simulation"):  # as paxsim check words it
        _bad_input(f"{trace}:1: runtime: {runtime!r}: a run of real processes on wall clocks is not replayable; "
                   f"paxsim check {shlex_join([str(trace)])} judges it")
    try:
        sc = scenario_from_dict(header["scenario"], source=f"{trace}:1: header.scenario")
    except ScenarioError as exc:
        _bad_input(str(exc))
    if header.get("paxsim") != __version__:
        click.echo(f"note: trace written by paxsim {header.get('paxsim')}, replaying with {__version__}", err=True)
    _warn_if_large(sc)
    lines = _replays_identically(trace, sc, header["seed"])
    if lines is not None:  # compared as the run went, holding neither trace
        click.echo(f"identical: {lines} lines, seed {header['seed']} (paxsim {__version__})")
        sys.exit(EXIT_OK)
    new = simulate(sc, header["seed"])
    with open(trace, encoding="utf-8", newline="") as fh:  # lines split at LF only, CRs kept
        old_lines = fh.read().split("\n")
    if old_lines[-1] == "":
        old_lines.pop()
    from .view import replay_difference

    new_lines = [event_json(ev) for ev in new.events]
    different = replay_difference(old_lines, new_lines)
    if different is not None:
        if _same_lines_reordered(old_lines, new_lines):
            click.echo(f"identical events: {len(old_lines)} lines, seed {header['seed']} (paxsim {__version__}), "
                       "each byte for byte, in another line order (a trace is read in seq order)")
            sys.exit(EXIT_OK)
        click.echo("\n".join(different[1]))
        sys.exit(EXIT_FAIL)
    click.echo(f"identical: {len(old_lines)} lines, seed {header['seed']} (paxsim {__version__})")
    sys.exit(EXIT_OK)


def _same_lines_reordered(old_lines: list[str], new_lines: list[str]) -> bool:
    """Whether `old_lines` are `new_lines` byte for byte, in another order
    (the trace format lets lines come in any order: events are read in seq
    order, and `paxsim check` offers replay for such a file)."""
    return len(old_lines) == len(new_lines) and sorted(old_lines) == sorted(new_lines)


@main.command()
@click.argument("scenario", type=SCENARIO_FILE)
@SEEDS_OPTION
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2,...",
              help="Sweep a scenario value over a list (repeatable: the grid of all combinations).")
@JOBS_OPTION
@click.option("--bug", "bugs", multiple=True, type=BugChoice(), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@SCHEDULER_OPTION
@click.option("-o", "--output", type=OUT_FILE, default=None,
              help="Results file, one JSON line a run [default: SCENARIO-sweep.jsonl here].")
@click.option("--resume", is_flag=True, help="Continue the results file, skipping runs already in it.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar [default: when stderr is a terminal].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--stop-when-decided", "stop_early", is_flag=True,
              help="End each run once every node up has decided and nothing pending can change the verdict "
                   "(the scenario option stop: when-decided).")
def sweep(scenario: Path, seeds: str, sets: tuple[str, ...], bugs: tuple[str, ...], jobs: int | None,
          scheduler: str | None,
          output: Path | None, resume: bool, progress: bool | None, as_json: bool, stop_early: bool = False) -> None:
    """Run SCENARIO over many seeds (and a grid of --set values) in parallel.

    \b
    Examples:
      paxsim sweep scenarios/lossy.yaml --seeds 0:2000 --set network.loss=0,0.1,0.3
      paxsim sweep scenarios/duel.yaml --seeds 0:10000 -j 2 -o duel.jsonl
      paxsim sweep scenarios/duel.yaml --seeds 0:10000 -o duel.jsonl --resume
      paxsim sweep scenarios/partition.yaml --scheduler tcp://10.0.0.5:8786
      paxsim sweep scenarios/lossy.yaml --seeds 0:3000 --stop-when-decided

    Each run's result is appended to the results file as runs finish, in
    the sweep's order (the same file with any --jobs), so an interrupted
    sweep loses nothing: rerun with --resume. The trace of every
    violating run is saved in RESULTS.traces/. At the end, a table per
    parameter combination: decision time p50/p95/p99, messages per
    decision, share undecided, violations by kind with the command that
    reproduces the first. Undecided runs are counted as expected (the
    liveness assumptions never held long enough) or suspicious, and runs
    over a random profile's fault budget are named.

    Exit status 1 if any run violated safety; 3 if none did but a run's
    client history's linearizability is undecided (its search hit the time
    limit and the log's order is no witness; the table's "lin unknown"); 70
    if a run hit a bug in paxsim (a fault the simulation cannot apply; the
    line names the seed); 130 if interrupted (Ctrl-C, or a worker process
    killed): finished runs are kept, continue with --resume.
    """
    _jobs_or_scheduler(jobs, scheduler)
    with _importing():
        from . import sweep as sw
        from .sweep import warm_up

    jobs = jobs or os.cpu_count() or 1
    workers = None
    if jobs > 1 and not scheduler:
        # Local workers first: each imports what the runs need while this
        # process reads and checks the scenario (they need neither PyYAML
        # nor the plan); this process imports them once the workers have
        # their first chunks (run_sweep), so the runs start sooner.
        workers = sw.ProcessExecutor(jobs)
        workers.start()
    else:
        with _importing():
            warm_up()  # what the runs need, imported with the rest of start-up

    sets += ("stop=when-decided",) if stop_early else ()
    try:
        plan = sw.plan_sweep(scenario, seeds, list(sets), list(bugs))
    except (ScenarioError, sw.SweepError) as exc:
        _close(workers)
        _bad_input(_as_given(str(exc), stop_early))
    except BaseException:
        _close(workers)
        raise
    output = output or Path(f"{scenario.stem}-sweep.jsonl")
    _warn_if_large(*(c.scenario for c in plan.combos))
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    already = 0
    violations = [0]

    def start_bar() -> None:
        # Made with the first result, not before the runs: importing tqdm
        # takes 30 ms, which --jobs 2 then spends beside a running worker
        # instead of before it forks.
        nonlocal bar
        from tqdm import tqdm

        bar = tqdm(total=plan.total, unit="run", desc=scenario.stem, dynamic_ncols=True, file=sys.stderr)
        if already:
            bar.update(already)

    def tick(rec: dict) -> None:
        if rec["outcome"] == "violation":
            violations[0] += 1
        if show:
            if bar is None:
                start_bar()
            bar.update(1)
            if rec["outcome"] == "violation":
                bar.set_postfix(violations=violations[0], refresh=False)

    try:
        if show and resume and output.exists():  # the bar starts from this sweep's runs already in the file
            already = sw.count_done(plan, output)
        records = sw.Summary(plan)  # fed what the results file holds as it is written (not read again after the runs)
        counts = sw.run_sweep(plan, output, jobs=jobs, scheduler=scheduler, resume=resume, on_result=tick,
                              records=records, executor=workers)
        if show and bar is None:  # nothing left to run: the bar, full
            start_bar()
    except sw.SweepError as exc:
        _close(workers)
        if bar is not None:
            bar.close()
        _bad_input(str(exc))
    except (KeyboardInterrupt, sw.WorkerLost) as exc:
        _close(workers)
        if bar is not None:
            bar.close()
        why = f" ({exc})" if isinstance(exc, sw.WorkerLost) else ""
        if output.exists():
            click.echo(f"interrupted{why}: finished runs are in {output}; continue with the same command and "
                       "--resume", err=True)
        else:  # before the results file was made (connecting to a scheduler, say): nothing to resume
            click.echo(f"interrupted{why}: before any run ({output} was not made)", err=True)
        sys.exit(130)
    except Exception as exc:
        if _fault_error(exc) is None:
            raise
        if bar is not None:
            bar.close()
        where = getattr(exc, "paxsim_run", None)  # run_chunk names the run: (seed, its --set values)
        again = None
        if where is not None:
            again = reproduce_command(str(scenario), where[0],
                                      [f"{k}={sw._yaml_scalar(v)}" for k, v in where[1].items()], bugs)
        _paxsim_bug(exc, again)
    if bar is not None:
        bar.close()
    summary = sw.summarize(plan, output, runs=records)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        click.echo(f"{plural(plan.total, 'run')} ({counts['ran']} now, {counts['skipped']} already in {output}), "
                   f"{plural(len(plan.combos), 'combination')} x {plural(len(plan.seeds), 'seed')}")
        click.echo(sw.format_summary(summary))
        click.echo(f"results:   {output}")
    if summary["violating_runs"]:
        sys.exit(EXIT_FAIL)
    undecided = sum((row.get("workload") or {}).get("lin_unknown", 0) for row in summary["combinations"])
    sys.exit(EXIT_UNKNOWN if undecided else EXIT_OK)  # as `paxsim run` of such a run


@main.command()
@click.argument("scenario", type=SCENARIO_FILE)
@click.option("--seed", type=click.IntRange(min=0), required=True, help="The violating seed.")
@click.option("--bug", "bugs", multiple=True, type=BugChoice(), metavar="NAME",
              help="Deliberate protocol bug to switch on (repeatable).")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable).")
@click.option("-o", "--output", type=OUT_FILE, default=Path("minimal.yaml"),
              show_default=True, help="Where to write the minimal scenario.")
@click.option("--budget", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Most candidate runs to try.")
@click.option("--progress/--no-progress", default=None,
              help="Show the candidate runs as they go [default: when stderr is a terminal].")
def shrink(scenario: Path, seed: int, bugs, sets, output: Path, budget: int, progress: bool | None) -> None:
    """Shrink a violating run to a minimal scenario file.

    Reruns SCENARIO at SEED, writes its random faults and every message and
    timer fate out explicitly, then removes proposers, faults, nodes,
    message fates and time while the same property still breaks. The file
    it writes reproduces the violation with 'paxsim run' on any seed; an
    existing file is never overwritten. Ctrl-C stops the shrinking and
    writes the smallest violating scenario found so far (exit status 130).

    \b
    Examples:
      paxsim shrink scenarios/volatile.yaml --seed 3 -o minimal.yaml
      paxsim shrink scenarios/hunt/crashes.yaml --bug amnesia --seed 101 -o amnesia.yaml
      paxsim run minimal.yaml
    """
    from .shrink import ShrinkError, shrink as do_shrink, summarize_removed, to_yaml

    if output.exists():
        _bad_input(f"{output} exists: choose another -o, or remove it first")
    if not output.parent.exists():
        _bad_input(f"{output}: directory {str(output.parent)!r} does not exist")
    bar = None
    if sys.stderr.isatty() if progress is None else progress:
        from tqdm import tqdm

        bar = tqdm(unit="run", desc="shrinking", file=sys.stderr, dynamic_ncols=True)
    try:
        sc = load_variant(scenario, sets, bugs)
        _warn_if_large(sc)
        result = do_shrink(sc, seed, budget=budget, on_run=None if bar is None else bar.update,
                           log=(lambda _s: None) if bar is None else bar.set_postfix_str)
    except (ScenarioError, OverrideError, ShrinkError) as exc:
        _bad_input(str(exc))
    finally:
        if bar is not None:
            bar.close()
    flags = "".join(f" --bug {b}" for b in bugs) + "".join(f" --set {s}" for s in sets)
    try:
        with open(output, "x", encoding="utf-8") as fh:  # "x": never overwrite, even a file made meanwhile
            fh.write(to_yaml(result, f"{scenario} --seed {seed}{flags}"))
    except FileExistsError:
        _bad_input(f"{output} exists: choose another -o, or remove it first")
    except OSError as exc:
        _bad_input(f"{output}: cannot write: {exc.strerror or exc}")
    click.echo(f"violates:  {result.property} ({result.runs} candidate runs"
               + ("; --budget ran out before every removal was tried: not minimal)" if result.cut else ")"))
    click.echo(f"before:    {result.before}")
    click.echo(f"after:     {result.after}")
    click.echo("removed:   " + summarize_removed(result.removed))
    click.echo(f"explanation of the {'shrunk' if result.cut or result.interrupted else 'minimal'} run:")
    click.echo("\n".join("  " + line for line in result.explanation.splitlines()))
    click.echo(f"wrote:     {output}  (reproduce: paxsim run {output})")
    if result.interrupted:
        click.echo(f"interrupted: {output} is the smallest violating scenario found before the interruption, "
                   "not a minimal one", err=True)
        sys.exit(130)


@main.command()
@click.option("--profile", "profiles", multiple=True, type=SCENARIO_FILE,
              help="Fault profile scenario (repeatable) [default: scenarios/hunt/*.yaml].")
@click.option("--bug", "bugs", multiple=True, metavar="NAME[+NAME]",
              help="Bug (or combination, a+b) to hunt (repeatable) [default: all, and reused-ballot+prepare-ge].")
@click.option("--ranges", type=click.IntRange(min=1), default=20, show_default=True, help="Disjoint seed ranges.")
@click.option("--range-size", type=click.IntRange(min=1), default=10000, show_default=True, help="Seeds per range.")
@click.option("--correct-seeds", type=click.IntRange(min=0), default=100000, show_default=True,
              help="Seeds to run the correct protocol over, per profile.")
@click.option("-j", "--jobs", type=Jobs(), default=None, help="Worker processes [default: CPUs].")
@click.option("-o", "--output", type=OUT_FILE, help="Also write the table here.")
@click.option("--write-bugs", type=OUT_DIR,
              help="Write each bug's shrunk scenario into this directory (BUG.yaml: the bug alone if it was "
                   "caught alone, else its first combination a+b that was).")
@click.option("--force", is_flag=True,
              help="Replace an existing -o file and BUG.yaml files in --write-bugs (refused otherwise).")
@click.option("--quick", is_flag=True, help="Tiny sizes, to see that it works.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar [default: when stderr is a terminal].")
def hunt(profiles, bugs, ranges: int, range_size: int, correct_seeds: int, jobs, output, write_bugs,
         force: bool, quick: bool, progress: bool | None) -> None:
    """Measure how fast sweeps catch each deliberate bug, and shrink each.

    For every bug and fault profile: seeds to the first violation over
    disjoint seed ranges (median, p95), the property that broke, the size of
    the shrunk scenario beside the hand-derived minimum; and the correct
    protocol's violations over many seeds per profile (there should be none).

    \b
    Examples:
      paxsim hunt -o hunt.md --write-bugs bugs/
      paxsim hunt -o hunt.md --write-bugs scenarios/bugs --force   # renew the shipped counterexamples
      paxsim hunt --bug amnesia --profile scenarios/hunt/crashes.yaml --ranges 5
      paxsim hunt --quick
      paxsim hunt --profile scenarios/kv-partition.yaml --bug stale-read --ranges 3 --range-size 500 \\
          --correct-seeds 200

    The correct-protocol pass is the longest part (--correct-seeds per
    profile); a progress bar shows how far the hunt is, in seeds.

    Exit status 0 if no control bug was caught and the correct protocol
    violated nothing; 1 if either happened; 3 if not, but some correct run's
    client history is undecided (its linearizability search hit the time
    limit), as paxsim run and sweep say of such a run.
    """
    from . import hunt as h

    for b in bugs:
        for name in b.split("+"):
            if name not in sim_bugs():
                _bad_input(f"--bug {b}: unknown bug {name!r} (see 'paxsim bugs')")
    if not profiles:
        profiles = tuple(h.default_profiles())
        if not profiles:
            _bad_input("no fault profiles: pass --profile FILE (the shipped ones are in scenarios/hunt/)")
    kinds = set()
    for p in profiles:
        try:
            kinds.add(load_scenario(p).kind)
        except ScenarioError as exc:
            _bad_input(str(exc))
    if len(kinds) > 1:
        _bad_input("--profile: the profiles run different protocols (kinds " + ", ".join(sorted(kinds))
                   + "); hunt one protocol at a time")
    kind = kinds.pop()
    bug_list = list(bugs) or h.default_bugs(kind)
    from .protocols.multi import BUGS as MULTI_BUGS

    catalog = MULTI_BUGS if kind == "multi-paxos" else BUGS
    for b in bug_list:
        for name in b.split("+"):
            if name not in catalog:
                _bad_input(f"--bug {b}: {name!r} is not a bug of {kind}, the protocol of the profiles "
                           "(see 'paxsim bugs')")
    if output:
        if not (write_bugs and _same_file(output.parent, write_bugs)):  # else made below, before the hunt
            _writable_parent(output, "the table")
        _not_an_input(output, "-o", *profiles)
        if output.exists() and not force:  # refused now, not after the hunt: nothing a user made is lost
            _bad_input(f"{output} exists: choose another -o, or give --force to replace it")
    if write_bugs:
        files = h.counterexample_paths(bug_list, write_bugs)
        for path in files:  # two outputs in one file, or an input replaced: refused even with --force
            if output and _same_file(output, path):
                _bad_input(f"{output}: -o and --write-bugs name the same file ({path.name} is the shrunk "
                           f"{path.stem} scenario); give each its own")
            _not_an_input(path, "--write-bugs", *profiles)
        taken = [path for path in files if path.exists()]
        if taken and not force:
            _bad_input(f"{taken[0]} exists: --write-bugs would replace it; choose another directory, or give "
                       "--force (to renew the shipped counterexamples in scenarios/bugs)")
        try:
            write_bugs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _bad_input(f"{write_bugs}: cannot create the directory: {exc.strerror or exc}")
    if quick:
        ranges, range_size, correct_seeds = min(ranges, 2), min(range_size, 50), min(correct_seeds, 100)
    bar = None
    if sys.stderr.isatty() if progress is None else progress:
        from tqdm import tqdm

        bar = tqdm(total=h.work_units(list(profiles), bug_list, ranges, range_size, correct_seeds), unit="seed",
                   unit_scale=True, desc="hunt", dynamic_ncols=True, file=sys.stderr)

    def say(line: str) -> None:
        if bar is not None:
            bar.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    try:
        result = h.hunt(list(profiles), bug_list, ranges=ranges, size=range_size, correct_seeds=correct_seeds,
                        jobs=jobs or os.cpu_count() or 1, progress=say,
                        advance=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    table = h.format_table(result)
    click.echo(table)
    if result.get("interrupted"):  # Ctrl-C: keep what finished; nothing was shrunk
        try:
            if output:
                output.write_text(table + "\n", encoding="utf-8")
        except OSError as exc:
            _bad_input(f"{exc.filename}: cannot write: {exc.strerror or exc}")
        click.echo("interrupted: the table holds what finished" + (f" (also in {output})" if output else "")
                   + "; the bugs were not shrunk", err=True)
        sys.exit(130)
    try:
        if output:
            output.write_text(table + "\n", encoding="utf-8")
        if write_bugs:
            for path, bug_set in h.write_counterexamples(result, write_bugs):
                click.echo(f"wrote {path}" + (f" ({bug_set})" if bug_set != path.stem else ""), err=True)
    except OSError as exc:  # the table is on standard output above: nothing is lost
        _bad_input(f"{exc.filename}: cannot write: {exc.strerror or exc}")
    bad_control = [row for (b, _), row in result["rows"].items()
                   if set(b.split("+")) <= set(h.CONTROL_BUGS) and row.caught]
    dirty = sum(counts[0] for counts in result["correct"].values())
    undecided = sum(counts[2] for counts in result["correct"].values())
    sys.exit(EXIT_FAIL if (bad_control or dirty) else EXIT_UNKNOWN if undecided else EXIT_OK)


@main.command("bugs")
def list_bugs() -> None:
    """List the deliberate protocol bugs that --bug and protocol.bugs switch on,
    per protocol (a scenario's protocol.kind says which list applies).

    \b
    Example:
      paxsim bugs
      paxsim sweep scenarios/hunt/crashes.yaml --bug amnesia --seeds 0:2000
      paxsim run scenarios/kv-partition.yaml --bug stale-read --seed 0
    """
    from .protocols.multi import BUGS as MULTI_BUGS

    width = max(map(len, sim_bugs()))
    click.echo("single-decree (the default protocol):")
    for name, text in BUGS.items():
        click.echo(f"  {name.ljust(width)}  {text}")
    click.echo("")
    click.echo("multi-paxos (protocol: {kind: multi-paxos}):")
    for name, text in MULTI_BUGS.items():
        click.echo(f"  {name.ljust(width)}  {text}")


class Duration(click.ParamType):
    """A time such as 50ms, 1.5s, 100us or a number of milliseconds."""

    name = "TIME"

    def convert(self, value, param, ctx):
        from .scenario import duration_ms

        if isinstance(value, (int, float)):
            return float(value)
        try:  # a bare number is milliseconds, as the message below offers
            ms = float(value)
        except ValueError:
            ms = None
        if ms is not None and math.isfinite(ms) and ms >= 0:
            return ms
        try:
            return duration_ms(value.strip())
        except ValueError:
            self.fail(f"{value!r} is not a time (use e.g. 250, 250ms, 1.5s)", param, ctx)


def _read_traces(paths, read) -> list:
    """(label, read(path)) for each trace: its stem, or its path where stems repeat."""
    out = []
    stems = [p.stem for p in paths]
    for p in paths:
        try:
            got = read(p)
        except TraceError as exc:
            _bad_input(str(exc))
        out.append((p.stem if stems.count(p.stem) == 1 else str(p), got))
    return out


def _load_traces(paths) -> list[tuple[str, list[dict]]]:
    return _read_traces(paths, read_trace)


def _stream_traces(paths, reduce) -> list:
    """`_load_traces` for a command that needs only `reduce(events)` of each
    trace: each file is read a line at a time (`stream_trace`), so memory
    holds what `reduce` keeps, not the trace."""
    from .trace import stream_trace

    return _read_traces(paths, lambda p: reduce(stream_trace(p)))


def _save_figure(make, output: Path, about: str) -> None:
    from . import plot

    if output.suffix.lower() not in plot.FORMATS:
        _bad_input(f"{output}: unknown figure format {output.suffix or '(none)'!r} (use .png, .svg or .pdf)")
    if not output.parent.exists():
        _bad_input(f"{output}: cannot write figure: directory {str(output.parent)!r} does not exist")
    try:
        fig = make()
    except plot.PlotError as exc:
        _bad_input(f"{about}: {exc}")
    try:
        plot.save(fig, output)
    except OSError as exc:
        _bad_input(f"{output}: cannot write figure: {exc.strerror or exc}")
    click.echo(f"wrote {output}")


@main.group()
def plot() -> None:
    """Draw figures from trace files (PNG, or SVG/PDF by the -o extension).

    \b
    Examples:
      paxsim run scenarios/partition.yaml --trace run.jsonl
      paxsim plot latency run.jsonl
      paxsim plot timeline run.jsonl --to 100ms -o timeline.svg
      paxsim plot decisions run.jsonl other.jsonl
      paxsim plot throughput kv.jsonl
      paxsim plot operations kv.jsonl
    """


@plot.command("latency")
@click.argument("traces", nargs=-1, required=True, type=TRACE_FILE)
@click.option("-o", "--output", type=OUT_FILE, default=Path("latency.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
@click.option("--by", type=click.Choice(["type", "link"]), default="type", show_default=True,
              help="One panel per message type or per link.")
@click.option("--log", is_flag=True, help="Log-scale latency axis, for long tails.")
def plot_latency(traces, output: Path, by: str, log: bool) -> None:
    """Message-latency histograms (delivery time minus send time).

    One panel per message type (or link), p50/p95/p99 marked, and the
    configured latency distribution drawn over the observed one. Several
    traces overlay in one figure with one shared legend; runs of one scenario
    share one configured curve. A panel with 15 messages or fewer draws a dot
    per message instead of bars. Local deliveries (a node to itself) are left
    out.

    \b
    Examples:
      paxsim plot latency run.jsonl
      paxsim plot latency lossy.jsonl duplicates.jsonl --log -o tails.svg
      paxsim plot latency run.jsonl --by link
    """
    from . import plot as plot_mod
    from .trace import NotStreamable, iter_trace

    stems = [p.stem for p in traces]
    labels, grouped = [], []
    for p in traces:
        labels.append(p.stem if stems.count(p.stem) == 1 else str(p))
        _check_header(p)
        try:  # a file in seq order (every file paxsim writes) is read a line at a time, holding little
            grouped.append(plot_mod.stream_latency_groups(iter_trace(p), by))
            continue
        except (NotStreamable, plot_mod.NotStreamed):
            pass
        try:  # anything else whole: read_trace words what is wrong with it
            events = read_trace(p)
        except TraceError as exc:
            _bad_input(str(exc))
        grouped.append(plot_mod.latency_groups(events, by))
    _save_figure(lambda: plot_mod.latency_figure([(label, []) for label in labels], by=by, log=log, grouped=grouped),
                 output, ", ".join(map(str, traces)))


def _check_header(path: Path) -> None:
    """A trace header's scenario is what summaries, pages and plots read as the run's scenario (its
    duration as a number, its latency distributions drawn, its quorum judged by), and `check`
    reads only what it judges: check it as a scenario file's is, as `replay` does, so that a
    hand-edited one is one line and exit 2.  A header need not list proposers."""
    try:
        header = read_header(path)
    except TraceError as exc:
        _bad_input(str(exc))
    if "scenario" in header:
        from .scenario import header_scenario

        try:
            header_scenario(header["scenario"], source=f"{path}:1: header.scenario")
        except ScenarioError as exc:
            _bad_input(str(exc))


@plot.command("timeline")
@click.argument("trace", type=TRACE_FILE)
@click.option("-o", "--output", type=OUT_FILE, default=Path("timeline.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
@click.option("--from", "t_from", type=Duration(), help="Start of the time window (e.g. 20ms).")
@click.option("--to", "t_to", type=Duration(), help="End of the time window (e.g. 1.5s).")
@click.option("--nodes", help="Comma-separated nodes to draw (default: all).")
@click.option("--max-messages", type=click.IntRange(min=1), default=300, show_default=True,
              help="Most arrows to draw; a longer trace is windowed and the title says so.")
def plot_timeline(trace: Path, output: Path, t_from, t_to, nodes, max_messages: int) -> None:
    """A sequence diagram of the messages in TRACE.

    A lane per node, time flowing down, an arrow per delivered message
    coloured by type and labelled with its ballot, a cross per lost message,
    crashes shaded on the lane, partitions and cuts as bands, decisions
    starred.

    TRACE is read a line at a time, keeping only the messages the window
    can show, so a trace of millions of events draws in little memory.
    Without --to the window ends after --max-messages messages (from --from,
    or the start), and the title says how many were left out.

    \b
    Examples:
      paxsim plot timeline run.jsonl
      paxsim plot timeline run.jsonl --from 20ms --to 120ms --nodes n1,n3,n4
    """
    _check_header(trace)
    from . import plot as plot_mod
    from .trace import stream_trace

    node_list = [n.strip() for n in nodes.split(",") if n.strip()] if nodes is not None else None
    if node_list == []:
        _bad_input(f"--nodes {nodes!r}: no node names (give e.g. --nodes n1,n3, or leave it out for all)")

    def figure():
        try:  # a line at a time, keeping what the window shows
            window = plot_mod.stream_timeline_window(stream_trace(trace), t_from, t_to, node_list, max_messages)
        except TraceError as exc:
            _bad_input(str(exc))
        except plot_mod.NotStreamed:  # message ids out of order (not a paxsim simulation's trace): read it whole
            (_, events), = _load_traces([trace])
            return plot_mod.timeline_figure(events, t_from, t_to, node_list, max_messages)
        return plot_mod.timeline_figure([], window=window)

    _save_figure(figure, output, str(trace))


@plot.command("throughput")
@click.argument("trace", type=TRACE_FILE)
@click.option("-o", "--output", type=OUT_FILE, default=Path("throughput.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
@click.option("--bucket", type=Duration(), default="50ms", show_default=True,
              help="Width of the time buckets ops/s and the latency percentiles are counted in.")
def plot_throughput(trace: Path, output: Path, bucket: float) -> None:
    """Client operations over time in TRACE (a run with a workload).

    Top: operations completed ok per simulated second, per time bucket.
    Bottom: each completed operation's latency at its completion time,
    coloured by operation, with the bucket's p50 and p99; operations the
    client gave up on (outcome unknown) crossed.  Crashed nodes,
    partitions and cuts are shaded on both.  TRACE is read a line at a
    time, keeping its client events and faults: memory grows with the
    run's operations, not its messages.

    \b
    Examples:
      paxsim run scenarios/kv-failover.yaml --trace kv.jsonl
      paxsim plot throughput kv.jsonl
      paxsim plot throughput kv.jsonl --bucket 20ms -o throughput.svg
    """
    _check_header(trace)
    from . import plot as plot_mod

    (_, events), = _stream_traces([trace], plot_mod.operation_events)  # the history, not the messages
    _save_figure(lambda: plot_mod.throughput_figure(events, bucket), output, str(trace))


@plot.command("operations")
@click.argument("traces", nargs=-1, required=True, type=TRACE_FILE)
@click.option("-o", "--output", type=OUT_FILE, default=Path("operations.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
@click.option("--log", is_flag=True, help="Log-scale latency axis, for long tails.")
def plot_operations(traces, output: Path, log: bool) -> None:
    """Latency histograms of client operations, one panel per operation
    (get, put, append, cas), over every completed operation of TRACES;
    p50 and p99 marked.  Each trace is read a line at a time, keeping its
    client events.

    \b
    Examples:
      paxsim plot operations kv.jsonl
      paxsim plot operations kv-*.jsonl --log -o ops.svg
    """
    for path in traces:
        _check_header(path)
    from . import plot as plot_mod

    loaded = _stream_traces(traces, plot_mod.operation_events)  # the histories, not the messages
    _save_figure(lambda: plot_mod.operations_figure(loaded, log), output, ", ".join(map(str, traces)))


@plot.command("decisions")
@click.argument("traces", nargs=-1, required=True, type=TRACE_FILE)
@click.option("-o", "--output", type=OUT_FILE, default=Path("decisions.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
def plot_decisions(traces, output: Path) -> None:
    """When each learner learned, and the CDF of time to decision.

    A grey cross marks a trace where some learner never learned. Runs of one
    scenario with different --set values get separate curves, named by the
    settings that differ (read from each trace's header). Past 40 traces, the
    ones without a row are named under the figure. Single-decree traces
    only: a Multi-Paxos run decides a log of slots (see 'plot throughput').
    Each trace is read a line at a time, keeping its header, each learner's
    first decision and its end, so traces of any size draw in little memory.

    \b
    Examples:
      paxsim plot decisions run.jsonl
      paxsim plot decisions seeds/*.jsonl -o decisions.pdf
    """
    for path in traces:
        _check_header(path)
    from . import plot as plot_mod

    loaded = _stream_traces(traces, plot_mod.decision_events)  # a few events of each, however long
    _save_figure(lambda: plot_mod.decisions_figure(loaded), output, ", ".join(map(str, traces)))


# --------------------------------------------------------------------------
# See and compare runs: paxsim view, diff, export
# --------------------------------------------------------------------------
def _view_page(name: str, events: list[dict]) -> str:
    from . import view

    return view.page([(name, events)])


def _trace_events(path: Path) -> int | None:
    """The number of events in a trace file (its lines but the header),
    counted without parsing; None if it cannot be read (its reader says why)."""
    try:
        with open(path, "rb") as fh:
            lines = last = 0
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                lines += chunk.count(b"\n")
                last = chunk[-1]
            return max(0, lines + (last != 0x0A and last != 0) - 1)
    except OSError:
        return None


def _too_big_for_a_page(events: int | None, what: str) -> str | None:
    from .view import MAX_PAGE_EVENTS

    if events is None or events <= MAX_PAGE_EVENTS:
        return None
    return (f"{what}: {events:,} events, too many for one page (at most {MAX_PAGE_EVENTS:,}: a bigger page takes "
            f"minutes to open, if a browser opens it at all); draw a window of it with "
            f"paxsim plot timeline --from/--to")


def _write_html(path: Path, make) -> Path:
    if not path.parent.exists():
        _bad_input(f"{path}: cannot write page: directory {str(path.parent)!r} does not exist")
    text = make()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _bad_input(f"{path}: cannot write page: {exc.strerror or exc}")
    return path


@main.command()
@click.argument("trace", type=OUT_FILE)
@click.option("-o", "--output", type=OUT_FILE,
              help="Page to write [default: TRACE with .html here].")
def view(trace: Path, output: Path | None) -> None:
    """Write TRACE as one interactive page: a sequence diagram to explore.

    One HTML file with everything inline: open it in any browser, no server
    and no network needed. A lane per node, time flowing down, an arrow per
    message coloured by type; lost messages, duplicates, crashes,
    partitions and cuts marked. Zoom and pan in time, filter by node,
    message type and event kind, find by field (ballot=(2,n3)), hover for a
    message's content, click to highlight what caused it and what it
    caused. The checker's verdict is at the top: every seq in it is a link
    to its event. Any trace works: simulated, from a real cluster, from
    another protocol (unknown events are drawn as markers on their node's
    lane).

    \b
    Examples:
      paxsim run scenarios/volatile.yaml --trace run.jsonl
      paxsim view run.jsonl -o run.html
      paxsim run scenarios/volatile.yaml --seed 3 --html run.html

    Open run.html#seq=49 to start at the event with seq 49. A trace of more
    than 100,000 events is refused (exit 2): draw a window of it with
    'paxsim plot timeline --from/--to'.
    """
    _check_header(trace)
    output = output or Path(trace.with_suffix(".html").name)
    _not_an_input(output, "-o", trace)
    too_big = _too_big_for_a_page(_trace_events(trace), str(trace))
    if too_big:  # before reading it: the page would need gigabytes here and be unopenable there
        _bad_input(too_big)
    (name, events), = _load_traces([trace])
    _write_html(output, lambda: _view_page(trace.name, events))
    click.echo(f"wrote {output}")


@main.command()
@click.argument("a", type=OUT_FILE)
@click.argument("b", type=OUT_FILE)
@click.option("-o", "--output", type=OUT_FILE,
              help="Also write both runs side by side as a page, the divergence marked.")
def diff(a: Path, b: Path, output: Path | None) -> None:
    """Where two traces part ways, and what differs after.

    Prints the first event where A and B differ, one line each side naming
    the field that differs, then how many events follow it on each side and
    how the two runs differ as a whole: decisions, the chosen value,
    message counts by type, violations (Multi-Paxos: slots
    decided per node and the first slot decided differently). Use it on the same
    scenario with and without a bug, two seeds, or a simulated and a real
    run (wall-clock traces are compared without times, seqs and ids).

    \b
    Examples:
      paxsim run scenarios/volatile.yaml --trace bad.jsonl
      paxsim run scenarios/volatile.yaml --set protocol.storage=durable --trace good.jsonl
      paxsim diff good.jsonl bad.jsonl
      paxsim diff good.jsonl bad.jsonl -o diff.html

    Without -o the traces are read a line at a time, side by side, holding
    the counts and the messages in flight, not the traces (Multi-Paxos
    traces too). -o reads both whole and refuses traces of more than
    100,000 events.

    Exit status 0 when the traces are identical, 1 when they differ, 2 on
    bad input.
    """
    for path in (a, b):
        _check_header(path)
    from . import view as view_mod

    _not_an_input(output, "-o", a, b)
    if output is not None:
        for path in (a, b):
            too_big = _too_big_for_a_page(_trace_events(path), str(path))
            if too_big:
                _bad_input(too_big)
    labels = (f"A {a}", f"B {b}")
    result = None
    if output is None:  # compared as they are read, holding neither
        try:
            result = view_mod.diff_files(a, b, labels)
        except TraceError as exc:
            _bad_input(str(exc))
        except view_mod.NotStreamed:
            pass
    if result is None:
        (_, ea), (_, eb) = _load_traces([a, b])
        result = view_mod.diff(ea, eb, labels)
    for line in result.lines:
        click.echo(line)
    if output is not None:
        _write_html(output, lambda: view_mod.diff_page((str(a), ea), (str(b), eb), result))
        click.echo(f"page:      {output}")
    sys.exit(EXIT_OK if result.identical else EXIT_FAIL)


@main.command()
@click.argument("traces", nargs=-1, required=True, type=OUT_FILE)
@click.option("--format", "fmt", type=click.Choice(["shiviz"]), default="shiviz", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=OUT_FILE,
              help="File to write [default: standard output].")
def export(traces, fmt: str, output: Path | None) -> None:
    """Export traces for other tools: a ShiViz log (vector clocks).

    Sends, deliveries and the protocol steps (promise, vote, propose,
    decide, crash, restart, and other protocols' node events) with a vector
    clock per host; several traces become several executions in one file.
    Load it at https://bestchai.bitbucket.io/shiviz/ (the parser regex and
    the execution delimiter are the file's first two lines).

    Each trace is read a line at a time and the log written as it is read,
    in memory for the messages in flight, whatever the trace's size. A bad
    line stops it (one line naming file, line and field; exit 2): -o then
    leaves no file, while standard output has the lines written before.

    \b
    Examples:
      paxsim export run.jsonl --format shiviz -o run.log
      paxsim export seed-*.jsonl --format shiviz -o runs.log
    """
    for path in traces:
        _check_header(path)
    from functools import partial

    from .trace import stream_trace, write_text_atomically
    from .view.shiviz import export_lines

    _not_an_input(output, "-o", *traces)
    if output is not None and not output.parent.exists():
        _bad_input(f"{output}: cannot write: directory {str(output.parent)!r} does not exist")
    # each trace is read a line at a time and its lines written as they come
    lines = export_lines((str(p), stream_trace(p), partial(stream_trace, p)) for p in traces)
    try:
        if output is None:
            for chunk in _chunks(lines):
                click.echo(chunk, nl=False)
            return
        write_text_atomically(output, _chunks(lines))
    except TraceError as exc:
        _bad_input(str(exc))
    except OSError as exc:
        _bad_input(f"{output}: cannot write: {exc.strerror or exc}")
    click.echo(f"wrote {output} ({len(traces)} execution(s))")


def _chunks(lines, size: int = 1 << 16):
    """Lines joined into chunks of about `size` characters, for fewer writes."""
    batch, n = [], 0
    for line in lines:
        batch.append(line)
        n += len(line)
        if n >= size:
            yield "".join(batch)
            batch, n = [], 0
    if batch:
        yield "".join(batch)


@main.command("linearizable")
@click.argument("files", nargs=-1, required=True, type=OUT_FILE)
@click.option("--model", required=True, type=click.Choice(["register", "kv"]),
              help="register: one compare-and-set register (read, write, cas); "
                   "kv: a map (get, put, append, cas), each key checked on its own.")
@click.option("--format", "fmt", type=click.Choice(["paxsim", "jepsen-log", "jepsen-edn"]),
              help="History format [default: guessed from the file, and said].")
@click.option("--time-limit", type=Number(min=0, min_open=True), metavar="S",
              help="Seconds per file; a key still undecided then is reported unknown (exit 3) "
                   "[default: no limit: a hard history can search for a long time].")
@click.option("--no-witness", "witness", is_flag=True, flag_value=False, default=True,
              help="Judge by the search alone: do not offer a replicated log's order (a paxsim trace's "
                   "executed events) as a linearization to check.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (a list of per-file results).")
def linearizable(files, model: str, fmt: str | None, time_limit: float | None, witness: bool,
                 as_json: bool) -> None:
    """Check that client histories are linearizable (a register, or a key-value map).

    Reads the invoke / ok / fail / info events of a paxsim trace, a Jepsen
    log (a CAS register, e.g. etcd) or Jepsen EDN (one map a line). An
    operation whose outcome is unknown (info, a timeout, never completed)
    may take effect at any point after its invoke, or never. A violation is
    explained: a few operations on one key that cannot be ordered, with
    their clients, invoke and complete times and results.

    \b
    Examples:
      paxsim linearizable run.jsonl --model kv
      paxsim linearizable etcd_000.log --model register --format jepsen-log
      paxsim linearizable ../shared/porcupine/kv/*.txt --model kv --time-limit 10
      paxsim linearizable history.edn --model kv --json
      paxsim linearizable run.jsonl --model kv --time-limit 10 --no-witness

    Exit status: 0 every history is linearizable, 1 one is not, 2 bad
    input, 3 the time limit left one undecided (and none is violated).

    A paxsim trace of a replicated log (multi-paxos) also offers a witness:
    the order in which the log applied the commands. If that order is a
    linearization (every completed operation once, none that failed, real
    time kept, every result as the model gives), the history is
    linearizable, "by the log's order, checked", even where the search
    would run out of time; if not, the search's answer stands.
    """
    from . import lin
    from .lin.witness import log_events
    from .lin.report import verdict_json, verdict_text

    histories = []
    for path in files:
        try:
            history = lin.read_history(path, model, fmt)
        except lin.HistoryError as exc:
            _bad_input(str(exc))
        if not history.ops and not history.left_out:  # nothing to judge: "linearizable" would say nothing
            why = ("a paxsim trace has them only from a run with a workload" if history.format == "paxsim"
                   else f"read as {history.format}" + (", as --format said: is that the file's format?" if fmt
                                                        else ""))
            _bad_input(f"{path}: no client operations (invoke, ok, fail, info) in it: nothing to check ({why})")
        histories.append(history)
    verdicts = []
    for path, history in zip(files, histories):
        offered = None
        if witness and history.format == "paxsim":
            try:
                offered = lin.witness_from_log(log_events(path), history)
            except (OSError, ValueError, KeyError, TypeError):  # read once already: then no witness, the search decides
                offered = None
        verdict = lin.check(history, time_limit=time_limit, witness=offered)
        verdicts.append(verdict)
        if not as_json:
            click.echo(verdict_text(verdict, time_limit))
    if as_json:
        click.echo(json.dumps([verdict_json(v) for v in verdicts], sort_keys=True))
    if any(v.result == lin.VIOLATION for v in verdicts):
        sys.exit(EXIT_FAIL)
    sys.exit(3 if any(v.result == lin.UNKNOWN for v in verdicts) else EXIT_OK)
# -- real nodes (paxsim/real) ---------------------------------------------------------

@main.command()
@click.option("--name", required=True, help="This node's name, e.g. n1.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 picks a free one (printed as 'READY <port>').")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--peers", default="", metavar="NAME=URL,...",
              help="The other nodes, e.g. n2=http://127.0.0.1:8002,n3=http://127.0.0.1:8003.")
@click.option("--data", "data_dir", required=True, type=OUT_DIR,
              help="Data directory: stable state (state.json) and the node's trace (trace.jsonl).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the node's timer stream.")
@click.option("--nodes", "order", metavar="N1,N2,...", help="Node order for broadcasts (default: names sorted).")
@click.option("--quorum", metavar="P1,P2", help="Phase-1 and phase-2 quorum sizes (default: majorities).")
@click.option("--retry-timeout", type=Number(min=0, min_open=True), default=50.0, show_default=True,
              help="First retry timeout in ms.")
@click.option("--retry-backoff", type=Number(min=1), default=2.0, show_default=True)
@click.option("--retry-jitter", type=Number(0, 1), default=0.5, show_default=True)
@click.option("--retry-max", type=Number(min=0, min_open=True), default=1000.0, show_default=True,
              help="Longest retry timeout in ms.")
@click.option("--learning", type=click.Choice(["proposer", "acceptors"]), default="proposer", show_default=True)
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@click.option("--trace", "trace_path", type=OUT_FILE,
              help="Append the node's trace here instead of DATA/trace.jsonl.")
@click.option("--standby", is_flag=True, hidden=True,
              help="Wait for a line on stdin before reading storage and listening (used by 'paxsim cluster').")
def node(name, port, host, peers, data_dir, seed, order, quorum, retry_timeout, retry_backoff, retry_jitter,
         retry_max, learning, bugs, trace_path, standby) -> None:
    """Run one real Paxos node: the simulator's roles behind an HTTP server.

    \b
    Examples:
      paxsim node --name n1 --port 8001 --data ./n1 \\
          --peers n2=http://127.0.0.1:8002,n3=http://127.0.0.1:8003
      curl -X POST localhost:8001/prepare -H 'content-type: application/json' \\
          -d '{"value": "apple"}'
      curl localhost:8001/status

    Endpoints: POST /prepare, POST /handle-<type> (prepare, promise, nack,
    accept, accepted, learn, learned), GET /status; see docs/http-protocol.md.
    Stops on SIGTERM or Ctrl-C.  Exit status 2 if the port is in use, the data
    directory is not writable or --peers is malformed.
    """
    from .protocols.single import RetryPolicy
    from .real.node import run_node

    retry = RetryPolicy(retry_timeout, retry_backoff, retry_jitter, retry_max)
    sys.exit(run_node(name, port, peers, data_dir, host=host, seed=seed, nodes=order, quorum=quorum,
                      retry=retry, learning=learning, bugs=bugs, trace=trace_path, standby=standby))


@main.command()
@click.argument("scenario", type=OUT_FILE)
@click.option("--seed", type=click.IntRange(min=0), help="Seed for the network, faults and timers (default: the scenario's).")
@click.option("--trace", "trace_path", type=OUT_FILE,
              help="Write the merged trace (JSON Lines) to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@click.option("--plots", "plots_dir", type=OUT_DIR,
              help="Write latency.png and timeline.png for this run into this directory.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set network.loss=0.1 (repeatable).")
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug in every paxsim node (repeatable; not with --node-cmd).")
@click.option("--node-cmd", "node_cmd", metavar="TEMPLATE",
              help="Run this command for each node instead of 'paxsim node'; placeholders "
                   "{name} {port} {peers} {data} {config} {seed} {nodes} {quorum} {learning} {retry_timeout} "
                   "{retry_backoff} {retry_jitter} {retry_max} (see docs/http-protocol.md).")
@click.option("--workdir", type=OUT_DIR,
              help="Keep data directories, node logs and traces here (default: a temporary directory, removed).")
def cluster(scenario: Path, seed: int | None, trace_path: Path | None, as_json: bool, plots_dir: Path | None,
            sets: tuple[str, ...], bugs: tuple[str, ...], node_cmd: str | None, workdir: Path | None) -> None:
    """Run SCENARIO on real node processes over HTTP on 127.0.0.1.

    \b
    Examples:
      paxsim cluster scenarios/partition.yaml
      paxsim cluster scenarios/partition.yaml --trace real.jsonl --plots figs/
      paxsim cluster scenarios/crash-minority.yaml --seed 3 --json
      paxsim cluster scenarios/lossy.yaml --node-cmd \\
          'python my_node.py --name {name} --port {port} --peers {peers} --data {data}'
      paxsim cluster scenarios/lossy.yaml --node-cmd 'python my_node.py --config {config}'

    One process per node; a relay in this process applies the scenario's
    latency, loss, duplication, partitions and cuts to every message; crash
    is SIGKILL, restart reuses (durable) or empties (volatile) the node's
    data directory.  The merged trace is checked and summarised as by
    'paxsim run', with the same exit status.  Times are wall-clock: a run is
    not reproducible event for event, though network draws, faults and
    timers are seeded.  No node process outlives the command.

    \b
    What stops a run, after every fault and proposal start has happened:
      stop: end (the default; the simulator's "no event left"): the cluster
        is quiet: the relay holds no message and carried none for 100 ms,
        every node up that sent a learn has had it acknowledged by every
        other node (so a node that stays down keeps the run going), and
        every node up is idle (per its /status, not trying a ballot and
        not waiting for its proposal; if /status does not say: decided);
      stop: when-decided: every node up has decided, no prepare or accept
        is on its way, and no node up reports a ballot in progress (or,
        sooner, the cluster is quiet as above);
      and in any case at the scenario's duration.

    {config} names a JSON file paxsim writes for each node with all the
    node needs to follow the scenario (peers, quorum sizes, retry policy,
    learning mode, seed: docs/http-protocol.md).  --bug and a scenario's
    protocol.bugs are mutants of paxsim's own roles: refused with --node-cmd.

    A scenario that asks for what real processes cannot honour (a script:
    fixing message fates, a storage write latency, skewed clocks, or
    Multi-Paxos) is refused (exit 2) rather than run without it: use
    'paxsim run' for those.
    """
    import tempfile

    from .real.cluster import ClusterError, check_supported, check_template, run_cluster

    _not_an_input(trace_path, "--trace", scenario)
    if node_cmd is not None and bugs:
        _bad_input(f"--bug {bugs[0]}: bugs are mutants of paxsim's own roles and cannot be switched on in a "
                   "--node-cmd node, which runs its own code (drop --bug, or drop --node-cmd)")
    try:
        sc = load_variant(scenario, sets, bugs)
        check_supported(sc, node_cmd, sets, scenario)  # before anything starts; names the --set that gave a key
    except (ScenarioError, OverrideError, ClusterError) as exc:
        _bad_input(str(exc))
    if node_cmd is not None:
        try:
            check_template(node_cmd)
        except ClusterError as exc:
            _bad_input(str(exc))
    if trace_path is not None and not trace_path.parent.exists():
        _bad_input(f"{trace_path}: cannot write trace: directory {str(trace_path.parent)!r} does not exist")
    seed = sc.seed if seed is None else seed
    tmp = None
    workdir_kept = workdir is not None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="paxsim-cluster-")
        workdir = Path(tmp.name)
    else:
        try:
            workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _bad_input(f"{workdir}: cannot create the work directory: {exc.strerror or exc}")
        if (workdir / "data").exists():
            _bad_input(f"{workdir}: --workdir already holds a run's data; remove it or choose another")
    try:
        try:
            events, ran = run_cluster(sc, seed, workdir.resolve(), node_cmd)
        except ClusterError as exc:
            _bad_input(str(exc))
    finally:
        if tmp is not None:
            tmp.cleanup()
    if trace_path is not None:
        from .trace import write_trace

        try:
            write_trace(trace_path, events)
        except OSError as exc:
            _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")
    written = _write_run_plots(events, plots_dir) if plots_dir is not None else []
    verdict = check_trace(events)
    header = events[0]
    reproduce = f"paxsim cluster {shlex_join([str(scenario), '--seed', str(seed)])}" + "".join(
        f" --bug {b}" for b in bugs) + "".join(f" --set {shlex_join([s])}" for s in sets) + (
        f" --node-cmd {shlex_join([node_cmd])}" if node_cmd else "")
    notes = [f"runtime:   http, {len(sc.nodes)} node processes on 127.0.0.1"
             + (f" ({node_cmd.split()[0]} ...)" if node_cmd else " (paxsim node)")
             + f"; not reproducible event for event (the network draws, faults and timers are seeded by {seed})"]
    for fault in ran.unfinished:
        what = f"{fault.kind} {fault.arg}" if isinstance(fault.arg, str) else fault.kind
        notes.append(f"not done:  {what} (due at {fault.at:g} ms) had not happened when the run stopped at "
                     f"{events[-1]['t']:g} ms" + (": a restarted node counts from when it is ready, and "
                     "this one was not yet" if fault.kind == "restart" else ""))
    for name, t, code, last, log in ran.exited:
        notes.append(f"exited:    {name} exited by itself at t={t:.3f} ms with status {code}, recorded as a crash"
                     + (f"; its last words: {last}" if last else "")
                     + (f" (log: {log})" if workdir_kept else " (--workdir DIR keeps its log)"))
    if ran.wire_only:
        notes.append(f"judged:    from the wire alone for {', '.join(ran.wire_only)}: promise replies as promises, "
                     "accepted replies as votes, learned replies and /prepare answers as decisions, a node's vote "
                     "for its own ballot inferred where its decision needs exactly that one; agreement "
                     "and validity are judged on these, integrity only as far as decisions show on the wire")
    if as_json:
        out = summary_json(header, verdict, reproduce)
        out["runtime"] = "http"
        out["notes"] = notes
        click.echo(json.dumps(out, sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
        for line in notes:
            click.echo(line)
        if trace_path is not None:
            click.echo(f"trace:     {trace_path}")
        for path in written:
            click.echo(f"plot:      {path}")
    unmet = evaluate_expect(verdict, header["scenario"]["expect"])
    sys.exit(_verdict_exit(verdict, unmet))


@main.command()
@click.argument("scenario", type=SCENARIO_FILE)
@SEEDS_OPTION
@click.option("--variant", "variants", multiple=True, metavar="NAME:PATH=VALUE,...",
              help="A variant: a name and --set style changes (none: 'base:'). Repeat; the first is the baseline.")
@JOBS_OPTION
@SCHEDULER_OPTION
@click.option("-o", "--output", type=OUT_FILE, default=None,
              help="Also write every seed's results here, one JSON line a seed.")
@click.option("--plot", "plot_path", type=OUT_FILE, default=None,
              help="Write a histogram of the paired decision-time differences (PNG, SVG or PDF).")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar [default: when stderr is a terminal].")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted comparison: read the seeds already in -o FILE, run the rest.")
def compare(scenario: Path, seeds: str, variants: tuple[str, ...], jobs: int | None, scheduler: str | None,
            output: Path | None, plot_path: Path | None, progress: bool | None, as_json: bool,
            resume: bool) -> None:
    """Compare variants of SCENARIO seed by seed, on common random numbers.

    \b
    Examples:
      paxsim compare scenarios/duel.yaml --seeds 0:1000 --variant base: --variant fast:protocol.retry.timeout=10ms
      paxsim compare scenarios/lossy.yaml --seeds 0:500 --variant base: \\
          --variant slow-disk:protocol.write_latency=2ms --plot diff.png
      paxsim compare scenarios/partition.yaml --seeds 0:200 --variant base: \\
          --variant buggy:protocol.bugs=[ignore-accepted] --json

    Every seed runs every variant. Random draws are keyed to what they are
    for (a link's n-th message of a type and ballot, a node's n-th timer),
    not to the order they are drawn in, so a message or timer both variants
    have meets the same luck in both; the report says what share of message
    fates stayed the same. Per variant: decision-time percentiles, messages
    per decision, undecided share and safety violations. Per variant against
    the first (the baseline): paired differences with bootstrap 95%
    intervals (JSON fields ending in _diff and _diff_ci; withheld below
    30 seeds, and for p95/p99 below 100/500 decided seeds), and how many
    seeds an unpaired comparison would need for the same interval, measured
    by bootstrapping the same runs as if unpaired.

    Runs in this mode draw other numbers than `paxsim run` and `sweep`:
    reproduce a seed with `paxsim compare ... --seeds N:N+1`.

    With -o FILE, an interrupted comparison goes on with the same command
    and --resume: the seeds in FILE are read back, not run again, and the
    report is the one an uninterrupted run gives.

    Exit status 1 if any run of any variant violated safety.
    """
    from . import compare as cmp

    _jobs_or_scheduler(jobs, scheduler)
    try:
        plan = cmp.plan_variants(scenario, list(variants))
        seed_list = cmp.parse_seeds(seeds)
    except (ScenarioError, cmp.SweepError) as exc:
        _bad_input(str(exc))
    if output is not None and not output.parent.exists():
        _bad_input(f"{output}: directory {str(output.parent)!r} does not exist")
    if resume and output is None:
        _bad_input("--resume: give the -o FILE of the comparison to continue")
    if output is not None and output.exists() and not resume:
        _bad_input(f"{output} exists: pass --resume to continue it, or choose another -o")
    if plot_path is not None and plot_path.suffix.lower() not in (".png", ".svg", ".pdf"):
        _bad_input(f"--plot {plot_path}: expected a .png, .svg or .pdf file name")
    _distinct_outputs(("-o", output), ("--plot", plot_path))
    _warn_if_large(*(v.scenario for v in plan))
    for i, v in enumerate(plan):  # allowed (an A/A comparison), but never by accident
        same = next((w for w in plan[:i] if w.key == v.key), None)
        if same is not None and v.sets:
            click.echo(f"note: variant {v.name} is the same scenario as {same.name} (its settings change nothing): "
                       "their differences will be exactly 0", err=True)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(seed_list) * len(plan), unit="run", desc=scenario.stem, dynamic_ncols=True,
                   file=sys.stderr)

    def tick(rec: dict) -> None:
        if bar is not None:
            bar.update(len(rec["variants"]))

    try:
        records = cmp.run_compare(str(scenario), plan, seed_list, jobs=jobs or os.cpu_count() or 1,
                                  scheduler=scheduler, output=output, on_result=tick, resume=resume)
    except cmp.SweepError as exc:
        if bar is not None:
            bar.close()
        _bad_input(str(exc))
    except (KeyboardInterrupt, cmp.WorkerLost) as exc:
        if bar is not None:
            bar.close()
        why = f" ({exc})" if isinstance(exc, cmp.WorkerLost) else ""
        click.echo(f"interrupted{why}: every seed finished is in {output}; continue with the same command and --resume"
                   if output is not None else
                   "interrupted: nothing kept (-o FILE keeps every seed as it finishes)", err=True)
        sys.exit(130)
    if bar is not None:
        bar.close()
    summary = cmp.summarize_compare(str(scenario), plan, records)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        click.echo(cmp.format_compare(summary))
        if output is not None:
            click.echo(f"results:   {output}")
    if plot_path is not None:  # after the report: a plot that cannot be written loses nothing else
        try:
            cmp.plot_differences(records, plan, summary, plot_path)
        except OSError as exc:
            _bad_input(f"{plot_path}: cannot write plot: {exc.strerror or exc}")
        if not as_json:
            click.echo(f"plot:      {plot_path}")
    sys.exit(EXIT_FAIL if summary["violating_runs"] else EXIT_OK)


def shlex_join(parts) -> str:
    import shlex

    return " ".join(shlex.quote(p) for p in parts)


EXIT_BOUND = 3


@main.command("explore")
@click.argument("scenario", type=OUT_FILE)
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set explore.loss=2 (repeatable).")
@click.option("--strategy", type=click.Choice(["bfs", "dfs", "random"]), default="bfs", show_default=True,
              help="bfs finds a shortest counterexample; dfs and random reach deep states sooner.")
@click.option("--max-depth", type=click.IntRange(min=0), help="Expand no state deeper than this many transitions.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many unique states.")
@click.option("--time-limit", type=Number(min=0, min_open=True), metavar="S",
              help="Stop after S seconds (random: 10 s unless a bound is given).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the random walk.")
@click.option("--loss", type=click.IntRange(min=0), help="Loss budget (overrides explore.loss).")
@click.option("--duplicate", type=click.IntRange(min=0), help="Duplication budget (overrides explore.duplicate).")
@click.option("--crash", type=click.IntRange(min=0), help="Crash budget (overrides explore.crash).")
@click.option("--restart", type=click.IntRange(min=0), help="Restart budget (overrides explore.restart).")
@click.option("--timers", type=click.IntRange(min=0), help="Timer firings allowed (overrides explore.timers).")
@click.option("--symmetry/--no-symmetry", default=None,
              help="Identify states equal up to renaming interchangeable nodes [default: explore.symmetry, on].")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Skip transitions that only take options away (a loss, a delivery or timer that does nothing).")
@click.option("--reduction/--no-reduction", default=True, show_default=True,
              help="Explore a crash only as a reboot (crash, then restart at once) and never generate "
                   "always-subsumed transitions; sound for safety, needs --prune (see the README).")
@click.option("-o", "--output", type=OUT_FILE,
              help="Write a counterexample here as a scripted scenario.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr [default: when a terminal].")
def explore_cmd(scenario: Path, bugs, sets, strategy: str, max_depth, max_states, time_limit, seed: int,
                loss, duplicate, crash, restart, timers, symmetry, prune: bool, reduction: bool,
                output: Path | None, as_json: bool, progress) -> None:
    """Search every schedule of a small SCENARIO for a safety violation.

    States are every node's role state and storage, the messages in flight
    (a multiset), which nodes are up, the armed timers and the fault budgets
    left (the scenario's explore: section, or the flags). A transition
    delivers, loses or duplicates a message, fires a timer, crashes or
    restarts a node, or starts a proposal; time is abstracted away. Every
    state is checked for agreement, validity and integrity. A counterexample
    is written as a scripted scenario that 'paxsim run' replays on any seed.
    By default a crash is explored only as a reboot and states covered by
    another are skipped, which keeps the shortest counterexample
    (--no-reduction: the plain search).

    \b
    Examples:
      paxsim explore scenarios/explore/three-nodes.yaml --restart 0   # crash-stop: seconds
      paxsim explore scenarios/explore/three-nodes.yaml   # all of it: 1 million states, 5-15 minutes, 1.5 GB
      paxsim explore scenarios/explore/three-nodes.yaml --restart 1 --bug amnesia
      paxsim explore scenarios/explore/three-nodes.yaml --bug ignore-accepted -o cex.yaml
      paxsim run cex.yaml
      paxsim explore scenarios/explore/two-nodes.yaml --loss 1 --json
      paxsim explore scenarios/duel.yaml --strategy dfs --max-depth 30 --time-limit 60

    Exit status: 0 exhausted with no violation, 1 a violation, 2 bad input,
    3 a bound (--max-depth, --max-states, --time-limit) stopped it first.
    """
    from dataclasses import replace as dc_replace

    from . import explore as ex
    from .explore.model import MAX_SYMMETRIC
    from .scenario import Explore
    from .sim import simulate

    try:
        sc = load_variant(scenario, sets, bugs)
    except (ScenarioError, OverrideError) as exc:
        _bad_input(str(exc))
    if sc.kind != "single-decree":  # the explorer has single-decree roles only: it would search nothing
        from .scenario import read_scenario_data

        line = None if any(s.startswith("protocol") for s in sets) else (
            read_scenario_data(scenario)[1].get(("protocol", "kind")))
        _bad_input(str(ScenarioError(str(scenario), line, ("protocol", "kind"),
                                     f"paxsim explore searches single-decree Paxos only, not {sc.kind} "
                                     "(run it with 'paxsim run' or 'paxsim sweep')")))
    budgets = sc.explore or Explore()
    changes = {k: v for k, v in (("loss", loss), ("duplicate", duplicate), ("crash", crash),
                                 ("restart", restart), ("timers", timers), ("symmetry", symmetry)) if v is not None}
    budgets = dc_replace(budgets, **changes)
    if output is not None:
        _writable_parent(output, "the counterexample")
        _not_an_input(output, "-o", scenario)
        if output.exists():  # as shrink: an earlier counterexample is not lost to a new search
            _bad_input(f"{output} exists: choose another -o, or remove it first")
    if reduction and not prune and (click.get_current_context().get_parameter_source("reduction")
                                    is click.core.ParameterSource.COMMANDLINE):
        _bad_input("--reduction: needs --prune (the reduction skips subsumed transitions, which --no-prune "
                   "keeps); drop --no-prune, or give --no-reduction")
    if strategy == "random" and max_states is None and time_limit is None:
        time_limit = 10.0
    model = ex.model_for(sc, budgets, prune=prune, reduce=reduction)
    if model.too_symmetric:
        click.echo(f"note: symmetry reduction is off: {model.too_symmetric} interchangeable nodes have "
                   f"{math.factorial(model.too_symmetric):,} renamings to try on every state (it is on for "
                   f"{MAX_SYMMETRIC} or fewer)", err=True)
    for key, why in _explore_ignores(sc):
        click.echo(f"note: {sc.source}: {key} is ignored: {why}", err=True)  # names the --set that gave it
    bar = None
    if progress is None:
        progress = sys.stderr.isatty() and not as_json
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=max_states, unit=" states", desc="explore", file=sys.stderr, leave=False)

    def tick(unique: int) -> None:
        bar.update(unique - bar.n)

    result = ex.explore(model, strategy, max_depth, max_states, time_limit, seed, tick if bar is not None else None)
    if bar is not None:
        bar.close()
    summary = result.to_json()
    summary["scenario"] = str(scenario)
    summary["budgets"] = budgets.to_dict()
    summary["prune"] = prune
    summary["reduction"] = model.reduce
    replay = None
    if result.violation is not None:
        flags = "".join(f" --bug {b}" for b in bugs) + "".join(f" --set {s}" for s in sets)
        data = ex.counterexample(model, result.path, result.violation, f"{scenario}{flags} --strategy {strategy}",
                                 result.shortest)
        cex = scenario_from_dict(data, str(output or "<counterexample>"))
        verdict = simulate(cex, 0).verdict
        replay = next((v for v in verdict.violations if v.kind == result.violation[0]), None)
        summary["schedule"] = [_label_text(model, label) for label in result.path]
        summary["replayed"] = replay is not None
        summary["explanation"] = replay.explain() if replay is not None else None
        if output is not None:
            try:
                with open(output, "x", encoding="utf-8") as fh:  # "x": never overwrite, even a file made meanwhile
                    fh.write(ex.to_yaml(data))
            except FileExistsError:
                _bad_input(f"{output} exists: choose another -o, or remove it first")
            except OSError as exc:
                _bad_input(f"{output}: cannot write the counterexample: {exc.strerror or exc}")
            summary["counterexample"] = str(output)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        b = summary["budgets"]
        click.echo(f"explored:    {scenario} ({strategy}; budgets: loss {b['loss']}, duplicate {b['duplicate']}, "
                   f"crash {b['crash']}, restart {b['restart']}, timers {b['timers']}; "
                   f"symmetry {'on' if result.symmetry else 'off' if not b['symmetry'] else 'off: too many interchangeable nodes' if model.too_symmetric else 'asked for, but no two nodes are interchangeable'})")
        click.echo(f"states:      {result.visited} visited, {result.unique} unique, {result.transitions} transitions "
                   f"({result.pruned} pruned, {result.covered} covered), max depth {result.max_depth}")
        click.echo(f"speed:       {result.states_per_second:,.0f} unique states/s, {result.visited_per_second:,.0f} "
                   f"visited/s, {result.seconds:.2f} s, "
                   f"peak memory {result.peak_rss_mib:.0f} MiB")
        if result.violation is not None:
            kind, message = result.violation
            click.echo(f"violation:   {kind}: {message} after {len(result.path)} transitions"
                       + (" (a shortest schedule)" if result.shortest else ""))
            for k, line in enumerate(summary["schedule"], start=1):
                click.echo(f"  {k:>3}. {line}")
            if replay is not None:
                click.echo("explanation of the replayed run:")
                click.echo("\n".join("  " + line for line in replay.explain().splitlines()))
            else:
                click.echo("warning:     the scripted replay did not show this violation (an explorer bug)")
            if output is not None:
                click.echo(f"wrote:       {output}  (reproduce: paxsim run {output})")
        elif result.exhausted:
            click.echo("result:      exhausted: no schedule violates agreement, validity or integrity")
        elif result.bound == "interrupted":
            click.echo("result:      interrupted (Ctrl-C or SIGTERM) before the space was exhausted: no verdict")
        else:
            click.echo(f"result:      bound hit ({result.bound}) before the space was exhausted: no verdict")
    if result.violation is not None:
        sys.exit(EXIT_FAIL)
    if result.bound == "interrupted":
        sys.exit(130)  # as any command stopped by Ctrl-C, with what it searched reported above
    sys.exit(EXIT_OK if result.exhausted else EXIT_BOUND)


def _explore_ignores(sc) -> list[tuple[str, str]]:
    """The scenario's keys that `paxsim explore` does not model and that
    would change a simulated run: (key, why), for a note each."""
    out = []
    if sc.script is not None and (sc.script.messages or sc.script.timers):  # an empty one changes nothing
        out.append(("script", "the search chooses every message's fate and every timer firing itself"))
    if sc.clocks is not None and sc.clocks.skews:
        out.append(("clocks", "the explorer has no time: a node's clock cannot skew what it searches"))
    if sc.write_latency:
        out.append(("protocol.write_latency", "writes to storage are instantaneous in the search, so a bug "
                    "that needs a slow write (persist-after-reply) cannot show"))
    return out


def _label_text(model, label: tuple) -> str:
    names = model.names
    kind = label[0]
    if kind in ("deliver", "lose", "duplicate"):
        src, dst, msg = names[label[1]], names[label[2]], label[3]
        fields = ", ".join(f"{k}={v}" for k, v in msg.to_json().items() if k != "type")
        verb = {"deliver": "deliver", "lose": "lose", "duplicate": "duplicate"}[kind]
        return f"{verb} {msg.type}({fields}) {src} -> {dst}"
    if kind == "timer":
        return f"timer {label[2]} fires at {names[label[1]]}"
    if kind == "propose":
        return f"{names[label[1]]} proposes {model.proposal[label[1]]!r}"
    return f"{kind} {names[label[1]]}"


def run_main() -> None:
    """Console entry point: Ctrl-C ends with status 130 and one line, not a traceback."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    gc.freeze()  # what importing this module made lives until exit: see _importing
    try:
        code = main.main(standalone_mode=False)
    except click.exceptions.Abort:  # click turns KeyboardInterrupt into Abort
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    finally:
        # The interpreter's last collection, at exit, would walk every object
        # left (each run thaws what start-up froze) and free nothing that
        # exit does not free anyway: 10 to 20 ms of a command's time here.
        gc.freeze()
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    run_main()
