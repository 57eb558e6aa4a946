"""README.md's sample outputs are what the commands print today.

A newcomer runs the `$ paxsim ...` lines the README shows, from a checkout,
and compares. Every such sample is either run here (the deterministic ones
that take a second or so) or listed, with the reason, as not run.
"""

import re
import shlex

import pytest

from paxsim.cli import main

from .conftest import ROOT

README = (ROOT / "README.md").read_text()

# command as shown -> (its exit status, the commands the README shows that make its input files)
RUN = {
    "paxsim run scenarios/partition.yaml": (0, []),
    "paxsim run scenarios/volatile.yaml": (1, []),
    "paxsim diff good.jsonl bad.jsonl -o diff.html": (1, [
        "paxsim run scenarios/volatile.yaml --seed 3 --set protocol.storage=durable --trace good.jsonl",
        "paxsim run scenarios/volatile.yaml --seed 3 --trace bad.jsonl",
    ]),
    "paxsim shrink scenarios/volatile.yaml --seed 3 -o minimal.yaml": (0, []),
    "paxsim run scenarios/kv.yaml": (0, []),
    "paxsim run scenarios/bugs/stale-read.yaml": (1, []),
    "paxsim run scenarios/bugs/blog.yaml": (1, []),
}

NOT_RUN = {
    "paxsim run x.yaml": "an illustration: the file is not shipped",
    "paxsim run scenario.yaml": "an illustration: the file is not shipped",
    "paxsim sweep scenarios/lossy.yaml --seeds 0:2000 --set network.loss=0,0.1,0.3": "6,000 runs: too long here",
    "paxsim compare scenarios/lossy.yaml --seeds 0:1000 --variant base: "
    "--variant slow-disk:protocol.write_latency=1ms": "2,000 runs: too long here",
    "paxsim sweep examples/duel-clocks.yaml --seeds 0:1000 --set clocks.random.drift=0,200": "2,000 runs: too long here",
    "paxsim linearizable ../shared/porcupine/etcd/etcd_000.log --model register": "data outside the checkout; prints a time",
    "paxsim cluster scenarios/partition.yaml": "real processes on the wall clock: not reproducible",
    "paxsim cluster scenarios/lossy.yaml --node-cmd 'python my_node.py --config {config}'": "an illustration",
    "paxsim cluster examples/blog.yaml --seed 1 --node-cmd "
    "'python examples/blog_node.py --name {name} --port {port} --peers {peers} --data {data}'": "wall clock",
}


def _samples():
    """Each ``` block that starts with `$ paxsim`: (the command, the lines shown after it)."""
    samples = []
    for block in re.findall(r"^```\n(\$ paxsim.*?)^```", README, re.S | re.M):
        lines = block.splitlines()
        command = lines[0][2:]
        while command.endswith("\\"):  # a command continued on the next line
            lines.pop(0)
            command = command[:-1].rstrip() + " " + lines[0].strip()
        command = command.split("  #")[0].strip()  # a comment after the command
        samples.append((command, lines[1:]))
    return samples


def _shown_in_order(shown: list[str], printed: list[str]) -> str | None:
    """None if `printed` is `shown`, where a '...' line stands for any lines; else what is wrong."""
    parts, part = [], []
    for line in shown:
        if line.strip() == "...":
            parts.append(part)
            part = []
        else:
            part.append(line)
    parts.append(part)
    at = 0
    for i, part in enumerate(parts):
        if not part:
            continue
        first, last = i == 0, i == len(parts) - 1
        starts = [at] if first else range(at, len(printed) - len(part) + 1)
        found = next((s for s in starts if printed[s:s + len(part)] == part), None)
        if found is None or (last and found + len(part) != len(printed)):
            return "not printed as shown:\n" + "\n".join(part)
        at = found + len(part)
    return None


def test_every_sample_is_run_or_says_why_not():
    commands = [c for c, _ in _samples()]
    assert len(commands) >= len(RUN)
    unknown = [c for c in commands if c not in RUN and c not in NOT_RUN]
    assert not unknown, f"README shows output for {unknown}: run it in RUN or say why not in NOT_RUN"
    assert not [c for c in RUN if c not in commands], "a sample RUN names is no longer in the README"


def test_the_matcher_catches_a_line_left_out_or_added():
    printed = ["a", "b", "c", "d"]
    assert _shown_in_order(["a", "b", "c", "d"], printed) is None
    assert _shown_in_order(["...", "c", "d"], printed) is None
    assert _shown_in_order(["a", "...", "d"], printed) is None
    assert _shown_in_order(["a", "b", "d"], printed) is not None  # c left out of the sample
    assert _shown_in_order(["a", "b", "c"], printed) is not None  # the end not shown, and no '...'
    assert _shown_in_order(["b", "c", "d"], printed) is not None  # the start not shown, and no '...'
    assert _shown_in_order(["a", "b", "x", "c", "d"], printed) is not None


@pytest.mark.parametrize("command", list(RUN))
def test_readme_sample_is_what_the_command_prints(command, runner, tmp_path, monkeypatch):
    shown = dict(_samples())[command]
    status, setup = RUN[command]
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)  # paths as the README types them, relative to a checkout
    for line in setup:
        assert line in README, f"the README does not show how to make the input: {line}"
        assert runner.invoke(main, shlex.split(line)[1:]).exit_code in (0, 1)
    result = runner.invoke(main, shlex.split(command)[1:])
    assert result.exit_code == status, result.output
    problem = _shown_in_order(shown, result.stdout.splitlines())
    assert problem is None, f"{command}: {problem}\n--- printed:\n{result.stdout}"


@pytest.mark.parametrize("script", sorted(set(re.findall(r"python (benchmarks/\w+\.py)", README))))
def test_every_benchmark_the_readme_names_answers_help(script):
    import subprocess
    import sys

    assert (ROOT / script).exists(), f"the README names {script}, which does not exist"
    proc = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith("usage:"), proc.stdout


def test_python_api_block_runs_and_streams_the_same_trace(tmp_path, monkeypatch):
    section = README[README.index("## Python API"):README.index("## Real nodes")]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    # the block writes the same run twice: kept, then streamed
    assert (tmp_path / "run.jsonl").read_bytes() == (tmp_path / "big.jsonl").read_bytes()


def test_lin_block_calls_what_paxsim_lin_offers():
    import inspect

    from paxsim import lin

    section = README[README.index("## Linearizability"):README.index("## Determinism")]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    checked = 0
    for line in snippet.splitlines():
        called = re.match(r"(?:\w+ = )?lin\.(\w+)\(", line)
        if called:  # every keyword on the line, its comment's alternatives included
            for kwarg in re.findall(r"(\w+)=(?!=)", line):
                assert kwarg in inspect.signature(getattr(lin, called.group(1))).parameters, \
                    f"README: lin.{called.group(1)} has no keyword {kwarg}"
                checked += 1
    assert checked >= 2
