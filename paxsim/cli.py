"""The `paxsim` command line: thin glue over the library.

Exit status: 0 all good; 1 a safety violation or an unmet `expect`;
2 bad input or usage (one line on stderr, never a traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._version import __version__
from .check import check as check_trace
from .check import evaluate_expect
from .report import reproduce_command, summary_json, summary_text
from .scenario import ScenarioError, load_scenario, scenario_from_dict
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
def run(scenario: Path, seed: int | None, trace_path: Path | None, as_json: bool) -> None:
    """Simulate SCENARIO once, check it and print a summary.

    \b
    Examples:
      paxsim run scenarios/partition.yaml
      paxsim run scenarios/partition.yaml --seed 1234
      paxsim run scenarios/lossy.yaml --trace run.jsonl --json

    The last line is the command that reproduces the run exactly.
    """
    from .sim import simulate

    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        _bad_input(str(exc))
    if trace_path is not None and not trace_path.parent.exists():
        _bad_input(f"{trace_path}: cannot write trace: directory {str(trace_path.parent)!r} does not exist")
    result = simulate(sc, seed)
    if trace_path is not None:
        try:
            result.write_trace(trace_path)
        except OSError as exc:
            _bad_input(f"{trace_path}: cannot write trace: {exc.strerror or exc}")
    verdict = result.verdict
    header = result.events[0]
    reproduce = reproduce_command(str(scenario), result.seed)
    if as_json:
        click.echo(json.dumps(summary_json(header, verdict, reproduce), sort_keys=True))
    else:
        click.echo(summary_text(header, verdict, reproduce))
        if trace_path is not None:
            click.echo(f"trace:     {trace_path}")
    unmet = evaluate_expect(verdict, header["scenario"]["expect"])
    sys.exit(EXIT_FAIL if (verdict.violations or unmet) else EXIT_OK)


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
