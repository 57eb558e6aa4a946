"""Named random streams derived from one seed.

`random.Random("7:network")` seeds from the string through SHA-512, which is
stable across processes and PYTHONHASHSEED values (unlike `hash()`).  Each
concern draws from its own stream, so adding a fault or a timer does not
shift the latency draws.
"""

from __future__ import annotations

import random
import _random

try:  # the built-in module, as random itself uses (hashlib costs more to import and to call)
    from _sha512 import sha512 as _sha512
except ImportError:  # pragma: no cover - Python 3.12 and later name it _sha2
    try:
        from _sha2 import sha512 as _sha512
    except ImportError:
        from hashlib import sha512 as _sha512

_Random = random.Random
_new = _Random.__new__
_seed_state = _random.Random.seed  # the Mersenne Twister's own seeding, in C


def _slow(seed: int, name: str) -> random.Random:
    return _Random(f"{seed}:{name}")


def _fast(seed: int, name: str) -> random.Random:
    """`random.Random(f"{seed}:{name}")` without its Python-level seeding:
    the same integer (the string's bytes and their SHA-512, as
    `Random.seed` version 2 makes it) given to the generator's C seeding,
    so the same state (checked against this Python's own by `_fast_matches`)."""
    key = f"{seed}:{name}".encode()
    rng = _new(_Random)
    _seed_state(rng, int.from_bytes(key + _sha512(key).digest(), "big"))
    rng.gauss_next = None
    return rng


def _fast_matches() -> bool:
    """Whether `_fast` gives exactly `random.Random`'s state here: if a
    Python release seeded strings otherwise, paxsim would seed as it does."""
    try:
        return all(_fast(seed, name).getstate() == _slow(seed, name).getstate()
                   for seed, name in ((7, "network"), (-2**70, "tïmers")))
    except Exception:  # pragma: no cover - a Python whose generator differs
        return False


stream = _fast if _fast_matches() else _slow  # stream(seed, name): random.Random(f"{seed}:{name}")
