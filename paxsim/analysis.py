"""Traces as data, for plots and notebooks.  Reads only trace events.

    >>> from paxsim import analysis
    >>> msgs = analysis.messages(run.events)          # one record per message copy
    >>> lat = analysis.latencies(run.events)          # {"prepare": array([...]), ...}
    >>> analysis.decision_times(run.events)           # {"n1": 12.3, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .trace import msg_dict


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message copy: sent at `sent`, then delivered at `delivered` or
    dropped at `dropped` for `reason` (neither if still in flight at the end)."""

    id: int
    type: str
    src: str
    dst: str
    ballot: tuple | None
    sent: float
    delivered: float | None
    dropped: float | None
    reason: str | None
    copy_of: int | None

    @property
    def latency(self) -> float | None:
        return None if self.delivered is None else self.delivered - self.sent

    @property
    def local(self) -> bool:
        return self.src == self.dst


def header(events: list[dict]) -> dict:
    return events[0] if events and events[0].get("kind") == "header" else {}


def messages(events: list[dict]) -> list[MessageRecord]:
    """Every message copy in the trace, in order of sending."""
    sends: dict[int, dict] = {}
    copy_of: dict[int, int] = {}
    copy_time: dict[int, float] = {}
    outcome: dict[int, tuple[str, float, str | None]] = {}
    for ev in events:
        kind = ev.get("kind")
        if kind == "send":
            sends[ev["id"]] = ev
        elif kind == "duplicate":
            copy_of[ev["copy"]] = ev["id"]
            copy_time[ev["copy"]] = ev["t"]
        elif kind == "deliver":
            outcome[ev["id"]] = ("deliver", ev["t"], None)
        elif kind == "drop":
            outcome[ev["id"]] = ("drop", ev["t"], ev.get("reason"))
    ids = sorted(set(sends) | set(copy_of))
    out = []
    for mid in ids:
        original = sends.get(mid) or sends[copy_of[mid]]
        msg = msg_dict(original)
        ballot = msg.get("ballot")
        how, t, reason = outcome.get(mid, (None, None, None))
        out.append(MessageRecord(
            id=mid,
            type=msg.get("type", "?"),
            src=original["src"],
            dst=original["dst"],
            ballot=tuple(ballot) if ballot is not None else None,
            sent=copy_time.get(mid, original["t"]),
            delivered=t if how == "deliver" else None,
            dropped=t if how == "drop" else None,
            reason=reason,
            copy_of=copy_of.get(mid),
        ))
    return out


def latencies(events: list[dict], by: str = "type", include_local: bool = False) -> dict[str, np.ndarray]:
    """Delivery time minus send time (ms) of every delivered message, grouped
    by message type (`by="type"`) or by link `"n1->n2"` (`by="link"`).
    Local deliveries (a node to itself, latency 0) are left out unless asked."""
    if by not in ("type", "link"):
        raise ValueError(f"by must be 'type' or 'link', not {by!r}")
    groups: dict[str, list[float]] = {}
    for m in messages(events):
        if m.delivered is None or (m.local and not include_local):
            continue
        key = m.type if by == "type" else f"{m.src}->{m.dst}"
        groups.setdefault(key, []).append(m.delivered - m.sent)
    return {k: np.asarray(v, dtype=float) for k, v in groups.items()}


def decision_times(events: list[dict]) -> dict[str, float]:
    """Each learner's first decision time (ms)."""
    out: dict[str, float] = {}
    for ev in events:
        if ev.get("kind") == "decide" and ev["node"] not in out:
            out[ev["node"]] = ev["t"]
    return out


def spans(events: list[dict], start: str, stop: str, key) -> list[tuple[Any, float, float | None]]:
    """Intervals between matching start/stop events: (key, t0, t1 or None if still open)."""
    open_: dict[Any, float] = {}
    out = []
    for ev in events:
        kind = ev.get("kind")
        if kind == start:
            open_.setdefault(key(ev), ev["t"])
        elif kind == stop and key(ev) in open_:
            k = key(ev)
            out.append((k, open_.pop(k), ev["t"]))
    out.extend((k, t0, None) for k, t0 in open_.items())
    return sorted(out, key=lambda s: (s[1], str(s[0])))


def downtime(events: list[dict]) -> list[tuple[str, float, float | None]]:
    """(node, crashed at, restarted at or None)."""
    return spans(events, "crash", "restart", lambda ev: ev["node"])


def partitions(events: list[dict]) -> list[tuple[tuple, float, float | None]]:
    """(groups, from, until): a new partition ends the previous one."""
    out = []
    current = None
    for ev in events:
        if ev.get("kind") == "partition":
            if current:
                out.append((current[0], current[1], ev["t"]))
            current = (tuple(tuple(g) for g in ev["groups"]), ev["t"])
        elif ev.get("kind") == "heal" and current:
            out.append((current[0], current[1], ev["t"]))
            current = None
    if current:
        out.append((current[0], current[1], None))
    return out


def cuts(events: list[dict]) -> list[tuple[tuple[str, str], float, float | None]]:
    """((src, dst), cut at, uncut at or None)."""
    return spans(events, "cut", "uncut", lambda ev: (ev["src"], ev["dst"]))


# --- the configured latency distributions, for drawing over observations ------
def latency_cdf(latency: dict):
    """CDF of a normalized latency spec ({"dist": ..., params in ms}) as a
    numpy-vectorized function of x (ms)."""
    from math import erf, log, sqrt

    dist = latency["dist"]
    erf_v = np.vectorize(erf)
    if dist == "constant":
        v = latency["value"]
        return lambda x: (np.asarray(x, dtype=float) >= v).astype(float)
    if dist == "uniform":
        lo, hi = latency["low"], latency["high"]
        if hi <= lo:
            return lambda x: (np.asarray(x, dtype=float) >= lo).astype(float)
        return lambda x: np.clip((np.asarray(x, dtype=float) - lo) / (hi - lo), 0, 1)
    if dist == "normal":
        mu, sd = latency["mean"], max(latency["std"], 1e-12)

        def phi(x):
            return 0.5 * (1 + erf_v((np.asarray(x, dtype=float) - mu) / (sd * sqrt(2))))

        p0 = phi(0.0)
        return lambda x: np.clip((phi(x) - p0) / (1 - p0), 0, 1)
    if dist == "exponential":
        mean = latency["mean"]
        return lambda x: 1 - np.exp(-np.clip(np.asarray(x, dtype=float), 0, None) / mean)
    if dist == "lognormal":
        median, sigma = latency["median"], max(latency["sigma"], 1e-12)
        mu = log(median) if median > 0 else -np.inf

        def cdf(x):
            x = np.asarray(x, dtype=float)
            with np.errstate(divide="ignore"):
                z = (np.log(np.clip(x, 1e-300, None)) - mu) / (sigma * sqrt(2))
            return np.where(x > 0, 0.5 * (1 + erf_v(z)), 0.0)

        return cdf
    if dist == "pareto":
        scale, shape = latency["scale"], latency["shape"]
        return lambda x: np.where(np.asarray(x, dtype=float) >= scale,
                                  1 - (scale / np.maximum(np.asarray(x, dtype=float), scale)) ** shape, 0.0)
    raise ValueError(f"unknown latency distribution {dist!r}")


def configured_latency(events: list[dict], src: str | None = None, dst: str | None = None) -> dict | None:
    """The latency spec the trace's scenario gave a link (or the default)."""
    net = (header(events).get("scenario") or {}).get("network") or {}
    if src is not None:
        for link in net.get("links") or []:
            if link.get("from") == src and link.get("to") == dst and "latency" in link:
                return link["latency"]
    return net.get("latency")
