"""The queue: the ONLY code that changes a post's status.

The states, their named sets and the one table of what each operation may do are
:mod:`scheduler.states`; this package carries the operations out, each in its module,
and every statement is in :mod:`scheduler.queue.statements`. Callers use the package
(``from scheduler import queue; queue.claim_due(...)``), not its modules.

Every claim increments ``attempt``, the fencing token: a finalize must present the
attempt it was given, so a stalled worker's late answer can never overwrite a newer
attempt. ``publishing`` is committed before any request leaves the machine, and an
expired ``publishing`` lease becomes ``unknown`` — never ``scheduled`` — so a crash can
never lead to a blind resend.

Queueing and staff actions (:mod:`~scheduler.queue.queueing`, :mod:`~scheduler.queue.staff`)
work on the ORM's models and are imported when first used: a daemon's start needs neither,
and importing SQLAlchemy's ORM, SQLModel and the models was a third of its CPU before the
first post after a restart. Every other operation runs Core statements on
:mod:`scheduler.tables`.
"""

import importlib
from typing import TYPE_CHECKING, Any

from scheduler.db import transaction
from scheduler.queue.accounts import ensure_accounts, set_rate_limited
from scheduler.queue.approvals import (
    Unapproved,
    approve,
    decline,
    miss_unapproved,
    resubmit,
    unapproved_due,
)
from scheduler.queue.claims import (
    begin_publishing,
    begin_publishing_many,
    claim_due,
    give_back_claim,
    give_back_unsent,
    next_due,
)
from scheduler.queue.nodes import mark_stopped, prove_alive, running_on
from scheduler.queue.outcomes import (
    failed_tries,
    finalize,
    finalize_and_begin_next,
    finalize_many,
    outcome_name,
    outcome_recorded,
)
from scheduler.queue.progress import record_checkpoint, record_part
from scheduler.queue.records import (
    BulkItem,
    Claim,
    ClaimBatch,
    Finalization,
    FirstSend,
    Missed,
    NextInLine,
    Share,
    StartedPost,
)
from scheduler.queue.recovery import (
    expire_leases_of,
    in_doubt,
    left_to_do,
    mark_missed,
    reap_expired_leases,
    renew_leases,
    settle_unknown,
)

if TYPE_CHECKING:
    from scheduler.queue.queueing import (
        BulkWriter,
        bulk_writer,
        enqueue,
        enqueue_bulk,
        enqueue_occurrence,
    )
    from scheduler.queue.staff import cancel, reschedule, resolve, resume_account

#: the operations imported on first use, by module (see above)
_ON_FIRST_USE = {"BulkWriter": "queueing", "bulk_writer": "queueing",
                 "enqueue": "queueing", "enqueue_bulk": "queueing",
                 "enqueue_occurrence": "queueing", "cancel": "staff", "reschedule": "staff",
                 "resolve": "staff", "resume_account": "staff"}


def __getattr__(name: str) -> Any:
    """An operation of :data:`_ON_FIRST_USE`, its module imported now."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

__all__ = [  # the operations by module: see the imports above
    "BulkItem", "BulkWriter", "Claim", "ClaimBatch", "Finalization", "FirstSend", "Missed",
    "NextInLine", "Share", "StartedPost", "Unapproved",
    "approve", "begin_publishing", "begin_publishing_many", "bulk_writer", "cancel", "claim_due",
    "decline", "enqueue",
    "enqueue_bulk", "enqueue_occurrence", "ensure_accounts", "expire_leases_of", "failed_tries",
    "finalize", "finalize_and_begin_next", "finalize_many", "give_back_claim",
    "give_back_unsent", "in_doubt", "left_to_do", "mark_missed", "mark_stopped",
    "miss_unapproved", "next_due", "outcome_name", "outcome_recorded", "prove_alive",
    "reap_expired_leases", "record_checkpoint", "record_part", "renew_leases", "reschedule",
    "resolve", "resubmit", "resume_account", "running_on", "set_rate_limited",
    "settle_unknown", "transaction", "unapproved_due",
]
