"""Found by an adversarial review of the command line: each test is a case a
user met (a traceback, a wrong exit status, nonsense accepted, output lost),
checked through the real command line."""

from pathlib import Path

import pytest

from paxsim.cli import main

from .conftest import ROOT

OK = str(ROOT / "scenarios" / "happy.yaml")


def one_line_exit_2(result, *fragments):
    """The project's promise for bad input: exit 2, one line on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    err = result.stderr
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture
def file_as_dir(tmp_path):
    """A path whose parent is a regular file: no one can write there, root included."""
    f = tmp_path / "plain"
    f.write_text("x\n")
    return f / "out"


def test_sweep_unwritable_results_file(runner, file_as_dir):
    result = runner.invoke(main, ["sweep", OK, "--seeds", "0:3", "-j", "1", "-o", str(file_as_dir)])
    one_line_exit_2(result, str(file_as_dir), "cannot write")


COMPARE = ["compare", OK, "--seeds", "0:3", "-j", "1", "--variant", "base:", "--variant", "lossy:network.loss=0.1"]


def test_compare_unwritable_results_file(runner, file_as_dir):
    one_line_exit_2(runner.invoke(main, [*COMPARE, "-o", str(file_as_dir)]), str(file_as_dir), "cannot write")


def test_compare_never_overwrites_a_results_file(runner, tmp_path):
    kept = tmp_path / "results.jsonl"
    kept.write_text("a user's results\n")
    one_line_exit_2(runner.invoke(main, [*COMPARE, "-o", str(kept)]), str(kept), "exists")
    assert kept.read_text() == "a user's results\n"


def test_compare_unwritable_plot_still_prints_the_comparison(runner, file_as_dir):
    result = runner.invoke(main, [*COMPARE, "--plot", str(file_as_dir.with_suffix(".png"))])
    one_line_exit_2(result, str(file_as_dir.with_suffix(".png")), "cannot write")
    assert "lossy - base (paired" in result.stdout


HUNT = ["hunt", "--bug", "amnesia", "--profile", str(ROOT / "scenarios" / "hunt" / "crashes.yaml"), "--ranges", "1",
        "--range-size", "5", "--correct-seeds", "1", "-j", "1"]


def test_hunt_unwritable_table_is_refused_before_hunting(runner, file_as_dir):
    result = runner.invoke(main, [*HUNT, "-o", str(file_as_dir)])
    one_line_exit_2(result, str(file_as_dir), "cannot write")
    assert result.stdout == ""  # refused up front, not after hours of hunting


def test_hunt_uncreatable_bugs_directory_is_refused_before_hunting(runner, file_as_dir):
    result = runner.invoke(main, [*HUNT, "--write-bugs", str(file_as_dir / "bugs")])
    one_line_exit_2(result, str(file_as_dir / "bugs"), "cannot create")
    assert result.stdout == ""


def test_explore_unwritable_counterexample_is_refused_before_searching(runner, file_as_dir):
    result = runner.invoke(main, ["explore", str(ROOT / "scenarios" / "explore" / "three-nodes.yaml"),
                                  "--bug", "ignore-accepted", "-o", str(file_as_dir)])
    one_line_exit_2(result, str(file_as_dir), "cannot write")
    assert result.stdout == ""


def test_explore_refuses_a_multi_paxos_scenario(runner):
    # It used to search one state and report "exhausted: no schedule violates ...".
    kv = ROOT / "scenarios" / "kv.yaml"
    line = next(i for i, text in enumerate(kv.read_text().splitlines(), 1) if text.lstrip().startswith("kind:"))
    result = runner.invoke(main, ["explore", str(kv)])
    err = one_line_exit_2(result, "multi-paxos")
    assert err.startswith(f"{kv}:{line}: protocol.kind: ")
    assert "exhausted" not in result.stdout


def test_compare_refuses_a_multi_paxos_scenario(runner):
    # It ran every variant, then died in a traceback (AttributeError) summarizing them.
    kv = ROOT / "scenarios" / "kv.yaml"
    result = runner.invoke(main, ["compare", str(kv), "--seeds", "0:2", "-j", "1", "--variant", "base:",
                                  "--variant", "lossy:network.loss=0.1"])
    err = one_line_exit_2(result, "multi-paxos", "paxsim sweep")
    assert err.startswith(f"{kv}:") and ": protocol.kind: " in err


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_a_seed_range_too_large_to_hold_is_refused_at_once(runner, tmp_path, command):
    # It used to build the list of 10**17 seeds in memory: the machine's memory, then a hang.
    args = [command, OK, "--seeds", "5,0:99999999999999999", "-j", "1", "-o", str(tmp_path / "r.jsonl")]
    if command == "compare":
        args += ["--variant", "base:", "--variant", "lossy:network.loss=0.1"]
    one_line_exit_2(runner.invoke(main, args), "--seeds 5,0:99999999999999999", "split")
    assert not (tmp_path / "r.jsonl").exists()


def test_seeds_are_ascii_digits(runner, tmp_path):
    # int() reads any script's digits: '٣' (Arabic-Indic three) ran as seed 3.
    result = runner.invoke(main, ["sweep", OK, "--seeds", "\u0663", "-j", "1", "-o", str(tmp_path / "r.jsonl")])
    one_line_exit_2(result, "--seeds")


@pytest.mark.parametrize("argv,fragments", [
    (["run", OK, "--seed", "-1"], ["--seed: -1 is not in the range x>=0", "paxsim run --help"]),
    (["sweep", OK, "-j", "0"], ["-j/--jobs: 0 is not in the range x>=1"]),
    (["run", OK, "--bug", "nosuch"], ["--bug: 'nosuch' is not one of"]),
    (["run", OK, "--sed", "1"], ["No such option '--sed'", "--seed"]),
    (["run"], ["Missing argument 'SCENARIO'"]),
    (["plot", "latency", "x.jsonl", "--by", "node"], ["--by: 'node' is not one of 'type', 'link'",
                                                        "paxsim plot latency --help"]),
    (["explore", OK, "--max-states", "0"], ["--max-states: 0 is not in the range x>=1"]),
])
def test_a_bad_option_value_is_one_line_naming_the_option(runner, argv, fragments):
    # click's own usage error is four lines: usage, a hint, a blank line, the error.
    err = one_line_exit_2(runner.invoke(main, argv), *fragments)
    assert "Usage:" not in err


def test_a_group_without_a_command_still_shows_its_help(runner):
    result = runner.invoke(main, ["plot"])
    assert "Commands:" in result.output and "latency" in result.output


@pytest.mark.parametrize("argv", [
    ["sweep", OK, "--seeds", "0:3"],
    ["compare", OK, "--seeds", "0:3", "--variant", "base:", "--variant", "lossy:network.loss=0.1"],
    HUNT[:-2],
])
def test_a_worker_count_no_machine_can_use_is_refused(runner, tmp_path, monkeypatch, argv):
    # -j 100000 forked 99,999 worker processes at once (a fork bomb on a shared machine).
    import concurrent.futures

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for -j 100000")

    import paxsim.hunt

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(paxsim.hunt.multiprocessing, "get_context", no_pool)
    result = runner.invoke(main, [*argv, "-j", "100000"])
    one_line_exit_2(result, "-j/--jobs: 100000")


@pytest.mark.parametrize("argv", [
    ["explore", str(ROOT / "scenarios" / "explore" / "two-nodes.yaml"), "--time-limit", "nan"],
    ["linearizable", str(ROOT / "scenarios" / "kv.yaml"), "--model", "kv", "--time-limit", "nan"],
    # (a malformed --peers stops the node at once should nan get through)
    ["node", "--name", "n1", "--data", "{tmp}", "--peers", "malformed", "--retry-timeout", "nan"],
])
def test_nan_is_not_a_number_of_seconds(runner, tmp_path, argv):
    # NaN passes every range check (all comparisons are false): --time-limit nan meant no limit at all.
    one_line_exit_2(runner.invoke(main, [a.format(tmp=tmp_path) for a in argv]), "nan")


def test_linearizable_on_a_trace_without_client_operations(runner, tmp_path):
    # A single-decree run has no client history: it was reported "linearizable" (0 operations).
    trace = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", OK, "--trace", str(trace)]).exit_code == 0
    result = runner.invoke(main, ["linearizable", str(trace), "--model", "kv"])
    one_line_exit_2(result, str(trace), "no client operations", "only from a run with a workload")
    assert "linearizable" not in result.stdout
    # an EDN history read as a Jepsen log has no operations either, for another reason: said so
    edn = tmp_path / "h.edn"
    edn.write_text('{:process 0, :type :invoke, :f :get, :key "7", :value nil}\n')
    result = runner.invoke(main, ["linearizable", str(edn), "--model", "kv", "--format", "jepsen-log"])
    err = one_line_exit_2(result, "no client operations", "(read as jepsen-log, as --format said: is that the file's")
    assert "workload" not in err


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_sweep_leaves_no_worker_behind(tmp_path):
    # SIGTERM to `paxsim sweep -j 2` left its forked worker blocked forever on the pool's queue.
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", "sweep", str(ROOT / "scenarios" / "large.yaml"),
                             "--seeds", "0:3000", "-j", "2", "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 50):
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "no worker process to watch"
        proc.terminate()
        proc.wait(timeout=30)
        # SIGTERM interrupts as Ctrl-C does: exit 130 and the one line that says how to go on
        assert proc.returncode == 130
        assert proc.stderr.read().decode().splitlines()[-1].startswith(f"interrupted: finished runs are in {out}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "a worker outlived the killed sweep"
        assert out.read_text().count("\n") >= 50  # what finished is kept
    finally:
        for pid in [proc.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
        proc.stderr.close()


def test_ctrl_c_during_a_hunt_keeps_what_finished(tmp_path):
    # Ctrl-C lost the whole hunt (hours of it), the bugs' rows included: no table, no -o file.
    import os
    import signal
    import subprocess
    import sys
    import time

    table = tmp_path / "hunt.md"
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", *HUNT[:7], "--range-size", "50",
                             "--correct-seeds", "1000000", "-j", "1", "-o", str(table)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # the bug's ranges print one line on stderr, then the long correct-protocol pass starts
        first = proc.stderr.readline()
        assert first.startswith("amnesia on crashes: "), first
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole process group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "| amnesia | " in out and "not run (interrupted)" in out
    assert table.read_text() == out


def _chunk_or_ctrl_c(parent: int, n: int) -> list[int]:
    import os
    import time

    if os.getpid() == parent:  # the sweep's own share of chunks: Ctrl-C arrives while it runs one
        time.sleep(1.0)
        raise KeyboardInterrupt
    return [n]


def test_ctrl_c_keeps_the_chunks_workers_finished_meanwhile():
    # Ctrl-C while the sweep's own process ran a chunk dropped every chunk its workers had finished
    # (and the ones they were running, which ignore Ctrl-C and finish anyway): runs done, not written.
    import os

    from paxsim.sweep import ProcessExecutor

    executor = ProcessExecutor(2)
    got = []
    try:
        with pytest.raises(KeyboardInterrupt):
            for chunk in executor.run([(os.getpid(), n) for n in range(6)], fn=_chunk_or_ctrl_c):
                got.append(chunk)
    finally:
        executor.close()
    assert sorted(got) == [[0], [1], [2]]  # the three queued to the worker before the parent's own


def test_ctrl_c_during_compare_says_where_the_finished_seeds_are(tmp_path):
    # It said only "interrupted": nothing about the -o file holding every seed finished so far.
    import json
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "c.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", *COMPARE[:3], "0:100000", *COMPARE[4:],
                             "-o", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and str(out) in err and err.count("\n") == 1
    lines = out.read_text().splitlines()
    assert len(lines) >= 3 and all(json.loads(line)["kind"] == "compare" for line in lines[1:])


def test_sweep_whose_traces_folder_is_a_file(runner, tmp_path):
    # The first violating run's trace went to RESULTS.traces/: a file by that name raised FileExistsError.
    out = tmp_path / "r.jsonl"
    (tmp_path / "r.jsonl.traces").write_text("a user's file\n")
    result = runner.invoke(main, ["sweep", str(ROOT / "scenarios" / "volatile.yaml"), "--seeds", "0:5", "-j", "1",
                                  "-o", str(out)])
    one_line_exit_2(result, "r.jsonl.traces", "not a directory")
    assert (tmp_path / "r.jsonl.traces").read_text() == "a user's file\n"


def test_ctrl_c_stops_a_node_that_holds_a_waiting_proposal(tmp_path):
    # 'Stops on SIGTERM or Ctrl-C': it first waited for every open /prepare to time out
    # (its "timeout", up to aiohttp's 60 s shutdown grace), here ten minutes.
    import signal
    import subprocess
    import threading
    import time

    from .real_helpers import Processes, http, start_node

    procs = Processes()
    try:
        proc, url = start_node(procs, "n1", tmp_path / "n1", "--peers", "n2=http://127.0.0.1:9")
        waiting = threading.Thread(target=lambda: _ignore_errors(
            lambda: http("POST", url + "/prepare", {"value": "a", "timeout": 600_000}, timeout=600)), daemon=True)
        waiting.start()
        deadline = time.monotonic() + 30
        while http("GET", url + "/status")[1].get("proposing") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)  # far below the proposal's ten minutes
        except subprocess.TimeoutExpired:
            pytest.fail("the node was still running 20 s after Ctrl-C")
        assert proc.returncode == 0
    finally:
        procs.end()


def _ignore_errors(fn):
    try:
        fn()
    except Exception:
        pass


@pytest.mark.parametrize("template", ["", "   "])
def test_cluster_refuses_an_empty_node_command(runner, template):
    # An empty --node-cmd got as far as starting the nodes: TypeError from create_subprocess_exec.
    result = runner.invoke(main, ["cluster", str(ROOT / "scenarios" / "partition.yaml"), "--node-cmd", template])
    one_line_exit_2(result, "--node-cmd", "empty")


@pytest.mark.parametrize("quorum,fragment", [("0,0", "between 1 and 3"), ("4,4", "between 1 and 3"),
                                             ("1,1", "do not intersect")])
def test_node_refuses_quorums_that_cannot_work(tmp_path, quorum, fragment):
    # --quorum 0,0 (decide with no one) or 4,4 of 3 nodes (never decide) started a node.
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "paxsim", "node", "--name", "n1", "--data", str(tmp_path / "d"),
                           "--peers", "n2=http://127.0.0.1:9,n3=http://127.0.0.1:10", "--quorum", quorum],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "--quorum" in proc.stderr and fragment in proc.stderr, proc.stderr
    assert "READY" not in proc.stdout


SAME_FILE = [
    # (argv, the input the output names); {s} a scenario copy, {t} a trace copy
    (["run", "{s}", "--trace", "{s}"], "s"),
    (["run", "{s}", "--html", "{s}"], "s"),
    (["explore", "{x}", "--bug", "ignore-accepted", "-o", "{x}"], "x"),
    (["export", "{t}", "-o", "{t}"], "t"),
    (["view", "{t}", "-o", "{t}"], "t"),
    (["diff", "{t}", "{t2}", "-o", "{t}"], "t"),
    (["cluster", "{s}", "--trace", "{s}"], "s"),
]


@pytest.mark.parametrize("argv,victim", SAME_FILE, ids=[" ".join(a[:1] + a[-2:-1]) for a, _ in SAME_FILE])
def test_an_output_never_overwrites_the_commands_own_input(runner, tmp_path, argv, victim):
    # 'run s.yaml --trace s.yaml' replaced the scenario with its trace; 'export t.jsonl -o t.jsonl'
    # the trace with a ShiViz log; view and diff -o with a page.
    import shutil

    files = {"s": tmp_path / "s.yaml", "x": tmp_path / "x.yaml", "t": tmp_path / "t.jsonl",
             "t2": tmp_path / "t2.jsonl"}
    shutil.copy(OK, files["s"])
    shutil.copy(ROOT / "scenarios" / "explore" / "three-nodes.yaml", files["x"])
    assert runner.invoke(main, ["run", OK, "--trace", str(files["t"])]).exit_code == 0
    shutil.copy(files["t"], files["t2"])
    before = files[victim].read_bytes()
    result = runner.invoke(main, [a.format(**files) for a in argv])
    one_line_exit_2(result, str(files[victim]), "overwrite")
    assert files[victim].read_bytes() == before


def test_explore_refuses_reduction_without_prune(runner):
    # --reduction 'needs --prune' (its help): given both with --no-prune, the reduction was silently off.
    result = runner.invoke(main, ["explore", str(ROOT / "scenarios" / "explore" / "two-nodes.yaml"),
                                  "--no-prune", "--reduction"])
    one_line_exit_2(result, "--reduction", "--prune")
    assert runner.invoke(main, ["explore", str(ROOT / "scenarios" / "explore" / "two-nodes.yaml"),
                                "--no-prune"]).exit_code == 0  # the default reduction just follows --no-prune


@pytest.mark.parametrize("argv", [["sweep", OK, "--seeds", "0:3"], COMPARE[:4] + COMPARE[6:]])
def test_jobs_with_a_dask_scheduler_is_refused(runner, tmp_path, argv):
    # -j (local processes) was silently ignored beside --scheduler: the Dask workers run the runs.
    result = runner.invoke(main, [*argv, "--scheduler", "tcp://127.0.0.1:9", "-j", "2",
                                  "-o", str(tmp_path / "r.jsonl")])
    one_line_exit_2(result, "-j/--jobs", "--scheduler")


def test_replay_of_a_real_cluster_trace_says_it_is_not_replayable(runner, tmp_path):
    # It reported 'DIFFERENT at line 1: clock, runtime' and exit 1, as if a replay could ever match.
    import json

    trace = tmp_path / "real.jsonl"
    assert runner.invoke(main, ["run", OK, "--trace", str(trace)]).exit_code == 0
    lines = trace.read_text().splitlines()
    header = json.loads(lines[0])
    header.update(runtime="http", clock="wall")  # what 'paxsim cluster --trace' writes
    trace.write_text("\n".join([json.dumps(header, sort_keys=True, separators=(",", ":")), *lines[1:]]) + "\n")
    result = runner.invoke(main, ["replay", str(trace)])
    one_line_exit_2(result, f"{trace}:1: runtime: ", "not replayable", "paxsim check")


def test_a_grid_too_large_to_build_is_refused_at_once(runner, tmp_path):
    # Two --set lists of 3,000 values each: 9 million combinations, each validated and kept, in silence.
    losses = ",".join(str(i / 10000) for i in range(3000))
    durations = ",".join(f"{i}ms" for i in range(1, 3001))
    result = runner.invoke(main, ["sweep", OK, "--seeds", "0:2", "-j", "1", "-o", str(tmp_path / "r.jsonl"),
                                  "--set", f"network.loss={losses}", "--set", f"duration={durations}"])
    one_line_exit_2(result, "9,000,000 combinations", "3000 x 3000")


def test_a_sweep_or_comparison_refuses_to_set_the_seed_its_seeds_replace(runner, tmp_path):
    """`--set seed=1,2` printed two identical rows labelled seed=1 and seed=2:
    every run takes its seed from --seeds, so the scenario's seed does nothing."""
    partition = str(ROOT / "scenarios" / "partition.yaml")
    out = tmp_path / "r.jsonl"
    result = runner.invoke(main, ["sweep", partition, "--seeds", "0:5", "--set", "seed=1,2", "-o", str(out)])
    one_line_exit_2(result, "--set seed=1,2", "--seeds")
    assert not out.exists()
    result = runner.invoke(main, ["compare", partition, "--seeds", "0:5", "--variant", "base:",
                                  "--variant", "s:seed=3"])
    one_line_exit_2(result, "--variant s:seed=3", "--seeds")
    # other --set values still sweep
    result = runner.invoke(main, ["sweep", partition, "--seeds", "0:2", "--set", "network.loss=0,0.1", "-o",
                                  str(out), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_a_refused_stop_when_decided_names_the_option_given(runner, tmp_path):
    """--stop-when-decided on a Multi-Paxos scenario was refused as coming from
    '--set stop=when-decided', which the user never typed."""
    kv = str(ROOT / "scenarios" / "kv.yaml")
    for argv in (["run", kv, "--stop-when-decided"],
                 ["sweep", kv, "--stop-when-decided", "--seeds", "0:2", "-o", str(tmp_path / "r.jsonl")]):
        err = one_line_exit_2(runner.invoke(main, argv), "(with --stop-when-decided)", "single-decree")
        assert "--set" not in err


def test_a_retry_wait_far_below_the_duration_gets_a_note_up_front(runner, tmp_path):
    """A proposer retrying every microsecond for 10 s starts ten million
    ballots if it never decides: the run went silent for minutes."""
    fast = tmp_path / "fast.yaml"  # messages faster still, so this one decides at once
    fast.write_text("name: fast\nnodes: 3\nduration: 10s\nprotocol: {retry: {timeout: 0.001ms, backoff: 1}}\n"
                    "proposers: [{node: n1, value: a}]\nnetwork: {latency: {dist: constant, value: 0.0001ms}}\n")
    sweep = ["sweep", str(fast), "--seeds", "0:1", "-j", "1", "-o", str(tmp_path / "r.jsonl"), "--no-progress"]
    for argv in (["run", str(fast)], sweep):
        result = runner.invoke(main, argv)
        assert result.exit_code == 0, result.output
        assert "note: a proposer that keeps retrying starts about 10,000,000 ballots in a run" in result.stderr
    result = runner.invoke(main, ["run", str(ROOT / "scenarios" / "partition.yaml")])
    assert result.exit_code == 0 and "note:" not in result.stderr


def test_two_outputs_naming_one_file_are_refused(runner, tmp_path, monkeypatch):
    # '--trace b.jsonl --html b.jsonl' replaced the trace with the page, and 'compare -o r --plot r'
    # the results with a figure (which --resume then could not read), both with exit 0
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(main, ["run", str(ROOT / "scenarios/volatile.yaml"), "--trace", "b.jsonl",
                               "--html", str(tmp_path / "b.jsonl")])
    assert res.exit_code == 2
    assert res.stderr == f"{tmp_path / 'b.jsonl'}: --html and --trace name the same file; give each its own\n"
    res = runner.invoke(main, ["compare", str(ROOT / "scenarios/lossy.yaml"), "--seeds", "0:5", "--variant", "base:",
                               "--variant", "x:network.loss=0.1", "-o", "r.png", "--plot", "./r.png"])
    assert res.exit_code == 2
    assert res.stderr == "r.png: --plot and -o name the same file; give each its own\n"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_set_path_given_twice_is_refused_not_the_last_silently_taken(runner, tmp_path):
    # sweep refused it; run, cluster and compare took the last value
    res = runner.invoke(main, ["run", str(ROOT / "scenarios/lossy.yaml"), "--set", "network.loss=0.1",
                               "--set", "network.loss=0.3"])
    assert res.exit_code == 2 and res.stderr == "--set network.loss is given twice; give it once\n"
    res = runner.invoke(main, ["compare", str(ROOT / "scenarios/lossy.yaml"), "--seeds", "0:5", "--variant", "base:",
                               "--variant", "x:network.loss=0.1,network.loss=0.2"])
    assert res.exit_code == 2
    assert res.stderr == "--variant x: network.loss is given twice; give it once\n"
    # a whole mapping, then a key inside it: both apply
    res = runner.invoke(main, ["run", str(ROOT / "scenarios/lossy.yaml"), "--json",
                               "--set", "network.latency={dist: lognormal, median: 1ms, sigma: 0.5}",
                               "--set", "network.latency.median=2ms"])
    assert res.exit_code in (0, 1), res.output
    from paxsim.scenario import load_variant

    latency = load_variant(ROOT / "scenarios/lossy.yaml", ["network.latency={dist: lognormal, median: 1ms, sigma: 0.5}",
                                                           "network.latency.median=2ms"]).network.latency
    assert dict(latency.params) == {"median": 2.0, "sigma": 0.5}
    # a key, then the whole mapping that holds it: the key was undone silently
    res = runner.invoke(main, ["run", str(ROOT / "scenarios/lossy.yaml"), "--set", "network.loss=0.9",
                               "--set", "network={loss: 0.1}"])
    assert res.exit_code == 2 and res.stderr == ("--set network.loss would be undone by the later --set network, "
                                                 "which replaces all of network; give network first, then the "
                                                 "keys inside it\n")
    res = runner.invoke(main, ["sweep", str(ROOT / "scenarios/lossy.yaml"), "--seeds", "0:2", "-o", str(tmp_path / "x.jsonl"),
                               "--set", "network.latency.sigma=0.5,1", "--set", "network.latency={dist: fixed}"])
    assert res.exit_code == 2 and "--set network.latency.sigma would be undone by the later" in res.stderr
    res = runner.invoke(main, ["compare", str(ROOT / "scenarios/lossy.yaml"), "--seeds", "0:5", "--variant", "base:",
                               "--variant", "x:network.loss=0.1,network={loss: 0.2}"])
    assert res.exit_code == 2 and res.stderr.startswith("--variant x: network.loss would be undone by the later network")


def test_a_set_that_would_undo_a_bug_is_refused(runner, tmp_path):
    # --bug goes into protocol.bugs before the --set flags apply: a later --set of protocol
    # (or protocol.bugs) dropped the bug, and the hunt for it came back clean, exit 0
    lossy = str(ROOT / "scenarios/lossy.yaml")
    for given, what in (("protocol={storage: volatile}", "all of protocol"), ("protocol.bugs=[]", "the bugs")):
        res = runner.invoke(main, ["run", lossy, "--bug", "amnesia", "--set", given])
        assert res.exit_code == 2 and res.stderr == (f"--bug amnesia would be undone by --set {given.split('=')[0]}, "
                                                     f"which replaces {what}; give the bugs in it, or drop --bug\n")
    res = runner.invoke(main, ["sweep", lossy, "--seeds", "0:2", "--bug", "amnesia", "--set",
                               "protocol={storage: volatile}", "-o", str(tmp_path / "x.jsonl")])
    assert res.exit_code == 2 and res.stderr.startswith("--bug amnesia would be undone by --set protocol")
    assert not (tmp_path / "x.jsonl").exists()
    res = runner.invoke(main, ["run", lossy, "--bug", "amnesia", "--set", "protocol.storage=volatile"])
    assert res.exit_code in (0, 1) and "--bug amnesia" in res.stdout  # a key beside the bugs is fine


def test_an_exponential_latency_is_an_exponential(runner):
    res = runner.invoke(main, ["run", str(ROOT / "scenarios/lossy.yaml"), "--set", "network.latency.median=2ms"])
    assert res.exit_code == 2 and "unexpected key 'median' for an exponential latency (it takes mean)" in res.stderr


def test_hunt_refuses_to_replace_a_table_or_a_counterexample_without_force(runner, tmp_path):
    # hunt wrote over an existing -o file and the shipped counterexamples silently;
    # shrink and explore -o refuse to
    table = tmp_path / "hunt.md"
    table.write_text("my notes\n")
    result = runner.invoke(main, [*HUNT, "-o", str(table)])
    one_line_exit_2(result, str(table), "exists")
    assert result.stdout == "" and table.read_text() == "my notes\n"  # refused before hunting
    bugs = tmp_path / "bugs"
    bugs.mkdir()
    (bugs / "amnesia.yaml").write_text("mine\n")
    result = runner.invoke(main, [*HUNT, "--write-bugs", str(bugs)])
    one_line_exit_2(result, str(bugs / "amnesia.yaml"), "--force")
    assert (bugs / "amnesia.yaml").read_text() == "mine\n"
    # --force replaces both (40 seeds catch amnesia on this profile; the shrunk scenario violates)
    result = runner.invoke(main, [*HUNT, "--range-size", "40", "-o", str(table), "--write-bugs", str(bugs), "--force"])
    assert result.exit_code == 0, result.output
    assert table.read_text().startswith("Seeds to the first violation")
    run = runner.invoke(main, ["run", str(bugs / "amnesia.yaml")])
    assert run.exit_code == 1 and "expect:    met" in run.stdout


def test_hunt_refuses_an_output_that_is_also_a_counterexample_or_a_profile(runner, tmp_path):
    # '-o hb/amnesia.yaml --write-bugs hb' wrote the table and then replaced it with the
    # shrunk scenario; a profile inside --write-bugs was replaced by a counterexample
    bugs = tmp_path / "hb"
    bugs.mkdir()
    result = runner.invoke(main, [*HUNT, "-o", str(bugs / "amnesia.yaml"), "--write-bugs", str(bugs), "--force"])
    one_line_exit_2(result, "-o and --write-bugs name the same file")
    assert result.stdout == "" and not any(bugs.iterdir())
    profile = bugs / "amnesia.yaml"
    profile.write_text((ROOT / "scenarios" / "hunt" / "crashes.yaml").read_text())
    result = runner.invoke(main, ["hunt", "--bug", "amnesia", "--profile", str(profile), "--ranges", "1",
                                  "--range-size", "5", "--correct-seeds", "1", "-j", "1", "--write-bugs", str(bugs),
                                  "--force"])
    one_line_exit_2(result, str(profile), "would overwrite the input")
    assert profile.read_text() == (ROOT / "scenarios" / "hunt" / "crashes.yaml").read_text()


def test_hunt_table_inside_a_new_write_bugs_directory(runner, tmp_path):
    # '-o out/hunt.md --write-bugs out' said 'out' does not exist, though --write-bugs makes it
    out = tmp_path / "out"
    result = runner.invoke(main, [*HUNT, "--range-size", "40", "-o", str(out / "hunt.md"), "--write-bugs", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "hunt.md").read_text().startswith("Seeds to the first violation") and (out / "amnesia.yaml").exists()


def test_hunt_force_replaces_a_linked_counterexample_not_its_target(runner, tmp_path):
    # --force wrote through a symlinked BUG.yaml into the file it pointed at, outside --write-bugs
    precious = tmp_path / "precious.txt"
    precious.write_text("mine\n")
    bugs = tmp_path / "bugs"
    bugs.mkdir()
    (bugs / "amnesia.yaml").symlink_to(precious)
    result = runner.invoke(main, [*HUNT, "--range-size", "40", "--write-bugs", str(bugs), "--force"])
    assert result.exit_code == 0, result.output
    assert precious.read_text() == "mine\n"
    assert not (bugs / "amnesia.yaml").is_symlink() and "violates" in (bugs / "amnesia.yaml").read_text()


def test_a_bug_and_its_combination_share_one_file_and_the_bug_alone_wins(tmp_path):
    # 'amnesia' and 'amnesia+prepare-ge' both wrote amnesia.yaml, the later one winning
    from paxsim.hunt import chosen_counterexamples

    def chosen(*bug_sets):
        return {p.name: b for p, b in chosen_counterexamples({"shrunk": dict.fromkeys(bug_sets)}, tmp_path).items()}

    assert chosen("amnesia", "amnesia+prepare-ge") == {"amnesia.yaml": "amnesia"}
    assert chosen("amnesia+prepare-ge", "amnesia") == {"amnesia.yaml": "amnesia"}
    assert chosen("reused-ballot+prepare-ge", "small-quorum", "no-retry") == {
        "reused-ballot.yaml": "reused-ballot+prepare-ge", "small-quorum.yaml": "small-quorum"}
    assert chosen("amnesia+prepare-ge", "amnesia+no-retry") == {"amnesia.yaml": "amnesia+prepare-ge"}
