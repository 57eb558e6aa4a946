"""Seed sweeps: the grid, the results file, resume after Ctrl-C or a kill,
identical results whichever executor ran them, and the summary."""

import gc
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc

import pytest

from paxsim.cli import main
from paxsim.scenario import load_scenario
from paxsim.sweep import SweepError, parse_seeds, plan_sweep, read_results, run_chunk, run_sweep

from .conftest import ROOT

LOSSY = str(ROOT / "scenarios" / "lossy.yaml")
VOLATILE = str(ROOT / "scenarios" / "volatile.yaml")
PARTITION = str(ROOT / "scenarios" / "partition.yaml")


def run_lines(path):
    """The run records of a results file, sorted (a resumed file holds them in another order)."""
    return sorted(run_lines_in_order(path))


def run_lines_in_order(path):
    return [line for line in open(path) if '"kind":"run"' in line]


def test_parse_seeds():
    assert parse_seeds("0:5") == [0, 1, 2, 3, 4]
    assert parse_seeds("7") == [7]
    assert parse_seeds("1,3:5,1") == [1, 3, 4]
    for bad in ("5:5", "a:b", "-1:3", ""):
        with pytest.raises(SweepError):
            parse_seeds(bad)


def test_grid_is_every_combination():
    plan = plan_sweep(LOSSY, "0:3", ["network.loss=0,0.1", "protocol.retry.timeout=20ms,50ms,80ms"])
    assert plan.total == 18
    assert [c.label for c in plan.combos][:2] == ["network.loss=0 protocol.retry.timeout=20ms",
                                                  "network.loss=0 protocol.retry.timeout=50ms"]
    assert plan.combos[5].scenario["network"]["loss"] == 0.1
    assert plan.combos[5].scenario["protocol"]["retry"]["timeout"] == 80.0


def test_sweep_cli_writes_results_and_summary(runner, tmp_path):
    out = tmp_path / "r.jsonl"
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:40", "--set", "network.loss=0,0.3",
                                  "-j", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["kind"] == "sweep" and header["sets"] == ["network.loss=0,0.3"]
    runs = [json.loads(line) for line in lines[1:]]
    assert len(runs) == 80
    assert {r["params"]["network.loss"] for r in runs} == {0, 0.3}
    for r in runs:
        assert r["outcome"] in ("decided", "undecided") and r["sent"] >= r["delivered"] - r["duplicated"]
        assert set(r) >= {"seed", "params", "outcome", "decision_t", "sent", "delivered", "lost", "duplicated", "violation"}
    text = result.stdout
    assert "network.loss=0 " in text and "network.loss=0.3" in text
    assert "p50 ms" in text and "msgs/decision" in text and "undecided" in text
    # the table's p50 is the median of the results file's decision times
    import numpy as np

    t = [r["decision_t"] for r in runs if r["params"]["network.loss"] == 0.3 and r["outcome"] == "decided"]
    row = next(line for line in text.splitlines() if line.startswith("network.loss=0.3"))
    assert f"{np.percentile(t, 50):.1f}" in row.split()


def test_sweep_progress_bar_counts_every_run_and_a_resume(runner, tmp_path):
    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "--seeds", "0:30", "-j", "2", "-o", str(out), "--progress"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "30/30" in result.stderr and "Traceback" not in result.stderr
    again = runner.invoke(main, args + ["--resume"])  # nothing left to run: the bar says so, full
    assert again.exit_code == 0, again.output
    assert "30/30" in again.stderr
    quiet = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:5", "-j", "1", "-o", str(tmp_path / "q.jsonl"),
                                 "--no-progress"])
    assert quiet.exit_code == 0 and "5/5" not in quiet.stderr


def test_sweep_json_summary_and_within(runner, tmp_path):
    out = tmp_path / "p.jsonl"
    result = runner.invoke(main, ["sweep", PARTITION, "--seeds", "0:30", "-j", "1", "-o", str(out), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    (row,) = summary["combinations"]
    assert row["runs"] == 30 and row["within_ms"] == 1000.0
    runs = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert row["decided_within"] == sum(r["within"] for r in runs) / 30


def test_violations_exit_1_with_traces_and_reproduce_commands(runner, tmp_path):
    out = tmp_path / "v.jsonl"
    result = runner.invoke(main, ["sweep", VOLATILE, "--seeds", "0:60", "--set", "protocol.storage=volatile,durable",
                                  "-j", "1", "-o", str(out)])
    assert result.exit_code == 1
    runs = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    bad = [r for r in runs if r["outcome"] == "violation"]
    assert bad and all(r["params"]["protocol.storage"] == "volatile" for r in bad)
    traces = sorted(p.name for p in (tmp_path / "v.jsonl.traces").iterdir())
    assert traces == sorted(r["trace"] for r in bad)
    first = min(r["seed"] for r in bad if "agreement" in r["violations"])
    command = f"paxsim run {VOLATILE} --seed {first} --set protocol.storage=volatile"
    assert f"reproduce: {command}" in result.stdout
    # the printed command reproduces the violation, and the saved trace replays
    again = runner.invoke(main, command.split()[1:])
    assert again.exit_code == 1 and "agreement: two values chosen" in again.stdout
    replay = runner.invoke(main, ["replay", str(tmp_path / "v.jsonl.traces" / traces[0])])
    assert replay.exit_code == 0, replay.output


def test_bad_sweep_input(runner, tmp_path):
    cases = [
        (["--seeds", "9:3"], "empty range"),
        (["--set", "network.loss=0,7"], "network.loss: expected a probability between 0 and 1, found a number 7"),
        (["--set", "network.loss"], "expected PATH=VALUE"),
        (["--set", "network.loss=0", "--set", "network.loss=1"], "given twice"),
    ]
    for args, fragment in cases:
        result = runner.invoke(main, ["sweep", LOSSY, "-o", str(tmp_path / "x.jsonl"), *args])
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr


def test_existing_results_need_resume(runner, tmp_path):
    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "--seeds", "0:5", "-j", "1", "-o", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 2 and "--resume" in again.stderr
    other = runner.invoke(main, ["sweep", PARTITION, "--seeds", "0:5", "-o", str(out), "--resume"])
    assert other.exit_code == 2 and "different sweep" in other.stderr


def test_resume_of_a_file_another_paxsim_wrote_is_refused(runner, tmp_path):
    # --resume compared the scenario, the --set grid and the bugs, not the
    # paxsim that wrote the runs: another version's runs could differ, mixed in
    out = tmp_path / "r.jsonl"
    args = ["sweep", LOSSY, "--seeds", "0:5", "-j", "1", "-o", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["kind"] == "sweep"
    out.write_text(json.dumps(dict(header, paxsim="0.0.1"), sort_keys=True, separators=(",", ":")) + "\n"
                   + "".join(lines[1:3]))
    before = out.read_text()
    more = runner.invoke(main, args + ["--resume"])
    assert more.exit_code == 2, more.output
    assert more.stderr == (f"{out} was written by paxsim 0.0.1, this is paxsim {header['paxsim']}: its runs "
                           "could differ from this version's; finish it with that version, or choose another -o\n")
    assert out.read_text() == before  # nothing run, nothing written
    out.write_text(json.dumps(header, sort_keys=True, separators=(",", ":")) + "\n" + "".join(lines[1:3]))
    assert runner.invoke(main, args + ["--resume"]).exit_code == 0  # the same version goes on


def test_resume_after_a_kill_gives_the_same_results(tmp_path):
    plan = plan_sweep(LOSSY, "0:60", ["network.loss=0,0.2"])
    whole = tmp_path / "whole.jsonl"
    run_sweep(plan, whole, jobs=1)
    # a killed sweep: some complete lines, then half a line
    cut = tmp_path / "cut.jsonl"
    lines = whole.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[:37]) + lines[37][:25])
    counts = run_sweep(plan, cut, jobs=1, resume=True)
    assert counts == {"ran": 120 - 36, "skipped": 36, "violations": 0}
    assert run_lines(cut) == run_lines(whole)
    header, runs, _ = read_results(cut)
    assert header is not None and len(runs) == 120


def test_reading_results_whole_or_line_by_line_agrees(tmp_path):
    """A sound file is read in one go, anything else line by line: both
    give every record, and a damaged tail or middle is handled as before."""
    plan = plan_sweep(VOLATILE, "0:30", [])
    whole = tmp_path / "whole.jsonl"
    run_sweep(plan, whole, jobs=1)
    text = whole.read_text()
    lines = text.splitlines(keepends=True)
    header, runs, good = read_results(whole)
    assert header == json.loads(lines[0]) and runs == [json.loads(x) for x in lines[1:]] and good == len(text)
    for tail in (lines[5][:20], "not json\n"):  # a line cut short by a kill; a garbled last line
        cut = tmp_path / "cut.jsonl"
        cut.write_text("".join(lines[:5]) + tail)
        assert read_results(cut) == (header, runs[:4], len("".join(lines[:5])))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines[:3]) + "not json\n" + "".join(lines[3:]))
    with pytest.raises(SweepError, match=r"bad.jsonl:4: not a JSON line"):
        read_results(bad)
    other = tmp_path / "other.jsonl"
    other.write_text("".join(lines[:3]) + '{"kind":"compare-header"}\n')
    with pytest.raises(SweepError, match=r"other.jsonl:4: unexpected record"):
        read_results(other)


@pytest.mark.parametrize("block", [7, 64, 200, 1 << 22])
def test_results_are_read_alike_in_blocks_of_any_size(tmp_path, monkeypatch, block):
    """A results file is read a block of lines at a time: whatever the block
    size, the same records, the same length of complete lines, the same
    line numbers in errors, a cut or garbled last line left out, and a
    file saved with CRLF line ends read as it is."""
    import paxsim.sweep as sw

    plan = plan_sweep(VOLATILE, "0:25", [], ["amnesia"])
    whole = tmp_path / "whole.jsonl"
    run_sweep(plan, whole, jobs=1)
    text = whole.read_text()
    lines = text.splitlines(keepends=True)
    expected = (json.loads(lines[0]), [json.loads(x) for x in lines[1:]])
    monkeypatch.setattr(sw, "RESULTS_BLOCK", block)
    assert read_results(whole) == (*expected, len(text))
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    assert read_results(crlf) == (*expected, len(text) + len(lines))
    for tail in (lines[9][:20], "not json\n", "{}\n"[:2]):  # cut by a kill; garbled; cut
        cut = tmp_path / "cut.jsonl"
        cut.write_text("".join(lines[:9]) + tail)
        assert read_results(cut) == (expected[0], expected[1][:8], len("".join(lines[:9])))
    for at in (1, 5, 17, 25):
        bad = tmp_path / "bad.jsonl"
        bad.write_text("".join(lines[:at]) + "not json\n" + "".join(lines[at:]))
        with pytest.raises(SweepError, match=rf"bad.jsonl:{at + 1}: not a JSON line"):
            read_results(bad)
        bad.write_text("".join(lines[:at]) + "[1, 2]\n" + "".join(lines[at:]))
        with pytest.raises(SweepError, match=rf"bad.jsonl:{at + 1}: a JSON line that is not an object"):
            read_results(bad)
        bad.write_text("".join(lines[:at]) + '{"kind": "other"}\n' + "".join(lines[at:]))
        with pytest.raises(SweepError, match=rf"bad.jsonl:{at + 1}: unexpected record"):
            read_results(bad)
    # a garbled line followed only by a cut one is not the last: an error
    bad.write_text("".join(lines[:5]) + "not json\n" + lines[5][:10])
    with pytest.raises(SweepError, match=r"bad.jsonl:6: not a JSON line"):
        read_results(bad)


def test_resuming_keeps_no_record_per_run(tmp_path, monkeypatch):
    """--resume reads the results file a block at a time and keeps, of each
    run, its seed (to skip it), not its record (about 1 KB): a resumed
    million-seed sweep took over a gigabyte."""
    import paxsim.sweep as sw

    plan = plan_sweep(LOSSY, "0:20000", [])
    out = tmp_path / "r.jsonl"
    header = json.dumps(plan.header, sort_keys=True, separators=(",", ":"))
    rec = {"kind": "run", "params": {}, "outcome": "decided", "decision_t": 12.5, "sent": 60, "delivered": 57,
           "lost": 3, "duplicated": 0, "violation": None, "violations": []}
    with open(out, "w") as fh:
        fh.write(header + "\n")
        for seed in range(20000):  # every run of the plan: nothing left to run
            fh.write(json.dumps(dict(rec, seed=seed, decision_t=seed / 7), sort_keys=True,
                                separators=(",", ":")) + "\n")
    monkeypatch.setattr(sw, "RESULTS_BLOCK", 1 << 16)
    records = sw.Summary(plan)
    gc.collect()
    tracemalloc.start()
    try:
        counts = run_sweep(plan, out, jobs=1, resume=True, records=records)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts == {"ran": 0, "skipped": 20000, "violations": 0}
    assert summarize_of(plan, out, records)["runs"] == 20000
    assert peak < 200 * 20000, f"{peak / 20000:.0f} bytes a run"


def summarize_of(plan, out, records):
    from paxsim.sweep import summarize

    return summarize(plan, out, runs=records)["combinations"][0]


def test_resume_over_a_results_file_with_a_non_object_line_is_one_line(runner, tmp_path):
    """A JSON line that is not an object (a list, a number) is not a results
    record: --resume says where, exit 2, no traceback."""
    out = tmp_path / "r.jsonl"
    assert runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:4", "-j", "1", "-o", str(out)]).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    for odd in ("[1, 2]\n", "7\n"):
        out.write_text("".join(lines[:2]) + odd + "".join(lines[2:]))
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:8", "-j", "1", "-o", str(out), "--resume"])
        assert result.exit_code == 2, result.output
        assert "r.jsonl:3: a JSON line that is not an object" in result.output
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)


def test_resume_over_a_results_file_holding_a_run_twice_is_refused(runner, tmp_path):
    """A line pasted twice counted its run twice (the header said 50 runs,
    the table 51) and stayed in the file: refused, naming the run."""
    out = tmp_path / "r.jsonl"
    argv = ["sweep", LOSSY, "--seeds", "0:4", "--set", "network.loss=0,0.1", "-j", "1", "-o", str(out), "--no-progress"]
    assert runner.invoke(main, argv).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    twice = json.loads(lines[3])
    out.write_text("".join(lines) + lines[3])
    before = out.read_text()
    result = runner.invoke(main, argv + ["--resume"])
    assert result.exit_code == 2, result.output
    loss = twice["params"]["network.loss"]
    assert result.stderr == (f"{out}: seed {twice['seed']} of network.loss={loss:g} is in it twice: a results file "
                             "holds each run once (remove one of the lines)\n")
    assert out.read_text() == before  # nothing written, nothing cut


def _whose(scenario, key, params, seeds):
    return [(os.getpid(), seed) for seed in seeds]


def test_local_workers_and_the_parent_run_every_chunk_once():
    """With --jobs 2 the parent runs chunks beside one forked worker and
    takes back at the end what the worker has not started: still every
    chunk exactly once."""
    from paxsim.sweep import ProcessExecutor

    tasks = [(None, "k", {}, list(range(i * 3, i * 3 + 3))) for i in range(40)]
    executor = ProcessExecutor(2)
    try:
        results = [r for chunk in executor.run(iter(tasks), fn=_whose) for r in chunk]
    finally:
        executor.close()
    assert sorted(seed for _, seed in results) == list(range(120))
    assert os.getpid() in {pid for pid, _ in results}  # the parent took its share


def test_processes_and_inline_give_identical_results(tmp_path):
    plan = plan_sweep(VOLATILE, "0:80", ["network.loss=0,0.1"])
    run_sweep(plan, tmp_path / "a.jsonl", jobs=1)
    run_sweep(plan, tmp_path / "b.jsonl", jobs=2)
    # The same file, line for line: chunks are written in the sweep's order
    # (combination, then seed), whichever process finished one first.
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    seeds = [json.loads(line)["seed"] for line in run_lines_in_order(tmp_path / "b.jsonl")]
    assert seeds == list(range(80)) * 2


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_resume_completes(tmp_path):
    out = tmp_path / "r.jsonl"
    args = [sys.executable, "-m", "paxsim", "sweep", str(ROOT / "scenarios" / "large.yaml"), "--seeds", "0:3000",
            "-j", "2", "-o", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 100):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    kept = out.read_text()
    assert kept.endswith("\n") and 100 <= kept.count("\n") < 3001
    done = subprocess.run(args + ["--resume"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    whole = tmp_path / "whole.jsonl"
    run_sweep(plan_sweep(ROOT / "scenarios" / "large.yaml", "0:3000", []), whole, jobs=2)
    assert run_lines(out) == run_lines(whole)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local.jsonl"
    plan = plan_sweep(VOLATILE, "0:200", ["network.loss=0,0.1"])
    run_sweep(plan, local, jobs=2)
    import dask

    # the workers' scratch space in the test's folder: left in /tmp, dask-scratch-space outlived the test
    with dask.config.set({"temporary-directory": str(tmp_path)}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=None) as cluster:
        remote = tmp_path / "dask.jsonl"
        proc = subprocess.run([sys.executable, "-m", "paxsim", "sweep", VOLATILE, "--seeds", "0:200",
                               "--set", "network.loss=0,0.1", "--scheduler", cluster.scheduler_address,
                               "-o", str(remote)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr  # volatile violates
    assert remote.read_text() == local.read_text()  # line for line, as on local workers
    assert sorted(os.listdir(tmp_path / "dask.jsonl.traces")) == sorted(os.listdir(tmp_path / "local.jsonl.traces"))


def test_bad_scheduler_address(runner, tmp_path):
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:2", "--scheduler", "tcp://127.0.0.1:9",
                                  "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "cannot connect" in result.stderr and result.stderr.count("\n") == 1


class _NotDask:
    """A loopback server that is no Dask scheduler: `banner` bytes to each
    connection (an SSH server's greeting), or, with None, silence while it
    reads (an HTTP server waiting for a request line)."""

    def __init__(self, banner: bytes | None) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.banner = banner
        self.conns: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.banner is not None:
                conn.sendall(self.banner)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.mark.parametrize("banner", [b"SSH-2.0-OpenSSH_9.6\r\n" * 4, b"\xff" * 64, None], ids=["ssh", "ff", "silent"])
def test_a_server_that_is_no_dask_scheduler_is_refused_in_one_line(runner, tmp_path, banner):
    # An SSH banner read as Dask's framing asked numpy for 3 EiB: a MemoryError traceback,
    # exit 1 (a violation's status).  A server that never answers (HTTP) made it wait forever.
    server = _NotDask(banner)
    try:
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:2", "--scheduler", server.address,
                                      "-o", str(tmp_path / "x.jsonl")])
    finally:
        server.close()
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    # the silent one took the connection: the fault is what listens there, not the network
    expected = "not a Dask scheduler" + ("" if banner else " (it took the connection but did not answer within 10 s)")
    assert result.stderr.startswith(f"--scheduler {server.address}: {expected}"), result.stderr
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("address, expected", [
    ("tcp://127.0.0.1:99999", "not a scheduler address like tcp://HOST:PORT (port 99999 is out of range)"),
    ("bogus://127.0.0.1:1", "not a scheduler address like tcp://HOST:PORT (unknown address scheme 'bogus'"),
    ("tls://127.0.0.1:9", "cannot connect (tls:// needs TLS certificates in the Dask configuration"),
    ("tcp://127.0.0.1:9", "cannot connect (Connection refused)"),
    ("tcp://:9", "not a scheduler address like tcp://HOST:PORT (no host)"),
    ("inproc://foo", "not a scheduler address like tcp://HOST:PORT (an inproc:// scheduler lives inside another"),
    ("tcp://no-such-host.invalid:9", "cannot connect (no such host 'no-such-host.invalid'"),
])
def test_scheduler_errors_say_whose_fault_they_are(runner, tmp_path, address, expected):
    # bytes it could not decode were called "not a scheduler address"; tls:// without
    # certificates "not a Dask scheduler"; a refused port waited the whole 10 s
    result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:2", "--scheduler", address,
                                  "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"--scheduler {address}: {expected}"), \
        result.stderr
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_an_empty_scheduler_address_is_refused_not_run_locally(runner, tmp_path, command):
    # '--scheduler "$ADDR"' with ADDR unset ran the sweep on this machine, and let -j through
    args = (["--seeds", "0:2", "-j", "2", "-o", str(tmp_path / "x.jsonl")] if command == "sweep"
            else ["--seeds", "0:2", "--variant", "a:", "--variant", "b:network.loss=0.2"])
    result = runner.invoke(main, [command, LOSSY, *args, "--scheduler", ""])
    assert result.exit_code == 2, result.output
    assert result.stderr == ("--scheduler: the address is empty; give tcp://HOST:PORT, or leave --scheduler out "
                             "to run on this machine\n")
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_without_workers_is_refused(runner, tmp_path):
    # it passed the identity probe, and the sweep then waited for ever
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                  scheduler_port=0, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        result = runner.invoke(main, ["sweep", LOSSY, "--seeds", "0:2", "--scheduler", address,
                                      "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"--scheduler {address}: the scheduler has no workers; start some "
                             f"(dask worker {address}) and run again\n")


def test_interrupted_before_any_run_says_nothing_was_written(tmp_path):
    server = _NotDask(None)
    proc = subprocess.Popen([sys.executable, "-m", "paxsim", "sweep", LOSSY, "--seeds", "0:2", "--scheduler",
                             server.address, "-o", "x.jsonl"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # waiting for the scheduler's answer
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    assert proc.returncode == 130, err
    assert err == "interrupted: before any run (x.jsonl was not made)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_worker_memory_stays_flat():
    """A worker keeps nothing of a run once it is checked: what is still
    reachable after 3,000 runs is what was after 300.  (SimPy's environment
    and its queued events form reference cycles, so a finished run is freed
    by the cyclic collector rather than at once; we collect before measuring.)"""
    sc = load_scenario(LOSSY).to_dict()
    run_chunk(sc, "lossy", {}, list(range(50)))  # warm caches
    tracemalloc.start()
    run_chunk(sc, "lossy", {}, list(range(50, 350)))
    gc.collect()
    after_300 = tracemalloc.get_traced_memory()[0]
    for start in range(350, 3350, 300):
        run_chunk(sc, "lossy", {}, list(range(start, start + 300)))
    gc.collect()
    after_3000 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after_3000 - after_300 < 256 * 1024, (after_300, after_3000)


def test_worker_cache_is_keyed_by_scenario_content(tmp_path):
    """Two sweeps without --set in one process must not share a cached scenario."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_sweep(plan_sweep(LOSSY, "0:3", []), a, jobs=1)
    run_sweep(plan_sweep(PARTITION, "0:3", []), b, jobs=1)
    sent_b = [json.loads(line)["sent"] for line in run_lines(b)]
    from paxsim import simulate

    sc = load_scenario(PARTITION)
    assert sorted(sent_b) == sorted(simulate(sc, s).verdict.messages["sent"] for s in range(3))


def test_the_paxsim_program_gives_the_same_results_with_one_or_two_workers(tmp_path):
    """Through the real entry point (`python -m paxsim`, which freezes its
    start-up for the collector, and the workers fork from that): the results
    files of --jobs 1 and --jobs 2 hold the same runs, violations included."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.jsonl"
        proc = subprocess.run([sys.executable, "-m", "paxsim", "sweep", VOLATILE, "--seeds", "0:150", "--bug", "amnesia",
                               "-j", jobs, "-o", str(out), "--no-progress", "--json"],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        traces = {p.name: p.read_text() for p in sorted((tmp_path / f"j{jobs}.jsonl.traces").iterdir())}
        outs.append((proc.returncode, json.loads(proc.stdout.replace(out.name, "r.jsonl")), out.read_text(), traces))
    assert outs[0] == outs[1]
    assert len(run_lines(out)) == 150 and outs[0][0] == 1 and outs[0][3]  # violations, and their traces


def test_the_paxsim_program_collects_garbage_during_its_command(tmp_path):
    """run_main freezes what start-up made, but the collector is on while a
    command runs (a long sweep must free its cycles)."""
    code = """
import gc, sys
import paxsim.cli as cli

@cli.main.command("probe")
def probe():
    with cli._importing():
        import paxsim.sim  # noqa: F401
    print(gc.isenabled(), gc.get_freeze_count() > 1000)

sys.argv = ["paxsim", "probe"]
cli.run_main()
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True"]
