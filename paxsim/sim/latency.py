"""Latency distributions (all in ms), drawn from a given random stream.

A sampler is a zero-argument callable; `functools.partial` over the bound
`random.Random` method saves a Python-level call per message."""

from __future__ import annotations

import math
import random
from functools import partial
from typing import Callable

from ..scenario import Latency

Sampler = Callable[[], float]


def sampler(latency: Latency, rng: random.Random) -> Sampler:
    p = dict(latency.params)
    dist = latency.dist
    if dist == "constant":
        value = p["value"]
        return lambda: value
    if dist == "uniform":
        return partial(rng.uniform, p["low"], p["high"])
    if dist == "normal":
        mean, std = p["mean"], p["std"]
        normal = rng.normalvariate

        def truncated_normal() -> float:
            # Truncated at 0 by resampling; mean >= 0 makes acceptance >= 1/2.
            while True:
                x = normal(mean, std)
                if x >= 0.0:
                    return x

        return truncated_normal
    if dist == "exponential":
        return partial(rng.expovariate, 1.0 / p["mean"])
    if dist == "lognormal":
        if p["median"] <= 0:
            return lambda: 0.0
        return partial(rng.lognormvariate, math.log(p["median"]), p["sigma"])
    if dist == "pareto":
        scale, shape = p["scale"], p["shape"]
        pareto = rng.paretovariate
        return lambda: scale * pareto(shape)
    raise ValueError(f"unknown latency distribution {dist!r}")
