"""The cluster's network: every node-to-node message goes through here.

Each node is given its peers as `http://127.0.0.1:RELAY/<self>/<peer>`, so a
request `POST /<src>/<dst>/handle-<type>` is one message from src to dst.
The relay records its `send`, draws its fate from the scenario's network
model seeded by the run's seed (the simulator's `NetworkModel`: per-link
latency, loss, duplication, and the partition and cut rules, judged at send
time), holds it for its latency, then forwards it to dst's real port and
records the `deliver` (or a `drop` with its reason).  The replies in dst's
HTTP response are messages from dst to src: the first rides back in the
response to src after its own drawn fate and latency, any others (and the
replies to a duplicate) are pushed to src's endpoint as requests.  A message
that is dropped answers the sender with a 503: a lost message.

For nodes paxsim cannot look inside (`--node-cmd`), the relay also derives
the protocol events from the wire: a promise sent means promised, an
accepted sent means voted (the value from the accept it answers), a learned
sent means decided.

For the cluster's stopping rule it also counts the messages it holds (sent,
not yet delivered or dropped), by type, and which `learn`s have been
acknowledged: `in_flight()` and `learns_acked()`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import ClientError, ClientSession, web

from ..sim.network import NetworkModel
from .wire import WireError, parse_message


class Recorder:
    """Events on one clock: ms since `t0`, the machine's monotonic clock."""

    def __init__(self) -> None:
        self.t0 = time.monotonic() * 1000.0
        self.events: list[dict] = []
        self.next_id = 0
        self.closed = False

    def now(self) -> float:
        return time.monotonic() * 1000.0 - self.t0

    def new_id(self) -> int:
        mid = self.next_id
        self.next_id += 1
        return mid

    def emit(self, kind: str, t: float | None = None, **fields: Any) -> None:
        if self.closed:
            return
        fields["kind"] = kind
        fields["t"] = self.now() if t is None else t
        self.events.append(fields)


class Relay:
    def __init__(self, rec: Recorder, network: NetworkModel, nodes: tuple[str, ...]) -> None:
        self.rec = rec
        self.net = network
        self.nodes = nodes
        self.ports: dict[str, int | None] = {n: None for n in nodes}  # None: down
        self.derived: list[dict] = []  # protocol events read off the wire
        self.wire_decided: dict[str, Any] = {}  # node -> value it last said it decided
        self.session: ClientSession | None = None
        self.tasks: set[asyncio.Task] = set()
        self.runner: web.AppRunner | None = None
        self.port: int | None = None
        self.held: dict[str, int] = {}  # message type -> how many are sent and not yet delivered or dropped
        self.learn_from: set[str] = set()  # nodes that sent a learn in their current life
        self.acked: dict[str, set[str]] = {}  # node -> the nodes whose learned it has been delivered
        self.last_send = 0.0  # when the relay last carried a new message (ms)
        self.crash_t: dict[str, float] = {}  # node -> when it was killed, while it is down
        self.sends = 0  # how many it has carried

    # -- server -----------------------------------------------------------------
    async def start(self) -> int:
        app = web.Application()
        app.router.add_post("/{src}/{dst}/handle-{type}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        self.rec.closed = True
        for task in list(self.tasks):
            task.cancel()
        if self.runner is not None:
            await self.runner.cleanup()

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, request: web.Request) -> web.Response:
        src, dst, kind = request.match_info["src"], request.match_info["dst"], request.match_info["type"]
        if src not in self.ports or dst not in self.ports:
            return web.json_response({"error": f"unknown link {src} -> {dst}"}, status=404)
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise WireError("expected a JSON object")
            msg = {k: v for k, v in data.items() if k not in ("from", "id")}
            parse_message(msg, kind)  # a "type" in the body must be the endpoint's, as a node checks it
            msg["type"] = kind
        except (ValueError, WireError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        replies = await self.send(src, dst, msg, respond=True)
        if replies is None:
            return web.json_response({"error": "lost"}, status=503)
        return web.json_response({"replies": replies})

    # -- carrying messages --------------------------------------------------------
    def _draw(self, src: str, dst: str) -> tuple[bool, bool, float]:
        """The simulator's draws: a loss coin, a duplication coin, a latency (ms)."""
        net = self.net
        link = net.links.get((src, dst)) or net.default
        rng = net.rng.random
        lost = link.loss > 0.0 and rng() < link.loss
        dup = link.duplicate > 0.0 and rng() < link.duplicate
        delay = link.latency()
        if net.delay_share and net.delay_rng.random() < net.delay_share:
            delay += net.delay_rng.uniform(0.0, net.delay_max)
        return lost, dup, delay

    def _sent(self, src: str, dst: str, msg: dict, answering: dict | None) -> int:
        mid = self.rec.new_id()
        t = self.rec.now()
        if src in self.crash_t:
            # From a node killed since: it wrote the message before it died (an answer the relay
            # reads only now, a request still on its way), so it was sent before the crash.
            t = min(t, self.crash_t[src] - 0.001)
        self.rec.emit("send", t=t, id=mid, src=src, dst=dst, msg=msg)
        self._observe(src, msg, t, answering)
        self._hold(msg)
        self.last_send = t
        self.sends += 1
        if msg["type"] == "learn":
            self.learn_from.add(src)
        return mid

    def _hold(self, msg: dict) -> None:
        self.held[msg["type"]] = self.held.get(msg["type"], 0) + 1

    def _release(self, msg: dict) -> None:
        """`msg` was delivered or dropped: the relay no longer holds it."""
        self.held[msg["type"]] -= 1

    def _delivered(self, src: str, dst: str, msg: dict) -> None:
        self._release(msg)
        if msg["type"] == "learned":
            self.acked.setdefault(dst, set()).add(src)

    def in_flight(self, *types: str) -> int:
        """How many messages (of `types`, or of any type) the relay holds; with
        no `types`, a reply it has yet to send back counts too."""
        held = sum(n for kind, n in self.held.items() if not types or kind in types)
        return held if types else held + len(self.tasks)

    def learns_acked(self, up) -> bool:
        """Every node in `up` that sent a `learn` in its current life has had a
        `learned` delivered from every other node of the cluster."""
        return all(self.acked.get(n, set()) >= set(self.nodes) - {n} for n in up if n in self.learn_from)

    def crashed(self, node: str) -> None:
        """`node` is being killed: its learns in progress die with it."""
        self.learn_from.discard(node)
        self.acked.pop(node, None)
        self.crash_t[node] = self.rec.now()

    def restarting(self, node: str) -> None:
        """`node` is starting again: what it sends now is its new life's."""
        self.crash_t.pop(node, None)

    async def send(self, src: str, dst: str, msg: dict, respond: bool, answering: dict | None = None) -> list | None:
        """Carry one message (`answering`: the request it replies to, if any);
        with `respond`, return what rides back to src in the HTTP response
        (None: lost)."""
        mid = self._sent(src, dst, msg, answering)
        lost, dup, delay = self._draw(src, dst)
        if dup:
            self._duplicate(mid, src, dst, msg)
        return await self._carry(mid, src, dst, msg, lost, delay, respond)

    def _duplicate(self, mid: int, src: str, dst: str, msg: dict) -> None:
        copy = self.rec.new_id()
        self.rec.emit("duplicate", id=mid, copy=copy)
        self._hold(msg)
        link = self.net.links.get((src, dst)) or self.net.default
        lost = link.loss > 0.0 and self.net.rng.random() < link.loss
        self.spawn(self._carry(copy, src, dst, msg, lost, link.latency(), False))

    def _fate(self, mid: int, src: str, dst: str, msg: dict, lost: bool) -> bool:
        reason = self.net.judge(src, dst) if self.net.faulty else None
        if reason is None and lost:
            reason = "loss"
        if reason is not None:
            self.rec.emit("drop", id=mid, reason=reason)
            self._release(msg)
            return False
        return True

    async def _carry(self, mid: int, src: str, dst: str, msg: dict, lost: bool, delay: float,
                     respond: bool) -> list | None:
        if not self._fate(mid, src, dst, msg, lost):
            return None
        await asyncio.sleep(delay / 1000.0)
        port = self.ports.get(dst)
        t = self.rec.now()
        if port is None:
            self.rec.emit("drop", t=t, id=mid, reason="crashed")
            self._release(msg)
            return None
        try:
            async with self.session.post(f"http://127.0.0.1:{port}/handle-{msg['type']}",
                                         json={"from": src, **msg}) as resp:
                status = resp.status
                data = await resp.json(content_type=None) if status == 200 else None
        except (ClientError, asyncio.TimeoutError, ValueError, OSError):
            self.rec.emit("drop", t=t, id=mid, reason="crashed")
            self._release(msg)
            return None
        self.rec.emit("deliver", t=t, id=mid)
        replies = []
        ride = None
        if isinstance(data, dict) and isinstance(data.get("replies"), list):
            for item in data["replies"]:
                try:
                    parse_message(item)
                except WireError:
                    continue  # a node's malformed reply is lost
                replies.append({k: v for k, v in item.items() if k not in ("from", "id")})
        for reply in replies:
            if respond and ride is None:
                ride = reply
            else:
                self.spawn(self.send(dst, src, reply, respond=False, answering=msg))
        # Released only now, so that a reply is held before its request is let go.
        self._delivered(src, dst, msg)
        if ride is None:
            return []
        back = await self._back(dst, src, ride, msg)
        return None if back is None else [back]

    async def _back(self, src: str, dst: str, msg: dict, answering: dict) -> dict | None:
        """A reply from src riding back to dst in the HTTP response."""
        mid = self._sent(src, dst, msg, answering)
        lost, dup, delay = self._draw(src, dst)
        if dup:
            self._duplicate(mid, src, dst, msg)
        if not self._fate(mid, src, dst, msg, lost):
            return None
        await asyncio.sleep(delay / 1000.0)
        if self.ports.get(dst) is None:
            self.rec.emit("drop", id=mid, reason="crashed")
            self._release(msg)
            return None
        self.rec.emit("deliver", id=mid)
        self._delivered(src, dst, msg)
        return msg

    # -- the wire as evidence -------------------------------------------------------
    def _observe(self, src: str, msg: dict, t: float, answering: dict | None) -> None:
        kind = msg["type"]
        if kind == "promise":
            self.derived.append({"kind": "promise", "t": t, "node": src, "ballot": msg["ballot"]})
        elif kind == "accepted":
            value = msg.get("value")
            if (value is None and answering is not None and answering["type"] == "accept"
                    and answering["ballot"] == msg["ballot"]):
                value = answering["value"]  # the vote is for the accept this answers
            if value is not None:
                self.derived.append({"kind": "vote", "t": t, "node": src, "ballot": msg["ballot"], "value": value})
        elif kind == "learned":
            self.note_decided(src, msg["value"], t)

    def note_decided(self, node: str, value: Any, t: float | None = None) -> None:
        """`node` says it decided `value` (a learned message, a /prepare answer)."""
        if self.wire_decided.get(node, object()) != value and not self.rec.closed:
            self.wire_decided[node] = value
            self.derived.append({"kind": "decide", "t": self.rec.now() if t is None else t, "node": node,
                                 "value": value})

    def forget(self, node: str) -> None:
        """A node restarted with emptied storage: what it said before no longer counts."""
        self.wire_decided.pop(node, None)
