"""What the queue's operations take and give: plain records, no database."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from channels.base import Outcome
from channels.variant import Variant

if TYPE_CHECKING:  # scheduler.releases imports the composer: not for the daemon's start
    from scheduler.releases import ReleaseDoc


@dataclass(frozen=True)
class Claim:
    """A post this node may now publish, with the fencing token it must present."""

    post_id: int
    attempt: int
    account: str
    network: str
    #: when it may be sent (claims made ahead of time wait for it)
    not_before: datetime | None = None


class StartedPost(NamedTuple):
    """A post committed as ``publishing``: what its worker needs to send it.

    A plain tuple rather than the ORM entity: building a ``Post`` for every post begun
    cost a tenth of the daemon's CPU in a burst. It has the entity's attribute names,
    so the dispatcher reads either."""

    id: int
    release_id: int
    account: str
    network: str
    attempt: int
    variant: dict[str, Any]
    publish_key: str
    due_at: datetime
    progress: dict[str, Any]


@dataclass(frozen=True)
class Share:
    """What a claim round needs to take no more than its daemon's fair share while other
    daemons share the database (see :func:`scheduler.queue.claim_due`)."""

    #: daemons whose heartbeat is this recent (and not stopped) count as alive
    alive_since: datetime
    #: posts this daemon holds in flight, by account
    holding: Mapping[str, int] = field(default_factory=dict)
    #: seconds a due post waits for the daemon whose share it is; then anyone takes it
    wait: float = 1.0


#: given a post just begun, the state its adapter would checkpoint before its first request,
#: stored with the begin (:func:`scheduler.queue.progress.store_first_sends`); empty:
#: nothing known ahead
FirstSend = Callable[[StartedPost], dict[str, Any]]


class ClaimBatch(list[Claim]):
    """The claims of one round, and which accounts still had due posts left behind."""

    #: accounts with due posts this round could not take (their concurrency was used up
    #: or the round was full): a post of theirs finishing should trigger another round
    held_back: frozenset[str] = frozenset()
    #: True when the round looked at only some of the accounts with due posts (its
    #: window of accounts was full), so ``held_back`` may miss some
    truncated: bool = False
    #: the round looked at posts due up to this moment (its clock plus the look-ahead):
    #: the next round is needed for the first post due after it
    horizon: datetime | None = None
    #: True when accounts with room and due posts got nothing because ``limit`` (the
    #: free workers) ran out: workers must then take turns between accounts
    starved: bool = False
    #: posts left to other daemons as their share become anyone's at this moment (None:
    #: none was left): the round to run then
    deferred_until: datetime | None = None

    @classmethod
    def of(cls, claims: list[Claim], *, held_back: set[str], truncated: bool,
           horizon: datetime, starved: bool = False,
           deferred_until: datetime | None = None) -> ClaimBatch:
        """A round's claims with what it found out."""
        batch = cls(claims)
        batch.held_back = frozenset(held_back)
        batch.truncated = truncated
        batch.horizon = horizon
        batch.starved = starved
        batch.deferred_until = deferred_until
        return batch


@dataclass(frozen=True)
class BulkItem:
    """One release to queue through :func:`scheduler.queue.enqueue_bulk`."""

    doc: ReleaseDoc
    variants: Sequence[Variant]
    due_at: datetime
    zone: str | None = None
    #: the accounts whose posts need an approver's yes first (``approval = "required"``)
    awaiting: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finalization:
    """One attempt's outcome to record; the arguments of :func:`scheduler.queue.finalize`."""

    post_id: int
    attempt: int
    outcome: Outcome
    retry_at: datetime | None = None
    give_up: bool = False
    #: a not-sent post that cannot go out within the grace period: missed, for this reason
    missed: str | None = None
    outcome_label: str | None = None
    detail: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None


@dataclass(frozen=True)
class NextInLine:
    """Accounts whose worker, its post finished, goes straight on with the account's
    next due post (see :func:`scheduler.queue.finalize_and_begin_next`)."""

    #: one entry per finished post whose worker is free to go on (an account may repeat)
    accounts: Sequence[str]
    node: str
    lease: float = 120.0
    concurrency: Mapping[str, int] = field(default_factory=dict)
    default_concurrency: int = 1
    #: the adapters' state to store with each post begun (see :data:`FirstSend`)
    first_send: FirstSend | None = None


@dataclass(frozen=True)
class Missed:
    """A post marked ``missed``: not sent within the grace period after its time."""

    post_id: int
    release_id: int
    account: str
    due_at: datetime
