"""Helpers for the real-runtime tests: node and cluster processes on
127.0.0.1 that the test ends whatever happens (see the fixtures in
test_real_node.py and test_real_cluster.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0  # generous: a loaded 2-core machine starts Python slowly


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def http(method: str, url: str, body=None, raw: bytes | None = None, timeout: float = 30.0):
    """(status, parsed JSON body) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Processes:
    """Every process a test starts; `end()` kills them all (a finalizer calls it)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, argv, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(argv, env=env(), start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def end(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def start_node(procs: Processes, name: str, data: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """A `paxsim node` on port 0; returns it and its base URL once it answers /status."""
    proc = procs.start([sys.executable, "-m", "paxsim", "node", "--name", name, "--port", "0",
                        "--data", str(data), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline().decode()  # blocks until READY or exit; the finalizer bounds the test
    assert line.startswith("READY "), f"node did not start: {line!r} {proc.stderr.read().decode()}"
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    status, _ = http("GET", url + "/status")
    assert status == 200
    return proc, url


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(predicate, timeout: float = READY_TIMEOUT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
