"""matplotlib figures drawn from traces alone, so any trace, old or new, can be drawn.

No pyplot: figures are built with the object-oriented API, so there is no
global state and no display is needed (Agg renders PNG; SVG and PDF by the
file's extension).  Saving fixes every date and hash salt, so the same trace
gives the same file every time.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter

from . import analysis

TYPE_COLORS = {
    "prepare": "#1f77b4",
    "promise": "#2ca02c",
    "nack": "#d62728",
    "accept": "#ff7f0e",
    "accepted": "#9467bd",
    "learn": "#8c564b",
    "learned": "#7f7f7f",
}
TRACE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
PERCENTILES = ((50, "-"), (95, "--"), (99, ":"))
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


# --------------------------------------------------------------------------
# Latency histograms
# --------------------------------------------------------------------------
def latency_figure(traces: list[tuple[str, list[dict]]], by: str = "type", log: bool = False,
                   max_panels: int = 16) -> Figure:
    """One panel per message type (or link), a histogram per trace, p50/p95/p99
    marked, and the configured latency distribution drawn over each as the
    expected count per bin."""
    if by not in ("type", "link"):
        raise PlotError(f"--by must be 'type' or 'link', not {by!r}")
    per_trace = []
    for label, events in traces:
        groups: dict[str, list[analysis.MessageRecord]] = {}
        for m in analysis.messages(events):
            if m.delivered is not None and not m.local:
                groups.setdefault(m.type if by == "type" else f"{m.src}->{m.dst}", []).append(m)
        per_trace.append((label, events, groups))
    totals: dict[str, int] = {}
    for _, _, groups in per_trace:
        for key, ms in groups.items():
            totals[key] = totals.get(key, 0) + len(ms)
    if by == "type":
        keys = [t for t in TYPE_COLORS if t in totals] + sorted(k for k in totals if k not in TYPE_COLORS)
    else:
        keys = sorted(totals, key=lambda k: (-totals[k], k))
    omitted = max(0, len(keys) - max_panels)
    keys = keys[:max_panels]
    if not keys:
        raise PlotError("no delivered messages between nodes in the trace(s): nothing to draw")
    ncols = min(4, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    several = len(traces) > 1
    for ax, key in zip(axes.flat, keys):
        values = np.concatenate([np.asarray([m.latency for m in g.get(key, [])], dtype=float)
                                 for _, _, g in per_trace])
        edges = _bins(values, log)
        for i, (label, events, groups) in enumerate(per_trace):
            ms = groups.get(key, [])
            if not ms:
                continue
            color = TRACE_COLORS[i % len(TRACE_COLORS)]
            lat = np.asarray([m.latency for m in ms], dtype=float)
            counts, _ = np.histogram(lat, bins=edges)
            p = {q: float(np.percentile(lat, q)) for q, _ in PERCENTILES}
            text = f"n={lat.size}, p50 {p[50]:.3g}, p95 {p[95]:.3g}, p99 {p[99]:.3g} ms"
            ax.stairs(counts, edges, fill=not several, alpha=0.45 if not several else 1.0, color=color,
                      label=f"{label}: {text}" if several else f"observed: {text}", gid=f"observed:{i}")
            for q, style in PERCENTILES:
                ax.axvline(p[q], color=color, linestyle=style, linewidth=1.1, gid=f"p{q}:{i}")
            expected = _expected_counts(events, ms, edges)
            if expected is not None:
                ax.stairs(expected, edges, color="black" if not several else color, linestyle="--", linewidth=1.0,
                          label="configured" if not several else f"{label}: configured", gid=f"configured:{i}")
        ax.set_title(key)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("messages")
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=7, loc="upper right")
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    what = "message type" if by == "type" else "link"
    title = f"Message latency (delivery - send) by {what}; lines: p50 solid, p95 dashed, p99 dotted"
    if not several:
        title = f"{traces[0][0]}: {title}"
    if omitted:
        title += f"\n{omitted} more {what}s with fewer messages not shown"
    fig.suptitle(title, fontsize=10)
    return fig


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


def _expected_counts(events, ms, edges) -> np.ndarray | None:
    """Sum over links of (messages on the link) x (configured probability of each bin)."""
    per_link: dict[tuple[str, str], int] = {}
    for m in ms:
        per_link[m.src, m.dst] = per_link.get((m.src, m.dst), 0) + 1
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
                    nodes: list[str] | None = None, max_messages: int = 300) -> Figure:
    """A sequence diagram: a lane per node, time flowing down, an arrow per
    delivered message (coloured by type, labelled with its ballot), a cross
    per lost message, crashes shaded on the lane, partitions and cuts as
    bands, decisions starred.  A long trace is windowed, never smeared: with
    no `t_to`, the window ends after `max_messages` messages, and the title
    says what was left out."""
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
    if lo >= end_t:
        raise PlotError(f"--from: {lo:g} ms is at or after the end of the trace ({end_t:g} ms)")
    if t_to is not None and t_to <= lo:
        raise PlotError(f"--to: {t_to:g} ms must be after --from {lo:g} ms")

    def finish(m):
        return m.delivered if m.delivered is not None else (m.dropped if m.dropped is not None else end_t)

    records = analysis.messages(events)
    candidates = [m for m in records
                  if not m.local and m.src in x and m.dst in x and finish(m) >= lo
                  and (t_to is None or m.sent <= t_to)]
    notes = []
    total = len(candidates)
    if t_to is None:
        # end at the last thing worth seeing (a message, a decision, a fault), not at the time limit
        marks = [finish(m) for m in candidates] + [ev["t"] for ev in events if ev.get("kind") in _MARKED]
        hi = min(end_t, max(marks, default=end_t) * 1.04 + 1.0)
    else:
        hi = float(t_to)
    if len(candidates) > max_messages:
        if t_to is None:
            hi = max(finish(m) for m in candidates[:max_messages])
            shown = [m for m in candidates if m.sent <= hi]
            candidates = shown[:max_messages] if len(shown) > max_messages else shown
            notes.append(f"window {lo:g}-{hi:g} ms of {end_t:g}: {len(candidates)} of {total} messages; "
                         "use --from/--to or --nodes for the rest")
        else:
            candidates = candidates[:max_messages]
            notes.append(f"first {max_messages} of {total} messages in the window; narrow --from/--to to see all")
    if hi <= lo:
        hi = lo + 1.0
    if len(lanes) < len(all_nodes):
        notes.append(f"nodes shown: {', '.join(lanes)} (messages to or from others left out)")

    fig = Figure(figsize=(max(6.0, 1.5 * len(lanes) + 3.0), 9.0), layout="constrained")
    ax = fig.add_subplot()
    for n, i in x.items():
        ax.plot([i, i], [lo, hi], color="#999999", linewidth=1, zorder=1)

    # partitions and cuts as bands
    for groups, t0, t1 in analysis.partitions(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if a < b:
            ax.axhspan(a, b, color="#ffb000", alpha=0.13, zorder=0, gid="partition")
            ax.text(-0.45, a, "partition " + " | ".join(",".join(g) for g in groups), fontsize=7,
                    va="top", color="#8a5a00")
    for (src, dst), t0, t1 in analysis.cuts(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if a < b and src in x and dst in x:
            ax.axhspan(a, b, color="#7b2cbf", alpha=0.07, zorder=0, gid="cut")
            ax.text(len(lanes) - 0.55, a, f"cut {src}->{dst}", fontsize=7, va="top", ha="right", color="#5a189a")
    # crashed spans on the lane
    for node, t0, t1 in analysis.downtime(events):
        a, b = max(t0, lo), min(t1 if t1 is not None else end_t, hi)
        if node in x and a < b:
            ax.add_patch(Rectangle((x[node] - 0.12, a), 0.24, b - a, color="#444444", alpha=0.35, zorder=2, gid="down"))
            ax.text(x[node] + 0.14, a, "down", fontsize=7, va="top", color="#444444")

    # delivered messages: arrows; lost ones: a stub ending in a cross
    label_ballots = len(candidates) <= 120
    if not label_ballots:
        notes.append("ballot labels hidden: too many arrows (window it to see them)")
    segments, seg_colors, lost_x, lost_y, lost_paths = [], [], [], [], []
    stub = (hi - lo) * 0.012
    for m in candidates:
        xs, xd = x[m.src], x[m.dst]
        color = TYPE_COLORS.get(m.type, "black")
        if m.delivered is not None:
            segments.append(((xs, m.sent), (xd, m.delivered)))
            seg_colors.append(color)
            if label_ballots and m.ballot is not None:
                ax.text((xs + xd) / 2, (m.sent + m.delivered) / 2, f"({m.ballot[0]},{m.ballot[1]})", fontsize=6,
                        color=color, ha="center", va="center", zorder=4,
                        bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7))
        elif m.dropped is not None:
            if m.reason == "crashed":
                end = (xd, m.dropped)
            else:
                end = (xs + 0.35 * (xd - xs), m.dropped + stub)
            lost_paths.append(((xs, m.sent), end))
            lost_x.append(end[0])
            lost_y.append(end[1])
    for (start, end), color in zip(segments, seg_colors):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7, color=color,
                                     linewidth=0.9, shrinkA=0, shrinkB=0, zorder=3, gid="message"))
    if lost_paths:
        ax.add_collection(LineCollection(lost_paths, colors="#d62728", linewidths=0.8, linestyles="dotted",
                                         zorder=3, gid="lost-paths"))
        ax.scatter(lost_x, lost_y, marker="x", color="#d62728", s=22, zorder=4, gid="lost")
    # decisions
    dx, dy, dv = [], [], []
    for ev in events:
        if ev.get("kind") == "decide" and ev["node"] in x and lo <= ev["t"] <= hi:
            dx.append(x[ev["node"]])
            dy.append(ev["t"])
            dv.append(ev["value"])
    if dx:
        ax.scatter(dx, dy, marker="*", s=140, color="gold", edgecolor="black", zorder=5, gid="decide")
        for xi, yi, v in zip(dx, dy, dv):
            ax.text(xi + 0.1, yi, f"decide {v}", fontsize=7, va="center", zorder=5)

    ax.set_xlim(-0.5, len(lanes) - 0.5)
    ax.set_ylim(hi, lo)  # time flows down
    ax.set_xticks(range(len(lanes)), lanes)
    ax.xaxis.tick_top()
    ax.set_xlabel("node")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("simulated time (ms)")
    types_present = [t for t in TYPE_COLORS if any(m.type == t for m in candidates)]
    handles = [Line2D([], [], color=TYPE_COLORS[t], label=t) for t in types_present]
    if lost_paths:
        handles.append(Line2D([], [], color="#d62728", marker="x", linestyle="dotted", label="lost"))
    if dx:
        handles.append(Line2D([], [], color="gold", marker="*", markeredgecolor="black", linestyle="", label="decide"))
    handles += [Patch(color="#444444", alpha=0.35, label="down"), Patch(color="#ffb000", alpha=0.3, label="partition"),
                Patch(color="#7b2cbf", alpha=0.2, label="cut")]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    # the run summary counts a node's messages to itself too; say how many are not drawn
    to_self = sum(1 for m in records if m.local and m.src in x and lo <= m.sent <= hi)
    title = (f"{_title(events)}: messages between nodes ({len(segments)} delivered, {len(lost_paths)} lost; "
             f"{to_self} from a node to itself not drawn)")
    if notes:
        title += "\n" + "\n".join(notes)
    ax.set_title(title, fontsize=9)
    return fig


# --------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------
def decisions_figure(traces: list[tuple[str, list[dict]]], max_rows: int = 40) -> Figure:
    """Left: when each learner learned, a row per trace.  Right: the CDF of
    time to decision over all learners of all traces, a curve per scenario
    (a curve below 1 at the end means some learners never learned)."""
    fig = Figure(figsize=(12, max(4.0, min(len(traces), max_rows) * 0.28 + 2.0)), layout="constrained")
    left, right = fig.subplots(1, 2)
    shown = traces[:max_rows]
    markers = "os^Dv<>phX*"
    node_marker: dict[str, str] = {}
    scenario_index: dict[str, int] = {}
    for label, events in traces:
        scenario_index.setdefault(_scenario_name(events, label), len(scenario_index))
    for row, (label, events) in enumerate(shown):
        color = TRACE_COLORS[scenario_index[_scenario_name(events, label)] % len(TRACE_COLORS)]
        for node, t in sorted(analysis.decision_times(events).items()):
            mk = node_marker.setdefault(node, markers[len(node_marker) % len(markers)])
            left.scatter([t], [row], marker=mk, s=24, color=color,
                         gid="decision", label=node if row == 0 else None)
    left.set_yticks(range(len(shown)), [label for label, _ in shown], fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("time of decision (ms)")
    left.set_ylabel("trace")
    title = "When each learner learned"
    if len(traces) > max_rows:
        title += f" (first {max_rows} of {len(traces)} traces)"
    left.set_title(title, fontsize=10)
    if node_marker:
        handles = [Line2D([], [], marker=mk, linestyle="", color="black", label=n) for n, mk in node_marker.items()]
        left.legend(handles=handles, fontsize=7, title="learner", title_fontsize=7, loc="lower right")

    groups: dict[str, tuple[list[float], int]] = {}
    for label, events in traces:
        name = _scenario_name(events, label)
        times, learners = groups.get(name, ([], 0))
        nodes = (analysis.header(events).get("scenario") or {}).get("nodes") or []
        times.extend(analysis.decision_times(events).values())
        groups[name] = (times, learners + len(nodes))
    for i, (name, (times, learners)) in enumerate(groups.items()):
        ts = np.sort(np.asarray(times, dtype=float))
        if learners == 0:
            continue
        y = np.arange(1, ts.size + 1) / learners
        xs = np.concatenate([[0.0], ts])
        ys = np.concatenate([[0.0], y])
        p50 = float(np.percentile(ts, 50)) if ts.size else math.nan
        right.step(xs, ys, where="post", color=TRACE_COLORS[i % len(TRACE_COLORS)], gid=f"cdf:{name}",
                   label=f"{name}: {ts.size}/{learners} learned, median {p50:.3g} ms")
    right.set_ylim(0, 1.02)
    right.set_xlabel("time to decision (ms since start)")
    right.set_ylabel("fraction of learners")
    right.set_title(f"CDF of time to decision over {len(traces)} trace(s)", fontsize=10)
    right.legend(fontsize=7, loc="lower right")
    return fig


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
    gave_up = [t1 for f, t0, t1, outcome in ops if outcome == "info"]
    if gave_up:
        bottom.scatter(gave_up, [0] * len(gave_up), marker="x", color="#d62728", s=20,
                       label=f"gave up ({len(gave_up)})", gid="info")
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
