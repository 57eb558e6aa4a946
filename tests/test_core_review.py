"""Findings of the adversarial review of the single-decree core (simulator,
checker, command line): each test failed before its fix."""

import json

from paxsim.cli import main


def test_a_proposer_retrying_for_long_is_no_crash(runner, write):
    # More than 1,024 retries: backoff**attempt overflowed a float, and
    # `paxsim run` died with an OverflowError traceback and exit status 1
    # (which means a violation) on a valid scenario.
    path = write("""\
name: lonely
description: one proposer with no quorum to reach; it retries at the max backoff until the end
nodes: 3
duration: 3s
protocol:
  retry: {timeout: 1ms, backoff: 2.0, jitter: 0.5, max: 2ms}
proposers: [{node: n1, value: a}]
faults:
  - {at: 0ms, crash: n2}
  - {at: 0ms, crash: n3}
""")
    result = runner.invoke(main, ["run", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok"
    assert data["verdict"]["undecided"] == ["n1"] and data["verdict"]["down"] == ["n2", "n3"]
