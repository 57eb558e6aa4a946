"""Pure, sans-I/O protocols: one package per protocol.

Rules of every package under here (tests/test_layers.py enforces the first):

1. No I/O, no clock, no randomness: nothing here imports simpy, random, time,
   socket, asyncio, os or numpy. The same roles are driven by the simulator
   and by any other runtime.
2. Every side effect is a returned effect (`paxsim.protocols.effects`, plus
   each protocol's observations): a role never sends, sleeps, writes or draws
   a random number itself.  Timers are ranges (`SetTimer(name, lo, hi)`): the
   runtime draws the delay.
3. `Persist` comes before the sends that depend on it, in the same effect list.
   A runtime must carry out effects in order (that is the stable-storage rule).
4. A role never reads another node's state: it only sees messages.
5. Iteration order is always a list order (nodes are a tuple), never a set.

Protocols: `single` (single-decree Paxos, "Paxos Made Simple", driven by
paxsim.sim.runtime's tuned `Simulation`) and `multi` (Multi-Paxos and a
key-value store, "multi-paxos"; it offers `PROTOCOL`, the interface any
runtime drives: see `protocol`).
"""

KINDS = ("single-decree", "multi-paxos")  # a scenario's protocol.kind


def protocol(kind: str):
    """The `PROTOCOL` object of a protocol kind that offers one."""
    if kind == "multi-paxos":
        from .multi import PROTOCOL

        return PROTOCOL
    raise ValueError(f"protocol kind {kind!r} has no PROTOCOL object (kinds: {', '.join(KINDS[1:])})")
