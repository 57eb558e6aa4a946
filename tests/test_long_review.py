"""An adversarial user's checks of the long, many-run commands (sweep,
resume, shrink, hunt): what they keep when interrupted or killed, and that
what they print and save is true."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT

LARGE = str(ROOT / "scenarios" / "large.yaml")


def _env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _complete_lines(path):
    """Every line of a results file, each a complete JSON object (the file ends with a newline)."""
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_killed_worker_is_one_line_exit_130_and_resume_completes(tmp_path):
    # A worker killed outright (the out-of-memory killer, a stray kill -9) ended
    # `paxsim sweep -j 2` with a BrokenProcessPool traceback and exit status 1,
    # the status of a safety violation.
    out = tmp_path / "r.jsonl"
    args = [sys.executable, "-m", "paxsim", "sweep", LARGE, "--seeds", "0:400", "-j", "2", "-o", str(out),
            "--no-progress"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 12):
            time.sleep(0.02)
        workers = _children(proc.pid)
        assert workers, "no worker process to kill"
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "worker process" in err and "--resume" in err
    kept = [r["seed"] for r in _complete_lines(out)[1:]]
    assert len(kept) == len(set(kept)) and len(kept) < 400
    done = subprocess.run(args + ["--resume"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(r["seed"] for r in _complete_lines(out)[1:]) == list(range(400))  # each run once


VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")


def _sweep(tmp_path, *args, name="r.jsonl"):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "paxsim", "sweep", VOLATILE, "-j", "1", "-o", str(out),
                           "--no-progress", *args], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    return proc, out


def _paxsim(tmp_path, command):
    import shlex

    argv = shlex.split(command)
    assert argv[0] == "paxsim"
    return subprocess.run([sys.executable, "-m", "paxsim", *argv[1:]], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_reproduce_commands_keep_string_values_that_read_as_other_yaml(tmp_path):
    # A swept string value that YAML reads as something else was printed bare:
    # 'proposers[1].value=true' reproduced as a boolean (refused, exit 2), and
    # '=1' as the number 1, another run than the one that violated.
    proc, _ = _sweep(tmp_path, "--seeds", "0:8", "--set", 'proposers[1].value="true","1"')
    assert proc.returncode == 1, proc.stderr
    commands = [line.split("reproduce: ", 1)[1] for line in proc.stdout.splitlines() if "reproduce: " in line]
    assert len(commands) == 4  # agreement and integrity, in each of the two combinations
    for command, value in zip(commands, ["'true'", "'true'", "'1'", "'1'"]):
        again = _paxsim(tmp_path, command)
        assert again.returncode == 1, (command, again.stderr)
        assert f"and {value} at" in again.stdout or f"decided {value}" in again.stdout, (command, again.stdout)


def test_every_violating_run_keeps_its_own_trace_whatever_the_set_values(tmp_path):
    # A long --set value (a list of faults) made a trace file name longer than
    # the file system allows: the sweep died at its first violation with a
    # traceback.  Values that differ only in characters a file name cannot
    # hold ('x y' and 'x/y') shared one trace file, the second overwriting the first.
    faults = ("[{at: 0ms, cut: {from: n1, to: n3}}, {at: 13ms, crash: n2}, {at: 15ms, restart: n2}, "
              + ", ".join(f"{{at: {t}ms, cut: {{from: n2, to: n3}}}}, {{at: {t + 5}ms, uncut: {{from: n2, to: n3}}}}"
                          for t in range(900, 960, 10)) + "]")
    for args in (["--set", f"faults={faults}"], ["--set", "proposers[1].value=x y,x/y"]):
        proc, out = _sweep(tmp_path, "--seeds", "0:6", *args, name=f"r{len(args[1])}.jsonl")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        bad = [r for r in _complete_lines(out)[1:] if r["outcome"] == "violation"]
        traces = out.with_name(out.name + ".traces")
        assert bad and sorted(p.name for p in traces.iterdir()) == sorted(r["trace"] for r in bad)
        for r in bad:
            header = json.loads((traces / r["trace"]).open().readline())
            assert header["seed"] == r["seed"]
            if "proposers[1].value" in r["params"]:
                assert header["scenario"]["proposers"][1]["value"] == r["params"]["proposers[1].value"]


def test_a_resumed_sweep_writes_the_uninterrupted_file_line_for_line(tmp_path):
    # Ctrl-C with -j 2 writes the chunks finished ahead of the one still
    # running, out of order (a kill may leave half a line after them): the
    # resumed file held the right lines but in another order, so two runs of
    # the same command (one interrupted) gave different files.
    args = ["--seeds", "0:150", "--set", "protocol.storage=volatile,durable", "--json"]
    whole_proc, whole = _sweep(tmp_path, *args, name="whole.jsonl")
    assert whole_proc.returncode == 1, whole_proc.stderr
    lines = whole.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    # the header, a first stretch, a stretch finished ahead (a hole before it), half a line
    kept = lines[:40] + lines[90:170]
    cut.write_text("".join(kept) + lines[170][:30])
    (tmp_path / "cut.jsonl.traces").mkdir()
    for rec in map(json.loads, kept[1:]):  # the traces of the violating runs that finished
        if rec.get("trace"):
            name = rec["trace"]
            (tmp_path / "cut.jsonl.traces" / name).write_text((tmp_path / "whole.jsonl.traces" / name).read_text())
    done, _ = _sweep(tmp_path, *args, "--resume", name="cut.jsonl")
    assert done.returncode == 1, done.stderr
    assert cut.read_text() == whole.read_text()
    assert json.loads(done.stdout.replace("cut.jsonl", "R")) == json.loads(whole_proc.stdout.replace("whole.jsonl", "R"))
    assert sorted(os.listdir(tmp_path / "cut.jsonl.traces")) == sorted(os.listdir(tmp_path / "whole.jsonl.traces"))
    assert not [p for p in os.listdir(tmp_path) if p not in ("whole.jsonl", "cut.jsonl", "whole.jsonl.traces",
                                                             "cut.jsonl.traces")]


LOSSY = str(ROOT / "scenarios" / "lossy.yaml")


def test_the_summary_is_what_the_results_file_says(tmp_path):
    """Every number of the --json summary, recomputed from the results file
    with numpy; the undecided runs' classes are what `paxsim run` says of
    each; a grid where one cell violates exits 1, with --json too."""
    import numpy as np

    runs_of = {}
    summaries = []
    for name, scenario, args in [
        ("v.jsonl", VOLATILE, ["--set", "protocol.storage=durable,volatile"]),
        ("u.jsonl", LOSSY, ["--set", "network.loss=0.15,0.3", "--bug", "no-retry"]),
    ]:
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "paxsim", "sweep", scenario, "--seeds", "0:80", *args, "-j", "1",
                               "-o", str(out), "--no-progress", "--json"], cwd=tmp_path, env=_env(),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == (1 if name == "v.jsonl" else 0), proc.stderr
        summaries.append((json.loads(proc.stdout), args))
        runs_of[name] = _complete_lines(out)[1:]
    checked = {"expected": 0, "suspicious": 0}
    for (summary, args), runs in zip(summaries, runs_of.values()):
        assert summary["violating_runs"] == sum(r["outcome"] == "violation" for r in runs)
        for row in summary["combinations"]:
            rs = [r for r in runs if r["params"] == row["params"]]
            decided = [r for r in rs if r["outcome"] == "decided"]
            times = [r["decision_t"] for r in decided]
            assert row["runs"] == len(rs) == 80
            assert row["decided"] == len(decided) / 80
            assert row["undecided"] == sum(r["outcome"] == "undecided" for r in rs) / 80
            for q in (50, 95, 99):
                assert row[f"p{q}"] == (float(np.percentile(times, q)) if times else None)
            assert row["messages_per_decision"] == (np.mean([r["sent"] for r in decided]) if decided else None)
            kinds = sorted({k for r in rs for k in r["violations"]})
            assert [v["kind"] for v in row["violations"]] == kinds
            for v in row["violations"]:
                having = [r["seed"] for r in rs if v["kind"] in r["violations"]]
                assert (v["count"], v["first_seed"]) == (len(having), min(having))
            undecided = [r for r in rs if r["outcome"] == "undecided"]
            assert row["undecided_expected"] == sum(r["liveness"] == "expected" for r in undecided)
            assert row["undecided_suspicious"] == sum(r["liveness"] == "suspicious" for r in undecided)
            for r in undecided[:1]:  # what paxsim run says of that seed
                sets = [f"--set=network.loss={r['params']['network.loss']}", "--bug", "no-retry"]
                one = subprocess.run([sys.executable, "-m", "paxsim", "run", LOSSY, "--seed", str(r["seed"]), *sets,
                                      "--json"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
                assert json.loads(one.stdout)["liveness"]["class"] == r["liveness"]
                checked[r["liveness"]] += 1
    assert checked == {"expected": 1, "suspicious": 1}
    (volatile, _), _ = summaries
    assert [bool(row["violations"]) for row in volatile["combinations"]] == [False, True]


def test_resume_with_more_seeds_gives_the_larger_sweeps_file_and_refuses_another_bug(tmp_path):
    small, out = _sweep(tmp_path, "--seeds", "0:20", name="r.jsonl")
    whole, ref = _sweep(tmp_path, "--seeds", "0:40", name="whole.jsonl")
    more, _ = _sweep(tmp_path, "--seeds", "0:40", "--resume", name="r.jsonl")
    assert (small.returncode, whole.returncode, more.returncode) == (1, 1, 1), more.stderr
    assert "40 runs (20 now, 20 already in" in more.stdout
    assert out.read_text() == ref.read_text()
    bug, _ = _sweep(tmp_path, "--seeds", "0:40", "--resume", "--bug", "amnesia", name="r.jsonl")
    assert bug.returncode == 2 and bug.stderr.count("\n") == 1 and "--bug" in bug.stderr, bug.stderr
    assert out.read_text() == ref.read_text()


@pytest.mark.slow
def test_a_dask_cluster_running_another_paxsim_is_refused(tmp_path):
    # Workers whose paxsim differed from the command's (an older install on the
    # cluster) ran the runs and the results file silently differed from what
    # -j 1 writes for the same command (here: the trace file names).
    import shutil

    distributed = pytest.importorskip("distributed")
    other = tmp_path / "other"
    shutil.copytree(ROOT / "paxsim", other / "paxsim", ignore=shutil.ignore_patterns("__pycache__"))
    for lib in ROOT.glob("*__mypyc.*"):  # a compiled tree's shared runtime, beside the package (setup.py)
        shutil.copy2(lib, other)
    with open(other / "paxsim" / "sweep.py", "a") as fh:
        fh.write("\n# another paxsim\n")
    env = _env()
    env["PYTHONPATH"] = str(other)
    env["DASK_TEMPORARY_DIRECTORY"] = str(tmp_path)  # their scratch space, not /tmp's
    dask = [sys.executable, "-m", "distributed.cli"]
    started = []
    try:
        started.append(subprocess.Popen([*dask[:2], "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                         "--no-dashboard", "--scheduler-file", str(tmp_path / "s.json")],
                                        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (tmp_path / "s.json").exists():
            time.sleep(0.1)
        address = json.loads((tmp_path / "s.json").read_text())["address"]
        started.append(subprocess.Popen([*dask[:2], "distributed.cli.dask_worker", address, "--nthreads", "1",
                                         "--no-nanny", "--host", "127.0.0.1", "--no-dashboard"],
                                        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        out = tmp_path / "r.jsonl"
        proc = subprocess.run([sys.executable, "-m", "paxsim", "sweep", VOLATILE, "--seeds", "0:5",
                               "--scheduler", address, "-o", str(out), "--no-progress"], cwd=tmp_path, env=_env(),
                              capture_output=True, text=True, timeout=120)
    finally:
        for p in started:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=30)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "runs paxsim" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_new_sweep_does_not_write_over_an_earlier_sweeps_traces(tmp_path):
    # With the results file gone but its RESULTS.traces/ left, a new sweep
    # (another scenario, another --set) wrote its traces among the old ones,
    # overwriting those of the same name: the folder mixed two sweeps.
    first, out = _sweep(tmp_path, "--seeds", "0:10")
    assert first.returncode == 1
    traces = tmp_path / "r.jsonl.traces"
    before = {p.name: p.read_text() for p in traces.iterdir()}
    out.unlink()
    again, _ = _sweep(tmp_path, "--seeds", "0:10", "--bug", "amnesia")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "r.jsonl.traces" in again.stderr, again.stderr
    assert {p.name: p.read_text() for p in traces.iterdir()} == before and not out.exists()


def test_a_second_sweep_on_the_same_results_file_is_refused_while_the_first_runs(tmp_path):
    # Two sweeps resuming one results file at once (a second terminal, a
    # rerun while the first still ran) both appended: the file held runs
    # twice (546 lines for 300 seeds), and a later summary counted them twice.
    out = tmp_path / "r.jsonl"
    args = [sys.executable, "-m", "paxsim", "sweep", LARGE, "--seeds", "0:400", "-j", "1", "-o", str(out),
            "--no-progress", "--resume"]
    first = subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 5):
            time.sleep(0.02)
        second = subprocess.run(args, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
        _, err = first.communicate(timeout=120)
    finally:
        first.kill()
        first.wait(timeout=30)
    assert first.returncode == 0, err
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert "another paxsim sweep" in second.stderr
    assert [r["seed"] for r in _complete_lines(out)[1:]] == list(range(400))


def test_the_progress_bar_of_a_resume_over_other_seeds_counts_only_this_sweeps_runs(runner, tmp_path):
    # Resumed with other --seeds, the bar started from every run in the file
    # (10 of 10 before running anything) and ended at '20run' of a total of 10.
    from paxsim.cli import main

    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "-j", "1", "-o", str(out)]
    assert runner.invoke(main, [*args, "--seeds", "0:10", "--no-progress"]).exit_code == 0
    result = runner.invoke(main, [*args, "--seeds", "5:20", "--resume", "--progress"])
    assert result.exit_code == 0, result.output
    shown = result.stderr.replace("\r", "\n")
    # (a count of 20 runs, not a rate such as "1410.20run/s")
    assert "15/15" in shown and not re.search(r"(?<![\d.])20run", shown) and "20/15" not in shown, shown
