"""The Multi-Paxos node: acceptor, leader and replica collapsed into one process.

In the style of "Paxos Made Moderately Complex" (van Renesse and Altinbuken),
with the roles of one process merged as most implementations do:

* Phase 1 once for every slot: a candidate sends `prepare(ballot, first)`;
  each acceptor promises and reports every vote `(slot, ballot, command)` it
  holds at slots >= first (the candidate already knows every decided slot
  below `first`).  On a quorum of promises the candidate leads: for each slot
  from `first` up to the highest reported one that it has not seen decided,
  it re-proposes the command with the highest reported ballot, or a no-op
  where nothing was reported (a hole).
* Phase 2 per slot: the leader proposes client commands at fresh slots, at
  most `window` undecided proposals at a time (the rest queue); a quorum of
  `accepted` decides the slot, and the leader sends `decide` to every replica.
* A leader or candidate that learns of a higher ballot (a nack, a prepare, an
  accept or a heartbeat) steps down to follower.
* Failure detection: the leader sends `heartbeat(ballot, commit)` every
  `heartbeat` ms (re-sending the accepts still short of a quorum, so loss
  only delays); a follower that hears nothing from a leader for a time drawn
  from `election` campaigns with a higher ballot.
* Replicas apply decided slots in slot order, each once, to the key-value
  state machine (`kv.KV`, with its dedup table, so a retried request is
  answered from the recorded result).  A replica whose decided prefix is
  shorter than the heartbeat's `commit` asks the leader (`catchup`) and
  learns the missing slots from its `log` answer: a lagging or restarted
  replica learns the decided log, not just the latest value.
* The node that took a client's request replies when it executes it;
  a follower redirects the client to the leader it knows of.

Stable storage (`Persist(key, data)`), each written before the replies that
depend on it; a node is rebuilt from it by `Node(cfg, storage)`:

    "round"           the last round this node campaigned with (ballots keep increasing)
    "promised"        the acceptor's promised ballot (an accept raises the promise
                      implicitly: on rebuild it is the highest of this and every vote)
    "accepted/<slot>" (ballot, command): the acceptor's vote at a slot
    "decided/<slot>"  command: the replica's decided log; a restarted replica
                      re-runs its decided prefix to rebuild the state machine

Deliberate bugs (`NodeConfig.bugs`, see `BUGS`) are small changes marked
`# bug:` where they act; `CONTROL_BUGS` are harmless by design.
"""

from __future__ import annotations

from dataclasses import dataclass

from .effects import (
    Broadcast,
    CancelTimer,
    Decided,
    Effect,
    Executed,
    Leading,
    Persist,
    Promised,
    Restored,
    Send,
    SetTimer,
    Voted,
)
from .kv import KV
from .messages import (
    Accept,
    Accepted,
    Ballot,
    CatchUp,
    Command,
    Decide,
    Heartbeat,
    Log,
    Message,
    Nack,
    Prepare,
    Promise,
    Redirect,
    Reply,
    Request,
)

BUGS = {
    "stale-read": "the leader answers a get from its own state at once, without the log or a lease: "
                  "a deposed leader that does not know it yet serves stale values",
    "no-dedup": "replicas apply every decided command and nodes take every request, so a retried "
                "request already applied is applied again",
    "skip-recovery": "a new leader ignores the votes reported in promises and reuses their slots for "
                     "new commands",
    "hole-skip": "a replica applies each slot as soon as it is decided, past undecided slots before it",
    "eager-catchup": "CONTROL, harmless: a follower asks the leader for its decided log on every "
                     "heartbeat, even when it lacks nothing",
}
CONTROL_BUGS = frozenset({"eager-catchup"})


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What a node knows of the system.  `nodes` is ordered: every broadcast follows it."""

    name: str
    nodes: tuple[str, ...]
    window: int = 8  # undecided proposals in flight at the leader
    heartbeat: float = 20.0  # ms between a leader's heartbeats
    election: tuple[float, float] = (100.0, 200.0)  # ms of silence before a follower campaigns
    catchup_batch: int = 64  # decided slots per `log` answer
    bugs: frozenset = frozenset()

    @property
    def quorum(self) -> int:
        return len(self.nodes) // 2 + 1


class Node:
    """One process: acceptor, leader (once it wins a ballot) and replica."""

    __slots__ = (
        "cfg", "name", "others", "quorum", "bugs", "dedup",
        # acceptor
        "promised", "accepted",
        # replica
        "decided", "commit", "executed", "kv", "waiting",
        # leader
        "round", "seen", "role", "ballot", "leader", "promises", "proposals", "votes", "next_slot",
        "queue", "inflight",
    )

    def __init__(self, cfg: NodeConfig, storage: dict | None = None) -> None:
        storage = storage or {}
        self.cfg = cfg
        self.name = cfg.name
        self.others = tuple(n for n in cfg.nodes if n != cfg.name)
        self.quorum = cfg.quorum
        self.bugs = cfg.bugs
        self.dedup = "no-dedup" not in cfg.bugs
        self.promised: Ballot | None = storage.get("promised")
        self.accepted: dict[int, tuple[Ballot, Command | None]] = {}
        self.decided: dict[int, Command | None] = {}
        for key, data in storage.items():
            if key.startswith("accepted/"):
                self.accepted[int(key[9:])] = data
            elif key.startswith("decided/"):
                self.decided[int(key[8:])] = data
        for ballot, _ in self.accepted.values():
            if self.promised is None or ballot > self.promised:
                self.promised = ballot
        # The replica re-runs its stored decided prefix, silently: it ran it before.
        self.kv = KV()
        self.commit = 0  # every slot below is decided and (but with hole-skip) executed
        while self.commit in self.decided:
            self.kv.apply(self.decided[self.commit], self.dedup)
            self.commit += 1
        self.executed = self.commit
        self.waiting: dict[tuple[str, int], bool] = {}  # requests this node answers when it runs them
        self.round: int = storage.get("round", 0)
        self.seen = 0  # the highest round seen in any ballot
        self.role = "follower"  # or "candidate" (phase 1) or "leader"
        self.ballot: Ballot | None = None
        self.leader: str | None = None  # the leader this node last heard from
        self.promises: dict[str, tuple] = {}
        self.proposals: dict[int, Command | None] = {}  # undecided slots this leader proposed
        self.votes: dict[int, dict[str, bool]] = {}
        self.next_slot = 0
        self.queue: list[Command] = []  # requests waiting for room in the window
        self.inflight: dict[tuple[str, int], int | None] = {}  # proposed (slot) or queued (None)

    # -- driving ----------------------------------------------------------------
    def start(self) -> list[Effect]:
        """At time 0 and after every restart: the first node of a fresh
        cluster campaigns at once, every other waits for a leader."""
        effects: list[Effect] = [Restored(self.executed)]
        fresh = self.round == 0 and self.promised is None and not self.decided
        if fresh and self.name == self.cfg.nodes[0]:
            return effects + self._campaign()
        effects.append(self._election_timer())
        return effects

    def on_message(self, src: str, msg: Message) -> list[Effect]:
        kind = type(msg)
        if kind is Accept:
            return self.on_accept(src, msg)
        if kind is Accepted:
            return self.on_accepted(src, msg)
        if kind is Decide:
            return self._learn(msg.slot, msg.command)
        if kind is Heartbeat:
            return self.on_heartbeat(src, msg)
        if kind is Request:
            return self.on_request(src, msg)
        if kind is Prepare:
            return self.on_prepare(src, msg)
        if kind is Promise:
            return self.on_promise(src, msg)
        if kind is Nack:
            return self.on_nack(src, msg)
        if kind is CatchUp:
            return self.on_catchup(src, msg)
        if kind is Log:
            effects: list[Effect] = []
            for slot, command in msg.entries:
                effects.extend(self._learn(slot, command))
            return effects
        raise TypeError(f"not a Multi-Paxos node message: {msg!r}")

    def on_timer(self, name: str) -> list[Effect]:
        if name == "election":
            return [] if self.role == "leader" else self._campaign()
        if name == "heartbeat":
            return self._heartbeat() if self.role == "leader" else []
        raise ValueError(f"unknown timer {name!r}")

    # -- helpers ----------------------------------------------------------------
    def _election_timer(self) -> SetTimer:
        lo, hi = self.cfg.election
        return SetTimer("election", lo, hi)

    def _see(self, ballot: Ballot) -> None:
        if ballot.round > self.seen:
            self.seen = ballot.round

    def _step_down(self, ballot: Ballot) -> list[Effect]:
        """A higher `ballot` exists: a leader or candidate below it becomes a follower."""
        if self.role == "follower" or not ballot > self.ballot:
            return []
        self.role = "follower"
        self.leader = ballot.node
        self.promises, self.proposals, self.votes = {}, {}, {}
        self.queue, self.inflight = [], {}
        return [CancelTimer("heartbeat"), self._election_timer()]

    def _follow(self, ballot: Ballot) -> list[Effect]:
        """The leader of `ballot` (not below our promise) is alive: wait for it."""
        if ballot.node == self.name:
            return []
        self.leader = ballot.node
        return [self._election_timer()] if self.role == "follower" else []

    # -- acceptor ---------------------------------------------------------------
    def on_prepare(self, src: str, msg: Prepare) -> list[Effect]:
        b = msg.ballot
        self._see(b)
        promised = self.promised
        if promised is not None and b < promised:
            return [Send(src, Nack(b, promised))]
        effects: list[Effect] = []
        if b != promised:
            self.promised = b
            effects = self._step_down(b)
            if b.node != self.name and self.role == "follower":
                effects.append(self._election_timer())  # give the candidate time to win
        first = msg.first
        report = tuple((s, vb, c) for s, (vb, c) in sorted(self.accepted.items()) if s >= first)
        effects.append(Persist("promised", b))
        if b != promised:
            effects.append(Promised(b))
        effects.append(Send(src, Promise(b, report)))
        return effects

    def on_accept(self, src: str, msg: Accept) -> list[Effect]:
        b, slot, command = msg.ballot, msg.slot, msg.command
        self._see(b)
        promised = self.promised
        if promised is not None and b < promised:
            return [Send(src, Nack(b, promised))]
        effects: list[Effect] = []
        if b != promised:
            self.promised = b  # stored with the vote: a rebuild takes the highest voted ballot
            effects = self._step_down(b)
        effects.extend(self._follow(b))
        vote = (b, command)
        key = f"accepted/{slot}"
        if self.accepted.get(slot) == vote:  # a re-sent accept: answer once the vote is durable
            effects += [Persist(key, vote), Send(src, Accepted(b, slot))]
            return effects
        self.accepted[slot] = vote
        effects += [Persist(key, vote), Voted(slot, b, command), Send(src, Accepted(b, slot))]
        return effects

    # -- leader -----------------------------------------------------------------
    def _campaign(self) -> list[Effect]:
        promised_round = self.promised.round if self.promised is not None else 0
        self.round = max(self.round, self.seen, promised_round) + 1
        self.ballot = Ballot(self.round, self.name)
        self.role = "candidate"
        self.promises = {}
        self.proposals, self.votes = {}, {}
        return [
            Persist("round", self.round),
            CancelTimer("heartbeat"),
            Broadcast(self.cfg.nodes, Prepare(self.ballot, self.commit)),
            self._election_timer(),  # no quorum by then: a higher ballot
        ]

    def on_promise(self, src: str, msg: Promise) -> list[Effect]:
        if self.role != "candidate" or msg.ballot != self.ballot:
            return []
        self.promises[src] = msg.accepted
        if len(self.promises) < self.quorum:
            return []
        return self._lead()

    def _lead(self) -> list[Effect]:
        self.role = "leader"
        self.leader = self.name
        decided = self.decided
        best: dict[int, tuple[Ballot, Command | None]] = {}
        if "skip-recovery" not in self.bugs:  # bug: otherwise the reported votes are ignored
            for entries in self.promises.values():
                for slot, ballot, command in entries:
                    if slot in decided:
                        continue
                    seen = best.get(slot)
                    if seen is None or ballot > seen[0]:
                        best[slot] = (ballot, command)
        top = max(best, default=-1)
        if decided:
            top = max(top, max(decided))
        self.next_slot = max(self.commit, top + 1)
        effects: list[Effect] = []
        recovered = 0
        for slot in range(self.commit, self.next_slot):
            if slot in decided:
                continue
            vote = best.get(slot)
            effects.extend(self._propose(slot, vote[1] if vote is not None else None))  # a hole: a no-op
            recovered += 1
        effects.insert(0, Leading(self.ballot, recovered))
        effects.append(CancelTimer("election"))
        effects.extend(self._heartbeat())
        # Requests taken while campaigning wait in the queue, unless recovered above.
        self.queue = [c for c in self.queue if self.inflight.get(c.id) is None]
        effects.extend(self._fill_window())
        return effects

    def _propose(self, slot: int, command: Command | None) -> list[Effect]:
        self.proposals[slot] = command
        self.votes[slot] = {}
        if command is not None:
            self.inflight[command.id] = slot
        return [Broadcast(self.cfg.nodes, Accept(self.ballot, slot, command))]

    def _fill_window(self) -> list[Effect]:
        effects: list[Effect] = []
        while self.queue and len(self.proposals) < self.cfg.window:
            command = self.queue.pop(0)
            slot = self.next_slot
            self.next_slot += 1
            effects.extend(self._propose(slot, command))
        return effects

    def on_accepted(self, src: str, msg: Accepted) -> list[Effect]:
        if self.role != "leader" or msg.ballot != self.ballot:
            return []
        slot = msg.slot
        votes = self.votes.get(slot)
        if votes is None:  # decided already
            return []
        votes[src] = True
        if len(votes) < self.quorum:
            return []
        command = self.proposals[slot]
        effects = self._learn(slot, command)
        effects.append(Broadcast(self.others, Decide(slot, command)))
        effects.extend(self._fill_window())
        return effects

    def on_nack(self, src: str, msg: Nack) -> list[Effect]:
        self._see(msg.promised)
        if self.role == "follower" or msg.ballot != self.ballot:
            return []
        return self._step_down(msg.promised)

    def _heartbeat(self) -> list[Effect]:
        """Tell every node the leader lives and how far the log is decided;
        re-send each accept still short of a quorum."""
        effects: list[Effect] = []
        for slot, votes in self.votes.items():
            missing = tuple(n for n in self.cfg.nodes if n not in votes)
            effects.append(Broadcast(missing, Accept(self.ballot, slot, self.proposals[slot])))
        effects.append(Broadcast(self.others, Heartbeat(self.ballot, self.commit)))
        effects.append(SetTimer("heartbeat", self.cfg.heartbeat, self.cfg.heartbeat))
        effects.extend(self._fill_window())  # slots decided by a catch-up may have made room
        return effects

    # -- follower ---------------------------------------------------------------
    def on_heartbeat(self, src: str, msg: Heartbeat) -> list[Effect]:
        b = msg.ballot
        self._see(b)
        if self.promised is not None and b < self.promised:
            return [Send(src, Nack(b, self.promised))]  # a deposed leader learns it is
        effects = self._step_down(b)
        effects.extend(self._follow(b))
        if msg.commit > self.commit:
            effects.append(Send(src, CatchUp(self.commit)))
        elif "eager-catchup" in self.bugs:
            effects.append(Send(src, CatchUp(self.commit)))  # bug (control): asks for nothing it lacks
        return effects

    def on_catchup(self, src: str, msg: CatchUp) -> list[Effect]:
        decided = self.decided
        if not decided:
            return []
        entries = []
        last = max(decided)
        slot = msg.first
        while slot <= last and len(entries) < self.cfg.catchup_batch:
            if slot in decided:
                entries.append((slot, decided[slot]))
            slot += 1
        return [Send(src, Log(tuple(entries)))] if entries else []

    # -- replica ----------------------------------------------------------------
    def _learn(self, slot: int, command: Command | None) -> list[Effect]:
        if slot in self.decided:
            return []
        self.decided[slot] = command
        effects: list[Effect] = [Persist(f"decided/{slot}", command), Decided(slot, command)]
        if self.votes.pop(slot, None) is not None:  # decided without this leader's quorum
            self.proposals.pop(slot, None)
        while self.commit in self.decided:
            self.commit += 1
        if "hole-skip" in self.bugs:
            effects.extend(self._execute(slot))  # bug: runs the slot though an earlier one may be undecided
            self.executed = self.commit
            return effects
        while self.executed < self.commit:
            effects.extend(self._execute(self.executed))
            self.executed += 1
        return effects

    def _execute(self, slot: int) -> list[Effect]:
        command = self.decided[slot]
        applied, result = self.kv.apply(command, self.dedup)
        effects: list[Effect] = [Executed(slot, command, result, applied)]
        if command is not None:
            cid = command.id
            if self.inflight.get(cid, -1) == slot:
                del self.inflight[cid]
            if self.waiting.pop(cid, False) and self.kv.last[command.client][0] == command.req:
                effects.append(Send(command.client, Reply(command.req, result)))  # not if superseded
        return effects

    def on_request(self, src: str, msg: Request) -> list[Effect]:
        command = msg.command
        cid = command.id
        if self.dedup:  # bug (no-dedup): otherwise a request already run is taken again
            done, result = self.kv.answered(command)
            if done:  # answered from the dedup table; an older request than the last gets nothing
                if self.kv.last[command.client][0] != command.req:
                    return []
                return [Send(command.client, Reply(command.req, result))]
        if self.role == "follower":
            return [Send(command.client, Redirect(command.req, self.leader))]
        if self.role == "leader" and command.f == "get" and "stale-read" in self.bugs:
            # bug: reads the leader's own state, though a newer leader may have moved on
            return [Send(command.client, Reply(command.req, self.kv.data.get(command.key)))]
        self.waiting[cid] = True
        if cid in self.inflight:  # proposed or queued already: its reply comes when it runs
            return []
        self.inflight[cid] = None
        self.queue.append(command)
        return self._fill_window() if self.role == "leader" else []
