"""What a recorded outcome counts as, and which staff alert it calls for."""

from __future__ import annotations

import pytest

from channels.base import AuthFailed, InDoubt, NotSent, Outcome, Published, Rejected
from scheduler import notify
from scheduler.daemon.events import OutcomeKind, Recorded, RunSummary, staff_alert


@pytest.mark.parametrize(("outcome", "kind"), [
    (Published(remote_id="1", url=None), OutcomeKind.PUBLISHED),
    (Rejected("too long"), OutcomeKind.REJECTED),
    (NotSent("refused"), OutcomeKind.NOT_SENT),
    (NotSent("429", retry_after=30, rate_limited=True), OutcomeKind.RATE_LIMITED),
    (AuthFailed("401"), OutcomeKind.AUTH_FAILED),
    (InDoubt("read timeout"), OutcomeKind.IN_DOUBT),
])
def test_each_outcome_has_one_kind_named_as_in_the_attempt_log(
        outcome: Outcome, kind: OutcomeKind) -> None:
    event = Recorded(post=1, account="akun-a", outcome=outcome)
    assert event.kind is kind
    assert event == Recorded(post=1, account="akun-a", outcome=outcome)  # kind is derived
    assert event.counter == kind.value
    assert Recorded(post=1, account="akun-a", outcome=outcome, probed=True).counter == \
        f"probe_{kind.value}"


def test_the_run_summary_counts_what_became_of_each_post() -> None:
    summary = RunSummary()
    for event in [
        Recorded(1, "a", Published(remote_id="1", url=None)),
        Recorded(2, "a", Published(remote_id="2", url=None), probed=True),
        Recorded(3, "a", Rejected("no")),
        Recorded(4, "a", NotSent("refused"), give_up=True),
        Recorded(5, "a", NotSent("refused")),
        Recorded(6, "a", NotSent("429", rate_limited=True), missed="waits a year"),
        Recorded(7, "a", InDoubt("timeout")),
        Recorded(8, "a", AuthFailed("401")),
    ]:
        summary.count(event)
    summary.add(missed=2, went_on=3)
    assert (summary.published, summary.failed, summary.retried, summary.unknown,
            summary.paused, summary.missed, summary.went_on) == (2, 2, 1, 1, 1, 3, 3)
    assert summary.counters_now() == {"published": 1, "probe_published": 1, "rejected": 1,
                                      "not_sent": 2, "rate_limited": 1, "in_doubt": 1,
                                      "auth_failed": 1}


def test_staff_hear_of_failures_that_need_them_and_of_nothing_else() -> None:
    def alert(outcome: Outcome, **kwargs: object) -> object:
        found = staff_alert(Recorded(1, "a", outcome, **kwargs))  # type: ignore[arg-type]
        return found and found[0]

    assert alert(AuthFailed("401")) is notify.auth_failed
    assert alert(Rejected("too long")) is notify.rejected
    assert alert(NotSent("refused"), give_up=True) is notify.gave_up
    assert alert(NotSent("429", rate_limited=True), missed="waits a year") is \
        notify.missed_at_once
    assert staff_alert(Recorded(1, "a", NotSent("refused"))) is None  # retried quietly
    assert staff_alert(Recorded(1, "a", Published(remote_id="1", url=None))) is None
    assert staff_alert(Recorded(1, "a", InDoubt("timeout"))) is None  # the probe goes first
