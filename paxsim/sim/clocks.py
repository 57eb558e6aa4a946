"""Per-node clocks: offset, linear drift and step offsets.

A node's local time at global time t is

    local(t) = offset + t * (1 + drift / 1e6) + the sum of the steps taken by t

Timers a role sets run on its node's clock: a timer of d ms set at global
time `now` fires at the first global time at which the local clock has
reached local(now) + d.  A faster clock fires its timers early, a slower
one late; a step forward fires pending timers early (at once if it jumps
past them), a step back delays them.  Messages and faults keep global time.

A scenario's random clock profile draws each node's offset and drift per
seed from the "clocks" stream, added to its configured clock; the trace
records every node's clock in a `clocks` event.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import ClockSpec, Scenario
from .streams import stream


@dataclass(frozen=True)
class Clock:
    offset: float = 0.0
    drift: float = 0.0  # ppm
    steps: tuple[tuple[float, float], ...] = ()  # (at, by), sorted by at

    @property
    def rate(self) -> float:
        return 1.0 + self.drift * 1e-6

    def local(self, t: float) -> float:
        return self.offset + t * self.rate + sum(by for at, by in self.steps if at <= t)

    def fire_at(self, now: float, delay: float) -> float:
        """The global time at which a timer of `delay` local ms set at `now` fires."""
        target = self.local(now) + delay
        rate = self.rate
        start = now
        for at, _ in self.steps:
            if at <= now:
                continue
            base = self.local(start)
            if base >= target:
                return start
            t = start + (target - base) / rate
            if t <= at:
                return t
            start = at
        base = self.local(start)
        return start if base >= target else start + (target - base) / rate

    def to_json(self) -> dict:
        out = {"offset": self.offset, "drift": self.drift}
        if self.steps:
            out["steps"] = [{"at": at, "by": by} for at, by in self.steps]
        return out


def node_clocks(scenario: Scenario, seed: int) -> dict[str, Clock] | None:
    """Each node's clock for this seed, or None when the scenario has no clocks."""
    cfg = scenario.clocks
    if cfg is None:
        return None
    specs = dict(cfg.nodes)
    rng = stream(seed, "clocks") if cfg.random is not None else None
    out = {}
    for name in scenario.nodes:  # in node order: the draws do not depend on anything else
        spec: ClockSpec = specs.get(name, cfg.default)
        offset, drift = spec.offset, spec.drift
        if rng is not None:
            max_offset, max_drift = cfg.random
            offset += round(rng.uniform(-max_offset, max_offset), 6)
            drift += round(rng.uniform(-max_drift, max_drift), 3)
        out[name] = Clock(offset, drift, tuple(sorted(spec.steps)))
    return out
