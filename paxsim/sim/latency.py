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
        if not _inlined_lognormal_matches():
            return _no_overflow(partial(rng.lognormvariate, math.log(p["median"]), p["sigma"]))
        return _lognormal(rng, math.log(p["median"]), p["sigma"])
    if dist == "pareto":
        scale, shape = p["scale"], p["shape"]
        return _no_overflow(partial(rng.paretovariate, shape), scale)
    raise ValueError(f"unknown latency distribution {dist!r}")


INF = math.inf


def _no_overflow(draw: Sampler, scale: float = 1.0) -> Sampler:
    """`scale * draw()`, or inf when the draw is past the largest float
    (lognormal with a large sigma, pareto with a small shape raise
    OverflowError there): a message that never arrives, as one whose delay
    overflows to inf in the product does.  The same draws from the stream."""

    def sample() -> float:
        try:
            return scale * draw()
        except OverflowError:
            return INF

    return sample


def _lognormal(rng: random.Random, mu: float, sigma: float) -> Sampler:
    """`partial(rng.lognormvariate, mu, sigma)` in one Python call per draw
    instead of two (lognormvariate calls normalvariate): the same draws from
    `rng` and the same arithmetic, so the same floats (checked against the
    running Python's own by `_inlined_lognormal_matches`)."""
    draw = rng.random
    log, exp = math.log, math.exp
    magic: float = random.NV_MAGICCONST  # type: ignore[attr-defined]  # not in typeshed

    def lognormal() -> float:
        while True:  # Kinderman and Monahan's ratio method, as random.normalvariate
            u1 = draw()
            u2 = 1.0 - draw()
            z = magic * (u1 - 0.5) / u2
            if z * z / 4.0 <= -log(u2):
                try:
                    return exp(mu + z * sigma)
                except OverflowError:  # past the largest float: never arrives (as an inf from a product does)
                    return INF

    return lognormal


_MATCHES: list[bool] = []


def _inlined_lognormal_matches() -> bool:
    """Whether `_lognormal` gives exactly what this Python's
    `random.lognormvariate` gives (checked once, on 200 draws): if a Python
    release changed its algorithm, paxsim would use the library's, so that a
    trace never depends on this shortcut."""
    if not _MATCHES:
        mine, theirs = random.Random("paxsim-lognormal"), random.Random("paxsim-lognormal")
        fast = _lognormal(mine, 0.3, 0.7)
        _MATCHES.append(all(fast() == theirs.lognormvariate(0.3, 0.7) for _ in range(200)))
    return _MATCHES[0]
