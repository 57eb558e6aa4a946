"""Every kind of bad scenario input gets one clear line naming file, line and
path, and exit status 2, through the real CLI; never a traceback."""

import pytest

from paxsim.cli import main

from .conftest import ROOT

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{x}: &{x} [{', '.join(['*' + p] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi")
) + "nodes: 3\n"

CASES = [
    # (id, file content, line, path or None, fragment of the message)
    ("syntax", "nodes: [1, 2\n", 2, None, "YAML syntax error"),
    ("empty", "", 1, None, "the file is empty"),
    ("only-comments", "# nothing here\n", 1, None, "the file is empty"),
    ("not-a-mapping", "- a\n- b\n", 1, None, "top level must be a mapping"),
    ("scalar-top", "just words\n", 1, None, "top level must be a mapping"),
    ("duplicate-key", "nodes: 3\nseed: 1\nnodes: 5\n", 3, "nodes", "duplicate key 'nodes' (first given on line 1)"),
    ("unknown-key", "nodes: 3\nnodse: 5\n", 2, "nodse", "unknown key 'nodse' (did you mean 'nodes'?)"),
    ("unknown-nested-key", "nodes: 3\nnetwork:\n  los: 0.1\n", 3, "network.los", "did you mean 'loss'?"),
    ("missing-nodes", "name: x\n", 1, None, "missing key 'nodes'"),
    ("missing-proposer-value", "nodes: 3\nproposers:\n  - {node: n1}\n", 3, "proposers[0]", "missing key 'value'"),
    ("string-for-number", "nodes: 3\nnetwork:\n  loss: high\n", 3, "network.loss", "found 'high'"),
    ("bool-for-number", "nodes: 3\nnetwork:\n  loss: true\n", 3, "network.loss", "found a boolean true"),
    ("string-nodes", "nodes: five\n", 1, "nodes", "expected a positive number of nodes"),
    ("probability-above-1", "nodes: 3\nnetwork:\n  duplicate: 1.5\n", 3, "network.duplicate", "probability between 0 and 1"),
    ("probability-negative", "nodes: 3\nnetwork:\n  loss: -0.1\n", 3, "network.loss", "probability between 0 and 1"),
    ("negative-time", "nodes: 3\nproposers:\n  - {node: n1, value: a, at: -5ms}\n", 3, "proposers[0].at", "expected a duration"),
    ("negative-number-time", "nodes: 3\nduration: -5\n", 2, "duration", "expected a duration"),
    ("zero-duration", "nodes: 3\nduration: 0s\n", 2, "duration", "expected a duration > 0"),
    ("bad-unit", "nodes: 3\nduration: 5 minutes\n", 2, "duration", "found '5 minutes'"),
    ("nan", "nodes: 3\nnetwork:\n  loss: .nan\n", 3, "network.loss", "expected a finite number"),
    ("inf", "nodes: 3\nduration: .inf\n", 2, "duration", "expected a finite number"),
    ("uniform-low-above-high", "nodes: 3\nnetwork:\n  latency: {dist: uniform, low: 5ms, high: 2ms}\n", 3,
     "network.latency.low", "low 5ms is above high 2ms"),
    ("latency-missing-param", "nodes: 3\nnetwork:\n  latency: {dist: lognormal, median: 5ms}\n", 3,
     "network.latency", "missing key 'sigma'"),
    ("latency-wrong-param", "nodes: 3\nnetwork:\n  latency: {dist: constant, mean: 5ms}\n", 3,
     "network.latency.mean", "unexpected key 'mean' for a constant latency"),
    ("latency-unknown-dist", "nodes: 3\nnetwork:\n  latency: {dist: gaussian, mean: 5}\n", 3,
     "network.latency.dist", "found 'gaussian'"),
    ("zero-nodes", "nodes: 0\n", 1, "nodes", "expected a positive number of nodes"),
    ("empty-node-list", "nodes: []\n", 1, "nodes", "expected a positive number of nodes"),
    ("duplicate-node-name", "nodes: [a, b, a]\n", 1, "nodes[2]", "duplicate node name 'a'"),
    ("bad-node-name", "nodes: [a, 'b c']\n", 1, "nodes[1]", "expected a node name"),
    ("unknown-node-in-partition", "nodes: 5\nfaults:\n  - {at: 1ms, crash: n1}\n  - {at: 2ms, partition: [[n1, n2], [n7]]}\n",
     4, "faults[1].partition[1][0]", "unknown node 'n7' (nodes are n1..n5)"),
    ("unknown-crash-node", "nodes: 3\nfaults:\n  - {at: 1ms, crash: n4}\n", 3, "faults[0].crash", "unknown node 'n4'"),
    ("unknown-link-node", "nodes: 3\nnetwork:\n  links:\n    - {from: n1, to: x}\n", 4, "network.links[0].to", "unknown node 'x'"),
    ("proposer-unknown-node", "nodes: 3\nproposers:\n  - {node: n9, value: a}\n", 3, "proposers[0].node", "unknown node 'n9'"),
    ("proposer-twice", "nodes: 3\nproposers:\n  - {node: n1, value: a}\n  - {node: n1, value: b}\n", 4,
     "proposers[1].node", "already proposes"),
    ("overlapping-groups", "nodes: 5\nfaults:\n  - {at: 1ms, partition: [[n1, n2], [n2, n3]]}\n", 3,
     "faults[0].partition[1][0]", "in two groups"),
    ("restart-not-down", "nodes: 3\nfaults:\n  - {at: 1ms, restart: n2}\n", 3, "faults[0].restart", "is not down"),
    ("restart-before-crash", "nodes: 3\nfaults:\n  - {at: 5ms, crash: n2}\n  - {at: 2ms, restart: n2}\n", 4,
     "faults[1].restart", "is not down at 2ms"),
    ("crash-twice", "nodes: 3\nfaults:\n  - {at: 1ms, crash: n2}\n  - {at: 2ms, crash: n2}\n", 4, "faults[1].crash", "already down"),
    ("uncut-not-cut", "nodes: 3\nfaults:\n  - {at: 1ms, uncut: {from: n1, to: n2}}\n", 3, "faults[0].uncut", "is not cut"),
    ("fault-two-actions", "nodes: 3\nfaults:\n  - {at: 1ms, crash: n1, restart: n1}\n", 3, "faults[0]", "one of partition"),
    ("fault-no-action", "nodes: 3\nfaults:\n  - {at: 1ms}\n", 3, "faults[0]", "one of partition"),
    ("fault-unknown-action", "nodes: 3\nfaults:\n  - {at: 1ms, explode: n1}\n", 3, "faults[0].explode", "unknown key 'explode'"),
    ("fault-after-end", "nodes: 3\nduration: 1s\nfaults:\n  - {at: 2s, crash: n1}\n", 4, "faults[0].at", "after the end of the run"),
    ("unsafe-quorum", "nodes: 5\nprotocol:\n  quorum: {phase1: 2, phase2: 3}\n", 3, "protocol.quorum", "unsafe quorums"),
    ("quorum-missing-phase2", "nodes: 5\nprotocol:\n  quorum: {phase1: 3}\n", 3, "protocol.quorum", "missing key 'phase2'"),
    ("quorum-too-big", "nodes: 3\nprotocol:\n  quorum: {phase1: 4, phase2: 3}\n", 3, "protocol.quorum.phase1", "larger than the 3 nodes"),
    ("bad-storage", "nodes: 3\nprotocol:\n  storage: disk\n", 3, "protocol.storage", "expected one of 'durable', 'volatile'"),
    ("python-tag", "nodes: 3\nname: !!python/object/apply:os.system ['echo pwned']\n", 2, "name", "unsupported YAML tag"),
    ("alias-bomb", BOMB, None, None, "alias bomb"),
    ("expect-not-bool", "nodes: 3\nexpect: {decided: maybe}\n", 2, "expect.decided", "expected true or false"),
    ("alias-cycle", "nodes: 3\na: &a [*a]\n", 2, "a[0]", "an alias refers to a value that contains it (a cycle)"),
    ("alias-cycle-mapping", "nodes: 3\nb: &b {c: *b}\n", 2, "b.c", "(a cycle)"),
    ("nested-5000-deep", "nodes: 3\nx: " + "[" * 5000 + "]" * 5000 + "\n", 2, None, "nested more than 64 levels deep"),
    ("nested-100-deep", "nodes: 3\nx: " + "[" * 100 + "]" * 100 + "\n", 2, None, "nested more than 64 levels deep"),
    ("no-proposers", "nodes: 3\nseed: 1\n", 1, "proposers", "no proposers: nothing would be proposed"),
    ("empty-proposers", "nodes: 3\nseed: 1\nproposers: []\n", 3, "proposers", "no proposers"),
    ("exponent-read-as-text", "nodes: 3\nproposers: [{node: n1, value: a}]\nduration: 1e3\n", 3, "duration",
     "found '1e3' (YAML reads 1e3 as text, not a number: write it with a dot and a signed exponent, such as "
     "1.0e+03, or in full)"),
    ("duration-past-a-float", "nodes: 3\nproposers: [{node: n1, value: a}]\nduration: 1" + "0" * 400 + "\n", 3,
     "duration", "expected a finite number, found a whole number of 401 digits (past a float's range)"),
    ("random-events-too-many", "nodes: 3\nproposers: [{node: n1, value: a}]\nfaults:\n  random:\n"
     "    events: 999999999999\n", 5, "faults.random.events", "999,999,999,999 events is more than 100,000"),
    ("bug-twice", "nodes: 3\nproposers: [{node: n1, value: a}]\nprotocol:\n  bugs: [amnesia, amnesia]\n", 4,
     "protocol.bugs[1]", "bug 'amnesia' is listed twice (also protocol.bugs[0])"),
]


@pytest.mark.parametrize("content,line,path,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario_gives_one_line_and_exit_2(runner, write, content, line, path, fragment):
    f = write(content)
    result = runner.invoke(main, ["run", str(f)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    err = result.stderr
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert result.stdout == ""
    assert "Traceback" not in err
    prefix = f"{f}:{line}: " if line is not None else f"{f}:"
    assert err.startswith(prefix), err
    if path is not None:
        assert err.startswith(f"{prefix}{path}: "), err
    assert fragment in err, err


@pytest.mark.parametrize("argv, message", [
    (["scenarios/happy.yaml", "--set", "nodes=99999999999"],
     "nodes: 99,999,999,999 nodes is more than 10,000 (the analysis of a run grows with the square of the "
     "nodes: 10,000 take about 0.5 GB)"),
    (["scenarios/kv.yaml", "--set", "workload.clients=99999999999"],
     "workload.clients: 99,999,999,999 clients is more than 1,000,000"),
], ids=["nodes", "clients"])
def test_a_number_of_nodes_or_clients_that_cannot_fit_is_refused_up_front(argv, message):
    """`nodes: 99999999999` filled memory (1.9 GB in 8 s, then a MemoryError
    traceback) before the large-run note; the count of clients too.  Run
    under a 1 GB address-space limit, so that without the bound the test
    fails in seconds rather than taking the machine's memory."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([sys.executable, "-m", "paxsim", "run", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr == f"{argv[0]} (with {argv[1]} {argv[2]}): {message}\n"


@pytest.mark.parametrize("argv, message", [
    (["run", "{big}"], "{big}:2: seed: a whole number of 5,000 digits, more than the 4,300 Python reads"),
    (["run", "scenarios/happy.yaml", "--set", "nodes={D}"],
     "--set nodes={D80}...: a whole number of 5,000 digits, more than the 4,300 Python reads"),
    (["explore", "scenarios/explore/two-nodes.yaml", "--set", "duration={D}"],
     "--set duration={D77}...: a whole number of 5,000 digits, more than the 4,300 Python reads"),
    (["sweep", "scenarios/happy.yaml", "--seeds", "0:{D}", "-o", "{tmp}/s.jsonl"],
     "--seeds 0:{D78}...: a whole number of 5,000 digits, more than the 4,300 Python reads"),
], ids=["file", "set", "explore-set", "seeds"])
def test_a_number_too_long_for_python_is_one_line(runner, tmp_path, monkeypatch, argv, message):
    """A whole number of more than 4,300 digits in a scenario file, a --set
    value or --seeds gave Python's ValueError traceback ("use
    sys.set_int_max_str_digits()"), exit 1."""
    digits = "9" * 5000
    big = tmp_path / "big.yaml"
    big.write_text(f"nodes: 3\nseed: {digits}\nproposers: [{{node: n1, value: a}}]\n")
    fill = dict(big=big, D=digits, D80=digits[:74], D77=digits[:71], D78=digits[:78], tmp=tmp_path)
    monkeypatch.chdir(ROOT)
    result = runner.invoke(main, [a.format(**fill) for a in argv])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith(message.format(**fill)), result.stderr[:300]
    assert "\n" not in result.stderr.strip() and len(result.stderr) < 300


def test_missing_file(runner, tmp_path):
    result = runner.invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: cannot read file: No such file or directory"


def test_not_utf8(runner, tmp_path):
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"nodes: 3\nname: \xff\xfe\n")
    result = runner.invoke(main, ["run", str(f)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_oversized_file(runner, tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text("nodes: 3\n" + "#" * (2 << 20))
    result = runner.invoke(main, ["run", str(f)])
    assert result.exit_code == 2 and "limited to" in result.stderr


def test_bad_option_is_a_usage_error(runner, write):
    f = write("nodes: 3\n")
    result = runner.invoke(main, ["run", str(f), "--seed", "-1"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["run", str(f), "--sed", "1"])
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_trace_into_missing_directory(runner, write, tmp_path):
    f = write("nodes: 3\nproposers: [{node: n1, value: a}]\n")
    result = runner.invoke(main, ["run", str(f), "--trace", str(tmp_path / "no" / "t.jsonl")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "does not exist" in result.stderr


@pytest.mark.parametrize("content,fragment", [
    ("", "the trace is empty"),
    ("not json\n", ":1: not a JSON object"),
    ('{"kind": "send"}\n', ":1: expected a 'header' event first"),
    ('{"kind": "header", "format": 99}\n', ":1: trace format 99 is not supported"),
    ('[1, 2]\n', ":1: expected a JSON object"),
])
def test_bad_traces_give_one_line_and_exit_2(runner, tmp_path, content, fragment):
    t = tmp_path / "t.jsonl"
    t.write_text(content)
    for command in ("check", "replay"):
        result = runner.invoke(main, [command, str(t)])
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr


def test_bad_scheduler_address_is_one_line(runner, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "r.jsonl"
    result = runner.invoke(main, ["sweep", str(ROOT / "scenarios" / "happy.yaml"), "--seeds", "0:2",
                                  "--scheduler", "notaurl", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("--scheduler notaurl: not a scheduler address like tcp://HOST:PORT")
    assert not out.exists()


DIRECTORY_COMMANDS = [
    (["run", "{d}"], "scenario"),
    (["sweep", "{d}"], "scenario"),
    (["shrink", "{d}", "--seed", "1"], "scenario"),
    (["hunt", "--profile", "{d}"], "scenario"),
    (["check", "{d}"], "trace"),
    (["replay", "{d}"], "trace"),
    (["plot", "latency", "{d}"], "trace"),
    (["plot", "timeline", "{d}"], "trace"),
    (["plot", "decisions", "{d}"], "trace"),
]


@pytest.mark.parametrize("argv,what", DIRECTORY_COMMANDS, ids=[" ".join(a[:2]) for a, _ in DIRECTORY_COMMANDS])
def test_a_directory_as_input_is_one_line(runner, tmp_path, argv, what):
    d = tmp_path / "folder"
    d.mkdir()
    result = runner.invoke(main, [a.format(d=d) for a in argv])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{d}: is a directory, not a {what} file\n"
    assert result.stdout == ""


@pytest.mark.parametrize("change, message", [
    (lambda net: net["latency"].update(dist="weird"),
     "network.latency.dist: expected one of 'constant', 'uniform', 'normal', 'exponential', 'lognormal', 'pareto', "
     "found 'weird'"),
    (lambda net: net["links"][0]["latency"].pop("value"),
     "network.links[0].latency: missing key 'value' (a constant latency takes value)"),
    (lambda net: net.update(latency={"dist": "exponential", "mean": 0}), "network.latency.mean: expected a mean > 0, found 0"),
    (lambda net: net["links"][0].update(to="zz"), "network.links[0].to: unknown node 'zz' (nodes are n1..n5)"),
], ids=["unknown-dist", "missing-param", "zero-mean", "unknown-node"])
def test_plot_latency_of_a_header_whose_network_is_not_a_scenario_s(runner, tmp_path, change, message):
    """`plot latency` draws the latency distributions the header's scenario
    names; a hand-edited one it cannot draw gave a ValueError traceback
    (`check` does not read them, so it lets them through)."""
    import json

    t = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "partition.yaml"), "--trace", str(t)]).exit_code == 0
    lines = t.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    change(header["scenario"]["network"])
    t.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    out = tmp_path / "latency.png"
    result = runner.invoke(main, ["plot", "latency", str(t), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"{t}:1: header.scenario: {message}"
    assert not out.exists()


HEADER_EDITS = [
    # (scenario file, the edit to the header's scenario, the line after "FILE:1: header.scenario: ")
    ("partition.yaml", lambda sc: sc.update(duration="2s"),
     'duration: expected 2000.0, the form a trace header holds (durations in ms, as numbers), found "2s"'),
    ("partition.yaml", lambda sc: sc.update(duration=[1]),
     "duration: expected a duration such as 50ms, 2s, 100us or a number of milliseconds >= 0, found a list"),
    ("partition.yaml", lambda sc: sc.update(duration=10 ** 400),
     "duration: expected a finite number, found a whole number of 401 digits (past a float's range)"),
    ("partition.yaml", lambda sc: sc.update(name=5), "name: expected a string, found a number 5"),
    ("partition.yaml", lambda sc: sc["protocol"].update(quorum={"phase1": 3, "phase2": 1000000}),
     "protocol.quorum.phase2: quorum 1000000 is larger than the 5 nodes"),
    ("partition.yaml", lambda sc: sc["expect"].update(violates="nonsense"), "expect.violates: expected one of"),
    ("kv.yaml", lambda sc: sc["expect"].update(ops="x"), "expect.ops: expected"),
    ("kv.yaml", lambda sc: sc.update(duration="x"), "duration: expected a duration such as"),
]


@pytest.mark.parametrize("command", [["check"], ["view"], ["plot", "decisions"], ["plot", "throughput"],
                                     ["export"], ["diff"]], ids=lambda c: " ".join(c))
@pytest.mark.parametrize("name, edit, message", HEADER_EDITS,
                         ids=[f"{n.split('.')[0]}-{m.split(':')[0]}-{i}" for i, (n, _, m) in enumerate(HEADER_EDITS)])
def test_a_hand_edited_header_scenario_is_one_line(runner, tmp_path, command, name, edit, message):
    """Summaries, pages and plots read the header's scenario as the run's
    (its duration as a number, its name as a string, its quorum judged by),
    but `check` validated only what it judges: a duration of "2s" or 10**400,
    a name of 5, expect.ops of "x" gave tracebacks, and a phase-2 quorum of a
    million made five integrity violations.  Each is now checked as a
    scenario file's is (as `replay` always did): one line, exit 2, no file."""
    import json

    t = tmp_path / "t.jsonl"
    ran = runner.invoke(main, ["run", str(ROOT / "scenarios" / name), "--trace", str(t)])
    assert ran.exit_code in (0, 1), ran.output
    lines = t.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    edit(header["scenario"])
    t.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    out = tmp_path / "out.file"
    argv = [*command, str(t)] + ([str(t)] if command == ["diff"] else [])
    argv += ["-o", str(out.with_suffix(".png" if command[0] == "plot" else ".html"))] if command != ["check"] else []
    result = runner.invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{t}:1: header.scenario: {message}"), result.stderr
    assert result.stderr.count("\n") == 1 and not list(tmp_path.glob("out.*"))


def test_the_exponent_the_hint_suggests_is_read_as_a_number(runner, write):
    """The hint for `1e3` (text to PyYAML) must itself be a number PyYAML reads."""
    path = write("nodes: 3\nproposers: [{node: n1, value: a}]\nduration: 1.0e+03\n")
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 nodes, 1 proposer, 1000 ms simulated" in result.stdout.splitlines()[0]


def test_a_seed_or_a_proposed_value_may_be_any_whole_number(runner, write):
    """Only numbers read as floats (durations, rates, weights) must fit one:
    a seed or a proposed value of 401 digits is a whole number like any other."""
    big = "1" + "0" * 400
    path = write(f"nodes: 3\nduration: 10ms\nseed: {big}\nproposers: [{{node: n1, value: {big}}}]\n")
    result = runner.invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert f"chosen:    {big} at ballot (1, n1)" in result.stdout


def test_plot_latency_checks_only_the_header_s_network(runner, tmp_path):
    """A Multi-Paxos trace's header has no proposers, which a scenario of its
    own would need: `plot latency` still draws it, from the network alone."""
    t = tmp_path / "kv.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "kv.yaml"), "--trace", str(t)]).exit_code == 0
    out = tmp_path / "latency.png"
    result = runner.invoke(main, ["plot", "latency", str(t), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000


def test_timeline_with_empty_nodes_is_refused(runner, tmp_path):
    t = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "happy.yaml"), "--trace", str(t)]).exit_code == 0
    for nodes in ("", " , "):
        out = tmp_path / "x.png"
        result = runner.invoke(main, ["plot", "timeline", str(t), "--nodes", nodes, "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and "--nodes" in result.stderr and "no node names" in result.stderr
        assert not out.exists()


def test_timeline_window_after_the_end_is_refused(runner, tmp_path):
    t = tmp_path / "t.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios" / "partition.yaml"), "--trace", str(t)]).exit_code == 0
    out = tmp_path / "x.png"
    result = runner.invoke(main, ["plot", "timeline", str(t), "--from", "5000ms", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "--from: 5000 ms is at or after the end of the trace (2000 ms)" in result.stderr
    assert not out.exists()
    # a window inside the trace still draws
    assert runner.invoke(main, ["plot", "timeline", str(t), "--from", "1500ms", "-o", str(out)]).exit_code == 0


def test_shrink_refuses_to_overwrite(runner, tmp_path):
    out = tmp_path / "minimal.yaml"
    out.write_text("mine\n")
    result = runner.invoke(main, ["shrink", str(ROOT / "scenarios" / "volatile.yaml"), "--seed", "3", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{out} exists: choose another -o, or remove it first\n"
    assert out.read_text() == "mine\n"


WRONG_KIND_OUTPUTS = [
    # an output file that is a directory, or an output directory that is a file
    (["run", "{happy}", "--trace", "{d}"], "--trace", "File '{d}' is a directory."),
    (["run", "{happy}", "--html", "{d}"], "--html", "File '{d}' is a directory."),
    (["run", "{happy}", "--plots", "{f}"], "--plots", "Directory '{f}' is a file."),
    (["shrink", "{happy}", "-o", "{d}"], "-o/--output", "File '{d}' is a directory."),
    (["sweep", "{happy}", "-o", "{d}"], "-o/--output", "File '{d}' is a directory."),
    (["plot", "latency", "{f}", "-o", "{d}"], "-o/--output", "File '{d}' is a directory."),
    (["view", "{d}"], "TRACE", "File '{d}' is a directory."),
]


@pytest.mark.parametrize("argv,name,message", WRONG_KIND_OUTPUTS,
                         ids=[" ".join(a[:1] + [a[-2]]) for a, _, _ in WRONG_KIND_OUTPUTS])
def test_a_path_of_the_wrong_kind_is_one_line_naming_the_option(runner, tmp_path, argv, name, message):
    d = tmp_path / "folder"
    d.mkdir()
    f = tmp_path / "file.jsonl"
    f.write_text("")
    fill = dict(d=d, f=f, happy=ROOT / "scenarios" / "happy.yaml")
    result = runner.invoke(main, [a.format(**fill) for a in argv])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{name}: {message.format(**fill)}\n"
    assert "Usage" not in result.output
