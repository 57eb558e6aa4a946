"""The simulated network: per-link latency, loss and duplication, and an
ordered list of fault rules (partition, cut) consulted at send time.

Each rule answers `judge(src, dst)` with a drop reason or None (pass); the
first reason wins.  Adding a rule touches no node code.  Every send draws the
same numbers from the network stream whatever the rules say (a loss and a
duplication coin where the link's probability is non-zero, then a latency),
so faults do not shift later latency draws.
"""

from __future__ import annotations

import random
from typing import Protocol

from ..scenario import Network as NetworkConfig
from .latency import Sampler, sampler


class Rule(Protocol):
    @property
    def active(self) -> bool:  # False: the rule passes every message (lets the network skip it)
        ...

    def judge(self, src: str, dst: str) -> str | None: ...


class Partition:
    """Messages pass only inside a group; a node in no group is isolated."""

    def __init__(self) -> None:
        self.group: dict[str, int] | None = None

    def set(self, groups) -> None:
        self.group = {node: i for i, g in enumerate(groups) for node in g}

    def heal(self) -> None:
        self.group = None

    @property
    def active(self) -> bool:
        return self.group is not None

    def judge(self, src: str, dst: str) -> str | None:
        group = self.group
        if group is None:
            return None
        g = group.get(src)
        if g is None or g != group.get(dst):
            return "partition"
        return None


class Cuts:
    """One-way cuts: `src -> dst` drops, `dst -> src` still passes."""

    def __init__(self) -> None:
        self.cut: set[tuple[str, str]] = set()

    def judge(self, src: str, dst: str) -> str | None:
        return "cut" if (src, dst) in self.cut else None

    @property
    def active(self) -> bool:
        return bool(self.cut)


class LinkModel:
    __slots__ = ("latency", "loss", "duplicate")

    def __init__(self, latency: Sampler, loss: float, duplicate: float) -> None:
        self.latency, self.loss, self.duplicate = latency, loss, duplicate


class NetworkModel:
    def __init__(self, config: NetworkConfig, rng: random.Random) -> None:
        self.rng = rng
        self.partition = Partition()
        self.cuts = Cuts()
        self.rules: list[Rule] = [self.partition, self.cuts]
        self.faulty = False
        self.delay_share = 0.0  # random fault profiles: a share of messages delayed up to delay_max
        self.delay_max = 0.0
        self.delay_rng: random.Random | None = None
        default = LinkModel(sampler(config.latency, rng), config.loss, config.duplicate)
        self.default = default
        self.links: dict[tuple[str, str], LinkModel] = {}
        for link in config.links:
            self.links[link.src, link.dst] = LinkModel(
                sampler(link.latency, rng) if link.latency is not None else default.latency,
                default.loss if link.loss is None else link.loss,
                default.duplicate if link.duplicate is None else link.duplicate,
            )

    def set_delay(self, delay: tuple[float, float], rng: random.Random) -> None:
        """Delay a share of messages by up to a maximum, drawn from their own stream."""
        self.delay_share, self.delay_max = delay
        self.delay_rng = rng

    def update(self) -> None:
        """Call after changing a rule: recomputes whether any rule is active."""
        self.faulty = any(rule.active for rule in self.rules)

    def judge(self, src: str, dst: str) -> str | None:
        for rule in self.rules:
            reason = rule.judge(src, dst)
            if reason is not None:
                return reason
        return None
