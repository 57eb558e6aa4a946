"""The linearizability checker's time on the shared Jepsen histories.

    python benchmarks/lin_bench.py                 # best of 5 rounds
    python benchmarks/lin_bench.py --rounds 1      # one round (a smoke run)
    python benchmarks/lin_bench.py --data DIR      # histories elsewhere

Reads ../shared/porcupine (beside the checkout) in place; checks every file
listed in ANSWERS.tsv and fails (exit 1) if any verdict differs from the
known answer.  Per family (etcd: a CAS register; kv: a key-value map) and in
total: the time to read the files, to decide (the verdict alone), and to
decide and explain every violation (what `paxsim linearizable` does), best
of several rounds, plus the slowest file.  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from paxsim import lin  # noqa: E402
from paxsim.lin.search import Stats, linearizable  # noqa: E402

DEFAULT_DATA = HERE.parent.parent / "shared" / "porcupine"


def load(data: Path) -> list[tuple[str, str, bool]]:
    with open(data / "ANSWERS.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["file"], "register" if r["file"].startswith("etcd/") else "kv", r["linearizable"] == "true")
            for r in rows]


def measure(data: Path, rounds: int) -> dict:
    files = load(data)
    best: dict[str, dict[str, float]] = {}
    configs: dict[str, int] = {}
    for _ in range(rounds):
        for name, model, expected in files:
            t0 = time.perf_counter()
            history = lin.read_history(data / name, model)
            t1 = time.perf_counter()
            verdict = lin.check(history, explain=False)
            t2 = time.perf_counter()
            explained = lin.check(history)
            t3 = time.perf_counter()
            if verdict.ok is not expected or explained.ok is not expected:
                sys.exit(f"{name}: WRONG verdict {verdict.result!r} (expected linearizable={expected})")
            got = {"read": t1 - t0, "check": t2 - t1, "explain": t3 - t2}
            prev = best.setdefault(name, got)
            for k, v in got.items():
                prev[k] = min(prev[k], v)
            if name not in configs:
                total = 0
                for _, ops in history.by_key():
                    st = Stats()
                    linearizable(ops, history.initial, None, st)
                    total += st.configurations
                configs[name] = total
    return {"files": files, "best": best, "configs": configs}


def table(result: dict, rounds: int, data: Path) -> str:
    files, best, configs = result["files"], result["best"], result["configs"]
    families = {"etcd": [f for f in files if f[0].startswith("etcd/")],
                "kv": [f for f in files if f[0].startswith("kv/")]}
    families["total"] = files
    out = [f"#### Linearizability checker on the shared Jepsen histories (best of {rounds} round(s), "
           f"Python {platform.python_version()})", "",
           "| histories | files | operations | read | decide | decide + explain | slowest file (decide) | "
           "configurations |",
           "|---|---|---|---|---|---|---|---|"]
    for fam, rows in families.items():
        names = [r[0] for r in rows]
        ops = 0
        for name, model, _ in rows:
            ops += len(lin.read_history(data / name, model).ops)
        read = sum(best[n]["read"] for n in names)
        check = sum(best[n]["check"] for n in names)
        explain = sum(best[n]["check"] + best[n]["explain"] for n in names)
        slow = max(names, key=lambda n: best[n]["check"])
        conf = sum(configs[n] for n in names)
        out.append(f"| {fam} | {len(rows)} | {ops} | {read:.2f} s | {check:.2f} s | {explain:.2f} s | "
                   f"{slow} {best[slow]['check']:.2f} s | {conf} |")
    out += ["", "read: parsing the files; decide: the verdict (each key searched); decide + explain: also the "
            "minimised explanation of every violation; configurations: (linearized set, state) pairs memoised."]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="rounds; the best time per file counts (default 5)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the histories (default {DEFAULT_DATA})")
    args = ap.parse_args()
    if not (args.data / "ANSWERS.tsv").exists():
        sys.exit(f"no {args.data / 'ANSWERS.tsv'}: pass --data DIR (the shared porcupine histories)")
    rounds = max(1, args.rounds)
    print(table(measure(args.data, rounds), rounds, args.data))


if __name__ == "__main__":
    main()
