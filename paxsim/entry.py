"""The `paxsim` console script.

Importing the command line takes about a tenth of a second (click, the
scenario reader, the checker); Ctrl-C meanwhile would end the program
with a `KeyboardInterrupt` traceback.  This module imports nothing of its
own, so from the moment `main` runs, Ctrl-C ends the program as it does
later: one line, `interrupted`, and exit status 130.  (Before that, while
the interpreter starts and `paxsim/__init__` imports the checker, some
40 ms, Python's own handling applies.)

SIGTERM (what `kill`, `timeout` and service managers send) is made to
interrupt the program as Ctrl-C does, so that every command keeps what it
finished (a sweep's results, a shrink's smallest scenario so far, a trace's
lines) and exits 130, rather than dying with nothing said (143).  A
process started with SIGTERM ignored keeps ignoring it.
"""

import signal
import sys


def _interrupted() -> None:
    sys.stderr.write("interrupted\n")
    sys.exit(130)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        from .cli import run_main
    except KeyboardInterrupt:
        _interrupted()
    try:
        run_main()
    except KeyboardInterrupt:  # run_main handles it inside a command; this is for its own first and last steps
        _interrupted()
