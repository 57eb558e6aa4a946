"""The self-contained HTML viewer, the diff of two runs and the ShiViz export.

Reads only traces (paxsim/trace.py's format):

    >>> from paxsim import view
    >>> html = view.page([("run.jsonl", events)])           # one interactive page, no network
    >>> result = view.diff(events_a, events_b)               # first divergence and what differs after
    >>> text = view.shiviz([("run", events)])                # a ShiViz log

The page is one HTML file with its script, style and data inline; a Content
Security Policy forbids it any network access.
"""

from __future__ import annotations

import html as _html
import json
import re
from importlib import resources
from typing import Iterable

from .._version import __version__
from .diff import DiffResult, NotStreamed, diff, diff_files, replay_difference
from .model import build
from .shiviz import export as shiviz

__all__ = ["DiffResult", "MAX_PAGE_EVENTS", "NotStreamed", "build", "diff", "diff_files", "diff_page", "page",
           "replay_difference", "shiviz",
           "verdict_model"]

# A page holds every event of its trace (about 150 bytes each in the page, and some
# kilobytes each in the browser while it draws): past this many, the file runs to tens of
# megabytes that a browser takes minutes to open, if it opens it at all, and writing it
# takes gigabytes here.  Bigger traces are refused; a window of one can be drawn with
# `paxsim plot timeline --from/--to`.
MAX_PAGE_EVENTS = 100_000


def verdict_model(events: list[dict]) -> dict:
    """The checker's verdict as the page shows it: lines (whose `seq N` the
    page turns into links), and what was chosen."""
    try:
        from ..check import check
        from ..report import summary_text

        verdict = check(events)
    except Exception as exc:  # noqa: BLE001 - the page still draws a trace the checker cannot judge
        return {"ok": None, "lines": [{"kind": "error", "text": f"checker: could not judge this trace "
                                       f"({type(exc).__name__}: {exc})"}], "chosen": []}
    header = events[0] if events and events[0].get("kind") == "header" else {}
    try:
        text = summary_text(header, verdict, "")
    except Exception:  # noqa: BLE001 - a summary is a nicety; the verdict below is what matters
        text = "verdict:   " + ("OK" if verdict.ok else f"VIOLATION ({len(verdict.violations)})")
        for v in verdict.violations:
            text += "\n" + "\n".join("  " + line for line in v.explain().splitlines())
    description = ((header.get("scenario") or {}).get("description") or "").strip()
    lines = []
    for line in text.splitlines():
        if line.startswith("reproduce:") or (description and line.strip() == description):
            continue
        kind = "detail" if line.startswith("    ") else "violation" if (
            line.startswith("  ") and ":" in line and not verdict.ok) else ""
        lines.append({"kind": kind, "text": line})
    chosen = [{"value": c.value, "ballot": list(c.ballot), "seq": c.seq, "t": c.t}
              for c in getattr(verdict, "chosen", [])]
    return {"ok": bool(verdict.ok), "lines": lines, "chosen": chosen}


def _model(name: str, events: list[dict]) -> dict:
    model = build(events, name)
    model["verdict"] = verdict_model(events)
    return model


def _script_json(data) -> str:
    # inside <script>: no "</script>" or "<!--" may appear; escaping <, > and & in strings is enough
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _render(data: dict, heading: str, sources: list[str]) -> str:
    html = _asset("page.html")
    parts = {
        "__TITLE__": _html.escape(heading),
        "__HEADING__": _html.escape(heading),
        "__VERSION__": _html.escape(__version__),
        "__SOURCES__": _html.escape(", ".join(sources)),
        "__CSS__": _asset("viewer.css"),
        "__DATA__": _script_json(data),
        "__JS__": _asset("viewer.js"),
    }
    # one pass over the template: a part's text (a scenario or file name) that contains a
    # placeholder is never itself filled in, and each placeholder is filled where it stands
    return re.sub("|".join(parts), lambda m: parts[m.group(0)], html)


def page(traces: Iterable[tuple[str, list[dict]]]) -> str:
    """One self-contained page showing each (name, events) trace."""
    traces = list(traces)
    models = [_model(name, events) for name, events in traces]
    heading = "paxsim view: " + ", ".join(m["title"] for m in models)
    return _render({"mode": "view", "runs": models}, heading, [name for name, _ in traces])


def diff_page(a: tuple[str, list[dict]], b: tuple[str, list[dict]], result: DiffResult | None = None) -> str:
    """Both runs side by side, aligned in time, the divergence marked."""
    result = result or diff(a[1], b[1], (f"A {a[0]}", f"B {b[0]}"))
    models = [_model(a[0], a[1]), _model(b[0], b[1])]
    at = None
    if result.divergence is not None:
        d = result.divergence
        sides = []
        for ev in (d.a, d.b):
            t = ev.get("t") if ev else None
            sides.append({"seq": ev.get("seq") if ev else None,
                          "t": t if isinstance(t, (int, float)) and not isinstance(t, bool) else None})
        at = {"line": d.line, "fields": d.fields, "sides": sides}
    data = {"mode": "diff", "runs": models,
            "diff": {"identical": result.identical, "lines": result.lines, "at": at}}
    return _render(data, f"paxsim diff: {a[0]} vs {b[0]}", [a[0], b[0]])
