"""Linearizability of client histories (models: register, kv), from any source.

Reads only histories (paxsim traces, Jepsen logs and EDN); imports nothing
that runs a simulation.

    from paxsim import lin
    history = lin.read_history("run.jsonl", "kv")          # format guessed
    verdict = lin.check(history, time_limit=10)
    verdict.result, verdict.explanation
    lin.check(lin.history_from_events(run.events, "kv"))  # a run still in memory
    lin.check(h, witness=lin.witness_from_log(events, h))  # a replicated log's order as a witness
"""

from .check import LINEARIZABLE, UNKNOWN, VIOLATION, Explanation, Verdict, check
from .formats import (FORMATS, HistoryError, guess_format, history_from_events, history_from_numbered, parse_history,
                      read_history)
from .history import History, Op, Where
from .models import MODELS
from .witness import LOG_ORDER, LogOrder, Witness, check_order
from .witness import from_log as witness_from_log
from .witness import from_order as witness_from_order

__all__ = ["LINEARIZABLE", "UNKNOWN", "VIOLATION", "Explanation", "Verdict", "check", "FORMATS",
           "HistoryError", "guess_format", "history_from_events", "history_from_numbered", "parse_history",
           "read_history", "History", "Op", "Where", "MODELS", "LOG_ORDER", "LogOrder", "Witness", "check_order",
           "witness_from_log", "witness_from_order"]
