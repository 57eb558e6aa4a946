"""The workload driver: which client invokes what, and when.

Operations are drawn from the run's own "workload" stream, so changing the
workload never shifts the network's or the timers' draws (and the reverse).

* closed loop: every client invokes at `start`, and again `think` ms after
  each completion (ok, fail or info), until `stop`;
* open loop: operations arrive at `rate` per simulated second (exponential
  gaps), each given to an idle client drawn at random; an arrival that finds
  every client busy is skipped and counted.

Values are unique per run, so a read names the write it saw: a put writes
"<n>", an append adds "[<n>]", a cas expects the last value the driver
wrote to that key (or null) and writes "<n>".
"""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Any, Callable

from ..scenario import Workload


class WorkloadDriver:
    def __init__(self, workload: Workload, rng: random.Random, clients: list, now: Callable[[], float],
                 at: Callable[..., None], invoke: Callable[[Any, dict], None]) -> None:
        self.w = workload
        self.rng = rng
        self.clients = clients  # hosts whose `node` is a protocol client, in name order
        self.now, self.at, self.invoke = now, at, invoke
        self.fs = [f for f, weight in workload.mix if weight > 0]
        self.f_cum = list(itertools.accumulate(weight for _, weight in workload.mix if weight > 0))
        if workload.distribution == "zipf":
            weights = [1.0 / (i + 1) ** workload.zipf_exponent for i in range(workload.keys)]
        else:
            weights = [1.0] * workload.keys
        self.key_cum = list(itertools.accumulate(weights))
        self.keys = [f"k{i}" for i in range(workload.keys)]
        self.counter = 0
        self.written: dict[str, str] = {}
        self.skipped = 0

    def begin(self) -> None:
        if self.w.loop == "closed":
            for host in self.clients:
                self.at(self.w.start, self._closed, host)
        else:
            self.at(self.w.start + self.rng.expovariate(self.w.rate / 1000.0), self._arrival)

    def completed(self, host) -> None:
        """A client's operation completed (ok, fail or info)."""
        if self.w.loop == "closed":
            self.at(self.now() + self.w.think, self._closed, host)

    def draw(self) -> dict:
        rng = self.rng
        f = self.fs[bisect.bisect_right(self.f_cum, rng.random() * self.f_cum[-1])]
        key = self.keys[min(bisect.bisect_right(self.key_cum, rng.random() * self.key_cum[-1]), len(self.keys) - 1)]
        self.counter += 1
        n = str(self.counter)
        if f == "get":
            value: Any = None
        elif f == "put":
            value = self.written[key] = n
        elif f == "append":
            value = f"[{n}]"
            self.written.pop(key, None)  # the driver no longer knows the whole value
        else:
            value = (self.written.get(key), n)
            self.written[key] = n
        return {"f": f, "key": key, "value": value}

    def _closed(self, host) -> None:
        if self.now() < self.w.stop and not host.node.busy and host.up:
            self.invoke(host, self.draw())

    def _arrival(self) -> None:
        if self.now() >= self.w.stop:
            return
        idle = [h for h in self.clients if not h.node.busy]
        if idle:
            self.invoke(idle[self.rng.randrange(len(idle))], self.draw())
        else:
            self.skipped += 1
        self.at(self.now() + self.rng.expovariate(self.w.rate / 1000.0), self._arrival)
