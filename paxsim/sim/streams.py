"""Named random streams derived from one seed.

`random.Random("7:network")` seeds from the string through SHA-512, which is
stable across processes and PYTHONHASHSEED values (unlike `hash()`).  Each
concern draws from its own stream, so adding a fault or a timer does not
shift the latency draws.
"""

from __future__ import annotations

import random


def stream(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")
