"""Scenario files: YAML -> validated, frozen `Scenario`.

Every error is a `ScenarioError` whose text is one line naming the file, the
line, the path inside the document, what was found and what was expected:

    scenarios/x.yaml:12: faults[2].partition: unknown node 'n7' (nodes are n1..n5)

Loading is safe: PyYAML's safe composer only, standard scalar tags only,
duplicate keys rejected, and a bound on how many values a document may expand
to (alias bombs).  Structure is checked against the published JSON Schema
(`paxsim/scenario.schema.json`); what a schema cannot say (known node names,
crash/restart order, quorum intersection, ...) is checked here by hand.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # in annotations only; imported on first use (see _yaml)
    import yaml

from .protocols.single import BUGS, RetryPolicy

MAX_FILE_BYTES = 1 << 20
MAX_ELEMENTS = 100_000
MAX_DEPTH = 64  # nesting levels; a real scenario needs fewer than 10
DEFAULT_DURATION = 2000.0
LATENCY_PARAMS = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "pareto": ("scale", "shape"),
}
DIMENSIONLESS = {"sigma", "shape"}
PROTOCOL_KINDS = ("single-decree", "multi-paxos")
OPERATIONS = ("get", "put", "append", "cas")
DEFAULT_MIX = (("get", 2.0), ("put", 1.0), ("append", 1.0), ("cas", 1.0))
MAX_KEYS = 1_000_000  # workload.keys
# A scenario's nodes: a number far beyond this filled memory before a word was said.  The liveness
# analysis's search for a connected quorum keeps a list of candidates per quorum member: 10,000
# nodes take about 0.5 GB and 7 s for a 1 ms run, and it grows with the square.
MAX_NODES = 10_000
MAX_RANDOM_EVENTS = 100_000  # faults.random.events: drawn before the run begins, silently
MAX_CLIENTS = 1_000_000  # workload.clients: 100,000 take about 260 MB and 10 s before the first operation
SINGLE_ONLY = ("quorum", "retry", "learning")  # protocol keys multi-paxos does not use
MULTI_ONLY = ("window", "heartbeat", "election", "catchup_batch")
VIOLATES = {
    "single-decree": ("agreement", "validity", "integrity", "acceptor", "fail-stop"),
    "multi-paxos": ("agreement", "divergence", "order", "exactly-once", "fail-stop", "linearizability"),
}
FAULT_KINDS = ("partition", "heal", "crash", "restart", "cut", "uncut")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(us|ms|s)\s*$")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}

Path_ = tuple  # a path inside the document: keys and list indices


class ScenarioError(ValueError):
    """Bad scenario input; `str()` is the one line to show the user."""

    def __init__(self, source: str, line: int | None, path: Path_, message: str) -> None:
        self.source, self.line, self.path, self.message = source, line, path, message
        where = source if line is None else f"{source}:{line}"
        loc = format_path(path)
        super().__init__(f"{where}: {loc}: {message}" if loc else f"{where}: {message}")


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --------------------------------------------------------------------------
# YAML -> plain data, with the line of every value
# --------------------------------------------------------------------------
def _unreadable(exc: ValueError, text: str) -> str:
    """Why a value cannot be read, in paxsim's words rather than Python's (whose message for a long
    number tells the user to call `sys.set_int_max_str_digits()`)."""
    if "integer string conversion" in str(exc):
        from .trace import too_many_digits

        return too_many_digits(sum(c.isdigit() for c in text))
    return f"cannot read {text[:40]!r}{'...' if len(text) > 40 else ''}: {exc}"


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.count = 0
        self.open: list[yaml.Node] = []  # the nodes being converted, outermost first
        self.constructor = _yaml().SafeLoader("")

    def fail(self, node: yaml.Node, path: Path_, message: str) -> ScenarioError:
        return ScenarioError(self.source, node.start_mark.line + 1, path, message)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        yaml = _yaml()
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise self.fail(node, path, f"document expands to more than {MAX_ELEMENTS} values (an alias bomb?)")
        if any(node is outer for outer in self.open):
            raise self.fail(node, path, "an alias refers to a value that contains it (a cycle)")
        if len(self.open) >= MAX_DEPTH:
            raise self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self.open.append(node)
        try:
            return self._collection(node, path)
        finally:
            self.open.pop()

    def _collection(self, node: yaml.Node, path: Path_) -> Any:
        yaml = _yaml()
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, path, "a mapping key must be a plain string")
                key = self.convert(key_node, path)
                if not isinstance(key, str):
                    key = str(key) if key is not None else "null"
                if key in out:
                    first = self.lines[path + (key,)]
                    raise self.fail(key_node, path + (key,), f"duplicate key {key!r} (first given on line {first})")
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self.convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        raise self.fail(node, path, f"unsupported YAML node {type(node).__name__}")

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r} (only plain values are allowed)")
        try:
            value = self.constructor.construct_object(node)
        except ValueError as exc:  # Python reads no whole number of more than 4,300 digits
            raise self.fail(node, path, _unreadable(exc, node.value)) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, path, f"expected a finite number, found {node.value!r}")
        return value


def _check_depth(loader: yaml.SafeLoader, source: str) -> None:
    """Refuse deep nesting before PyYAML's recursive composer meets it (a
    RecursionError otherwise), reading the event stream, which is flat."""
    yaml = _yaml()
    depth = 0
    while not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ScenarioError(source, event.start_mark.line + 1, (),
                                    f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _compose(loader_class, text: str, source: str) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        _check_depth(loader, source)
    finally:
        loader.dispose()
    loader = loader_class(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _yaml():
    """PyYAML, imported when a scenario or a --set value is first read, not
    with this module: its import costs 20 to 30 ms (yaml.reader compiles a
    large regular expression), which a sweep's workers never need, and
    `paxsim sweep --jobs N` starts them before the parent reads the file."""
    import yaml

    return yaml


def _fast_loader():
    """libyaml's parser, when PyYAML has it: it reads a file ten times
    faster than PyYAML's own (2 ms of a command's start-up); it composes the
    same nodes, tags resolved by the same resolver.  Whatever it refuses is
    read again by PyYAML's parser, which words the problem as paxsim always
    has."""
    return getattr(_yaml(), "CSafeLoader", None)


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    yaml = _yaml()
    fast = _fast_loader()
    node = unread = object()
    if fast is not None:
        try:
            node = _compose(fast, text, source)
        except (yaml.YAMLError, ScenarioError, RecursionError):
            node = unread
    try:
        if node is unread:
            node = _compose(yaml.SafeLoader, text, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(source, line, (), f"YAML syntax error: {problem}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ScenarioError(source, None, (), f"the document is nested too deeply (scenarios need fewer than "
                                              f"{MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, None, (), f"YAML error: {exc}") from None
    if node is None:
        raise ScenarioError(source, 1, (), "the file is empty (expected a scenario mapping with at least 'nodes')")
    reader = _Reader(source)
    data = reader.convert(node, ())
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "null"
        raise ScenarioError(source, node.start_mark.line + 1, (), f"the top level must be a mapping of scenario keys, found a {kind}")
    return data, reader.lines


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Latency:
    dist: str
    params: tuple[tuple[str, float], ...]

    def param(self, name: str) -> float:
        return dict(self.params)[name]

    def to_dict(self) -> dict:
        return {"dist": self.dist, **dict(self.params)}


@dataclass(frozen=True, slots=True)
class Link:
    src: str
    dst: str
    latency: Latency | None = None
    loss: float | None = None
    duplicate: float | None = None

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"from": self.src, "to": self.dst}
        if self.latency is not None:
            out["latency"] = self.latency.to_dict()
        if self.loss is not None:
            out["loss"] = self.loss
        if self.duplicate is not None:
            out["duplicate"] = self.duplicate
        return out


@dataclass(frozen=True, slots=True)
class Network:
    latency: Latency
    loss: float
    duplicate: float
    links: tuple[Link, ...]

    def to_dict(self) -> dict:
        return {
            "latency": self.latency.to_dict(),
            "loss": self.loss,
            "duplicate": self.duplicate,
            "links": [link.to_dict() for link in self.links],
        }


@dataclass(frozen=True, slots=True)
class Proposal:
    node: str
    value: str | int
    at: float


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault.  `arg` is: groups (partition), None (heal),
    a node name (crash, restart) or a (src, dst) pair (cut, uncut)."""

    at: float
    kind: str
    arg: Any

    def to_dict(self) -> dict:
        if self.kind == "partition":
            arg: Any = [list(g) for g in self.arg]
        elif self.kind == "heal":
            arg = "all"
        elif self.kind in ("cut", "uncut"):
            arg = {"from": self.arg[0], "to": self.arg[1]}
        else:
            arg = self.arg
        return {"at": self.at, self.kind: arg}


@dataclass(frozen=True, slots=True)
class RandomFaults:
    """A fault profile drawn per seed (see paxsim/sim/faults.py).  A kind is
    None when the profile does not use it."""

    until: float
    events: int = 4
    swarm: bool = True
    max_down: int = 1
    crash: tuple[float, float] | None = None  # downtime range
    partition: tuple[float, float] | None = None  # length range
    cut: tuple[float, float] | None = None  # length range
    loss: float | None = None  # drawn in [0, loss]
    duplicate: float | None = None  # drawn in [0, duplicate]
    delay: tuple[float, float] | None = None  # (share of messages, max extra delay)
    # What a run may suffer and still be within the protocol's assumptions (paxsim/liveness.py):
    # ((key, limit), ...) over down, partitions, cuts (ints) and loss (a probability); () when not given.
    budget: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"until": self.until, "events": self.events, "swarm": self.swarm,
                               "max_down": self.max_down}
        for key in ("crash", "partition", "cut"):
            value = getattr(self, key)
            if value is not None:
                out[key] = {"down" if key == "crash" else "length": list(value)}
        if self.loss is not None:
            out["loss"] = self.loss
        if self.duplicate is not None:
            out["duplicate"] = self.duplicate
        if self.delay is not None:
            out["delay"] = {"share": self.delay[0], "max": self.delay[1]}
        if self.budget:
            out["budget"] = dict(self.budget)
        return out


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """A node's clock: local = offset + t * (1 + drift / 1e6) + the steps so far (paxsim/sim/clocks.py)."""

    offset: float = 0.0  # ms
    drift: float = 0.0  # ppm
    steps: tuple[tuple[float, float], ...] = ()  # (at global ms, by ms): the clock jumps

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"offset": self.offset, "drift": self.drift}
        if self.steps:
            out["steps"] = [{"at": at, "by": by} for at, by in self.steps]
        return out


@dataclass(frozen=True, slots=True)
class Clocks:
    """Per-node clocks: a default, per-node settings, and a random profile
    (offset and drift drawn per node and seed, added to the settings)."""

    default: ClockSpec = ClockSpec()
    nodes: tuple[tuple[str, ClockSpec], ...] = ()
    random: tuple[float, float] | None = None  # (max |offset| ms, max |drift| ppm)

    @property
    def skews(self) -> bool:
        """Whether any node's clock can differ from the simulation's."""
        return (self.random is not None or self.default != ClockSpec()
                or any(spec != ClockSpec() for _name, spec in self.nodes))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"default": self.default.to_dict(),
                               "nodes": {name: spec.to_dict() for name, spec in self.nodes}}
        if self.random is not None:
            out["random"] = {"offset": self.random[0], "drift": self.random[1]}
        return out


@dataclass(frozen=True, slots=True)
class Script:
    """Exact fates, by key.  A message key is (src, dst, type, ballot or None,
    n): the n-th message (from 1) with that link, type and ballot.  A fate is
    None (dropped) or a delay in ms.  A timer key is (node, timer, n)."""

    messages: tuple[tuple[tuple, float | None, Any], ...] = ()  # (key, fate, copy fate or "none")
    timers: tuple[tuple[tuple, float], ...] = ()

    def to_dict(self) -> dict:
        def fate(f):
            return "drop" if f is None else f

        messages = []
        for (src, dst, kind, ballot, n), f, copy in self.messages:
            m: dict[str, Any] = {"from": src, "to": dst, "type": kind}
            if ballot is not None:
                m["ballot"] = list(ballot)
            m.update(n=n, fate=fate(f))
            if copy != "none":
                m["copy"] = fate(copy)
            messages.append(m)
        timers = [{"node": node, "timer": timer, "n": n, "delay": d} for (node, timer, n), d in self.timers]
        return {"messages": messages, "timers": timers}


@dataclass(frozen=True, slots=True)
class Explore:
    """Fault budgets for `paxsim explore` (the whole schedule, not per node).
    `timers` bounds how many timer firings a schedule may contain: without it
    a proposer could retry forever and the space would be infinite."""

    loss: int = 0
    duplicate: int = 0
    crash: int = 0
    restart: int | None = None  # default: as many as crashes
    timers: int = 0
    symmetry: bool = True

    def to_dict(self) -> dict:
        return {"loss": self.loss, "duplicate": self.duplicate, "crash": self.crash,
                "restart": self.crash if self.restart is None else self.restart,
                "timers": self.timers, "symmetry": self.symmetry}


@dataclass(frozen=True, slots=True)
class Expect:
    decided: bool = False
    within: float | None = None
    safety: str = "holds"
    violates: str | None = None  # a counterexample: the run must break this property
    ops: int | None = None  # multi-paxos: at least this many operations complete ok

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"decided": self.decided, "safety": self.safety}
        if self.within is not None:
            out["within"] = self.within
        if self.violates is not None:
            out["violates"] = self.violates
        if self.ops is not None:
            out["ops"] = self.ops
        return out


@dataclass(frozen=True, slots=True)
class MultiOptions:
    """multi-paxos protocol options (see paxsim.protocols.multi.NodeConfig)."""

    window: int = 8
    heartbeat: float = 20.0
    election: tuple[float, float] = (100.0, 200.0)
    catchup_batch: int = 64

    def to_dict(self) -> dict:
        return {"window": self.window, "heartbeat": self.heartbeat,
                "election": list(self.election), "catchup_batch": self.catchup_batch}

    def node_options(self) -> dict:
        """The keyword options of the protocol's `node_config`."""
        return {"window": self.window, "heartbeat": self.heartbeat, "election": self.election,
                "catchup_batch": self.catchup_batch}


@dataclass(frozen=True, slots=True)
class Workload:
    """The clients of a multi-paxos run and what they invoke."""

    clients: int = 4
    mix: tuple[tuple[str, float], ...] = DEFAULT_MIX
    keys: int = 5
    distribution: str = "uniform"
    zipf_exponent: float = 1.0
    loop: str = "closed"
    rate: float = 100.0  # open loop: arrivals per simulated second
    think: float = 0.0  # closed loop: ms between a completion and the next invoke
    timeout: tuple[float, float] = (200.0, 300.0)
    attempts: int = 5
    nodes: tuple[str, ...] = ()  # the nodes clients talk to
    start: float = 0.0
    stop: float = 0.0

    @property
    def client_names(self) -> tuple[str, ...]:
        return tuple(f"c{i}" for i in range(1, self.clients + 1))

    def to_dict(self) -> dict:
        return {"clients": self.clients, "mix": dict(self.mix), "keys": self.keys,
                "distribution": self.distribution, "zipf_exponent": self.zipf_exponent, "loop": self.loop,
                "rate": self.rate, "think": self.think, "timeout": list(self.timeout),
                "attempts": self.attempts, "nodes": list(self.nodes), "start": self.start, "stop": self.stop}


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    seed: int
    duration: float
    nodes: tuple[str, ...]
    phase1: int
    phase2: int
    unsafe: bool
    retry: RetryPolicy
    storage: str
    proposers: tuple[Proposal, ...]
    network: Network
    faults: tuple[Fault, ...]
    expect: Expect
    bugs: tuple[str, ...] = ()
    learning: str = "proposer"
    write_latency: float = 0.0
    random_faults: RandomFaults | None = None
    script: Script | None = None
    explore: Explore | None = None
    clocks: Clocks | None = None
    source: str = field(default="<scenario>", compare=False)
    kind: str = "single-decree"  # the protocol; the rest of this block only for multi-paxos
    multi: MultiOptions | None = None
    workload: Workload | None = None
    stop: str = "end"  # or "when-decided" (single-decree): see paxsim/sim/runtime.py, Simulation._stop_check

    def to_dict(self) -> dict:
        """The normalized form: all defaults filled in, durations in ms.
        `scenario_from_dict(s.to_dict())` gives back an equal scenario."""
        quorum: dict[str, Any] = {"phase1": self.phase1, "phase2": self.phase2}
        if self.unsafe:
            quorum["unsafe"] = True
        if self.kind != "single-decree":
            return self._to_dict_multi()
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "duration": self.duration,
            "nodes": list(self.nodes),
            "protocol": {
                "quorum": quorum,
                "retry": {
                    "timeout": self.retry.timeout,
                    "backoff": self.retry.backoff,
                    "jitter": self.retry.jitter,
                    "max": self.retry.max,
                },
                "storage": self.storage,
                "learning": self.learning,
                "write_latency": self.write_latency,
                "bugs": list(self.bugs),
            },
            "proposers": [{"node": p.node, "value": p.value, "at": p.at} for p in self.proposers],
            "network": self.network.to_dict(),
            "faults": ([f.to_dict() for f in self.faults] if self.random_faults is None else
                       {"schedule": [f.to_dict() for f in self.faults], "random": self.random_faults.to_dict()}),
            "expect": self.expect.to_dict(),
            **({"script": self.script.to_dict()} if self.script is not None else {}),
            **({"explore": self.explore.to_dict()} if self.explore is not None else {}),
            **({"clocks": self.clocks.to_dict()} if self.clocks is not None else {}),
            **({"stop": self.stop} if self.stop != "end" else {}),  # the default adds nothing to headers
        }

    def _to_dict_multi(self) -> dict:
        # Single-decree's normalized form (and so its trace headers) has no
        # `kind`; every other protocol names itself first.
        out = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "duration": self.duration,
            "nodes": list(self.nodes),
            "protocol": {
                "kind": self.kind,
                **self.multi.to_dict(),
                "storage": self.storage,
                "write_latency": self.write_latency,
                "bugs": list(self.bugs),
            },
            "proposers": [],  # traces' headers carry the key (clients come from the workload)
            "workload": self.workload.to_dict(),
            "network": self.network.to_dict(),
            "faults": ([f.to_dict() for f in self.faults] if self.random_faults is None else
                       {"schedule": [f.to_dict() for f in self.faults], "random": self.random_faults.to_dict()}),
            "expect": self.expect.to_dict(),
        }
        if self.script is not None:
            out["script"] = self.script.to_dict()
        if self.clocks is not None:
            out["clocks"] = self.clocks.to_dict()
        return out

    def with_changes(self, **changes: Any) -> "Scenario":
        return replace(self, **changes)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schema() -> dict:
    """The published JSON Schema of scenario files."""
    try:  # beside this module, as an installed or checked-out paxsim has it
        text = Path(__file__).with_name("scenario.schema.json").read_text(encoding="utf-8")
    except OSError:  # imported from an archive: ask the import system (which costs start-up time)
        from importlib import resources

        text = resources.files("paxsim").joinpath("scenario.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# What YAML 1.1 (PyYAML) reads as text though it looks like a number: an exponent without a dot
# in the mantissa or a sign in the exponent (1e3, 2.5e3), and so a number where one was expected is refused.
_TEXT_NUMBER = re.compile(r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+")


def _found(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):  # not "null null"
        return _type_name(value)
    if isinstance(value, str) and _TEXT_NUMBER.fullmatch(value.strip()) \
            and math.isfinite(number := float(value.strip().replace("_", ""))):  # not 1e400: no number at all
        return f"{value!r} (YAML reads {value.strip()} as text, not a number: write it with a dot and a signed " \
               f"exponent, such as {number:.1e}, or in full)"
    return f"{_type_name(value)} {json.dumps(value)}" if not isinstance(value, str) else f"{value!r}"


def _did_you_mean(word: str, choices) -> str:
    import difflib  # only for a bad scenario: a good one starts without it

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe_schema_error(error) -> tuple[Path_, str]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Branches whose type does not even match say nothing useful; if a
        # branch of the right type failed deeper, that is the real problem.
        relevant = [e for e in error.context
                    if not (e.validator in ("type", "const") and len(e.absolute_path) == len(error.absolute_path))]
        deepest = max(relevant, key=lambda e: len(e.absolute_path), default=None)
        if deepest is not None and (len(deepest.absolute_path) > len(error.absolute_path)
                                    or deepest.validator in ("required", "additionalProperties")
                                    or "x-expected" not in error.schema):
            return _describe_schema_error(deepest)
    path = tuple(error.absolute_path)
    schema_ = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    v = error.validator
    if v == "additionalProperties":
        allowed = set(schema_.get("properties", {}))
        extras = [k for k in instance if k not in allowed]
        key = extras[0]
        hint = _did_you_mean(key, allowed) or f" (expected one of: {', '.join(sorted(allowed))})"
        return path + (key,), f"unknown key {key!r}{hint}"
    if v == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return path, f"missing key {missing[0]!r}"
    if v in ("minProperties", "maxProperties") and "x-expected" in schema_:
        return path, f"expected {schema_['x-expected']}, found keys {', '.join(map(repr, instance))}"
    if "x-expected" in schema_:
        return path, f"expected {schema_['x-expected']}, found {_found(instance)}"
    if v == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        names = {"object": "a mapping", "array": "a list", "number": "a number", "integer": "an integer",
                 "string": "a string", "boolean": "true or false"}
        return path, f"expected {names.get(expected, expected)}, found {_found(instance)}"
    if v == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        hint = _did_you_mean(instance, error.validator_value) if isinstance(instance, str) else ""
        return path, f"expected one of {options}, found {_found(instance)}{hint}"
    if v == "minItems":
        return path, f"expected at least {error.validator_value} item(s), found {len(instance)}"
    return path, error.message


# What `_surely_valid` understands.  Any other keyword (a schema change) makes
# it answer "unsure", and jsonschema decides.
_ANNOTATIONS = frozenset({"description", "x-expected", "title", "$schema", "$id", "$defs", "default", "examples"})
_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _surely_valid(value: Any, sch: Any) -> bool:
    """A quick check of `value` against the scenario schema, without
    importing jsonschema (about 100 ms of a command's start-up): True only
    when `value` is certainly valid.  False means "invalid, or not sure",
    and jsonschema then checks (and words the error) as before, so a False
    answer never changes what a user sees; a True one skips jsonschema,
    which would have found no error.  Keywords are read as JSON Schema
    2020-12 does for the subset the scenario schema uses; anything else
    (numbers compared with booleans in enum or const, non-string keys, an
    unknown keyword) is "not sure"."""
    if sch is True:
        return True
    if type(sch) is not dict:
        return False
    for key, want in sch.items():
        if key in _ANNOTATIONS:
            continue
        if key == "$ref":
            if type(want) is not str or not want.startswith("#/$defs/"):
                return False
            target = schema()["$defs"].get(want[len("#/$defs/"):])
            if target is None or not _surely_valid(value, target):
                return False
        elif key == "type":
            if not any(_is_type(value, t) for t in (want if type(want) is list else [want])):
                return False
        elif key == "enum" or key == "const":
            options = want if key == "enum" else [want]
            if type(value) not in (str, int, float) or type(value) is bool or not any(
                    type(o) is type(value) and o == value for o in options):
                return False
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if type(value) in (int, float):
                if type(want) not in (int, float) or (type(value) is float and not math.isfinite(value)):
                    return False
                if not {"minimum": value >= want, "maximum": value <= want,
                        "exclusiveMinimum": value > want, "exclusiveMaximum": value < want}[key]:
                    return False
            elif type(value) is not str and type(value) is not dict and type(value) is not list \
                    and value is not None and type(value) is not bool:
                return False
        elif key == "pattern":
            if type(value) is str and not re.search(want, value):
                return False
        elif key in ("minItems", "maxItems"):
            if type(value) is list and not (len(value) >= want if key == "minItems" else len(value) <= want):
                return False
        elif key == "items":
            if type(value) is list and not all(_surely_valid(v, want) for v in value):
                return False
        elif key in ("minProperties", "maxProperties"):
            if type(value) is dict and not (len(value) >= want if key == "minProperties" else len(value) <= want):
                return False
        elif key == "required":
            if type(value) is dict and not all(k in value for k in want):
                return False
        elif key == "properties":
            if type(value) is dict:
                for k, v in value.items():
                    if type(k) is not str:
                        return False
                    if k in want and not _surely_valid(v, want[k]):
                        return False
        elif key == "additionalProperties":
            if type(value) is dict:
                known = sch.get("properties", {})
                for k, v in value.items():
                    if type(k) is not str:
                        return False
                    if k not in known and not _surely_valid(v, want):
                        return False
        elif key == "anyOf":
            if not any(_surely_valid(value, branch) for branch in want):
                return False
        else:
            return False
    return True


def _is_type(value: Any, name: str) -> bool:
    if name == "number":
        return type(value) in (int, float)
    if name == "integer":
        return type(value) is int
    if name == "null":
        return value is None
    cls = _JSON_TYPES.get(name)
    return cls is not None and type(value) is cls


def _check_schema(data: dict, source: str, lines: dict[Path_, int]) -> None:
    if _surely_valid(data, schema()):
        return
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    described = [_describe_schema_error(e) for e in errors]
    path, message = min(described, key=lambda pm: (_line(lines, pm[0]) or 0, -len(pm[0])))
    raise ScenarioError(source, _line(lines, path), path, message)


def _line(lines: dict[Path_, int], path: Path_) -> int | None:
    if not lines:
        return None
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def duration_ms(value: Any) -> float:
    """'50ms' -> 50.0; '2s' -> 2000.0; '100us' -> 0.1; 7 -> 7.0 (schema-checked input)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"not a duration: {value!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def signed_ms(value: Any) -> float:
    """'-3ms' -> -3.0; a duration that may be negative (schema-checked input)."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -duration_ms(value.strip()[1:])
    return duration_ms(value)


def ppm(value: Any) -> float:
    """'200ppm' -> 200.0; a number is ppm already (schema-checked input)."""
    if isinstance(value, str):
        return float(value.strip()[:-3])
    return float(value)


class _Builder:
    """Semantic checks and construction of the frozen model (input already schema-valid)."""

    def __init__(self, data: dict, source: str, lines: dict[Path_, int], proposers_optional: bool = False) -> None:
        self.data, self.source, self.lines = data, source, lines
        self.proposers_optional = proposers_optional

    def fail(self, path: Path_, message: str) -> ScenarioError:
        return ScenarioError(self.source, _line(self.lines, path), path, message)

    def build(self) -> Scenario:
        d = self.data
        nodes = self._nodes()
        self.nodes = nodes
        duration = duration_ms(d.get("duration", DEFAULT_DURATION))
        if duration <= 0:
            raise self.fail(("duration",), "expected a duration > 0, found 0")
        self.duration = duration
        protocol = d.get("protocol", {})
        kind = self.kind = protocol.get("kind", "single-decree")
        for key in (MULTI_ONLY if kind == "single-decree" else SINGLE_ONLY):
            if key in protocol:
                raise self.fail(("protocol", key), f"{key} is not an option of {kind} "
                                f"(options of {'multi-paxos' if kind == 'single-decree' else 'single-decree'} only)")
        if kind == "single-decree" and "workload" in d:
            raise self.fail(("workload",), "a workload is for protocol kind multi-paxos "
                            "(add protocol: {kind: multi-paxos})")
        if kind != "single-decree" and d.get("proposers"):
            raise self.fail(("proposers",), "proposers are for single-decree; multi-paxos clients come from workload")
        phase1, phase2, unsafe = self._quorum(protocol.get("quorum", "majority"), len(nodes))
        retry = self._retry(protocol.get("retry", {}))
        proposers = self._proposers(d.get("proposers", []))
        network = self._network(d.get("network", {}))
        raw_faults = d.get("faults", [])
        random_faults = None
        if isinstance(raw_faults, dict):
            faults = self._faults(raw_faults.get("schedule", []), ("faults", "schedule"))
            random_faults = self._random_faults(raw_faults["random"], len(nodes))
        else:
            faults = self._faults(raw_faults)
        expect_d = d.get("expect", {})
        within = expect_d.get("within")
        expect = Expect(
            decided=expect_d.get("decided", False),
            within=None if within is None else duration_ms(within),
            safety=expect_d.get("safety", "holds" if "violates" not in expect_d else "may-violate"),
            violates=expect_d.get("violates"),
            ops=expect_d.get("ops"),
        )
        if expect.violates is not None and expect.violates not in VIOLATES[kind]:
            raise self.fail(("expect", "violates"), f"{expect.violates} is not a property of {kind} "
                            f"(its properties: {', '.join(VIOLATES[kind])})")
        if kind != "single-decree" and (expect.decided or expect.within is not None):
            key = "decided" if expect.decided else "within"
            raise self.fail(("expect", key), f"{key} is about single-decree learners; a {kind} run decides a log "
                            "(expect ops: N, operations completed ok, is its liveness check)")
        if expect.ops is not None and kind == "single-decree":
            raise self.fail(("expect", "ops"), "ops counts client operations: for protocol kind multi-paxos")
        if expect.violates is not None and expect.safety == "holds":
            raise self.fail(("expect", "safety"), "safety: holds contradicts violates: "
                            f"{expect.violates} (use safety: may-violate, or leave it out)")
        bugs = self._bugs(protocol.get("bugs", []))
        multi = workload = None
        self.clients: tuple[str, ...] = ()
        if kind == "multi-paxos":
            multi = self._multi(protocol)
            workload = self._workload(d.get("workload", {}))
            self.clients = workload.client_names
        script = self._script(d["script"]) if "script" in d else None
        stop = d.get("stop", "end")
        if stop != "end" and kind != "single-decree":
            raise self.fail(("stop",), f"{stop} is for single-decree scenarios (a {kind} run ends at its duration)")
        if not proposers and kind == "single-decree" and not self.proposers_optional:  # last: other mistakes first
            raise self.fail(("proposers",), "no proposers: nothing would be proposed or decided "
                            "(give at least one, e.g. proposers: [{node: n1, value: a}])")
        return Scenario(
            name=d.get("name", Path(self.source).stem if self.source else "scenario"),
            description=d.get("description", ""),
            seed=d.get("seed", 0),
            duration=duration,
            nodes=nodes,
            phase1=phase1,
            phase2=phase2,
            unsafe=unsafe,
            retry=retry,
            storage=protocol.get("storage", "durable"),
            proposers=proposers,
            network=network,
            faults=faults,
            expect=expect,
            bugs=bugs,
            learning=protocol.get("learning", "proposer"),
            write_latency=duration_ms(protocol.get("write_latency", 0)),
            random_faults=random_faults,
            script=script,
            explore=Explore(**d["explore"]) if "explore" in d else None,
            clocks=self._clocks(d["clocks"]) if "clocks" in d else None,
            source=self.source,
            **({"kind": kind, "multi": multi, "workload": workload} if kind != "single-decree" else {}),
            stop=stop,
        )

    def _clock_spec(self, raw: dict, p: Path_, base: "ClockSpec | None" = None) -> ClockSpec:
        base = base or ClockSpec()
        steps = tuple((self._time(st["at"], p + ("steps", i, "at")), signed_ms(st["by"]))
                      for i, st in enumerate(raw.get("steps", [])))
        return ClockSpec(offset=signed_ms(raw["offset"]) if "offset" in raw else base.offset,
                         drift=ppm(raw["drift"]) if "drift" in raw else base.drift,
                         steps=steps if "steps" in raw else base.steps)

    def _clocks(self, raw: dict) -> Clocks:
        default = self._clock_spec(raw.get("default", {}), ("clocks", "default"))
        nodes = []
        for name, spec in raw.get("nodes", {}).items():
            if name not in self.nodes:
                raise self.fail(("clocks", "nodes", name), f"no node named {name!r}{_did_you_mean(str(name), self.nodes)}")
            nodes.append((name, self._clock_spec(spec, ("clocks", "nodes", name), default)))
        nodes.sort(key=lambda ns: self.nodes.index(ns[0]))
        rnd = raw.get("random")
        random = None if rnd is None else (abs(signed_ms(rnd.get("offset", 0))), abs(ppm(rnd.get("drift", 0))))
        self._check_drifts(raw, default, nodes, random)
        return Clocks(default, tuple(nodes), random)

    def _check_drifts(self, raw: dict, default: ClockSpec, nodes: list, random) -> None:
        """A drift of -1,000,000 ppm stops a clock (local time would never
        reach a timer), and below that it runs backwards: refuse both, drawn
        drifts included."""
        specs = [(("clocks", "default", "drift"), default)] + \
            [(("clocks", "nodes", name, "drift"), spec) for name, spec in nodes]  # a node without one has default's
        for path, spec in specs:
            if spec.drift <= -1e6:
                raise self.fail(path, f"a drift of {spec.drift:.12g}ppm stops the clock or runs it backwards: "
                                      f"a drift must be above -1000000ppm")
        if random is not None and random[1]:
            slowest = min([default.drift] + [spec.drift for _, spec in nodes])
            if slowest - random[1] <= -1e6:
                raise self.fail(("clocks", "random", "drift"),
                                f"drawn drifts of up to -{random[1]:.12g}ppm added to {slowest:.12g}ppm could stop a clock "
                                f"or run it backwards: a node's drift must stay above -1000000ppm")

    def _nodes(self) -> tuple[str, ...]:
        raw = self.data["nodes"]
        count = raw if isinstance(raw, int) else len(raw)
        if count > MAX_NODES:
            raise self.fail(("nodes",), f"{count:,} nodes is more than {MAX_NODES:,} (the analysis of a run "
                                        "grows with the square of the nodes: 10,000 take about 0.5 GB)")
        if isinstance(raw, int):
            return tuple(f"n{i}" for i in range(1, raw + 1))
        seen: dict[str, int] = {}
        for i, name in enumerate(raw):
            if name in seen:
                raise self.fail(("nodes", i), f"duplicate node name {name!r} (also nodes[{seen[name]}])")
            seen[name] = i
        return tuple(raw)

    def _describe_nodes(self) -> str:
        n = self.nodes
        if n == tuple(f"n{i}" for i in range(1, len(n) + 1)):
            return f"n1..n{len(n)}" if len(n) > 1 else "n1"
        return ", ".join(n)

    def _node(self, name: str, path: Path_) -> str:
        if name not in self.nodes:
            raise self.fail(path, f"unknown node {name!r}{_did_you_mean(name, self.nodes)} (nodes are {self._describe_nodes()})")
        return name

    def _endpoint(self, name: str, path: Path_) -> str:
        """A node, or one of the workload's clients."""
        return name if name in self.clients else self._node(name, path)

    def _time(self, value: Any, path: Path_) -> float:
        t = duration_ms(value)
        if t > self.duration:
            raise self.fail(path, f"time {t:g}ms is after the end of the run (duration {self.duration:g}ms)")
        return t

    def _quorum(self, raw: Any, n: int) -> tuple[int, int, bool]:
        if raw == "majority":
            return n // 2 + 1, n // 2 + 1, False
        p1, p2, unsafe = raw["phase1"], raw["phase2"], raw.get("unsafe", False)
        for key, q in (("phase1", p1), ("phase2", p2)):
            if q > n:
                raise self.fail(("protocol", "quorum", key), f"quorum {q} is larger than the {n} nodes")
        if p1 + p2 <= n and not unsafe:
            raise self.fail(
                ("protocol", "quorum"),
                f"unsafe quorums: phase1 {p1} + phase2 {p2} <= {n} nodes, so a phase-1 and a phase-2 quorum "
                "may not intersect (add 'unsafe: true' to study that)",
            )
        return p1, p2, bool(unsafe)

    def _bugs(self, raw: list) -> tuple[str, ...]:
        seen = []
        if self.kind == "single-decree":
            catalog = BUGS
        else:  # imported only for such a scenario: a single-decree run never loads Multi-Paxos
            from .protocols.multi import BUGS as catalog
        for i, name in enumerate(raw):
            if name not in catalog:
                raise self.fail(("protocol", "bugs", i),
                                f"unknown {'' if catalog is BUGS else self.kind + ' '}bug {name!r}"
                                f"{_did_you_mean(name, catalog)} "
                                f"(known: {', '.join(catalog)})")
            if name in seen:
                raise self.fail(("protocol", "bugs", i), f"bug {name!r} is listed twice "
                                f"(also protocol.bugs[{seen.index(name)}])")
            seen.append(name)
        return tuple(seen)

    def _range(self, raw: Any, path: Path_, default: tuple[float, float]) -> tuple[float, float]:
        if raw is None:
            return default
        lo, hi = duration_ms(raw[0]), duration_ms(raw[1])
        if hi < lo:
            raise self.fail(path, f"range [{lo:g}ms, {hi:g}ms] is empty: low above high")
        if hi <= 0:
            raise self.fail(path, "expected a range of durations above 0, found [0, 0]")
        return lo, hi

    def _multi(self, raw: dict) -> MultiOptions:
        default = MultiOptions()
        heartbeat = duration_ms(raw.get("heartbeat", default.heartbeat))
        if heartbeat <= 0:
            raise self.fail(("protocol", "heartbeat"), "expected a duration > 0, found 0")
        election = self._range(raw.get("election"), ("protocol", "election"), default.election)
        if election[0] <= heartbeat:
            raise self.fail(("protocol", "election"), f"election timeout {election[0]:g}ms is not above the "
                            f"heartbeat {heartbeat:g}ms: followers would depose a live leader")
        return MultiOptions(window=raw.get("window", default.window), heartbeat=heartbeat, election=election,
                            catchup_batch=raw.get("catchup_batch", default.catchup_batch))

    def _workload(self, raw: dict) -> Workload:
        default = Workload()
        mix = tuple((f, float(raw["mix"][f])) for f in OPERATIONS if f in raw.get("mix", {})) or default.mix
        if not any(w > 0 for _, w in mix):
            raise self.fail(("workload", "mix"), "every weight is 0: no operation would be invoked")
        nodes = tuple(self._node(n, ("workload", "nodes", i)) for i, n in enumerate(raw.get("nodes", self.nodes)))
        if len(set(nodes)) < len(nodes):
            i = next(i for i, n in enumerate(nodes) if n in nodes[:i])
            raise self.fail(("workload", "nodes", i), f"{nodes[i]!r} is listed twice "
                            f"(also workload.nodes[{nodes.index(nodes[i])}])")
        start = self._time(raw.get("start", 0), ("workload", "start"))
        stop = self._time(raw.get("stop", self.duration), ("workload", "stop"))
        if stop < start:
            raise self.fail(("workload", "stop"), f"stop {stop:g}ms is before start {start:g}ms")
        if raw.get("clients", default.clients) > MAX_CLIENTS:  # before the builder names them all
            raise self.fail(("workload", "clients"), f"{raw['clients']:,} clients is more than {MAX_CLIENTS:,}")
        keys = raw.get("keys", default.keys)
        if keys > MAX_KEYS:  # the driver keeps every key's name and weight: 30 million took 3 GB
            raise self.fail(("workload", "keys"), f"{keys} keys is more than {MAX_KEYS:,}")
        # rate (open loop), think (closed loop) and zipf_exponent (zipf) are ignored where they do not apply
        return Workload(
            clients=raw.get("clients", default.clients), mix=mix, keys=keys,
            distribution=raw.get("distribution", default.distribution),
            zipf_exponent=float(raw.get("zipf_exponent", default.zipf_exponent)),
            loop=raw.get("loop", default.loop), rate=float(raw.get("rate", default.rate)),
            think=duration_ms(raw.get("think", 0)),
            timeout=self._range(raw.get("timeout"), ("workload", "timeout"), default.timeout),
            attempts=raw.get("attempts", default.attempts), nodes=nodes, start=start, stop=stop)

    def _retry(self, raw: dict) -> RetryPolicy:
        default = RetryPolicy()
        timeout = duration_ms(raw.get("timeout", default.timeout))
        if timeout <= 0:
            raise self.fail(("protocol", "retry", "timeout"), "expected a duration > 0, found 0")
        top = duration_ms(raw.get("max", max(default.max, timeout)))
        if top < timeout:
            raise self.fail(("protocol", "retry", "max"), f"max {top:g}ms is below timeout {timeout:g}ms")
        return RetryPolicy(
            timeout=timeout,
            backoff=float(raw.get("backoff", default.backoff)),
            jitter=float(raw.get("jitter", default.jitter)),
            max=top,
        )

    def _proposers(self, raw: list) -> tuple[Proposal, ...]:
        out = []
        seen: dict[str, int] = {}
        for i, p in enumerate(raw):
            node = self._node(p["node"], ("proposers", i, "node"))
            if node in seen:
                raise self.fail(("proposers", i, "node"), f"node {node!r} already proposes (proposers[{seen[node]}])")
            seen[node] = i
            if type(p["value"]) is float:  # JSON Schema counts 1.0 as an integer; a trace would keep 1.0
                raise self.fail(("proposers", i, "value"), f"expected a string or an integer, found a number {p['value']!r}")
            out.append(Proposal(node, p["value"], self._time(p.get("at", 0), ("proposers", i, "at"))))
        return tuple(out)

    def _latency(self, raw: dict, path: Path_) -> Latency:
        dist = raw["dist"]
        expected = LATENCY_PARAMS[dist]
        for key in raw:
            if key != "dist" and key not in expected:
                article = "an" if dist[:1] in "aeiou" else "a"
                raise self.fail(path + (key,), f"unexpected key {key!r} for {article} {dist} latency "
                                               f"(it takes {', '.join(expected)})")
        params = []
        for key in expected:
            if key not in raw:
                raise self.fail(path, f"missing key {key!r} (a {dist} latency takes {', '.join(expected)})")
            params.append((key, float(raw[key]) if key in DIMENSIONLESS else duration_ms(raw[key])))
        lat = Latency(dist, tuple(params))
        if dist == "uniform" and lat.param("low") > lat.param("high"):
            raise self.fail(path + ("low",), f"low {lat.param('low'):g}ms is above high {lat.param('high'):g}ms")
        if dist == "exponential" and lat.param("mean") <= 0:
            raise self.fail(path + ("mean",), "expected a mean > 0, found 0")
        if dist == "pareto" and lat.param("scale") <= 0:
            raise self.fail(path + ("scale",), "expected a scale > 0, found 0")
        return lat

    def _network(self, raw: dict) -> Network:
        latency = self._latency(raw.get("latency", {"dist": "constant", "value": 1.0}), ("network", "latency"))
        links = []
        seen: dict[tuple[str, str], int] = {}
        for i, link in enumerate(raw.get("links", [])):
            p = ("network", "links", i)
            src = self._node(link["from"], p + ("from",))
            dst = self._node(link["to"], p + ("to",))
            if src == dst:
                raise self.fail(p, f"a link needs two different nodes, found {src!r} -> {dst!r}")
            if (src, dst) in seen:
                raise self.fail(p, f"link {src} -> {dst} is already configured (network.links[{seen[src, dst]}])")
            seen[src, dst] = i
            lat = self._latency(link["latency"], p + ("latency",)) if "latency" in link else None
            links.append(Link(src, dst, lat, link.get("loss"), link.get("duplicate")))
        return Network(latency, float(raw.get("loss", 0.0)), float(raw.get("duplicate", 0.0)), tuple(links))

    def _script(self, raw: dict) -> Script:
        def fate(value):
            return None if value == "drop" else duration_ms(value)

        messages, seen = [], set()
        for i, m in enumerate(raw.get("messages", [])):
            p = ("script", "messages", i)
            src = self._endpoint(m["from"], p + ("from",))
            dst = self._endpoint(m["to"], p + ("to",))
            ballot = m.get("ballot")
            if ballot is not None:
                if not (isinstance(ballot[0], int) and not isinstance(ballot[0], bool) and isinstance(ballot[1], str)):
                    raise self.fail(p + ("ballot",), f"expected a ballot [round, node], found {ballot!r}")
                ballot = (ballot[0], ballot[1])
            key = (src, dst, m["type"], ballot, m["n"])
            if key in seen:
                raise self.fail(p, "this message is already scripted above")
            seen.add(key)
            messages.append((key, fate(m["fate"]), fate(m["copy"]) if "copy" in m else "none"))
        timers, tseen = [], set()
        for i, t in enumerate(raw.get("timers", [])):
            p = ("script", "timers", i)
            key = (self._endpoint(t["node"], p + ("node",)), t["timer"], t["n"])
            if key in tseen:
                raise self.fail(p, "this timer is already scripted above")
            tseen.add(key)
            timers.append((key, duration_ms(t["delay"])))
        return Script(tuple(messages), tuple(timers))

    def _random_faults(self, raw: dict, n: int) -> RandomFaults:
        base = ("faults", "random")

        def span(key: str, sub: str) -> tuple[float, float] | None:
            if key not in raw:
                return None
            lo, hi = (duration_ms(v) for v in raw[key][sub])
            if lo > hi:
                raise self.fail(base + (key, sub), f"low {lo:g}ms is above high {hi:g}ms")
            return lo, hi

        until = self._time(raw.get("until", self.duration / 2), base + ("until",))
        if raw.get("events", 4) > MAX_RANDOM_EVENTS:  # each is drawn before the run: 10 million took 18 s
            raise self.fail(base + ("events",), f"{raw['events']:,} events is more than {MAX_RANDOM_EVENTS:,}")
        delay = raw.get("delay")
        return RandomFaults(
            until=until,
            events=raw.get("events", 4),
            swarm=raw.get("swarm", True),
            max_down=raw.get("max_down", (n - 1) // 2),
            crash=span("crash", "down"),
            partition=span("partition", "length"),
            cut=span("cut", "length"),
            loss=raw.get("loss"),
            duplicate=raw.get("duplicate"),
            delay=None if delay is None else (float(delay["share"]), duration_ms(delay["max"])),
            budget=tuple((k, raw["budget"][k]) for k in ("down", "partitions", "cuts", "loss")
                         if k in raw.get("budget", {})),
        )

    def _faults(self, raw: list, where: Path_ = ("faults",)) -> tuple[Fault, ...]:
        faults = []
        for i, f in enumerate(raw):
            kind = next(k for k in f if k != "at") if "at" in f else None
            p = where + (i,)
            if kind not in FAULT_KINDS:
                raise self.fail(p, f"expected one of {', '.join(FAULT_KINDS)} beside 'at', found {kind!r}{_did_you_mean(str(kind), FAULT_KINDS)}")
            at = self._time(f["at"], p + ("at",))
            value = f[kind]
            if kind == "partition":
                owner: dict[str, int] = {}
                for g, group in enumerate(value):
                    for j, name in enumerate(group):
                        self._node(name, p + (kind, g, j))
                        if name in owner:
                            raise self.fail(p + (kind, g, j), f"node {name!r} is in two groups ({owner[name]} and {g}); groups must not overlap")
                        owner[name] = g
                arg: Any = tuple(tuple(group) for group in value)
            elif kind == "heal":
                arg = None
            elif kind in ("crash", "restart"):
                arg = self._node(value, p + (kind,))
            else:
                src = self._node(value["from"], p + (kind, "from"))
                dst = self._node(value["to"], p + (kind, "to"))
                if src == dst:
                    raise self.fail(p + (kind,), f"a cut needs two different nodes, found {src!r} -> {dst!r}")
                arg = (src, dst)
            faults.append((at, i, Fault(at, kind, arg)))
        # Replay the schedule in time order to catch impossible sequences.
        down: set[str] = set()
        cuts: set[tuple[str, str]] = set()
        for at, i, fault in sorted(faults, key=lambda x: (x[0], x[1])):
            p = where + (i, fault.kind)
            if fault.kind == "crash":
                if fault.arg in down:
                    raise self.fail(p, f"node {fault.arg!r} is already down at {at:g}ms")
                down.add(fault.arg)
            elif fault.kind == "restart":
                if fault.arg not in down:
                    raise self.fail(p, f"node {fault.arg!r} is not down at {at:g}ms (restart needs an earlier crash)")
                down.discard(fault.arg)
            elif fault.kind == "cut":
                if fault.arg in cuts:
                    raise self.fail(p, f"link {fault.arg[0]} -> {fault.arg[1]} is already cut at {at:g}ms")
                cuts.add(fault.arg)
            elif fault.kind == "uncut":
                if fault.arg not in cuts:
                    raise self.fail(p, f"link {fault.arg[0]} -> {fault.arg[1]} is not cut at {at:g}ms")
                cuts.discard(fault.arg)
        return tuple(f for _, _, f in faults)


def scenario_from_dict(data: Any, source: str = "<scenario>", lines: dict[Path_, int] | None = None,
                       *, structure_checked: bool = False) -> Scenario:
    """Validate plain data (as read from YAML, or a trace header's normalized
    scenario) and build a `Scenario`.  Raises `ScenarioError`.
    `structure_checked=True` skips the JSON Schema pass, for data derived
    from an already valid scenario (the shrinker's thousands of candidates);
    the semantic checks still run."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise ScenarioError(source, _line(lines, ()), (), f"the top level must be a mapping of scenario keys, found {_type_name(data)}")
    if not structure_checked:
        _check_finite(data, source, lines, ())
        _check_schema(data, source, lines)
    return _Builder(data, source, lines).build()


def header_scenario(data: Any, source: str) -> Scenario:
    """A trace header's scenario, checked as `scenario_from_dict` checks a scenario file's, except
    that it may list no proposers (a trace need not come from a run: the checker judges a
    hand-written one whose header gives none, and then any value chosen violates validity) and
    may carry top-level keys no scenario has.  Raises `ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError(source, None, (), f"expected a mapping of scenario keys, found {_type_name(data)}")
    # A header may carry keys of its own (README, "Trace format"): only a scenario's are checked.
    data = {key: value for key, value in data.items() if key in schema()["properties"]}
    _check_finite(data, source, {}, ())
    _check_schema(data, source, {})
    scenario = _Builder(data, source, {}, proposers_optional=True).build()
    # A header holds its scenario normalized (durations as numbers of ms, as `to_dict` gives them), and
    # its readers take it so: a hand-edited `duration: "2s"` is valid in a file, not here.
    where = _not_normalized(data, scenario.to_dict(), ())
    if where is not None:
        path, raw, norm = where
        raise ScenarioError(source, None, path, f"expected {json.dumps(norm)}, the form a trace header holds "
                                                f"(durations in ms, as numbers), found {json.dumps(raw)[:80]}")
    return scenario


def _not_normalized(raw: Any, norm: Any, path: Path_) -> tuple[Path_, Any, Any] | None:
    """The first value of `raw` that differs from the normalized `norm` (keys `raw` leaves out, `norm`
    may add: its defaults), as (path, raw value, normalized value); None if they agree."""
    if isinstance(raw, dict) and isinstance(norm, dict):
        for key, value in raw.items():
            if key in norm:
                found = _not_normalized(value, norm[key], path + (key,))
                if found is not None:
                    return found
        return None
    if isinstance(raw, list) and isinstance(norm, (list, tuple)) and len(raw) == len(norm):
        for i, (a, b) in enumerate(zip(raw, norm)):
            found = _not_normalized(a, b, path + (i,))
            if found is not None:
                return found
        return None
    if isinstance(raw, bool) or isinstance(norm, bool):
        return None if raw is norm else (path, raw, norm)
    if isinstance(raw, (int, float)) and isinstance(norm, (int, float)):
        return None if raw == norm else (path, raw, norm)
    return None if type(raw) is type(norm) and raw == norm else (path, raw, norm)


_MAX_WHOLE_FLOAT = int(sys.float_info.max)  # a whole number past this is no float: durations, rates, weights


def _check_finite(value: Any, source: str, lines: dict, path: Path_) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(source, _line(lines, path), path, f"expected a finite number, found {value}")
    if type(value) is int and not -_MAX_WHOLE_FLOAT <= value <= _MAX_WHOLE_FLOAT \
            and path != ("seed",) and not (path[:1] == ("proposers",) and path[-1:] == ("value",)):
        raise ScenarioError(source, _line(lines, path), path, f"expected a finite number, found a whole number "
                                                              f"of {len(str(abs(value)))} digits (past a float's range)")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, source, lines, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, source, lines, path + (i,))


def read_scenario_data(path: str | Path) -> tuple[dict, dict[Path_, int]]:
    """The plain data of a scenario file and the line of every value, before
    validation (for tools that change it, like `--set`).  Raises `ScenarioError`."""
    source = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, None, (), f"file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(source, None, (), f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, None, (), f"not UTF-8 text (byte {exc.start})") from None
    return _read_yaml(text, source)


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML text."""
    data, lines = _read_yaml(text, source)
    return scenario_from_dict(data, source, lines)


def load_scenario(path: str | Path) -> Scenario:
    """Read, parse and validate a scenario file.  Raises `ScenarioError`."""
    data, lines = read_scenario_data(path)
    return scenario_from_dict(data, str(path), lines)


# --------------------------------------------------------------------------
# --set PATH=VALUE overrides (paxsim run, paxsim sweep)
# --------------------------------------------------------------------------
_SET_PATH = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*")
_SET_PART = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]")


class OverrideError(ValueError):
    """A malformed --set; `str()` is one line."""


def parse_set_path(path: str) -> Path_:
    """'network.links[0].loss' -> ('network', 'links', 0, 'loss')."""
    if not _SET_PATH.fullmatch(path):
        raise OverrideError(f"--set {path}: not a path like network.loss or faults[0].at")
    return tuple(name if name else int(index) for name, index in _SET_PART.findall(path))


def _split_values(text: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes."""
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def parse_set(text: str, many: bool = True) -> tuple[str, Path_, list]:
    """'network.loss=0,0.05,0.1' -> ('network.loss', path, [0, 0.05, 0.1]).
    Each value is read as YAML (safely): 50ms stays a string, 0.1 is a number.
    With many=False the whole right-hand side is one value."""
    if "=" not in text:
        raise OverrideError(f"--set {text}: expected PATH=VALUE, e.g. network.loss=0.1")
    yaml = _yaml()
    path_text, _, rhs = text.partition("=")
    path_text = path_text.strip()
    path = parse_set_path(path_text)
    raw_values = _split_values(rhs) if many else [rhs]
    values = []
    for raw in raw_values:
        if not raw.strip():
            raise OverrideError(f"--set {text}: empty value")
        try:
            values.append(yaml.safe_load(raw))
        except yaml.YAMLError:
            raise OverrideError(f"--set {text}: {raw.strip()!r} is not a YAML value") from None
        except ValueError as exc:  # a whole number too long for Python to read
            shown = text if len(text) <= 80 else f"{text[:80]}..."
            raise OverrideError(f"--set {shown}: {_unreadable(exc, raw.strip())}") from None
    return path_text, path, values


def parse_sets(texts, many: bool = False, flag: str = "--set ",
               hint: str = "give it once", bugs=()) -> list[tuple[str, Path_, list]]:
    """parse_set of each --set text, refusing a path given twice (the last
    would win, silently): "{flag}PATH is given twice; {hint}", where `hint`
    may name the path as {name}.  A path followed by one that holds it
    (network.loss, then network) is refused too: the later would undo the
    earlier.  The other order refines a whole mapping, and applies.  `bugs`
    (--bug names, which go into protocol.bugs before any --set) count as
    given first: a --set of protocol or protocol.bugs would undo them."""
    out: list[tuple[str, Path_, list]] = []
    for text in texts:
        name, path, values = parse_set(text, many=many)
        if bugs and tuple(path) == ("protocol", "bugs")[:len(path)]:
            raise OverrideError(f"--bug {bugs[0]} would be undone by {flag}{name}, which replaces "
                                f"{'the bugs' if len(path) == 2 else 'all of protocol'}; give the bugs in it, "
                                f"or drop --bug")
        for _name, seen, _values in out:
            if tuple(path) == tuple(seen):
                raise OverrideError(f"{flag}{name} is given twice; {hint.format(name=name)}")
            if len(path) < len(seen) and tuple(seen[:len(path)]) == tuple(path):
                raise OverrideError(f"{flag}{format_path(seen)} would be undone by the later {flag}{name}, which "
                                    f"replaces all of {name}; give {name} first, then the keys inside it")
        out.append((name, path, values))
    return out


def apply_set(data: dict, path: Path_, value: Any) -> dict:
    """A deep copy of `data` with `value` at `path` (mappings on the way are created)."""
    import copy

    out = copy.deepcopy(data)
    node: Any = out
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise OverrideError(f"--set {format_path(path)}: {format_path(path[:i + 1])} does not exist")
            node = node[key]
        else:
            if not isinstance(node, dict):
                raise OverrideError(f"--set {format_path(path)}: {format_path(path[:i])} is not a mapping")
            if key not in node:
                if isinstance(nxt, int):
                    raise OverrideError(f"--set {format_path(path)}: {format_path(path[:i + 1])} does not exist")
                node[key] = {}
            node = node[key]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise OverrideError(f"--set {format_path(path)}: {format_path(path)} does not exist")
    elif not isinstance(node, dict):
        raise OverrideError(f"--set {format_path(path)}: {format_path(path[:-1])} is not a mapping")
    node[last] = value
    return out


def add_bugs(data: dict, bugs) -> dict:
    """`data` with `bugs` added to protocol.bugs (what --bug does)."""
    if not bugs:
        return data
    protocol = data.get("protocol") if isinstance(data.get("protocol"), dict) else {}
    current = protocol.get("bugs") if isinstance(protocol.get("bugs"), list) else []
    return apply_set(data, ("protocol", "bugs"), list(dict.fromkeys([*current, *bugs])))


def load_variant(path: str | Path, sets=(), bugs=()) -> Scenario:
    """A scenario file with --bug names and --set PATH=VALUE overrides applied."""
    if not sets and not bugs:
        return load_scenario(path)
    data, lines = read_scenario_data(path)
    data = add_bugs(data, bugs)
    for _name, set_path, (value,) in parse_sets(sets, bugs=tuple(bugs)):
        data = apply_set(data, set_path, value)
    flags = " ".join([*(f"--bug {b}" for b in bugs), *(f"--set {t}" for t in sets)])
    return scenario_from_dict(data, f"{path} (with {flags})")
