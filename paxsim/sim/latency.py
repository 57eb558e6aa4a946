"""Latency distributions (all in ms), drawn from a given random stream."""

from __future__ import annotations

import math
import random
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
        low, high = p["low"], p["high"]
        uniform = rng.uniform
        return lambda: uniform(low, high)
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
        rate = 1.0 / p["mean"]
        expo = rng.expovariate
        return lambda: expo(rate)
    if dist == "lognormal":
        mu, sigma = math.log(p["median"]) if p["median"] > 0 else -math.inf, p["sigma"]
        if mu == -math.inf:
            return lambda: 0.0
        lognorm = rng.lognormvariate
        return lambda: lognorm(mu, sigma)
    if dist == "pareto":
        scale, shape = p["scale"], p["shape"]
        pareto = rng.paretovariate
        return lambda: scale * pareto(shape)
    raise ValueError(f"unknown latency distribution {dist!r}")


def describe(latency: Latency) -> str:
    return f"{latency.dist}(" + ", ".join(f"{k}={v:g}" for k, v in latency.params) + ")"
