"""The tutorial's Simple Paxos node, as its companion implementation is
written, speaking paxsim's wire protocol (docs/http-protocol.md).

Standalone on purpose: aiohttp and the standard library only, no paxsim
import, so `paxsim cluster --node-cmd` judges it from the outside:

    paxsim cluster examples/blog.yaml --node-cmd \\
        'python examples/blog_node.py --name {name} --port {port} --peers {peers} --data {data}'

What it does, departures from Paxos included (each marked `# tutorial:`):

* ballots are a per-node counter with no node id, so two proposers use
  the same ballots;
* the acceptor refuses `id <= last` in handle-prepare and otherwise
  promises without reporting any value it accepted;
* it accepts only `id == last`;
* the proposer counts every HTTP response to prepare or accept, refusals
  included, and counts itself once more in phase 2;
* after learning, every role resets its state to zero;
* nothing is persisted and nothing is retried.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import ClientError, ClientSession, ClientTimeout, web


class BlogNode:
    def __init__(self, name: str, peers: dict[str, str]) -> None:
        self.name = name
        self.peers = peers
        self.session: ClientSession | None = None
        self.reset()
        self.counter = 0  # the proposer's ballot counter
        self.decided = None

    def reset(self) -> None:
        self.last = 0  # acceptor: the highest id promised
        self.accepted = None  # acceptor: the value accepted at `last`

    def quorum(self) -> int:
        return (len(self.peers) + 1) // 2 + 1

    # -- acceptor and learner ------------------------------------------------------
    def on_prepare(self, ballot) -> dict:
        if ballot[0] <= self.last:
            return {"type": "nack", "ballot": ballot, "promised": [self.last, ""]}
        self.last = ballot[0]
        return {"type": "promise", "ballot": ballot, "accepted": None}  # tutorial: never reports its value

    def on_accept(self, ballot, value) -> dict:
        if ballot[0] != self.last:  # tutorial: accepts only id == last
            return {"type": "nack", "ballot": ballot, "promised": [self.last, ""]}
        self.accepted = value
        return {"type": "accepted", "ballot": ballot}

    def on_learn(self, value) -> dict:
        self.decided = value
        self.reset()  # tutorial: after learning, every role resets to zero
        self.counter = 0
        return {"type": "learned", "value": value}

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.match_info["type"]
        try:
            body = await request.json()
            if kind == "prepare":
                reply = self.on_prepare(body["ballot"])
            elif kind == "accept":
                reply = self.on_accept(body["ballot"], body["value"])
            elif kind == "learn":
                reply = self.on_learn(body["value"])
            else:
                return web.json_response({"error": f"unexpected message type {kind!r}"}, status=400)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            return web.json_response({"error": f"bad request: {exc!r}"}, status=400)
        return web.json_response({"replies": [reply]})

    # -- proposer ------------------------------------------------------------------
    async def ask_all(self, kind: str, body: dict) -> int:
        """Send to every peer at once; the number of HTTP responses (any reply counts)."""
        async def one(url):
            try:
                async with self.session.post(f"{url}/handle-{kind}", json={"from": self.name, **body}) as resp:
                    return resp.status == 200  # tutorial: a refusal is counted like a promise
            except (ClientError, asyncio.TimeoutError, OSError):
                return False

        return sum(await asyncio.gather(*(one(url) for url in self.peers.values())))

    async def propose(self, request: web.Request) -> web.Response:
        try:
            value = (await request.json())["value"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected {"value": V}'}, status=400)
        self.counter += 1
        ballot = [self.counter, ""]  # tutorial: no node id in the ballot
        self.on_prepare(ballot)
        promises = 1 + await self.ask_all("prepare", {"type": "prepare", "ballot": ballot})
        if promises < self.quorum():
            return web.json_response({"error": "no quorum of promises"}, status=504)  # tutorial: no retry
        self.on_accept(ballot, value)  # its own acceptor...
        accepts = 1 + 1 + await self.ask_all("accept", {"type": "accept", "ballot": ballot, "value": value})
        # tutorial: ...and itself counted once more
        if accepts < self.quorum():
            return web.json_response({"error": "no quorum of acceptances"}, status=504)
        await self.ask_all("learn", {"type": "learn", "value": value})
        self.on_learn(value)
        return web.json_response({"decided": value, "ballot": ballot})

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"name": self.name, "promised": [self.last, ""] if self.last else None,
                                  "accepted": self.accepted, "decided": self.decided})


async def main(args) -> None:
    peers = {}
    for item in filter(None, args.peers.split(",")):
        name, _, url = item.partition("=")
        peers[name] = url
    node = BlogNode(args.name, peers)
    node.session = ClientSession(timeout=ClientTimeout(total=5))
    app = web.Application()
    app.router.add_post("/prepare", node.propose)
    app.router.add_post("/handle-{type}", node.handle)
    app.router.add_get("/status", node.status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await node.session.close()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peers", default="")
    parser.add_argument("--data", help="unused: the tutorial's node persists nothing")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
