"""Figures are checked for content against counts taken straight from the
trace: panels, labels, arrows, crosses, bands and markers, not just that a
file appeared."""

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import FancyArrowPatch, Rectangle, StepPatch

from paxsim import load_scenario, simulate
from paxsim.cli import main
from paxsim.colors import TYPE_COLORS
from paxsim.plot import PlotError, decisions_figure, latency_figure, save, timeline_figure

from .conftest import ROOT


@pytest.fixture(scope="module")
def partition():
    return simulate(load_scenario(ROOT / "scenarios" / "partition.yaml")).lines_as_events()


@pytest.fixture(scope="module")
def lossy():
    return simulate(load_scenario(ROOT / "scenarios" / "lossy.yaml")).lines_as_events()


def delivered_between_nodes(events):
    sends = {ev["id"]: ev for ev in events if ev["kind"] == "send"}
    copies = {ev["copy"]: sends[ev["id"]] for ev in events if ev["kind"] == "duplicate"}
    sends.update(copies)
    out = {}
    for ev in events:
        if ev["kind"] == "deliver":
            s = sends[ev["id"]]
            if s["src"] != s["dst"]:
                out[ev["id"]] = (s, ev["t"])
    return out


def by_gid(ax, cls, prefix):
    return [a for a in ax.get_children() if isinstance(a, cls) and (a.get_gid() or "").startswith(prefix)]


def test_latency_panels_match_message_types(partition):
    fig = latency_figure([("partition", partition)])
    delivered = delivered_between_nodes(partition)
    types = sorted({s["msg"]["type"] for s, _ in delivered.values()})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert sorted(ax.get_title().split("\n")[0] for ax in axes) == types
    for ax in axes:
        assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "messages"
        lat = np.array([t - s["t"] for s, t in delivered.values() if s["msg"]["type"] == ax.get_title().split("\n")[0]])
        assert f"n={lat.size}," in ax.get_title()
        if lat.size <= 15:  # a dot per message, not bars
            (points,) = [ln for ln in ax.get_lines() if ln.get_gid() == "observed-points:0"]
            assert sorted(points.get_xdata()) == pytest.approx(sorted(lat))
            assert not by_gid(ax, StepPatch, "observed")
        else:
            (observed,) = by_gid(ax, StepPatch, "observed:0")
            assert observed.get_data()[0].sum() == lat.size
        for q in (50, 95, 99):
            (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"p{q}:0"]
            assert line.get_xdata()[0] == pytest.approx(np.percentile(lat, q))
        (configured,) = by_gid(ax, StepPatch, "configured:0")
        assert 0 < configured.get_data()[0].sum() <= lat.size + 1e-9
    assert "latency" in fig._suptitle.get_text().lower()


def test_configured_distribution_matches_a_large_sample(lossy):
    """On many messages the configured curve and the histogram agree: the
    network did what the scenario said (exponential, mean 8 ms)."""
    sc = load_scenario(ROOT / "scenarios" / "lossy.yaml")
    events = simulate(sc, 0).lines_as_events()[:1]
    for seed in range(60):  # sixty runs as one trace: message ids made distinct
        for ev in simulate(sc, seed).lines_as_events()[1:-1]:
            for key in ("id", "copy"):
                if key in ev:
                    ev[key] += seed * 1_000_000
            events.append(ev)
    fig = latency_figure([("lossy", events)])
    ax = next(ax for ax in fig.axes if ax.get_title().split("\n")[0] == "prepare")
    observed = by_gid(ax, StepPatch, "observed:0")[0].get_data()[0]
    expected = by_gid(ax, StepPatch, "configured:0")[0].get_data()[0]
    assert observed.sum() > 400
    # total variation distance between the two histograms is small
    tv = 0.5 * np.abs(observed / observed.sum() - expected / expected.sum()).sum()
    assert tv < 0.12, tv  # 0.07 here; a configured mean of 5 ms instead of 8 gives 0.2


def test_latency_overlay_by_link_and_log(partition, lossy):
    fig = latency_figure([("a", partition), ("b", lossy)], by="link", log=True, max_panels=6)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 6
    assert all("->" in ax.get_title() and ax.get_xscale() == "log" for ax in axes)
    assert "not shown" in fig._suptitle.get_text()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert {"a", "b"} <= {label.split(" (")[0] for label in labels}


def test_timeline_counts_arrows_crosses_bands_and_decisions(partition):
    fig = timeline_figure(partition)
    ax = fig.axes[0]
    delivered = delivered_between_nodes(partition)
    drops = [ev for ev in partition if ev["kind"] == "drop"]
    assert len(by_gid(ax, FancyArrowPatch, "message")) == len(delivered)
    (lost,) = by_gid(ax, PathCollection, "lost")
    assert len(lost.get_offsets()) == len(drops)
    assert len([a for a in ax.patches if a.get_gid() == "down"]) == 1  # n3 crashed once
    assert len([a for a in ax.patches if a.get_gid() == "partition"]) == 1
    assert len([a for a in ax.patches if a.get_gid() == "cut"]) == 1
    (stars,) = by_gid(ax, PathCollection, "decide")
    assert len(stars.get_offsets()) == len([ev for ev in partition if ev["kind"] == "decide"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n1", "n2", "n3", "n4", "n5"]
    assert ax.get_ylabel() == "simulated time (ms)"
    lo, hi = ax.get_ylim()
    assert lo > hi  # time flows down
    assert f"{len(delivered)} delivered, {len(drops)} lost" in ax.get_title()


def test_timeline_window_and_nodes(partition):
    fig = timeline_figure(partition, t_from=10, t_to=60, nodes=["n1", "n4"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n1", "n4"]
    expected = [i for i, (s, t) in delivered_between_nodes(partition).items()
                if {s["src"], s["dst"]} <= {"n1", "n4"} and t >= 10 and s["t"] <= 60]
    assert len(by_gid(ax, FancyArrowPatch, "message")) == len(expected)
    assert "nodes shown: n1, n4" in ax.get_title()


def test_long_trace_is_windowed_and_says_so(lossy):
    fig = timeline_figure(lossy, max_messages=20)
    ax = fig.axes[0]
    arrows = len(by_gid(ax, FancyArrowPatch, "message"))
    lost = by_gid(ax, PathCollection, "lost")
    assert arrows + (len(lost[0].get_offsets()) if lost else 0) <= 20
    total = len([ev for ev in lossy if ev["kind"] == "send" and ev["src"] != ev["dst"]]) + \
        len([ev for ev in lossy if ev["kind"] == "duplicate"])
    assert f"of {total} messages" in ax.get_title()
    assert "ballot labels" not in ax.get_title()


def test_timeline_rejects_unknown_nodes_and_empty_window(partition):
    with pytest.raises(PlotError, match="unknown node"):
        timeline_figure(partition, nodes=["n9"])
    with pytest.raises(PlotError, match="must be after"):
        timeline_figure(partition, t_from=50, t_to=10)


def test_decisions_figure(partition, lossy):
    fig = decisions_figure([("p", partition), ("l", lossy)])
    left, right = fig.axes
    assert left.get_xlabel() == "time of decision (ms)" and right.get_ylabel() == "fraction of learners"
    decided = [ev for ev in partition + lossy if ev["kind"] == "decide"]
    points = sum(len(c.get_offsets()) for c in by_gid(left, PathCollection, "decision"))
    assert points == len(decided)
    curves = [ln for ln in right.get_lines() if (ln.get_gid() or "").startswith("cdf:")]
    assert sorted(ln.get_gid() for ln in curves) == ["cdf:lossy", "cdf:partition"]
    for ln in curves:
        assert ln.get_ydata()[-1] == pytest.approx(1.0)  # every learner learned in both


@pytest.mark.parametrize("ext", [".png", ".svg", ".pdf"])
def test_same_trace_same_file(partition, tmp_path, ext):
    a, b = tmp_path / f"a{ext}", tmp_path / f"b{ext}"
    save(timeline_figure(partition), a)
    save(timeline_figure(partition), b)
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 1000


def test_unknown_format(partition, tmp_path):
    with pytest.raises(PlotError, match="unknown figure format"):
        save(timeline_figure(partition), tmp_path / "x.gif")


def test_cli_plots(runner, tmp_path):
    trace = tmp_path / "run.jsonl"
    assert runner.invoke(main, ["run", str(ROOT / "scenarios/partition.yaml"), "--trace", str(trace)]).exit_code == 0
    for args, out in ((["latency", str(trace), "--log"], "l.png"), (["timeline", str(trace), "--to", "100ms"], "t.svg"),
                      (["decisions", str(trace), str(trace)], "d.pdf")):
        result = runner.invoke(main, ["plot", *args, "-o", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / out).stat().st_size > 1000 and f"wrote {tmp_path / out}" in result.stdout
    bad = runner.invoke(main, ["plot", "timeline", str(trace), "--nodes", "n1,n9", "-o", str(tmp_path / "x.png")])
    assert bad.exit_code == 2 and bad.stderr == f"{trace}: --nodes: unknown node(s) n9 (the trace has n1, n2, n3, n4, n5)\n"
    bad = runner.invoke(main, ["plot", "latency", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1


def test_run_with_plots(runner, tmp_path):
    out = tmp_path / "figs"
    result = runner.invoke(main, ["run", str(ROOT / "scenarios/partition.yaml"), "--plots", str(out)])
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["latency.png", "timeline.png"]
    assert f"plot:      {out / 'latency.png'}" in result.stdout


# --------------------------------------------------------------------------
# The figures read at a glance (issue 12, section 4): each test inspects the
# laid-out figure, as a reader would see it.
# --------------------------------------------------------------------------
def laid_out(fig):
    fig.draw_without_rendering()  # constrained layout places everything, as when saving
    return fig._get_renderer()


def overlaps(a, b):
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def variant(name, seed=None, **sets):
    from paxsim.scenario import load_variant

    sets = [f"{k.replace('__', '.')}={v}" for k, v in sets.items()]
    sc = load_variant(ROOT / "scenarios" / f"{name}.yaml", sets=sets)
    return simulate(sc, seed).lines_as_events()


@pytest.fixture(scope="module")
def lossy2():
    return simulate(load_scenario(ROOT / "scenarios" / "lossy.yaml"), 2).lines_as_events()


def test_latency_has_one_shared_legend_outside_the_panels(lossy, lossy2):
    fig = latency_figure([("seed 3", lossy), ("seed 2", lossy2)])
    r = laid_out(fig)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) >= 4 and all(ax.get_legend() is None for ax in panels)
    (legend,) = fig.legends
    box = legend.get_window_extent(r)
    assert not any(overlaps(box, ax.get_window_extent(r)) for ax in panels)
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == len(set(labels))
    # two runs of one scenario: one configured curve per panel, one legend entry
    assert [label for label in labels if label.startswith("configured")] == ["configured (expected per run)"]
    for ax in panels:
        assert len(by_gid(ax, StepPatch, "configured")) == 1


def test_latency_configured_curve_and_percentiles_have_distinct_styles(lossy):
    fig = latency_figure([("lossy", lossy)])
    ax = next(ax for ax in fig.axes if ax.get_title().startswith("prepare"))
    (configured,) = by_gid(ax, StepPatch, "configured")
    styles = {q: ln.get_linestyle() for q in (50, 95, 99) for ln in ax.get_lines() if ln.get_gid() == f"p{q}:0"}
    assert len(set(styles.values())) == 3
    # not dashed like p95: the configured curve is the solid black step line
    assert configured.get_linestyle() == "-" and styles[95] == "--"
    assert configured.get_edgecolor()[:3] == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("log", [False, True])
def test_latency_axes_count_whole_messages_and_leave_room_past_the_largest(lossy, log):
    fig = latency_figure([("lossy", lossy)], log=log)
    laid_out(fig)
    delivered = delivered_between_nodes(lossy)
    for ax in (ax for ax in fig.axes if ax.get_visible()):
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        kind = ax.get_title().split("\n")[0]
        largest = max(t - s["t"] for s, t in delivered.values() if s["msg"]["type"] == kind)
        lo, hi = ax.get_xlim()
        if log:
            assert np.log(hi) - np.log(largest) >= 0.05 * (np.log(hi) - np.log(lo))
        else:
            assert hi - largest >= 0.05 * (hi - lo)


def test_run_plots_draw_small_panels_as_dots(runner, tmp_path, partition):
    fig = latency_figure([("partition", partition)], by="link")
    dots = [ax for ax in fig.axes if ax.get_visible() and "a dot each" in ax.get_title()]
    assert dots
    for ax in dots:
        assert not by_gid(ax, StepPatch, "observed")
        (points,) = [ln for ln in ax.get_lines() if ln.get_gid() == "observed-points:0"]
        assert 1 <= len(points.get_xdata()) <= 15
        assert all(float(y).is_integer() and y >= 1 for y in points.get_ydata())


def ballot_texts(ax):
    return [t for t in ax.texts if t.get_gid() == "ballot"]


@pytest.mark.parametrize("window", [{}, {"t_to": 600}, {"t_from": 10, "t_to": 60, "nodes": ["n1", "n4"]}])
def test_timeline_labels_do_not_overlap_and_stay_inside(partition, window):
    fig = timeline_figure(partition, **window)
    r = laid_out(fig)
    ax = fig.axes[0]
    inside = ax.get_window_extent(r)
    boxes = [t.get_window_extent(r) for t in ballot_texts(ax)]
    assert boxes
    for i, a in enumerate(boxes):
        assert inside.x0 <= a.x0 and a.x1 <= inside.x1 and inside.y0 <= a.y0 and a.y1 <= inside.y1
        assert not any(overlaps(a, b) for b in boxes[i + 1:])
    title = ax.title.get_window_extent(r)
    assert not any(overlaps(a, ax.xaxis.label.get_window_extent(r)) or overlaps(a, title) for a in boxes)


def test_timeline_decision_and_band_labels_are_off_the_arrows(partition):
    fig = timeline_figure(partition, t_to=600)
    r = laid_out(fig)
    ax = fig.axes[0]
    assert not [t for t in ax.texts if t.get_text().startswith("decide")]
    assert "decide banana" in [t.get_text() for t in ax.get_legend().get_texts()]
    bands = [t for t in ax.texts if t.get_gid() == "band-label"]
    assert sorted(t.get_text().split("\n")[0] for t in bands) == ["cut n1->n2", "partition"]
    right = ax.get_window_extent(r).x1
    for t in bands:
        assert t.get_window_extent(r).x0 >= right  # in the margin, where no arrow goes


def test_timeline_title_states_the_window_and_legend_only_what_is_drawn(partition, lossy):
    ax = timeline_figure(partition, t_from=10, t_to=600).axes[0]
    assert "10-600 ms of 2000" in ax.get_title()
    assert {"down", "partition", "cut", "lost"} <= {t.get_text() for t in ax.get_legend().get_texts()}
    ax = timeline_figure(lossy).axes[0]
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert not labels & {"down", "partition", "cut"}  # lossy has no faults
    drawn_types = {a.get_facecolor() for a in by_gid(ax, FancyArrowPatch, "message")}
    assert len([label for label in labels if label in TYPE_COLORS]) == len(drawn_types)


@pytest.mark.parametrize("window", [{}, {"t_to": 2000}])
def test_max_messages_window_holds_every_message_sent_in_it(lossy, window):
    import re

    ax = timeline_figure(lossy, max_messages=40, **window).axes[0]
    title = ax.get_title().replace("\n", " ")
    lo, hi = map(float, re.search(r"window ([\d.]+)-([\d.]+) ms", title).groups())
    assert lo == 0 and hi == pytest.approx(ax.get_ylim()[0], abs=0.01)
    sent = [ev for ev in lossy if ev["kind"] == "send" and ev["src"] != ev["dst"] and ev["t"] < hi]
    copies = [ev for ev in lossy if ev["kind"] == "duplicate" and ev["t"] < hi]
    arrows = len(by_gid(ax, FancyArrowPatch, "message"))
    lost = by_gid(ax, PathCollection, "lost")
    drawn = arrows + (len(lost[0].get_offsets()) if lost else 0)
    assert drawn == len(sent) + len(copies) and drawn <= 40
    assert f"{drawn} of " in title


def test_timeline_of_51_nodes_has_a_sane_size():
    events = simulate(load_scenario(ROOT / "scenarios" / "large.yaml")).lines_as_events()
    fig = timeline_figure(events)
    w, h = fig.get_size_inches()
    assert w * 100 <= 1600 and h * 100 <= 900
    assert len(fig.axes[0].get_xticklabels()) == 51


def test_decisions_mark_undecided_traces():
    undecided = variant("lossy", network__loss=1, duration="300ms")
    fig = decisions_figure([("all", undecided)])
    r = laid_out(fig)
    left, right = fig.axes
    (crosses,) = by_gid(left, PathCollection, "undecided")
    assert len(crosses.get_offsets()) == 1
    assert left.get_xlim()[1] >= 100 and right.get_xlim()[1] >= 100  # the run's 300 ms, not -0.04..0.04
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert labels == ["lossy: 0/5 learned"]
    assert not overlaps(right.get_legend().get_window_extent(r), right.get_window_extent(r))


def test_decisions_name_settings_apart_and_say_what_is_left_out(lossy, lossy2):
    loose = variant("lossy", 3, network__loss=0.3)
    fig = decisions_figure([("a", lossy), ("b", lossy2), ("c", loose)], max_rows=2)
    left, right = fig.axes
    names = sorted(ln.get_gid() for ln in right.get_lines() if (ln.get_gid() or "").startswith("cdf:"))
    assert names == ["cdf:lossy network.loss=0.2", "cdf:lossy network.loss=0.3"]
    assert "first 2 of 3 traces" in left.get_title()
    (note,) = [t for t in left.texts if t.get_gid() == "left-out"]
    assert "c" in note.get_text().split(": ")[-1].split(", ")


def test_latency_and_decisions_figures_are_repeatable(partition, lossy, tmp_path):
    for name, make in (("l", lambda: latency_figure([("p", partition), ("l", lossy)], by="link")),
                       ("d", lambda: decisions_figure([("p", partition), ("l", lossy)], max_rows=1))):
        a, b = tmp_path / f"{name}a.png", tmp_path / f"{name}b.png"
        save(make(), a)
        save(make(), b)
        assert a.read_bytes() == b.read_bytes()
# -- client operations (multi-paxos traces) ---------------------------------------------
def test_throughput_and_operation_plots_of_a_kv_run(tmp_path):
    from click.testing import CliRunner

    runner = CliRunner()
    root = ROOT
    trace = tmp_path / "kv.jsonl"
    assert runner.invoke(main, ["run", str(root / "scenarios" / "kv-failover.yaml"), "--trace", str(trace)]).exit_code == 0
    for command, name in (("throughput", "t.svg"), ("operations", "o.svg")):
        result = runner.invoke(main, ["plot", command, str(trace), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    svg = (tmp_path / "t.svg").read_text()
    assert 'id="ops-per-s' in svg and 'id="fault:n1 down' in svg and 'id="p99' in svg
    ops = (tmp_path / "o.svg").read_text()
    for f in ("get", "put", "append", "cas"):
        assert f'id="hist:{f}' in ops
    # a single-decree trace has no client operations: one line, exit 2
    single = tmp_path / "single.jsonl"
    runner.invoke(main, ["run", str(root / "scenarios" / "happy.yaml"), "--trace", str(single)])
    result = runner.invoke(main, ["plot", "throughput", str(single), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "no client operations in the trace" in result.stderr


def test_throughput_counts_ok_operations_per_bucket():
    from paxsim.plot import throughput_figure

    events = [{"kind": "header", "seed": 0, "scenario": {"name": "t", "duration": 100.0}}]
    seq = 0
    for i in range(4):  # four operations complete ok in the first 50 ms, none after
        events.append({"seq": seq, "t": 10.0 * i, "kind": "invoke", "client": "c1", "req": i + 1, "f": "put"})
        events.append({"seq": seq + 1, "t": 10.0 * i + 5, "kind": "ok", "client": "c1", "req": i + 1, "f": "put"})
        seq += 2
    # and one the client gave up on at 90 ms, after waiting 30 ms
    events.append({"seq": seq, "t": 60.0, "kind": "invoke", "client": "c2", "req": 1, "f": "get"})
    events.append({"seq": seq + 1, "t": 90.0, "kind": "info", "client": "c2", "req": 1, "f": "get"})
    fig = throughput_figure(events, bucket=50.0)
    line = next(l for l in fig.axes[0].get_lines() if l.get_gid() == "ops-per-s")
    assert list(line.get_ydata()[:2]) == [80.0, 0.0]  # 4 ops in 50 ms = 80 ops/s
    gave_up = next(c for c in fig.axes[1].collections if c.get_gid() == "info")
    assert gave_up.get_offsets().tolist() == [[90.0, 30.0]]  # drawn at its wait, not at latency 0


def test_multi_paxos_messages_have_their_own_colours_in_the_timeline_and_the_viewer():
    """A Multi-Paxos run's heartbeats, decides, requests and replies are drawn
    in colours of their own (not black), named in the legend, and the viewer
    gives each type the same colour as the figure."""
    from paxsim.view.model import build

    events = simulate(load_scenario(ROOT / "scenarios" / "kv.yaml")).lines_as_events()
    ax = timeline_figure(events, t_from=0, t_to=60).axes[0]
    arrows = by_gid(ax, FancyArrowPatch, "message")
    assert arrows
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    types = labels & set(TYPE_COLORS)
    assert {"heartbeat", "decide", "accept"} <= types, labels
    black = (0.0, 0.0, 0.0, 1.0)
    assert all(tuple(a.get_edgecolor()) != black for a in arrows)
    # one colour per type: as many colours among the arrows as types in the legend
    assert len({tuple(a.get_edgecolor()) for a in arrows}) == len(types)
    model = build(events)
    assert {"heartbeat", "decide", "request", "reply"} <= set(model["colors"]), model["colors"]
    for t, color in model["colors"].items():
        assert color == TYPE_COLORS[t], t
