"""The command line as users meet it: output, JSON, traces and exit codes."""

import json
import subprocess
import sys
import re

import pytest

from paxsim import __version__, load_scenario
from paxsim.cli import main
from paxsim.trace import read_trace

from .conftest import ROOT

PARTITION = str(ROOT / "scenarios" / "partition.yaml")
VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")


def test_run_prints_summary_verdict_and_reproduce_line(runner):
    result = runner.invoke(main, ["run", PARTITION])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("partition (seed 7): 5 nodes, 2 proposers, 2000 ms simulated")
    text = result.stdout
    assert "chosen:    'banana' at ballot (1, n4)" in text
    assert "learned:   n1 " in text and "n5 " in text
    assert "verdict:   OK: every learner agrees on 'banana'" in text
    assert "expect:    met" in text
    assert out[-1] == f"reproduce: paxsim run {PARTITION} --seed 7"


def test_messages_line_adds_up(runner):
    data = json.loads(runner.invoke(main, ["run", PARTITION, "--json"]).stdout)
    m = data["messages"]
    assert m["sent"] + m["duplicated"] == m["delivered"] + sum(m["dropped"].values())


def test_run_and_check_of_its_trace_print_the_same_messages_line(runner, tmp_path):
    # A run knows its drop reasons in the simulator's order, a trace file in sorted keys:
    # the summary must not depend on which it read (loss and a cut: the orders differ).
    trace = tmp_path / "t.jsonl"
    ran = runner.invoke(main, ["run", str(ROOT / "scenarios" / "one-way-cut.yaml"), "--set", "network.loss=0.2",
                               "--trace", str(trace)])
    checked = runner.invoke(main, ["check", str(trace)])
    line = [x for x in ran.stdout.splitlines() if x.startswith("messages:")]
    assert line == [x for x in checked.stdout.splitlines() if x.startswith("messages:")]
    assert "(loss " in line[0] and ", cut " in line[0]


def test_seed_option_changes_the_run_and_the_reproduce_line(runner):
    a = runner.invoke(main, ["run", PARTITION, "--seed", "1234"])
    assert a.stdout.splitlines()[-1] == f"reproduce: paxsim run {PARTITION} --seed 1234"
    assert "(seed 1234)" in a.stdout
    assert a.stdout != runner.invoke(main, ["run", PARTITION]).stdout


def test_json_output(runner):
    result = runner.invoke(main, ["run", PARTITION, "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["value"] == "banana" and data["decided"] is True and data["seed"] == 7
    assert data["verdict"]["ok"] is True and data["expect"] == {"met": True, "unmet": []}
    assert data["reproduce"] == f"paxsim run {PARTITION} --seed 7"
    assert set(data["verdict"]["decisions"]) == {"n1", "n2", "n3", "n4", "n5"}


def test_trace_file_contract(runner, tmp_path):
    t = tmp_path / "run.jsonl"
    result = runner.invoke(main, ["run", PARTITION, "--trace", str(t)])
    assert result.exit_code == 0 and f"trace:     {t}" in result.stdout
    lines = t.read_text().splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["kind"] == "header" and header["format"] == 1 and header["seed"] == 7
    assert header["paxsim"] == __version__ and header["scenario"]["nodes"] == ["n1", "n2", "n3", "n4", "n5"]
    assert end["kind"] == "end" and end["t"] == 2000.0
    for line in lines:  # keys sorted, compact separators
        assert line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"))
    kinds = {json.loads(line)["kind"] for line in lines}
    assert {"send", "deliver", "drop", "duplicate", "partition", "heal", "crash", "restart", "cut", "uncut",
            "promise", "vote", "propose", "decide"} <= kinds
    send = next(json.loads(line) for line in lines if '"kind":"send"' in line)
    assert set(send) == {"seq", "t", "kind", "id", "src", "dst", "msg"}
    assert send["msg"] == {"type": "prepare", "ballot": [1, "n1"]}
    assert len(read_trace(t)) == len(lines)


def test_violation_exits_1_and_explains(runner, tmp_path):
    t = tmp_path / "bad.jsonl"
    seed = load_scenario(VOLATILE).seed  # the shipped broken file violates at its own seed
    result = runner.invoke(main, ["run", VOLATILE, "--trace", str(t)])
    assert result.exit_code == 1
    assert "verdict:   VIOLATION" in result.stdout
    assert "agreement: two values chosen" in result.stdout
    assert "lost its vote" in result.stdout
    assert result.stdout.splitlines()[-2] == f"reproduce: paxsim run {VOLATILE} --seed {seed}"
    # the checker on the written trace says the same, and so does its JSON
    checked = runner.invoke(main, ["check", str(t)])
    assert checked.exit_code == 1 and "agreement: two values chosen" in checked.stdout
    assert checked.stdout.splitlines()[-1] == f"reproduce: paxsim replay {t}"
    data = json.loads(runner.invoke(main, ["check", str(t), "--json"]).stdout)
    assert data["verdict"]["ok"] is False and data["verdict"]["violations"][0]["kind"] == "agreement"


def test_unmet_expect_exits_1(runner, write):
    f = write("""
nodes: 3
duration: 100ms
proposers: [{node: n1, value: a}]
faults:
  - {at: 0ms, crash: n2}
  - {at: 0ms, crash: n3}
expect: {decided: true}
""")
    result = runner.invoke(main, ["run", str(f)])
    assert result.exit_code == 1
    assert "verdict:   OK (safe); undecided: no learner learned a value" in result.stdout
    assert "expect:    NOT MET" in result.stdout and "nobody decided" in result.stdout


def test_check_good_trace(runner, tmp_path):
    t = tmp_path / "ok.jsonl"
    runner.invoke(main, ["run", PARTITION, "--trace", str(t)])
    result = runner.invoke(main, ["check", str(t)])
    assert result.exit_code == 0 and "verdict:   OK" in result.stdout


def test_check_rejects_malformed_events(runner, tmp_path):
    t = tmp_path / "weird.jsonl"
    t.write_text('{"kind":"header","format":1,"scenario":{"nodes":["n1"],"proposers":[]}}\n{"kind":"vote","seq":0}\n')
    result = runner.invoke(main, ["check", str(t)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{t}:2: t: missing (required in a 'vote' event)")


@pytest.mark.parametrize("command", [[], ["run"], ["check"], ["replay"], ["sweep"], ["shrink"], ["hunt"], ["bugs"],
                                     ["plot"], ["plot", "latency"], ["plot", "timeline"], ["plot", "decisions"]])
def test_help_has_examples(runner, command):
    result = runner.invoke(main, command + ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and "paxsim " in result.stdout


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_console_script_runs_the_readme_command():
    import shutil

    exe = shutil.which("paxsim")
    if exe is None:
        pytest.skip("paxsim is not installed as a console script here")
    proc = subprocess.run([exe, "run", "scenarios/partition.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "verdict:   OK" in proc.stdout


def test_ctrl_c_exits_130_without_traceback(monkeypatch, capsys):
    import paxsim.sim
    from paxsim.cli import run_main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(paxsim.sim, "simulate", interrupted)
    monkeypatch.setattr("sys.argv", ["paxsim", "run", PARTITION])
    with pytest.raises(SystemExit) as exc:
        run_main()
    assert exc.value.code == 130
    assert capsys.readouterr().err.strip().endswith("interrupted")


_BLOCKED_IMPORT = r"""
import importlib.abc, sys, time

class Slow(importlib.abc.MetaPathFinder):  # the command line's import, stretched until the test presses Ctrl-C
    def find_spec(self, name, path, target=None):
        if name == "paxsim.cli":
            print("importing", flush=True)
            time.sleep(60)
        return None

sys.meta_path.insert(0, Slow())
sys.argv = ["paxsim", "run", "scenarios/partition.yaml"]
from paxsim.entry import main
main()
"""


def test_ctrl_c_while_the_command_line_imports_exits_130_without_traceback():
    """A real SIGINT while `paxsim` is still importing its command line (the
    first tenth of a second of every command) ends it as Ctrl-C does later:
    `interrupted`, status 130, no traceback."""
    import signal

    proc = subprocess.Popen([sys.executable, "-c", _BLOCKED_IMPORT], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "importing\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err == "interrupted\n"
    assert out == ""


def test_the_console_script_is_the_guarded_entry_point():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"paxsim": "paxsim.entry:main"}
    proc = subprocess.run([sys.executable, "-m", "paxsim", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("paxsim, version "), proc.stderr


@pytest.mark.parametrize("argv,code", [
    (["paxsim", "--version"], 0),
    (["paxsim", "run", PARTITION], 0),
    (["paxsim", "run", VOLATILE], 1),
    (["paxsim", "run", "--bogus"], 2),
    (["paxsim", "run", "/nonexistent.yaml"], 2),
])
def test_entry_point_exit_codes(monkeypatch, capsys, argv, code):
    from paxsim.cli import run_main

    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exc:
        run_main()
    assert exc.value.code == code


def test_large_cluster_summary_counts_instead_of_listing(runner):
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "large.yaml")])
    assert result.exit_code == 0
    assert "(votes from 26 acceptors)" in result.stdout
    learned = next(line for line in result.stdout.splitlines() if line.startswith("learned:"))
    assert learned.startswith("learned:   51/51 nodes, first ") and len(learned) < 120



def test_summary_and_timeline_count_messages_the_same_way(runner, tmp_path):
    from paxsim import plot

    t = tmp_path / "p.jsonl"
    result = runner.invoke(main, ["run", PARTITION, "--trace", str(t)])
    line = next(x for x in result.stdout.splitlines() if x.startswith("messages:"))
    assert line.endswith("(counting a node's messages to itself)")
    delivered = json.loads(runner.invoke(main, ["run", PARTITION, "--json"]).stdout)["messages"]["delivered"]
    title = plot.timeline_figure(read_trace(t)).axes[0].get_title()
    import re

    m = re.search(r"messages between nodes \((\d+) delivered, (\d+) lost; (\d+) from a node to itself not drawn\)",
                  title)
    assert m, title
    between, to_self = int(m.group(1)), int(m.group(3))
    assert to_self > 0 and between + to_self == delivered


def test_durations_with_a_space_mean_the_same_everywhere(runner, tmp_path, write):
    spaced = write("nodes: 3\nproposers: [{node: n1, value: a}]\n"
                   "network: {latency: {dist: lognormal, median: \"5 ms\", sigma: 0.5}}\n"
                   "faults: [{at: \"2 ms\", crash: n3}]\n", "spaced.yaml")
    plain = write("nodes: 3\nproposers: [{node: n1, value: a}]\n"
                  "network: {latency: {dist: lognormal, median: 5ms, sigma: 0.5}}\n"
                  "faults: [{at: 2ms, crash: n3}]\n", "plain.yaml")
    assert load_scenario(spaced).to_dict() == {**load_scenario(plain).to_dict(), "name": "spaced"}
    assert load_scenario(spaced).network.latency.param("median") == 5.0
    t = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["run", str(plain), "--set", "faults[0].at=5 ms", "--trace", str(t)])
    assert result.exit_code == 0, result.output
    assert read_trace(t)[0]["scenario"]["faults"][0]["at"] == 5.0
    out = tmp_path / "x.png"
    assert runner.invoke(main, ["plot", "timeline", str(t), "--from", "1 ms", "-o", str(out)]).exit_code == 0
    # any other unit is refused, with one line
    result = runner.invoke(main, ["run", str(plain), "--set", "faults[0].at=5 minutes"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "faults[0].at" in result.stderr


def test_a_very_large_scenario_is_announced_before_it_runs(runner, write, monkeypatch):
    import paxsim.sim

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(paxsim.sim, "simulate", stop)
    big = write("nodes: 10000\nproposers: [{node: n1, value: a}]\n")
    result = runner.invoke(main, ["run", str(big)])
    assert isinstance(result.exception, Stop)  # the note came before the run started
    assert result.stderr.startswith("note: 10,000 nodes:") and result.stderr.count("\n") == 1
    small = write("nodes: 3\nproposers: [{node: n1, value: a}]\n", "small.yaml")
    result = runner.invoke(main, ["run", str(small)])
    assert isinstance(result.exception, Stop) and result.stderr == ""


def _all_commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_every_path_in_the_help_exists(runner):
    """Examples a user copies must name files the checkout has."""
    import re

    named = []
    for argv in [()] + [p for p, _ in _all_commands(main)]:
        text = runner.invoke(main, [*argv, "--help"]).stdout
        named += [(argv, p.rstrip(".,")) for p in re.findall(r"\b(?:scenarios|docs|benchmarks|notebooks)/[\w./*-]*", text)]
    assert named  # the help does show shipped files
    for argv, path in named:
        matches = list(ROOT.glob(path)) if "*" in path else [ROOT / path] if (ROOT / path).exists() else []
        assert matches, f"'paxsim {' '.join(argv)} --help' names {path}, which does not exist"


def _readme_section(start: str, end: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index(start):text.index(end)]


def test_readme_picture_commands_are_what_make_images_runs():
    section = _readme_section("## Looking at a run", "**Notebooks**")
    shown = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        shown += [line.strip() for line in block.splitlines() if line.strip()]
    script = []
    for line in (ROOT / "docs" / "make-images.sh").read_text().splitlines():
        line = line.strip()
        if line.startswith('# "See and compare runs"'):
            break  # the next section's picture (tests/test_view.py checks it against its README section)
        if re.match(r"(paxsim|for|done)\b", line):
            script.append(line)  # verbatim: the script runs them in a scratch directory, then copies the pictures
    assert shown == script
    # and the pictures those commands write are the ones the README shows, copied into docs/img
    pictures = re.findall(r"\]\(docs/img/(\w+\.png)\)", section)
    assert sorted(re.findall(r"-o (\w+\.png)", "\n".join(shown))) == sorted(pictures)
    copy = next(line for line in (ROOT / "docs" / "make-images.sh").read_text().splitlines() if line.startswith("cp "))
    assert copy == "cp " + " ".join(f'"$work/{p}"' for p in pictures) + " docs/img/"


def test_readme_analysis_snippet_runs(runner, tmp_path, monkeypatch):
    section = _readme_section("## Looking at a run", "## Sweeps")
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert runner.invoke(main, ["run", PARTITION, "--trace", str(tmp_path / "run.jsonl")]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})



def test_hunt_shows_progress_and_says_when_the_correct_pass_was_not_run(runner):
    argv = ["hunt", "--bug", "prepare-ge", "--profile", str(ROOT / "scenarios" / "happy.yaml"), "--ranges", "1",
            "--range-size", "5", "-j", "1", "--progress"]
    result = runner.invoke(main, argv + ["--correct-seeds", "0"])
    assert result.exit_code == 0, result.output
    assert "0 violations in 0 seeds" not in result.stdout + result.stderr
    assert "| correct protocol | not run (--correct-seeds 0) |" in result.stdout
    assert "hunt: 100%" in result.stderr  # the bar reached its end
    result = runner.invoke(main, argv + ["--correct-seeds", "10"])
    assert result.exit_code == 0, result.output
    assert "| correct protocol | 0 violations in 10 seeds |" in result.stdout


def test_shrink_counts_scripted_fates_the_same_before_and_after(runner, tmp_path):
    out = tmp_path / "minimal.yaml"
    result = runner.invoke(main, ["shrink", VOLATILE, "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = {line.split(":", 1)[0]: line for line in result.stdout.splitlines()}

    def count(line, what):
        m = re.search(rf"(\d+) {what}", line)
        return int(m.group(1)) if m else 0

    for what in ("scripted message fates", "scripted timer"):
        before, after = count(lines["before"], what), count(lines["after"], what)
        assert before > 0, lines["before"]
        assert before - count(lines["removed"], what) == after, (what, lines)


def test_hunt_profiles_ship_in_the_wheel(tmp_path):
    """`pip install .` must install every scenarios/hunt/*.yaml where `paxsim hunt` looks for it."""
    import shutil
    import zipfile

    src = tmp_path / "src"
    shutil.copytree(ROOT / "paxsim", src / "paxsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scenarios" / "hunt", src / "scenarios" / "hunt")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and ("No matching distribution" in proc.stderr or "Could not find" in proc.stderr):
        pytest.skip("cannot get the build backend here: " + proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr
    wheel, = tmp_path.glob("paxsim-*.whl")
    profiles = sorted(p.name for p in (ROOT / "scenarios" / "hunt").glob("*.yaml"))
    assert profiles
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("paxsim/hunt_profiles/")) == profiles
    # every module and data file of the source tree is in the wheel (a package missing from
    # pyproject's list would work in a checkout and fail after `pip install .`)
    shipped = {f.relative_to(ROOT).as_posix() for f in (ROOT / "paxsim").rglob("*")
               if f.is_file() and "__pycache__" not in f.parts and f.suffix in (".py", ".json", ".html", ".css", ".js")}
    assert shipped and not shipped - set(names), sorted(shipped - set(names))
    # installed (a pure wheel unpacked onto the path), away from any checkout, hunt finds them
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = "from paxsim.hunt import default_profiles; print('\\n'.join(str(p) for p in default_profiles()))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    found = proc.stdout.split()
    assert [p.rsplit("/", 1)[1] for p in found] == profiles
    assert all(p.startswith(str(site / "paxsim" / "hunt_profiles")) for p in found), found


def test_one_proposer_and_one_node_are_singular_and_a_float_value_is_refused(runner, write):
    one = write("nodes: 1\nproposers:\n  - {node: n1, value: apple}\n", "one.yaml")
    result = runner.invoke(main, ["run", str(one)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "one (seed 0): 1 node, 1 proposer, 2000 ms simulated"
    # JSON Schema counts 1.0 as an integer, and the trace kept the float
    bad = write("nodes: 3\nproposers:\n  - {node: n1, value: 1.0}\n", "float.yaml")
    result = runner.invoke(main, ["run", str(bad)])
    assert result.exit_code == 2 and result.stderr == (
        f"{bad}:3: proposers[0].value: expected a string or an integer, found a number 1.0\n")


def test_an_unmet_within_on_a_wall_clock_trace_says_the_time_is_real(runner, tmp_path):
    """A cluster run's times are real: an unmet `within` there says so (a
    busy machine can miss a bound the simulator meets); a simulated run's
    unmet `within` does not."""
    sim = tmp_path / "sim.jsonl"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "happy.yaml"), "--set", "expect.within=1ms",
                                  "--trace", str(sim)])
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("  - within:"))
    assert "after the bound of 1 ms" in line and "wall-clock" not in line
    lines = sim.read_text().splitlines()
    header = json.loads(lines[0])
    header.update(runtime="http", clock="wall")
    real = tmp_path / "real.jsonl"
    real.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    for args in (["check", str(real)], ["check", str(real), "--json"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert "after the bound of 1 ms (wall-clock time: on real processes it includes their own time" in result.stdout
    result = runner.invoke(main, ["check", str(sim)])
    assert result.exit_code == 1 and "wall-clock" not in result.stdout


def _paxsim_stdin(args, data: bytes):
    """`python -m paxsim ARGS` reading /dev/stdin from a pipe (as `<(zcat ...)` gives)."""
    return subprocess.run([sys.executable, "-m", "paxsim", *args], input=data, capture_output=True, cwd=ROOT,
                          timeout=120)


def test_a_trace_from_a_pipe_is_judged_as_the_file_is(tmp_path, runner):
    """A pipe gives its content once; `check` reads a trace again to explain
    a violation, `replay` to compare it, and both saw an empty second
    reading: exit 2 "the trace is empty" for a violating run."""
    trace = tmp_path / "v.jsonl"
    assert runner.invoke(main, ["run", VOLATILE, "--trace", str(trace)]).exit_code == 1
    data = trace.read_bytes()
    on_disk = runner.invoke(main, ["check", str(trace)])
    piped = _paxsim_stdin(["check", "/dev/stdin"], data)
    assert piped.returncode == 1 == on_disk.exit_code, piped.stderr
    assert piped.stdout.decode() == on_disk.stdout.replace(str(trace), "/dev/stdin")
    assert "VIOLATION" in on_disk.stdout and "reproduce: paxsim replay /dev/stdin" in piped.stdout.decode()
    replayed = _paxsim_stdin(["replay", "/dev/stdin"], data)
    assert replayed.returncode == 0 and replayed.stdout.decode().startswith("identical: "), replayed.stdout
    # bad input from a pipe: one line naming what the user gave, not a temporary copy
    cut = data[:data.index(b"\n", 3000) - 20]
    bad = _paxsim_stdin(["check", "/dev/stdin"], cut)
    assert bad.returncode == 2
    line = bad.stderr.decode()
    assert line.count("\n") == 1 and line.startswith("/dev/stdin:") and "paxsim-pipe" not in line, line
    assert "column" in line and "the line ends early (a file cut short?)" in line, line
