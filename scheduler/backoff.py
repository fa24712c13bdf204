"""Backoff: how long to wait before the n-th try again, doubling up to a cap, with jitter.

One rule for everything Siar tries again: a post not sent (``daemon.backoff_base`` doubling
up to ``daemon.backoff_max``), a staff alert some account did not take (the same
settings), and a write the database could not take during an outage (without jitter: one
process waits for its own database, nobody to spread out from).
"""

from __future__ import annotations

import random

#: doublings counted at most: beyond this every realistic ceiling is reached, and a
#: larger power would only risk an overflow for absurd try numbers
MAX_DOUBLINGS = 60


def ceiling(tries: int, base: float, cap: float) -> float:
    """The longest wait after ``tries`` failed tries (1 → ``base``, 2 → 2 × ``base`` …),
    never more than ``cap``."""
    return min(cap, base * 2 ** min(max(tries, 1) - 1, MAX_DOUBLINGS))


def jittered(tries: int, base: float, cap: float) -> float:
    """A wait drawn from the upper half of :func:`ceiling` ("equal jitter"): things that
    failed together do not return together, and none comes back sooner than half the
    backoff."""
    top = ceiling(tries, base, cap)
    return random.uniform(top / 2, top)
