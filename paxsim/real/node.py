"""One real node: the unchanged pure roles behind an aiohttp server.

Rules of this runtime (the protocol's rules, carried out for real):

1. Effects run in the order the role returned them.  `Persist` writes the
   whole stable state to a temporary file, fsyncs it, renames it over
   `state.json` and fsyncs the directory *before* the next effect runs, so a
   `kill -9` at any moment loses nothing that was acknowledged.  Handlers run
   on one event loop and carry out a role's effects without awaiting, so no
   two inputs interleave inside one effect list.
2. A `Send` addressed to the node whose request is being handled rides in the
   HTTP response (the promise is the answer to handle-prepare); every other
   send is a request to the peer's `/handle-<type>` endpoint.  A failed or
   refused request is a lost message, never an exception.
3. Timers draw their delay from `random.Random(f"{seed}:{name}:timers")`.
4. Every send, delivery and observation is appended (and flushed) to the
   node's JSON Lines trace with the machine's monotonic clock in ms.

The wire protocol is documented in docs/http-protocol.md.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from ..protocols.single import (
    Broadcast,
    CancelTimer,
    Decided,
    Node,
    NodeConfig,
    Persist,
    Promised,
    Proposed,
    RetryPolicy,
    Send,
    SetTimer,
    Voted,
)
from .wire import TYPES, WireError, check_value, parse_message, storage_from_json, storage_to_json

STATE_FILE = "state.json"
TRACE_FILE = "trace.jsonl"
PEER_TIMEOUT = ClientTimeout(total=30.0)


class StartupError(Exception):
    """A reason the node cannot start: one line, exit status 2."""


def now_ms() -> float:
    return time.monotonic() * 1000.0


def _natural(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def parse_peers(text: str, name: str) -> dict[str, str]:
    """`n2=http://127.0.0.1:8002,n3=...` -> {name: url}; StartupError if malformed."""
    peers: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        peer, sep, url = item.partition("=")
        peer, url = peer.strip(), url.strip().rstrip("/")
        if not sep or not peer or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise StartupError(f"--peers: {item!r} is not NAME=http://HOST:PORT")
        if peer == name:
            raise StartupError(f"--peers: {peer!r} is this node's own name")
        if peer in peers:
            raise StartupError(f"--peers: {peer!r} is listed twice")
        peers[peer] = url
    return peers


class NodeRuntime:
    def __init__(self, cfg: NodeConfig, peers: dict[str, str], data: Path, seed: int,
                 trace_path: Path | None = None) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.peers = peers
        self.data = data
        self.seed = seed
        self.state_path = data / STATE_FILE
        self.storage = self._load_storage()
        self.node = Node(cfg, self.storage)
        self.rng = random.Random(f"{seed}:{cfg.name}:timers")
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.waiters: list[asyncio.Future] = []
        self.tasks: set[asyncio.Task] = set()
        self.session: ClientSession | None = None
        self.pid = os.getpid()
        self.next_id = 0
        self.up_since = time.time()
        self.port: int | None = None
        try:
            self.trace = open(trace_path or data / TRACE_FILE, "a", encoding="utf-8")
        except OSError as exc:
            raise StartupError(f"{trace_path or data / TRACE_FILE}: cannot write the trace: {exc.strerror or exc}")

    # -- storage ----------------------------------------------------------------
    def _load_storage(self) -> dict:
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            probe = self.data / ".probe"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise StartupError(f"{self.data}: data directory is not writable: {exc.strerror or exc}")
        if not self.state_path.exists():
            return {}
        try:
            return storage_from_json(json.loads(self.state_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise StartupError(f"{self.state_path}: not a node state file ({exc})")

    def _write_storage(self) -> None:
        tmp = self.data / (STATE_FILE + ".tmp")
        text = json.dumps(storage_to_json(self.storage), sort_keys=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.state_path)
        dfd = os.open(self.data, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    # -- trace ------------------------------------------------------------------
    def record(self, kind: str, **fields: Any) -> None:
        fields["kind"] = kind
        fields["t"] = now_ms()
        fields["node"] = self.name
        self.trace.write(json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n")
        self.trace.flush()  # in the kernel: survives a SIGKILL of this process

    def _new_id(self) -> str:
        self.next_id += 1
        return f"{self.name}:{self.pid}:{self.next_id}"

    # -- effects ----------------------------------------------------------------
    def apply(self, effects: list, reply_to: str | None = None) -> list:
        """Carry out `effects` in order; returns the messages that ride in the
        response to `reply_to`."""
        replies = []
        for effect in effects:
            kind = type(effect)
            if kind is Send:
                if effect.dst == reply_to and reply_to != self.name:
                    self.record("send", id=self._new_id(), src=self.name, dst=effect.dst,
                                msg=effect.msg.to_json(), reply=True)
                    replies.append(effect.msg)
                else:
                    self._send(effect.dst, effect.msg)
            elif kind is Broadcast:
                for dst in effect.dsts:
                    self._send(dst, effect.msg)
            elif kind is Persist:
                self.storage[effect.key] = effect.data
                self._write_storage()  # durable before the next effect
            elif kind is SetTimer:
                self._set_timer(effect)
            elif kind is CancelTimer:
                handle = self.timers.pop(effect.name, None)
                if handle is not None:
                    handle.cancel()
            elif kind is Promised:
                self.record("promise", ballot=list(effect.ballot))
            elif kind is Voted:
                self.record("vote", ballot=list(effect.ballot), value=effect.value)
            elif kind is Proposed:
                self.record("propose", ballot=list(effect.ballot), value=effect.value, quorum=list(effect.quorum))
            elif kind is Decided:
                self.record("decide", value=effect.value)
                for fut in self.waiters:
                    if not fut.done():
                        fut.set_result(effect.value)
                self.waiters = []
            else:  # pragma: no cover - a new effect type must be taught to this runtime
                raise TypeError(f"unknown effect {effect!r}")
        return replies

    def _set_timer(self, effect: SetTimer) -> None:
        old = self.timers.pop(effect.name, None)
        if old is not None:
            old.cancel()
        delay = effect.lo if effect.hi <= effect.lo else self.rng.uniform(effect.lo, effect.hi)
        loop = asyncio.get_running_loop()
        self.timers[effect.name] = loop.call_later(delay / 1000.0, self._fire, effect.name)

    def _fire(self, name: str) -> None:
        self.timers.pop(name, None)
        self.apply(self.node.on_timer(name))

    def _send(self, dst: str, msg) -> None:
        mid = self._new_id()
        self.record("send", id=mid, src=self.name, dst=dst, msg=msg.to_json())
        loop = asyncio.get_running_loop()
        if dst == self.name:  # local delivery: no network, like the simulator
            loop.call_soon(self._deliver_local, mid, msg)
            return
        if dst not in self.peers:
            return  # nowhere to send it: lost
        task = loop.create_task(self._post(mid, dst, msg))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _deliver_local(self, mid: str, msg) -> None:
        self.record("deliver", id=mid, src=self.name, dst=self.name)
        self.apply(self.node.on_message(self.name, msg))

    async def _post(self, mid: str, dst: str, msg) -> None:
        body = {"from": self.name, "id": mid, **msg.to_json()}
        try:
            async with self.session.post(f"{self.peers[dst]}/handle-{msg.type}", json=body) as resp:
                if resp.status != 200:
                    return  # refused or dropped on the way: a lost message
                data = await resp.json(content_type=None)
        except (ClientError, asyncio.TimeoutError, ValueError, OSError):
            return  # an unreachable peer: a lost message
        if not isinstance(data, dict) or not isinstance(data.get("replies"), list):
            return
        for item in data["replies"]:
            try:
                reply = parse_message(item)
            except WireError:
                continue
            self.record("deliver", id=item.get("id") if isinstance(item, dict) else None, src=dst, dst=self.name)
            self.apply(self.node.on_message(dst, reply))

    # -- HTTP -------------------------------------------------------------------
    async def handle_message(self, request: web.Request) -> web.Response:
        kind = request.match_info["type"]
        if kind not in TYPES:
            return _error(400, f"unknown message type {kind!r} (endpoints: "
                               f"{', '.join('/handle-' + t for t in TYPES)})")
        try:
            data = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(data, dict):
            return _error(400, "expected a JSON object")
        src = data.get("from")
        if src not in self.cfg.nodes:
            return _error(400, f"from: {src!r} is not a node of this cluster ({', '.join(self.cfg.nodes)})")
        if src == self.name:
            return _error(400, f"from: {src!r} is this node: its messages to itself never come over HTTP")
        try:
            msg = parse_message({k: v for k, v in data.items() if k not in ("from", "id")}, kind)
        except WireError as exc:
            return _error(400, str(exc))
        self.record("deliver", id=data.get("id"), src=src, dst=self.name)
        replies = self.apply(self.node.on_message(src, msg), reply_to=src)
        return web.json_response({"replies": [r.to_json() for r in replies]})

    async def handle_prepare(self, request: web.Request) -> web.Response:
        start = now_ms()
        try:
            data = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(data, dict) or "value" not in data:
            return _error(400, 'expected {"value": V} (and optionally "timeout": ms)')
        try:
            check_value(data["value"], "value")
        except WireError as exc:
            return _error(400, str(exc))
        timeout = data.get("timeout", 10_000)
        try:  # NaN, Infinity and 1e400 parse as floats; a huge integer overflows one
            finite = type(timeout) in (int, float) and math.isfinite(timeout / 1000.0)
        except OverflowError:
            finite = False
        if not finite or timeout <= 0:
            shown = repr(timeout) if len(repr(timeout)) <= 40 else repr(timeout)[:37] + "..."
            return _error(400, f"timeout: a positive, finite number of ms; got {shown}")
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        self.apply(self.node.propose(data["value"]))
        if self.node.decided is not None and not fut.done():
            fut.set_result(self.node.decided)
        try:
            value = await asyncio.wait_for(asyncio.shield(fut), timeout / 1000.0)
        except asyncio.TimeoutError:
            return _error(504, f"no decision within {timeout:g} ms (the proposal goes on)")
        except _Stopping:
            return _error(503, "node stopping before a decision (the value may still be chosen by the others)")
        finally:  # nobody waits on it any more: `stopping` must not fail it unseen ("exception never retrieved")
            if fut in self.waiters:
                self.waiters.remove(fut)
        proposer = self.node.proposer
        ballot = proposer.ballot if proposer is not None else None
        return web.json_response({"decided": value, "ballot": None if ballot is None else list(ballot),
                                  "ms": round(now_ms() - start, 3)})

    def stopping(self) -> None:
        """The node is about to stop: every open /prepare answers 503 now,
        rather than having its connection closed with no answer."""
        for fut in self.waiters:
            if not fut.done():
                fut.set_exception(_Stopping())
        self.waiters = []

    async def handle_status(self, request: web.Request) -> web.Response:
        acc = self.node.acceptor
        proposer = self.node.proposer
        return web.json_response({
            "name": self.name,
            "pid": self.pid,
            "port": self.port,
            "nodes": list(self.cfg.nodes),
            "promised": None if acc.promised is None else list(acc.promised),
            "accepted": None if acc.accepted is None else {"ballot": list(acc.accepted[0]),
                                                           "value": acc.accepted[1]},
            "decided": self.node.decided,
            "proposing": None if proposer is None else {"value": proposer.value, "phase": proposer.phase,
                                                        "ballot": None if proposer.ballot is None
                                                        else list(proposer.ballot)},
            "up_since": self.up_since,
        })

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_json_errors])
        app.router.add_post("/prepare", self.handle_prepare)
        app.router.add_post("/handle-{type}", self.handle_message)
        app.router.add_get("/status", self.handle_status)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app) -> None:
        self.session = ClientSession(timeout=PEER_TIMEOUT, connector=TCPConnector(limit=0))

    async def _cleanup(self, app) -> None:
        for handle in self.timers.values():
            handle.cancel()
        for task in list(self.tasks):
            task.cancel()
        if self.session is not None:
            await self.session.close()
        self.trace.close()


class _Stopping(Exception):
    """Set on the futures of open /prepare requests when the node stops."""


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _json_errors(request, handler):
    """Every error answer is one line of JSON, 404s and 405s included."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, exc.reason)


async def serve(runtime: NodeRuntime, host: str, port: int, ready=None) -> None:
    """Serve until SIGTERM or SIGINT.  Prints `READY <port>` once accepting."""
    # shutdown_timeout: on SIGTERM or Ctrl-C, an open /prepare (which waits up to its "timeout" for the
    # decision) gets a second to finish, not aiohttp's 60.
    runner = web.AppRunner(runtime.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(f"--port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}")
    runtime.port = runner.addresses[0][1]
    runtime.record("start", pid=runtime.pid, port=runtime.port)
    print(f"READY {runtime.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        runtime.stopping()
        await asyncio.sleep(0)  # the open /prepare handlers write their 503 before the server shuts
    finally:
        await runner.cleanup()


def build_config(name: str, peers: dict[str, str], nodes: str | None, quorum: str | None,
                 retry: RetryPolicy, learning: str, bugs) -> NodeConfig:
    if nodes:
        order = tuple(n.strip() for n in nodes.split(",") if n.strip())
        missing = [n for n in [name, *peers] if n not in order]
        if missing or len(set(order)) != len(order):
            raise StartupError(f"--nodes: must list each of {', '.join([name, *peers])} once")
    else:
        order = tuple(sorted([name, *peers], key=_natural))
    n = len(order)
    if quorum:
        try:
            p1, p2 = (int(x) for x in quorum.split(","))
        except ValueError:
            raise StartupError(f"--quorum: expected PHASE1,PHASE2; got {quorum!r}") from None
        if not (1 <= p1 <= n and 1 <= p2 <= n):
            raise StartupError(f"--quorum {quorum}: each quorum must be between 1 and {n} (the nodes)")
        if p1 + p2 <= n:  # as the simulator's scenarios: quorums that may miss each other are unsafe
            raise StartupError(f"--quorum {quorum}: unsafe quorums: phase-1 and phase-2 quorums of {n} nodes "
                               f"do not intersect unless PHASE1 + PHASE2 > {n}")
    else:
        p1 = p2 = n // 2 + 1
    return NodeConfig(name, order, p1, p2, retry, learning, frozenset(bugs))


def run_node(name: str, port: int, peers_text: str, data: Path, *, host: str = "127.0.0.1", seed: int = 0,
             nodes: str | None = None, quorum: str | None = None, retry: RetryPolicy = RetryPolicy(),
             learning: str = "proposer", bugs=(), trace: Path | None = None, standby: bool = False) -> int:
    """Run a node until SIGTERM/SIGINT; returns the exit status (2 on bad input).
    With `standby`, wait for a line on stdin before reading storage and
    listening (end of input: exit 0): a cluster starts restarts this way."""
    if standby:
        print("STANDBY", flush=True)
        if not sys.stdin.readline():
            return 0
    try:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
            raise StartupError(f"--name: {name!r} is not a node name (letters, digits, '_', '.', '-')")
        peers = parse_peers(peers_text, name)
        cfg = build_config(name, peers, nodes, quorum, retry, learning, bugs)
        runtime = NodeRuntime(cfg, peers, data, seed, trace)
        asyncio.run(serve(runtime, host, port))
    except StartupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0
