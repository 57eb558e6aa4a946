"""Variants compared on common random numbers (`paxsim compare`).

Every seed runs every variant in the common-random-numbers mode
(paxsim/sim/crn.py): a message or timer that exists in two variants meets
the same draws in both, so the per-seed difference between two variants is
mostly the effect of the change, not of the luck of the draw.  The paired
differences then need far fewer seeds than two independent sweeps for the
same confidence interval; this module measures how many (the same data,
bootstrapped as if the two variants had been run on independent seeds).

Statistics are computed with numpy; bootstrap resamples come from a fixed
numpy seed, so the report is deterministic too.  Runs go through the sweep's
executors (inline, processes, Dask).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .scenario import (
    OverrideError,
    ScenarioError,
    _line,
    _split_values,
    apply_set,
    parse_sets,
    read_scenario_data,
    scenario_from_dict,
)
from .sweep import InOrder, SweepError, WorkerLost, chunk_size, make_executor, parse_seeds, sha256, _scenarios

BOOTSTRAP = 2000  # resamples
CONFIDENCE = 0.95
# A bootstrap interval from few seeds is too narrow: in A/A comparisons (both sides from one distribution,
# scenarios/lossy.yaml) the 95% interval of the mean excluded 0 in 10% of comparisons of 20 seeds, 7% of 30,
# 6% of 100; that of a p99 difference in 20% of comparisons of 20 seeds.  So an interval needs MIN_SEEDS seeds,
# and a percentile's also TAIL decided runs above it in each variant (p95: 100, p99: 500); below that it is
# withheld (null, and said), not printed as if it held 95%.
MIN_SEEDS = 30
TAIL = 5
RESAMPLE_CELLS = 1_000_000  # seeds x resamples drawn at a time (8 MB an array)


def seeds_needed(stat: str) -> int:
    """How many seeds (decided ones, for decision times and messages) an interval of `stat` needs."""
    if stat.startswith("p") and stat[1:].isdigit():
        return max(MIN_SEEDS, math.ceil(TAIL / (1 - int(stat[1:]) / 100) - 1e-9))
    return MIN_SEEDS


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Variant:
    name: str
    sets: tuple[str, ...]  # PATH=VALUE, as given
    scenario: dict  # normalized, validated
    key: str  # identifies its content (for the worker's cache)

    @property
    def set_args(self) -> str:
        return "".join(f" --set {shlex.quote(s)}" for s in self.sets)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """'fast:protocol.retry.timeout=20ms,network.loss=0.1' -> ('fast', [...]); 'base:' -> ('base', [])."""
    name, colon, rest = text.partition(":")
    if not colon or not _NAME.fullmatch(name):
        raise SweepError(f"--variant {text}: expected NAME:PATH=VALUE,... (NAME: letters, digits, _ . -), "
                         f"e.g. fast:protocol.retry.timeout=20ms or base:")
    sets = [s.strip() for s in _split_values(rest)] if rest.strip() else []
    for s in sets:
        if "=" not in s:
            raise SweepError(f"--variant {text}: {s!r} is not PATH=VALUE")
    return name, sets


def plan_variants(scenario_path: str | Path, texts: list[str]) -> list[Variant]:
    if len(texts) < 2:
        raise SweepError("compare needs at least two --variant options (the first is the baseline)")
    data, lines = read_scenario_data(scenario_path)
    variants: list[Variant] = []
    for text in texts:
        name, sets = parse_variant(text)
        if any(v.name == name for v in variants):
            raise SweepError(f"--variant {text}: the name {name} is used twice")
        d = data
        try:
            for _set_name, path, values in parse_sets(sets, flag=""):
                if tuple(path) == ("seed",):
                    raise SweepError(f"--variant {text}: seed: every variant runs the seeds of --seeds, not "
                                     "the scenario's seed (drop it)")
                d = apply_set(d, path, values[0])
        except OverrideError as exc:
            raise SweepError(f"--variant {name}: {exc}") from None
        source = f"{scenario_path} (variant {name})" if sets else str(scenario_path)
        sc = scenario_from_dict(d, source, lines if not sets else None)
        if sc.kind != "single-decree":  # the common-random-numbers runtime runs single-decree Paxos only
            path = ("protocol", "kind")
            raise ScenarioError(source, _line(lines, path), path,
                                f"paxsim compare runs single-decree scenarios; this one is {sc.kind} "
                                f"(compare its settings with paxsim sweep --set)")
        normalized = sc.to_dict()
        key = json.dumps(normalized, sort_keys=True, separators=(",", ":"))
        variants.append(Variant(name, tuple(sets), normalized, key))
    return variants


# --------------------------------------------------------------------------
# The worker side
# --------------------------------------------------------------------------
def compare_chunk(variants: list[tuple[str, str, dict]], seeds: list[int]) -> list[dict]:
    """Every variant (name, key, scenario dict) on every seed; one record per
    seed.  Each record holds the share of message fates each variant shares
    with the first (the baseline)."""
    from .sim.crn import same_fates, simulate_crn

    scenarios = []
    for name, key, data in variants:
        sc = _scenarios.get(key)
        if sc is None:
            if len(_scenarios) > 256:
                _scenarios.clear()
            sc = _scenarios[key] = scenario_from_dict(data)
        scenarios.append((name, sc))
    out = []
    for seed in seeds:
        rec: dict[str, Any] = {"kind": "compare", "seed": seed, "variants": {}, "same_fates": {}}
        base_fates = None
        for name, sc in scenarios:
            run = simulate_crn(sc, seed)
            v = run.verdict
            kinds = sorted({x.kind for x in v.violations})
            rec["variants"][name] = {
                "outcome": "violation" if kinds else ("decided" if v.decided else "undecided"),
                "decision_t": v.last_decide_t if v.decided else None,
                "sent": (v.messages or {}).get("sent", 0),
                "violations": kinds,
            }
            if not kinds and not v.decided:  # why it is undecided (computed only then)
                rec["variants"][name]["liveness"] = v.liveness.cls
            if base_fates is None:
                base_fates = run.message_fates
            rec["same_fates"][name] = same_fates(base_fates, run.message_fates)
            del run
        out.append(rec)
    return out


def compare_chunk_at(index: int, variants: list[tuple[str, str, dict]], seeds: list[int]) -> tuple[int, list[dict]]:
    """`compare_chunk`, with the chunk's place: the output file gets chunks in that order."""
    return index, compare_chunk(variants, seeds)


def compare_header(scenario_path: str, variants: list[Variant]) -> dict:
    """The first line of a compare results file: what `--resume` checks a file against."""
    digest = sha256(json.dumps([[v.name, v.scenario] for v in variants], sort_keys=True).encode()).hexdigest()[:16]
    return {"kind": "compare-header", "scenario": scenario_path,
            "variants": {v.name: list(v.sets) for v in variants}, "variants_sha256": digest}


def read_compare(path: Path, header: dict) -> tuple[list[dict], int]:
    """(the records of a compare results file written with `header`, byte
    length of its complete lines).  A last line cut short by a kill is left
    out; a file written for other variants or another scenario is refused
    (SweepError, one line naming the file and line)."""
    data = path.read_bytes()
    records: list[dict] = []
    good = 0
    for number, raw in enumerate(data.splitlines(keepends=True), 1):
        if not raw.endswith(b"\n"):
            break  # an unfinished last line: run again
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SweepError(f"{path}:{number}: not a JSON line; is this a paxsim compare results file?") from None
        if number == 1:
            if type(rec) is not dict or rec.get("kind") != "compare-header":
                raise SweepError(f"{path}:1: not a paxsim compare header; --resume continues a file "
                                 "written by paxsim compare -o")
            for key in ("variants", "variants_sha256"):  # the scenario's contents, not its path
                if rec.get(key) != header[key]:
                    raise SweepError(f"{path}:1: {key}: the file was written for "
                                     f"{json.dumps(rec.get(key))}, not {json.dumps(header[key])}; "
                                     "--resume continues the same comparison only")
        elif type(rec) is not dict or rec.get("kind") != "compare" or type(rec.get("seed")) is not int \
                or set(rec.get("variants") or ()) != set(header["variants"]):
            raise SweepError(f"{path}:{number}: not a record of this comparison")
        else:
            records.append(rec)
        good += len(raw)
    if good == 0:
        raise SweepError(f"{path}: no header line; --resume continues a file written by paxsim compare -o")
    return records, good


def run_compare(scenario_path: str, variants: list[Variant], seeds: list[int], *, jobs: int = 1,
                scheduler: str | None = None, output: Path | None = None,
                on_result: Callable[[dict], None] | None = None, resume: bool = False) -> list[dict]:
    """Run every variant on every seed; the records in seed order (also
    appended to `output` as JSON lines, if given).  `resume`: `output`
    exists, written by an interrupted comparison of the same variants; its
    seeds are read back (not run again) and the rest appended."""
    header = compare_header(scenario_path, variants)
    done: dict[int, dict] = {}
    try:
        if resume and output is not None and output.exists():
            found, good = read_compare(output, header)
            wanted = set(seeds)
            for rec in found:
                if rec["seed"] in wanted:
                    done.setdefault(rec["seed"], rec)
            with open(output, "r+b") as fh:  # drop a line cut short by the kill, then append
                fh.truncate(good)
            out = open(output, "a", encoding="utf-8")
        else:  # "x": never overwrite a file, even one made meanwhile
            out = open(output, "x", encoding="utf-8") if output is not None else None
            if out is not None:
                out.write(json.dumps(header, sort_keys=True, separators=(",", ":")) + "\n")
    except FileExistsError:
        raise SweepError(f"{output} exists: pass --resume to continue it, or choose another -o") from None
    except OSError as exc:
        raise SweepError(f"{output}: cannot write results: {exc.strerror or exc}") from None
    todo = [seed for seed in seeds if seed not in done]
    records: list[dict] = list(done.values())
    if on_result is not None:
        for r in records:
            on_result(r)
    try:
        executor = make_executor(jobs, scheduler)
    except BaseException:
        if out is not None:
            out.close()
        raise
    size = chunk_size(len(todo), getattr(executor, "jobs", 1))
    spec = [(v.name, v.key, v.scenario) for v in variants]
    tasks = ((n, spec, todo[i:i + size]) for n, i in enumerate(range(0, len(todo), size)))
    order = InOrder()  # the output file gets chunks in seed order, whichever worker finished first

    def write(chunk: list[dict]) -> None:
        out.write("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in chunk))
        out.flush()

    try:
        for index, chunk in executor.run(tasks, fn=compare_chunk_at):
            records.extend(chunk)
            if out is not None:
                for due in order.add(index, chunk):
                    write(due)
            if on_result is not None:
                for r in chunk:
                    on_result(r)
    finally:
        try:
            if out is not None:
                for chunk in order.rest():  # interrupted: what finished ahead is kept, out of order
                    write(chunk)
        finally:
            executor.close()
            if out is not None:
                out.close()
    records.sort(key=lambda r: r["seed"])  # resumed or not, the same order for the summary
    return records


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------
def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _stats_matrix(times, sent, undecided, violating, q_list=(50, 95, 99)):
    """Per-resample (rows) statistics of one variant: times (NaN when not
    decided), messages sent, undecided and violating flags, all (B, n)."""
    import numpy as np

    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            decided = ~np.isnan(times)
            n_dec = decided.sum(axis=-1)
            ordered = np.sort(times, axis=-1)  # NaN sorts last: each row's decided times come first
            out = {f"p{q}": _row_percentile(ordered, n_dec, q) for q in q_list}
            out["messages_per_decision"] = np.where(n_dec > 0, (sent * decided).sum(axis=-1) / np.maximum(n_dec, 1),
                                                    np.nan)
            out["undecided"] = undecided.mean(axis=-1)
            out["violating"] = violating.mean(axis=-1)
    return out


def _row_percentile(ordered, counts, q):
    """np.nanpercentile(times, q, axis=-1) (linear interpolation, numpy's
    rounding), from each row sorted with its NaNs last and its count of
    numbers: nanpercentile takes a slow path per row when NaNs are present,
    and a comparison's bootstrap asks for thousands of rows."""
    import numpy as np

    rows = np.arange(ordered.shape[0])
    virtual = (counts - 1) * (q / 100)
    lo = np.clip(np.floor(virtual).astype(int), 0, None)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    a, b = ordered[rows, lo], ordered[rows, hi]
    t = virtual - lo
    diff = b - a
    value = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return np.where(counts > 0, value, np.nan)


def _resample_blocks(rng, n: int, fn: Callable, axis: int = 0):
    """fn(idx) over the BOOTSTRAP resamples of n seeds that rng.integers(0,
    n, size=(BOOTSTRAP, n)) gives, drawn a block of rows at a time (the same
    numbers: the generator draws them in sequence) and concatenated: memory
    stays a few MB a block, where the whole (BOOTSTRAP, n) matrices took 3 GB
    at 20,000 seeds and would not fit at 200,000."""
    import numpy as np

    rows = max(1, min(BOOTSTRAP, RESAMPLE_CELLS // max(n, 1)))
    parts = [fn(rng.integers(0, n, size=(min(rows, BOOTSTRAP - i), n))) for i in range(0, BOOTSTRAP, rows)]
    return None if parts[0] is None else np.concatenate(parts, axis=axis)


def _ci(values) -> list[float | None]:
    import numpy as np

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return [None, None]
    lo, hi = np.percentile(values, [(1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100])
    return [float(lo), float(hi)]


def _arrays(records: list[dict], name: str):
    import numpy as np

    rs = [r["variants"][name] for r in records]
    times = np.array([np.nan if r["decision_t"] is None or r["outcome"] != "decided" else r["decision_t"]
                      for r in rs], dtype=float)
    sent = np.array([r["sent"] for r in rs], dtype=float)
    undecided = np.array([r["outcome"] == "undecided" for r in rs], dtype=float)
    violating = np.array([r["outcome"] == "violation" for r in rs], dtype=float)
    return times, sent, undecided, violating


def summarize_compare(scenario_path: str, variants: list[Variant], records: list[dict]) -> dict:
    import numpy as np

    n = len(records)
    per_variant = []
    arrays = {}
    for v in variants:
        times, sent, undecided, violating = arrays[v.name] = _arrays(records, v.name)
        s = _stats_matrix(times[None, :], sent[None, :], undecided[None, :], violating[None, :])
        kinds: dict[str, list[int]] = {}
        for r in records:
            for k in r["variants"][v.name]["violations"]:
                kinds.setdefault(k, []).append(r["seed"])
        per_variant.append({
            "name": v.name, "sets": list(v.sets), "runs": n,
            "decided": float(np.mean(~np.isnan(times))) if n else None,
            **{k: _num(x[0]) for k, x in s.items() if k != "violating"},
            "violating_runs": int(violating.sum()),
            "undecided_suspicious": sum(r["variants"][v.name].get("liveness") == "suspicious" for r in records),
            "violations": [{"kind": k, "count": len(seeds), "first_seed": seeds[0],
                            "reproduce": f"paxsim compare {shlex.quote(scenario_path)} --seeds "
                                         f"{seeds[0]}:{seeds[0] + 1}"
                                         + "".join(f" --variant {shlex.quote(_variant_arg(w))}"
                                                   for w in ([variants[0], v] if v is not variants[0] else variants[:2]))}
                           for k, seeds in sorted(kinds.items())],
        })
    rng = np.random.default_rng(0)
    paired_state = rng.bit_generator.state  # the paired resamples: drawn again, block by block, for each pair
    if n:
        _resample_blocks(rng, n, lambda idx: None)  # past them, as one (BOOTSTRAP, n) draw would go
    base = variants[0]
    pairs = []
    for v in variants[1:]:
        bt, bs, bu, bv = arrays[base.name]
        vt, vs, vu, vv = arrays[v.name]
        both = ~np.isnan(bt) & ~np.isnan(vt)
        d = vt[both] - bt[both]
        pair: dict[str, Any] = {"variant": v.name, "baseline": base.name, "seeds": n,
                                "decided_in_both": int(both.sum()),
                                "same_fates": float(np.mean([r["same_fates"][v.name] for r in records])) if n else None}
        # The mean paired difference in decision time, and its interval paired and unpaired.
        pair["mean_t_diff"] = float(d.mean()) if d.size else None
        if d.size:
            m = d.size
            pair["mean_t_diff_ci"] = _ci(_resample_blocks(rng, m, lambda idx: d[idx].mean(axis=1)))
            a, b = bt[both], vt[both]
            a_means = _resample_blocks(rng, m, lambda idx: a[idx].mean(axis=1))
            b_means = _resample_blocks(rng, m, lambda idx: b[idx].mean(axis=1))
            unpaired = _ci(b_means - a_means)
            pair["mean_t_diff_ci_unpaired"] = unpaired
            wp = pair["mean_t_diff_ci"][1] - pair["mean_t_diff_ci"][0]
            wu = unpaired[1] - unpaired[0]
            pair["ci_width_paired"], pair["ci_width_unpaired"] = wp, wu
            pair["variance_reduction"] = (wu / wp) ** 2 if wp > 0 else None
            # CI width shrinks as 1/sqrt(seeds): the unpaired width measured on m seeds, matched to the paired one.
            pair["unpaired_seeds_needed"] = math.ceil(m * (wu / wp) ** 2) if wp > 0 else None
        withheld: dict[str, dict] = {}
        if not d.size or d.size < seeds_needed("mean_t"):
            if d.size:
                withheld["mean_t"] = {"seeds": int(d.size), "needed": seeds_needed("mean_t")}
            pair["mean_t_diff_ci"] = pair["mean_t_diff_ci_unpaired"] = [None, None]
            pair["ci_width_paired"] = pair["ci_width_unpaired"] = None
            pair["variance_reduction"] = pair["unpaired_seeds_needed"] = None
        # Differences of the per-variant statistics, with paired bootstrap intervals.
        point_b = _stats_matrix(bt[None, :], bs[None, :], bu[None, :], bv[None, :])
        point_v = _stats_matrix(vt[None, :], vs[None, :], vu[None, :], vv[None, :])
        if n:
            again = np.random.Generator(np.random.PCG64())
            again.bit_generator.state = paired_state

            def diffs(idx):
                sb = _stats_matrix(bt[idx], bs[idx], bu[idx], bv[idx])
                sv = _stats_matrix(vt[idx], vs[idx], vu[idx], vv[idx])
                return np.stack([sv[k] - sb[k] for k in point_b])

            boot = dict(zip(point_b, _resample_blocks(again, n, diffs, axis=1)))
        for k in point_b:
            name = "violating_runs" if k == "violating" else k
            pair[f"{name}_diff"] = _num(point_v[k][0] - point_b[k][0])
            pair[f"{name}_diff_ci"] = _ci(boot[k]) if n else [None, None]
            have = n if k in ("undecided", "violating") else int(min((~np.isnan(bt)).sum(), (~np.isnan(vt)).sum()))
            if have and have < seeds_needed(k):
                withheld[name] = {"seeds": have, "needed": seeds_needed(k)}
                pair[f"{name}_diff_ci"] = [None, None]
        pair["intervals_withheld"] = withheld
        pairs.append(pair)
    return {"scenario": scenario_path, "seeds": n, "mode": "common random numbers", "confidence": CONFIDENCE,
            "variants": per_variant, "pairs": pairs,
            "violating_runs": sum(v["violating_runs"] for v in per_variant)}


def _variant_arg(v: Variant) -> str:
    return f"{v.name}:{','.join(v.sets)}"


def paired_differences(records: list[dict], base: str, other: str) -> list[float]:
    """Per seed decided in both: other's decision time minus the baseline's."""
    out = []
    for r in records:
        a, b = r["variants"][base], r["variants"][other]
        if a["outcome"] == "decided" and b["outcome"] == "decided":
            out.append(b["decision_t"] - a["decision_t"])
    return out


def format_compare(summary: dict) -> str:
    def num(v, fmt="{:.1f}"):
        return "-" if v is None else fmt.format(v)

    head = ["variant", "runs", "decided", "undecided", "p50 ms", "p95 ms", "p99 ms", "msgs/decision", "violations"]
    table = [head]
    for v in summary["variants"]:
        table.append([v["name"], str(v["runs"]), num(v["decided"], "{:.1%}"), num(v["undecided"], "{:.1%}"),
                      num(v["p50"]), num(v["p95"]), num(v["p99"]), num(v["messages_per_decision"]),
                      ", ".join(f"{x['kind']} {x['count']}" for x in v["violations"]) or "0"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
           for row in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    pct = int(summary["confidence"] * 100)
    for p in summary["pairs"]:
        out.append("")
        out.append(f"{p['variant']} - {p['baseline']} (paired, {p['seeds']} seeds on common random numbers; "
                   f"{num(p['same_fates'], '{:.1%}')} of message fates the same):")
        ci = p["mean_t_diff_ci"]
        withheld = p.get("intervals_withheld") or {}

        def interval(k, fmt):
            if k in withheld:
                w = withheld[k]
                return f"[no interval: {w['seeds']} seeds, {w['needed']} needed]"
            c = p[f"{k}_diff_ci"] if k != "mean_t" else ci
            return f"[{num(c[0], fmt)}, {num(c[1], fmt)}]"

        out.append(f"  decision time: mean difference {num(p['mean_t_diff'], '{:+.2f}')} ms, {pct}% CI "
                   f"{interval('mean_t', '{:+.2f}')} over {p['decided_in_both']} seeds decided in both")
        for k, label, fmt in (("p50", "p50", "{:+.2f}"), ("p95", "p95", "{:+.2f}"), ("p99", "p99", "{:+.2f}"),
                              ("messages_per_decision", "messages/decision", "{:+.2f}"),
                              ("undecided", "undecided share", "{:+.2%}")):
            out.append(f"  {label}: {num(p[f'{k}_diff'], fmt)} {interval(k, fmt)}")
        if p["unpaired_seeds_needed"] is not None:
            u = p["mean_t_diff_ci_unpaired"]
            out.append(f"  unpaired, the same runs give [{num(u[0], '{:+.2f}')}, {num(u[1], '{:+.2f}')}] "
                       f"({p['ci_width_unpaired']:.2f} ms wide against {p['ci_width_paired']:.2f}): an unpaired "
                       f"comparison would need about {p['unpaired_seeds_needed']} seeds for the paired interval "
                       f"(variance reduction x{p['variance_reduction']:.1f})")
        elif p["decided_in_both"] and "mean_t" not in withheld:
            out.append("  the paired differences are all equal: the interval has width 0")
    for v in summary["variants"]:
        if v["undecided_suspicious"]:
            out.append(f"{v['name']}: {v['undecided_suspicious']} undecided run(s) SUSPICIOUS (a long good window "
                       f"passed without a decision; see paxsim run's liveness line)")
    for v in summary["variants"]:
        for x in v["violations"]:
            out.append("")
            out.append(f"{x['kind']} violated in {x['count']} run(s) of variant {v['name']}; first at seed "
                       f"{x['first_seed']}:")
            out.append(f"  reproduce: {x['reproduce']}")
    return "\n".join(out)


def plot_differences(records: list[dict], variants: list[Variant], summary: dict, path: Path) -> None:
    """A histogram per variant of its paired decision-time differences from the baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = variants[1:]
    fig, axes = plt.subplots(len(others), 1, figsize=(7, 2.6 * len(others)), squeeze=False)
    for ax, v, pair in zip(axes[:, 0], others, summary["pairs"]):
        d = paired_differences(records, variants[0].name, v.name)
        if d:
            ax.hist(d, bins=min(60, max(10, len(d) // 10)), color="#4c72b0")
        ax.axvline(0.0, color="black", linewidth=0.8)
        lo, hi = pair["mean_t_diff_ci"]
        if lo is not None:
            ax.axvspan(lo, hi, color="#dd8452", alpha=0.4, label=f"mean {pair['mean_t_diff']:+.2f} ms, "
                                                                 f"{int(summary['confidence'] * 100)}% CI")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(f"{v.name} - {variants[0].name}: paired decision-time differences ({len(d)} seeds)",
                     fontsize=9)
        ax.set_xlabel("ms")
        ax.set_ylabel("seeds")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


__all__ = ["ScenarioError", "SweepError", "Variant", "compare_chunk", "compare_chunk_at", "format_compare", "parse_seeds",
           "parse_variant", "plan_variants", "plot_differences", "run_compare", "summarize_compare"]
