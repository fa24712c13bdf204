"""One backoff rule for everything Siar tries again: doubling from a base up to a cap, with
the wait drawn from the upper half of that ceiling."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from scheduler import backoff
from scheduler.dbhealth import delays


@given(tries=st.integers(-3, 500), base=st.floats(0.001, 600), cap=st.floats(0.001, 1e6))
def test_the_wait_doubles_from_the_base_and_never_passes_the_cap(
        tries: int, base: float, cap: float) -> None:
    top = backoff.ceiling(tries, base, cap)
    assert top == min(cap, base * 2 ** min(max(tries, 1) - 1, backoff.MAX_DOUBLINGS))
    assert top <= cap
    assert top / 2 <= backoff.jittered(tries, base, cap) <= top


def test_the_database_outage_waits_follow_the_same_rule_without_jitter() -> None:
    assert list(itertools.islice(delays(0.1, 1.0), 6)) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert list(itertools.islice(delays(0.1, 1.0), 4)) == [
        backoff.ceiling(n, 0.1, 1.0) for n in range(1, 5)]
