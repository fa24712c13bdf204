"""A post's states, the named sets of them and the one table of transitions between them.

Pure data, importing nothing of Siar but its message catalog (:mod:`scheduler.i18n`):
the tables (:mod:`scheduler.models`), the queue (:mod:`scheduler.queue`, the only code
that changes ``post.status``), the read-only queries, the CLI and the daemon all take their
states from here, so "which posts may be cancelled" is answered once. It is not inside the
``scheduler.queue`` package because the
models need it (the partial index on claimable posts), and the queue needs the models.

::

    scheduled ──claim──> claimed ──begin──> publishing ──record──> published
        ^                   │                    ├──> failed        (rejected for good)
        │   lease expired   │                    ├──> retry ──(not_before)──> claimed …
        └───────────────────┘                    ├──> paused        (account auth failed)
                                                 ├──> missed        (the network's wait
                                                 │                   ends past the grace)
                                                 └──> unknown       (in doubt; lease expired)
    scheduled | retry ──go on (claim and begin at once, already due)──> publishing
    claimed | publishing ──given back, certainly unsent──> scheduled
    unknown ──probe/staff──> published | retry | failed | missed
    scheduled | retry ──not sent within the grace after due_at──> missed
    scheduled | retry | paused | unknown ──staff──> cancelled
    scheduled | retry | paused | missed | failed ──staff──> scheduled
    paused ──staff resume the account──> retry
    awaiting_approval ──approve──> scheduled | waiting      (approval = "required")
    awaiting_approval ──decline (siar reject)──> declined
    awaiting_approval ──not approved within the grace after due_at──> missed
    reschedulable | awaiting_approval | declined ──staff, under approval──> awaiting_approval
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scheduler.i18n import N_, _


class Status(StrEnum):
    """A post's place in the state machine (see docs/architecture.md)."""

    SCHEDULED = "scheduled"    # waiting for its time
    CLAIMED = "claimed"        # a daemon holds a lease; nothing sent yet
    PUBLISHING = "publishing"  # committed before the request leaves: may be on the network
    PUBLISHED = "published"    # the network confirmed it
    RETRY = "retry"            # provably not sent; waits for ``not_before``
    FAILED = "failed"          # the network rejected it for good
    UNKNOWN = "unknown"        # in doubt: probe or staff decide, never resent blindly
    CANCELLED = "cancelled"    # withdrawn by staff
    MISSED = "missed"          # overdue beyond the grace period after downtime
    PAUSED = "paused"          # its account's credentials failed; waits for staff
    WAITING = "waiting"        # its link is the website post's address: waits for that post
    AWAITING_APPROVAL = "awaiting_approval"  # queued under approval: an approver must say yes
    DECLINED = "declined"      # an approver said no (with a comment); staff edit or cancel


#: waiting for their time: a daemon may claim them (and goes on with them)
CLAIMABLE = (Status.SCHEDULED, Status.RETRY)
#: held by a daemon under a lease: claimed, or publishing
IN_FLIGHT = (Status.CLAIMED, Status.PUBLISHING)
#: still to be sent or being sent (``siar daemon --until-drained`` waits for them)
ACTIVE = (*CLAIMABLE, *IN_FLIGHT)
#: staff may withdraw them: not gone out and not being sent. ``unknown`` too: cancelling
#: a post in doubt settles nothing on the network, but it stops the probe and the alerts
CANCELLABLE = (Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.UNKNOWN, Status.WAITING,
               Status.AWAITING_APPROVAL, Status.DECLINED)
#: staff may give them a new time, which sends them. Not ``unknown``: it may be on the
#: network already, and a new time would send it again blindly; staff settle it first
#: with ``siar resolve`` (``--resend`` when it is not there)
RESCHEDULABLE = (Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.MISSED, Status.FAILED)
#: under approval, a new time (or a declined release's new version) goes back to the
#: approver: an approval covers the time it was given for, not any other
REAPPROVABLE = (*RESCHEDULABLE, Status.AWAITING_APPROVAL, Status.DECLINED)
#: nothing left for anyone to do: ``siar queue`` shows them only with ``--all``
DONE = (Status.PUBLISHED, Status.CANCELLED)


#: how each state is shown to people (English = the stored value; translated where shown)
LABELS: dict[str, str] = {
    "scheduled": N_("scheduled"), "claimed": N_("claimed"), "publishing": N_("publishing"),
    "published": N_("published"), "retry": N_("retry"), "failed": N_("failed"),
    "unknown": N_("unknown"), "cancelled": N_("cancelled"), "missed": N_("missed"),
    "paused": N_("paused"), "waiting": N_("waiting"),
    "awaiting_approval": N_("awaiting approval"), "declined": N_("declined"),
}


def label(status: str) -> str:
    """A state as people read it, in the interface language."""
    return _(LABELS[status]) if status in LABELS else status


#: how the attempt log's outcomes are shown (English = the stored value)
OUTCOME_LABELS: dict[str, str] = {
    "published": N_("published"), "rejected": N_("rejected"), "not_sent": N_("not_sent"),
    "rate_limited": N_("rate_limited"), "auth_failed": N_("auth_failed"),
    "in_doubt": N_("in_doubt"), "crashed": N_("crashed"), "dry_run": N_("dry_run"),
    "rehearsed": N_("rehearsed"), "lease_expired": N_("lease_expired"),
    "given_back": N_("given_back"), "missed": N_("missed"), "cancelled": N_("cancelled"),
    "rescheduled": N_("rescheduled"), "resumed": N_("resumed"),
    "link_arrived": N_("link_arrived"), "link_unusable": N_("link_unusable"),
    "approved": N_("approved"), "declined": N_("declined"), "resubmitted": N_("resubmitted"),
}


def outcome_label(outcome: str | None) -> str:
    """An attempt's outcome as people read it; ``None``: still in flight."""
    if outcome is None:
        return _("in flight")
    return _(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else outcome


def values(states: tuple[Status, ...]) -> tuple[str, ...]:
    """The states as stored (``post.status`` is a plain string column)."""
    return tuple(state.value for state in states)


def sql_in(states: tuple[Status, ...], column: str = "status") -> str:
    """``column IN ('a', 'b')``, literal, in the set's order. Literal because neither
    database uses a partial index for a bound parameter, and in this exact form because
    SQLite uses the partial index only for its very predicate."""
    return f"{column} IN ({', '.join(repr(state.value) for state in states)})"


#: the predicate of the partial index ``ix_post_account_due`` (migration 0004), and the
#: condition of the queries that must use it
CLAIMABLE_SQL = sql_in(CLAIMABLE)


@dataclass(frozen=True)
class Transition:
    """What one queue operation may do to a post's status."""

    #: the states the operation's statement accepts (its ``WHERE status …``)
    sources: tuple[Status, ...]
    #: the states it may leave the post in; empty: the status stays (lease only)
    targets: tuple[Status, ...]


#: operation → from-states → to-states: every statement that writes ``post`` names its
#: operation (``scheduler/queue/statements.py``), guards ``status`` with its sources, and
#: tests/daemon/test_transitions.py holds each statement to this table
TRANSITIONS: dict[str, Transition] = {
    # a claim round leases due posts
    "claim": Transition(CLAIMABLE, (Status.CLAIMED,)),
    # the starter (or a single begin) marks claims publishing before the request leaves
    "begin": Transition((Status.CLAIMED,), (Status.PUBLISHING,)),
    # a worker goes on with its account's next due post: claim and begin at once
    "go_on": Transition(CLAIMABLE, (Status.PUBLISHING,)),
    # an attempt's outcome: which state is decided by the outcome (queue.outcomes)
    "record": Transition((Status.PUBLISHING,), (Status.PUBLISHED, Status.FAILED, Status.RETRY,
                                                Status.PAUSED, Status.UNKNOWN, Status.MISSED)),
    # posts this daemon took and certainly never sent (stopping, a COMMIT in doubt)
    "give_back": Transition(IN_FLIGHT, (Status.SCHEDULED,)),
    # a dead daemon's claim: nothing was sent
    "reap_claimed": Transition((Status.CLAIMED,), (Status.SCHEDULED,)),
    # a dead daemon's publishing post: it may be on the network
    "reap_publishing": Transition((Status.PUBLISHING,), (Status.UNKNOWN,)),
    # the heartbeat renews this daemon's leases; a dead local daemon's end at once
    "renew_lease": Transition(IN_FLIGHT, ()),
    "expire_lease": Transition(IN_FLIGHT, ()),
    # the probe's or staff's verdict on a post in doubt
    "settle": Transition((Status.UNKNOWN,), (Status.PUBLISHED, Status.RETRY, Status.FAILED,
                                              Status.MISSED)),
    # not sent within the grace period after its time
    "miss": Transition(CLAIMABLE, (Status.MISSED,)),
    # staff
    "cancel": Transition(CANCELLABLE, (Status.CANCELLED,)),
    "reschedule": Transition(RESCHEDULABLE, (Status.SCHEDULED,)),
    "resume": Transition((Status.PAUSED,), (Status.RETRY,)),
    # website first: the website post is out, so a post waiting for its address gets it
    # (composed anew with it) and goes out at its time; or it cannot take it and fails
    "link_arrived": Transition((Status.WAITING,), (Status.SCHEDULED,)),
    "link_unusable": Transition((Status.WAITING,), (Status.FAILED,)),
    # approval (scheduler.approval): an approver says yes (the post goes out at its time,
    # or waits for its website post first) or no; an approval never given within the grace
    # after its time leaves it missed, never published late
    "approve": Transition((Status.AWAITING_APPROVAL,), (Status.SCHEDULED, Status.WAITING)),
    "decline": Transition((Status.AWAITING_APPROVAL,), (Status.DECLINED,)),
    "miss_unapproved": Transition((Status.AWAITING_APPROVAL,), (Status.MISSED,)),
    # staff give a new time under approval: back to the approver
    "resubmit": Transition(REAPPROVABLE, (Status.AWAITING_APPROVAL,)),
}
