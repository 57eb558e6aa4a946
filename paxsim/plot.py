"""matplotlib figures drawn from traces alone, so any trace, old or new, can be drawn.

No pyplot: figures are built with the object-oriented API, so there is no
global state and no display is needed (Agg renders PNG; SVG and PDF by the
file's extension).  Saving fixes every date and hash salt, so the same trace
gives the same file every time.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from matplotlib.transforms import blended_transform_factory

from . import analysis
from .colors import type_colors

TRACE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
PERCENTILES = ((50, "-"), (95, "--"), (99, ":"))
CONFIGURED_STYLE = "-"  # a solid black step curve; the percentiles are coloured vertical lines
CONFIGURED_COLORS = ["black", "#555555", "#999999"]
TIMELINE_MAX_WIDTH = 16.0  # inches: a 51-node run gets narrow lanes, not a 80-inch figure
FEW_MESSAGES = 15  # a panel with at most this many messages per trace draws a dot per message
_MARKED = {"decide", "crash", "restart", "partition", "heal", "cut", "uncut"}


class PlotError(ValueError):
    """Bad plotting input (unknown node, empty window, unknown format)."""


def save(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Save by extension (.png, .svg, .pdf) with no timestamps, so output is repeatable."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PlotError(f"{path}: unknown figure format {path.suffix or '(none)'!r} (use .png, .svg or .pdf)")
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    with matplotlib.rc_context({"svg.hashsalt": "paxsim", "pdf.compression": 6}):
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
    return path


def _title(events: list[dict]) -> str:
    h = analysis.header(events)
    name = (h.get("scenario") or {}).get("name") or "trace"
    return f"{name} (seed {h.get('seed')})"


def _ms(v: float) -> str:
    return f"{round(v, 2):g}"


# --------------------------------------------------------------------------
# Latency histograms
# --------------------------------------------------------------------------
class LatencyGroup:
    """The delivered messages between nodes of one panel of one trace: their
    latencies (in message-id order) and how many went over each link."""

    __slots__ = ("latencies", "per_link")

    def __init__(self, latencies: np.ndarray, per_link: dict[tuple[str, str], int]) -> None:
        self.latencies, self.per_link = latencies, per_link

    def __len__(self) -> int:
        return int(self.latencies.size)


def latency_groups(events: list[dict], by: str = "type") -> tuple[dict, dict[str, LatencyGroup]]:
    """A trace's header and its `latency_figure` panels, from its events in memory."""
    lists: dict[str, list[analysis.MessageRecord]] = {}
    for m in analysis.messages(events):
        if m.delivered is not None and not m.local:
            lists.setdefault(m.type if by == "type" else f"{m.src}->{m.dst}", []).append(m)
    groups = {}
    for key, ms in lists.items():
        per_link: dict[tuple[str, str], int] = {}
        for m in ms:
            per_link[m.src, m.dst] = per_link.get((m.src, m.dst), 0) + 1
        groups[key] = LatencyGroup(np.asarray([m.latency for m in ms], dtype=float), per_link)
    return analysis.header(events), groups


class NotStreamed(Exception):
    """`stream_latency_groups` met what only the whole trace can settle (a
    delivery, drop or copy of a message it does not have in flight)."""


def stream_latency_groups(events, by: str = "type") -> tuple[dict, dict[str, LatencyGroup]]:
    """`latency_groups` from events read one at a time (a trace file in `seq`
    order, `paxsim.trace.iter_trace`), holding only the messages in flight
    and a number per delivered message: a million-message trace in tens of
    megabytes rather than gigabytes.  The same groups, in the same order."""
    from array import array

    from .trace import msg_dict

    header: dict = {}
    flying: dict = {}  # id -> (sent t, panel key, src, dst)
    # messages delivered or dropped at the latest time: a copy is recorded right after its
    # original's send, which may already have been lost (or delivered, to the sender itself)
    done: dict = {}
    done_t = None
    ids: dict[str, list] = {}
    lats: dict[str, array] = {}
    links: dict[str, dict[tuple[str, str], int]] = {}
    for ev in events:
        kind = ev.get("kind")
        if kind == "send":
            src, dst = ev["src"], ev["dst"]
            key = msg_dict(ev).get("type", "?") if by == "type" else f"{src}->{dst}"
            flying[ev["id"]] = (ev["t"], key, src, dst)
        elif kind == "duplicate":
            orig = flying.get(ev["id"]) or (done.get(ev["id"]) if ev["t"] == done_t else None)
            if orig is None or ev["copy"] in flying:
                raise NotStreamed
            flying[ev["copy"]] = (ev["t"],) + orig[1:]
        elif kind in ("deliver", "drop"):
            got = flying.pop(ev["id"], None)
            if got is None:
                raise NotStreamed
            if ev["t"] != done_t:
                done.clear()
                done_t = ev["t"]
            done[ev["id"]] = got
            if kind == "deliver" and got[2] != got[3]:
                key, link = got[1], (got[2], got[3])
                if key not in ids:
                    ids[key], lats[key], links[key] = [], array("d"), {}
                ids[key].append(ev["id"])
                lats[key].append(ev["t"] - got[0])
                links[key][link] = links[key].get(link, 0) + 1
        elif kind == "header" and not header:
            header = ev
    groups = {}
    # in message-id order, the panels in the order of their first message, as latency_groups has them
    for key in sorted(ids, key=lambda k: min(ids[k])):
        order = sorted(range(len(ids[key])), key=ids[key].__getitem__)
        groups[key] = LatencyGroup(np.frombuffer(lats[key], dtype=float)[order], links[key])
    return header, groups


def latency_figure(traces: list[tuple[str, list[dict]]], by: str = "type", log: bool = False,
                   max_panels: int = 16, grouped: list[tuple[dict, dict[str, LatencyGroup]]] | None = None
                   ) -> Figure:
    """One panel per message type (or link), a histogram per trace, p50/p95/p99
    marked, and the configured latency distribution drawn over each as the
    expected count per bin.  `grouped`: each trace's `latency_groups` (or
    `stream_latency_groups`) already made, the events then unused."""
    if by not in ("type", "link"):
        raise PlotError(f"--by must be 'type' or 'link', not {by!r}")
    if grouped is None:
        grouped = [latency_groups(events, by) for _, events in traces]
    per_trace = [(label, [header], groups) for (label, _), (header, groups) in zip(traces, grouped)]
    totals: dict[str, int] = {}
    for _, _, groups in per_trace:
        for key, ms in groups.items():
            totals[key] = totals.get(key, 0) + len(ms)
    if by == "type":
        keys = list(type_colors(totals))
    else:
        keys = sorted(totals, key=lambda k: (-totals[k], k))
    omitted = max(0, len(keys) - max_panels)
    keys = keys[:max_panels]
    if not keys:
        raise PlotError("no delivered messages between nodes in the trace(s): nothing to draw")
    ncols = min(4, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows + 1.3), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    several = len(traces) > 1
    # one configured curve per scenario: runs of one scenario share it (the expected count per run)
    scenario_of = [_configured_key(events) for _, events, _ in per_trace]
    scenarios = list(dict.fromkeys(scenario_of))
    handles: dict[str, object] = {}
    for ax, key in zip(axes.flat, keys):
        values = np.concatenate([g[key].latencies for _, _, g in per_trace if key in g])
        edges = _bins(values, log)
        few = max(len(g[key]) if key in g else 0 for _, _, g in per_trace) <= FEW_MESSAGES
        stats = []
        expected_by_scenario: dict[str, list[np.ndarray]] = {}
        for i, (label, events, groups) in enumerate(per_trace):
            ms = groups.get(key)
            if not ms:
                continue
            color = TRACE_COLORS[i % len(TRACE_COLORS)]
            name = label if several else "observed"
            lat = ms.latencies
            counts, _ = np.histogram(lat, bins=edges)
            p = {q: float(np.percentile(lat, q)) for q, _ in PERCENTILES}
            stats.append((f"{label}: " if several else "")
                         + f"n={lat.size}, p50 {p[50]:.3g}, p95 {p[95]:.3g}, p99 {p[99]:.3g} ms")
            if few:
                # a handful of messages: a dot per message, stacked in its bin, rather than bars
                bins = np.clip(np.searchsorted(edges, lat, side="right") - 1, 0, len(edges) - 2)
                order = np.argsort(lat, kind="stable")
                height = np.zeros(len(edges) - 1, dtype=int)
                ys = np.zeros(lat.size)
                for j in order:
                    height[bins[j]] += 1
                    ys[j] = height[bins[j]]
                (art,) = ax.plot(lat, ys, linestyle="", marker="o", markersize=5, color=color, alpha=0.8,
                                 gid=f"observed-points:{i}", label=f"{name} (a dot per message)")
                handles.setdefault(f"{name} (a dot per message)", art)
            else:
                art = ax.stairs(counts, edges, fill=not several, alpha=0.45 if not several else 1.0, color=color,
                                linewidth=1.4, label=name, gid=f"observed:{i}")
                handles.setdefault(name, art)
            for q, style in PERCENTILES:
                ax.axvline(p[q], color=color, linestyle=style, linewidth=1.1, gid=f"p{q}:{i}")
            expected = _expected_counts(events, ms, edges)
            if expected is not None:
                expected_by_scenario.setdefault(scenario_of[i], []).append(expected)
        for s, curves in expected_by_scenario.items():
            k = scenarios.index(s)
            label = "configured" if len(scenarios) == 1 else f"configured: {s.split(chr(0))[0]}"
            runs = scenario_of.count(s)  # a run with no such message expects none of them
            if runs > 1:
                label += " (expected per run)"
            color = CONFIGURED_COLORS[k % len(CONFIGURED_COLORS)]
            art = ax.stairs(np.sum(curves, axis=0) / runs, edges, color=color, linestyle=CONFIGURED_STYLE,
                            linewidth=1.3,
                            label=label, gid=f"configured:{k}")
            handles.setdefault(label, art)
        ax.set_title(key + ("\n" + "\n".join(stats) if stats else "")
                     + (f"\nonly {values.size} messages: a dot each" if few else ""), fontsize=8)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("messages")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            pad = (edges[-1] / edges[0]) ** 0.08
            ax.set_xlim(edges[0] / pad, edges[-1] * pad)
        else:
            ax.set_xlim(edges[0], edges[-1] + 0.08 * (edges[-1] - edges[0]))
        if few:
            ax.set_ylim(0, max(ax.get_ylim()[1], 1) + 0.6)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    for q, style in PERCENTILES:
        handles[f"p{q}"] = Line2D([], [], color=TRACE_COLORS[0] if not several else "#777777", linestyle=style,
                                  linewidth=1.1)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center", fontsize=8,
               ncols=min(len(handles), 6), frameon=False)
    what = "message type" if by == "type" else "link"
    title = f"Message latency (delivery - send) by {what}; lines: p50 solid, p95 dashed, p99 dotted"
    if not several:
        title = f"{traces[0][0]}: {title}"
    if omitted:
        title += f"\n{omitted} more {what}s with fewer messages not shown"
    fig.suptitle(title, fontsize=10)
    return fig


def _configured_key(events: list[dict]) -> str:
    """Runs with the same scenario name and network share one configured curve."""
    import json

    sc = analysis.header(events).get("scenario") or {}
    return f"{sc.get('name') or 'trace'}\0{json.dumps(sc.get('network'), sort_keys=True)}"


def _bins(values: np.ndarray, log: bool) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo = max(min(v for v in values if v > 0) if (values > 0).any() else 1e-3, 1e-3)
        hi = max(hi, lo * 1.01)
        return np.geomspace(lo * 0.999, hi * 1.001, 41)
    lo = min(lo, 0.0)
    if hi - lo < 1e-9:
        return np.array([lo - 0.5, hi + 0.5])
    n = int(min(60, max(12, np.sqrt(values.size) * 2)))
    return np.linspace(lo, hi * 1.001, n + 1)


def _expected_counts(events, group: LatencyGroup, edges) -> np.ndarray | None:
    """Sum over links of (messages on the link) x (configured probability of each bin)."""
    per_link = group.per_link
    total = np.zeros(len(edges) - 1)
    for (src, dst), n in sorted(per_link.items()):
        spec = analysis.configured_latency(events, src, dst)
        if spec is None:
            return None
        cdf = np.asarray(analysis.latency_cdf(spec)(edges), dtype=float)
        total += n * np.diff(cdf)
    return total


# --------------------------------------------------------------------------
# Timeline (sequence diagram)
# --------------------------------------------------------------------------
def timeline_figure(events: list[dict], t_from: float | None = None, t_to: float | None = None,
                    nodes: list[str] | None = None, max_messages: int = 300,
                    window: "TimelineWindow | None" = None) -> Figure:
    """A sequence diagram: a lane per node, time flowing down, an arrow per
    delivered message (coloured by type, labelled with its ballot), a cross
    per lost message, crashes shaded on the lane, partitions and cuts as
    bands, decisions starred.  A long trace is windowed, never smeared: with
    no `t_to`, the window ends after `max_messages` messages, and the title
    says what was left out.  `window`: what `stream_timeline_window` kept of
    the trace for these arguments (the events are then unused)."""
    if window is None:
        window = _timeline_window(events, t_from, t_to, nodes, max_messages)
    return _draw_timeline(window)


class TimelineWindow:
    """What a timeline draws: the lanes, the window [lo, hi] of a trace
    ending at end_t, the messages in it, the faults and decisions to mark,
    the notes for the title."""

    __slots__ = ("header", "lanes", "all_nodes", "lo", "hi", "end_t", "candidates", "notes", "faults", "decides",
                 "to_self")

    def __init__(self, **fields) -> None:
        for k, v in fields.items():
            setattr(self, k, v)


_FAULT_KINDS = frozenset({"crash", "restart", "partition", "heal", "cut", "uncut"})


def _check_range(t_from, t_to, lo: float, end_t: float) -> None:
    """--from/--to against the trace's end, in the words both readers use."""
    if t_from is None and end_t <= 0.0:  # no --from was given: do not blame one
        raise PlotError(f"the trace ends at {end_t:g} ms: no time to draw")
    if lo >= end_t:
        raise PlotError(f"--from: {lo:g} ms is at or after the end of the trace ({end_t:g} ms)")
    if t_to is not None and t_to <= lo:
        raise PlotError(f"--to: {t_to:g} ms must be after --from {lo:g} ms")


def _cut_window(candidates: list, total: int, lo: float, t_to, end_t: float, marked: float | None,
                max_messages: int, lanes: list, all_nodes: list) -> tuple[list, float, list[str]]:
    """(the messages drawn, the window's end, notes) from the window's first
    candidates (`total` in all; at least max_messages + 1 of them given when
    there are more), the latest decision or fault `marked`, and the lanes."""
    def finish(m):
        return m.delivered if m.delivered is not None else (m.dropped if m.dropped is not None else end_t)

    notes = []
    if t_to is None:
        # end at the last thing worth seeing (a message, a decision, a fault), not at the time limit
        marks = [finish(m) for m in candidates] + ([marked] if marked is not None else [])
        hi = min(end_t, max(marks, default=end_t) * 1.04 + 1.0)
    else:
        hi = float(t_to)
    if total > max_messages:
        # the window ends where the first message left out is sent, so every message sent in it is drawn
        # (arrows that arrive later run off the bottom edge)
        cut = candidates[max_messages].sent
        kept = [m for m in candidates if m.sent < cut]
        if kept:
            hi = max(cut, lo + 1e-9)
        else:  # more than max_messages sent at one instant: draw the first of them
            kept = candidates[:max_messages]
            hi = max(max(finish(m) for m in kept), lo + 1.0)
        candidates = kept
        notes.append(f"window {_ms(lo)}-{_ms(hi)} ms of {_ms(end_t)} (--max-messages {max_messages}): "
                     f"{len(candidates)} of {total} messages; use --from/--to or --nodes for the rest")
    if hi <= lo:
        hi = lo + 1.0
    if len(lanes) < len(all_nodes):
        notes.append(f"nodes shown: {', '.join(lanes)} (messages to or from others left out)")
    return candidates, hi, notes


def _timeline_window(events: list[dict], t_from, t_to, nodes, max_messages: int) -> TimelineWindow:
    """The window of a trace held whole (any trace: the reference that
    `stream_timeline_window` matches)."""
    h = analysis.header(events)
    all_nodes = list((h.get("scenario") or {}).get("nodes") or [])
    if not all_nodes:
        seen = {}
        for ev in events:
            for k in ("src", "dst", "node"):
                if k in ev:
                    seen.setdefault(ev[k], None)
        all_nodes = list(seen)
    if nodes:
        unknown = [n for n in nodes if n not in all_nodes]
        if unknown:
            raise PlotError(f"--nodes: unknown node(s) {', '.join(unknown)} (the trace has {', '.join(all_nodes)})")
        lanes = [n for n in all_nodes if n in nodes]
    else:
        lanes = all_nodes
    x = {n: i for i, n in enumerate(lanes)}
    end_t = next((ev["t"] for ev in reversed(events) if ev.get("kind") == "end"), None)
    if end_t is None:
        end_t = max((ev.get("t", 0.0) for ev in events), default=0.0)
    lo = 0.0 if t_from is None else float(t_from)
    _check_range(t_from, t_to, lo, end_t)

    def finish(m):
        return m.delivered if m.delivered is not None else (m.dropped if m.dropped is not None else end_t)

    records = analysis.messages(events)
    candidates = [m for m in records
                  if not m.local and m.src in x and m.dst in x and finish(m) >= lo
                  and (t_to is None or m.sent <= t_to)]
    marked = max((ev["t"] for ev in events if ev.get("kind") in _MARKED), default=None)
    candidates, hi, notes = _cut_window(candidates, len(candidates), lo, t_to, end_t, marked, max_messages,
                                        lanes, all_nodes)
    return TimelineWindow(
        header=h, lanes=lanes, all_nodes=all_nodes, lo=lo, hi=hi, end_t=end_t, candidates=candidates, notes=notes,
        faults=[ev for ev in events if ev.get("kind") in _FAULT_KINDS],
        decides=[ev for ev in events if ev.get("kind") == "decide" and ev["node"] in x],
        to_self=sum(1 for m in records if m.local and m.src in x and lo <= m.sent <= hi))


def stream_timeline_window(events, t_from: float | None = None, t_to: float | None = None,
                           nodes: list[str] | None = None, max_messages: int = 300) -> TimelineWindow:
    """`_timeline_window` from events read one at a time (a trace file in
    `seq` order, `paxsim.trace.stream_trace`), keeping what the figure shows:
    the first `max_messages` + 1 messages of the window, the messages in
    flight (to know the fate of each), the faults and decisions, and a time
    per message a drawn node sends itself while the window's end is open.
    The same window, for any trace whose message ids rise in the order
    sent; `NotStreamed` for anything else (read it whole)."""
    from array import array
    from bisect import bisect_left, bisect_right

    from .trace import msg_dict

    stream = iter(events)
    header = next(stream)
    all_nodes = list((header.get("scenario") or {}).get("nodes") or [])
    if not all_nodes:
        raise NotStreamed  # the nodes are then named by the events
    lanes = [n for n in all_nodes if n in nodes] if nodes else all_nodes
    x = frozenset(lanes)
    lo = 0.0 if t_from is None else float(t_from)
    to = float("inf") if t_to is None else t_to
    # a message: [id, type, src, dst, ballot, sent, delivered, dropped, reason, copy_of]
    flying: dict = {}  # id -> message, while in flight
    done: dict = {}  # the messages that ended at time done_t: a copy may follow its original's end
    done_t = None
    top = -1  # the largest id so far
    early: dict = {}  # id -> message between lanes sent before lo, in flight: shown if it ends at or after lo
    reached = lo <= 0.0  # an event at or after lo has come
    first: list = []  # the first max_messages + 1 messages of the window, in id order
    total = 0
    local = array("d")  # send times, at or after lo, of the messages a drawn node sends itself
    bound = float("inf")  # no later time than this can end the window
    faults, decides = [], []
    marked = None
    end_t = None
    last_t = 0.0

    def arrive(m) -> None:
        nonlocal total
        total += 1
        if len(first) <= max_messages:
            first.append(m)

    def new(m) -> None:
        src, dst, sent = m[2], m[3], m[5]
        if src == dst:
            if src in x and lo <= sent <= bound:
                local.append(sent)
        elif src in x and dst in x and sent <= to:
            if sent >= lo:
                arrive(m)
            else:
                early[m[0]] = m

    for ev in stream:
        kind = ev.get("kind")
        t = ev.get("t", 0.0)
        if t > last_t:
            last_t = t
        if not reached and t >= lo:
            reached = True
            for m in early.values():  # still in flight at lo: they end in the window
                arrive(m)
            early.clear()
        if kind == "send":
            mid = ev["id"]
            if type(mid) is not int or mid <= top:
                raise NotStreamed
            top = mid
            msg = msg_dict(ev)
            ballot = msg.get("ballot")
            m = [mid, msg.get("type", "?"), ev["src"], ev["dst"], tuple(ballot) if ballot is not None else None,
                 t, None, None, None, None]
            flying[mid] = m
            new(m)
        elif kind == "duplicate":
            mid, copy = ev["id"], ev["copy"]
            orig = flying.get(mid) or (done.get(mid) if t == done_t else None)
            if orig is None or orig[9] is not None or type(copy) is not int or copy <= top:
                raise NotStreamed
            top = copy
            m = [copy, orig[1], orig[2], orig[3], orig[4], t, None, None, None, mid]
            flying[copy] = m
            new(m)
        elif kind == "deliver" or kind == "drop":
            m = flying.pop(ev["id"], None)
            if m is None:
                raise NotStreamed  # a message that never was, or ended before
            if kind == "deliver":
                m[6] = t
            else:
                m[7], m[8] = t, ev.get("reason")
            if t != done_t:
                done.clear()
                done_t = t
            done[m[0]] = m
            if not reached:
                early.pop(m[0], None)  # ended before the window
        elif kind == "end":
            end_t = t
        elif kind == "decide" and ev["node"] in x and t >= lo:
            decides.append(ev)
        if kind in _FAULT_KINDS:
            faults.append(ev)
        if kind in _MARKED:
            marked = t if marked is None or t > marked else marked
        if len(first) > max_messages and bound == float("inf") and first[0][5] < first[max_messages][5]:
            bound = max(first[max_messages][5], lo + 1e-9)  # the window's end (see below)
        elif t > to and bound == float("inf") and len(first) <= max_messages:
            bound = to
    if not reached:
        for m in early.values():
            arrive(m)
    if end_t is None:
        end_t = last_t
    if nodes:
        unknown = [n for n in nodes if n not in all_nodes]
        if unknown:
            raise PlotError(f"--nodes: unknown node(s) {', '.join(unknown)} (the trace has {', '.join(all_nodes)})")
    _check_range(t_from, t_to, lo, end_t)

    candidates = [analysis.MessageRecord(id=m[0], type=m[1], src=m[2], dst=m[3], ballot=m[4], sent=m[5],
                                         delivered=m[6], dropped=m[7], reason=m[8], copy_of=m[9]) for m in first]
    candidates, hi, notes = _cut_window(candidates, total, lo, t_to, end_t, marked, max_messages, lanes, all_nodes)
    if hi > bound:
        raise AssertionError(f"the timeline's window ends at {hi} ms, after {bound} ms")  # a bug here, not the trace's
    return TimelineWindow(header=header, lanes=lanes, all_nodes=all_nodes, lo=lo, hi=hi, end_t=end_t,
                          candidates=candidates, notes=notes, faults=faults, decides=decides,
                          to_self=bisect_right(local, hi) - bisect_left(local, lo))  # times in the order sent


def _draw_timeline(w: TimelineWindow) -> Figure:
    lanes, lo, hi, end_t = w.lanes, w.lo, w.hi, w.end_t
    candidates, notes, events = w.candidates, list(w.notes), w.faults
    x = {n: i for i, n in enumerate(lanes)}
    width = min(TIMELINE_MAX_WIDTH, max(6.0, 1.5 * len(lanes) + 3.0))
    fig = Figure(figsize=(width, 9.0), layout="constrained")
    ax = fig.add_subplot()
    for n, i in x.items():
        ax.plot([i, i], [lo, hi], color="#999999", linewidth=1, zorder=1)
    # labels are placed only where they fit: a box per label, in inches, checked against those placed
    # (the axes is about width - 2.2 by 7.3 inches once the legend and titles have their room)
    lane_in = max(0.2, (width - 2.2) / max(len(lanes), 1))
    ms_in = (hi - lo) / 7.3
    placed: list[tuple[float, float, float, float]] = []

    def fits(cx: float, cy: float, chars: int, size: float = 6.0) -> bool:
        """Reserve the box of a label centred at lane cx, time cy, if no label is there yet."""
        w = chars * size * 0.62 / 72 + 0.04
        h = size * 1.25 / 72
        box = (cx * lane_in - w / 2, cx * lane_in + w / 2, (cy - lo) / ms_in - h / 2, (cy - lo) / ms_in + h / 2)
        if box[2] < 0 or box[3] > (hi - lo) / ms_in:
            return False  # would stick out of the window, into the axis titles
        if any(box[0] < q[1] and q[0] < box[1] and box[2] < q[3] and q[2] < box[3] for q in placed):
            return False
        placed.append(box)
        return True

    # partitions and cuts as bands, labelled in the margin right of the lanes, off the arrows
    band = blended_transform_factory(ax.transAxes, ax.transData)
    present = {"down": False, "partition": False, "cut": False}
    band_labels: list[float] = []

    def margin_label(t: float, text: str, color: str) -> None:
        y = t
        while any(abs(y - u) < ms_in * 0.13 for u in band_labels):
            y += ms_in * 0.13
        band_labels.append(y)
        ax.text(1.01, y, text, fontsize=7, va="top", ha="left", color=color, transform=band, clip_on=False,
                gid="band-label")

    for groups, t0, t1 in analysis.partitions(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if a < b:
            present["partition"] = True
            ax.axhspan(a, b, color="#ffb000", alpha=0.13, zorder=0, gid="partition")
            margin_label(a, "partition\n" + " | ".join(",".join(g) for g in groups), "#8a5a00")
    for (src, dst), t0, t1 in analysis.cuts(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if a < b and src in x and dst in x:
            present["cut"] = True
            ax.axhspan(a, b, color="#7b2cbf", alpha=0.07, zorder=0, gid="cut")
            margin_label(a, f"cut {src}->{dst}", "#5a189a")
    # crashed spans on the lane
    for node, t0, t1 in analysis.downtime(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if node in x and a < b:
            present["down"] = True
            ax.add_patch(Rectangle((x[node] - 0.12, a), 0.24, b - a, color="#444444", alpha=0.35, zorder=2, gid="down"))

    # decisions: stars, their labels placed first so ballot labels keep off them
    dx, dy, dv = [], [], []
    for ev in w.decides:
        if lo <= ev["t"] <= hi:
            dx.append(x[ev["node"]])
            dy.append(ev["t"])
            dv.append(ev["value"])
    values = list(dict.fromkeys(map(str, dv)))
    for xi, yi in zip(dx, dy):
        fits(xi, yi, 3, 9.0)  # the star itself
    # delivered messages: arrows; lost ones: a stub ending in a cross
    label_ballots = len(candidates) <= 120
    if not label_ballots:
        notes.append("ballot labels hidden: too many arrows (window it to see them)")
    segments, seg_colors, lost_x, lost_y, lost_paths = [], [], [], [], []
    stub = (hi - lo) * 0.012
    unlabelled = 0
    colors = type_colors(m.type for m in candidates)
    for m in candidates:
        xs, xd = x[m.src], x[m.dst]
        color = colors[m.type]
        if m.delivered is not None:
            segments.append(((xs, m.sent), (xd, m.delivered)))
            seg_colors.append(color)
            if label_ballots and m.ballot is not None:
                text = f"({m.ballot[0]},{m.ballot[1]})"
                # at the middle of the arrow, else a third or two thirds of the way along
                for f in (0.5, 0.3, 0.7):
                    cx, cy = xs + f * (xd - xs), m.sent + f * (m.delivered - m.sent)
                    if lo <= cy <= hi and fits(cx, cy, len(text)):
                        ax.text(cx, cy, text, fontsize=6, color=color, ha="center", va="center", zorder=4,
                                gid="ballot", clip_on=True,
                                bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7))
                        break
                else:
                    unlabelled += 1
        elif m.dropped is not None:
            if m.reason == "crashed":
                end = (xd, m.dropped)
            else:
                end = (xs + 0.35 * (xd - xs), m.dropped + stub)
            lost_paths.append(((xs, m.sent), end))
            lost_x.append(end[0])
            lost_y.append(end[1])
    if unlabelled:
        notes.append(f"{unlabelled} ballot labels left out where arrows crowd")
    for (start, end), color in zip(segments, seg_colors):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7, color=color,
                                     linewidth=0.9, shrinkA=0, shrinkB=0, zorder=3, gid="message"))
    if lost_paths:
        ax.add_collection(LineCollection(lost_paths, colors="#d62728", linewidths=0.8, linestyles="dotted",
                                         zorder=3, gid="lost-paths"))
        ax.scatter(lost_x, lost_y, marker="x", color="#d62728", s=22, zorder=4, gid="lost")
    if dx:
        ax.scatter(dx, dy, marker="*", s=140, color="gold", edgecolor="black", zorder=5, gid="decide")

    ax.set_xlim(-0.5, len(lanes) - 0.5)
    ax.set_ylim(hi, lo)  # time flows down
    ax.set_xticks(range(len(lanes)), lanes)
    if len(lanes) > 12:
        ax.tick_params(axis="x", labelsize=7, labelrotation=90)
    ax.xaxis.tick_top()
    ax.set_xlabel("node")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("simulated time (ms)")
    drawn = {m.type for m in candidates if m.delivered is not None}
    handles = [Line2D([], [], color=c, label=t) for t, c in colors.items() if t in drawn]
    if lost_paths:
        handles.append(Line2D([], [], color="#d62728", marker="x", linestyle="dotted", label="lost"))
    if dx:
        handles.append(Line2D([], [], color="gold", marker="*", markeredgecolor="black", linestyle="",
                              label=f"decide {', '.join(values)}"))
    handles += [patch for name, patch in (("down", Patch(color="#444444", alpha=0.35, label="down")),
                                          ("partition", Patch(color="#ffb000", alpha=0.3, label="partition")),
                                          ("cut", Patch(color="#7b2cbf", alpha=0.2, label="cut")))
                if present[name]]
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0.0))
    # the run summary counts a node's messages to itself too; say how many are not drawn
    to_self = w.to_self
    title = (f"{_title([w.header])}, {_ms(lo)}-{_ms(hi)} ms of {_ms(end_t)}: "
             f"messages between nodes ({len(segments)} delivered, "
             f"{len(lost_paths)} lost; {to_self} from a node to itself not drawn)")
    if notes:
        title += "\n" + "\n".join(notes)
    ax.set_title("\n".join(textwrap.fill(line, int(width * 13)) for line in title.split("\n")), fontsize=9)
    return fig


# --------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------
def decisions_figure(traces: list[tuple[str, list[dict]]], max_rows: int = 40) -> Figure:
    """Left: when each learner learned, a row per trace, and a grey cross at
    the end of the run for learners that never learned.  Right: the CDF of
    time to decision over all learners of all traces, a curve per scenario
    (a curve below 1 at the end means some learners never learned).
    Traces of one scenario run with different settings (--set) are named
    apart by the settings that differ, read from each trace's header."""
    for label, events in traces:  # their `decided` events are per slot: none is a learner's one decision
        protocol = (analysis.header(events).get("scenario") or {}).get("protocol")
        kind = protocol.get("kind", "single-decree") if isinstance(protocol, dict) else "single-decree"
        if kind != "single-decree":
            raise PlotError(f"{label}: a {kind} run decides a log of slots, not one value per learner: "
                            f"'paxsim plot throughput' and 'paxsim plot operations' draw its progress")
    names = _setting_names(traces)
    shown = traces[:max_rows]
    left_out = [label for label, _ in traces[max_rows:]]
    fig = Figure(figsize=(13, max(4.0, len(shown) * 0.28 + 2.0 + (0.4 if left_out else 0.0))), layout="constrained")
    left, right = fig.subplots(1, 2)
    markers = "os^Dv<>phX*"
    node_marker: dict[str, str] = {}
    scenario_index: dict[str, int] = {}
    for name in names:
        scenario_index.setdefault(name, len(scenario_index))
    never_x, never_y, ends = [], [], []
    for row, ((label, events), name) in enumerate(zip(shown, names)):
        color = TRACE_COLORS[scenario_index[name] % len(TRACE_COLORS)]
        decided = analysis.decision_times(events)
        for node, t in sorted(decided.items()):
            mk = node_marker.setdefault(node, markers[len(node_marker) % len(markers)])
            left.scatter([t], [row], marker=mk, s=24, color=color,
                         gid="decision", label=node if row == 0 else None)
        learners = _learners(events)
        end = _end_time(events)
        ends.append(end)
        if any(n not in decided for n in learners) or not decided:
            never_x.append(end)
            never_y.append(row)
    all_times = [t for _, ev in traces for t in analysis.decision_times(ev).values()]
    span = max(all_times) if all_times else max(ends + [1.0])
    if never_x:
        # at the right edge: those learners had not learned when their run ended
        left.scatter([0.985] * len(never_y), never_y, marker="x", s=36, color="#888888", gid="undecided", zorder=3,
                     transform=blended_transform_factory(left.transAxes, left.transData), clip_on=False)
    left.set_yticks(range(len(shown)), [label for label, _ in shown], fontsize=7)
    left.set_ylim(len(shown) - 0.5, -0.5)  # first trace on top
    left.set_xlabel("time of decision (ms)")
    left.set_ylabel("trace")
    left.set_xlim(0, span * 1.06)
    right.set_xlim(0, span * 1.06)
    title = "When each learner learned"
    if left_out:
        title += f" (rows for the first {len(shown)} of {len(traces)} traces, as given)"
    left.set_title(title, fontsize=10)
    if left_out:
        listed = ", ".join(left_out[:6]) + (f" and {len(left_out) - 6} more" if len(left_out) > 6 else "")
        left.text(0.0, -0.06, f"no row (still in the CDF): {listed}", transform=left.transAxes, fontsize=7,
                  va="top", gid="left-out", wrap=True)
    handles = [Line2D([], [], marker=mk, linestyle="", color="black", label=n) for n, mk in node_marker.items()]
    if never_x:
        handles.append(Line2D([], [], marker="x", linestyle="", color="#888888",
                              label="not all learned\nby the end of the run"))
    if handles:
        left.legend(handles=handles, fontsize=7, title="learner", title_fontsize=7, loc="upper left",
                    bbox_to_anchor=(1.01, 1.0))

    groups: dict[str, tuple[list[float], int, float]] = {}
    for (label, events), name in zip(traces, names):
        times, learners, end = groups.get(name, ([], 0, 0.0))
        times.extend(analysis.decision_times(events).values())
        groups[name] = (times, learners + len(_learners(events)), max(end, _end_time(events)))
    for i, (name, (times, learners, end)) in enumerate(groups.items()):
        ts = np.sort(np.asarray(times, dtype=float))
        if learners == 0:
            continue
        y = np.arange(1, ts.size + 1) / learners
        # from 0 to the end of the longest run, so a curve that ends below 1 shows it
        xs = np.concatenate([[0.0], ts, [max(end, ts[-1] if ts.size else 0.0)]])
        ys = np.concatenate([[0.0], y, [y[-1] if y.size else 0.0]])
        median = f", median {float(np.percentile(ts, 50)):.3g} ms" if ts.size else ""
        right.step(xs, ys, where="post", color=TRACE_COLORS[i % len(TRACE_COLORS)], gid=f"cdf:{name}",
                   label=f"{name}: {ts.size}/{learners} learned{median}")
    right.set_ylim(0, 1.02)
    right.set_xlabel("time to decision (ms since start)")
    right.set_ylabel("fraction of learners")
    right.set_title(f"CDF of time to decision over {len(traces)} trace(s)", fontsize=10)
    right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def decision_events(events) -> list[dict]:
    """What `decisions_figure` reads of a trace, from its events read one at
    a time (`paxsim.trace.stream_trace`): the header, each learner's first
    `decide`, and the `end` event (one at the time of the last event when
    the trace has none).  A handful of events, whatever the trace's size."""
    out: list[dict] = []
    first: dict = {}
    end = None
    last_t = 0.0
    for ev in events:
        kind = ev.get("kind")
        if not out:
            out.append(ev)
            continue
        if kind == "decide" and ev["node"] not in first:
            first[ev["node"]] = ev
            out.append(ev)
        elif kind == "end":
            end = ev
        t = ev.get("t", 0.0)
        last_t = t if t > last_t else last_t
    out.append(end if end is not None else {"kind": "end", "t": last_t})
    return out


def _learners(events: list[dict]) -> list[str]:
    return list((analysis.header(events).get("scenario") or {}).get("nodes") or [])


def _end_time(events: list[dict]) -> float:
    end = next((ev["t"] for ev in reversed(events) if ev.get("kind") == "end"), None)
    return float(end if end is not None else max((ev.get("t", 0.0) for ev in events), default=0.0))


def _setting_names(traces: list[tuple[str, list[dict]]]) -> list[str]:
    """A name per trace: its scenario's, and where runs of one scenario differ in
    anything but the seed (a --set, a --bug), the settings that differ."""
    flat = []
    for label, events in traces:
        sc = dict(analysis.header(events).get("scenario") or {})
        sc.pop("seed", None)
        sc.pop("description", None)
        flat.append((_scenario_name(events, label), _flatten(sc)))
    out = []
    for name, settings in flat:
        same = [f for n, f in flat if n == name]
        keys = [k for k in sorted({k for f in same for k in f}) if any(f.get(k) != settings.get(k) for f in same)]
        out.append(name + (" " + " ".join(f"{k}={settings.get(k, '-')}" for k in keys) if keys else ""))
    return out


def _flatten(value, prefix: str = "") -> dict[str, str]:
    import json

    if isinstance(value, dict) and value:
        out = {}
        for k in sorted(value):
            out.update(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: json.dumps(value, sort_keys=True, separators=(",", ":"))}


def _scenario_name(events: list[dict], fallback: str) -> str:
    return (analysis.header(events).get("scenario") or {}).get("name") or fallback


# --------------------------------------------------------------------------
# Client operations (traces with a workload: invoke / ok / fail / info)
# --------------------------------------------------------------------------
OP_COLORS = {"get": "#1f77b4", "put": "#ff7f0e", "append": "#2ca02c", "cas": "#9467bd"}


def _operations(events: list[dict]) -> list[tuple[str, float, float | None, str]]:
    """(f, invoke t, completion t or None, outcome) per client operation, in invoke order."""
    started: dict[tuple, int] = {}
    ops: list[list] = []
    for ev in events:
        kind = ev.get("kind")
        if kind == "invoke":
            started[(ev.get("client"), ev.get("req"))] = len(ops)
            ops.append([ev.get("f"), ev["t"], None, "open"])
        elif kind in ("ok", "fail", "info"):
            i = started.pop((ev.get("client"), ev.get("req")), None)
            if i is not None:
                ops[i][2], ops[i][3] = ev["t"], kind
    if not ops:
        raise PlotError("no client operations in the trace (invoke/ok events come from runs with a workload)")
    return [tuple(op) for op in ops]


_CLIENT_KINDS = frozenset({"invoke", "ok", "fail", "info"})
_OPERATION_KINDS = _CLIENT_KINDS | {"crash", "restart", "partition", "heal", "cut", "uncut"}


def operation_events(events) -> list[dict]:
    """What `throughput_figure` and `operations_figure` read of a trace, from
    its events read one at a time (`paxsim.trace.stream_trace`): the header,
    the client events, the faults they shade, and the (first) event with the
    latest time, which sets the figure's end.  The history, not the message
    traffic: a long run's trace draws in memory that grows with its
    operations."""
    out: list[dict] = []
    latest, kept = None, False
    names: dict[str, str] = {}  # one copy of each kind, client and operation name
    for ev in events:
        if not out:
            out.append(ev)
            continue
        kind = ev.get("kind")
        keep = kind in _OPERATION_KINDS
        if keep:
            if kind in _CLIENT_KINDS:  # only what _operations reads, its names shared
                ev = {k: (names.setdefault(ev[k], ev[k]) if type(ev[k]) is str else ev[k])
                      for k in ("kind", "client", "req", "f", "t") if k in ev}
            out.append(ev)
        if "t" in ev and (latest is None or ev["t"] > latest["t"]):
            latest, kept = ev, keep
    if latest is not None and not kept:
        out.append(latest)  # read for its time only: no figure draws its kind
    return out


def _fault_spans(events: list[dict], end: float) -> list[tuple[float, float, str]]:
    """(start, end, label): nodes down, partitions, cuts."""
    spans = []
    down: dict[str, float] = {}
    partition = None
    cuts: dict[tuple, float] = {}
    for ev in events:
        kind, t = ev.get("kind"), ev.get("t")
        if kind == "crash":
            down[ev["node"]] = t
        elif kind == "restart" and ev.get("node") in down:
            spans.append((down.pop(ev["node"]), t, f"{ev['node']} down"))
        elif kind == "partition":
            partition = (t, " | ".join(",".join(g) for g in ev.get("groups", [])))
        elif kind == "heal" and partition is not None:
            spans.append((partition[0], t, f"partition {partition[1]}"))
            partition = None
        elif kind == "cut":
            cuts[(ev.get("src"), ev.get("dst"))] = t
        elif kind == "uncut" and (ev.get("src"), ev.get("dst")) in cuts:
            spans.append((cuts.pop((ev["src"], ev["dst"])), t, f"cut {ev['src']}->{ev['dst']}"))
    spans += [(t, end, f"{n} down") for n, t in down.items()]
    if partition is not None:
        spans.append((partition[0], end, f"partition {partition[1]}"))
    spans += [(t, end, f"cut {a}->{b}") for (a, b), t in cuts.items()]
    return spans


def throughput_figure(events: list[dict], bucket: float = 50.0) -> Figure:
    """Top: operations completed ok per simulated second, per time bucket.
    Bottom: the latency of each completed operation at its completion time,
    with the bucket's p50 and p99.  Node crashes, partitions and cuts shaded."""
    if bucket <= 0:
        raise PlotError(f"bucket {bucket:g} ms: expected a duration > 0")
    ops = _operations(events)
    scenario = analysis.header(events).get("scenario") or {}
    end = max([float(scenario.get("duration") or 0.0)] + [ev["t"] for ev in events[1:] if "t" in ev])
    edges = np.arange(0.0, end + bucket, bucket)
    done = [(t1, t1 - t0, f) for f, t0, t1, outcome in ops if outcome == "ok"]
    t_ok = np.asarray([d[0] for d in done], dtype=float)
    counts, _ = np.histogram(t_ok, bins=edges)
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.step(edges[:-1], counts * (1000.0 / bucket), where="post", color="#1f77b4", gid="ops-per-s")
    top.set_ylabel("ops/s (ok)")
    top.set_title(f"{_title(events)}: {len(done)} ok of {len(ops)} operations, "
                  f"{len(done) / (end / 1000.0) if end else 0:.1f} ops/s overall", fontsize=10)
    for f in OP_COLORS:
        pts = [(t, lat) for t, lat, g in done if g == f]
        if pts:
            xs, ys = zip(*pts)
            bottom.scatter(xs, ys, s=4, alpha=0.5, color=OP_COLORS[f], label=f, gid=f"latency:{f}")
    mids, p50, p99 = [], [], []
    lat = np.asarray([d[1] for d in done], dtype=float)
    for i in range(len(edges) - 1):
        inside = lat[(t_ok >= edges[i]) & (t_ok < edges[i + 1])]
        if inside.size:
            mids.append(edges[i] + bucket / 2)
            p50.append(float(np.percentile(inside, 50)))
            p99.append(float(np.percentile(inside, 99)))
    bottom.plot(mids, p50, color="black", linestyle="-", label="p50", gid="p50")
    bottom.plot(mids, p99, color="black", linestyle=":", label="p99", gid="p99")
    gave_up = [(t1, t1 - t0) for f, t0, t1, outcome in ops if outcome == "info"]
    if gave_up:  # at the time the client gave up, and how long it had waited (not at latency 0)
        xs, ys = zip(*gave_up)
        bottom.scatter(xs, ys, marker="x", color="#d62728", s=20, label=f"gave up ({len(gave_up)})", gid="info")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("time of completion (ms)")
    for ax in (top, bottom):
        for i, (a, b, label) in enumerate(_fault_spans(events, end)):
            ax.axvspan(a, b, color=TRACE_COLORS[(i + 3) % len(TRACE_COLORS)], alpha=0.15, gid=f"fault:{label}",
                       label=label if ax is top else None)
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=7, loc="upper right")
    bottom.legend(fontsize=7, loc="upper right", markerscale=3)
    return fig


def operations_figure(traces: list[tuple[str, list[dict]]], log: bool = False) -> Figure:
    """A latency histogram per operation (get, put, append, cas) over the
    completed operations of every trace, p50 and p99 marked."""
    by_f: dict[str, list[float]] = {}
    for _, events in traces:
        for f, t0, t1, outcome in _operations(events):
            if outcome == "ok":
                by_f.setdefault(f, []).append(t1 - t0)
    fs = [f for f in OP_COLORS if f in by_f] + sorted(f for f in by_f if f not in OP_COLORS)
    if not fs:
        raise PlotError("no operation completed ok: nothing to draw")
    fig = Figure(figsize=(4.2 * len(fs), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(fs), squeeze=False)[0])
    for ax, f in zip(axes, fs):
        values = np.asarray(by_f[f], dtype=float)
        ax.hist(values, bins=_bins(values, log), color=OP_COLORS.get(f, "#7f7f7f"), alpha=0.8, gid=f"hist:{f}")
        for q, style in ((50, "-"), (99, ":")):
            v = float(np.percentile(values, q))
            ax.axvline(v, color="black", linestyle=style, label=f"p{q} {v:.3g} ms", gid=f"p{q}:{f}")
        if log:
            ax.set_xscale("log")
        ax.set_title(f"{f}: {values.size} ok", fontsize=10)
        ax.set_xlabel("latency (ms)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("operations")
    names = sorted({_scenario_name(events, label) for label, events in traces})
    fig.suptitle(f"Operation latency, {len(traces)} trace(s): {', '.join(names)}", fontsize=11)
    return fig
