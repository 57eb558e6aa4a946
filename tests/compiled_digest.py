"""What a build of paxsim makes of a set of runs, as digests: run by
tests/test_compiled.py in this process (the pure-Python build) and, as a
script, under the compiled build (`PYTHONPATH=TREE python compiled_digest.py
ROOT`), whose output must be the same.

Each case is a scenario file, a variant of it and a seed; its digest covers
the trace's bytes (kept, and streamed to a file as `paxsim run --trace`
writes it), the verdict both ways, and the fates a recording run keeps
(what `paxsim shrink` reads)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

def cases(root: Path) -> list[tuple[str, str, int]]:
    """(scenario file relative to root, variant, seed)."""
    out = []
    files = sorted(root.glob("scenarios/*.yaml")) + sorted(root.glob("scenarios/bugs/*.yaml")) + \
        sorted(root.glob("scenarios/hunt/*.yaml"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        out += [(rel, "as-is", 0), (rel, "as-is", 1), (rel, "when-decided", 5), (rel, "slow-disk", 6)]
    return out


def _variant(sc, variant: str):
    import paxsim

    if variant == "as-is":
        return sc
    data = sc.to_dict()
    if variant == "when-decided":
        data["stop"] = "when-decided"
    elif variant == "slow-disk":
        data.setdefault("protocol", {})["write_latency"] = 0.7
    return paxsim.scenario_from_dict(data)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def digest(root: Path, rel: str, variant: str, seed: int) -> list:
    import paxsim
    from paxsim.trace import TraceWriter

    sc = paxsim.load_scenario(root / rel)
    if sc.kind != "single-decree" and variant == "when-decided":
        return ["skipped"]  # an early stop is for single-decree runs
    sc = _variant(sc, variant)
    run = paxsim.simulate(sc, seed)
    kept = "".join(run.lines())
    verdict = run.verdict
    buf = io.StringIO()
    writer = TraceWriter(buf)
    streamed_run = paxsim.simulate(sc, seed, sink=writer)
    writer.close()
    streamed = streamed_run.verdict
    out = [_sha(kept), _sha(buf.getvalue()), verdict.ok, repr(verdict.violations),
           streamed.ok, repr(streamed.violations)]
    if sc.kind == "single-decree":
        recorded = paxsim.simulate(sc, seed, record=True)
        out.append(_sha(repr(sorted(recorded.fates.items(), key=repr)) + repr(sorted(recorded.timer_fates.items()))))
        from paxsim.sim.crn import simulate_crn

        crn = simulate_crn(sc, seed)
        out.append(_sha("".join(crn.lines()) + repr(sorted(crn.message_fates.items(), key=repr))))
    return out


def digests(root: Path) -> dict:
    return {f"{rel} {variant} {seed}": digest(root, rel, variant, seed) for rel, variant, seed in cases(root)}


def build_of_runtime() -> str:
    """Which build this process imported: "compiled" or "pure"."""
    from paxsim.sim import runtime

    return "pure" if runtime.__file__.endswith((".py", ".pyc")) else "compiled"


if __name__ == "__main__":
    root = Path(sys.argv[1])
    print(json.dumps({"build": build_of_runtime(), "digests": digests(root)}))
