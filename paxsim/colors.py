"""One colour per message type, shared by the figures (paxsim/plot.py) and the
viewer (paxsim/view), so a run looks the same in both.

Single-decree types come first, then Multi-Paxos's; a type neither protocol
has (a foreign node's trace) gets the next colour of EXTRA_COLORS, in sorted
order, so the same set of types always gets the same colours.
"""

from __future__ import annotations

from typing import Iterable

TYPE_COLORS = {
    # single-decree Paxos (and the phases Multi-Paxos shares with it)
    "prepare": "#1f77b4",
    "promise": "#2ca02c",
    "nack": "#d62728",
    "accept": "#ff7f0e",
    "accepted": "#9467bd",
    "learn": "#8c564b",
    "learned": "#7f7f7f",
    # Multi-Paxos only
    "decide": "#e377c2",
    "heartbeat": "#bcbd22",
    "catchup": "#17becf",
    "log": "#393b79",
    "request": "#637939",
    "reply": "#8c6d31",
    "redirect": "#843c39",
}
EXTRA_COLORS = ["#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c",
                "#e7ba52", "#ad494a", "#a55194", "#6baed6"]


def type_colors(types: Iterable[str]) -> dict[str, str]:
    """The colour of each type given: known types in TYPE_COLORS order, then
    the others sorted, each taking the next extra colour."""
    present = set(types)
    known = [t for t in TYPE_COLORS if t in present]
    others = sorted(present - set(known))
    colors = {t: TYPE_COLORS[t] for t in known}
    for i, t in enumerate(others):
        colors[t] = EXTRA_COLORS[i % len(EXTRA_COLORS)]
    return colors
