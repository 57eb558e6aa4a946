"""The command line as users meet it: output, JSON, traces and exit codes."""

import json

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
    import subprocess

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
