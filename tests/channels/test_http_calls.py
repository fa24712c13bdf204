"""A request runs as a *call* on its thread (:mod:`channels.calls`): the call in force is
the innermost, the one around it comes back when it ends, however it ends, and an armed
deadline is disarmed with it."""

from __future__ import annotations

import time

import pytest

from channels.calls import WATCHDOG, Call, calling, current_call


def test_the_innermost_call_is_in_force_and_the_outer_one_comes_back() -> None:
    outer, inner = Call(), Call(create=True)
    assert current_call() is None
    with calling(outer) as entered:
        assert entered is outer and current_call() is outer
        with calling(inner):
            assert current_call() is inner
        assert current_call() is outer and inner.done
    assert current_call() is None and outer.done


def test_a_call_that_raises_gives_the_outer_one_back_and_is_not_swallowed() -> None:
    outer, inner = Call(), Call()
    with calling(outer):
        with pytest.raises(RuntimeError, match="adapter bug"), calling(inner):
            raise RuntimeError("adapter bug")
        assert current_call() is outer and inner.done


def test_an_armed_deadline_is_disarmed_when_the_call_ends() -> None:
    call = Call()
    call.expires = time.monotonic() + 3600
    with calling(call):
        WATCHDOG.arm(call)
    assert call.done and not call.expired
    call.expire()  # what the watchdog would do when it came up: a finished call is left be
    assert not call.expired
