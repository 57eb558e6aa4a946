"""The `paxsim` command line: thin glue over the library.

Exit status: 0 all good; 1 a safety violation or an unmet `expect`;
2 bad input or usage (one line on stderr, never a traceback).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ._version import __version__
from .check import check as check_trace
from .check import evaluate_expect
from .report import reproduce_command, summary_json, summary_text
from .protocols.single import BUGS
from .scenario import (
    OverrideError,
    ScenarioError,
    load_scenario,
    load_variant,
    scenario_from_dict,
)
from .trace import TraceError, event_json, read_trace

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


def _bad_input(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(EXIT_BAD_INPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    2 bad input or usage.
    """


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=click.IntRange(min=0), help="Seed for this run (default: the scenario's seed).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run's trace (JSON Lines) to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write latency.png and timeline.png for this run into this directory.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set network.loss=0.1 (repeatable).")
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
def run(scenario: Path, seed: int | None, trace_path: Path | None, as_json: bool, plots_dir: Path | None,
        sets: tuple[str, ...], bugs: tuple[str, ...]) -> None:
    """Simulate SCENARIO once, check it and print a summary.

    \b
    Examples:
      paxsim run scenarios/partition.yaml
      paxsim run scenarios/partition.yaml --seed 1234
      paxsim run scenarios/lossy.yaml --trace run.jsonl --json
      paxsim run scenarios/partition.yaml --plots figures/
      paxsim run scenarios/lossy.yaml --seed 12 --set network.loss=0.3
      paxsim run scenarios/bugs/amnesia.yaml --bug amnesia

    The last line is the command that reproduces the run exactly.
    """
    from .sim import simulate

    try:
        sc = load_variant(scenario, sets, bugs)
    except (ScenarioError, OverrideError) as exc:
        _bad_input(str(exc))
    if trace_path is not None and not trace_path.parent.exists():
        _bad_input(f"{trace_path}: cannot write trace: directory {str(trace_path.parent)!r} does not exist")
    result = simulate(sc, seed)
    if trace_path is not None:
        try:
            result.write_trace(trace_path)
        except OSError as exc:
            _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")
    written = _write_run_plots(result.events, plots_dir) if plots_dir is not None else []
    verdict = result.verdict
    header = result.events[0]
    reproduce = reproduce_command(str(scenario), result.seed, sets, bugs)
    if as_json:
        click.echo(json.dumps(summary_json(header, verdict, reproduce), sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
        if trace_path is not None:
            click.echo(f"trace:     {trace_path}")
        for path in written:
            click.echo(f"plot:      {path}")
    unmet = evaluate_expect(verdict, header["scenario"]["expect"])
    sys.exit(EXIT_FAIL if (verdict.violations or unmet) else EXIT_OK)


def _write_run_plots(events: list[dict], directory: Path) -> list[Path]:
    from . import plot

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _bad_input(f"{directory}: cannot create plot directory: {exc.strerror or exc}")
    written = []
    name = (events[0].get("scenario") or {}).get("name") or "run"
    for kind, make in (("latency", lambda: plot.latency_figure([(name, events)])),
                       ("timeline", lambda: plot.timeline_figure(events))):
        try:
            written.append(plot.save(make(), directory / f"{kind}.png"))
        except plot.PlotError as exc:
            click.echo(f"note: no {kind} plot: {exc}", err=True)
        except OSError as exc:
            _bad_input(f"{directory / (kind + '.png')}: cannot write: {exc.strerror or exc}")
    return written


@main.command()
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
def check(trace: Path, as_json: bool) -> None:
    """Run the safety checker on a TRACE file (from any run or tool).

    \b
    Examples:
      paxsim run scenarios/partition.yaml --trace run.jsonl
      paxsim check run.jsonl
      paxsim check run.jsonl --json

    Exit status 1 if the trace shows a violation of agreement, validity or
    integrity, or misses its scenario's expect block.
    """
    try:
        events = read_trace(trace)
    except TraceError as exc:
        _bad_input(str(exc))
    try:
        verdict = check_trace(events)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        _bad_input(f"{trace}: not a well-formed paxsim trace ({type(exc).__name__}: {exc})")
    header = events[0]
    reproduce = f"paxsim replay {trace}"
    if as_json:
        click.echo(json.dumps(summary_json(header, verdict, reproduce), sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
    unmet = evaluate_expect(verdict, (header.get("scenario") or {}).get("expect") or {})
    sys.exit(EXIT_FAIL if (verdict.violations or unmet) else EXIT_OK)


@main.command()
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
def replay(trace: Path) -> None:
    """Rerun the scenario and seed in TRACE's header; compare byte for byte.

    \b
    Example:
      paxsim run scenarios/partition.yaml --seed 1234 --trace run.jsonl
      paxsim replay run.jsonl

    Exit status 0 if the new trace is byte-identical, 1 (with the first
    differing line) if not.
    """
    from .sim import simulate

    try:
        events = read_trace(trace)
    except TraceError as exc:
        _bad_input(str(exc))
    header = events[0]
    if "seed" not in header or "scenario" not in header:
        _bad_input(f"{trace}:1: header: missing 'seed' or 'scenario'")
    try:
        sc = scenario_from_dict(header["scenario"], source=f"{trace}:1: header.scenario")
    except ScenarioError as exc:
        _bad_input(str(exc))
    if header.get("paxsim") != __version__:
        click.echo(f"note: trace written by paxsim {header.get('paxsim')}, replaying with {__version__}", err=True)
    new = simulate(sc, header["seed"])
    old_lines = trace.read_text(encoding="utf-8").splitlines()
    for number, ev in enumerate(new.events, 1):
        line = event_json(ev)
        if number > len(old_lines) or old_lines[number - 1] != line:
            old = old_lines[number - 1] if number <= len(old_lines) else "<end of file>"
            click.echo(f"DIFFERENT at line {number}:\n  trace:  {old}\n  replay: {line}")
            sys.exit(EXIT_FAIL)
    if len(old_lines) > len(new.events):
        click.echo(f"DIFFERENT at line {len(new.events) + 1}: the trace has {len(old_lines) - len(new.events)} more line(s)")
        sys.exit(EXIT_FAIL)
    click.echo(f"identical: {len(old_lines)} lines, seed {header['seed']} (paxsim {__version__})")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seeds", default="0:1000", show_default=True,
              help="Seeds: A:B (A up to B-1), N, or a comma list of those.")
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2,...",
              help="Sweep a scenario value over a list (repeatable: the grid of all combinations).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: the number of CPUs].")
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run on this Dask cluster instead (needs paxsim[dask]).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Results file, one JSON line a run [default: SCENARIO-sweep.jsonl here].")
@click.option("--resume", is_flag=True, help="Continue the results file, skipping runs already in it.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar [default: when stderr is a terminal].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def sweep(scenario: Path, seeds: str, sets: tuple[str, ...], bugs: tuple[str, ...], jobs: int | None,
          scheduler: str | None,
          output: Path | None, resume: bool, progress: bool | None, as_json: bool) -> None:
    """Run SCENARIO over many seeds (and a grid of --set values) in parallel.

    \b
    Examples:
      paxsim sweep scenarios/lossy.yaml --seeds 0:2000 --set network.loss=0,0.1,0.3
      paxsim sweep scenarios/duel.yaml --seeds 0:10000 -j 2 -o duel.jsonl
      paxsim sweep scenarios/duel.yaml --seeds 0:10000 -o duel.jsonl --resume
      paxsim sweep scenarios/partition.yaml --scheduler tcp://10.0.0.5:8786

    Each run's result is appended to the results file as it finishes, so an
    interrupted sweep loses nothing: rerun with --resume. The trace of every
    violating run is saved in RESULTS.traces/. At the end, a table per
    parameter combination: decision time p50/p95/p99, messages per
    decision, share undecided, violations by kind with the command that
    reproduces the first.

    Exit status 1 if any run violated safety.
    """
    from . import sweep as sw

    try:
        plan = sw.plan_sweep(scenario, seeds, list(sets), list(bugs))
    except (ScenarioError, sw.SweepError) as exc:
        _bad_input(str(exc))
    output = output or Path(f"{scenario.stem}-sweep.jsonl")
    jobs = jobs or os.cpu_count() or 1
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    violations = [0]
    if show:
        from tqdm import tqdm

        bar = tqdm(total=plan.total, unit="run", desc=scenario.stem, dynamic_ncols=True, file=sys.stderr)

    def tick(rec: dict) -> None:
        if rec["outcome"] == "violation":
            violations[0] += 1
        if bar is not None:
            bar.update(1)
            if rec["outcome"] == "violation":
                bar.set_postfix(violations=violations[0], refresh=False)

    try:
        if bar is not None and resume and output.exists():
            _, done_runs, _ = sw.read_results(output)
            bar.update(min(len(done_runs), plan.total))
        counts = sw.run_sweep(plan, output, jobs=jobs, scheduler=scheduler, resume=resume, on_result=tick)
    except sw.SweepError as exc:
        if bar is not None:
            bar.close()
        _bad_input(str(exc))
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        click.echo(f"interrupted: finished runs are in {output}; continue with the same command and --resume",
                   err=True)
        sys.exit(130)
    if bar is not None:
        bar.close()
    summary = sw.summarize(plan, output)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        click.echo(f"{plan.total} runs ({counts['ran']} now, {counts['skipped']} already in {output}), "
                   f"{len(plan.combos)} combination(s) x {len(plan.seeds)} seeds")
        click.echo(sw.format_summary(summary))
        click.echo(f"results:   {output}")
    sys.exit(EXIT_FAIL if summary["violating_runs"] else EXIT_OK)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=click.IntRange(min=0), required=True, help="The violating seed.")
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Deliberate protocol bug to switch on (repeatable).")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("minimal.yaml"),
              show_default=True, help="Where to write the minimal scenario.")
@click.option("--budget", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Most candidate runs to try.")
def shrink(scenario: Path, seed: int, bugs, sets, output: Path, budget: int) -> None:
    """Shrink a violating run to a minimal scenario file.

    Reruns SCENARIO at SEED, writes its random faults and every message and
    timer fate out explicitly, then removes proposers, faults, nodes,
    message fates and time while the same property still breaks. The file
    it writes reproduces the violation with 'paxsim run' on any seed.

    \b
    Examples:
      paxsim shrink scenarios/volatile.yaml --seed 3 -o minimal.yaml
      paxsim shrink scenarios/hunt/crashes.yaml --bug amnesia --seed 69 -o amnesia.yaml
      paxsim run minimal.yaml
    """
    from .shrink import ShrinkError, shrink as do_shrink, summarize_removed, to_yaml

    try:
        sc = load_variant(scenario, sets, bugs)
        result = do_shrink(sc, seed, budget=budget)
    except (ScenarioError, OverrideError, ShrinkError) as exc:
        _bad_input(str(exc))
    if not output.parent.exists():
        _bad_input(f"{output}: directory {str(output.parent)!r} does not exist")
    flags = "".join(f" --bug {b}" for b in bugs) + "".join(f" --set {s}" for s in sets)
    output.write_text(to_yaml(result, f"{scenario} --seed {seed}{flags}"), encoding="utf-8")
    click.echo(f"violates:  {result.property} ({result.runs} candidate runs)")
    click.echo(f"before:    {result.before}")
    click.echo(f"after:     {result.after}")
    click.echo("removed:   " + summarize_removed(result.removed))
    click.echo("explanation of the minimal run:")
    click.echo("\n".join("  " + line for line in result.explanation.splitlines()))
    click.echo(f"wrote:     {output}  (reproduce: paxsim run {output})")


@main.command()
@click.option("--profile", "profiles", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Fault profile scenario (repeatable) [default: scenarios/hunt/*.yaml].")
@click.option("--bug", "bugs", multiple=True, metavar="NAME[+NAME]",
              help="Bug (or combination, a+b) to hunt (repeatable) [default: all, and reused-ballot+prepare-ge].")
@click.option("--ranges", type=click.IntRange(min=1), default=20, show_default=True, help="Disjoint seed ranges.")
@click.option("--range-size", type=click.IntRange(min=1), default=10000, show_default=True, help="Seeds per range.")
@click.option("--correct-seeds", type=click.IntRange(min=0), default=100000, show_default=True,
              help="Seeds to run the correct protocol over, per profile.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes [default: CPUs].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the table here.")
@click.option("--write-bugs", type=click.Path(file_okay=False, path_type=Path),
              help="Write each bug's shrunk scenario into this directory (BUG.yaml).")
@click.option("--quick", is_flag=True, help="Tiny sizes, to see that it works.")
def hunt(profiles, bugs, ranges: int, range_size: int, correct_seeds: int, jobs, output, write_bugs,
         quick: bool) -> None:
    """Measure how fast sweeps catch each deliberate bug, and shrink each.

    For every bug and fault profile: seeds to the first violation over
    disjoint seed ranges (median, p95), the property that broke, the size of
    the shrunk scenario beside the hand-derived minimum; and the correct
    protocol's violations over many seeds per profile (there should be none).

    \b
    Examples:
      paxsim hunt -o hunt.md --write-bugs scenarios/bugs
      paxsim hunt --bug amnesia --profile scenarios/hunt/crashes.yaml --ranges 5
      paxsim hunt --quick
    """
    from . import hunt as h

    bug_list = list(bugs) or h.default_bugs()
    for b in bug_list:
        for name in b.split("+"):
            if name not in BUGS:
                _bad_input(f"--bug {b}: unknown bug {name!r} (see 'paxsim bugs')")
    if not profiles:
        root = Path(__file__).resolve().parent.parent / "scenarios" / "hunt"
        profiles = tuple(sorted(Path("scenarios/hunt").glob("*.yaml")) or sorted(root.glob("*.yaml")))
        if not profiles:
            _bad_input("no fault profiles: pass --profile FILE (the shipped ones are in scenarios/hunt/)")
    for p in profiles:
        try:
            load_scenario(p)
        except ScenarioError as exc:
            _bad_input(str(exc))
    if quick:
        ranges, range_size, correct_seeds = min(ranges, 2), min(range_size, 50), min(correct_seeds, 100)
    result = h.hunt(list(profiles), bug_list, ranges=ranges, size=range_size, correct_seeds=correct_seeds,
                    jobs=jobs or os.cpu_count() or 1, progress=lambda line: click.echo(line, err=True))
    table = h.format_table(result)
    click.echo(table)
    if output:
        output.write_text(table + "\n", encoding="utf-8")
    if write_bugs:
        write_bugs.mkdir(parents=True, exist_ok=True)
        for path in h.write_counterexamples(result, write_bugs):
            click.echo(f"wrote {path}", err=True)
    bad_control = [row for (b, _), row in result["rows"].items()
                   if set(b.split("+")) <= set(h.CONTROL_BUGS) and row.caught]
    dirty = sum(v for v, _ in result["correct"].values())
    sys.exit(EXIT_FAIL if (bad_control or dirty) else EXIT_OK)


@main.command("bugs")
def list_bugs() -> None:
    """List the deliberate protocol bugs that --bug and protocol.bugs switch on.

    \b
    Example:
      paxsim bugs
      paxsim sweep scenarios/hunt-crashes.yaml --bug amnesia --seeds 0:2000
    """
    width = max(map(len, BUGS))
    for name, text in BUGS.items():
        click.echo(f"{name.ljust(width)}  {text}")


class Duration(click.ParamType):
    """A time such as 50ms, 1.5s, 100us or a number of milliseconds."""

    name = "TIME"

    def convert(self, value, param, ctx):
        from .scenario import duration_ms

        if isinstance(value, (int, float)):
            return float(value)
        try:
            return duration_ms(value.strip())
        except ValueError:
            self.fail(f"{value!r} is not a time (use e.g. 250, 250ms, 1.5s)", param, ctx)


def _load_traces(paths) -> list[tuple[str, list[dict]]]:
    out = []
    stems = [p.stem for p in paths]
    for p in paths:
        try:
            events = read_trace(p)
        except TraceError as exc:
            _bad_input(str(exc))
        out.append((p.stem if stems.count(p.stem) == 1 else str(p), events))
    return out


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
    """


@plot.command("latency")
@click.argument("traces", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("latency.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
@click.option("--by", type=click.Choice(["type", "link"]), default="type", show_default=True,
              help="One panel per message type or per link.")
@click.option("--log", is_flag=True, help="Log-scale latency axis, for long tails.")
def plot_latency(traces, output: Path, by: str, log: bool) -> None:
    """Message-latency histograms (delivery time minus send time).

    One panel per message type (or link), p50/p95/p99 marked, and the
    configured latency distribution drawn over the observed one. Several
    traces overlay in one figure with a legend. Local deliveries (a node to
    itself) are left out.

    \b
    Examples:
      paxsim plot latency run.jsonl
      paxsim plot latency lossy.jsonl duplicates.jsonl --log -o tails.svg
      paxsim plot latency run.jsonl --by link
    """
    from . import plot as plot_mod

    loaded = _load_traces(traces)
    _save_figure(lambda: plot_mod.latency_figure(loaded, by=by, log=log), output, ", ".join(map(str, traces)))


@plot.command("timeline")
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("timeline.png"),
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

    \b
    Examples:
      paxsim plot timeline run.jsonl
      paxsim plot timeline run.jsonl --from 20ms --to 120ms --nodes n1,n3,n4
    """
    from . import plot as plot_mod

    (_, events), = _load_traces([trace])
    node_list = [n.strip() for n in nodes.split(",") if n.strip()] if nodes else None
    _save_figure(lambda: plot_mod.timeline_figure(events, t_from, t_to, node_list, max_messages), output, str(trace))


@plot.command("decisions")
@click.argument("traces", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("decisions.png"),
              show_default=True, help="Figure file; .png, .svg or .pdf.")
def plot_decisions(traces, output: Path) -> None:
    """When each learner learned, and the CDF of time to decision.

    \b
    Examples:
      paxsim plot decisions run.jsonl
      paxsim plot decisions seeds/*.jsonl -o decisions.pdf
    """
    from . import plot as plot_mod

    loaded = _load_traces(traces)
    _save_figure(lambda: plot_mod.decisions_figure(loaded), output, ", ".join(map(str, traces)))


EXIT_BOUND = 3


@main.command("explore")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bug", "bugs", multiple=True, type=click.Choice(list(BUGS)), metavar="NAME",
              help="Switch on a deliberate protocol bug (repeatable); see 'paxsim bugs'.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set explore.loss=2 (repeatable).")
@click.option("--strategy", type=click.Choice(["bfs", "dfs", "random"]), default="bfs", show_default=True,
              help="bfs finds a shortest counterexample; dfs and random reach deep states sooner.")
@click.option("--max-depth", type=click.IntRange(min=0), help="Expand no state deeper than this many transitions.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many unique states.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), metavar="S",
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
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a counterexample here as a scripted scenario.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr [default: when a terminal].")
def explore_cmd(scenario: Path, bugs, sets, strategy: str, max_depth, max_states, time_limit, seed: int,
                loss, duplicate, crash, restart, timers, symmetry, prune: bool, output: Path | None, as_json: bool,
                progress) -> None:
    """Search every schedule of a small SCENARIO for a safety violation.

    States are every node's role state and storage, the messages in flight
    (a multiset), which nodes are up, the armed timers and the fault budgets
    left (the scenario's explore: section, or the flags). A transition
    delivers, loses or duplicates a message, fires a timer, crashes or
    restarts a node, or starts a proposal; time is abstracted away. Every
    state is checked for agreement, validity and integrity. A counterexample
    is written as a scripted scenario that 'paxsim run' replays on any seed.

    \b
    Examples:
      paxsim explore scenarios/explore/three-nodes.yaml
      paxsim explore scenarios/explore/three-nodes.yaml --bug accept-keeps-promise -o cex.yaml
      paxsim run cex.yaml
      paxsim explore scenarios/explore/two-nodes.yaml --loss 1 --json
      paxsim explore scenarios/duel.yaml --strategy dfs --max-depth 30 --time-limit 60

    Exit status: 0 exhausted with no violation, 1 a violation, 2 bad input,
    3 a bound (--max-depth, --max-states, --time-limit) stopped it first.
    """
    from dataclasses import replace as dc_replace

    from . import explore as ex
    from .scenario import Explore
    from .sim import simulate

    try:
        sc = load_variant(scenario, sets, bugs)
    except (ScenarioError, OverrideError) as exc:
        _bad_input(str(exc))
    budgets = sc.explore or Explore()
    changes = {k: v for k, v in (("loss", loss), ("duplicate", duplicate), ("crash", crash),
                                 ("restart", restart), ("timers", timers), ("symmetry", symmetry)) if v is not None}
    budgets = dc_replace(budgets, **changes)
    if output is not None and not output.parent.exists():
        _bad_input(f"{output}: directory {str(output.parent)!r} does not exist")
    if strategy == "random" and max_states is None and time_limit is None:
        time_limit = 10.0
    model = ex.model_for(sc, budgets, prune=prune)
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
    replay = None
    if result.violation is not None:
        flags = "".join(f" --bug {b}" for b in bugs) + "".join(f" --set {s}" for s in sets)
        data = ex.counterexample(model, result.path, result.violation, f"{scenario}{flags} --strategy {strategy}")
        cex = scenario_from_dict(data, str(output or "<counterexample>"))
        verdict = simulate(cex, 0).verdict
        replay = next((v for v in verdict.violations if v.kind == result.violation[0]), None)
        summary["schedule"] = [_label_text(model, label) for label in result.path]
        summary["replayed"] = replay is not None
        summary["explanation"] = replay.explain() if replay is not None else None
        if output is not None:
            output.write_text(ex.to_yaml(data), encoding="utf-8")
            summary["counterexample"] = str(output)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        b = summary["budgets"]
        click.echo(f"explored:    {scenario} ({strategy}; budgets: loss {b['loss']}, duplicate {b['duplicate']}, "
                   f"crash {b['crash']}, restart {b['restart']}, timers {b['timers']}; "
                   f"symmetry {'on' if result.symmetry else 'off'})")
        click.echo(f"states:      {result.visited} visited, {result.unique} unique, {result.transitions} transitions "
                   f"({result.pruned} pruned), max depth {result.max_depth}")
        click.echo(f"speed:       {result.states_per_second:,.0f} states/s, {result.seconds:.2f} s, "
                   f"peak memory {result.peak_rss_mib:.0f} MiB")
        if result.violation is not None:
            kind, message = result.violation
            click.echo(f"violation:   {kind}: {message} after {len(result.path)} transitions"
                       + (" (a shortest schedule)" if strategy == "bfs" else ""))
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
        else:
            click.echo(f"result:      bound hit ({result.bound}) before the space was exhausted: no verdict")
    if result.violation is not None:
        sys.exit(EXIT_FAIL)
    sys.exit(EXIT_OK if result.exhausted else EXIT_BOUND)


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
    try:
        code = main.main(standalone_mode=False)
    except click.exceptions.Abort:  # click turns KeyboardInterrupt into Abort
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    run_main()
