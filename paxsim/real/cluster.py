"""A real cluster on loopback under a scenario's network and faults.

One OS process per node (`paxsim node`, or a user's `--node-cmd`), each
binding port 0 and printing `READY <port>`; readiness is then confirmed on
`GET /status`.  All node-to-node traffic goes through the relay
(`relay.py`).  Faults follow the scenario's schedule: `crash` is a SIGKILL
of the node's process group, `restart` starts it again on the same data
directory (`storage: durable`) or an emptied one (`volatile`); partitions and
cuts are relay rules.  Proposers get `POST /prepare` at their `at` time (and
again after a restart, as in the simulator).

What stops the run follows the scenario's `stop:` (see `Cluster._until_done`):
`duration` always; before it, by default (`stop: end`, the simulator's "no
event left"), once the cluster is quiet; with `stop: when-decided`, once
every node that is up has decided.  The relay's records and each node's
trace are then merged, on the one monotonic clock, into a trace in the
simulator's format, with `"runtime": "http"` and `"clock": "wall"` in the
header.  Every process started is killed on every way out (`Cluster.run`'s
finally, and `kill_all` as the last resort after the event loop).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import string
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

from .._version import __version__
from ..scenario import Scenario, ScenarioError, read_scenario_data
from ..sim.faults import explicit
from ..sim.network import NetworkModel
from ..sim.streams import stream
from ..trace import FORMAT
from .node import STATE_FILE, TRACE_FILE
from .relay import Recorder, Relay
from .wire import WireError, check_ballot, check_value, parse_message

READY_TIMEOUT = 60.0  # seconds for a node process to print READY and answer /status
PLACEHOLDERS = ("name", "port", "peers", "data", "config", "seed", "nodes", "quorum", "learning",
                "retry_timeout", "retry_backoff", "retry_jitter", "retry_max")
CONFIG_FORMAT = 1  # of the per-node JSON file behind {config}: docs/http-protocol.md, node_config.schema.json
QUIET_MS = 100.0  # stop: end: the relay carried nothing new for this long, besides the rest of the rule
ACTIVE = ("prepare", "accept", "backoff")  # a proposer trying a ballot (GET /status "proposing.phase")
OBSERVATIONS = ("promise", "vote", "propose", "decide")


class ClusterError(Exception):
    """The cluster could not run (a node failed to start, a bad template): one line, exit 2."""


def unsupported(scenario: Scenario, node_cmd: str | None = None) -> list[tuple[tuple, str]]:
    """What `scenario` asks for that a real cluster (running `node_cmd`, if
    given) cannot do, as (key path, why).  A run that silently skipped one
    would be taken for a run under it: `check_supported` refuses such a
    scenario instead."""
    out: list[tuple[tuple, str]] = []
    if node_cmd is not None and scenario.bugs:
        out.append((("protocol", "bugs"), f"bugs ({', '.join(scenario.bugs)}) are mutants of paxsim's own roles and cannot "
                    "be switched on in a --node-cmd node, which runs its own code (remove the key, or run "
                    "without --node-cmd)"))
    if scenario.kind != "single-decree":
        out.append((("protocol", "kind"), f"the real cluster runs single-decree nodes only, not {scenario.kind} "
                    "(run it with 'paxsim run')"))
    if scenario.write_latency:
        out.append((("protocol", "write_latency"), "the real cluster cannot slow storage writes: a node's write "
                    "takes what the disk takes (fsync and rename), so the write latency, and the crash in the "
                    "middle of a write it allows, would not happen (run it with 'paxsim run', or remove the key)"))
    if scenario.script is not None and (scenario.script.messages or scenario.script.timers):
        out.append((("script",), "the real cluster cannot script message and timer fates: the relay draws every "
                    "message's fate from the network model and nodes fire their own timers, so the scripted "
                    "schedule would not be followed (replay it with 'paxsim run', or remove the key)"))
    if scenario.clocks is not None and scenario.clocks.skews:
        out.append((("clocks",), "the real cluster cannot skew node clocks: nodes run on the machine's clock, so "
                    "the offsets, drift and steps would not happen (run it with 'paxsim run', or remove the key)"))
    return out


def check_supported(scenario: Scenario, node_cmd: str | None = None, sets=(), file: str | Path | None = None) -> None:
    """Refuse a scenario the real cluster cannot run faithfully: ClusterError
    (one line: the file, the line, the key and why; exit 2) before anything
    starts.  `file`: the scenario file that `sets` (--set flags, as
    load_variant takes them) were applied to, if any.  The advice names what
    gives the key in force: the --set flags touching it, from the last back,
    until the scenario no longer asks for it without them; and the file's key
    (at its line) if even without all of them it still does.  Without `file`,
    the scenario's source is read as its file.  (The command line refuses
    --bug with --node-cmd itself.)"""
    problems = unsupported(scenario, node_cmd)
    if not problems:
        return
    path, why = problems[0]
    source = file if file is not None else scenario.source
    try:
        _data, lines = read_scenario_data(source)
    except (ScenarioError, OSError):  # not a file (a scenario built in code): no line to name
        lines = {}
    kept, dropped, in_file = list(sets), [], True  # in_file: the scenario still asks without the dropped flags
    for text in reversed(sets):
        if not _touches(text, path):
            continue
        kept.remove(text)
        dropped.insert(0, text)
        in_file = _still_asks(source, kept, path, node_cmd)
        if not in_file:
            break
    if dropped:
        flags = " and ".join(f"--set {t}" for t in dropped)
        why = why.replace("remove the key", ("remove the key and drop " if in_file else "drop ") + flags)
    raise ClusterError(str(ScenarioError(scenario.source, lines.get(path) if in_file else None, path, why)))


def _touches(text: str, path: tuple) -> bool:
    """Whether the --set `text` gives the key `path`, a key under it, or a mapping that holds it."""
    from ..scenario import parse_set

    given = tuple(parse_set(text, many=False)[1])
    short = min(len(given), len(path))
    return given[:short] == tuple(path)[:short]


def _still_asks(source, sets: list, path: tuple, node_cmd: str | None) -> bool:
    """Whether the scenario file `source` with only the --set flags `sets`
    still asks for the unsupported key `path` (False if it is no valid
    scenario then: nothing can be said of it)."""
    from ..scenario import OverrideError, load_variant

    try:
        return any(p == path for p, _ in unsupported(load_variant(source, sets), node_cmd))
    except (ScenarioError, OverrideError, OSError):
        return False


def node_config(scenario: Scenario, seed: int, name: str, peers: dict[str, str], data: Path) -> dict:
    """What a node needs to follow the scenario: the `{config}` file's
    content (format: docs/http-protocol.md, node_config.schema.json)."""
    r = scenario.retry
    return {"format": CONFIG_FORMAT, "name": name, "host": "127.0.0.1", "port": 0, "nodes": list(scenario.nodes),
            "peers": dict(peers), "data": str(data), "seed": seed,
            "quorum": {"phase1": scenario.phase1, "phase2": scenario.phase2},
            "retry": {"timeout": r.timeout, "backoff": r.backoff, "jitter": r.jitter, "max": r.max},
            "learning": scenario.learning, "storage": scenario.storage, "scenario": scenario.name}


def _placeholders(config: dict, path: Path) -> dict[str, str]:
    r = config["retry"]
    return {"name": config["name"], "port": str(config["port"]), "data": config["data"], "config": str(path),
            "peers": ",".join(f"{p}={url}" for p, url in config["peers"].items()), "seed": str(config["seed"]),
            "nodes": ",".join(config["nodes"]), "quorum": f"{config['quorum']['phase1']},{config['quorum']['phase2']}",
            "learning": config["learning"], "retry_timeout": repr(r["timeout"]), "retry_backoff": repr(r["backoff"]),
            "retry_jitter": repr(r["jitter"]), "retry_max": repr(r["max"])}


def fill_template(template: str, values: dict[str, str]) -> list[str]:
    """The words of `template` with their placeholders filled in; ClusterError
    (one line, exit 2) for an unknown placeholder or a malformed template."""
    def bad(why: str) -> ClusterError:
        return ClusterError(f"--node-cmd: bad template {template!r} ({why}); placeholders are "
                            + " ".join("{" + p + "}" for p in PLACEHOLDERS))

    words = []
    try:
        for word in shlex.split(template):
            parts = []
            # A placeholder is a bare name: str.format's {name.attr}, {name[i]}, !conversions and
            # :specs would run (or crash) on a value the template's author never sees.
            for literal, field, spec, conversion in string.Formatter().parse(word):
                parts.append(literal)
                if field is None:
                    continue
                if field not in values or spec or conversion:
                    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                    raise bad(f"unknown placeholder {shown}")
                parts.append(values[field])
            words.append("".join(parts))
    except ValueError as exc:
        raise bad(str(exc)) from None
    return words


def node_command(scenario: Scenario, seed: int, name: str, peers: str, data: Path) -> list[str]:
    """The command that starts paxsim's own node (`paxsim node`) for `name`
    (a `--node-cmd` node gets its template filled in by `Cluster._spawn`)."""
    r = scenario.retry
    argv = [sys.executable, "-m", "paxsim", "node", "--name", name, "--port", "0", "--peers", peers,
            "--data", str(data), "--seed", str(seed), "--nodes", ",".join(scenario.nodes),
            "--quorum", f"{scenario.phase1},{scenario.phase2}", "--retry-timeout", repr(r.timeout),
            "--retry-backoff", repr(r.backoff), "--retry-jitter", repr(r.jitter), "--retry-max", repr(r.max),
            "--learning", scenario.learning]
    for bug in scenario.bugs:
        argv += ["--bug", bug]
    return argv


def check_template(template: str) -> None:
    if not template.strip():
        raise ClusterError("--node-cmd: empty command; give the command that starts one node, e.g. "
                           "'python my_node.py --config {config}'")
    fill_template(template, {p: "x" for p in PLACEHOLDERS})


class NodeProcess:
    def __init__(self, name: str, data: Path, log: Path) -> None:
        self.name = name
        self.data = data
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.port: int | None = None
        self.drain: asyncio.Task | None = None
        self.lives = 0
        self.standby: asyncio.subprocess.Process | None = None  # started, waiting to be woken on restart
        self.watch: asyncio.Task | None = None  # notices the process exiting when nobody killed it
        self.killing = False


class Cluster:
    def __init__(self, scenario: Scenario, seed: int, workdir: Path, node_cmd: str | None = None) -> None:
        check_supported(scenario, node_cmd)
        self.scenario = scenario
        self.seed = seed
        self.workdir = workdir
        self.node_cmd = node_cmd
        self.plan, self.drawn = explicit(scenario, seed)
        self.rec = Recorder()
        network = NetworkModel(self.plan.network, stream(seed, "network"))
        if self.drawn is not None and self.drawn.delay is not None:
            network.set_delay(self.drawn.delay, stream(seed, "delays"))
        self.relay = Relay(self.rec, network, scenario.nodes)
        self.nodes = {n: NodeProcess(n, workdir / "data" / n, workdir / "logs" / f"{n}.log") for n in scenario.nodes}
        self.session: ClientSession | None = None
        self.pids: set[int] = set()  # every process group started and not yet reaped
        self.end_t: float | None = None
        self.t0_abs: float | None = None
        self.exited: list[tuple[str, float, int, str, Path]] = []  # (node, t, status, last log line, log)
        self.unfinished: list = []  # faults due before the end but not carried out by then
        self.fault_tasks: list = []  # (fault, its task), once the fault schedule has started

    # -- processes ----------------------------------------------------------------
    async def _spawn(self, node: NodeProcess, standby: bool = False):
        urls = {p: f"http://127.0.0.1:{self.relay.port}/{node.name}/{p}" for p in self.scenario.nodes if p != node.name}
        node.data.mkdir(parents=True, exist_ok=True)
        if self.node_cmd is None:
            argv = node_command(self.scenario, self.seed, node.name,
                                ",".join(f"{p}={url}" for p, url in urls.items()), node.data)
        else:
            config = node_config(self.scenario, self.seed, node.name, urls, node.data)
            path = self.workdir / "config" / f"{node.name}.json"
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            tmp.replace(path)
            argv = fill_template(self.node_cmd, _placeholders(config, path))
        if standby:
            argv.append("--standby")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        node.log.parent.mkdir(parents=True, exist_ok=True)
        with open(node.log, "ab") as log:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.PIPE if standby else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True, env=env,
                    # a user's template is run where the user typed it, so `python my_node.py` works
                    cwd=None if self.node_cmd is not None else str(self.workdir), preexec_fn=_die_with_parent)
            except OSError as exc:
                raise ClusterError(f"node {node.name}: cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        self.pids.add(proc.pid)
        (self.workdir / "pids").mkdir(exist_ok=True)
        (self.workdir / "pids" / f"{node.name}.{proc.pid}").write_text(f"{proc.pid}\n")
        return proc

    async def _ensure_standby(self, node: NodeProcess) -> None:
        """Python and aiohttp take a second or more to start on a busy machine,
        which would delay every restart: a standby process pays that in
        advance and reads its storage and listens only when woken."""
        if self.node_cmd is not None or node.standby is not None:
            return
        proc = await self._spawn(node, standby=True)
        node.standby = proc
        try:
            while True:
                line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
                if not line:
                    raise ClusterError(f"node {node.name}: a standby process exited: {_last_line(node.log)}")
                if line.strip() == b"STANDBY":
                    return
        except asyncio.TimeoutError:
            raise ClusterError(f"node {node.name}: no 'STANDBY' line within {READY_TIMEOUT:g} s") from None

    async def _start(self, node: NodeProcess) -> None:
        """Start the node (or wake its standby) and wait until it is ready."""
        if node.standby is not None:
            proc, node.standby = node.standby, None
            try:
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
                proc.stdin.close()
            except (ConnectionError, OSError):
                pass  # it died: reading its stdout below says so
        else:
            proc = await self._spawn(node)
        node.proc = proc
        node.lives += 1
        try:
            port = await asyncio.wait_for(self._read_port(proc), READY_TIMEOUT)
        except asyncio.TimeoutError:
            raise ClusterError(f"node {node.name}: no 'READY <port>' line within {READY_TIMEOUT:g} s") from None
        if port is None:
            code = await proc.wait()
            self.pids.discard(proc.pid)
            last = _last_line(node.log)
            raise ClusterError(f"node {node.name} exited with status {code} before it was ready"
                               + (f": {last}" if last else " (it wrote nothing to its log)"))
        node.drain = asyncio.get_running_loop().create_task(_drain(proc.stdout))
        await self._wait_status(node, port)
        node.port = port
        node.watch = asyncio.get_running_loop().create_task(self._watch(node, proc))

    async def _watch(self, node: NodeProcess, proc) -> None:
        """A node process that exits while nobody is killing it crashed by
        itself: recorded as a crash (the relay treats it as down from then
        on) and reported with the last line of its log."""
        code = await proc.wait()
        if node.killing or node.proc is not proc or node.port is None or self.rec.closed:
            return
        self.relay.ports[node.name] = None
        self.relay.crashed(node.name)
        self.rec.emit("crash", node=node.name)
        self.exited.append((node.name, self.rec.now(), code, _last_line(node.log), node.log))
        self.pids.discard(proc.pid)
        if node.drain is not None:
            node.drain.cancel()
        node.proc = None
        node.port = None

    async def _read_port(self, proc) -> int | None:
        while True:
            line = await proc.stdout.readline()
            if not line:
                return None
            m = re.match(rb"\s*READY\s+(\d+)\s*$", line)
            if m:
                return int(m.group(1))

    async def _wait_status(self, node: NodeProcess, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                async with self.session.get(f"http://127.0.0.1:{port}/status") as resp:
                    if resp.status == 200:
                        return
            except (ClientError, asyncio.TimeoutError, OSError):
                pass
            if node.proc.returncode is not None or time.monotonic() > deadline:
                raise ClusterError(f"node {node.name}: GET /status on port {port} never answered 200")
            await asyncio.sleep(0.01)

    async def _kill(self, node: NodeProcess) -> None:
        proc = node.proc
        if proc is None:
            return
        node.killing = True
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        await proc.wait()
        self.pids.discard(proc.pid)
        if node.drain is not None:
            node.drain.cancel()
        node.proc = None
        node.port = None
        node.killing = False

    async def _kill_standby(self, node: NodeProcess) -> None:
        proc, node.standby = node.standby, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
        self.pids.discard(proc.pid)

    def kill_all(self) -> None:
        """The last resort, without an event loop: SIGKILL every group still known."""
        for pid in list(self.pids):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            self.pids.discard(pid)

    # -- the run ------------------------------------------------------------------
    def _at(self, t: float):
        return asyncio.sleep(max(0.0, (t - self.rec.now()) / 1000.0))

    async def run(self) -> list[dict]:
        self.session = ClientSession(timeout=ClientTimeout(total=30.0), connector=TCPConnector(limit=0))
        self.relay.session = self.session
        background: list[asyncio.Task] = []
        try:
            await self.relay.start()
            await asyncio.gather(*(self._start(n) for n in self.nodes.values()))
            self._restarts = {n: sum(1 for f in self.plan.faults if f.kind == "restart" and f.arg == n)
                              for n in self.nodes}
            await asyncio.gather(*(self._ensure_standby(self.nodes[n]) for n in self.nodes if self._restarts[n]))
            self.rec.t0 = time.monotonic() * 1000.0  # the scenario's time 0: every node is ready
            for name, node in self.nodes.items():
                self.relay.ports[name] = node.port
            loop = asyncio.get_running_loop()
            self.prepares: list[asyncio.Task] = []
            faults = loop.create_task(self._faults())
            proposals = loop.create_task(self._proposals())
            background += [faults, proposals]
            await self._until_done(faults, proposals)
            self.end_t = self.rec.now()
            # Due, but not carried out when the run stopped (a restart still waiting for its node to start).
            self.unfinished = [f for f, task in self.fault_tasks if f.at <= self.end_t
                               and not task.done()]
            up = [n for n, node in self.nodes.items() if node.port is not None]
            decided = await self._statuses(up)
            self.rec.closed = True
            for task in background + self.prepares:
                task.cancel()
            return self._merge(decided, up)
        finally:
            for task in background:
                task.cancel()
            self.rec.closed = True
            await asyncio.gather(*(self._kill(n) for n in self.nodes.values()), return_exceptions=True)
            await asyncio.gather(*(self._kill_standby(n) for n in self.nodes.values()), return_exceptions=True)
            await self.relay.stop()
            await self.session.close()

    async def _faults(self) -> None:
        """Each fault at its time (ties in file order).  A node's crashes and
        restarts are serialized: a restart waits for the process to be ready
        (its `restart` event is recorded then), and a crash due meanwhile
        waits for it; other faults keep their times."""
        locks = {n: asyncio.Lock() for n in self.scenario.nodes}
        order = sorted(range(len(self.plan.faults)), key=lambda i: (self.plan.faults[i].at, i))
        tasks = [asyncio.get_running_loop().create_task(self._fault(self.plan.faults[i], locks)) for i in order]
        self.fault_tasks = [(self.plan.faults[i], task) for i, task in zip(order, tasks)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _fault(self, fault, locks) -> None:
        await self._at(fault.at)
        kind, arg = fault.kind, fault.arg
        net = self.relay.net
        if kind == "crash":
            async with locks[arg]:
                node = self.nodes[arg]
                if node.port is None:
                    return
                self.relay.ports[arg] = None
                self.relay.crashed(arg)
                self.rec.emit("crash", node=arg)
                await self._kill(node)
        elif kind == "restart":
            async with locks[arg]:
                node = self.nodes[arg]
                if node.proc is not None:
                    return
                self.relay.restarting(arg)
                if self.scenario.storage == "volatile":
                    self._empty(node)
                    self.relay.forget(arg)
                await self._start(node)
                self.relay.ports[arg] = node.port
                self.rec.emit("restart", node=arg, storage=self.scenario.storage)
                self._restarts[arg] -= 1
                if self._restarts[arg]:
                    await self._ensure_standby(node)
                for p in self.scenario.proposers:
                    if p.node == arg and p.at <= self.rec.now():
                        self._prepare(p)
        elif kind == "partition":
            net.partition.set(arg)
            self.rec.emit("partition", groups=[list(g) for g in arg])
        elif kind == "heal":
            net.partition.heal()
            self.rec.emit("heal")
        elif kind == "cut":
            net.cuts.cut.add(arg)
            self.rec.emit("cut", src=arg[0], dst=arg[1])
        elif kind == "uncut":
            net.cuts.cut.discard(arg)
            self.rec.emit("uncut", src=arg[0], dst=arg[1])
        net.update()

    def _empty(self, node: NodeProcess) -> None:
        """Volatile storage: keep the node's trace of its past life, empty the rest."""
        keep = self.workdir / "traces"
        keep.mkdir(exist_ok=True)
        trace = node.data / TRACE_FILE
        if trace.exists():
            trace.rename(keep / f"{node.name}.{node.lives}.jsonl")
        shutil.rmtree(node.data, ignore_errors=True)
        node.data.mkdir(parents=True)

    async def _proposals(self) -> None:
        for p in sorted(self.scenario.proposers, key=lambda p: p.at):
            await self._at(p.at)
            if self.nodes[p.node].port is not None:
                self._prepare(p)
            # a node that is down proposes on restart

    def _prepare(self, p) -> None:
        task = asyncio.get_running_loop().create_task(self._post_prepare(p))
        self.prepares.append(task)

    async def _post_prepare(self, p) -> None:
        port = self.nodes[p.node].port
        timeout = max(1.0, self.scenario.duration - self.rec.now())
        try:
            async with self.session.post(f"http://127.0.0.1:{port}/prepare",
                                         json={"value": p.value, "timeout": timeout}) as resp:
                data = await resp.json(content_type=None)
        except (ClientError, asyncio.TimeoutError, ValueError, OSError):
            return
        if resp.status == 200 and isinstance(data, dict) and _is_value(data.get("decided")):
            self.relay.note_decided(p.node, data["decided"])

    async def _states(self, names) -> dict[str, tuple[Any, Any]]:
        """{node: (decided value or None, its /status "proposing")}; "proposing"
        is _UNSEEN when the node does not report it (or did not answer)."""
        async def one(name):
            port = self.nodes[name].port
            value, proposing = None, _UNSEEN
            if port is not None:
                try:
                    async with self.session.get(f"http://127.0.0.1:{port}/status",
                                                timeout=ClientTimeout(total=5.0)) as resp:
                        data = await resp.json(content_type=None)
                    if isinstance(data, dict):
                        value, proposing = data.get("decided"), data.get("proposing", _UNSEEN)
                        if not _is_value(value):  # a malformed answer is no decision
                            value = None
                except (ClientError, asyncio.TimeoutError, ValueError, OSError):
                    pass
            if value is None:
                value = self.relay.wire_decided.get(name)
            return name, (value, proposing)

        return dict(await asyncio.gather(*(one(n) for n in names)))

    async def _statuses(self, names) -> dict[str, Any]:
        """{node: decided value} for the nodes that answer and have decided."""
        return {name: value for name, (value, _p) in (await self._states(names)).items() if value is not None}

    async def _until_done(self, faults: asyncio.Task, proposals: asyncio.Task) -> None:
        """Return when the run should stop (or raise what stopped a fault).

        Always at `duration`.  Before it, only once every fault and proposal
        start has happened, and then:

        * quiet (any `stop:`; the simulator's "no event left"): the relay
          holds no message and has carried nothing new for QUIET_MS; every
          node that is up and sent a `learn` (in its current life) has had a
          `learned` from every other node delivered, so a node that stays
          down keeps the run going to `duration`, as its learns are re-sent
          in the simulator; and every node that is up is idle: if its
          /status reports `proposing`, that is not a ballot in progress
          (phase prepare, accept or backoff) and, if its proposal is due,
          it has received it (a decided node then announces the value
          again); if not, it has decided.
        * `stop: when-decided`: every node that is up has decided, the relay
          holds no prepare or accept, and no node that is up reports a
          ballot in progress.

        Each is checked on the relay, then on the nodes' /status, then on
        the relay again (nothing new may have been sent meanwhile)."""
        duration = self.scenario.duration
        when_decided = self.scenario.stop == "when-decided"
        while self.rec.now() < duration:
            if faults.done() and faults.exception() is not None:
                raise faults.exception()
            if faults.done() and proposals.done() and await self._may_stop(when_decided):
                return
            await asyncio.sleep(min(0.02, max(0.0, (duration - self.rec.now()) / 1000.0)))

    def _relay_allows(self, up: list[str], sends: int) -> tuple[bool, bool]:
        """(quiet, decided-rule) as far as the relay can tell; `sends`: the
        relay's send count when the check began."""
        relay = self.relay
        unchanged = relay.sends == sends
        quiet = (unchanged and not relay.in_flight() and relay.learns_acked(up)
                 and self.rec.now() - relay.last_send >= QUIET_MS)
        return quiet, unchanged and not relay.in_flight("prepare", "accept")

    async def _may_stop(self, when_decided: bool) -> bool:
        up = [n for n, node in self.nodes.items() if node.port is not None]
        sends = self.relay.sends
        quiet, decided_ok = self._relay_allows(up, sends)
        if not quiet and not (when_decided and decided_ok and up):
            return False
        states = await self._states(up)
        if [n for n, node in self.nodes.items() if node.port is not None] != up:
            return False  # a crash or restart meanwhile
        now = self.rec.now()
        due = {p.node for p in self.scenario.proposers if p.at <= now}
        active = any(isinstance(prop, dict) and prop.get("phase") in ACTIVE for _v, prop in states.values())

        def idle(name: str) -> bool:
            value, proposing = states[name]
            if proposing is _UNSEEN:
                return value is not None
            return proposing is not None or name not in due  # a decided node asked to propose announces

        quiet2, decided_ok2 = self._relay_allows(up, sends)
        if quiet and quiet2 and not active and all(idle(n) for n in up):
            return True
        return (when_decided and decided_ok and decided_ok2 and bool(up) and not active
                and all(value is not None for value, _p in states.values()))

    # -- one trace ------------------------------------------------------------------
    def _node_events(self, name: str) -> list[dict]:
        lives = []  # NAME.<life>.jsonl, one per life that ended in a volatile restart (a node "n1.x" is not n1's)
        if (self.workdir / "traces").exists():
            for f in (self.workdir / "traces").iterdir():
                life = f.name[len(name) + 1:-len(".jsonl")]
                if f.name.startswith(name + ".") and f.name.endswith(".jsonl") and life.isdigit():
                    lives.append((int(life), f))
        files = [f for _life, f in sorted(lives)]
        files.append(self.nodes[name].data / TRACE_FILE)
        out = []
        for path in files:
            if not path.exists():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a SIGKILL
                if isinstance(ev, dict) and isinstance(ev.get("t"), (int, float)) and isinstance(ev.get("kind"), str):
                    try:
                        _check_node_event(ev, name)
                    except WireError as exc:
                        raise ClusterError(f"{path}:{number}: {exc}") from None
                    out.append(ev)
        return out

    def _own_votes(self, name: str) -> list[dict]:
        """The votes a node judged from the wire cast at its own ballots, as
        far as its decisions vouch for them.  A node's messages to itself
        never reach the relay, so its own acceptor's vote for its own
        `accept` is invisible: without it a value chosen by the proposer and
        one other acceptor (a majority of three) shows one vote short, and
        the checker would call a correct node's decision unsupported.  When
        the node decided a value for which its accept at ballot B has
        exactly one vote too few on the wire, the missing vote is its own:
        it is added at the time of that accept, unless the node had promised
        a higher ballot on the wire by then (it would have refused).  A node
        that counts itself without voting is therefore not caught from the
        wire alone (docs/http-protocol.md says so)."""
        end_t = self.end_t
        phase2 = self.scenario.phase2
        decided = {ev["value"] for ev in self.relay.derived
                   if ev["kind"] == "decide" and ev["node"] == name and ev["t"] <= end_t}
        voters: dict[tuple, set] = {}
        promised: list[tuple[float, tuple]] = []
        for ev in self.relay.derived:
            if ev["t"] > end_t:
                continue
            if ev["kind"] == "vote":
                voters.setdefault((tuple(ev["ballot"]), ev["value"]), set()).add(ev["node"])
            elif ev["kind"] == "promise" and ev["node"] == name:
                promised.append((ev["t"], tuple(ev["ballot"])))
        out, seen = [], set()
        for ev in self.rec.events:
            msg = ev.get("msg")
            if ev["kind"] != "send" or ev["src"] != name or ev["t"] > end_t or msg["type"] != "accept":
                continue
            ballot, value = tuple(msg["ballot"]), msg["value"]
            key = (ballot, value)
            if (key in seen or ballot[1] != name or value not in decided
                    or name in voters.get(key, ()) or len(voters.get(key, ())) != phase2 - 1
                    or any(t <= ev["t"] and b > ballot for t, b in promised)):
                continue
            seen.add(key)
            out.append({"kind": "vote", "t": ev["t"], "node": name, "ballot": msg["ballot"], "value": value})
        return out

    def _down_spans(self, name: str) -> list[tuple[float, float]]:
        """(crash, restart or end) times of each stretch `name` was recorded
        down.  The crash is recorded just before the SIGKILL, and nothing
        reaches a restarted process before its restart is recorded, so what
        the node wrote inside one of these was written by the dying process."""
        spans, since = [], None
        for ev in self.rec.events:
            if ev.get("node") != name:
                continue
            if ev["kind"] == "crash" and since is None:
                since = ev["t"]
            elif ev["kind"] == "restart" and since is not None:
                spans.append((since, ev["t"]))
                since = None
        if since is not None:
            spans.append((since, float("inf")))
        return spans

    def _merge(self, decided: dict, up: list[str]) -> list[dict]:
        end_t = self.end_t
        t0 = self.rec.t0
        merged = [dict(ev) for ev in self.rec.events if ev["t"] <= end_t]
        local_ids: dict[str, int] = {}
        self.wire_only: list[str] = []
        for name in self.scenario.nodes:
            events = self._node_events(name)
            observed = [ev for ev in events if ev["kind"] in OBSERVATIONS and ev.get("node") == name]
            if not observed and self.node_cmd is not None:
                self.wire_only.append(name)
                merged.extend(dict(ev) for ev in self.relay.derived if ev["node"] == name and ev["t"] <= end_t)
                merged.extend(self._own_votes(name))
                continue
            down = self._down_spans(name)
            started = None  # when the process writing these events started (its "start" record), if it says
            for ev in events:
                t = ev["t"] - t0
                if ev["kind"] == "start":
                    started = t
                if t < 0 or t > end_t:
                    continue
                for since, until in down:
                    if since < t < until and (started is None or started < since):
                        t = since - 0.001  # written by the process being killed, before SIGKILL landed
                        break
                kind = ev["kind"]
                if kind == "promise":
                    merged.append({"kind": kind, "t": t, "node": name, "ballot": ev["ballot"]})
                elif kind == "vote":
                    merged.append({"kind": kind, "t": t, "node": name, "ballot": ev["ballot"], "value": ev["value"]})
                elif kind == "propose":
                    merged.append({"kind": kind, "t": t, "node": name, "ballot": ev["ballot"], "value": ev["value"],
                                   "quorum": ev.get("quorum", [])})
                elif kind == "decide":
                    merged.append({"kind": kind, "t": t, "node": name, "value": ev["value"]})
                elif kind == "send" and ev.get("src") == name and ev.get("dst") == name:
                    mid = local_ids.setdefault(ev["id"], self.rec.next_id + len(local_ids))
                    merged.append({"kind": "send", "t": t, "id": mid, "src": name, "dst": name, "msg": ev["msg"]})
                elif kind == "deliver" and ev.get("src") == name and ev.get("dst") == name and ev["id"] in local_ids:
                    merged.append({"kind": "deliver", "t": t, "id": local_ids[ev["id"]]})
        merged.sort(key=lambda ev: ev["t"])
        # A local delivery whose send fell outside the window is dropped with it.
        sent = {ev["id"] for ev in merged if ev["kind"] == "send"}
        merged = [ev for ev in merged if ev["kind"] not in ("deliver", "drop") or ev["id"] in sent]
        scenario = dict(self.scenario.to_dict(), seed=self.seed)
        header = {"kind": "header", "paxsim": __version__, "format": FORMAT, "seed": self.seed,
                  "scenario": scenario, "runtime": "http", "clock": "wall"}
        out = [header]
        seq = 0
        if self.drawn is not None:
            out.append({"kind": "random-faults", "seq": seq, "t": 0.0, **self.drawn.to_json()})
            seq += 1
        totals = {"sent": 0, "delivered": 0, "dropped": {"loss": 0, "partition": 0, "cut": 0, "crashed": 0},
                  "duplicated": 0}
        for ev in merged:
            ev["seq"] = seq
            ev["t"] = round(ev["t"], 3)
            seq += 1
            kind = ev["kind"]
            if kind == "send":
                totals["sent"] += 1
            elif kind == "deliver":
                totals["delivered"] += 1
            elif kind == "drop":
                totals["dropped"][ev["reason"]] += 1
            elif kind == "duplicate":
                totals["duplicated"] += 1
            out.append(ev)
        out.append({"kind": "end", "seq": seq, "t": round(end_t, 3), "messages": totals,
                    "decided": {n: decided[n] for n in up if n in decided}, "up": up})
        return out


_UNSEEN = object()  # a node's /status does not report "proposing"


def _check_node_event(ev: dict, name: str) -> None:
    """A node's own trace record of a kind the merge reads has the fields it
    reads (docs/http-protocol.md); WireError (one line, naming the field) if not."""
    kind = ev["kind"]
    if kind in ("promise", "vote", "propose"):
        check_ballot(ev.get("ballot"), "ballot")
    if kind in ("vote", "propose", "decide"):
        check_value(ev.get("value"), "value")
    if kind == "propose" and "quorum" in ev and not (
            isinstance(ev["quorum"], list) and all(isinstance(n, str) for n in ev["quorum"])):
        raise WireError(f"quorum: a list of node names; got {ev['quorum']!r}")
    if kind in ("send", "deliver") and ev.get("src") == name and ev.get("dst") == name:
        if not isinstance(ev.get("id"), (str, int)):
            raise WireError(f"id: a message id (a string or an integer); got {ev.get('id')!r}")
        if kind == "send":
            try:
                parse_message(ev.get("msg"))
            except WireError as exc:
                raise WireError(f"msg: {exc}") from None


def _is_value(data: Any) -> bool:
    """Whether a node's "decided" is a value (a string or an integer), not null or nonsense."""
    try:
        check_value(data, "decided")
    except WireError:
        return False
    return True


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, be SIGKILLed when the cluster
    process dies, even by SIGKILL, when nothing else could clean up."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


async def _drain(stream_reader) -> None:
    """Read and discard a node's stdout, so it never blocks on a full pipe."""
    try:
        while await stream_reader.read(65536):
            pass
    except (asyncio.CancelledError, OSError):
        pass


def _last_line(path: Path) -> str:
    try:
        lines = [l for l in path.read_text(encoding="utf-8", errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _not_closed_loop_notes(record) -> bool:
    """A logging filter: False for asyncio's note that a child exited after
    its event loop closed.  Ctrl-C while a node is being spawned cancels
    the spawn, which kills the new process; its exit can come after the
    loop is gone (the process dies with this one regardless: see
    `_die_with_parent`), and the note would follow `interrupted`, the one
    line an interrupted command prints."""
    return not str(record.msg).startswith("Loop %r that handles pid %r is closed")


def run_cluster(scenario: Scenario, seed: int, workdir: Path, node_cmd: str | None = None) -> tuple[list[dict], Cluster]:
    """Run the scenario on real processes; returns the merged trace.  Every
    process is gone when this returns or raises (Ctrl-C and SIGTERM included)."""
    import logging

    cluster = Cluster(scenario, seed, workdir, node_cmd)
    asyncio_log = logging.getLogger("asyncio")
    if _not_closed_loop_notes not in asyncio_log.filters:
        asyncio_log.addFilter(_not_closed_loop_notes)

    async def main():
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        before = signal.getsignal(signal.SIGTERM)  # the console script's: SIGTERM interrupts like Ctrl-C
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await cluster.run()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)  # which leaves SIGTERM's default (death, 143)
            if callable(before) or before == signal.SIG_IGN:
                signal.signal(signal.SIGTERM, before)

    try:
        events = asyncio.run(main())
    except asyncio.CancelledError:  # SIGTERM: stopped like Ctrl-C
        raise KeyboardInterrupt from None
    finally:
        cluster.kill_all()
    return events, cluster
